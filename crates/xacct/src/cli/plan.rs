//! `plan`, `provision` and `destroy`: the plan as a Terraform-like view or JSON, the prompt, and
//! progress on stderr.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_apply::{Action, Progress};
use owo_colors::{OwoColorize, Stream};
use serde_json::json;

use super::{Failure, Outcome, Output};
use crate::config::Config;
use crate::reconcile::{self, FullPlan, Mode};
use crate::session::{runtime, Session};

fn print_plan(plan: &FullPlan, out: &mut dyn Write) -> std::io::Result<()> {
    for c in &plan.aws.changes {
        print_change(out, c.action, &format!("{} {} {}", c.account, c.service, c.resource), c.diff.as_deref())?;
    }
    for c in &plan.databricks {
        let detail = c.detail.join("\n");
        print_change(out, c.action, &format!("databricks {}", c.resource), (!detail.is_empty()).then_some(&*detail))?;
    }
    if !plan.aws.sizes.is_empty() {
        writeln!(out, "\nNear their size limit (past 80 %):")?;
        for size in &plan.aws.sizes {
            writeln!(out, "  {size}")?;
        }
    }
    let s = plan.summary();
    writeln!(
        out,
        "\nPlan: {} to create, {} to update, {} to delete, {} unchanged.",
        s.create, s.update, s.delete, s.unchanged
    )
}

fn print_change(out: &mut dyn Write, action: Action, what: &str, diff: Option<&str>) -> std::io::Result<()> {
    let line = match action {
        Action::Create => format!("{}", format!("+ create  {what}").if_supports_color(Stream::Stdout, |t| t.green())),
        Action::Update => format!("{}", format!("~ update  {what}").if_supports_color(Stream::Stdout, |t| t.yellow())),
        Action::Delete => format!("{}", format!("- delete  {what}").if_supports_color(Stream::Stdout, |t| t.red())),
        Action::NoOp => format!("= unchanged {what}"),
    };
    writeln!(out, "{line}")?;
    for l in diff.into_iter().flat_map(str::lines) {
        let colored = if l.starts_with('+') {
            format!("{}", l.if_supports_color(Stream::Stdout, |t| t.green()))
        } else if l.starts_with('-') {
            format!("{}", l.if_supports_color(Stream::Stdout, |t| t.red()))
        } else {
            l.to_owned()
        };
        writeln!(out, "      {colored}")?;
    }
    Ok(())
}

fn plan_json(plan: &FullPlan, session: &Session) -> serde_json::Value {
    json!({
        "aws": plan.aws.changes,
        "databricks": plan.databricks,
        "summary": plan.summary(),
        "sizes": plan.aws.sizes,
        "api_calls": session.api_calls(),
    })
}

/// `plan`: live state in, changes out. Exit 0, or 1 when the plan cannot be made.
pub(super) fn plan(config: Config, output: Output, out: &mut dyn Write) -> Outcome {
    runtime()?.block_on(async {
        let session = Session::open(config).await?;
        let plan = reconcile::plan(&session, Mode::Provision).await?;
        match output {
            Output::Json => writeln!(out, "{}", plan_json(&plan, &session))?,
            Output::Text => print_plan(&plan, out)?,
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// May we apply? `--yes`, or a `y` typed on a TTY. Without a TTY and without `--yes` the answer
/// is known before any call: refuse, with exit 2.
pub(super) fn refuse_without_tty(yes: bool, command: &str) -> Result<(), Failure> {
    if yes || std::io::stdin().is_terminal() {
        return Ok(());
    }
    Err(Failure::Usage(format!(
        "`{command}` changes AWS and Databricks and standard input is not a terminal, so it cannot ask; \
         review `xacct plan` and pass `--yes` to {command} without a prompt"
    )))
}

fn confirm(yes: bool, question: &str) -> Result<bool, Failure> {
    if yes {
        return Ok(true);
    }
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// Plans, shows the plan to people, and asks unless `yes`; `None` when the answer was no.
async fn plan_and_confirm(
    session: &Session,
    mode: Mode,
    yes: bool,
    output: Output,
    out: &mut dyn Write,
) -> Result<Option<FullPlan>, Failure> {
    let plan = reconcile::plan(session, mode).await?;
    if let Output::Text = output {
        print_plan(&plan, out)?;
        out.flush()?;
    }
    let question = if mode == Mode::Destroy { "Destroy these resources?" } else { "Apply these changes?" };
    if !plan.is_converged() && !confirm(yes, question)? {
        eprintln!("nothing changed");
        return Ok(None);
    }
    Ok(Some(plan))
}

/// Progress on stderr: a line per resource, through indicatif on a TTY.
fn progress() -> (Progress, Arc<indicatif::MultiProgress>) {
    let multi = Arc::new(indicatif::MultiProgress::new());
    let tty = std::io::stderr().is_terminal();
    if !tty {
        multi.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let m = multi.clone();
    let report: Progress = Arc::new(move |resource: &str, action: Action, took: Duration| {
        let line = format!("{action:>7} {resource} ({:.2}s)", took.as_secs_f64());
        if tty {
            let _ = m.println(line);
        } else {
            eprintln!("{line}");
        }
    });
    (report, multi)
}

/// `provision`: plan, confirm, apply AWS then Databricks.
pub(super) fn provision(config: Config, yes: bool, output: Output, out: &mut dyn Write) -> Outcome {
    run_plan(config, Mode::Provision, yes, output, out)
}

/// `destroy`: remove what xacct created, and its statements from shared documents.
pub(super) fn destroy(config: Config, yes: bool, output: Output, out: &mut dyn Write) -> Outcome {
    run_plan(config, Mode::Destroy, yes, output, out)
}

fn run_plan(config: Config, mode: Mode, yes: bool, output: Output, out: &mut dyn Write) -> Outcome {
    runtime()?.block_on(async {
        let started = Instant::now();
        let session = Session::open(config).await?;
        let Some(plan) = plan_and_confirm(&session, mode, yes, output, out).await? else {
            return Ok(ExitCode::from(2));
        };
        let (on_progress, _bars) = progress();
        let result = match mode {
            Mode::Provision => reconcile::apply(&session, &plan, &on_progress).await,
            Mode::Destroy => reconcile::destroy(&session, &plan, &on_progress).await,
        };
        let failure = result.err().map(|e| super::error_chain(&e));
        let elapsed = started.elapsed();
        let calls = session.api_calls();
        match output {
            Output::Json => writeln!(
                out,
                "{}",
                json!({"ok": failure.is_none(), "error": failure, "plan": plan_json(&plan, &session),
                       "elapsed_seconds": elapsed.as_secs_f64(), "api_calls": calls})
            )?,
            Output::Text => {
                let summary = plan.summary();
                match (&failure, mode) {
                    (None, _) if plan.is_converged() => {
                        writeln!(out, "\nNothing to do: everything is as the config says.")?
                    }
                    (None, Mode::Provision) => writeln!(
                        out,
                        "\nApplied: {} created, {} updated, {} deleted in {:.1}s.",
                        summary.create,
                        summary.update,
                        summary.delete,
                        elapsed.as_secs_f64()
                    )?,
                    (None, Mode::Destroy) => writeln!(
                        out,
                        "\nDestroyed what xacct created; foreign statements and resources are untouched."
                    )?,
                    (Some(e), _) => eprintln!("\nerror: {e}"),
                }
                writeln!(
                    out,
                    "API calls: AWS {} reads, {} writes; Databricks {} reads, {} writes.",
                    calls.aws_reads, calls.aws_writes, calls.databricks_reads, calls.databricks_writes
                )?;
            }
        }
        Ok(if failure.is_none() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    })
}

//! `plan`, `provision` and `destroy`: AWS first through aws-apply, then
//! Databricks through databricks-client. This module only wires and prints.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use aws_apply::{Accounts, Action, ApplyOptions};
use databricks_client::{ClusterTarget, Outcome};
use owo_colors::{OwoColorize, Stream};
use serde_json::json;

use crate::config::{Config, DatabricksSection};
use crate::Output;

/// The connections one command works with.
pub struct Session {
    pub config: Config,
    pub accounts: Accounts,
    pub databricks: Option<databricks_client::Client>,
}

impl Session {
    pub async fn open(config: Config) -> anyhow::Result<Session> {
        let accounts = Accounts::load(&config.flow, &config.profiles).await?;
        let databricks = match &config.databricks {
            Some(section) => Some(databricks_client(section)?),
            None => None,
        };
        Ok(Session { config, accounts, databricks })
    }

    fn cluster_target(&self) -> Option<ClusterTarget> {
        let section = self.config.databricks.as_ref()?;
        match (&section.cluster_id, &section.new_cluster) {
            (Some(id), _) => Some(ClusterTarget::Existing(id.clone())),
            (None, Some(nc)) => {
                let spec = serde_json::to_value(nc).ok()?;
                spec.as_object().cloned().map(ClusterTarget::New)
            }
            (None, None) => None,
        }
    }

    /// `{"aws_reads", "aws_writes", "databricks_reads", "databricks_writes"}`.
    pub fn api_calls(&self) -> serde_json::Value {
        let aws = self.accounts.api_calls();
        let (dr, dw) = self.databricks.as_ref().map_or((0, 0), |c| (c.reads(), c.writes()));
        json!({"aws_reads": aws.reads(), "aws_writes": aws.writes(), "databricks_reads": dr, "databricks_writes": dw})
    }
}

pub fn databricks_client(section: &DatabricksSection) -> anyhow::Result<databricks_client::Client> {
    let settings = databricks_client::AuthSettings {
        host: section.host.clone(),
        profile: section.profile.clone(),
        ..Default::default()
    };
    let env = databricks_client::auth::process_env();
    databricks_client::Client::from_settings(&settings, &*env, databricks_client::ClientOptions::default())
        .context("cannot set up the Databricks client")
}

/// One Databricks change, planned or made.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DatabricksChange {
    pub resource: String,
    pub action: Action,
    pub detail: Vec<String>,
}

fn from_outcome(resource: String, outcome: &Outcome) -> DatabricksChange {
    let (action, detail) = match outcome {
        Outcome::Unchanged => (Action::NoOp, Vec::new()),
        Outcome::Created => (Action::Create, Vec::new()),
        Outcome::Updated { changes } => (Action::Update, changes.clone()),
    };
    DatabricksChange { resource, action, detail }
}

pub struct FullPlan {
    pub aws: aws_apply::Plan,
    pub databricks: Vec<DatabricksChange>,
}

impl FullPlan {
    fn is_converged(&self) -> bool {
        self.aws.is_converged() && self.databricks.iter().all(|c| c.action == Action::NoOp)
    }

    fn actions(&self) -> impl Iterator<Item = Action> + '_ {
        self.aws.changes.iter().map(|c| c.action).chain(self.databricks.iter().map(|c| c.action))
    }

    fn summary(&self) -> serde_json::Value {
        let count = |a: Action| self.actions().filter(|x| *x == a).count();
        json!({"create": count(Action::Create), "update": count(Action::Update),
               "delete": count(Action::Delete), "unchanged": count(Action::NoOp)})
    }
}

async fn plan_all(session: &Session, destroy: bool) -> anyhow::Result<FullPlan> {
    let flow = &session.config.flow;
    // Before reading or writing anything, make sure each profile reaches the account the config
    // names: a profile pointing at the wrong account must not be planned against.
    session.accounts.check_identities().await?;
    let observed = aws_apply::observe(&session.accounts, flow).await?;
    let aws = if destroy { aws_apply::plan_destroy(flow, &observed) } else { aws_apply::plan(flow, &observed)? };
    let mut databricks = Vec::new();
    if let Some(client) = &session.databricks {
        let profile = flow.deployment.instance_profile_arn();
        let role = flow.deployment.instance_role_arn();
        let registered = client.plan_instance_profile(&profile, &role).await?;
        let resource = format!("instance profile {profile}");
        if destroy {
            let action = if registered == Outcome::Created { Action::NoOp } else { Action::Delete };
            databricks.push(DatabricksChange { resource, action, detail: Vec::new() });
        } else {
            databricks.push(from_outcome(resource, &registered));
            if let Some(target) = session.cluster_target() {
                let conf = spark_conf::spark_conf_map(flow);
                let outcome = client.plan_cluster_access(&target, &profile, &conf).await?;
                databricks.push(from_outcome(cluster_name(&target), &outcome));
            }
        }
    }
    Ok(FullPlan { aws, databricks })
}

fn cluster_name(target: &ClusterTarget) -> String {
    match target {
        ClusterTarget::Existing(id) => format!("cluster {id}"),
        ClusterTarget::New(spec) => {
            format!("cluster {}", spec.get("cluster_name").and_then(|v| v.as_str()).unwrap_or("(new)"))
        }
    }
}

fn print_plan(plan: &FullPlan) {
    for c in &plan.aws.changes {
        print_change(c.action, &format!("{} {} {}", c.account, c.service, c.resource), c.diff.as_deref());
    }
    for c in &plan.databricks {
        let detail = c.detail.join("\n");
        print_change(c.action, &format!("databricks {}", c.resource), (!detail.is_empty()).then_some(&*detail));
    }
    let s = plan.summary();
    println!(
        "\nPlan: {} to create, {} to update, {} to delete, {} unchanged.",
        s["create"], s["update"], s["delete"], s["unchanged"]
    );
}

fn print_change(action: Action, what: &str, diff: Option<&str>) {
    let line = match action {
        Action::Create => format!("{}", format!("+ create  {what}").if_supports_color(Stream::Stdout, |t| t.green())),
        Action::Update => format!("{}", format!("~ update  {what}").if_supports_color(Stream::Stdout, |t| t.yellow())),
        Action::Delete => format!("{}", format!("- delete  {what}").if_supports_color(Stream::Stdout, |t| t.red())),
        Action::NoOp => format!("= unchanged {what}"),
    };
    println!("{line}");
    for l in diff.into_iter().flat_map(str::lines) {
        let colored = if l.starts_with('+') {
            format!("{}", l.if_supports_color(Stream::Stdout, |t| t.green()))
        } else if l.starts_with('-') {
            format!("{}", l.if_supports_color(Stream::Stdout, |t| t.red()))
        } else {
            l.to_owned()
        };
        println!("      {colored}");
    }
}

fn plan_json(plan: &FullPlan, session: &Session) -> serde_json::Value {
    json!({
        "aws": plan.aws.changes,
        "databricks": plan.databricks,
        "summary": plan.summary(),
        "api_calls": session.api_calls(),
    })
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Runtime::new()?)
}

/// `plan`: live state in, changes out. Exit 0, or 1 when the plan cannot be made.
pub fn plan(config: Config, output: Output) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let session = Session::open(config).await?;
        let plan = plan_all(&session, false).await?;
        match output {
            Output::Json => println!("{}", plan_json(&plan, &session)),
            Output::Text => print_plan(&plan),
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// May we apply? `--yes`, or a `y` typed on a TTY. Without a TTY and without
/// `--yes` the answer is known before any call: refuse.
pub fn refuse_without_tty(yes: bool, command: &str) -> Option<ExitCode> {
    if yes || std::io::stdin().is_terminal() {
        return None;
    }
    eprintln!("error: `{command}` changes AWS and Databricks and standard input is not a terminal, so it cannot ask");
    eprintln!("hint: review `cargo xtask plan` and pass `--yes` to {command} without a prompt");
    Some(ExitCode::from(2))
}

fn confirm(yes: bool, question: &str) -> anyhow::Result<bool> {
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
    destroy: bool,
    yes: bool,
    output: Output,
) -> anyhow::Result<Option<FullPlan>> {
    let plan = plan_all(session, destroy).await?;
    if let Output::Text = output {
        print_plan(&plan);
    }
    let question = if destroy { "Destroy these resources?" } else { "Apply these changes?" };
    if !plan.is_converged() && !confirm(yes, question)? {
        eprintln!("nothing changed");
        return Ok(None);
    }
    Ok(Some(plan))
}

/// Progress on stderr: a spinner line per resource on a TTY, plain lines otherwise.
fn progress() -> (aws_apply::Progress, Arc<indicatif::MultiProgress>) {
    let multi = Arc::new(indicatif::MultiProgress::new());
    if !std::io::stderr().is_terminal() {
        multi.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let tty = std::io::stderr().is_terminal();
    let m = multi.clone();
    let report: aws_apply::Progress = Arc::new(move |resource: &str, action: Action, took: Duration| {
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
pub fn provision(config: Config, yes: bool, output: Output) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let started = Instant::now();
        let session = Session::open(config).await?;
        let Some(plan) = plan_and_confirm(&session, false, yes, output).await? else { return Ok(ExitCode::from(2)) };
        let (on_progress, _bars) = progress();
        let options = ApplyOptions { on_progress: Some(on_progress.clone()), ..Default::default() };
        let mut failure = None;
        match aws_apply::apply(&session.accounts, &plan.aws, &options).await {
            Ok(_) => {
                if let Err(e) = apply_databricks(&session, &on_progress).await {
                    failure = Some(format!("{e:#}"));
                }
            }
            Err(e) => failure = Some(format!("{e:#}")),
        }
        let elapsed = started.elapsed();
        match output {
            Output::Json => println!(
                "{}",
                json!({"ok": failure.is_none(), "error": failure, "plan": plan_json(&plan, &session),
                       "elapsed_seconds": elapsed.as_secs_f64(), "api_calls": session.api_calls()})
            ),
            Output::Text => {
                let calls = session.api_calls();
                let summary = plan.summary();
                match &failure {
                    None if plan.is_converged() => println!("\nNothing to do: everything is as the config says."),
                    None => println!(
                        "\nApplied: {} created, {} updated, {} deleted in {:.1}s.",
                        summary["create"],
                        summary["update"],
                        summary["delete"],
                        elapsed.as_secs_f64()
                    ),
                    Some(e) => eprintln!("\nerror: {e}"),
                }
                println!(
                    "API calls: AWS {} reads, {} writes; Databricks {} reads, {} writes.",
                    calls["aws_reads"], calls["aws_writes"], calls["databricks_reads"], calls["databricks_writes"]
                );
            }
        }
        Ok(if failure.is_none() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    })
}

async fn apply_databricks(session: &Session, on_progress: &aws_apply::Progress) -> anyhow::Result<()> {
    let Some(client) = &session.databricks else { return Ok(()) };
    let flow = &session.config.flow;
    let profile = flow.deployment.instance_profile_arn();
    let t = Instant::now();
    let outcome = client.ensure_instance_profile(&profile, &flow.deployment.instance_role_arn()).await?;
    on_progress(
        &format!("databricks instance profile {profile}"),
        from_outcome(String::new(), &outcome).action,
        t.elapsed(),
    );
    let Some(target) = session.cluster_target() else { return Ok(()) };
    let t = Instant::now();
    let access = client.ensure_cluster_access(&target, &profile, &spark_conf::spark_conf_map(flow)).await?;
    on_progress(
        &format!("databricks cluster {}", access.cluster_id),
        from_outcome(String::new(), &access.outcome).action,
        t.elapsed(),
    );
    // A mount is made when it is missing, or redone when the cluster changed in this run; an
    // existing mount is seen through DBFS get-status, a read, so a converged run writes nothing.
    let cluster_changed = access.outcome != Outcome::Unchanged;
    for (owner, bucket) in flow.buckets().filter(|(_, b)| b.mount) {
        let point = spark_conf::databricks::mount_point(&bucket.name);
        let t = Instant::now();
        if !cluster_changed && client.dbfs_status(&point).await?.is_some() {
            on_progress(&format!("databricks mount {point}"), Action::NoOp, t.elapsed());
            continue;
        }
        client.ensure_running(&access.cluster_id).await?;
        let command = spark_conf::databricks::mount_command_python(owner, &bucket.name);
        let result = match client.run_command(&access.cluster_id, databricks_client::Language::Python, &command).await {
            Ok(result) => Some(result),
            // The command was sent and its reply lost: the mount point says whether it ran.
            Err(err @ databricks_client::Error::ReplyLost { .. }) => match client.dbfs_status(&point).await? {
                Some(_) => None,
                None => return Err(err.into()),
            },
            Err(err) => return Err(err.into()),
        };
        if let Some(failure) = result.as_ref().and_then(|r| r.failure()) {
            anyhow::bail!("mounting {point} on cluster {} failed: {failure}", access.cluster_id);
        }
        on_progress(&format!("databricks mount {point}"), Action::Update, t.elapsed());
    }
    Ok(())
}

/// `destroy`: remove what xacct created, and its statements from shared documents.
pub fn destroy(config: Config, yes: bool, output: Output) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let session = Session::open(config).await?;
        let Some(plan) = plan_and_confirm(&session, true, yes, output).await? else { return Ok(ExitCode::from(2)) };
        let (on_progress, _bars) = progress();
        let options = ApplyOptions { on_progress: Some(on_progress.clone()), ..Default::default() };
        let mut failure = None;
        if let Err(e) = destroy_databricks(&session, &plan).await {
            failure = Some(format!("{e:#}"));
        }
        if failure.is_none() {
            if let Err(e) = aws_apply::apply(&session.accounts, &plan.aws, &options).await {
                failure = Some(format!("{e:#}"));
            }
        }
        match output {
            Output::Json => {
                println!("{}", json!({"ok": failure.is_none(), "error": failure, "api_calls": session.api_calls()}))
            }
            Output::Text => match &failure {
                None => println!("\nDestroyed what xacct created; foreign statements and resources are untouched."),
                Some(e) => eprintln!("\nerror: {e}"),
            },
        }
        Ok(if failure.is_none() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    })
}

async fn destroy_databricks(session: &Session, plan: &FullPlan) -> anyhow::Result<()> {
    let Some(client) = &session.databricks else { return Ok(()) };
    let flow = &session.config.flow;
    // Unmount while the role still works, then forget the profile, then the cluster if xacct made it.
    let cluster = match session.cluster_target() {
        Some(ClusterTarget::Existing(id)) => client.get_cluster(&id).await.ok(),
        Some(ClusterTarget::New(spec)) => {
            let name = spec.get("cluster_name").and_then(|v| v.as_str()).unwrap_or_default().to_owned();
            client.list_clusters().await?.into_iter().find(|c| c.cluster_name.as_deref() == Some(&*name))
        }
        None => None,
    };
    if let Some(cluster) = &cluster {
        for (_, bucket) in flow.buckets().filter(|(_, b)| b.mount) {
            let point = spark_conf::databricks::mount_point(&bucket.name);
            if client.dbfs_status(&point).await?.is_none() {
                continue;
            }
            client.ensure_running(&cluster.cluster_id).await?;
            let command = format!("dbutils.fs.unmount({point:?})");
            let result = client.run_command(&cluster.cluster_id, databricks_client::Language::Python, &command).await?;
            if let Some(failure) = result.failure() {
                anyhow::bail!("unmounting {point} failed: {failure}");
            }
            eprintln!(" delete databricks mount {point}");
        }
    }
    let profile = flow.deployment.instance_profile_arn();
    if plan.databricks.iter().any(|c| c.action == Action::Delete) {
        client.remove_instance_profile(&profile).await?;
        eprintln!(" delete databricks instance profile {profile}");
    }
    match cluster {
        Some(cluster) if cluster.is_managed() => {
            client.permanent_delete_cluster(&cluster.cluster_id).await?;
            eprintln!(" delete databricks cluster {} (created by xacct)", cluster.cluster_id);
        }
        Some(cluster) => eprintln!("   keep databricks cluster {} (not created by xacct)", cluster.cluster_id),
        None => {}
    }
    Ok(())
}

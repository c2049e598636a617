//! `exposure`: who else the documents let in, as lines or as JSON.

use std::io::Write;
use std::process::ExitCode;

use owo_colors::{OwoColorize, Stream};
use verify::exposure::Exposure;

use super::{Outcome, Output};
use crate::config::Config;
use crate::exposure::{findings, live_state, offline_state};
use crate::session::{runtime, Session};

pub(super) fn exposure(config: Config, offline: bool, output: Output, out: &mut dyn Write) -> Outcome {
    let report = if offline {
        findings(&config, &offline_state(&config))
    } else {
        runtime()?.block_on(async {
            let session = Session::open(config).await?;
            let state = live_state(&session).await?;
            Ok::<_, crate::Error>(findings(&session.config, &state))
        })?
    };
    match output {
        Output::Json => writeln!(out, "{}", serde_json::to_string(&report).map_err(std::io::Error::from)?)?,
        Output::Text => print_exposure(&report, out)?,
    }
    Ok(ExitCode::from(report.exit_code()))
}

/// The findings, one line each with the statement's conditions below, then the verdict.
pub fn print_exposure(report: &Exposure, out: &mut dyn Write) -> std::io::Result<()> {
    for f in &report.findings {
        let mark = if f.accepted {
            format!("{}", "accepted".if_supports_color(Stream::Stdout, |t| t.yellow()))
        } else {
            format!("{}", "EXPOSED ".if_supports_color(Stream::Stdout, |t| t.red()))
        };
        writeln!(
            out,
            "{mark}  {} {} ({}) may {}",
            f.principal_kind.as_str(),
            f.principal,
            f.kind.as_str(),
            f.actions.join(", ")
        )?;
        writeln!(out, "          on {} by statement `{}`", f.resource, f.statement)?;
        if !f.conditions.is_empty() {
            writeln!(out, "          when {}", f.conditions)?;
        }
    }
    for u in &report.unchecked {
        writeln!(out, "{}  {}: {}", "????    ".if_supports_color(Stream::Stdout, |t| t.magenta()), u.resource, u.why)?;
    }
    let open = report.findings.iter().filter(|f| !f.accepted).count();
    let accepted = report.findings.len() - open;
    let verdict = if report.ok { "No exposure" } else { "EXPOSED" };
    writeln!(
        out,
        "\n{verdict}: {open} finding(s) beyond the chain, {accepted} accepted, {} resource(s) not checked.",
        report.unchecked.len()
    )
}

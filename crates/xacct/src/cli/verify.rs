//! `verify`: the chain report as a table or as JSON.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use owo_colors::{OwoColorize, Stream};
use verify::{Report, Status};

use super::{Outcome, Output};
use crate::chain::{live_report, offline_report};
use crate::config::Config;
use crate::session::{runtime, Session};

pub(super) fn verify(config: Config, offline: bool, on_cluster: bool, output: Output, out: &mut dyn Write) -> Outcome {
    let report = if offline {
        offline_report(&config)
    } else {
        runtime()?.block_on(async {
            let session = Session::open(config).await?;
            live_report(&session, on_cluster).await
        })?
    };
    match output {
        Output::Json => writeln!(out, "{}", serde_json::to_string(&report).map_err(std::io::Error::from)?)?,
        Output::Text => print_report(&report, out)?,
    }
    // 1 wins over 3: a link that failed is news whatever could not be checked.
    Ok(match report.verdict() {
        verify::Verdict::Ok => ExitCode::SUCCESS,
        verify::Verdict::Failed => ExitCode::FAILURE,
        verify::Verdict::Unchecked => ExitCode::from(3),
    })
}

/// The report as a table: one line per link, then its evidence and fix.
pub fn print_report(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    for link in &report.links {
        let status = match link.status {
            Status::Pass => format!("{}", "pass".if_supports_color(Stream::Stdout, |t| t.green())),
            Status::Fail => format!("{}", "FAIL".if_supports_color(Stream::Stdout, |t| t.red())),
            Status::Skipped => format!("{}", "skip".if_supports_color(Stream::Stdout, |t| t.yellow())),
            Status::Unchecked => format!("{}", "????".if_supports_color(Stream::Stdout, |t| t.magenta())),
        };
        writeln!(out, "{status}  {:<28} {} -> {} ({})", link.id, link.from, link.to, link.action)?;
        for e in &link.evidence {
            writeln!(out, "        evidence: {e}")?;
        }
        if let Some(fix) = &link.fix {
            for (i, line) in fix.lines().enumerate() {
                writeln!(out, "        {} {line}", if i == 0 { "fix:" } else { "    " })?;
            }
        }
    }
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    let n = report.summary();
    let verdict = match report.verdict() {
        verify::Verdict::Ok => "Chain OK",
        verify::Verdict::Failed => "Chain BROKEN",
        verify::Verdict::Unchecked => "Chain NOT CHECKED",
    };
    writeln!(
        out,
        "\n{verdict}: {} pass, {} fail, {} skipped, {} could not be checked.",
        n.pass, n.fail, n.skipped, n.unchecked
    )
}

/// Link statuses for the diagram: verify's statuses are the chain's, which the diagram takes.
pub fn link_status(report: &Report) -> BTreeMap<String, spark_conf::LinkStatus> {
    report.statuses().into_iter().collect()
}

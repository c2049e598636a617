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
    Ok(if report.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The report as a table: one line per link, then its evidence and fix.
pub fn print_report(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    for link in &report.links {
        let status = match link.status {
            Status::Pass => format!("{}", "pass".if_supports_color(Stream::Stdout, |t| t.green())),
            Status::Fail => format!("{}", "FAIL".if_supports_color(Stream::Stdout, |t| t.red())),
            Status::Skipped => format!("{}", "skip".if_supports_color(Stream::Stdout, |t| t.yellow())),
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
    let count = |s: Status| report.links.iter().filter(|l| l.status == s).count();
    writeln!(
        out,
        "\n{}: {} pass, {} fail, {} skipped.",
        if report.ok { "Chain OK" } else { "Chain BROKEN" },
        count(Status::Pass),
        count(Status::Fail),
        count(Status::Skipped)
    )
}

/// Link statuses for the diagram.
pub fn link_status(report: &Report) -> BTreeMap<String, spark_conf::LinkStatus> {
    report
        .links
        .iter()
        .map(|l| {
            let status = match l.status {
                Status::Pass => spark_conf::LinkStatus::Pass,
                Status::Fail => spark_conf::LinkStatus::Fail,
                Status::Skipped => spark_conf::LinkStatus::Skipped,
            };
            (l.id.clone(), status)
        })
        .collect()
}

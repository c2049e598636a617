//! `verify`: the chain report from the verify crate, as a table or as JSON.

use std::collections::BTreeMap;
use std::process::ExitCode;

use owo_colors::{OwoColorize, Stream};
use verify::{Report, Status};

use crate::config::Config;
use crate::flow::{self, Session};
use crate::Output;

/// Evaluates the documents `provision` would write; no credentials, no calls.
pub fn offline_report(config: &Config) -> Report {
    let inputs = verify::OfflineInputs {
        bucket_policies: config.known.bucket_policies.clone(),
        scps: config.known.scps.clone(),
        databricks: config
            .databricks
            .as_ref()
            .map(|d| verify::Databricks::expected(&config.flow, d.cluster_id.as_deref())),
        cluster_id: config.databricks.as_ref().and_then(|d| d.cluster_id.clone()),
        ..Default::default()
    };
    verify::offline(&config.flow, &inputs)
}

/// Reads the deployed documents, evaluates them and runs the live probes.
pub async fn live_report(session: &Session, on_cluster: bool) -> anyhow::Result<Report> {
    let flow = &session.config.flow;
    // A profile that reaches another account must not be verified against.
    session.accounts.check_identities().await?;
    let cluster_id = match (&session.config.databricks, &session.databricks) {
        (Some(section), Some(client)) => match (&section.cluster_id, &section.new_cluster) {
            (Some(id), _) => Some(id.clone()),
            (None, Some(nc)) => {
                let clusters = client.list_clusters().await?;
                clusters
                    .into_iter()
                    .find(|c| c.cluster_name.as_deref() == Some(&*nc.cluster_name))
                    .map(|c| c.cluster_id)
            }
            (None, None) => None,
        },
        _ => None,
    };
    let inputs = verify::LiveInputs {
        aws: Some(session.accounts.clone()),
        databricks: session.databricks.clone(),
        cluster_id,
        on_cluster,
        scps: session.config.known.scps.clone(),
        probe_interceptors: Vec::new(),
    };
    Ok(verify::live(&inputs, flow).await)
}

pub fn verify(config: Config, offline: bool, on_cluster: bool, output: Output) -> anyhow::Result<ExitCode> {
    let report = if offline {
        offline_report(&config)
    } else {
        flow::runtime()?.block_on(async {
            let session = Session::open(config).await?;
            live_report(&session, on_cluster).await
        })?
    };
    match output {
        Output::Json => println!("{}", serde_json::to_string(&report)?),
        Output::Text => print_report(&report),
    }
    Ok(if report.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

pub fn print_report(report: &Report) {
    for link in &report.links {
        let status = match link.status {
            Status::Pass => format!("{}", "pass".if_supports_color(Stream::Stdout, |t| t.green())),
            Status::Fail => format!("{}", "FAIL".if_supports_color(Stream::Stdout, |t| t.red())),
            Status::Skipped => format!("{}", "skip".if_supports_color(Stream::Stdout, |t| t.yellow())),
        };
        println!("{status}  {:<28} {} -> {} ({})", link.id, link.from, link.to, link.action);
        for e in &link.evidence {
            println!("        evidence: {e}");
        }
        if let Some(fix) = &link.fix {
            for (i, line) in fix.lines().enumerate() {
                println!("        {} {line}", if i == 0 { "fix:" } else { "    " });
            }
        }
    }
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    let count = |s: Status| report.links.iter().filter(|l| l.status == s).count();
    println!(
        "\n{}: {} pass, {} fail, {} skipped.",
        if report.ok { "Chain OK" } else { "Chain BROKEN" },
        count(Status::Pass),
        count(Status::Fail),
        count(Status::Skipped)
    );
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

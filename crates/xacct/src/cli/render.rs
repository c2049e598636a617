//! `simulate` and `render`: the offline commands.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use super::{Failure, Outcome, Output};
use crate::config::Config;

/// The largest `simulate` input xacct reads: a batch of a hundred thousand cases, each with its
/// own policies, is about 400 MB.
const MAX_CASES_BYTES: u64 = 1024 * 1024 * 1024;

fn read(path: &Path, what: &str, max: u64) -> Result<String, Failure> {
    crate::config::read_text_file(path, max)
        .map_err(|e| Failure::Usage(format!("cannot read {what} `{}`: {e}", path.display())))
}

/// `simulate --input FILE [--output json|text]`: one case or an array of cases, decisions on
/// stdout. A malformed case is an error object in its place; input that is not JSON is exit 2.
pub(super) fn simulate(input: &Path, output: Output, out: &mut dyn Write) -> Outcome {
    use policy_model::simulate::{self, Format, SimulateError};
    let text = read(input, "the cases", MAX_CASES_BYTES)?;
    let format = match output {
        Output::Json => Format::Json,
        Output::Text => Format::Text,
    };
    match simulate::run(&text, format, out) {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(SimulateError::Write(e)) => Err(Failure::Io(e)),
        Err(e) => Err(Failure::Usage(format!("`{}`: {e}", input.display()))),
    }
}

/// `render --what W`: the text for one target.
pub(super) fn render(config: &Config, what: &str, format: &str, output: Output, out: &mut dyn Write) -> Outcome {
    // The report joins verify and exposure, which spark-conf knows nothing of.
    if what == "report" {
        let page = crate::report::offline_html(config);
        match output {
            Output::Text => write!(out, "{page}")?,
            Output::Json => writeln!(out, "{}", serde_json::json!({ "what": "report", "text": page }))?,
        }
        return Ok(ExitCode::SUCCESS);
    }
    let what = what.parse::<spark_conf::What>().map_err(|_| {
        let names: Vec<&str> = spark_conf::What::ALL.iter().map(|w| w.name()).chain(["report"]).collect();
        Failure::Usage(format!("unknown render target `{what}`; expected one of {}", names.join(", ")))
    })?;
    let diagram_format = format.parse().map_err(|e| Failure::Usage(format!("{e}")))?;
    // The diagram shows each link's status from the offline evaluation, which needs no
    // credentials; the other targets need no evaluation at all.
    let link_status = match what {
        spark_conf::What::Diagram => super::verify::link_status(&crate::chain::offline_report(config)),
        _ => Default::default(),
    };
    let opts = spark_conf::RenderOptions { diagram_format, link_status, ..Default::default() };
    let text = spark_conf::render(&config.flow, what, &opts);
    match output {
        Output::Text => write!(out, "{text}")?,
        Output::Json => writeln!(out, "{}", serde_json::json!({ "what": what.name(), "text": text }))?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `render --check FILE`: every problem in a Spark conf the user already has; exit 1 on problems.
pub(super) fn check(config: &Config, file: &Path, output: Output, out: &mut dyn Write) -> Outcome {
    let text = read(file, "the Spark conf", crate::config::MAX_FILE_BYTES)?;
    let problems = spark_conf::check_file(&text, &config.flow);
    match output {
        Output::Json => writeln!(out, "{}", serde_json::json!({ "ok": problems.is_empty(), "problems": problems }))?,
        Output::Text if problems.is_empty() => writeln!(out, "{}: no problems", file.display())?,
        Output::Text => {
            for p in &problems {
                match p.line {
                    Some(line) => writeln!(out, "{}:{line}: {}", file.display(), p.message())?,
                    None => writeln!(out, "{}: {}", file.display(), p.message())?,
                }
            }
        }
    }
    Ok(if problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

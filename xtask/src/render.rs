//! `simulate` and `render`: the offline commands.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::config::Config;
use crate::Output;

/// `simulate --input FILE [--output json|text]`: one case or an array of cases, decisions on stdout.
pub fn simulate(input: &Path, format: policy_model::simulate::Format) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(input).with_context(|| format!("cannot read `{}`", input.display()))?;
    match policy_model::simulate::run(&text, format, &mut std::io::stdout().lock()) {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(policy_model::simulate::SimulateError::Json(e)) => {
            eprintln!("error: `{}`: input is not JSON: {e}", input.display());
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(e.into()),
    }
}

/// `render --what W`: the text for one target.
pub fn render(config: &Config, what: &str, format: &str, output: Output) -> anyhow::Result<ExitCode> {
    let (what, diagram_format) = match (what.parse::<spark_conf::What>(), format.parse()) {
        (Ok(what), Ok(format)) => (what, format),
        (Err(e), _) => return usage(&e.to_string()),
        (_, Err(e)) => return usage(&format!("{e}")),
    };
    // The diagram shows each link's status from the offline evaluation, which needs no credentials.
    let link_status = crate::verify::link_status(&crate::verify::offline_report(config));
    let opts = spark_conf::RenderOptions { diagram_format, link_status, ..Default::default() };
    let text = spark_conf::render(&config.flow, what, &opts);
    match output {
        Output::Text => print!("{text}"),
        Output::Json => println!("{}", serde_json::json!({ "what": what.name(), "text": text })),
    }
    Ok(ExitCode::SUCCESS)
}

/// `render --check FILE`: every problem in a Spark conf the user already has; exit 1 on problems.
pub fn check(config: &Config, file: &Path, output: Output) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read `{}`", file.display()))?;
    let problems = spark_conf::check_file(&text, &config.flow);
    match output {
        Output::Json => println!("{}", serde_json::json!({ "ok": problems.is_empty(), "problems": problems })),
        Output::Text if problems.is_empty() => println!("{}: no problems", file.display()),
        Output::Text => {
            for p in &problems {
                match p.line {
                    Some(line) => println!("{}:{line}: {}", file.display(), p.message()),
                    None => println!("{}: {}", file.display(), p.message()),
                }
            }
        }
    }
    Ok(if problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn usage(message: &str) -> anyhow::Result<ExitCode> {
    eprintln!("error: {message}");
    Ok(ExitCode::from(2))
}

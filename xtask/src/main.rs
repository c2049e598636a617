//! `cargo xtask`: the xacct command line. It loads the config, wires the
//! crates together and prints their results. It holds no business logic.

mod config;
mod demo;
mod dev;
mod flow;
mod render;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "xacct",
    about = "Provision, verify and explain Databricks cross-account S3 access through AssumeRole"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Output {
    #[default]
    Text,
    Json,
}

#[derive(clap::Args)]
struct ConfigArg {
    /// The config file.
    #[arg(long, default_value = "xacct.toml")]
    config: PathBuf,
    /// Output format: text for people, json for programs (stdout only; logs go to stderr).
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

#[derive(Subcommand)]
enum Command {
    /// Read live state and print the changes per resource, with policy JSON diffs.
    Plan(ConfigArg),
    /// Plan, then apply to AWS and Databricks.
    Provision {
        #[command(flatten)]
        config: ConfigArg,
        /// Apply without asking.
        #[arg(long)]
        yes: bool,
    },
    /// Prove the chain MyRoleA -> MyRoleB -> bucket, offline or live.
    Verify {
        #[command(flatten)]
        config: ConfigArg,
        /// Evaluate the policies xacct would write; no credentials needed.
        #[arg(long)]
        offline: bool,
        /// Also run `dbutils.fs.ls` on the cluster through command execution.
        #[arg(long)]
        on_cluster: bool,
    },
    /// Remove what xacct created and its statements in shared policies.
    Destroy {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        yes: bool,
    },
    /// Print the text users otherwise paste by hand.
    Render {
        #[command(flatten)]
        config: ConfigArg,
        /// policies, spark-conf, notebook-scala, notebook-python, mount, s3a or diagram.
        #[arg(long, required_unless_present = "check")]
        what: Option<String>,
        /// Diagram format: mermaid or dot.
        #[arg(long, default_value = "mermaid")]
        format: String,
        /// Check an existing Spark conf file (lines or JSON) against the config instead.
        #[arg(long)]
        check: Option<PathBuf>,
    },
    /// Evaluate one IAM request case or a JSON array of cases.
    Simulate {
        #[arg(long)]
        input: PathBuf,
        /// json (the default) or text, one line per case.
        #[arg(long, default_value = "json")]
        output: policy_model::simulate::Format,
    },
    /// Run the whole flow on an emulator and a Databricks stand-in that it starts itself.
    Demo,
    /// Run the local AWS emulator for manual use.
    Emulator {
        #[command(subcommand)]
        action: dev::EmulatorAction,
    },
    /// Run the whole test suite (cargo nextest).
    Test {
        /// Extra arguments for `cargo nextest run`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run the benchmarks.
    Bench {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    let output = cli.command.output();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            // JSON callers still get one JSON object on stdout; people get the error on stderr.
            if let Output::Json = output {
                println!("{}", serde_json::json!({ "ok": false, "error": format!("{e:#}") }));
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

impl Command {
    fn output(&self) -> Output {
        match self {
            Command::Plan(c)
            | Command::Provision { config: c, .. }
            | Command::Verify { config: c, .. }
            | Command::Destroy { config: c, .. }
            | Command::Render { config: c, .. } => c.output,
            _ => Output::Text,
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Test { args } => dev::test(&args),
        Command::Bench { args } => dev::bench(&args),
        Command::Emulator { action } => dev::emulator(action),
        Command::Plan(c) => match load_config(&c) {
            Ok(config) => flow::plan(config, c.output),
            Err(()) => Ok(ExitCode::from(2)),
        },
        Command::Provision { config: c, yes } => {
            let Ok(config) = load_config(&c) else { return Ok(ExitCode::from(2)) };
            if let Some(code) = flow::refuse_without_tty(yes, "provision") {
                return Ok(code);
            }
            flow::provision(config, yes, c.output)
        }
        Command::Verify { config: c, offline, on_cluster } => match load_config(&c) {
            Ok(config) => verify::verify(config, offline, on_cluster, c.output),
            Err(()) => Ok(ExitCode::from(2)),
        },
        Command::Destroy { config: c, yes } => {
            let Ok(config) = load_config(&c) else { return Ok(ExitCode::from(2)) };
            if let Some(code) = flow::refuse_without_tty(yes, "destroy") {
                return Ok(code);
            }
            flow::destroy(config, yes, c.output)
        }
        Command::Render { config, what, format, check } => {
            let Ok(loaded) = load_config(&config) else { return Ok(ExitCode::from(2)) };
            match (check, what) {
                (Some(file), _) => render::check(&loaded, &file, config.output),
                (None, Some(what)) => render::render(&loaded, &what, &format, config.output),
                (None, None) => Ok(ExitCode::from(2)),
            }
        }
        Command::Simulate { input, output } => render::simulate(&input, output),
        Command::Demo => demo::demo(),
    }
}

/// Loads the config, printing every problem (as a report on text output, as
/// JSON on json output) when it is invalid.
fn load_config(c: &ConfigArg) -> Result<config::Config, ()> {
    match config::load(&c.config) {
        Ok(config) => Ok(config),
        Err(config::LoadError::Invalid(errors)) => {
            match c.output {
                Output::Json => {
                    let findings: Vec<_> = errors
                        .findings
                        .iter()
                        .map(|f| serde_json::json!({"line": f.line, "column": f.column, "message": f.message}))
                        .collect();
                    println!("{}", serde_json::json!({"ok": false, "config": errors.path, "errors": findings}));
                }
                Output::Text => eprintln!("{:?}", miette::Report::new(*errors)),
            }
            Err(())
        }
        Err(e) => {
            eprintln!("error: {e}");
            Err(())
        }
    }
}

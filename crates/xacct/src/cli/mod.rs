//! The command line: argument parsing and printing over the library. The `xacct` binary and the
//! repo's `cargo xtask` both run [`Command`]s through [`run`], so they behave the same.
//!
//! Output is written like a Unix tool's: a closed pipe ends the command quietly with exit 0,
//! another write error is reported once with exit 1, and with `--output json` every outcome,
//! usage errors included, is one JSON object on stdout.

mod exposure;
mod plan;
mod render;
mod verify;

pub use exposure::print_exposure;
pub use verify::{link_status, print_report};

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::{self, Config, LoadError};
use crate::Error;

/// The `xacct` binary's arguments.
#[derive(Debug, Parser)]
#[command(
    name = "xacct",
    version,
    about = "Provision, verify and explain Databricks cross-account S3 access through AssumeRole"
)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// How a command prints its result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// For people: tables and diffs, coloured on a terminal unless `NO_COLOR` is set.
    #[default]
    Text,
    /// For programs: one JSON object on stdout, whatever happens.
    Json,
}

/// The arguments every config-reading command takes.
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArg {
    /// The config file.
    #[arg(long, default_value = "xacct.toml")]
    pub config: PathBuf,
    /// Output format: text for people, json for programs (stdout only; logs go to stderr).
    #[arg(long, value_enum, default_value_t)]
    pub output: Output,
}

/// The product's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read live state and print the changes per resource, with policy JSON diffs.
    Plan(ConfigArg),
    /// Plan, then apply to AWS and Databricks.
    Provision {
        /// The config and the output format.
        #[command(flatten)]
        config: ConfigArg,
        /// Apply without asking.
        #[arg(long)]
        yes: bool,
    },
    /// Prove the chain MyRoleA -> MyRoleB -> bucket, offline or live.
    Verify {
        /// The config and the output format.
        #[command(flatten)]
        config: ConfigArg,
        /// Evaluate the policies xacct would write; no credentials needed.
        #[arg(long, conflicts_with = "on_cluster")]
        offline: bool,
        /// Also run `dbutils.fs.ls` on the cluster through command execution.
        #[arg(long)]
        on_cluster: bool,
    },
    /// Who, beyond the chain, the bucket, trust and key policies let in; exit 1 on findings.
    Exposure {
        /// The config and the output format.
        #[command(flatten)]
        config: ConfigArg,
        /// Examine the documents provision would leave (ours merged into the config's existing
        /// policies); no credentials needed.
        #[arg(long)]
        offline: bool,
    },
    /// Remove what xacct created and its statements in shared policies.
    Destroy {
        /// The config and the output format.
        #[command(flatten)]
        config: ConfigArg,
        /// Destroy without asking.
        #[arg(long)]
        yes: bool,
    },
    /// Print the text users otherwise paste by hand, or check a Spark conf file.
    Render {
        /// The config and the output format.
        #[command(flatten)]
        config: ConfigArg,
        /// policies, spark-conf, notebook-scala, notebook-python, mount, s3a, diagram or report.
        #[arg(long, required_unless_present = "check", conflicts_with = "check")]
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
        /// A JSON file with one case or an array of cases.
        #[arg(long)]
        input: PathBuf,
        /// json (the default): the result objects; text: one line per case.
        #[arg(long, value_enum, default_value_t = Output::Json)]
        output: Output,
    },
}

impl Command {
    /// The output format the command asked for.
    pub fn output(&self) -> Output {
        match self {
            Command::Plan(c)
            | Command::Provision { config: c, .. }
            | Command::Verify { config: c, .. }
            | Command::Exposure { config: c, .. }
            | Command::Destroy { config: c, .. }
            | Command::Render { config: c, .. } => c.output,
            Command::Simulate { output, .. } => *output,
        }
    }
}

/// Why a command stopped early.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Bad arguments or a refusal decided before any call: exit 2.
    Usage(String),
    /// The config has problems, already printed: exit 2.
    Config,
    /// A command failed: exit 1.
    Error(Box<Error>),
    /// Writing the output failed.
    Io(io::Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Error(Box::new(e))
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        Failure::Io(e)
    }
}

pub(crate) type Outcome = Result<ExitCode, Failure>;

/// Parses the process arguments and runs the command: the whole `xacct` binary.
pub fn main() -> ExitCode {
    init_logs();
    let args: Vec<OsString> = std::env::args_os().collect();
    match Cli::try_parse_from(&args) {
        Ok(cli) => run(cli.command),
        Err(e) => usage_error(&e, &args),
    }
}

/// Logs go to stderr, filtered by `RUST_LOG`.
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
}

/// Reports a clap error: help and version go to stdout with exit 0; a usage error exits 2, as one
/// JSON object on stdout when the arguments ask for `--output json`.
pub fn usage_error(e: &clap::Error, args: &[OsString]) -> ExitCode {
    if !e.use_stderr() {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    if wants_json(args) {
        let rendered = e.render().to_string();
        let message: Vec<&str> = rendered
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more information"))
            .collect();
        print_json_failure("usage", message.join(" ").trim_start_matches("error: "));
    }
    let _ = e.print();
    ExitCode::from(2)
}

/// `--output json` or `--output=json` anywhere in the arguments.
fn wants_json(args: &[OsString]) -> bool {
    args.iter().any(|a| a == "--output=json") || args.windows(2).any(|w| w[0] == "--output" && w[1] == "json")
}

fn print_json_failure(kind: &str, message: &str) {
    let line = serde_json::json!({ "ok": false, "kind": kind, "error": message });
    let mut stdout = io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// Runs one command and turns its outcome into the exit code, printing the failure once.
pub fn run(command: Command) -> ExitCode {
    let output = command.output();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let result = dispatch(command, &mut out).and_then(|code| {
        out.flush()?;
        Ok(code)
    });
    drop(out);
    match result {
        Ok(code) => code,
        Err(Failure::Config) => ExitCode::from(2),
        Err(Failure::Usage(message)) => {
            if output == Output::Json {
                print_json_failure("usage", &message);
            }
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Error(e)) => {
            let message = error_chain(&*e);
            if output == Output::Json {
                print_json_failure("error", &message);
            }
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
        // The reader went away (`| head`): stop quietly, as a Unix tool does.
        Err(Failure::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(Failure::Io(e)) => {
            eprintln!("error: cannot write the output: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The error and its sources, each once, joined with `: `.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

fn dispatch(command: Command, out: &mut dyn Write) -> Outcome {
    match command {
        Command::Plan(c) => plan::plan(load(&c, out)?, c.output, out),
        Command::Provision { config: c, yes } => {
            let config = load(&c, out)?;
            plan::refuse_without_tty(yes, "provision")?;
            plan::provision(config, yes, c.output, out)
        }
        Command::Verify { config: c, offline, on_cluster } => {
            verify::verify(load(&c, out)?, offline, on_cluster, c.output, out)
        }
        Command::Exposure { config: c, offline } => exposure::exposure(load(&c, out)?, offline, c.output, out),
        Command::Destroy { config: c, yes } => {
            let config = load(&c, out)?;
            plan::refuse_without_tty(yes, "destroy")?;
            plan::destroy(config, yes, c.output, out)
        }
        Command::Render { config: c, what, format, check } => {
            let config = load(&c, out)?;
            match (check, what) {
                (Some(file), _) => render::check(&config, &file, c.output, out),
                (None, Some(what)) => render::render(&config, &what, &format, c.output, out),
                (None, None) => Err(Failure::Usage("`render` needs `--what` or `--check`".to_owned())),
            }
        }
        Command::Simulate { input, output } => render::simulate(&input, output, out),
    }
}

/// Loads the config, printing every problem (a report on text output, one JSON object on json
/// output) when it is invalid.
fn load(c: &ConfigArg, out: &mut dyn Write) -> Result<Config, Failure> {
    match config::load(&c.config) {
        Ok(config) => Ok(config),
        Err(LoadError::Invalid(errors)) => {
            match c.output {
                Output::Json => {
                    let findings: Vec<_> = errors
                        .findings
                        .iter()
                        .map(|f| serde_json::json!({"line": f.line, "column": f.column, "message": f.message}))
                        .collect();
                    let line =
                        serde_json::json!({"ok": false, "kind": "config", "config": errors.path, "errors": findings});
                    writeln!(out, "{line}")?;
                }
                Output::Text => eprintln!("{:?}", miette::Report::new(*errors)),
            }
            Err(Failure::Config)
        }
        Err(e) => Err(Failure::Usage(e.to_string())),
    }
}

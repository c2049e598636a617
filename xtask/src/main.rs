//! `cargo xtask`: the repo's task runner. `test`, `bench`, `demo` and `emulator` are its own;
//! every product command is forwarded in-process to the `xacct` library, so `cargo xtask verify`
//! in the repo is `xacct verify`.

mod demo;
mod dev;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "xacct's task runner, and the xacct commands in the repo")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    #[command(flatten)]
    Product(xacct::cli::Command),
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
    xacct::cli::init_logs();
    let args: Vec<OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return xacct::cli::usage_error(&e, &args),
    };
    let result = match cli.command {
        Command::Product(command) => return xacct::cli::run(command),
        Command::Test { args } => dev::test(&args),
        Command::Bench { args } => dev::bench(&args),
        Command::Emulator { action } => dev::emulator(action),
        Command::Demo => demo::demo(),
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::FAILURE
    })
}

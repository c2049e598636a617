//! The developer commands: `test`, `bench` and `emulator`.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::Context;

/// Installs the emulator venv when missing, then runs the whole suite with nextest.
pub fn test(args: &[String]) -> anyhow::Result<ExitCode> {
    ensure_venv()?;
    let status = Command::new(cargo())
        .args(["nextest", "run", "--workspace", "--no-fail-fast"])
        .args(args)
        .current_dir(testkit::workspace_root())
        .status()
        .context("could not run `cargo nextest` (install it with `cargo install cargo-nextest`)")?;
    Ok(exit_code(status))
}

pub fn bench(args: &[String]) -> anyhow::Result<ExitCode> {
    ensure_venv()?;
    let status = Command::new(cargo())
        .args(["bench", "--workspace"])
        .args(args)
        .current_dir(testkit::workspace_root())
        .status()
        .context("could not run `cargo bench`")?;
    Ok(exit_code(status))
}

pub fn ensure_venv() -> anyhow::Result<()> {
    let python = testkit::venv_python();
    if !python.exists() {
        eprintln!("installing the emulator into {} (tools/requirements.txt)...", python.display());
    }
    if testkit::ensure_venv()? {
        eprintln!("emulator venv ready");
    }
    Ok(())
}

fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map(PathBuf::from).unwrap_or_else(|| "cargo".into())
}

fn exit_code(status: std::process::ExitStatus) -> ExitCode {
    match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    }
}

#[derive(clap::Subcommand)]
pub enum EmulatorAction {
    /// Start moto in the background and write one AWS profile per account.
    Up,
    /// Stop the emulator started by `up`.
    Down,
    /// Print the env and profile lines for the running emulator.
    Env,
}

pub fn emulator(action: EmulatorAction) -> anyhow::Result<ExitCode> {
    let _ = action;
    eprintln!("error: `emulator` is not implemented yet");
    Ok(ExitCode::from(2))
}

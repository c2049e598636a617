//! The developer commands: `test`, `bench` and `emulator`.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::Context;

/// Installs the emulator venv when missing, then runs the whole suite with nextest, then the
/// doctests (nextest does not run them).
pub fn test(args: &[String]) -> anyhow::Result<ExitCode> {
    ensure_venv()?;
    let doctests = Command::new(cargo())
        .args(["test", "--doc", "--workspace", "--quiet"])
        .current_dir(testkit::workspace_root())
        .status()
        .context("could not run `cargo test --doc`")?;
    if !doctests.success() {
        return Ok(exit_code(doctests));
    }
    let status = Command::new(cargo())
        .args(["nextest", "run", "--workspace", "--no-fail-fast"])
        .args(args)
        // The e2e suite drives the `xacct` binary that this same build makes (crates/xacct's
        // integration test needs it), so tests and the product share one build.
        .env("XACCT_BIN", target_dir().join("debug/xacct"))
        .current_dir(testkit::workspace_root())
        .status()
        .context("could not run `cargo nextest` (install it with `cargo install cargo-nextest`)")?;
    Ok(exit_code(status))
}

/// The criterion benches, then iam-simulate timed on the evaluator bench's case in the same
/// run, so that the ratio between the two engines comes from one machine state.
pub fn bench(args: &[String]) -> anyhow::Result<ExitCode> {
    ensure_venv()?;
    let root = testkit::workspace_root();
    let status = Command::new(cargo())
        .args(["bench", "--workspace"])
        .args(args)
        .current_dir(&root)
        .status()
        .context("could not run `cargo bench`")?;
    if !status.success() {
        return Ok(exit_code(status));
    }
    let oracle = root.join("tests/oracle");
    if !oracle.join("node_modules").exists() {
        let npm = Command::new("npm").args(["ci", "--silent", "--no-audit", "--no-fund"]).current_dir(&oracle).status();
        if !npm.is_ok_and(|s| s.success()) {
            eprintln!("warning: `npm ci` in tests/oracle failed: iam-simulate not timed");
            return Ok(ExitCode::SUCCESS);
        }
    }
    eprintln!("\niam-simulate on the same cross-account case (compare with cross_account_get_object/decide):");
    let status = Command::new("node").arg("bench.js").current_dir(&oracle).status().context("could not run node")?;
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

/// The cargo target dir: `CARGO_TARGET_DIR`, or `target/` at the workspace root.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| testkit::workspace_root().join("target"))
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
    Up {
        /// The accounts to make profiles for.
        #[arg(long, value_delimiter = ',', default_value = "111111111111,222222222222,333333333333")]
        accounts: Vec<String>,
    },
    /// Stop the emulator started by `up`.
    Down,
    /// Print the env and profile lines for the running emulator.
    Env,
}

fn state_dir() -> PathBuf {
    testkit::workspace_root().join("target/xacct-emulator")
}

pub fn emulator(action: EmulatorAction) -> anyhow::Result<ExitCode> {
    let dir = state_dir();
    match action {
        EmulatorAction::Up { accounts } => {
            ensure_venv()?;
            let accounts: Vec<&str> = accounts.iter().map(String::as_str).collect();
            let runtime = tokio::runtime::Runtime::new()?;
            let profiles = runtime.block_on(testkit::Detached::up(&dir, &accounts))?;
            eprintln!("emulator running; stop it with `cargo xtask emulator down`");
            print_env(&profiles, &accounts);
        }
        EmulatorAction::Env => {
            let profiles = testkit::Detached::profiles(&dir)
                .context("no emulator is running: start one with `cargo xtask emulator up`")?;
            let text = std::fs::read_to_string(profiles.credentials_file())?;
            let accounts: Vec<&str> =
                text.lines().filter_map(|l| l.strip_prefix("[acct-").and_then(|l| l.strip_suffix(']'))).collect();
            print_env(&profiles, &accounts);
        }
        EmulatorAction::Down => {
            if testkit::Detached::down(&dir)? {
                eprintln!("emulator stopped");
            } else {
                eprintln!("no emulator was running");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_env(profiles: &testkit::Profiles, accounts: &[&str]) {
    for (key, value) in profiles.env() {
        println!("export {key}={value}");
    }
    for account in accounts {
        println!("# account {account}: aws_profile = \"{}\"", testkit::Profiles::profile_name(account));
    }
}

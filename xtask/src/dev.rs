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
        .env("XACCT_BIN", std::env::current_exe().context("cannot find the xtask binary")?)
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
    if !status.success() {
        return Ok(exit_code(status));
    }
    simulate_processes(&root, &oracle)
}

/// `simulate` against iam-simulate as whole processes on the same 20,000 cases
/// (`crates/policy-model/benches/support/cases.rs`), this binary's profile against node.
fn simulate_processes(root: &std::path::Path, oracle: &std::path::Path) -> anyhow::Result<ExitCode> {
    const CASES: u32 = 20_000;
    let file = std::env::temp_dir().join(format!("xacct-simulate-cases-{}.json", std::process::id()));
    let status = Command::new(cargo())
        .args(["run", "--quiet", "-p", "policy-model", "--example", "bench_cases", "--"])
        .arg(CASES.to_string())
        .arg(&file)
        .current_dir(root)
        .status()
        .context("could not run the bench_cases example")?;
    if !status.success() {
        return Ok(exit_code(status));
    }
    let time = |command: &mut Command| -> anyhow::Result<std::time::Duration> {
        let start = std::time::Instant::now();
        let status = command.stdout(std::process::Stdio::null()).status().context("could not start")?;
        anyhow::ensure!(status.success(), "{command:?} failed: {status}");
        Ok(start.elapsed())
    };
    let ours = time(Command::new(std::env::current_exe()?).arg("simulate").arg("--input").arg(&file));
    let theirs = time(Command::new("node").arg("time.js").arg(&file).current_dir(oracle));
    let _ = std::fs::remove_file(&file);
    let (ours, theirs) = (ours?, theirs?);
    let per_case = |d: std::time::Duration| d.as_secs_f64() * 1e6 / f64::from(CASES);
    eprintln!(
        "\nsimulate, whole processes on {CASES} distinct cross-account cases: xacct {:.1} µs per case ({:.2} s), \
         iam-simulate {:.1} µs per case ({:.2} s): xacct takes 1/{:.0} of iam-simulate's time",
        per_case(ours),
        ours.as_secs_f64(),
        per_case(theirs),
        theirs.as_secs_f64(),
        theirs.as_secs_f64() / ours.as_secs_f64(),
    );
    Ok(ExitCode::SUCCESS)
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

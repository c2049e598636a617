//! The developer commands: `test`, `bench` and `emulator`.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::Context;

/// Installs the emulator venvs and headless Chromium when missing, runs the doctests, then the suite with nextest: the whole
/// workspace against moto, then the e2e binary (`xacct-e2e`) again against LocalStack. With `XACCT_EMULATOR`
/// or `XACCT_AWS_ENDPOINT` set, runs the whole workspace once, against that emulator.
/// Tests named `moto_only_*` depend on moto's behaviour and are skipped on the other backend.
pub fn test(args: &[String]) -> anyhow::Result<ExitCode> {
    use testkit::Backend;
    let chosen = std::env::var_os("XACCT_EMULATOR").is_some() || std::env::var_os("XACCT_AWS_ENDPOINT").is_some();
    let backends = if chosen { vec![Backend::from_env()?] } else { vec![Backend::Moto, Backend::LocalStack] };
    for backend in &backends {
        ensure_backend_venv(*backend)?;
    }
    ensure_chromium()?;
    // nextest does not run doctests; they need no emulator, so they run once, first.
    let doctests = cargo_command()
        .args(["test", "--doc", "--workspace", "--quiet"])
        .current_dir(testkit::workspace_root())
        .status()
        .context("could not run `cargo test --doc`")?;
    if !doctests.success() {
        return Ok(exit_code(doctests));
    }
    let mut code = ExitCode::SUCCESS;
    for (pass, backend) in backends.into_iter().enumerate() {
        let mut nextest = cargo_command();
        nextest.args(["nextest", "run", "--no-fail-fast"]);
        nextest.arg("--workspace");
        if pass == 0 {
            nextest.args(args);
        } else {
            nextest.args(e2e_only(args));
        }
        if (backend != Backend::Moto || pass > 0) && !args.iter().any(|a| a == "--") {
            nextest.arg("--");
        }
        if backend != Backend::Moto {
            eprintln!("== against {}: tests named moto_only_* are skipped (see docs/emulators.md)", backend.name());
            nextest.args(["--skip", "moto_only_"]);
        }
        if pass > 0 {
            // The oracle compares the evaluator with iam-simulate and calls no emulator.
            eprintln!("== oracle::* ran in the first pass and uses no emulator: skipped");
            nextest.args(["--skip", "oracle::"]);
            eprintln!(
                "== {}: their subject is the network layer or the Databricks stand-in: skipped",
                SECOND_PASS_SKIPS.join(", ")
            );
            for name in SECOND_PASS_SKIPS {
                nextest.args(["--skip", name]);
            }
        }
        let status = nextest
            .env("XACCT_EMULATOR", backend.name())
            // The e2e suite drives the `xacct` binary that this same build makes (crates/xacct's
            // integration test needs it), so tests and the product share one build.
            .env("XACCT_BIN", target_dir().join("debug/xacct"))
            .current_dir(testkit::workspace_root())
            .status()
            .context("could not run `cargo nextest` (install it with `cargo install cargo-nextest`)")?;
        if !status.success() {
            code = exit_code(status);
        }
    }
    Ok(code)
}

/// Tests the second backend does not repeat: AWS is only their backdrop, and what they prove
/// (retries under a fault proxy, Databricks failures and their re-runs) does not depend on the
/// emulator. They are the slowest e2e tests, and the first pass runs them against moto.
const SECOND_PASS_SKIPS: [&str; 4] = [
    "lossy::",
    "faults::a_rerun_after_any_failed_databricks_write_converges",
    "faults::databricks_throttling_and_iam_lag_succeed_after_retries",
    "cluster::destroy_that_cannot_read_the_cluster",
];

/// `args` with a filterset that keeps only the e2e binary, the caller's `-E`/`--filterset`
/// folded into it: nextest runs the union of several filtersets, and `-p xacct-e2e` instead of
/// `--workspace` would build the dependencies a second time, with other features.
fn e2e_only(args: &[String]) -> Vec<String> {
    let (mut filters, mut rest) = (Vec::new(), Vec::new());
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--" {
            rest.push(arg.clone());
            rest.extend(iter.by_ref().cloned());
        } else if arg == "-E" || arg == "--filterset" {
            filters.extend(iter.next().map(|f| format!("({f})")));
        } else if let Some(f) = arg.strip_prefix("--filterset=") {
            filters.push(format!("({f})"));
        } else {
            rest.push(arg.clone());
        }
    }
    let mut filterset = "package(xacct-e2e)".to_owned();
    if !filters.is_empty() {
        filterset = format!("{filterset} and ({})", filters.join(" | "));
    }
    [vec!["-E".to_owned(), filterset], rest].concat()
}

/// The criterion benches, then iam-simulate timed on the evaluator bench's case in the same
/// run, so that the ratio between the two engines comes from one machine state. The benches
/// run in the one dev profile, as the product and the tests are built: the pure crates are
/// optimized there, and a release build would compile the SDK stack a second time.
pub fn bench(args: &[String]) -> anyhow::Result<ExitCode> {
    ensure_venv()?;
    let root = testkit::workspace_root();
    let status = cargo_command()
        .args(["bench", "--workspace", "--profile", "dev"])
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
    // The whole-process figures time the `xacct` binary, as users run it.
    let status = cargo_command()
        .args(["build", "--quiet", "--workspace", "--bin", "xacct"])
        .current_dir(&root)
        .status()
        .context("could not build the xacct binary")?;
    if !status.success() {
        return Ok(exit_code(status));
    }
    let xacct = target_dir().join("debug/xacct");
    let code = simulate_processes(&root, &oracle, &xacct)?;
    scale_processes(&xacct)?;
    Ok(code)
}

/// `verify --offline` and every `render` target as whole processes, from 500 to 5,000 owners
/// with one bucket each and 5,000 buckets under one owner: wall time and peak memory, to show
/// that the cost grows in proportion to the config.
fn scale_processes(exe: &std::path::Path) -> anyhow::Result<()> {
    let dir = tempfile_dir("xacct-scale")?;
    let mut commands: Vec<(String, Vec<String>)> =
        vec![("verify --offline".into(), vec!["verify".into(), "--offline".into()])];
    for what in spark_conf::What::ALL {
        commands.push((format!("render {}", what.name()), vec!["render".into(), "--what".into(), what.name().into()]));
    }
    eprintln!("\nwhole processes on generated configs (wall time, peak memory):");
    for (owners, buckets) in [(500, 1), (1_000, 1), (2_000, 1), (5_000, 1), (1, 5_000)] {
        let config = dir.join(format!("{owners}x{buckets}.toml"));
        std::fs::write(&config, scale_config(owners, buckets))?;
        for (name, args) in &commands {
            let start = std::time::Instant::now();
            let child = Command::new(exe)
                .args(args)
                .arg("--config")
                .arg(&config)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .context("could not start")?;
            let (code, peak_kb) = wait_with_peak_memory(child)?;
            eprintln!(
                "  {owners:>5} owners x {buckets:>4} buckets  {name:<24} {:>7.3} s  {:>5.0} MB  exit {code}",
                start.elapsed().as_secs_f64(),
                peak_kb as f64 / 1024.0,
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// A config of `owners` bucket owners with `buckets` buckets each.
fn scale_config(owners: usize, buckets: usize) -> String {
    let mut text = String::from(
        "[aws]\nregion = \"us-east-1\"\n\n[deployment]\naccount_id = \"111111111111\"\ninstance_role = \"MyRoleA\"\n",
    );
    for o in 0..owners {
        text +=
            &format!("\n[[bucket_owners]]\naccount_id = \"{}\"\nrole = \"MyRoleB\"\n", 200_000_000_000u64 + o as u64);
        for b in 0..buckets {
            text += &format!("  [[bucket_owners.buckets]]\n  name = \"bucket-{o}-{b}\"\n  access = \"read-write\"\n");
        }
    }
    text
}

/// Waits for the child and returns its exit code and its peak resident set in KiB: the
/// kernel's high-water mark (`VmHWM` in `/proc/<pid>/status`), read every few milliseconds
/// until the child ends, so the last reading misses at most its final moments.
fn wait_with_peak_memory(mut child: std::process::Child) -> anyhow::Result<(i32, u64)> {
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok((status.code().unwrap_or(-1), peak_kb));
        }
        let hwm = std::fs::read_to_string(&status_file).ok().and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        });
        peak_kb = peak_kb.max(hwm.unwrap_or(0));
        std::thread::sleep(std::time::Duration::from_millis(3));
    }
}

fn tempfile_dir(prefix: &str) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// `simulate` against iam-simulate as whole processes on the same 20,000 cases
/// (`crates/policy-model/benches/support/cases.rs`), this binary's profile against node.
fn simulate_processes(
    root: &std::path::Path,
    oracle: &std::path::Path,
    xacct: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    const CASES: u32 = 20_000;
    let file = std::env::temp_dir().join(format!("xacct-simulate-cases-{}.json", std::process::id()));
    let status = cargo_command()
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
    // Medians of alternating runs, so that a busy moment on a shared machine weighs on both.
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        ours.push(time(Command::new(xacct).arg("simulate").arg("--input").arg(&file))?);
        theirs.push(time(Command::new("node").arg("time.js").arg(&file).current_dir(oracle))?);
        ours.push(time(Command::new(xacct).arg("simulate").arg("--input").arg(&file))?);
    }
    let _ = std::fs::remove_file(&file);
    let median = |mut runs: Vec<std::time::Duration>| {
        runs.sort();
        runs[runs.len() / 2]
    };
    let (ours, theirs) = (median(ours), median(theirs));
    let per_case = |d: std::time::Duration| d.as_secs_f64() * 1e6 / f64::from(CASES);
    eprintln!(
        "\nsimulate, whole processes on {CASES} distinct cross-account cases, medians of 6 and 3 runs: xacct {:.1} µs per case ({:.2} s), \
         iam-simulate {:.1} µs per case ({:.2} s): xacct takes 1/{:.0} of iam-simulate's time",
        per_case(ours),
        ours.as_secs_f64(),
        per_case(theirs),
        theirs.as_secs_f64(),
        theirs.as_secs_f64() / ours.as_secs_f64(),
    );
    Ok(ExitCode::SUCCESS)
}

/// Debian's headless Chromium for the HTML report test, installed by `tools/ensure-chromium.sh`
/// unless it is on the PATH or `XACCT_CHROMIUM` names another browser.
fn ensure_chromium() -> anyhow::Result<()> {
    if std::env::var_os("XACCT_CHROMIUM").is_some() {
        return Ok(());
    }
    let script = testkit::workspace_root().join("tools/ensure-chromium.sh");
    let status =
        Command::new("bash").arg(&script).status().with_context(|| format!("could not run {}", script.display()))?;
    anyhow::ensure!(
        status.success(),
        "{} failed: install Debian's `chromium`, or set XACCT_CHROMIUM",
        script.display()
    );
    Ok(())
}

pub fn ensure_venv() -> anyhow::Result<()> {
    ensure_backend_venv(testkit::Backend::Moto)
}

fn ensure_backend_venv(backend: testkit::Backend) -> anyhow::Result<()> {
    let python = backend.python();
    if !python.exists() {
        eprintln!("installing {} into {} (see tools/)...", backend.name(), python.display());
    }
    if backend.ensure_venv()? {
        eprintln!("{} venv ready", backend.name());
    }
    Ok(())
}

/// The cargo target dir: `CARGO_TARGET_DIR`, or `target/` at the workspace root.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| testkit::workspace_root().join("target"))
}

/// A child `cargo` without the variables `cargo run` set for xtask itself. `ring`'s build
/// tracks `CARGO_MANIFEST_DIR`, so a build inherited from `cargo xtask` would differ from a plain
/// one and the two would rebuild the TLS and SDK stack in turn (`cargo xtask test`, then
/// `cargo xtask demo`, used to recompile it each time).
fn cargo_command() -> Command {
    let mut command = Command::new(cargo());
    let inherited = ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_CRATE_", "CARGO_BIN_", "CARGO_PRIMARY_PACKAGE"];
    for (key, _) in std::env::vars_os() {
        if key.to_str().is_some_and(|k| inherited.iter().any(|p| k.starts_with(p))) {
            command.env_remove(&key);
        }
    }
    command
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

#[cfg(test)]
mod tests {
    #[track_caller]
    fn check(args: &[&str], expect: expect_test::Expect) {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        expect.assert_eq(&super::e2e_only(&args).join(" "));
    }

    #[test]
    fn the_e2e_pass_keeps_only_the_e2e_binary() {
        check(&[], expect_test::expect!["-E package(xacct-e2e)"]);
        check(
            &["-E", "test(/a/)", "--filterset=test(/b/)"],
            expect_test::expect!["-E package(xacct-e2e) and ((test(/a/)) | (test(/b/)))"],
        );
        check(&["--retries", "1", "--", "-E", "x"], expect_test::expect!["-E package(xacct-e2e) --retries 1 -- -E x"]);
    }
}

//! The command line as a user meets it: exit codes, and config errors that
//! stop every command before any network call.

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The xacct binary: `cargo xtask test` passes its path in `XACCT_BIN`; a plain
/// `cargo nextest run` builds it at `target/debug/xacct` (crates/xacct's tests need it).
pub fn xacct_bin() -> PathBuf {
    std::env::var_os("XACCT_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| testkit::workspace_root().join("target/debug/xacct"))
}

pub const GOOD: &str = r#"
[deployment]
account_id = "111111111111"
instance_role = "MyRoleA"

[[bucket_owners]]
account_id = "222222222222"
role = "MyRoleB"

  [[bucket_owners.buckets]]
  name = "my-bucket"
  mount = true
"#;

/// A loopback listener that counts every connection made to it.
struct Tripwire {
    url: String,
    hits: Arc<AtomicUsize>,
}

impl Tripwire {
    fn start() -> Tripwire {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = stream.read(&mut [0; 1024]);
            }
        });
        Tripwire { url, hits }
    }
}

fn run(args: &[&str], config: &str, aws: &str, databricks: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("xacct.toml");
    std::fs::write(&path, config).unwrap();
    Command::new(xacct_bin())
        .args(args)
        .arg("--config")
        .arg(&path)
        .env("AWS_ENDPOINT_URL", aws)
        .env("AWS_ACCESS_KEY_ID", "AKIAXACCTTRIPWIRE000")
        .env("AWS_SECRET_ACCESS_KEY", "tripwire")
        .env("DATABRICKS_HOST", databricks)
        .env("DATABRICKS_TOKEN", "dapi-tripwire")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_configs_fail_before_any_call() {
    let aws = Tripwire::start();
    let databricks = testkit::databricks::DatabricksStandIn::start().await;
    let with_databricks = format!("{GOOD}\n[databricks]\ncluster_id = \"0123-456789-abcdefgh\"\n");
    let cases: &[(&str, String, &[&str])] = &[
        (
            "bad account id",
            GOOD.replace("\"111111111111\"", "\"1111\""),
            &["3:14", "account id `1111` is not 12 digits"],
        ),
        (
            "bad bucket name",
            GOOD.replace("my-bucket", "My_Bucket"),
            &["11:10", "bucket name `My_Bucket` breaks the rule: only lowercase letters"],
        ),
        (
            "A equal to B",
            GOOD.replace("\"222222222222\"", "\"111111111111\""),
            &["is both the deployment account (A) and a bucket owner (B)"],
        ),
        (
            "unknown key",
            GOOD.replace("mount = true", "mout = true"),
            &["12:3", "unknown key `mout`", "did you mean `mount`?"],
        ),
        (
            "KMS key in the wrong account",
            GOOD.replace("mount = true", "kms_key_arn = \"arn:aws:kms:us-east-1:333333333333:key/k\""),
            &["is in account `333333333333`, not in the bucket owner's account `222222222222`"],
        ),
        (
            "missing section",
            GOOD.replace("[deployment]", "[deploy]"),
            &["missing section `[deployment]`", "unknown key `deploy`"],
        ),
        (
            "several problems at once",
            with_databricks.replace("\"111111111111\"", "\"1\"").replace("my-bucket", "b"),
            &["account id `1` is not 12 digits", "bucket name `b` breaks the rule: 3 to 63 characters"],
        ),
    ];
    let commands: &[&[&str]] = &[&["plan"], &["provision", "--yes"], &["verify"], &["destroy", "--yes"]];
    for (name, config, expected) in cases {
        for command in commands {
            let out = run(command, config, &aws.url, &databricks.uri());
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{name} / {command:?}: exit code; stderr:\n{stderr}");
            for text in *expected {
                assert!(stderr.contains(text), "{name} / {command:?}: `{text}` missing from:\n{stderr}");
            }
        }
        // JSON output carries the same findings, on stdout alone.
        let out = run(&["plan", "--output", "json"], config, &aws.url, &databricks.uri());
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["ok"], false);
        assert!(!json["errors"].as_array().unwrap().is_empty(), "{name}: {json}");
    }
    assert_eq!(aws.hits.load(Ordering::SeqCst), 0, "a broken config reached the AWS endpoint");
    assert_eq!(databricks.requests().len(), 0, "a broken config reached Databricks");
}

#[test]
fn usage_errors_exit_2() {
    let out = Command::new(xacct_bin()).args(["render", "--what"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(xacct_bin()).args(["no-such-command"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(xacct_bin()).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for command in ["plan", "provision", "verify", "destroy", "render", "simulate"] {
        assert!(help.contains(command), "`{command}` missing from --help:\n{help}");
    }
    // The repo's task runner has its own commands; the installed binary has none of them.
    for command in ["demo", "emulator", "bench"] {
        assert!(!help.contains(command), "`{command}` in the product's --help:\n{help}");
    }
}

#[test]
fn render_check_and_simulate() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("xacct.toml");
    std::fs::write(&config, GOOD).unwrap();
    let xacct = |args: &[&str]| Command::new(xacct_bin()).args(args).env("NO_COLOR", "1").output().unwrap();
    let config_arg = config.to_str().unwrap();

    let out = xacct(&["render", "--what", "spark-conf", "--config", config_arg]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("spark.hadoop.fs.s3a.stsAssumeRole.arn arn:aws:iam::222222222222:role/MyRoleB"), "{text}");
    let out = xacct(&["render", "--what", "nonsense", "--config", config_arg]);
    assert_eq!(out.status.code(), Some(2));

    let conf = dir.path().join("spark.conf");
    std::fs::write(&conf, "spark.hadoop.fs.s3a.credentialsType AssumeRole\n").unwrap();
    let out = xacct(&["render", "--check", conf.to_str().unwrap(), "--config", config_arg]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("spark.conf:1:"));
    std::fs::write(
        &conf,
        format!("{text}\n").lines().filter(|l| l.starts_with("spark.")).collect::<Vec<_>>().join("\n"),
    )
    .unwrap();
    let out = xacct(&["render", "--check", conf.to_str().unwrap(), "--config", config_arg]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));

    let cases = dir.path().join("cases.json");
    let case = r#"{"principal":"arn:aws:iam::111111111111:role/MyRoleA","action":"s3:GetObject","resource":"arn:aws:s3:::b/k","resource_account":"222222222222","identity_policies":[{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}],"resource_policy":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/MyRoleA"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}}"#;
    std::fs::write(&cases, format!("[{case}, {{\"action\": 1}}]")).unwrap();
    let out = xacct(&["simulate", "--input", cases.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json[0]["decision"], "allowed", "{json}");
    // A case is read field by field: the first bad field is the one named.
    assert!(json[1]["error"].as_str().unwrap().starts_with("case 1: `action`: invalid type"), "{json}");
}

#[tokio::test(flavor = "multi_thread")]
async fn provision_without_a_tty_or_yes_refuses_before_any_call() {
    let aws = Tripwire::start();
    let databricks = testkit::databricks::DatabricksStandIn::start().await;
    let config = format!("{GOOD}\n[databricks]\ncluster_id = \"0123-456789-abcdefgh\"\n");
    for command in ["provision", "destroy"] {
        let out = run(&[command], &config, &aws.url, &databricks.uri());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command}: {stderr}");
        assert!(stderr.contains("pass `--yes`"), "{command}: {stderr}");
    }
    assert_eq!(aws.hits.load(Ordering::SeqCst), 0);
    assert!(databricks.requests().is_empty());
}

/// One row of [`bad_input_table`]: name, arguments, config text, exit code, JSON kind, fragment.
type BadInput<'a> = (&'a str, Vec<&'a str>, String, i32, &'a str, &'a str);

/// What a careful new user meets with bad input, one row each: the arguments (`{config}` is a
/// config file holding the row's text, `{dir}` the row's own directory), the exit code, the
/// `kind` of the one JSON object on stdout (`-` when the command prints its own result), and a
/// fragment the message must hold. Every row runs with `--output json`, against a tripwire
/// endpoint that no row may reach.
#[tokio::test(flavor = "multi_thread")]
async fn bad_input_table() {
    let aws = Tripwire::start();
    let databricks = testkit::databricks::DatabricksStandIn::start().await;
    let dup_owner = format!(
        "{GOOD}\n[[bucket_owners]]\naccount_id = \"222222222222\"\nrole = \"Other\"\n  [[bucket_owners.buckets]]\n  name = \"other\"\n"
    );
    let dup_bucket =
        GOOD.replace("  mount = true\n", "  mount = true\n  [[bucket_owners.buckets]]\n  name = \"my-bucket\"\n");
    let with_host = |host: &str| format!("{GOOD}\n[databricks]\nhost = \"{host}\"\ncluster_id = \"c\"\n");
    #[rustfmt::skip]
    let rows: Vec<BadInput> = vec![
        ("missing config", vec!["verify", "--offline", "--config", "{dir}/nope.toml"], String::new(), 2, "usage", "cannot read config"),
        ("config is a device", vec!["verify", "--offline", "--config", "/dev/zero"], String::new(), 2, "usage", "not a regular file"),
        ("config is a directory", vec!["verify", "--offline", "--config", "{dir}"], String::new(), 2, "usage", "not a regular file"),
        ("unknown render target", vec!["render", "--what", "nonsense", "--config", "{config}"], GOOD.to_owned(), 2, "usage", "nonsense"),
        ("render without --what", vec!["render", "--config", "{config}"], GOOD.to_owned(), 2, "usage", "--what"),
        ("--check with --what", vec!["render", "--what", "mount", "--check", "{config}", "--config", "{config}"], GOOD.to_owned(), 2, "usage", "cannot be used with"),
        ("an extra argument", vec!["plan", "--config", "{config}", "surplus"], GOOD.to_owned(), 2, "usage", "surplus"),
        ("--on-cluster with --offline", vec!["verify", "--offline", "--on-cluster", "--config", "{config}"], GOOD.to_owned(), 2, "usage", "cannot be used with"),
        ("provision without a TTY", vec!["provision", "--config", "{config}"], GOOD.to_owned(), 2, "usage", "--yes"),
        ("destroy without a TTY", vec!["destroy", "--config", "{config}"], GOOD.to_owned(), 2, "usage", "--yes"),
        ("the same owner twice", vec!["plan", "--config", "{config}"], dup_owner, 2, "config", "listed twice"),
        ("a bucket listed twice", vec!["plan", "--config", "{config}"], dup_bucket, 2, "config", "listed twice"),
        ("a region typo", vec!["plan", "--config", "{config}"], format!("[aws]\nregion = \"us-esat-1\"\n{GOOD}"), 2, "config", "not an AWS region"),
        ("an http host", vec!["plan", "--config", "{config}"], with_host("http://dbc-1.cloud.databricks.com"), 2, "config", "https://"),
        ("user info in the host", vec!["plan", "--config", "{config}"], with_host("https://me:hunter2@dbc-1.cloud.databricks.com"), 2, "config", "user name or password"),
        ("simulate input missing", vec!["simulate", "--input", "{dir}/cases.json"], String::new(), 2, "usage", "cannot read the cases"),
        ("simulate input not JSON", vec!["simulate", "--input", "{config}"], "not json".to_owned(), 2, "usage", "not JSON"),
    ];
    for (name, args, text, code, kind, fragment) in rows {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("xacct.toml");
        std::fs::write(&config, &text).unwrap();
        let args: Vec<String> = args
            .iter()
            .map(|a| a.replace("{config}", config.to_str().unwrap()).replace("{dir}", dir.path().to_str().unwrap()))
            .collect();
        let out = Command::new(xacct_bin())
            .args(&args)
            .args(["--output", "json"])
            .env("AWS_ENDPOINT_URL", &aws.url)
            .env("AWS_ACCESS_KEY_ID", "AKIAXACCTTRIPWIRE000")
            .env("AWS_SECRET_ACCESS_KEY", "tripwire")
            .env("DATABRICKS_HOST", databricks.uri())
            .env("DATABRICKS_TOKEN", "dapi-tripwire")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{name}: stdout {stdout}\nstderr {stderr}");
        let json: serde_json::Value = serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("{name}: stdout is not one JSON object ({e}): {stdout}"));
        assert_eq!(json["ok"], false, "{name}: {json}");
        assert_eq!(json["kind"], kind, "{name}: {json}");
        let message = match kind {
            "config" => json["errors"].to_string(),
            _ => json["error"].as_str().unwrap_or_default().to_owned(),
        };
        assert!(message.contains(fragment), "{name}: `{fragment}` not in {message}");
        assert!(!stdout.contains("hunter2") && !stderr.contains("hunter2"), "{name}: a secret was echoed");
    }
    assert_eq!(aws.hits.load(Ordering::SeqCst), 0, "bad input reached the AWS endpoint");
    assert_eq!(databricks.requests().len(), 0, "bad input reached Databricks");
}

/// A reader that goes away early ends the command quietly, as a Unix tool does; a full disk is
/// reported once, with exit 1.
#[test]
fn closed_pipe_and_full_disk() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("xacct.toml");
    std::fs::write(&config, GOOD).unwrap();
    for args in [
        vec!["verify", "--offline"],
        vec!["render", "--what", "policies"],
        vec!["render", "--what", "diagram", "--output", "json"],
    ] {
        let mut child = Command::new(xacct_bin())
            .args(&args)
            .arg("--config")
            .arg(&config)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Close the read end at once: every write the command makes meets a closed pipe.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out = Command::new(xacct_bin())
        .args(["render", "--what", "policies", "--config"])
        .arg(&config)
        .stdout(full)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
}

/// Live verify where nothing can be read (nothing listens at the endpoint) is not a green run:
/// every link it should have checked is `unchecked`, `ok` is false and the exit code is 3.
#[test]
fn live_verify_that_reads_nothing_exits_3() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("xacct.toml");
    std::fs::write(&config, GOOD).unwrap();
    let started = std::time::Instant::now();
    let out = Command::new(xacct_bin())
        .args(["verify", "--output", "json", "--config"])
        .arg(&config)
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_ACCESS_KEY_ID", "AKIAXACCTNOTHING0000")
        .env("AWS_SECRET_ACCESS_KEY", "nothing")
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(3), "{json}");
    assert_eq!(json["ok"], false, "{json}");
    let links = json["links"].as_array().unwrap();
    assert!(links.iter().all(|l| l["status"] != "pass"), "nothing was read, so nothing passed: {json}");
    let unchecked: Vec<&serde_json::Value> = links.iter().filter(|l| l["status"] == "unchecked").collect();
    assert!(!unchecked.is_empty(), "{json}");
    for link in unchecked {
        let evidence = link["evidence"].to_string();
        assert!(evidence.contains(&port.to_string()), "the cause names the endpoint: {link}");
        assert!(!evidence.contains("DispatchFailure("), "no Debug dump in the evidence: {link}");
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "took {:?}", started.elapsed());
}

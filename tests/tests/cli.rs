//! The command line as a user meets it: exit codes, and config errors that
//! stop every command before any network call.

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The xacct binary: `cargo xtask test` passes its own path in `XACCT_BIN`.
pub fn xacct_bin() -> PathBuf {
    std::env::var_os("XACCT_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| testkit::workspace_root().join("target/debug/xtask"))
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
    for command in ["plan", "provision", "verify", "destroy", "render", "simulate", "demo", "emulator", "test", "bench"]
    {
        assert!(help.contains(command), "`{command}` missing from --help:\n{help}");
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

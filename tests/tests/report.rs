//! `render --what report` in a real browser: Debian's Chromium, headless, with every host name
//! unresolvable, loads the page; the DOM it builds holds every verify link and every exposure
//! finding, and the picture of the chain. A screenshot is left at
//! `target/xacct-report/report.png` (next to `report.html`) for a person to open.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cli::xacct_bin;

/// The browser: `XACCT_CHROMIUM`, else Debian's `chromium` on the PATH (`.ci/run` installs it).
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("XACCT_CHROMIUM") {
        return PathBuf::from(path);
    }
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("chromium"))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!("this test needs a headless browser: `apt-get install chromium` (Debian), or set XACCT_CHROMIUM")
    })
}

/// Runs headless Chromium on the page with `extra` arguments, offline, within a minute.
fn browse(page: &Path, profile: &Path, extra: &[String]) -> std::process::Output {
    let mut child = Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"])
        .args(["--disable-extensions", "--disable-background-networking", "--disable-sync", "--hide-scrollbars"])
        // Nothing on the page may need the network: every name fails to resolve.
        .arg("--host-resolver-rules=MAP * ~NOTFOUND")
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within a minute");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn xacct(args: &[&str], config: &Path) -> (std::process::Output, String) {
    let out = Command::new(xacct_bin()).args(args).arg("--config").arg(config).env("NO_COLOR", "1").output().unwrap();
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    (out, text)
}

#[test]
fn the_report_renders_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let policy = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"Partner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444444444444:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::report-bucket/*"},
        {"Sid":"PublicReports","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::report-bucket/public/*"},
        {"Sid":"OrgRead","Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::report-bucket","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc123def4"}}}]}"#;
    std::fs::write(dir.path().join("bucket.json"), policy).unwrap();
    let config = dir.path().join("xacct.toml");
    std::fs::write(
        &config,
        r#"
[deployment]
account_id = "111111111111"
instance_role = "MyRoleA"
cross_account_role = "databricks-cross-account"

[[bucket_owners]]
account_id = "222222222222"
role = "MyRoleB"
  [[bucket_owners.buckets]]
  name = "report-bucket"
  kms_key_arn = "arn:aws:kms:us-east-1:222222222222:key/report"
  existing_policy = "bucket.json"

[exposure]
accept = ["o-abc123def4"]
"#,
    )
    .unwrap();

    let (out, html) = xacct(&["render", "--what", "report"], &config);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (_, verify) = xacct(&["verify", "--offline", "--output", "json"], &config);
    let verify: Value = serde_json::from_str(&verify).unwrap();
    let (_, exposure) = xacct(&["exposure", "--offline", "--output", "json"], &config);
    let exposure: Value = serde_json::from_str(&exposure).unwrap();

    let out_dir = testkit::workspace_root().join("target/xacct-report");
    std::fs::create_dir_all(&out_dir).unwrap();
    let page = out_dir.join("report.html");
    std::fs::write(&page, &html).unwrap();
    let profile = tempfile::tempdir().unwrap();

    let dumped = browse(&page, profile.path(), &["--dump-dom".to_owned()]);
    let dom = String::from_utf8(dumped.stdout).unwrap();
    assert!(dom.contains("<svg"), "no DOM came back:\n{}", String::from_utf8_lossy(&dumped.stderr));

    // Every verify link, with its status, in one row each.
    let links = verify["links"].as_array().unwrap();
    assert_eq!(dom.matches("<tr class=\"link ").count(), links.len(), "{dom}");
    for link in links {
        let row = format!(
            "data-link=\"{}\" data-status=\"{}\"",
            link["id"].as_str().unwrap(),
            link["status"].as_str().unwrap()
        );
        assert!(dom.contains(&row), "{row} missing");
    }
    // Every exposure finding, accepted or not.
    let findings = exposure["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 3, "{exposure}");
    assert_eq!(dom.matches("<tr class=\"finding ").count(), findings.len());
    for f in findings {
        let row = format!(
            "data-principal=\"{}\" data-principal-kind=\"{}\" data-accepted=\"{}\"",
            f["principal"].as_str().unwrap(),
            f["principal_kind"].as_str().unwrap(),
            f["accepted"]
        );
        assert!(dom.contains(&row), "{row} missing");
    }
    assert!(dom.contains("Exposed beyond the chain: 2 findings, 1 accepted"), "{dom}");
    // The picture: a node per resource of the chain and an edge per link of it.
    for node in ["cluster", "xrole", "profile", "roleA", "roleB0", "bucket0", "kms0"] {
        assert!(dom.contains(&format!("data-node=\"{node}\"")), "node {node} missing");
    }
    assert_eq!(dom.matches("<g class=\"edge\"").count(), 7, "{dom}");
    // The bucket's node says who else its policy lets in.
    assert!(dom.contains("<g class=\"node alert\" data-node=\"bucket0\">"), "{dom}");
    assert!(dom.contains("also lets in: arn:aws:iam::444444444444:root, *, o-abc123def4 (accepted)"), "{dom}");

    let shot = out_dir.join("report.png");
    let _ = std::fs::remove_file(&shot);
    let taken = browse(
        &page,
        profile.path(),
        &[format!("--screenshot={}", shot.display()), "--window-size=1500,2300".to_owned()],
    );
    let png = std::fs::read(&shot)
        .unwrap_or_else(|e| panic!("no screenshot ({e}):\n{}", String::from_utf8_lossy(&taken.stderr)));
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 20_000, "{} bytes", png.len());
    eprintln!("report: {}\nscreenshot: {}", page.display(), shot.display());
}

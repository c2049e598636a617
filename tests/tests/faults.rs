//! Faults: what the user meets when AWS or Databricks misbehaves, and the
//! proof that a re-run after any failed Databricks write converges.

use testkit::fixtures;

use crate::flow::{golden_config, World, A, B, BUCKET};

async fn prepared() -> World {
    let world = World::start(&[A, B]).await;
    fixtures::existing_bucket(&world.profiles, B, BUCKET).await.unwrap();
    fixtures::existing_cross_account_role(&world.profiles, A, "databricks-cross-account").await.unwrap();
    world
}

#[tokio::test(flavor = "multi_thread")]
async fn databricks_throttling_and_iam_lag_succeed_after_retries() {
    let world = prepared().await;
    world.standin.throttle(Some("/api/2.0/instance-profiles/list"), 2, 429, Some("1"));
    world.standin.throttle(Some("/api/2.1/clusters/create"), 1, 503, None);
    world.standin.fail_iam_lag(2);
    let (out, json) = world.xacct(&["provision", "--yes"], &golden_config());
    assert!(out.status.success(), "{json}\n{}", String::from_utf8_lossy(&out.stderr));
    let adds = world.standin.requests_to("/api/2.0/instance-profiles/add");
    assert_eq!(adds.len(), 3, "two IAM-lag failures, then success");
    assert_eq!(world.standin.requests_to("/api/2.1/clusters/create").len(), 2, "one 503, then success");
    assert_eq!(world.standin.instance_profiles().len(), 1);
}

/// moto only: it needs moto's permission checks, which LocalStack (community) does not have
/// (it enforces no permissions), so `cargo xtask test` skips it there by its name.
#[tokio::test(flavor = "multi_thread")]
async fn moto_only_aws_access_denied_fails_fast_naming_account_and_call() {
    let world = prepared().await;
    // With moto's permission checks on, the bootstrap sessions hold no policy: every call is denied.
    world.emulator.set_auth_checks(true).unwrap();
    let started = std::time::Instant::now();
    let (out, json) = world.xacct(&["provision", "--yes"], &golden_config());
    world.emulator.set_auth_checks(false).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{json}\n{stderr}");
    assert_eq!(json["ok"], false, "{json}");
    let text = format!("{json}{stderr}");
    assert!(text.contains("111111111111") || text.contains("222222222222"), "no account named: {text}");
    assert!(text.contains("Get") || text.contains("List"), "no call named: {text}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "access denied was retried for {:?}",
        started.elapsed()
    );
    assert!(world.standin.requests().is_empty(), "Databricks was called after AWS failed");
}

/// A failure at each Databricks write of a fresh provision, then a re-run: the
/// final state is the same as after an uninterrupted run.
#[tokio::test(flavor = "multi_thread")]
async fn a_rerun_after_any_failed_databricks_write_converges() {
    let writes = [
        "/api/2.0/instance-profiles/add",
        "/api/2.1/clusters/create",
        "/api/1.2/contexts/create",
        "/api/1.2/commands/execute",
    ];
    for path in writes {
        let world = prepared().await;
        world.standin.set_ls_handler(world.profiles.ls_handler(B));
        // A 400 is not retried; a 5xx now would be, on the writes whose repeat is harmless.
        world.standin.throttle(Some(path), 1, 400, None);
        let (out, json) = world.xacct(&["provision", "--yes"], &golden_config());
        assert_eq!(out.status.code(), Some(1), "{path}: the injected failure did not fail provision: {json}");
        assert_eq!(json["ok"], false);
        let (out, json) = world.xacct(&["provision", "--yes"], &golden_config());
        assert!(out.status.success(), "{path}: the re-run failed: {json}\n{}", String::from_utf8_lossy(&out.stderr));
        let (_, json) = world.xacct(&["provision", "--yes"], &golden_config());
        assert_eq!(json["api_calls"]["aws_writes"], 0, "{path}: not converged: {json}");
        assert_eq!(json["api_calls"]["databricks_writes"], 0, "{path}: not converged: {json}");
        assert_eq!(world.standin.instance_profiles().len(), 1, "{path}");
        assert_eq!(world.standin.cluster_ids().len(), 1, "{path}: exactly one cluster");
        assert_eq!(world.standin.mounts().len(), 1, "{path}");
        let (out, json) = world.xacct(&["verify"], &golden_config());
        assert!(out.status.success(), "{path}: verify after the re-run: {json}");
    }
}

/// A profile that reaches another account than the config names is refused before any read
/// of state or any write: xacct must never plan against, or change, the wrong account.
#[tokio::test(flavor = "multi_thread")]
async fn a_profile_for_the_wrong_account_is_refused() {
    let world = World::start(&[A, B, "555555555555"]).await;
    let config = golden_config().replace(&format!("aws_profile = \"acct-{B}\""), "aws_profile = \"acct-555555555555\"");
    let (out, json) = world.xacct(&["provision", "--yes"], &config);
    assert_eq!(out.status.code(), Some(1), "{json}");
    let error = json["error"].as_str().unwrap();
    assert!(error.contains("the credentials for account `222222222222` belong to account `555555555555`"), "{error}");
    let roles = world.iam("555555555555").await.list_roles().send().await.unwrap();
    assert!(roles.roles().is_empty(), "something was created in the wrong account");
    assert!(world.standin.requests().is_empty());
}

//! The `xacct` process itself killed (SIGKILL) in the middle of a provision, at each write of a
//! fresh run, AWS and Databricks writes both: a counting proxy in front of moto and the stand-in
//! holds the reply of the k-th write after forwarding it, and the test kills the process then.
//! The next run must converge to the state of an uninterrupted run, with every foreign statement
//! intact, and the run after it must write nothing.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use testkit::proxy::{Fault, FaultProxy, Faults, Rule};

use crate::cli::xacct_bin;
use crate::lossy::{prepared, state, stderr, two_owner_config, xacct_at};

/// Counts the writes that reach either proxy (one counter for both); the `hang_at`-th is
/// forwarded and its reply held. 0 holds none.
fn counting(writes: Arc<AtomicUsize>, hang_at: usize) -> Rule {
    Faults::rule(move |request| {
        if !request.is_write() {
            return Faults::NONE;
        }
        let n = writes.fetch_add(1, Ordering::SeqCst) + 1;
        if n == hang_at {
            Faults { hang: 1.0, ..Faults::NONE }
        } else {
            Faults::NONE
        }
    })
}

fn hangs(proxy: &FaultProxy) -> usize {
    proxy.seen().get(&Fault::Hang).copied().unwrap_or(0)
}

/// The statements others wrote: the bucket policies' and the cross-account role's.
async fn foreign_intact(world: &crate::flow::World) {
    for (account, bucket) in [(crate::flow::B, "golden-bucket"), ("333333333333", "second-bucket")] {
        let policy = world.profiles.s3(account).await.get_bucket_policy().bucket(bucket).send().await.unwrap();
        let text = policy.policy.unwrap();
        assert!(text.contains("\"AnalyticsTeamRead\"") && text.contains("\"XacctBucketMyRole"), "{bucket}: {text}");
    }
    let iam = world.iam(crate::flow::A).await;
    let got = iam
        .get_role_policy()
        .role_name("databricks-cross-account")
        .policy_name(testkit::fixtures::CROSS_ACCOUNT_POLICY_NAME)
        .send()
        .await
        .unwrap();
    let text = crate::flow::decode(got.policy_document()).to_json();
    assert!(text.contains("Stmt1403287045000") && text.contains("XacctPassRoleMyRoleA"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_provision_converges_at_every_write() {
    // The uninterrupted run, through the counting proxies: its state, and how many writes it makes.
    let reference = prepared().await;
    let writes = Arc::new(AtomicUsize::new(0));
    let aws = FaultProxy::start(reference.emulator.endpoint(), 1, counting(writes.clone(), 0)).await.unwrap();
    let dbx = FaultProxy::start(&reference.standin.uri(), 2, counting(writes.clone(), 0)).await.unwrap();
    let (out, json, _) = xacct_at(&reference, &["provision", "--yes"], aws.uri(), dbx.uri(), reference.standin.token());
    assert!(out.status.success(), "{json}\n{}", stderr(&out));
    let n = writes.load(Ordering::SeqCst);
    let calls = &json["api_calls"];
    assert_eq!(
        n as u64,
        calls["aws_writes"].as_u64().unwrap() + calls["databricks_writes"].as_u64().unwrap(),
        "the proxies count the writes xacct counts: {json}"
    );
    let expected = state(&reference).await;
    foreign_intact(&reference).await;
    eprintln!("an uninterrupted provision makes {n} writes ({calls})");

    let path_of = |world: &crate::flow::World| {
        let path = world.dir.path().join("xacct.toml");
        std::fs::write(&path, two_owner_config()).unwrap();
        path
    };
    for k in 1..=n {
        let world = prepared().await;
        let writes = Arc::new(AtomicUsize::new(0));
        let aws = FaultProxy::start(world.emulator.endpoint(), 1, counting(writes.clone(), k)).await.unwrap();
        let dbx = FaultProxy::start(&world.standin.uri(), 2, counting(writes.clone(), k)).await.unwrap();
        aws.hang_for(Duration::from_secs(20));
        dbx.hang_for(Duration::from_secs(20));
        let mut child = Command::new(xacct_bin())
            .args(["provision", "--yes", "--output", "json", "--config"])
            .arg(path_of(&world))
            .envs(world.profiles.env())
            .env("AWS_ENDPOINT_URL", aws.uri())
            .env("DATABRICKS_HOST", dbx.uri())
            .env("DATABRICKS_TOKEN", world.standin.token())
            .env_remove("DATABRICKS_CONFIG_PROFILE")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while hangs(&aws) + hangs(&dbx) == 0 {
            assert!(started.elapsed() < Duration::from_secs(60), "k={k}: the {k}-th write never came");
            assert!(child.try_wait().unwrap().is_none(), "k={k}: xacct ended before its {k}-th write");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The held write has been forwarded once its upstream reply is read: give it time, then kill.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        child.kill().unwrap();
        child.wait().unwrap();
        let which = if hangs(&aws) > 0 { "aws" } else { "databricks" };

        let (out, json, _) = xacct_at(
            &world,
            &["provision", "--yes"],
            world.emulator.endpoint(),
            &world.standin.uri(),
            world.standin.token(),
        );
        assert!(out.status.success(), "k={k} ({which}): the re-run failed: {json}\n{}", stderr(&out));
        assert_eq!(state(&world).await, expected, "k={k} ({which})");
        foreign_intact(&world).await;
        let (out, json, _) = xacct_at(
            &world,
            &["provision", "--yes"],
            world.emulator.endpoint(),
            &world.standin.uri(),
            world.standin.token(),
        );
        assert!(out.status.success(), "k={k}: {json}");
        assert_eq!(json["api_calls"]["aws_writes"], 0, "k={k} ({which}): {json}");
        assert_eq!(json["api_calls"]["databricks_writes"], 0, "k={k} ({which}): {json}");
        eprintln!("k={k}: killed during a {which} write; the re-run converged, the next one wrote nothing");
    }
}

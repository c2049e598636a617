//! A flaky network between xacct and its services: the fault proxy of testkit
//! in front of moto and the Databricks stand-in throttles, answers 5xx, drops
//! replies after the request took effect, and holds replies past the read
//! timeout. Provision must converge in one run; a dead endpoint and a wrong
//! token must fail fast.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::fixtures;
use testkit::proxy::{FaultProxy, Faults, Rule};

use crate::cli::xacct_bin;
use crate::flow::{World, A};

const B: &str = "222222222222";
const C: &str = "333333333333";

/// The golden flow with two owners and Databricks: a new cluster and one mount.
pub(crate) fn two_owner_config() -> String {
    format!(
        r#"
[deployment]
account_id = "{A}"
aws_profile = "acct-{A}"
instance_role = "MyRoleA"
cross_account_role = "databricks-cross-account"

[[bucket_owners]]
account_id = "{B}"
aws_profile = "acct-{B}"
role = "MyRoleB"
  [[bucket_owners.buckets]]
  name = "golden-bucket"
  mount = true

[[bucket_owners]]
account_id = "{C}"
aws_profile = "acct-{C}"
role = "MyRoleC"
  [[bucket_owners.buckets]]
  name = "second-bucket"

[databricks]
[databricks.new_cluster]
cluster_name = "golden"
spark_version = "15.4.x-scala2.12"
node_type_id = "i3.xlarge"
num_workers = 1
"#
    )
}

pub(crate) async fn prepared() -> World {
    let world = World::start(&[A, B, C]).await;
    fixtures::existing_bucket(&world.profiles, B, "golden-bucket").await.unwrap();
    fixtures::existing_bucket(&world.profiles, C, "second-bucket").await.unwrap();
    fixtures::existing_cross_account_role(&world.profiles, A, "databricks-cross-account").await.unwrap();
    world.standin.set_ls_handler(world.profiles.ls_handler(B));
    world
}

/// Runs xacct with AWS and Databricks reached at the given endpoints.
pub(crate) fn xacct_at(
    world: &World,
    args: &[&str],
    aws: &str,
    databricks: &str,
    token: &str,
) -> (Output, Value, Duration) {
    let path = world.dir.path().join("xacct.toml");
    std::fs::write(&path, two_owner_config()).unwrap();
    let started = Instant::now();
    let out = Command::new(xacct_bin())
        .args(args)
        .args(["--output", "json", "--config"])
        .arg(&path)
        .envs(world.profiles.env())
        .env("AWS_ENDPOINT_URL", aws)
        .env("DATABRICKS_HOST", databricks)
        .env("DATABRICKS_TOKEN", token)
        .env_remove("DATABRICKS_CONFIG_PROFILE")
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", String::from_utf8_lossy(&out.stdout), stderr(&out))
    });
    (out, json, elapsed)
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn calm() -> Rule {
    Faults::rule(|_| Faults::NONE)
}

/// What the run left, from the outside: the documents xacct wrote and the Databricks state.
pub(crate) async fn state(world: &World) -> Vec<String> {
    let mut out = Vec::new();
    for (account, role) in [(A, "MyRoleA"), (B, "MyRoleB"), (C, "MyRoleC")] {
        let iam = world.iam(account).await;
        let got = iam.get_role().role_name(role).send().await.unwrap().role.unwrap();
        out.push(format!("{role} trust {}", crate::flow::decode(got.assume_role_policy_document().unwrap()).to_json()));
        let mut names = iam.list_role_policies().role_name(role).send().await.unwrap().policy_names;
        names.sort();
        out.push(format!("{role} inline {names:?}"));
    }
    for (account, bucket) in [(B, "golden-bucket"), (C, "second-bucket")] {
        let policy = world.profiles.s3(account).await.get_bucket_policy().bucket(bucket).send().await.unwrap();
        out.push(format!("{bucket} {}", policy.policy.unwrap()));
    }
    let profile = world.iam(A).await.get_instance_profile().instance_profile_name("MyRoleA").send().await.unwrap();
    let roles: Vec<String> = profile.instance_profile.unwrap().roles.into_iter().map(|r| r.role_name).collect();
    out.push(format!("profile {roles:?}"));
    out.push(format!("databricks profiles {}", world.standin.instance_profiles().len()));
    out.push(format!("databricks clusters {}", world.standin.cluster_ids().len()));
    out.push(format!(
        "databricks mounts {:?}",
        world.standin.mounts().iter().map(|m| m.mount_point.clone()).collect::<Vec<_>>()
    ));
    out
}

/// 20 % throttling and 10 % lost replies on every AWS and Databricks call:
/// provision succeeds in one run, reaches the state of a calm run, and the
/// next calm run writes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn provision_converges_under_throttling_and_lost_replies() {
    let reference = prepared().await;
    let (out, json, calm_time) = xacct_at(
        &reference,
        &["provision", "--yes"],
        reference.emulator.endpoint(),
        &reference.standin.uri(),
        reference.standin.token(),
    );
    assert!(out.status.success(), "calm run: {json}\n{}", stderr(&out));
    let expected = state(&reference).await;
    eprintln!("calm provision: {calm_time:?}");

    let mix = || Faults::rule(|_| Faults { throttle: 0.2, drop_reply: 0.1, ..Faults::NONE });
    let (mut lost_replies, mut slowest) = (0, Duration::ZERO);
    for seed in [1, 2, 3, 4, 5] {
        let world = prepared().await;
        let aws = FaultProxy::start(world.emulator.endpoint(), seed, mix()).await.unwrap();
        let databricks = FaultProxy::start(&world.standin.uri(), seed + 100, mix()).await.unwrap();
        let (out, json, elapsed) =
            xacct_at(&world, &["provision", "--yes"], aws.uri(), databricks.uri(), world.standin.token());
        eprintln!(
            "seed {seed}: provision under faults took {elapsed:?}; aws {:?}, databricks {:?}",
            aws.seen(),
            databricks.seen()
        );
        assert!(out.status.success(), "seed {seed}: {json}\n{}", stderr(&out));
        assert!(elapsed < Duration::from_secs(120), "seed {seed}: {elapsed:?}");
        let lost = |p: &FaultProxy| p.seen().get(&testkit::proxy::Fault::DropReply).copied().unwrap_or(0);
        lost_replies += lost(&aws) + lost(&databricks);
        let dropped = |p: &FaultProxy| -> Vec<String> {
            p.log().into_iter().filter(|(_, f)| *f == testkit::proxy::Fault::DropReply).map(|(n, _)| n).collect()
        };
        eprintln!("seed {seed}: lost replies of {:?} and {:?}", dropped(&aws), dropped(&databricks));
        slowest = slowest.max(elapsed);
        assert_eq!(state(&world).await, expected, "seed {seed}");

        aws.set_rule(calm());
        databricks.set_rule(calm());
        let (out, json, _) =
            xacct_at(&world, &["provision", "--yes"], aws.uri(), databricks.uri(), world.standin.token());
        assert!(out.status.success(), "seed {seed}: calm re-run: {json}");
        assert_eq!(json["api_calls"]["aws_writes"], 0, "seed {seed}: {json}");
        assert_eq!(json["api_calls"]["databricks_writes"], 0, "seed {seed}: {json}");
        eprintln!("seed {seed}: converged re-run {}", json["api_calls"]);
    }
    eprintln!("{lost_replies} replies lost over the seeds; the slowest run took {slowest:?}");
    assert!(lost_replies >= 5, "only {lost_replies} replies were lost: the seeds prove little");
}

/// One reply of each side held past the read timeout: the request is sent
/// again after the timeout and the run still succeeds, within the timeouts plus a margin.
#[tokio::test(flavor = "multi_thread")]
async fn a_hung_reply_is_retried_after_the_read_timeout() {
    let world = prepared().await;
    let once = |what: &'static str| {
        let hung = std::sync::atomic::AtomicBool::new(false);
        Faults::rule(move |r| {
            let name = r.aws_operation().unwrap_or_else(|| r.path.clone());
            if name.contains(what) && !hung.swap(true, std::sync::atomic::Ordering::SeqCst) {
                Faults { hang: 1.0, ..Faults::NONE }
            } else {
                Faults::NONE
            }
        })
    };
    let aws = FaultProxy::start(world.emulator.endpoint(), 1, once("GetRole")).await.unwrap();
    let databricks = FaultProxy::start(&world.standin.uri(), 2, once("/api/2.0/instance-profiles/list")).await.unwrap();
    aws.hang_for(Duration::from_secs(40));
    databricks.hang_for(Duration::from_secs(40));
    let (out, json, elapsed) =
        xacct_at(&world, &["provision", "--yes"], aws.uri(), databricks.uri(), world.standin.token());
    eprintln!("provision with two hung replies took {elapsed:?}");
    assert!(out.status.success(), "{json}\n{}", stderr(&out));
    let hangs = |p: &FaultProxy| p.seen().get(&testkit::proxy::Fault::Hang).copied().unwrap_or(0);
    assert_eq!((hangs(&aws), hangs(&databricks)), (1, 1));
    // The AWS read timeout (15 s) and the Databricks one (20 s), plus the run itself.
    let bound = aws_apply::Timeouts::default().read
        + databricks_client::ClientOptions::default().read_timeout
        + Duration::from_secs(25);
    assert!(elapsed >= Duration::from_secs(15), "the hang was not waited for: {elapsed:?}");
    assert!(elapsed < bound, "{elapsed:?} is over the stated bound {bound:?}");
}

fn dead_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// Nothing listens at the endpoint: provision fails within seconds, naming it.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_connection_fails_fast_naming_the_endpoint() {
    let world = prepared().await;
    let dead = dead_endpoint();
    let (out, json, elapsed) =
        xacct_at(&world, &["provision", "--yes"], &dead, &world.standin.uri(), world.standin.token());
    assert_eq!(out.status.code(), Some(1), "{json}");
    let text = format!("{json}");
    assert!(text.contains(&dead), "the endpoint is not named: {text}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");

    let (out, json, elapsed) =
        xacct_at(&world, &["provision", "--yes"], world.emulator.endpoint(), &dead, world.standin.token());
    assert_eq!(out.status.code(), Some(1), "{json}");
    let text = format!("{json}");
    assert!(text.contains(&dead), "the Databricks host is not named: {text}");
    assert!(elapsed < Duration::from_secs(15), "{elapsed:?}");
}

/// A wrong token is not a network fault: it fails at once, with one request.
#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_token_still_fails_at_once() {
    let world = prepared().await;
    let (out, json, elapsed) =
        xacct_at(&world, &["provision", "--yes"], world.emulator.endpoint(), &world.standin.uri(), "dapi-wrong");
    assert_eq!(out.status.code(), Some(1), "{json}");
    assert!(elapsed < Duration::from_secs(15), "{elapsed:?}");
    assert_eq!(world.standin.requests().len(), 1, "{:?}", world.standin.requests());
}

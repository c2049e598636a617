//! The golden flow through the command line: a fresh provision against moto
//! and the Databricks stand-in, every document checked from the outside, a
//! converged second run, and a destroy that restores what was there before.

use std::process::{Command, Output};

use policy_model::PolicyDocument;
use serde_json::Value;
use testkit::databricks::DatabricksStandIn;
use testkit::{fixtures, Backend, Emulator, Profiles};

use crate::cli::xacct_bin;

pub const A: &str = "111111111111";
pub const B: &str = "222222222222";
pub const BUCKET: &str = "golden-bucket";

pub struct World {
    pub emulator: Emulator,
    pub profiles: Profiles,
    pub standin: DatabricksStandIn,
    pub dir: tempfile::TempDir,
}

impl World {
    pub async fn start(accounts: &[&str]) -> World {
        let emulator = Emulator::start().unwrap();
        let profiles = emulator.bootstrap(accounts).await.unwrap();
        let standin = DatabricksStandIn::start().await;
        World { emulator, profiles, standin, dir: tempfile::tempdir().unwrap() }
    }

    /// Runs the xacct binary with this world's profiles and Databricks host.
    pub fn xacct(&self, args: &[&str], config: &str) -> (Output, Value) {
        let path = self.dir.path().join("xacct.toml");
        std::fs::write(&path, config).unwrap();
        let out = Command::new(xacct_bin())
            .args(args)
            .args(["--output", "json", "--config"])
            .arg(&path)
            .envs(self.profiles.env())
            .env("DATABRICKS_HOST", self.standin.uri())
            .env("DATABRICKS_TOKEN", self.standin.token())
            .env_remove("DATABRICKS_CONFIG_PROFILE")
            .output()
            .unwrap();
        let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?}: stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out, json)
    }

    pub async fn iam(&self, account: &str) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.profiles.sdk_config(account).await)
    }
}

/// IAM returns policy documents URL-encoded.
pub fn decode(text: &str) -> PolicyDocument {
    PolicyDocument::from_api_text(text).unwrap()
}

pub fn golden_config() -> String {
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
  name = "{BUCKET}"
  mount = true

[databricks]
[databricks.new_cluster]
cluster_name = "golden"
spark_version = "15.4.x-scala2.12"
node_type_id = "i3.xlarge"
num_workers = 1
"#
    )
}

struct Before {
    bucket_policy: String,
    cross_account_policy: String,
    roles_a: Vec<String>,
    roles_b: Vec<String>,
}

async fn snapshot(world: &World) -> Before {
    let s3 = world.profiles.s3(B).await;
    let bucket_policy = s3.get_bucket_policy().bucket(BUCKET).send().await.unwrap().policy.unwrap();
    let iam_a = world.iam(A).await;
    let cross = iam_a
        .get_role_policy()
        .role_name("databricks-cross-account")
        .policy_name(fixtures::CROSS_ACCOUNT_POLICY_NAME)
        .send()
        .await
        .unwrap();
    let names = |out: aws_sdk_iam::operation::list_roles::ListRolesOutput| {
        let mut v: Vec<String> = out.roles().iter().map(|r| r.role_name().to_owned()).collect();
        v.sort();
        v
    };
    Before {
        bucket_policy: PolicyDocument::from_json(&bucket_policy).unwrap().to_json(),
        cross_account_policy: decode(cross.policy_document()).to_json(),
        roles_a: names(iam_a.list_roles().send().await.unwrap()),
        roles_b: names(world.iam(B).await.list_roles().send().await.unwrap()),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn golden_flow() {
    let world = World::start(&[A, B]).await;
    fixtures::existing_bucket(&world.profiles, B, BUCKET).await.unwrap();
    fixtures::existing_cross_account_role(&world.profiles, A, "databricks-cross-account").await.unwrap();
    world.standin.set_ls_handler(world.profiles.ls_handler(B));
    let before = snapshot(&world).await;
    let config = golden_config();

    // A fresh provision.
    let (out, json) = world.xacct(&["provision", "--yes"], &config);
    assert!(out.status.success(), "provision failed: {json}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(json["api_calls"]["aws_writes"].as_u64().unwrap() > 0);

    // Every AWS document, from the outside.
    let iam_a = world.iam(A).await;
    let iam_b = world.iam(B).await;
    let role_a = iam_a.get_role().role_name("MyRoleA").send().await.unwrap().role.unwrap();
    let trust_a = decode(role_a.assume_role_policy_document().unwrap());
    assert_eq!(trust_a.statement.len(), 1);
    assert!(trust_a.to_json().contains(r#""Service":"ec2.amazonaws.com""#), "{}", trust_a.to_json());
    assert!(role_a.tags().iter().any(|t| t.key() == "xacct:managed" && t.value() == "true"));

    let names = iam_a.list_role_policies().role_name("MyRoleA").send().await.unwrap();
    let assume =
        iam_a.get_role_policy().role_name("MyRoleA").policy_name(&names.policy_names()[0]).send().await.unwrap();
    let assume = decode(assume.policy_document()).to_json();
    assert!(assume.contains("sts:AssumeRole") && assume.contains("arn:aws:iam::222222222222:role/MyRoleB"), "{assume}");

    let profile = iam_a.get_instance_profile().instance_profile_name("MyRoleA").send().await.unwrap();
    let profile = profile.instance_profile.unwrap();
    assert_eq!(profile.roles().iter().map(|r| r.role_name()).collect::<Vec<_>>(), ["MyRoleA"]);

    let role_b = iam_b.get_role().role_name("MyRoleB").send().await.unwrap().role.unwrap();
    let trust_b = decode(role_b.assume_role_policy_document().unwrap()).to_json();
    assert!(
        trust_b.contains("arn:aws:iam::111111111111:role/MyRoleA") && trust_b.contains("sts:AssumeRole"),
        "{trust_b}"
    );

    let cross = iam_a
        .get_role_policy()
        .role_name("databricks-cross-account")
        .policy_name(fixtures::CROSS_ACCOUNT_POLICY_NAME)
        .send()
        .await
        .unwrap();
    let cross = decode(cross.policy_document());
    let foreign = PolicyDocument::from_json(&before.cross_account_policy).unwrap();
    assert_eq!(cross.statement[0], foreign.statement[0], "the EC2 statement changed");
    assert!(
        cross.to_json().contains("iam:PassRole") && cross.to_json().contains("arn:aws:iam::111111111111:role/MyRoleA")
    );

    let s3 = world.profiles.s3(B).await;
    let policy = s3.get_bucket_policy().bucket(BUCKET).send().await.unwrap().policy.unwrap();
    let policy = PolicyDocument::from_json(&policy).unwrap();
    let foreign = PolicyDocument::from_json(&before.bucket_policy).unwrap();
    assert_eq!(policy.statement[0], foreign.statement[0], "the foreign bucket statement changed");
    let text = policy.to_json();
    for action in
        ["s3:GetBucketLocation", "s3:ListBucket", "s3:PutObject", "s3:PutObjectAcl", "s3:GetObject", "s3:DeleteObject"]
    {
        assert!(text.contains(action), "{action} missing from {text}");
    }
    assert!(text.contains("arn:aws:iam::222222222222:role/MyRoleB"));

    // The Databricks requests, on the stand-in's record.
    let adds = world.standin.requests_to("/api/2.0/instance-profiles/add");
    assert_eq!(adds.len(), 1);
    assert_eq!(adds[0].body["instance_profile_arn"], "arn:aws:iam::111111111111:instance-profile/MyRoleA");
    let creates = world.standin.requests_to("/api/2.1/clusters/create");
    assert_eq!(creates.len(), 1);
    let spec = &creates[0].body;
    assert_eq!(spec["aws_attributes"]["instance_profile_arn"], "arn:aws:iam::111111111111:instance-profile/MyRoleA");
    assert_eq!(spec["spark_conf"]["spark.hadoop.fs.s3a.credentialsType"], "AssumeRole");
    assert_eq!(spec["spark_conf"]["spark.hadoop.fs.s3a.stsAssumeRole.arn"], "arn:aws:iam::222222222222:role/MyRoleB");
    assert_eq!(spec["spark_conf"]["spark.hadoop.fs.s3a.acl.default"], "BucketOwnerFullControl");
    let mounts = world.standin.mounts();
    assert_eq!(mounts.len(), 1, "{mounts:?}");
    assert_eq!(mounts[0].mount_point, format!("/mnt/{BUCKET}"));

    // A converged second run writes nothing.
    let (out, json) = world.xacct(&["provision", "--yes"], &config);
    assert!(out.status.success(), "{json}");
    assert_eq!(json["api_calls"]["aws_writes"], 0, "{json}");
    assert_eq!(json["api_calls"]["databricks_writes"], 0, "{json}");

    // Destroy restores what was there before, foreign statements included.
    let (out, json) = world.xacct(&["destroy", "--yes"], &config);
    assert!(out.status.success(), "destroy failed: {json}\n{}", String::from_utf8_lossy(&out.stderr));
    let after = snapshot(&world).await;
    assert_eq!(after.bucket_policy, before.bucket_policy);
    assert_eq!(after.cross_account_policy, before.cross_account_policy);
    assert_eq!(after.roles_a, before.roles_a);
    assert_eq!(after.roles_b, before.roles_b);
    assert!(iam_a.get_instance_profile().instance_profile_name("MyRoleA").send().await.is_err());
    assert!(world.standin.instance_profiles().is_empty(), "{:?}", world.standin.instance_profiles());
    assert!(world.standin.mounts().is_empty(), "{:?}", world.standin.mounts());
    let deleted = world.standin.requests_to("/api/2.1/clusters/permanent-delete");
    assert_eq!(deleted.len(), 1, "the cluster xacct created is deleted, and only it");
}

/// Every secret the run could see: the Databricks token and each profile's secret key and session token.
fn secrets(world: &World) -> Vec<String> {
    let credentials = std::fs::read_to_string(world.profiles.credentials_file()).unwrap();
    let mut secrets: Vec<String> = credentials
        .lines()
        .filter_map(|l| l.split_once(" = "))
        .filter(|(k, _)| *k == "aws_secret_access_key" || *k == "aws_session_token")
        .map(|(_, v)| v.to_owned())
        .collect();
    secrets.push(world.standin.token().to_owned());
    secrets
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_never_reach_output_even_at_trace() {
    let world = World::start(&[A, B]).await;
    fixtures::existing_bucket(&world.profiles, B, BUCKET).await.unwrap();
    fixtures::existing_cross_account_role(&world.profiles, A, "databricks-cross-account").await.unwrap();
    let config = golden_config();
    let path = world.dir.path().join("xacct.toml");
    std::fs::write(&path, &config).unwrap();
    let secrets = secrets(&world);
    // A secret key per account, a session token per account with moto (whose profiles hold
    // assumed-role sessions; LocalStack's hold static keys), and the Databricks token.
    let per_account = if world.emulator.backend() == Backend::Moto { 2 } else { 1 };
    assert_eq!(secrets.len(), 2 * per_account + 1, "{secrets:?}");
    for args in [&["plan"][..], &["provision", "--yes"], &["verify"], &["destroy", "--yes"]] {
        let out = Command::new(xacct_bin())
            .args(args)
            .arg("--config")
            .arg(&path)
            .envs(world.profiles.env())
            .env("DATABRICKS_HOST", world.standin.uri())
            .env("DATABRICKS_TOKEN", world.standin.token())
            .env("RUST_LOG", "trace")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.len() > 1000, "{args:?}: RUST_LOG=trace logged almost nothing:\n{stderr}");
        for secret in &secrets {
            assert!(!stdout.contains(secret.as_str()), "{args:?}: a secret reached stdout");
            assert!(!stderr.contains(secret.as_str()), "{args:?}: a secret reached stderr");
        }
    }
}

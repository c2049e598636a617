//! verify against the emulator and the Databricks stand-in: the healthy deployment passes every
//! link, each corpus case (the same cases verify's unit tests run offline) fails the link it
//! names, and the canary is cleaned up after a failed step.
//!
//! The healthy state is created with direct SDK calls from `policy_model::build`, then each case
//! breaks it with one more direct call. moto lets any credentials assume any role, so the probe
//! chain runs here; it does not enforce bucket policies or cross-account trust, so the probes
//! pass where the evaluation fails, and the report says so in its warnings.

#![expect(clippy::unwrap_used, reason = "the helpers set up a test: any failure must fail it")]

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_s3::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, SharedInterceptor};
use policy_model::build::{self, ASSUME_POLICY_NAME, PASS_ROLE_POLICY_NAME};
use policy_model::{merge, AccountId, Flow, PolicyDocument};
use testkit::databricks::DatabricksStandIn;
use testkit::{Emulator, Profiles};
use verify::corpus::{self, Change};
use verify::{probe_ids, LiveInputs, Report, Status};

/// The Databricks account that launches clusters, trusted by the cross-account role.
const DATABRICKS_ACCOUNT: &str = "414351767826";

fn s3(config: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(true).build())
}

/// A healthy deployment of the corpus flow in accounts `a` and `b`, and the clients to break it.
struct Deployed {
    flow: Flow,
    a: SdkConfig,
    b: SdkConfig,
    databricks: DatabricksStandIn,
    client: databricks_client::Client,
    cluster_id: String,
}

impl Deployed {
    async fn new(profiles: &Profiles, a: &str, b: &str, bucket: &str) -> Deployed {
        let (config_a, config_b) = (profiles.sdk_config(a).await, profiles.sdk_config(b).await);
        let (iam_a, iam_b) = (aws_sdk_iam::Client::new(&config_a), aws_sdk_iam::Client::new(&config_b));
        let kms_b = aws_sdk_kms::Client::new(&config_b);
        let key = kms_b.create_key().send().await.unwrap().key_metadata.unwrap().arn.unwrap();
        let flow = corpus::flow_in(a, b, bucket, &key);
        let deployment = flow.deployment().unwrap();
        let owner = &flow.owners()[0];

        // Account A: the instance role and profile, and the cross-account role's PassRole.
        let name_a = deployment.instance_role.as_str();
        iam_a
            .create_role()
            .role_name(name_a)
            .assume_role_policy_document(build::instance_role_trust().to_json())
            .send()
            .await
            .unwrap();
        iam_a
            .put_role_policy()
            .role_name(name_a)
            .policy_name(ASSUME_POLICY_NAME)
            .policy_document(build::assume_role_policy(&flow).to_json())
            .send()
            .await
            .unwrap();
        iam_a.create_instance_profile().instance_profile_name(name_a).send().await.unwrap();
        iam_a.add_role_to_instance_profile().instance_profile_name(name_a).role_name(name_a).send().await.unwrap();
        let x_trust = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{DATABRICKS_ACCOUNT}:root"}},"Action":"sts:AssumeRole"}}]}}"#
        );
        iam_a
            .create_role()
            .role_name(corpus::CROSS_ACCOUNT_ROLE)
            .assume_role_policy_document(x_trust)
            .send()
            .await
            .unwrap();
        iam_a
            .put_role_policy()
            .role_name(corpus::CROSS_ACCOUNT_ROLE)
            .policy_name(PASS_ROLE_POLICY_NAME)
            .policy_document(PolicyDocument::new(vec![build::pass_role_statement(&flow)]).to_json())
            .send()
            .await
            .unwrap();

        // Account B: the role, the bucket and its policy, the key policy.
        iam_b
            .create_role()
            .role_name(owner.role.as_str())
            .assume_role_policy_document(build::owner_trust_policy(&flow).to_json())
            .send()
            .await
            .unwrap();
        let bucket = &owner.buckets[0];
        let s3_b = s3(&config_b);
        s3_b.create_bucket().bucket(bucket.name.as_str()).send().await.unwrap();
        let policy = merge::merge(None, &build::bucket_statements(owner, bucket), merge::BUCKET_POLICY_LIMIT).unwrap();
        s3_b.put_bucket_policy().bucket(bucket.name.as_str()).policy(policy.to_json()).send().await.unwrap();
        let default = kms_b.get_key_policy().key_id(&key).policy_name("default").send().await.unwrap();
        let default = PolicyDocument::from_json(default.policy().unwrap()).unwrap();
        let stmt = build::kms_key_user_statement(owner, &key, bucket.access);
        let policy = merge::merge(Some(&default), &[stmt], merge::KEY_POLICY_LIMIT).unwrap();
        kms_b.put_key_policy().key_id(&key).policy_name("default").policy(policy.to_json()).send().await.unwrap();

        // Databricks: the profile registered, a running cluster with the profile and the S3A keys.
        let databricks = DatabricksStandIn::start().await;
        databricks.register_instance_profile(&deployment.instance_profile_arn());
        let spec = serde_json::json!({
            "cluster_name": "xacct",
            "spark_version": "15.4.x-scala2.12",
            "node_type_id": "i3.xlarge",
            "num_workers": 1,
            "aws_attributes": {"instance_profile_arn": deployment.instance_profile_arn()},
            "spark_conf": verify::expected_spark_conf(&flow),
        });
        let cluster_id = databricks.insert_cluster(spec, "RUNNING");
        let credentials = databricks_client::Credentials::pat(&databricks.uri(), databricks.token()).unwrap();
        let options = databricks_client::ClientOptions {
            poll_interval: std::time::Duration::from_millis(10),
            ..databricks_client::ClientOptions::default()
        };
        let client = databricks_client::Client::with_options(credentials, options).unwrap();
        Deployed { flow, a: config_a, b: config_b, databricks, client, cluster_id }
    }

    fn inputs(&self) -> LiveInputs {
        let account = |config: &SdkConfig, id: &AccountId| (id.clone(), config.clone());
        LiveInputs {
            aws: Some(aws_apply::Accounts::from_sdk_configs(BTreeMap::from([
                account(&self.a, &self.flow.deployment().unwrap().account_id),
                account(&self.b, &self.flow.owners()[0].account_id),
            ]))),
            databricks: Some(self.client.clone()),
            cluster_id: Some(self.cluster_id.clone()),
            on_cluster: true,
            scps: full_access(),
            probe_interceptors: Vec::new(),
            propagation: None,
        }
    }

    /// Applies a corpus change with a direct call to the emulator or the stand-in.
    async fn apply(&self, change: &Change, inputs: &mut LiveInputs) {
        let iam = |role_arn: &str| {
            let config =
                if role_arn.contains(self.flow.deployment().unwrap().account_id.as_str()) { &self.a } else { &self.b };
            aws_sdk_iam::Client::new(config)
        };
        let role_name = |arn: &str| arn.rsplit('/').next().unwrap().to_owned();
        match change {
            Change::TrustPolicy { role_arn, document } => {
                iam(role_arn)
                    .update_assume_role_policy()
                    .role_name(role_name(role_arn))
                    .policy_document(document.to_json())
                    .send()
                    .await
                    .unwrap();
            }
            Change::DeleteInlinePolicy { role_arn, name } => {
                iam(role_arn)
                    .delete_role_policy()
                    .role_name(role_name(role_arn))
                    .policy_name(name)
                    .send()
                    .await
                    .unwrap();
            }
            Change::BucketPolicy { bucket, document } => {
                s3(&self.b).put_bucket_policy().bucket(bucket).policy(document.to_json()).send().await.unwrap();
            }
            Change::KeyPolicy { key_arn, document } => {
                aws_sdk_kms::Client::new(&self.b)
                    .put_key_policy()
                    .key_id(key_arn)
                    .policy_name("default")
                    .policy(document.to_json())
                    .send()
                    .await
                    .unwrap();
            }
            Change::RemoveRoleFromInstanceProfile { profile_arn, role_arn } => {
                iam(role_arn)
                    .remove_role_from_instance_profile()
                    .instance_profile_name(role_name(profile_arn))
                    .role_name(role_name(role_arn))
                    .send()
                    .await
                    .unwrap();
            }
            Change::Scps(levels) => inputs.scps = levels.clone(),
            Change::UnregisterInstanceProfile { profile_arn } => {
                self.client.remove_instance_profile(profile_arn).await.unwrap();
            }
            Change::RemoveSparkConf { key } => {
                let mut spec = self.client.get_cluster(&self.cluster_id).await.unwrap().editable_spec();
                spec.get_mut("spark_conf").and_then(|c| c.as_object_mut()).unwrap().remove(key);
                self.client.edit_cluster(&self.cluster_id, &spec).await.unwrap();
            }
        }
    }
}

fn full_access() -> Vec<Vec<PolicyDocument>> {
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Sid":"FullAWSAccess","Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    vec![vec![PolicyDocument::from_json(doc).unwrap()]]
}

/// The canary objects left in a bucket.
async fn canaries(config: &SdkConfig, bucket: &str) -> Vec<String> {
    let out = s3(config).list_objects_v2().bucket(bucket).prefix(verify::PROBE_PREFIX).send().await.unwrap();
    out.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect()
}

fn statuses(report: &Report) -> String {
    report.links.iter().map(|l| format!("{} {}", l.status, l.id)).collect::<Vec<_>>().join("\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn healthy_deployment_passes_every_link() {
    let emulator = Emulator::start().unwrap();
    let (a, b) = ("100000000001", "200000000001");
    let profiles = emulator.bootstrap(&[a, b]).await.unwrap();
    let deployed = Deployed::new(&profiles, a, b, "xacct-verify-healthy").await;
    let report = verify::live(&deployed.inputs(), &deployed.flow).await;
    assert!(report.ok, "{report}");
    assert!(report.links.iter().all(|l| l.status == Status::Pass), "{report}");
    assert!(report.warnings.is_empty(), "{report}");
    // Every chain link and every probe is there.
    let ids: Vec<&str> = report.links.iter().map(|l| l.id.as_str()).collect();
    for id in [
        "passrole",
        "instance-profile",
        "assume-a-to-b:200000000001",
        "trust-b:200000000001",
        "bucket:xacct-verify-healthy",
        "kms:xacct-verify-healthy",
        "scp",
        "databricks",
        "probe:assume-a",
        "probe:assume-b:200000000001",
        "probe:canary:xacct-verify-healthy",
        "probe:ownership:xacct-verify-healthy",
        "probe:on-cluster:xacct-verify-healthy",
    ] {
        assert!(ids.contains(&id), "{id} missing:\n{report}");
    }
    // The probe says what it used, and the canary is gone.
    let assume_a = report.link(probe_ids::ASSUME_A).unwrap();
    assert!(assume_a.evidence[0].contains(&format!("against the endpoint {}", emulator.endpoint())), "{report}");
    assert!(canaries(&deployed.b, "xacct-verify-healthy").await.is_empty());
    // The cluster ran the ls.
    assert!(deployed
        .databricks
        .executed_commands()
        .iter()
        .any(|c| c.contains("dbutils.fs.ls(\"s3a://xacct-verify-healthy/\")")));
    // The JSON form.
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["links"][0]["status"], "pass");
}

/// The corpus, live: each case is deployed healthy in its own accounts, broken with one direct
/// call, and verified. The named link fails, with the named words in its fix.
#[tokio::test(flavor = "multi_thread")]
async fn corpus_live() {
    let emulator = Emulator::start().unwrap();
    let count = corpus::cases(&corpus::flow("arn:aws:kms:us-east-1:222222222222:key/k")).len();
    let accounts: Vec<(String, String)> =
        (0..count).map(|i| (format!("1000000001{i:02}"), format!("2000000001{i:02}"))).collect();
    let all: Vec<&str> = accounts.iter().flat_map(|(a, b)| [a.as_str(), b.as_str()]).collect();
    let profiles = emulator.bootstrap(&all).await.unwrap();
    for (i, (a, b)) in accounts.iter().enumerate() {
        let bucket = format!("xacct-verify-case-{i:02}");
        let deployed = Deployed::new(&profiles, a, b, &bucket).await;
        let case = corpus::cases(&deployed.flow).swap_remove(i);
        let mut inputs = deployed.inputs();
        deployed.apply(&case.change, &mut inputs).await;
        let report = verify::live(&inputs, &deployed.flow).await;

        let chain_failures: Vec<&str> = report.failures().filter(|l| !l.is_probe()).map(|l| l.id.as_str()).collect();
        assert_eq!(chain_failures, [case.link.as_str()], "{}:\n{report}", case.name);
        assert!(!report.ok, "{}", case.name);
        let fix = report.link(&case.link).unwrap().fix.clone().unwrap_or_default();
        for word in &case.fix_words {
            assert!(fix.contains(word.as_str()), "{}: fix lacks `{word}`:\n{fix}", case.name);
        }
        assert!(canaries(&deployed.b, &bucket).await.is_empty(), "{}: a canary remains", case.name);
        eprintln!("{}: {}\n{}\n", case.name, statuses(&report), report.warnings.join("\n"));
    }
}

/// Fails every operation whose input is of type `T`.
#[derive(Debug)]
struct FailInput<T>(std::marker::PhantomData<fn() -> T>);

impl<T: std::fmt::Debug + Send + Sync + 'static> Intercept for FailInput<T> {
    fn name(&self) -> &'static str {
        "FailInput"
    }
    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        match context.input().downcast_ref::<T>() {
            Some(_) => Err("injected failure".into()),
            None => Ok(()),
        }
    }
}

fn fail_on<T: std::fmt::Debug + Send + Sync + 'static>() -> SharedInterceptor {
    SharedInterceptor::new(FailInput::<T>(std::marker::PhantomData))
}

#[tokio::test(flavor = "multi_thread")]
async fn canary_is_cleaned_up_after_a_failed_step() {
    let emulator = Emulator::start().unwrap();
    let (a, b) = ("100000000002", "200000000002");
    let profiles = emulator.bootstrap(&[a, b]).await.unwrap();
    let deployed = Deployed::new(&profiles, a, b, "xacct-verify-canary").await;
    let mut inputs = deployed.inputs();
    inputs.probe_interceptors = vec![fail_on::<aws_sdk_s3::operation::get_object::GetObjectInput>()];
    let report = verify::live(&inputs, &deployed.flow).await;

    let canary = report.link(&probe_ids::canary("xacct-verify-canary")).unwrap();
    assert_eq!(canary.status, Status::Fail, "{report}");
    assert!(canary.evidence.iter().any(|e| e.starts_with("put: ")), "{report}");
    assert!(canary.evidence.iter().any(|e| e.starts_with("get (s3:GetObject) failed")), "{report}");
    assert!(
        canary.evidence.iter().any(|e| e.starts_with("cleaned up s3://xacct-verify-canary/_xacct/verify-")),
        "{report}"
    );
    assert!(canaries(&deployed.b, "xacct-verify-canary").await.is_empty());
    // The evaluation allows the read, the probe failed: the report says so.
    assert!(report.warnings.iter().any(|w| w.starts_with("disagreement:") && w.contains("s3:GetObject")), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn probes_are_skipped_when_my_role_a_cannot_be_assumed() {
    let emulator = Emulator::start().unwrap();
    let (a, b) = ("100000000003", "200000000003");
    let profiles = emulator.bootstrap(&[a, b]).await.unwrap();
    let deployed = Deployed::new(&profiles, a, b, "xacct-verify-laptop").await;
    let mut inputs = deployed.inputs();
    // From a laptop, AssumeRole on MyRoleA is refused: MyRoleA trusts EC2 only.
    inputs.probe_interceptors = vec![fail_on::<aws_sdk_sts::operation::assume_role::AssumeRoleInput>()];
    inputs.on_cluster = false;
    let report = verify::live(&inputs, &deployed.flow).await;

    assert!(report.ok, "{report}");
    let assume_a = report.link(probe_ids::ASSUME_A).unwrap();
    assert_eq!(assume_a.status, Status::Skipped);
    assert!(assume_a.fix.as_deref().unwrap().contains("--on-cluster"), "{report}");
    assert!(assume_a.evidence[0].contains("never loosens a trust policy"), "{report}");
    for id in [probe_ids::assume_b(b), probe_ids::canary("xacct-verify-laptop")] {
        assert_eq!(report.link(&id).unwrap().status, Status::Skipped, "{id}:\n{report}");
    }
    // The trust policy is as deployed.
    let role = aws_sdk_iam::Client::new(&deployed.a).get_role().role_name("MyRoleA").send().await.unwrap();
    let trust = verify_trust(role.role().unwrap().assume_role_policy_document().unwrap());
    assert_eq!(trust, build::instance_role_trust());
    assert!(canaries(&deployed.b, "xacct-verify-laptop").await.is_empty());
}

/// IAM's trust policy text, URL-decoded when needed.
fn verify_trust(text: &str) -> PolicyDocument {
    let mut bytes = Vec::new();
    let mut rest = text.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        match (first, tail.get(..2).and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok())) {
            (b'%', Some(byte)) => {
                bytes.push(byte);
                rest = &tail[2..];
            }
            _ => {
                bytes.push(first);
                rest = tail;
            }
        }
    }
    PolicyDocument::from_json(&String::from_utf8(bytes).unwrap()).unwrap()
}

//! aws-apply against moto: a fresh apply checked from the outside, a converged
//! re-run, drift, foreign statements, destroy, a second client walking the
//! AssumeRole chain, and a crash at every write.

#![expect(clippy::unwrap_used, reason = "the helpers set up a test: any failure must fail it")]

use std::collections::BTreeMap;

use aws_apply::intercept::{FailAt, FailNthWrite, ReplaceAnswer};
use aws_apply::{Accounts, ApplyOptions, Observed};
use policy_model::build::{self, ASSUME_POLICY_NAME, PASS_ROLE_POLICY_NAME};
use policy_model::{Access, AccountId, Bucket, BucketName, Deployment, Flow, Owner, PolicyDocument, RoleName};
use testkit::{Emulator, Profiles};

const A: &str = "111111111111";
const B: &str = "222222222222";
const CROSS: &str = "databricks-cross-account";

const FOREIGN_PASS_ROLE: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"LaunchClusters","Effect":"Allow","Action":["ec2:RunInstances","ec2:TerminateInstances"],"Resource":"*"}]}"#;
const FOREIGN_BUCKET: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"AuditorRead","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::<bucket>/audit/*"}]}"#;

/// One pair of accounts set up the way a user's accounts would already be:
/// the bucket (with a foreign policy statement) and a KMS key in B, the
/// cross-account role (with a foreign inline PassRole-policy statement) in A.
struct World {
    flow: Flow,
    profiles: Profiles,
    key_arn: String,
    /// Bucket names are global in moto too: each world has its own.
    bucket: String,
    a: String,
    b: String,
}

impl World {
    async fn new(emulator: &Emulator, a: &str, b: &str) -> World {
        let profiles = emulator.bootstrap(&[a, b]).await.unwrap();
        let iam_a = aws_sdk_iam::Client::new(&profiles.sdk_config(a).await);
        let s3_b = s3(&profiles.sdk_config(b).await);
        let kms_b = aws_sdk_kms::Client::new(&profiles.sdk_config(b).await);
        let bucket = format!("xacct-e2e-{b}");

        let ec2_trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::414351767826:root"},"Action":"sts:AssumeRole"}]}"#;
        iam_a.create_role().role_name(CROSS).assume_role_policy_document(ec2_trust).send().await.unwrap();
        let pass_role = FOREIGN_PASS_ROLE.to_owned();
        iam_a
            .put_role_policy()
            .role_name(CROSS)
            .policy_name(PASS_ROLE_POLICY_NAME)
            .policy_document(pass_role)
            .send()
            .await
            .unwrap();
        s3_b.create_bucket().bucket(&bucket).send().await.unwrap();
        let foreign = foreign_bucket(b, &bucket).to_json();
        s3_b.put_bucket_policy().bucket(&bucket).policy(foreign).send().await.unwrap();
        let key = kms_b.create_key().description("xacct e2e").send().await.unwrap();
        let key_arn = key.key_metadata().unwrap().arn().unwrap().to_owned();

        let flow = Flow::new(
            "us-east-1",
            Deployment {
                account_id: AccountId::new(a).unwrap(),
                instance_role: RoleName::new("MyRoleA").unwrap(),
                cross_account_role: Some(RoleName::new(CROSS).unwrap()),
            },
            vec![Owner {
                account_id: AccountId::new(b).unwrap(),
                role: RoleName::new("MyRoleB").unwrap(),
                buckets: vec![Bucket {
                    name: BucketName::new(&bucket).unwrap(),
                    access: Access::ReadWrite,
                    kms_key_arn: Some(policy_model::KmsKeyArn::new(&key_arn).unwrap()),
                    mount: true,
                }],
            }],
        )
        .unwrap();
        World { flow, profiles, key_arn, bucket, a: a.to_owned(), b: b.to_owned() }
    }

    async fn accounts(&self) -> Accounts {
        let mut configs = BTreeMap::new();
        for id in [&self.a, &self.b] {
            configs.insert(AccountId::new(id).unwrap(), self.profiles.sdk_config(id).await);
        }
        Accounts::from_sdk_configs(configs)
    }

    async fn iam(&self, account: &str) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.profiles.sdk_config(account).await)
    }

    async fn s3(&self) -> aws_sdk_s3::Client {
        s3(&self.profiles.sdk_config(&self.b).await)
    }

    async fn kms(&self) -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::new(&self.profiles.sdk_config(&self.b).await)
    }

    /// Observe, plan and apply; returns the apply's (reads, writes), the observe's reads included.
    async fn converge(&self, accounts: &Accounts) -> (u64, u64) {
        let before = accounts.api_calls();
        let observed = aws_apply::observe(accounts, &self.flow).await.unwrap();
        let plan = aws_apply::plan(&self.flow, &observed).unwrap();
        aws_apply::apply(accounts, &plan, &ApplyOptions::default()).await.unwrap();
        let calls = accounts.api_calls().since(&before);
        (calls.reads(), calls.writes())
    }

    async fn destroy(&self, accounts: &Accounts) {
        let observed = aws_apply::observe(accounts, &self.flow).await.unwrap();
        let plan = aws_apply::plan_destroy(&self.flow, &observed);
        aws_apply::apply(accounts, &plan, &ApplyOptions::default()).await.unwrap();
    }

    /// The observed state with this world's account IDs and key ID replaced by
    /// placeholders, so that states of different worlds compare.
    async fn normalized_state(&self, accounts: &Accounts) -> String {
        let observed: Observed = aws_apply::observe(accounts, &self.flow).await.unwrap();
        let key_id = self.key_arn.rsplit('/').next().unwrap();
        serde_json::to_string_pretty(&observed)
            .unwrap()
            .replace(&self.a, "<A>")
            .replace(&self.b, "<B>")
            .replace(key_id, "<key>")
    }
}

fn s3(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(true).build())
}

fn foreign_bucket(b: &str, bucket: &str) -> PolicyDocument {
    doc(&FOREIGN_BUCKET.replace("222222222222", b).replace("<bucket>", bucket))
}

fn doc(text: &str) -> PolicyDocument {
    PolicyDocument::from_api_text(text).unwrap()
}

fn without_sids(mut d: PolicyDocument) -> PolicyDocument {
    d.statement.iter_mut().for_each(|s| s.sid = None);
    d
}

/// The statements of `doc` whose Sid is one of `sids`, in order.
fn sids(d: &PolicyDocument) -> Vec<String> {
    d.statement.iter().map(|s| s.sid.clone().unwrap_or_default()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn fresh_apply_then_converged_then_drift_then_destroy() {
    let emulator = Emulator::start().unwrap();
    let world = World::new(&emulator, A, B).await;
    // The CLI's path: profiles by name, endpoint from AWS_ENDPOINT_URL.
    world.profiles.export();
    let profiles = BTreeMap::from([
        (AccountId::new(A).unwrap(), Some(Profiles::profile_name(A))),
        (AccountId::new(B).unwrap(), Some(Profiles::profile_name(B))),
    ]);
    let accounts = Accounts::load(&world.flow, &profiles).await.unwrap();
    accounts.check_identities().await.unwrap();
    let flow = &world.flow;

    let (reads, writes) = world.converge(&accounts).await;
    eprintln!("fresh apply: {reads} reads, {writes} writes");
    assert_eq!(writes, 8, "CreateRole x2, PutRolePolicy x2, CreateInstanceProfile, AddRoleToInstanceProfile, PutBucketPolicy, PutKeyPolicy");

    // From the outside: every document means what the runbook says, and the foreign parts are still there.
    let (iam_a, iam_b) = (world.iam(A).await, world.iam(B).await);
    let role_a = iam_a.get_role().role_name("MyRoleA").send().await.unwrap().role.unwrap();
    assert_eq!(doc(role_a.assume_role_policy_document().unwrap()), build::instance_role_trust());
    assert!(role_a.tags().iter().any(|t| t.key() == "xacct:managed" && t.value() == "true"));
    let assume = iam_a.get_role_policy().role_name("MyRoleA").policy_name(ASSUME_POLICY_NAME).send().await.unwrap();
    assert_eq!(doc(assume.policy_document()), build::assume_role_policy(flow));
    let profile = iam_a.get_instance_profile().instance_profile_name("MyRoleA").send().await.unwrap();
    let profile = profile.instance_profile.unwrap();
    assert_eq!(profile.roles().iter().map(|r| r.role_name()).collect::<Vec<_>>(), ["MyRoleA"]);
    assert!(profile.tags().iter().any(|t| t.key() == "xacct:managed"));
    let pass = iam_a.get_role_policy().role_name(CROSS).policy_name(PASS_ROLE_POLICY_NAME).send().await.unwrap();
    let pass = doc(pass.policy_document());
    assert_eq!(pass.statement[0], doc(FOREIGN_PASS_ROLE).statement[0]);
    assert_eq!(pass.statement[1], build::pass_role_statement(flow));
    let role_b = iam_b.get_role().role_name("MyRoleB").send().await.unwrap().role.unwrap();
    assert_eq!(doc(role_b.assume_role_policy_document().unwrap()), build::owner_trust_policy(flow));
    let bucket = world.s3().await.get_bucket_policy().bucket(&world.bucket).send().await.unwrap();
    let bucket = doc(bucket.policy().unwrap());
    let (owner, b) = flow.buckets().next().unwrap();
    let mut expected = foreign_bucket(B, &world.bucket).statement;
    expected.extend(build::bucket_statements(owner, b));
    assert_eq!(bucket.statement, expected);
    let key = world.kms().await.get_key_policy().key_id(&world.key_arn).policy_name("default").send().await.unwrap();
    let key = doc(key.policy().unwrap());
    assert_eq!(key.statement.last().unwrap(), &build::kms_key_user_statement(owner, &world.key_arn, Access::ReadWrite));
    assert_eq!(key.statement.len(), 2, "{}", key.to_json_pretty());
    // And ours say what the runbook says, Sids aside.
    let runbook_trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111111111111:role/MyRoleA"]},"Action":"sts:AssumeRole"}]}"#;
    assert_eq!(without_sids(doc(role_b.assume_role_policy_document().unwrap())), doc(runbook_trust));

    // A converged re-run writes nothing and reads one document per resource.
    let (reads, writes) = world.converge(&accounts).await;
    eprintln!("converged re-run: {reads} reads, {writes} writes");
    assert_eq!(writes, 0);
    // MyRoleA 4 (GetRole, ListRolePolicies, its inline policy, ListAttachedRolePolicies), the profile 1,
    // the cross-account role 4, MyRoleB 3, the bucket 2 (policy, ownership), the key 1.
    assert_eq!(reads, 15, "{reads} reads");
    let converged = world.normalized_state(&accounts).await;

    // Drift: someone narrows our bucket statement and rewrites B's trust policy.
    let mut drifted = bucket.clone();
    drifted.statement[2].action = Some(policy_model::OneOrMany::One("s3:GetObject".to_owned()));
    world.s3().await.put_bucket_policy().bucket(&world.bucket).policy(drifted.to_json()).send().await.unwrap();
    let other_trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"}]}"#;
    iam_b.update_assume_role_policy().role_name("MyRoleB").policy_document(other_trust).send().await.unwrap();
    let (_, writes) = world.converge(&accounts).await;
    assert_eq!(writes, 2, "one bucket policy and one trust policy");
    assert_eq!(world.normalized_state(&accounts).await, converged);

    // Destroy leaves exactly the foreign parts.
    world.destroy(&accounts).await;
    assert!(iam_a.get_role().role_name("MyRoleA").send().await.is_err());
    assert!(iam_a.get_instance_profile().instance_profile_name("MyRoleA").send().await.is_err());
    assert!(iam_b.get_role().role_name("MyRoleB").send().await.is_err());
    iam_a.get_role().role_name(CROSS).send().await.unwrap();
    let pass = iam_a.get_role_policy().role_name(CROSS).policy_name(PASS_ROLE_POLICY_NAME).send().await.unwrap();
    assert_eq!(doc(pass.policy_document()), doc(FOREIGN_PASS_ROLE));
    let bucket = world.s3().await.get_bucket_policy().bucket(&world.bucket).send().await.unwrap();
    assert_eq!(doc(bucket.policy().unwrap()), foreign_bucket(B, &world.bucket));
    let key = world.kms().await.get_key_policy().key_id(&world.key_arn).policy_name("default").send().await.unwrap();
    assert_eq!(sids(&doc(key.policy().unwrap())), ["Enable IAM User Permissions"]);
    // A second destroy finds nothing to do.
    let observed = aws_apply::observe(&accounts, flow).await.unwrap();
    assert!(aws_apply::plan_destroy(flow, &observed).is_converged());
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_deletes_a_bucket_policy_with_nothing_foreign_and_the_pass_role_policy() {
    let emulator = Emulator::start().unwrap();
    let world = World::new(&emulator, A, B).await;
    let s3 = world.s3().await;
    s3.delete_bucket_policy().bucket(&world.bucket).send().await.unwrap();
    let iam_a = world.iam(A).await;
    iam_a.delete_role_policy().role_name(CROSS).policy_name(PASS_ROLE_POLICY_NAME).send().await.unwrap();
    let accounts = world.accounts().await;
    world.converge(&accounts).await;
    world.destroy(&accounts).await;
    let err = s3.get_bucket_policy().bucket(&world.bucket).send().await.unwrap_err();
    assert_eq!(aws_sdk_s3::error::ProvideErrorMetadata::code(&err), Some("NoSuchBucketPolicy"));
    let err = iam_a.get_role_policy().role_name(CROSS).policy_name(PASS_ROLE_POLICY_NAME).send().await.unwrap_err();
    assert!(err.into_service_error().is_no_such_entity_exception());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_client_walks_the_chain_and_writes_as_bucket_owner() {
    let emulator = Emulator::start().unwrap();
    let world = World::new(&emulator, A, B).await;
    let accounts = world.accounts().await;
    world.converge(&accounts).await;

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let script = root.join("tests/scripts/assume_chain.py");
    let out = std::process::Command::new(root.join(".venv/bin/python"))
        .arg(script)
        .args([
            &Profiles::profile_name(A),
            &world.flow.deployment().unwrap().instance_role_arn(),
            &world.flow.owners()[0].role_arn(),
            &world.bucket,
            "chain/probe.txt",
        ])
        .envs(world.profiles.env())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {}", String::from_utf8_lossy(&out.stderr));
    let seen: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(seen["role_a_session"], format!("arn:aws:sts::{A}:assumed-role/MyRoleA/xacct-instance"));
    assert_eq!(seen["role_b_session"], format!("arn:aws:sts::{B}:assumed-role/MyRoleB/xacct-s3a"));
    let object = world.s3().await.get_object().bucket(&world.bucket).key("chain/probe.txt").send().await.unwrap();
    let body = object.body.collect().await.unwrap().into_bytes();
    assert_eq!(&body[..], b"written through the AssumeRole chain");
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_principal_is_retried_and_access_denied_is_not() {
    let emulator = Emulator::start().unwrap();
    let world = World::new(&emulator, A, B).await;
    let invalid = r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>MalformedPolicy</Code><Message>Invalid principal in policy</Message><RequestId>1</RequestId></Error>"#;
    let lag = ReplaceAnswer::new("PutBucketPolicy", 2, 400, invalid);
    let accounts = world.accounts().await.with_interceptor(lag.clone());
    let observed = aws_apply::observe(&accounts, &world.flow).await.unwrap();
    let plan = aws_apply::plan(&world.flow, &observed).unwrap();
    let report = aws_apply::apply(&accounts, &plan, &ApplyOptions::default()).await.unwrap();
    assert_eq!(lag.replaced(), 2);
    let s3_writes = report.api_calls.by_account[&AccountId::new(B).unwrap()][&aws_apply::Service::S3].writes;
    assert_eq!(s3_writes, 3, "two refused attempts and one that went through");

    let denied = r#"<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:sts::111111111111:assumed-role/deployer/s is not authorized to perform: iam:UpdateAssumeRolePolicy</Message></Error><RequestId>1</RequestId></ErrorResponse>"#;
    let world = World::new(&emulator, "333333333333", "444444444444").await;
    let mut accounts = world.accounts().await;
    world.converge(&accounts).await;
    let iam_a = world.iam("333333333333").await;
    let drift = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    iam_a.update_assume_role_policy().role_name("MyRoleA").policy_document(drift).send().await.unwrap();
    accounts = accounts.with_interceptor(ReplaceAnswer::new("UpdateAssumeRolePolicy", 10, 403, denied));
    let observed = aws_apply::observe(&accounts, &world.flow).await.unwrap();
    let plan = aws_apply::plan(&world.flow, &observed).unwrap();
    let err = aws_apply::apply(&accounts, &plan, &ApplyOptions::default()).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("access denied in account `333333333333` calling iam:UpdateAssumeRolePolicy"), "{text}");
    assert!(text.contains("Hint:"), "{text}");
    assert_eq!(err.report.api_calls.writes(), 1, "no retry after AccessDenied");
}

/// A crash at the k-th write, for every k, before the write is sent and after
/// it took effect; a plain re-run must then reach the same state as a run that
/// never failed.
#[tokio::test(flavor = "multi_thread")]
async fn a_crash_at_any_write_converges_on_re_run() {
    let emulator = Emulator::start().unwrap();
    let reference = World::new(&emulator, "500000000000", "500000000001").await;
    let counter = FailNthWrite::new(0, FailAt::BeforeSend);
    let accounts = reference.accounts().await.with_interceptor(counter.clone());
    reference.converge(&accounts).await;
    let n = counter.writes_seen();
    assert_eq!(n, 8);
    let expected = reference.normalized_state(&accounts).await;

    let sequential = ApplyOptions { concurrency: 1, on_progress: None };
    let mut id = 500_000_000_002u64;
    for at in [FailAt::BeforeSend, FailAt::AfterSend] {
        for k in 1..=n {
            let (a, b) = (format!("{id:012}"), format!("{:012}", id + 1));
            id += 2;
            let world = World::new(&emulator, &a, &b).await;
            let crashing = world.accounts().await.with_interceptor(FailNthWrite::new(k, at));
            let observed = aws_apply::observe(&crashing, &world.flow).await.unwrap();
            let plan = aws_apply::plan(&world.flow, &observed).unwrap();
            let err = aws_apply::apply(&crashing, &plan, &sequential).await.unwrap_err();
            assert!(err.to_string().contains("injected failure"), "k={k} {at:?}: {err}");

            let accounts = world.accounts().await;
            world.converge(&accounts).await;
            assert_eq!(world.normalized_state(&accounts).await, expected, "k={k} {at:?}");
            let (_, writes) = world.converge(&accounts).await;
            assert_eq!(writes, 0, "k={k} {at:?}");
        }
    }
}

/// A key in another region than the flow's is read and written in its own region.
#[tokio::test(flavor = "multi_thread")]
async fn a_key_in_another_region_is_used_in_its_region() {
    let emulator = Emulator::start().unwrap();
    let mut world = World::new(&emulator, "600000000000", "600000000001").await;
    let west =
        world.profiles.sdk_config(&world.b).await.to_builder().region(aws_config::Region::new("us-west-2")).build();
    let kms_west = aws_sdk_kms::Client::new(&west);
    let key = kms_west.create_key().description("xacct e2e west").send().await.unwrap();
    let key_arn = key.key_metadata().unwrap().arn().unwrap().to_owned();
    assert!(key_arn.starts_with("arn:aws:kms:us-west-2:"), "{key_arn}");
    let (region, deployment, mut owners) = world.flow.clone().into_parts().unwrap();
    owners[0].buckets[0].kms_key_arn = Some(policy_model::KmsKeyArn::new(&key_arn).unwrap());
    world.flow = policy_model::Flow::new(region, deployment, owners).unwrap();
    let accounts = world.accounts().await;
    let observed = aws_apply::observe(&accounts, &world.flow).await.unwrap();
    assert!(observed.keys.contains_key(&key_arn), "the key was looked up in the flow's region");
    let plan = aws_apply::plan(&world.flow, &observed).unwrap();
    aws_apply::apply(&accounts, &plan, &ApplyOptions::default()).await.unwrap();
    let policy = kms_west.get_key_policy().key_id(&key_arn).policy_name("default").send().await.unwrap();
    let policy = doc(policy.policy().unwrap());
    let (owner, bucket) = world.flow.buckets().next().unwrap();
    let key = bucket.kms_key_arn.as_ref().unwrap();
    assert_eq!(policy.statement.last().unwrap(), &build::kms_key_user_statement(owner, key.as_str(), bucket.access));
}

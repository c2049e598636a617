//! What real organizations meet and the emulator does not push back on by itself: another writer
//! between xacct's read and its write, and roles that must carry a permissions boundary and tags.

use std::collections::BTreeMap;
use std::process::Command;

use aws_apply::intercept::ReplaceAnswer;
use aws_apply::{Accounts, ApplyOptions, RoleSettings};
use policy_model::{Access, AccountId, Bucket, BucketName, Deployment, Flow, Owner, PolicyDocument, RoleName};
use testkit::{Emulator, Profiles};

const A: &str = "710000000001";
const B: &str = "710000000002";

const AUDITOR: &str = r#"{"Sid":"Auditor","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::<B>:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::<bucket>/audit/*"}"#;
const LATE: &str = r#"{"Sid":"LateWriter","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::<B>:root"},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::<bucket>"}"#;

fn s3(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(true).build())
}

fn statement(template: &str, bucket: &str) -> serde_json::Value {
    serde_json::from_str(&template.replace("<B>", B).replace("<bucket>", bucket)).unwrap()
}

fn flow(bucket: &str) -> Flow {
    Flow::new(
        "us-east-1",
        Deployment {
            account_id: AccountId::new(A).unwrap(),
            instance_role: RoleName::new("MyRoleA").unwrap(),
            cross_account_role: None,
        },
        vec![Owner {
            account_id: AccountId::new(B).unwrap(),
            role: RoleName::new("MyRoleB").unwrap(),
            buckets: vec![Bucket {
                name: BucketName::new(bucket).unwrap(),
                access: Access::ReadWrite,
                kms_key_arn: None,
                mount: false,
            }],
        }],
    )
    .unwrap()
}

async fn accounts(profiles: &Profiles) -> Accounts {
    let mut configs = BTreeMap::new();
    for id in [A, B] {
        configs.insert(AccountId::new(id).unwrap(), profiles.sdk_config(id).await);
    }
    Accounts::from_sdk_configs(configs)
}

async fn bucket_sids(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    let text = s3.get_bucket_policy().bucket(bucket).send().await.unwrap().policy.unwrap();
    let doc = PolicyDocument::from_api_text(&text).unwrap();
    doc.statement.iter().map(|s| s.sid.clone().unwrap_or_default()).collect()
}

/// A second writer, a plain S3 client, adds a statement to the bucket policy after xacct's plan
/// read it: the apply keeps it, next to the statement that was there and ours, and the next plan
/// writes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_writer_between_plan_and_apply_keeps_its_statement() {
    let emulator = Emulator::start().unwrap();
    let profiles = emulator.bootstrap(&[A, B]).await.unwrap();
    let bucket = format!("xacct-orgs-{B}");
    let other = s3(&profiles.sdk_config(B).await);
    other.create_bucket().bucket(&bucket).send().await.unwrap();
    let first = serde_json::json!({ "Version": "2012-10-17", "Statement": [statement(AUDITOR, &bucket)] });
    other.put_bucket_policy().bucket(&bucket).policy(first.to_string()).send().await.unwrap();

    let flow = flow(&bucket);
    let accounts = accounts(&profiles).await;
    let observed = aws_apply::observe(&accounts, &flow).await.unwrap();
    let plan = aws_apply::plan(&flow, &observed).unwrap();

    let second = serde_json::json!({ "Version": "2012-10-17", "Statement": [statement(AUDITOR, &bucket), statement(LATE, &bucket)] });
    other.put_bucket_policy().bucket(&bucket).policy(second.to_string()).send().await.unwrap();

    aws_apply::apply(&accounts, &plan, &ApplyOptions::default()).await.unwrap();
    assert_eq!(
        bucket_sids(&other, &bucket).await,
        ["Auditor", "LateWriter", "XacctBucketMyRoleB", "XacctObjectsMyRoleB"]
    );
    let again = aws_apply::plan(&flow, &aws_apply::observe(&accounts, &flow).await.unwrap()).unwrap();
    assert!(again.is_converged(), "{again}");
}

async fn role_tags_and_boundary(iam: &aws_sdk_iam::Client, name: &str) -> (BTreeMap<String, String>, Option<String>) {
    let role = iam.get_role().role_name(name).send().await.unwrap().role.unwrap();
    let tags = role.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
    (tags, role.permissions_boundary().and_then(|b| b.permissions_boundary_arn()).map(str::to_owned))
}

/// `[roles]`: both roles are created under the path, with the boundary (a name, resolved in each
/// account) and the tags; every document names the ARNs with the path, so the chain verifies; a
/// role whose boundary and tags were changed gets them back, and a tag someone else set stays.
#[tokio::test(flavor = "multi_thread")]
async fn roles_carry_the_boundary_and_tags_and_get_them_back() {
    let emulator = Emulator::start().unwrap();
    let (a, b) = ("710000000011", "710000000012");
    let profiles = emulator.bootstrap(&[a, b]).await.unwrap();
    let bucket = format!("xacct-orgs-{b}");
    s3(&profiles.sdk_config(b).await).create_bucket().bucket(&bucket).send().await.unwrap();
    let boundary_doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","sts:AssumeRole"],"Resource":"*"}]}"#;
    let (iam_a, iam_b) = (
        aws_sdk_iam::Client::new(&profiles.sdk_config(a).await),
        aws_sdk_iam::Client::new(&profiles.sdk_config(b).await),
    );
    for iam in [&iam_a, &iam_b] {
        iam.create_policy().policy_name("org-boundary").policy_document(boundary_doc).send().await.unwrap();
    }
    let mut flow_accounts = BTreeMap::new();
    for id in [a, b] {
        flow_accounts.insert(AccountId::new(id).unwrap(), profiles.sdk_config(id).await);
    }
    let accounts = Accounts::from_sdk_configs(flow_accounts);
    let flow = Flow::new(
        "us-east-1",
        Deployment {
            account_id: AccountId::new(a).unwrap(),
            instance_role: RoleName::new("MyRoleA").unwrap().with_path("/xacct/").unwrap(),
            cross_account_role: None,
        },
        vec![Owner {
            account_id: AccountId::new(b).unwrap(),
            role: RoleName::new("MyRoleB").unwrap().with_path("/xacct/").unwrap(),
            buckets: vec![Bucket {
                name: BucketName::new(&bucket).unwrap(),
                access: Access::ReadWrite,
                kms_key_arn: None,
                mount: false,
            }],
        }],
    )
    .unwrap();
    let settings = RoleSettings {
        permissions_boundary: Some("org-boundary".to_owned()),
        tags: BTreeMap::from([
            ("team".to_owned(), "data-platform".to_owned()),
            ("cost-center".to_owned(), "1234".to_owned()),
        ]),
        cross_account_policy: None,
    };
    let converge = || async {
        let observed = aws_apply::observe(&accounts, &flow).await.unwrap();
        let plan = aws_apply::plan_with(&flow, &observed, &settings, &Default::default()).unwrap();
        aws_apply::apply(&accounts, &plan, &ApplyOptions::default()).await.unwrap();
        let again = aws_apply::plan_with(
            &flow,
            &aws_apply::observe(&accounts, &flow).await.unwrap(),
            &settings,
            &Default::default(),
        )
        .unwrap();
        assert!(again.is_converged(), "{again}");
    };
    converge().await;
    let role = iam_b.get_role().role_name("MyRoleB").send().await.unwrap().role.unwrap();
    assert_eq!((role.path(), role.arn()), ("/xacct/", format!("arn:aws:iam::{b}:role/xacct/MyRoleB").as_str()));
    let profile = iam_a.get_instance_profile().instance_profile_name("MyRoleA").send().await.unwrap();
    assert_eq!(profile.instance_profile.unwrap().arn(), format!("arn:aws:iam::{a}:instance-profile/xacct/MyRoleA"));
    let inputs = verify::LiveInputs { aws: Some(accounts.clone()), ..verify::LiveInputs::default() };
    let report = verify::live(&inputs, &flow).await;
    for id in ["instance-profile", &format!("assume-a-to-b:{b}"), &format!("trust-b:{b}"), &format!("bucket:{bucket}")]
    {
        assert_eq!(report.link(id).map(|l| l.status), Some(verify::Status::Pass), "{id}: {report}");
    }
    // The boundary's new default version denies s3:PutObject: verify reads it and fails the bucket link.
    let no_put = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","sts:AssumeRole"],"Resource":"*"},{"Effect":"Deny","Action":"s3:PutObject","Resource":"*"}]}"#;
    let boundary_b = format!("arn:aws:iam::{b}:policy/org-boundary");
    iam_b
        .create_policy_version()
        .policy_arn(&boundary_b)
        .policy_document(no_put)
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    let report = verify::live(&inputs, &flow).await;
    let link = report.link(&format!("bucket:{bucket}")).unwrap();
    assert_eq!(link.status, verify::Status::Fail, "{report}");
    assert!(
        link.evidence[0].contains(&format!(
            "the permissions boundary {boundary_b} of arn:aws:iam::{b}:role/xacct/MyRoleB does not allow s3:PutObject"
        )),
        "{report}"
    );
    assert!(link.fix.as_deref().unwrap().contains("`[roles] permissions_boundary`"), "{report}");
    iam_b
        .create_policy_version()
        .policy_arn(&boundary_b)
        .policy_document(boundary_doc)
        .set_as_default(true)
        .send()
        .await
        .unwrap();

    for (iam, account, name) in [(&iam_a, a, "MyRoleA"), (&iam_b, b, "MyRoleB")] {
        let (tags, boundary) = role_tags_and_boundary(iam, name).await;
        assert_eq!(boundary, Some(format!("arn:aws:iam::{account}:policy/org-boundary")), "{name}");
        assert_eq!(tags.get("team").map(String::as_str), Some("data-platform"), "{name}: {tags:?}");
        assert_eq!(tags.get("cost-center").map(String::as_str), Some("1234"), "{name}: {tags:?}");
        assert_eq!(tags.get("xacct:managed").map(String::as_str), Some("true"), "{name}: {tags:?}");
    }

    // Someone changes the boundary and a tag, and adds a tag of their own.
    iam_b.create_policy().policy_name("other").policy_document(boundary_doc).send().await.unwrap();
    let other = format!("arn:aws:iam::{b}:policy/other");
    iam_b.put_role_permissions_boundary().role_name("MyRoleB").permissions_boundary(&other).send().await.unwrap();
    let tag = |k: &str, v: &str| aws_sdk_iam::types::Tag::builder().key(k).value(v).build().unwrap();
    iam_b
        .tag_role()
        .role_name("MyRoleB")
        .tags(tag("team", "someone-else"))
        .tags(tag("owner", "ops"))
        .send()
        .await
        .unwrap();
    converge().await;
    let (tags, boundary) = role_tags_and_boundary(&iam_b, "MyRoleB").await;
    assert_eq!(boundary, Some(format!("arn:aws:iam::{b}:policy/org-boundary")));
    assert_eq!(tags.get("team").map(String::as_str), Some("data-platform"), "{tags:?}");
    assert_eq!(tags.get("owner").map(String::as_str), Some("ops"), "a tag someone else set stays: {tags:?}");
}

/// An AccessDenied on CreateRole, as an SCP that demands a boundary answers, names the `[roles]`
/// keys that meet such a rule.
#[tokio::test(flavor = "multi_thread")]
async fn access_denied_on_create_role_names_the_roles_keys() {
    let emulator = Emulator::start().unwrap();
    let (a, b) = ("710000000021", "710000000022");
    let profiles = emulator.bootstrap(&[a, b]).await.unwrap();
    let bucket = format!("xacct-orgs-{b}");
    s3(&profiles.sdk_config(b).await).create_bucket().bucket(&bucket).send().await.unwrap();
    let mut configs = BTreeMap::new();
    for id in [a, b] {
        configs.insert(AccountId::new(id).unwrap(), profiles.sdk_config(id).await);
    }
    let denied = r#"<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:sts::710000000021:assumed-role/deployer/s is not authorized to perform: iam:CreateRole with an explicit deny in a service control policy</Message></Error><RequestId>1</RequestId></ErrorResponse>"#;
    let accounts =
        Accounts::from_sdk_configs(configs).with_interceptor(ReplaceAnswer::new("CreateRole", 10, 403, denied));
    let flow = Flow::new(
        "us-east-1",
        Deployment {
            account_id: AccountId::new(a).unwrap(),
            instance_role: RoleName::new("MyRoleA").unwrap(),
            cross_account_role: None,
        },
        vec![Owner {
            account_id: AccountId::new(b).unwrap(),
            role: RoleName::new("MyRoleB").unwrap(),
            buckets: vec![Bucket {
                name: BucketName::new(&bucket).unwrap(),
                access: Access::ReadWrite,
                kms_key_arn: None,
                mount: false,
            }],
        }],
    )
    .unwrap();
    let plan = aws_apply::plan(&flow, &aws_apply::observe(&accounts, &flow).await.unwrap()).unwrap();
    let err = aws_apply::apply(&accounts, &plan, &ApplyOptions::default()).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("calling iam:CreateRole"), "{text}");
    assert!(text.contains("set `[roles] permissions_boundary` and `[roles] tags`"), "{text}");
}

/// The cross-account role's inline policies, with the PassRole statement, would pass IAM's
/// 10,240 characters together: the plan stops before any write and names the size. Near the
/// limit it plans, and shows the size.
#[tokio::test(flavor = "multi_thread")]
async fn inline_policies_past_their_limit_together_stop_the_plan() {
    let emulator = Emulator::start().unwrap();
    let (a, b) = ("710000000031", "710000000032");
    let profiles = emulator.bootstrap(&[a, b]).await.unwrap();
    let bucket = format!("xacct-orgs-{b}");
    s3(&profiles.sdk_config(b).await).create_bucket().bucket(&bucket).send().await.unwrap();
    let iam_a = aws_sdk_iam::Client::new(&profiles.sdk_config(a).await);
    let ec2_trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::414351767826:root"},"Action":"sts:AssumeRole"}]}"#;
    iam_a
        .create_role()
        .role_name("databricks-cross-account")
        .assume_role_policy_document(ec2_trust)
        .send()
        .await
        .unwrap();
    let launch = |n: usize| {
        let resources: Vec<String> = (0..n).map(|i| format!("\"arn:aws:s3:::some-other-bucket-{i:08}/*\"")).collect();
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Launch","Effect":"Allow","Action":"s3:GetObject","Resource":[{}]}}]}}"#,
            resources.join(",")
        )
    };
    let put = |doc: String| {
        iam_a.put_role_policy().role_name("databricks-cross-account").policy_name("launch").policy_document(doc).send()
    };
    put(launch(250)).await.unwrap();
    let mut configs = BTreeMap::new();
    for id in [a, b] {
        configs.insert(AccountId::new(id).unwrap(), profiles.sdk_config(id).await);
    }
    let accounts = Accounts::from_sdk_configs(configs);
    let flow = Flow::new(
        "us-east-1",
        Deployment {
            account_id: AccountId::new(a).unwrap(),
            instance_role: RoleName::new("MyRoleA").unwrap(),
            cross_account_role: Some(RoleName::new("databricks-cross-account").unwrap()),
        },
        vec![Owner {
            account_id: AccountId::new(b).unwrap(),
            role: RoleName::new("MyRoleB").unwrap(),
            buckets: vec![Bucket {
                name: BucketName::new(&bucket).unwrap(),
                access: Access::ReadWrite,
                kms_key_arn: None,
                mount: false,
            }],
        }],
    )
    .unwrap();
    let err = aws_apply::plan(&flow, &aws_apply::observe(&accounts, &flow).await.unwrap()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "inline policies of role databricks-cross-account together (with xacct-pass-instance-role) would be 11273 characters, over the limit of 10240"
    );
    assert_eq!(accounts.api_calls().writes(), 0);

    put(launch(220)).await.unwrap();
    let plan = aws_apply::plan(&flow, &aws_apply::observe(&accounts, &flow).await.unwrap()).unwrap();
    let sizes: Vec<String> = plan.sizes.iter().map(ToString::to_string).collect();
    assert_eq!(sizes, ["inline policies of role databricks-cross-account together (with xacct-pass-instance-role): 9953 of 10240 characters (97%)"]);
    aws_apply::apply(&accounts, &plan, &ApplyOptions::default()).await.unwrap();
}

/// Right after a write, a canary refused twice (as S3 answers while IAM propagates) passes on the
/// third attempt and says how long it waited; without the propagation bound it fails at once.
#[tokio::test(flavor = "multi_thread")]
async fn probes_wait_for_propagation_only_when_asked() {
    let emulator = Emulator::start().unwrap();
    let profiles = emulator.bootstrap(&[A, B]).await.unwrap();
    let bucket = format!("xacct-orgs-wait-{B}");
    s3(&profiles.sdk_config(B).await).create_bucket().bucket(&bucket).send().await.unwrap();
    let flow = flow(&bucket);
    let accounts = accounts(&profiles).await;
    let plan = aws_apply::plan(&flow, &aws_apply::observe(&accounts, &flow).await.unwrap()).unwrap();
    aws_apply::apply(&accounts, &plan, &ApplyOptions::default()).await.unwrap();

    let denied = r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>1</RequestId></Error>"#;
    let run = |propagation: Option<verify::Propagation>| {
        let inputs = verify::LiveInputs {
            aws: Some(accounts.clone()),
            probe_interceptors: vec![aws_sdk_s3::config::SharedInterceptor::new(ReplaceAnswer::new(
                "PutObject",
                2,
                403,
                denied,
            ))],
            propagation,
            ..verify::LiveInputs::default()
        };
        let flow = flow.clone();
        async move { verify::live(&inputs, &flow).await }
    };
    let canary = format!("probe:canary:{bucket}");
    let report = run(None).await;
    let link = report.link(&canary).unwrap();
    assert_eq!(link.status, verify::Status::Fail, "{report}");

    let bound = verify::Propagation {
        max_wait: std::time::Duration::from_secs(3),
        first_delay: std::time::Duration::from_millis(100),
    };
    let report = run(Some(bound)).await;
    let link = report.link(&canary).unwrap();
    assert_eq!(link.status, verify::Status::Pass, "{report}");
    let waited = link.evidence.iter().find(|e| e.starts_with("passed on attempt 3")).unwrap();
    assert!(
        waited.contains("after waiting 0.3 s for IAM to propagate the last write (retried while refused, 3 s at most)"),
        "{waited}"
    );
}

/// MyRoleA's assume statement on 110 owner roles with 64-character names passes the inline
/// limit: provision spreads it over customer managed policies attached to MyRoleA, a re-run
/// writes nothing, one owner more makes a new policy version, and destroy deletes them.
#[tokio::test(flavor = "multi_thread")]
async fn a_large_assume_statement_goes_to_managed_policies() {
    let emulator = Emulator::start().unwrap();
    let a = "720000000000";
    let owners: Vec<String> = (1..=111).map(|i| format!("{:012}", 720_000_000_000u64 + i)).collect();
    let mut ids: Vec<&str> = vec![a];
    ids.extend(owners.iter().map(String::as_str));
    let profiles = emulator.bootstrap(&ids).await.unwrap();
    let role = "r".repeat(64);
    let mut configs = BTreeMap::new();
    for id in &ids {
        configs.insert(AccountId::new(id).unwrap(), profiles.sdk_config(id).await);
    }
    for id in &owners {
        s3(&configs[&AccountId::new(id).unwrap()])
            .create_bucket()
            .bucket(format!("xacct-many-{id}"))
            .send()
            .await
            .unwrap();
    }
    let accounts = Accounts::from_sdk_configs(configs);
    let flow = |n: usize| {
        let owners = owners[..n]
            .iter()
            .map(|id| Owner {
                account_id: AccountId::new(id).unwrap(),
                role: RoleName::new(&role).unwrap(),
                buckets: vec![Bucket {
                    name: BucketName::new(&format!("xacct-many-{id}")).unwrap(),
                    access: Access::ReadWrite,
                    kms_key_arn: None,
                    mount: false,
                }],
            })
            .collect();
        let deployment = Deployment {
            account_id: AccountId::new(a).unwrap(),
            instance_role: RoleName::new("MyRoleA").unwrap(),
            cross_account_role: None,
        };
        Flow::new("us-east-1", deployment, owners).unwrap()
    };
    let converge = |flow: Flow| {
        let accounts = accounts.clone();
        async move {
            let plan = aws_apply::plan(&flow, &aws_apply::observe(&accounts, &flow).await.unwrap()).unwrap();
            aws_apply::apply(&accounts, &plan, &ApplyOptions::default()).await.unwrap();
            let again = aws_apply::plan(&flow, &aws_apply::observe(&accounts, &flow).await.unwrap()).unwrap();
            assert!(again.is_converged(), "{again}");
        }
    };
    converge(flow(110)).await;
    let iam_a = aws_sdk_iam::Client::new(&profiles.sdk_config(a).await);
    let attached = iam_a.list_attached_role_policies().role_name("MyRoleA").send().await.unwrap();
    let mut names: Vec<String> =
        attached.attached_policies().iter().map(|p| p.policy_name().unwrap_or_default().to_owned()).collect();
    names.sort();
    assert_eq!(names, ["xacct-assume-bucket-owner-roles-1", "xacct-assume-bucket-owner-roles-2"]);
    let inline = iam_a.list_role_policies().role_name("MyRoleA").send().await.unwrap();
    assert!(inline.policy_names().is_empty(), "{inline:?}");

    converge(flow(111)).await;
    let arn = format!("arn:aws:iam::{a}:policy/xacct-assume-bucket-owner-roles-2");
    let versions = iam_a.list_policy_versions().policy_arn(&arn).send().await.unwrap();
    assert_eq!(versions.versions().len(), 2, "{versions:?}");

    let observed = aws_apply::observe(&accounts, &flow(111)).await.unwrap();
    aws_apply::apply(&accounts, &aws_apply::plan_destroy(&flow(111), &observed), &ApplyOptions::default())
        .await
        .unwrap();
    assert!(iam_a.get_policy().policy_arn(&arn).send().await.is_err(), "destroy deletes the managed policies");
}

/// The whole path through the CLI: `[roles]` (boundary, path, tags) and `cross_account_policy`
/// from the config reach every role xacct creates and the policy it merges PassRole into; the
/// next `plan` writes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn the_cli_applies_the_roles_section_and_cross_account_policy() {
    let (a, b) = (crate::flow::A, crate::flow::B);
    let world = crate::flow::World::start(&[a, b]).await;
    testkit::fixtures::existing_bucket(&world.profiles, b, "golden-bucket").await.unwrap();
    testkit::fixtures::existing_cross_account_role(&world.profiles, a, "databricks-cross-account").await.unwrap();
    let boundary = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","kms:*","sts:AssumeRole"],"Resource":"*"}]}"#;
    let (iam_a, iam_b) = (world.iam(a).await, world.iam(b).await);
    for iam in [&iam_a, &iam_b] {
        iam.create_policy().policy_name("org-boundary").policy_document(boundary).send().await.unwrap();
    }
    let launch = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Launch","Effect":"Allow","Action":"ec2:RunInstances","Resource":"*"}]}"#;
    iam_a
        .put_role_policy()
        .role_name("databricks-cross-account")
        .policy_name("launch")
        .policy_document(launch)
        .send()
        .await
        .unwrap();
    let config = format!(
        r#"
[deployment]
account_id = "{a}"
aws_profile = "acct-{a}"
instance_role = "MyRoleA"
cross_account_role = "databricks-cross-account"
cross_account_policy = "launch"

[[bucket_owners]]
account_id = "{b}"
aws_profile = "acct-{b}"
role = "MyRoleB"
  [[bucket_owners.buckets]]
  name = "golden-bucket"

[roles]
permissions_boundary = "org-boundary"
path = "/xacct/"
tags = {{ team = "data-platform", cost-center = "1234" }}
"#
    );
    let path = world.dir.path().join("xacct.toml");
    std::fs::write(&path, config).unwrap();
    let xacct = |args: &[&str]| {
        let out = Command::new(crate::cli::xacct_bin())
            .args(args)
            .args(["--output", "json", "--config"])
            .arg(&path)
            .envs(world.profiles.env())
            .env("AWS_ENDPOINT_URL", world.emulator.endpoint())
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(out.status.success(), "{json}\n{}", String::from_utf8_lossy(&out.stderr));
        json
    };
    xacct(&["provision", "--yes"]);
    let role = iam_b.get_role().role_name("MyRoleB").send().await.unwrap().role.unwrap();
    assert_eq!(role.arn(), format!("arn:aws:iam::{b}:role/xacct/MyRoleB"));
    assert_eq!(
        role.permissions_boundary().and_then(|p| p.permissions_boundary_arn()),
        Some(format!("arn:aws:iam::{b}:policy/org-boundary").as_str())
    );
    assert!(role.tags().iter().any(|t| t.key() == "team" && t.value() == "data-platform"), "{:?}", role.tags());
    let got = iam_a.get_role_policy().role_name("databricks-cross-account").policy_name("launch").send().await.unwrap();
    let doc = crate::flow::decode(got.policy_document());
    let sids: Vec<_> = doc.statement.iter().map(|s| s.sid.clone().unwrap_or_default()).collect();
    assert_eq!(sids, ["Launch", "XacctPassRoleMyRoleA"]);
    let resource = serde_json::to_string(&doc.statement[1].resource).unwrap();
    assert!(resource.contains(&format!("arn:aws:iam::{a}:role/xacct/MyRoleA")), "{resource}");

    let plan = xacct(&["plan"]);
    assert_eq!(plan["summary"]["create"], 0, "{plan}");
    assert_eq!(plan["summary"]["update"], 0, "{plan}");
    assert_eq!(plan["api_calls"]["aws_writes"], 0, "{plan}");
}

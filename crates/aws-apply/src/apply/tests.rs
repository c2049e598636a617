//! The scheduler against the in-memory backend: dependency order, bounded
//! concurrency, the stop at the first failure, a crash at every write then a
//! converging re-run, lost replies of creates, and deletes that read every page.

use std::collections::BTreeMap;
use std::time::Duration;

use policy_model::build::PASS_ROLE_POLICY_NAME;
use policy_model::{Access, AccountId, Bucket, BucketName, Deployment, Flow, Owner, RoleName};

use super::*;
use crate::intercept::FailAt;
use crate::memory::{MemPolicy, MemRole, Memory};
use crate::{observe, plan, plan_destroy};

const A: &str = "111111111111";
const B: &str = "222222222222";
const KEY: &str = "arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const DEFAULT_KEY: &str = r#"{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"kms:*","Resource":"*"}]}"#;
const FOREIGN_PASS_ROLE: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Ec2","Effect":"Allow","Action":"ec2:RunInstances","Resource":"*"}]}"#;

fn id(s: &str) -> AccountId {
    AccountId::new(s).unwrap()
}

/// One owner with `buckets` buckets, the first KMS-encrypted.
fn flow(buckets: usize) -> Flow {
    Flow::new(
        "us-east-1".to_owned(),
        Deployment {
            account_id: id(A),
            instance_role: RoleName::new("MyRoleA").unwrap(),
            cross_account_role: Some(RoleName::new("databricks-cross-account").unwrap()),
        },
        vec![Owner {
            account_id: id(B),
            role: RoleName::new("MyRoleB").unwrap(),
            buckets: (0..buckets)
                .map(|i| Bucket {
                    name: BucketName::new(&format!("bucket-{i}")).unwrap(),
                    access: Access::ReadWrite,
                    kms_key_arn: (i == 0).then(|| policy_model::KmsKeyArn::new(KEY).unwrap()),
                    mount: false,
                })
                .collect(),
        }],
    )
    .unwrap()
}

/// What the accounts hold before xacct: the cross-account role with a foreign policy, the buckets, the key.
fn fresh(flow: &Flow) -> Memory {
    let memory = Memory::new([&id(A), &id(B)]);
    seed(&memory, flow);
    memory
}

fn seed(memory: &Memory, flow: &Flow) {
    memory.edit(&id(A), |a| {
        let role = MemRole {
            trust: r#"{"Statement":[]}"#.to_owned(),
            inline: BTreeMap::from([(PASS_ROLE_POLICY_NAME.to_owned(), FOREIGN_PASS_ROLE.to_owned())]),
            ..MemRole::default()
        };
        a.roles.insert("databricks-cross-account".to_owned(), role);
    });
    memory.edit(&id(B), |b| {
        for (_, bucket) in flow.buckets() {
            b.buckets.insert(bucket.name.as_str().to_owned(), None);
        }
        b.keys.insert(KEY.to_owned(), DEFAULT_KEY.to_owned());
    });
}

fn sequential() -> ApplyOptions {
    ApplyOptions { concurrency: 1, on_progress: None }
}

/// Observe, plan, apply: the apply's report.
async fn converge(memory: &Memory, flow: &Flow, options: &ApplyOptions) -> Result<ApplyReport, ApplyError> {
    let observed = observe(memory, flow).await.unwrap();
    let plan = plan(flow, &observed).unwrap();
    apply(memory, &plan, options).await
}

#[tokio::test]
async fn a_fresh_run_then_a_converged_one() {
    let flow = flow(1);
    let memory = fresh(&flow);
    let report = converge(&memory, &flow, &ApplyOptions::default()).await.unwrap();
    assert_eq!(report.api_calls.writes(), 8, "{:?}", memory.writes_log());

    let before = memory.api_calls();
    let observed = observe(&memory, &flow).await.unwrap();
    let reads = memory.api_calls().since(&before).reads();
    // MyRoleA 4 (GetRole, 2 lists, 1 inline), profile 1, cross-account role 4, MyRoleB 3, bucket 2, key 1.
    assert_eq!(reads, 15);
    let plan = plan(&flow, &observed).unwrap();
    assert!(plan.is_converged(), "{plan}");
    let report = apply(&memory, &plan, &ApplyOptions::default()).await.unwrap();
    assert_eq!(report.api_calls.writes() + report.api_calls.reads(), 0);
}

#[tokio::test]
async fn writes_run_in_dependency_order() {
    let flow = flow(3);
    let memory = fresh(&flow).with_delay(Duration::from_millis(2));
    converge(&memory, &flow, &ApplyOptions::default()).await.unwrap();
    let log = memory.writes_log();
    let at = |entry: &str| log.iter().position(|l| l == entry).unwrap_or_else(|| panic!("no `{entry}` in {log:#?}"));
    let role_a = at(&format!("{A} CreateRole MyRoleA"));
    let role_b = at(&format!("{B} CreateRole MyRoleB"));
    assert!(role_a < role_b, "MyRoleB's trust names MyRoleA: {log:#?}");
    assert!(role_b < at(&format!("{A} PutRolePolicy MyRoleA/xacct-assume-bucket-owner-roles")));
    assert!(role_a < at(&format!("{A} CreateInstanceProfile MyRoleA")));
    assert!(at(&format!("{A} CreateInstanceProfile MyRoleA")) < at(&format!("{A} AddRoleToInstanceProfile MyRoleA")));
    assert!(role_a < at(&format!("{A} PutRolePolicy databricks-cross-account/{PASS_ROLE_POLICY_NAME}")));
    for i in 0..3 {
        assert!(role_b < at(&format!("{B} PutBucketPolicy bucket-{i}")), "{log:#?}");
    }
    assert!(role_b < at(&format!("{B} PutKeyPolicy {KEY}")));
}

#[tokio::test]
async fn concurrency_is_bounded() {
    #[track_caller]
    fn check(limit: usize, seen: usize, expect: std::ops::RangeInclusive<usize>) {
        assert!(expect.contains(&seen), "concurrency {limit}: {seen} calls at once, expected {expect:?}");
    }
    for (limit, expect) in [(1, 1..=1), (2, 2..=2), (8, 3..=8)] {
        let flow = flow(8);
        let memory = fresh(&flow);
        let observed = observe(&memory, &flow).await.unwrap();
        let plan = plan(&flow, &observed).unwrap();
        let memory = memory.with_delay(Duration::from_millis(5));
        apply(&memory, &plan, &ApplyOptions { concurrency: limit, on_progress: None }).await.unwrap();
        check(limit, memory.max_in_flight(), expect);
    }
}

#[tokio::test]
async fn nothing_new_starts_after_the_first_failure() {
    let flow = flow(4);
    let memory = fresh(&flow).failing_write(2, FailAt::BeforeSend);
    let err = converge(&memory, &flow, &sequential()).await.unwrap_err();
    assert!(err.to_string().contains("injected failure"), "{err}");
    assert_eq!(err.report.applied.len(), 1, "the first change was made, then nothing: {:?}", err.report.applied);
    assert_eq!(memory.writes_log().len(), 1, "{:?}", memory.writes_log());
    assert_eq!(err.report.api_calls.writes(), 2, "the first write and the failed one");
}

#[tokio::test]
async fn a_crash_at_every_write_then_a_re_run_converges() {
    let flow = flow(2);
    let reference = fresh(&flow);
    converge(&reference, &flow, &sequential()).await.unwrap();
    let n = reference.writes_log().len();
    assert_eq!(n, 9, "{:?}", reference.writes_log());
    let expected = reference.snapshot();
    for at in [FailAt::BeforeSend, FailAt::AfterSend] {
        for k in 1..=n {
            let memory = fresh(&flow).failing_write(k, at);
            let err = converge(&memory, &flow, &sequential()).await.unwrap_err();
            assert!(err.to_string().contains("injected failure"), "k={k} {at:?}: {err}");
            converge(&memory, &flow, &ApplyOptions::default()).await.unwrap();
            assert_eq!(memory.snapshot(), expected, "k={k} {at:?}");
            let report = converge(&memory, &flow, &ApplyOptions::default()).await.unwrap();
            assert_eq!(report.api_calls.writes(), 0, "k={k} {at:?}");
        }
    }
}

/// A create whose first attempt took effect: the plan says create, the resource is there.
#[tokio::test]
async fn a_create_that_already_took_effect_is_accepted_when_ours() {
    let flow = flow(1);
    let reference = fresh(&flow);
    converge(&reference, &flow, &sequential()).await.unwrap();
    let done = reference.snapshot();

    let memory = fresh(&flow);
    let observed = observe(&memory, &flow).await.unwrap();
    let plan = plan(&flow, &observed).unwrap();
    // The first attempts of CreateRole, CreateInstanceProfile and AddRoleToInstanceProfile landed.
    memory.edit(&id(A), |a| {
        let ours = &done[&id(A)];
        a.roles.insert("MyRoleA".to_owned(), MemRole { inline: BTreeMap::new(), ..ours.roles["MyRoleA"].clone() });
        a.profiles.insert("MyRoleA".to_owned(), ours.profiles["MyRoleA"].clone());
    });
    memory.edit(&id(B), |b| {
        b.roles.insert("MyRoleB".to_owned(), done[&id(B)].roles["MyRoleB"].clone());
    });
    apply(&memory, &plan, &sequential()).await.unwrap();
    assert_eq!(memory.snapshot(), done);
}

#[tokio::test]
async fn a_create_that_finds_something_else_names_it() {
    #[track_caller]
    fn check(err: &ApplyError, expect: &str) {
        assert!(err.to_string().contains(expect), "{err}");
    }
    let flow = flow(1);
    let untagged = fresh(&flow);
    let plan_fresh = plan(&flow, &observe(&untagged, &flow).await.unwrap()).unwrap();
    untagged.edit(&id(A), |a| {
        a.roles.insert("MyRoleA".to_owned(), MemRole { trust: r#"{"Statement":[]}"#.to_owned(), ..MemRole::default() });
    });
    let err = apply(&untagged, &plan_fresh, &sequential()).await.unwrap_err();
    check(&err, "role `MyRoleA` in account `111111111111` already exists but has no `xacct:managed=true` tag");

    let other_trust = fresh(&flow);
    other_trust.edit(&id(A), |a| {
        let tags = BTreeMap::from([(MANAGED_TAG_KEY.to_owned(), MANAGED_TAG_VALUE.to_owned())]);
        a.roles.insert(
            "MyRoleA".to_owned(),
            MemRole { trust: r#"{"Statement":[]}"#.to_owned(), tags, ..MemRole::default() },
        );
    });
    let err = apply(&other_trust, &plan_fresh, &sequential()).await.unwrap_err();
    check(&err, "role `MyRoleA` in account `111111111111` already exists but its trust policy is not the planned one");

    let foreign_profile = fresh(&flow);
    foreign_profile.edit(&id(A), |a| {
        a.profiles.insert("MyRoleA".to_owned(), (BTreeMap::new(), vec![]));
    });
    let err = apply(&foreign_profile, &plan_fresh, &sequential()).await.unwrap_err();
    check(
        &err,
        "instance profile `MyRoleA` in account `111111111111` already exists but has no `xacct:managed=true` tag",
    );
}

/// Destroy of a role with more policies than one page holds: every page is read.
#[tokio::test]
async fn destroy_reads_every_page() {
    let flow = flow(1);
    let memory = fresh(&flow).with_page_size(1);
    converge(&memory, &flow, &sequential()).await.unwrap();
    memory.edit(&id(B), |b| {
        let role = b.roles.get_mut("MyRoleB").unwrap();
        for i in 0..3 {
            role.inline.insert(format!("extra-{i}"), r#"{"Statement":[]}"#.to_owned());
            role.attached.push(format!("arn:aws:iam::{B}:policy/extra-{i}"));
        }
    });
    memory.edit(&id(A), |a| {
        a.profiles.insert("Other".to_owned(), (BTreeMap::new(), vec!["MyRoleA".to_owned()]));
    });
    let observed = observe(&memory, &flow).await.unwrap();
    apply(&memory, &plan_destroy(&flow, &observed), &sequential()).await.unwrap();
    let after = memory.snapshot();
    assert!(!after[&id(B)].roles.contains_key("MyRoleB"), "{:?}", after[&id(B)].roles);
    assert!(!after[&id(A)].roles.contains_key("MyRoleA"));
    assert_eq!(after[&id(A)].profiles.keys().collect::<Vec<_>>(), ["Other"]);
}

/// The document read for an attached policy is its default version, whatever its number.
#[tokio::test]
async fn attached_policies_are_read_at_their_default_version() {
    #[track_caller]
    fn check(got: Option<&policy_model::PolicyDocument>, expect: &str) {
        assert_eq!(got.map(|d| d.to_json()).as_deref(), Some(expect));
    }
    let v1 = r#"{"Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#;
    let v2 = r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    let flow = flow(1);
    let memory = fresh(&flow);
    converge(&memory, &flow, &sequential()).await.unwrap();
    let named = format!("arn:aws:iam::{B}:policy/named");
    let listed = format!("arn:aws:iam::{B}:policy/listed");
    memory.edit(&id(B), |b| {
        let versions = BTreeMap::from([("v1".to_owned(), v1.to_owned()), ("v2".to_owned(), v2.to_owned())]);
        let policy = |default: Option<&str>| MemPolicy {
            versions: versions.clone(),
            default_version: default.map(str::to_owned),
            listed_default: Some("v2".to_owned()),
        };
        b.policies.insert(named.clone(), policy(Some("v2")));
        // GetPolicy without DefaultVersionId: ListPolicyVersions says which is the default.
        b.policies.insert(listed.clone(), policy(None));
        b.roles.get_mut("MyRoleB").unwrap().attached.extend([named.clone(), listed.clone()]);
        b.roles.get_mut("MyRoleB").unwrap().boundary = Some(named.clone());
    });
    let observed = observe(&memory, &flow).await.unwrap();
    let role = &observed.roles[&flow.owners()[0].role_arn()];
    check(role.attached.get(&named), v2);
    check(role.attached.get(&listed), v2);
    check(role.boundary.as_ref().and_then(|b| b.document.as_ref()), v2);
}

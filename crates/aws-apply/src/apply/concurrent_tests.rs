//! Another writer between the plan's read and the write: its change is kept, ours is made to the
//! new copy, and a change to our own statements stops the apply with nothing written to that document.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use policy_model::build::PASS_ROLE_POLICY_NAME;
use policy_model::{Access, AccountId, Bucket, BucketName, Deployment, Flow, Owner, PolicyDocument, RoleName};

use super::*;
use crate::memory::{MemAccount, MemRole, Memory};
use crate::{observe, plan, plan_destroy};

const A: &str = "111111111111";
const B: &str = "222222222222";
const KEY: &str = "arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const DEFAULT_KEY: &str = r#"{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"kms:*","Resource":"*"}]}"#;
const FOREIGN_PASS_ROLE: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Ec2","Effect":"Allow","Action":"ec2:RunInstances","Resource":"*"}]}"#;
const LATE_BUCKET: &str = r#"{"Sid":"LateWriter","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-0/late/*"}"#;
const LATE_KEY: &str = r#"{"Sid":"LateWriter","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"kms:Decrypt","Resource":"*"}"#;
const LATE_IDENTITY: &str = r#"{"Sid":"LateWriter","Effect":"Allow","Action":"ec2:DescribeInstances","Resource":"*"}"#;
const LATE_TRUST: &str =
    r#"{"Sid":"LateWriter","Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}"#;

fn id(s: &str) -> AccountId {
    AccountId::new(s).unwrap()
}

fn flow(access: Access) -> Flow {
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
            buckets: vec![Bucket {
                name: BucketName::new("bucket-0").unwrap(),
                access,
                kms_key_arn: Some(policy_model::KmsKeyArn::new(KEY).unwrap()),
                mount: false,
            }],
        }],
    )
    .unwrap()
}

fn seed(memory: &Memory) {
    memory.edit(&id(A), |a| {
        let role = MemRole {
            trust: r#"{"Statement":[]}"#.to_owned(),
            inline: BTreeMap::from([(PASS_ROLE_POLICY_NAME.to_owned(), FOREIGN_PASS_ROLE.to_owned())]),
            ..MemRole::default()
        };
        a.roles.insert("databricks-cross-account".to_owned(), role);
    });
    memory.edit(&id(B), |b| {
        b.buckets.insert("bucket-0".to_owned(), None);
        b.keys.insert(KEY.to_owned(), DEFAULT_KEY.to_owned());
    });
}

/// One document of the accounts, as text: where the other writer writes, and where the test looks.
#[derive(Debug, Clone, Copy)]
enum Doc {
    Bucket,
    Key,
    PassRole,
    TrustB,
}

impl Doc {
    fn account(self) -> AccountId {
        id(match self {
            Doc::PassRole => A,
            Doc::Bucket | Doc::Key | Doc::TrustB => B,
        })
    }

    fn get(self, a: &MemAccount) -> Option<String> {
        match self {
            Doc::Bucket => a.buckets.get("bucket-0").cloned().flatten(),
            Doc::Key => a.keys.get(KEY).cloned(),
            Doc::PassRole => {
                a.roles.get("databricks-cross-account").and_then(|r| r.inline.get(PASS_ROLE_POLICY_NAME)).cloned()
            }
            Doc::TrustB => a.roles.get("MyRoleB").map(|r| r.trust.clone()),
        }
    }

    fn set(self, a: &mut MemAccount, text: String) {
        match self {
            Doc::Bucket => {
                a.buckets.insert("bucket-0".to_owned(), Some(text));
            }
            Doc::Key => {
                a.keys.insert(KEY.to_owned(), text);
            }
            Doc::PassRole => {
                if let Some(r) = a.roles.get_mut("databricks-cross-account") {
                    r.inline.insert(PASS_ROLE_POLICY_NAME.to_owned(), text);
                }
            }
            Doc::TrustB => {
                if let Some(r) = a.roles.get_mut("MyRoleB") {
                    r.trust = text;
                }
            }
        }
    }

    fn late(self) -> &'static str {
        match self {
            Doc::Bucket => LATE_BUCKET,
            Doc::Key => LATE_KEY,
            Doc::PassRole => LATE_IDENTITY,
            Doc::TrustB => LATE_TRUST,
        }
    }

    /// The write that makes our change to this document.
    fn write_call(self) -> &'static str {
        match self {
            Doc::Bucket => "PutBucketPolicy",
            Doc::Key => "PutKeyPolicy",
            Doc::PassRole => "PutRolePolicy",
            Doc::TrustB => "UpdateAssumeRolePolicy",
        }
    }
}

/// `doc` with `edit` made to its statements.
fn edited(text: Option<String>, edit: impl FnOnce(&mut Vec<policy_model::Statement>)) -> String {
    let mut doc = match text {
        Some(t) => PolicyDocument::from_api_text(&t).unwrap(),
        None => PolicyDocument::new(vec![]),
    };
    edit(&mut doc.statement);
    doc.to_json()
}

fn sids(text: Option<String>) -> Vec<String> {
    let doc = PolicyDocument::from_api_text(&text.unwrap_or_default()).unwrap();
    doc.statement.iter().map(|s| s.sid.clone().unwrap_or_default()).collect()
}

/// A memory whose other writer edits `doc` once, at the first read of the document
/// after the plan was made (the apply's re-read included): between the plan and the write.
fn with_writer(
    memory: Memory,
    doc: Doc,
    armed: Arc<AtomicBool>,
    edit: fn(Doc, &mut Vec<policy_model::Statement>),
) -> Memory {
    memory.with_hook(Box::new(move |account, call, _, state| {
        if *account == doc.account() && call.starts_with("Get") && armed.swap(false, Ordering::SeqCst) {
            let text = edited(doc.get(state), |s| edit(doc, s));
            doc.set(state, text);
        }
    }))
}

fn add_late(doc: Doc, statements: &mut Vec<policy_model::Statement>) {
    statements.push(serde_json::from_str(doc.late()).unwrap());
}

/// A fresh provision whose documents another writer changes after the plan: each keeps the
/// other writer's statement and gets ours, and the next plan is converged.
#[tokio::test]
async fn another_writers_statement_survives_a_provision() {
    #[track_caller]
    fn check(doc: Doc, got: Vec<String>, expect: &[&str]) {
        assert_eq!(got, expect, "{doc:?}");
    }
    let cases: [(Doc, &[&str]); 4] = [
        (Doc::Bucket, &["LateWriter", "XacctBucketMyRoleB", "XacctObjectsMyRoleB"]),
        (Doc::Key, &["Enable IAM User Permissions", "LateWriter", "XacctKeyUserMyRoleB"]),
        (Doc::PassRole, &["Ec2", "LateWriter", "XacctPassRoleMyRoleA"]),
        (Doc::TrustB, &["LateWriter", "XacctTrust111111111111MyRoleA"]),
    ];
    for (doc, expect) in cases {
        let flow = flow(Access::ReadWrite);
        let armed = Arc::new(AtomicBool::new(false));
        let memory = with_writer(Memory::new([&id(A), &id(B)]), doc, armed.clone(), add_late);
        seed(&memory);
        if matches!(doc, Doc::TrustB) {
            // MyRoleB's trust is written on a later run: first make the role, then change the flow's owner role trust.
            apply(&memory, &plan(&flow, &observe(&memory, &flow).await.unwrap()).unwrap(), &ApplyOptions::default())
                .await
                .unwrap();
            memory.edit(&id(B), |b| {
                b.roles.get_mut("MyRoleB").unwrap().trust = r#"{"Version":"2012-10-17","Statement":[]}"#.to_owned()
            });
        }
        let observed = observe(&memory, &flow).await.unwrap();
        let planned = plan(&flow, &observed).unwrap();
        armed.store(true, Ordering::SeqCst);
        let report = apply(&memory, &planned, &ApplyOptions { concurrency: 1, on_progress: None }).await.unwrap();
        assert!(!armed.load(Ordering::SeqCst), "{doc:?}: the other writer ran");
        assert!(report.applied.iter().any(|c| c.action != Action::NoOp));
        let state = memory.snapshot();
        let mut got = sids(doc.get(&state[&doc.account()]));
        got.sort();
        check(doc, got, expect);
        let again = plan(&flow, &observe(&memory, &flow).await.unwrap()).unwrap();
        let late_kept = again
            .changes
            .iter()
            .all(|c| c.after.as_deref().is_none_or(|a| !a.contains("LateWriter")) || c.action == Action::NoOp);
        assert!(late_kept, "{doc:?}: {again}");
        if !matches!(doc, Doc::TrustB) {
            assert!(again.is_converged(), "{doc:?}: {again}");
        }
        assert!(memory.writes_log().iter().any(|w| w.contains(doc.write_call())), "{doc:?}");
    }
}

/// Destroy of a bucket policy that held only our statements deletes it; when someone added a
/// statement since the plan, that statement is written back alone instead.
#[tokio::test]
async fn destroy_keeps_a_statement_added_since_the_plan() {
    let flow = flow(Access::ReadWrite);
    let armed = Arc::new(AtomicBool::new(false));
    let memory = with_writer(Memory::new([&id(A), &id(B)]), Doc::Bucket, armed.clone(), add_late);
    seed(&memory);
    apply(&memory, &plan(&flow, &observe(&memory, &flow).await.unwrap()).unwrap(), &ApplyOptions::default())
        .await
        .unwrap();
    let destroy = plan_destroy(&flow, &observe(&memory, &flow).await.unwrap());
    assert!(destroy.to_string().contains("- 222222222222 s3 bucket policy of bucket-0: delete"), "{destroy}");
    armed.store(true, Ordering::SeqCst);
    apply(&memory, &destroy, &ApplyOptions { concurrency: 1, on_progress: None }).await.unwrap();
    assert_eq!(sids(Doc::Bucket.get(&memory.snapshot()[&id(B)])), ["LateWriter"]);
}

/// Someone changed one of our statements after the plan: the write to that document is not
/// made, the error names the Sid, and their version stays.
#[tokio::test]
async fn a_change_to_our_statements_stops_the_apply() {
    fn drop_ours(_: Doc, statements: &mut Vec<policy_model::Statement>) {
        statements.retain(|s| s.sid.as_deref() != Some("XacctObjectsMyRoleB"));
    }
    let memory = Memory::new([&id(A), &id(B)]);
    seed(&memory);
    let read_write = flow(Access::ReadWrite);
    apply(
        &memory,
        &plan(&read_write, &observe(&memory, &read_write).await.unwrap()).unwrap(),
        &ApplyOptions::default(),
    )
    .await
    .unwrap();
    let armed = Arc::new(AtomicBool::new(false));
    let memory = {
        let snapshot = memory.snapshot();
        let fresh = with_writer(Memory::new([&id(A), &id(B)]), Doc::Bucket, armed.clone(), drop_ours);
        for (account, state) in snapshot {
            fresh.edit(&account, |a| *a = state);
        }
        fresh
    };
    let read_only = flow(Access::ReadOnly);
    let planned = plan(&read_only, &observe(&memory, &read_only).await.unwrap()).unwrap();
    armed.store(true, Ordering::SeqCst);
    let err = apply(&memory, &planned, &ApplyOptions { concurrency: 1, on_progress: None }).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("bucket policy of bucket-0 in account `222222222222` changed since xacct read it, and the change touched xacct's own statements `XacctObjectsMyRoleB`"), "{text}");
    assert_eq!(sids(Doc::Bucket.get(&memory.snapshot()[&id(B)])), ["XacctBucketMyRoleB"], "their version stays");
    assert!(!memory.writes_log().iter().any(|w| w.contains("PutBucketPolicy")), "{:?}", memory.writes_log());
}

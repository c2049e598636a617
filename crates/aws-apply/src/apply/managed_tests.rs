//! MyRoleA's assume statement in customer managed policies, against the in-memory backend:
//! created and attached, versioned within IAM's 5 versions, deleted on destroy, and a crash at
//! every write converging on the next run.

use policy_model::{Access, AccountId, Bucket, BucketName, Deployment, Flow, Owner, RoleName};

use super::*;
use crate::intercept::FailAt;
use crate::memory::Memory;
use crate::{observe, plan, plan_destroy};

const A: &str = "111111111111";

fn flow(n: usize) -> Flow {
    let owners = (0..n)
        .map(|i| Owner {
            account_id: AccountId::new(&format!("{:012}", 300_000_000_000u64 + i as u64)).unwrap(),
            role: RoleName::new("MyRoleB").unwrap(),
            buckets: vec![Bucket {
                name: BucketName::new(&format!("bucket-{i}")).unwrap(),
                access: Access::ReadWrite,
                kms_key_arn: None,
                mount: false,
            }],
        })
        .collect();
    let deployment = Deployment {
        account_id: AccountId::new(A).unwrap(),
        instance_role: RoleName::new("MyRoleA").unwrap(),
        cross_account_role: None,
    };
    Flow::new("us-east-1", deployment, owners).unwrap()
}

/// Accounts for up to `n` owners, each with its bucket.
fn memory(n: usize, fail: Option<(usize, FailAt)>) -> Memory {
    let ids: Vec<AccountId> = std::iter::once(AccountId::new(A).unwrap())
        .chain((0..n).map(|i| AccountId::new(&format!("{:012}", 300_000_000_000u64 + i as u64)).unwrap()))
        .collect();
    let mut memory = Memory::new(ids.iter());
    if let Some((k, at)) = fail {
        memory = memory.failing_write(k, at);
    }
    for (i, id) in ids.iter().skip(1).enumerate() {
        memory.edit(id, |b| b.buckets.insert(format!("bucket-{i}"), None));
    }
    memory
}

async fn converge(memory: &Memory, flow: &Flow) -> Result<ApplyReport, ApplyError> {
    converge_with(memory, flow, &ApplyOptions::default()).await
}

async fn converge_with(memory: &Memory, flow: &Flow, options: &ApplyOptions) -> Result<ApplyReport, ApplyError> {
    let planned = plan(flow, &observe(memory, flow).await.unwrap()).unwrap();
    apply(memory, &planned, options).await
}

fn policies(memory: &Memory) -> Vec<(String, usize)> {
    let a = &memory.snapshot()[&AccountId::new(A).unwrap()];
    a.policies.iter().map(|(arn, p)| (arn.rsplit('/').next().unwrap().to_owned(), p.versions.len())).collect()
}

#[tokio::test]
async fn managed_assume_policies_are_created_versioned_and_deleted() {
    let memory = memory(310, None);
    converge(&memory, &flow(300)).await.unwrap();
    let a = memory.snapshot()[&AccountId::new(A).unwrap()].clone();
    assert_eq!(a.roles["MyRoleA"].attached.len(), 3, "{:?}", a.roles["MyRoleA"].attached);
    assert!(a.roles["MyRoleA"].inline.is_empty());
    let report = converge(&memory, &flow(300)).await.unwrap();
    assert_eq!(report.api_calls.writes(), 0);

    // Each added owner changes the last policy: a new default version, never more than 5.
    for n in 301..=308 {
        converge(&memory, &flow(n)).await.unwrap();
        assert!(plan(&flow(n), &observe(&memory, &flow(n)).await.unwrap()).unwrap().is_converged(), "n={n}");
        assert!(policies(&memory).iter().all(|(_, versions)| *versions <= 5), "n={n}: {:?}", policies(&memory));
    }
    assert_eq!(policies(&memory).last().map(|p| p.1), Some(5), "{:?}", policies(&memory));

    let observed = observe(&memory, &flow(308)).await.unwrap();
    apply(&memory, &plan_destroy(&flow(308), &observed), &ApplyOptions::default()).await.unwrap();
    assert_eq!(policies(&memory), [], "destroy deletes every version and the policies");
}

#[tokio::test]
async fn a_crash_at_every_write_of_the_managed_layout_converges() {
    // In one order, so that the k-th write is the same on every run; the writes in account A
    // (the roles and the managed policies) are the ones this test is about.
    let sequential = ApplyOptions { concurrency: 1, on_progress: None };
    let reference = memory(300, None);
    converge_with(&reference, &flow(300), &sequential).await.unwrap();
    let in_a: Vec<usize> =
        reference.writes_log().iter().enumerate().filter(|(_, w)| w.starts_with(A)).map(|(i, _)| i + 1).collect();
    assert!(in_a.len() >= 8, "{:?}", reference.writes_log());
    let expected = reference.snapshot();
    for at in [FailAt::BeforeSend, FailAt::AfterSend] {
        for &k in &in_a {
            let memory = memory(300, Some((k, at)));
            assert!(converge_with(&memory, &flow(300), &sequential).await.is_err(), "k={k} {at:?}");
            converge(&memory, &flow(300)).await.unwrap();
            let again = converge(&memory, &flow(300)).await.unwrap();
            assert_eq!(again.api_calls.writes(), 0, "k={k} {at:?}");
            let (got, want) = (&memory.snapshot()[&AccountId::new(A).unwrap()], &expected[&AccountId::new(A).unwrap()]);
            let sorted = |a: &crate::memory::MemAccount| {
                let mut v = a.roles["MyRoleA"].attached.clone();
                v.sort();
                v
            };
            assert_eq!(sorted(got), sorted(want), "k={k} {at:?}");
            let docs = |a: &crate::memory::MemAccount| -> Vec<Option<String>> {
                a.policies
                    .values()
                    .map(|p| p.default_version.as_ref().and_then(|v| p.versions.get(v)).cloned())
                    .collect()
            };
            assert_eq!(docs(got), docs(want), "k={k} {at:?}");
        }
    }
}

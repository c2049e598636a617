//! The writes: a plan's changes in dependency order, with bounded concurrency.
//!
//! The order comes from the planner: a role exists before any policy names
//! it (owner roles after the instance role, which their trust policies name;
//! bucket and key policies after their owner's role; the instance profile and
//! the PassRole policy after the instance role), and destroy runs the other
//! way round. Everything else (other accounts, other buckets) runs in parallel,
//! at most `concurrency` changes at a time. At the first failure nothing new
//! starts, the changes under way finish, and the error says which change failed.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use policy_model::AccountId;
use serde::Serialize;

use crate::accounts::{is_not_found, Accounts, ApiCalls, Error, Service};
use crate::plan::{Action, Change, Op, Plan};
use crate::{MANAGED_TAG_KEY, MANAGED_TAG_VALUE};

/// Called after each change is made: resource, action, and how long it took.
pub type Progress = Arc<dyn Fn(&str, Action, Duration) + Send + Sync>;

#[derive(Clone)]
pub struct ApplyOptions {
    /// The most changes under way at once; 0 is taken as 1.
    pub concurrency: usize,
    pub on_progress: Option<Progress>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions { concurrency: 8, on_progress: None }
    }
}

impl std::fmt::Debug for ApplyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplyOptions").field("concurrency", &self.concurrency).finish_non_exhaustive()
    }
}

/// One change that was made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Applied {
    pub account: AccountId,
    pub service: Service,
    pub resource: String,
    pub action: Action,
    pub elapsed: Duration,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ApplyReport {
    /// The changes made, in the order they finished.
    pub applied: Vec<Applied>,
    /// The calls this apply made.
    pub api_calls: ApiCalls,
    pub elapsed: Duration,
}

#[derive(Debug, thiserror::Error)]
#[error("could not {action} {resource} in account `{account}`: {source}")]
pub struct ApplyError {
    pub account: AccountId,
    pub resource: String,
    pub action: Action,
    #[source]
    pub source: Error,
    /// What was done before the failure.
    pub report: ApplyReport,
}

/// Makes the plan's changes. A converged plan makes no call.
pub async fn apply(accounts: &Accounts, plan: &Plan, options: &ApplyOptions) -> Result<ApplyReport, ApplyError> {
    let started = Instant::now();
    let calls_before = accounts.api_calls();
    let changes = &plan.changes;
    let index: HashMap<&str, usize> = changes.iter().enumerate().map(|(i, c)| (c.key.as_str(), i)).collect();
    let pending = |i: usize| changes[i].action != Action::NoOp;

    let mut waiting_on = vec![0usize; changes.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); changes.len()];
    for (i, change) in changes.iter().enumerate().filter(|(i, _)| pending(*i)) {
        for dep in change.after_keys.iter().filter_map(|k| index.get(k.as_str())).filter(|d| pending(**d)) {
            waiting_on[i] += 1;
            dependents[*dep].push(i);
        }
    }
    let mut ready: VecDeque<usize> = (0..changes.len()).filter(|i| pending(*i) && waiting_on[*i] == 0).collect();
    let mut running = FuturesUnordered::new();
    let mut report = ApplyReport::default();
    let mut failure: Option<(usize, Error)> = None;
    let limit = options.concurrency.max(1);

    loop {
        while failure.is_none() && running.len() < limit {
            let Some(i) = ready.pop_front() else { break };
            running.push(async move {
                let start = Instant::now();
                let result = run_change(accounts, &changes[i]).await;
                (i, result, start.elapsed())
            });
        }
        let Some((i, result, elapsed)) = running.next().await else { break };
        let change = &changes[i];
        match result {
            Ok(()) => {
                tracing::info!(account = %change.account, resource = %change.resource, action = %change.action, ?elapsed, "applied");
                if let Some(progress) = &options.on_progress {
                    progress(&change.resource, change.action, elapsed);
                }
                report.applied.push(Applied {
                    account: change.account.clone(),
                    service: change.service,
                    resource: change.resource.clone(),
                    action: change.action,
                    elapsed,
                });
                for &d in &dependents[i] {
                    waiting_on[d] -= 1;
                    if waiting_on[d] == 0 {
                        ready.push_back(d);
                    }
                }
            }
            Err(err) => {
                tracing::error!(account = %change.account, resource = %change.resource, error = %err, "failed");
                failure.get_or_insert((i, err));
            }
        }
    }

    report.api_calls = accounts.api_calls().since(&calls_before);
    report.elapsed = started.elapsed();
    match failure {
        None => Ok(report),
        Some((i, source)) => Err(ApplyError {
            account: changes[i].account.clone(),
            resource: changes[i].resource.clone(),
            action: changes[i].action,
            source,
            report,
        }),
    }
}

async fn run_change(accounts: &Accounts, change: &Change) -> Result<(), Error> {
    for op in &change.ops {
        run_op(accounts, &change.account, op).await?;
    }
    Ok(())
}

macro_rules! call {
    ($accounts:expr, $account:expr, $service:expr, $name:literal, $send:expr) => {
        $accounts
            .call($account, $service, $name, || $send)
            .await
            .map_err(|e| $accounts.fail($account, $service, $name, e))
    };
}

async fn run_op(accounts: &Accounts, account: &AccountId, op: &Op) -> Result<(), Error> {
    let clients = accounts.clients(account)?;
    let (iam, s3, kms) = (&clients.iam, &clients.s3, &clients.kms);
    let tag = || aws_sdk_iam::types::Tag::builder().key(MANAGED_TAG_KEY).value(MANAGED_TAG_VALUE).build();
    let tag = tag().map_err(|e| Error::Call {
        account: account.clone(),
        service: Service::Iam,
        call: "CreateRole",
        code: None,
        message: e.to_string(),
    })?;
    match op {
        Op::CreateRole { name, trust } => {
            call!(
                accounts,
                account,
                Service::Iam,
                "CreateRole",
                iam.create_role()
                    .role_name(name)
                    .assume_role_policy_document(trust)
                    .description("Managed by xacct")
                    .tags(tag.clone())
                    .send()
            )?;
        }
        Op::UpdateTrust { role, doc } => {
            call!(
                accounts,
                account,
                Service::Iam,
                "UpdateAssumeRolePolicy",
                iam.update_assume_role_policy().role_name(role).policy_document(doc).send()
            )?;
        }
        Op::PutRolePolicy { role, name, doc } => {
            call!(
                accounts,
                account,
                Service::Iam,
                "PutRolePolicy",
                iam.put_role_policy().role_name(role).policy_name(name).policy_document(doc).send()
            )?;
        }
        Op::DeleteRolePolicy { role, name } => {
            call!(
                accounts,
                account,
                Service::Iam,
                "DeleteRolePolicy",
                iam.delete_role_policy().role_name(role).policy_name(name).send()
            )?;
        }
        Op::CreateInstanceProfile { name } => {
            call!(
                accounts,
                account,
                Service::Iam,
                "CreateInstanceProfile",
                iam.create_instance_profile().instance_profile_name(name).tags(tag.clone()).send()
            )?;
        }
        Op::AddRoleToInstanceProfile { profile, role } => {
            call!(
                accounts,
                account,
                Service::Iam,
                "AddRoleToInstanceProfile",
                iam.add_role_to_instance_profile().instance_profile_name(profile).role_name(role).send()
            )?;
        }
        Op::RemoveRoleFromInstanceProfile { profile, role } => {
            call!(
                accounts,
                account,
                Service::Iam,
                "RemoveRoleFromInstanceProfile",
                iam.remove_role_from_instance_profile().instance_profile_name(profile).role_name(role).send()
            )?;
        }
        Op::DeleteInstanceProfile { name } => {
            call!(
                accounts,
                account,
                Service::Iam,
                "DeleteInstanceProfile",
                iam.delete_instance_profile().instance_profile_name(name).send()
            )?;
        }
        Op::DeleteRole { name } => delete_role(accounts, account, name).await?,
        Op::PutBucketPolicy { bucket, doc } => {
            call!(
                accounts,
                account,
                Service::S3,
                "PutBucketPolicy",
                s3.put_bucket_policy().bucket(bucket).policy(doc).send()
            )?;
        }
        Op::DeleteBucketPolicy { bucket } => {
            call!(
                accounts,
                account,
                Service::S3,
                "DeleteBucketPolicy",
                s3.delete_bucket_policy().bucket(bucket).send()
            )?;
        }
        Op::PutKeyPolicy { key, doc } => {
            call!(
                accounts,
                account,
                Service::Kms,
                "PutKeyPolicy",
                kms.put_key_policy().key_id(key).policy_name("default").policy(doc).send()
            )?;
        }
    }
    Ok(())
}

/// A role can only be deleted once it is in no instance profile and has no
/// policies: take those away first (this role is ours, and so is what hangs on it).
async fn delete_role(accounts: &Accounts, account: &AccountId, name: &str) -> Result<(), Error> {
    let iam = &accounts.clients(account)?.iam;
    let profiles = call!(
        accounts,
        account,
        Service::Iam,
        "ListInstanceProfilesForRole",
        iam.list_instance_profiles_for_role().role_name(name).send()
    )?;
    for profile in profiles.instance_profiles() {
        let profile = profile.instance_profile_name();
        call!(
            accounts,
            account,
            Service::Iam,
            "RemoveRoleFromInstanceProfile",
            iam.remove_role_from_instance_profile().instance_profile_name(profile).role_name(name).send()
        )?;
    }
    let inline =
        call!(accounts, account, Service::Iam, "ListRolePolicies", iam.list_role_policies().role_name(name).send())?;
    for policy in inline.policy_names() {
        call!(
            accounts,
            account,
            Service::Iam,
            "DeleteRolePolicy",
            iam.delete_role_policy().role_name(name).policy_name(policy).send()
        )?;
    }
    let attached = call!(
        accounts,
        account,
        Service::Iam,
        "ListAttachedRolePolicies",
        iam.list_attached_role_policies().role_name(name).send()
    )?;
    for policy in attached.attached_policies() {
        if let Some(arn) = policy.policy_arn() {
            call!(
                accounts,
                account,
                Service::Iam,
                "DetachRolePolicy",
                iam.detach_role_policy().role_name(name).policy_arn(arn).send()
            )?;
        }
    }
    match accounts.call(account, Service::Iam, "DeleteRole", || iam.delete_role().role_name(name).send()).await {
        Ok(_) => Ok(()),
        Err(err) if is_not_found(&err, &["NoSuchEntity"]) => Ok(()),
        Err(err) => Err(accounts.fail(account, Service::Iam, "DeleteRole", err)),
    }
}

//! The writes: a plan's changes in dependency order, with bounded concurrency.
//!
//! The order comes from the planner: a role exists before any policy names
//! it (owner roles after the instance role, which their trust policies name;
//! bucket and key policies after their owner's role; the instance profile and
//! the PassRole policy after the instance role), and destroy runs the other
//! way round. A write whose earlier attempt took effect though its reply was
//! lost is accepted once the resource is read back and found to be ours and
//! as planned (`EntityAlreadyExists`, `LimitExceeded` on a profile that holds
//! our role, `NoSuchEntity` on a delete). Everything else (other accounts, other buckets) runs in parallel,
//! at most `concurrency` changes at a time. At the first failure nothing new
//! starts, the changes under way finish, and the error says which change failed.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use policy_model::{AccountId, PolicyDocument};
use serde::Serialize;

use crate::accounts::{ApiCalls, Error, Service};
use crate::backend::{all_pages, Aws, BucketPolicy};
use crate::model::is_managed;
use crate::observe::parse;
use crate::plan::{same, Action, Change, Op, Plan};
use crate::rebase::{self, Guard, Rebased, Refused};
use crate::{MANAGED_TAG_KEY, MANAGED_TAG_VALUE};

/// Called after each change is made: resource, action, and how long it took.
pub type Progress = Arc<dyn Fn(&str, Action, Duration) + Send + Sync>;

/// How [`apply`] runs. The default runs 8 changes at once and reports no progress.
#[derive(Clone)]
pub struct ApplyOptions {
    /// The most changes under way at once; 0 is taken as 1.
    pub concurrency: usize,
    /// Called after each change is made, in the order the changes finish.
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
    /// The account the change was made in.
    pub account: AccountId,
    /// The service called.
    pub service: Service,
    /// The resource, as [`Change::resource`] names it.
    pub resource: String,
    /// What was done to it.
    pub action: Action,
    /// How long the change's calls took, retries included.
    pub elapsed: Duration,
}

/// What an apply did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ApplyReport {
    /// The changes made, in the order they finished.
    pub applied: Vec<Applied>,
    /// The calls this apply made.
    pub api_calls: ApiCalls,
    /// Wall-clock time of the whole apply.
    pub elapsed: Duration,
}

/// The change that failed, why, and what had been done before it.
#[derive(Debug, thiserror::Error)]
#[error("could not {action} {resource} in account `{account}`: {source}")]
pub struct ApplyError {
    /// The account of the failed change.
    pub account: AccountId,
    /// The resource of the failed change, as [`Change::resource`] names it.
    pub resource: String,
    /// What the failed change was to do.
    pub action: Action,
    /// The call that failed.
    #[source]
    pub source: Error,
    /// What was done before the failure.
    pub report: ApplyReport,
}

/// Makes the plan's changes. A converged plan makes no call.
pub async fn apply<B: Aws + ?Sized>(aws: &B, plan: &Plan, options: &ApplyOptions) -> Result<ApplyReport, ApplyError> {
    let started = Instant::now();
    let calls_before = aws.api_calls();
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
                let result = run_change(aws, &changes[i]).await;
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

    report.api_calls = aws.api_calls().since(&calls_before);
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

async fn run_change<B: Aws + ?Sized>(aws: &B, change: &Change) -> Result<(), Error> {
    for op in &change.ops {
        match &change.guard {
            Some(guard) => {
                if let Some(op) = rebased(aws, change, guard, op).await? {
                    run_op(aws, &change.account, &op).await?;
                }
            }
            None => run_op(aws, &change.account, op).await?,
        }
    }
    Ok(())
}

/// A policy write, after reading the document again (see [`rebase`](crate::rebase)): the planned
/// op when the document is as the plan read it, otherwise the op that makes the plan's change to
/// the new copy, or `None` when nothing is left to do. Ops that write no policy are returned as
/// they are.
async fn rebased<B: Aws + ?Sized>(aws: &B, change: &Change, guard: &Guard, op: &Op) -> Result<Option<Op>, Error> {
    let account = &change.account;
    let now = match op {
        Op::UpdateTrust { role, .. } => match aws.get_role(account, role).await? {
            Some(info) => info.trust.map(|t| parse(account, Service::Iam, "GetRole", &t)).transpose()?,
            None => None,
        },
        Op::PutRolePolicy { role, name, .. } | Op::DeleteRolePolicy { role, name } => aws
            .get_role_policy(account, role, name)
            .await?
            .map(|t| parse(account, Service::Iam, "GetRolePolicy", &t))
            .transpose()?,
        Op::PutBucketPolicy { bucket, .. } | Op::DeleteBucketPolicy { bucket } => {
            match aws.get_bucket_policy(account, bucket).await? {
                BucketPolicy::Some(t) => Some(parse(account, Service::S3, "GetBucketPolicy", &t)?),
                BucketPolicy::None | BucketPolicy::NoBucket => None,
            }
        }
        Op::PutKeyPolicy { key, .. } => aws
            .get_key_policy(account, key)
            .await?
            .map(|t| parse(account, Service::Kms, "GetKeyPolicy", &t))
            .transpose()?,
        _ => return Ok(Some(op.clone())),
    };
    let resource = || change.resource.clone();
    let rebased = rebase::rebase(guard, now.as_ref()).map_err(|refused| match refused {
        Refused::Touched(sids) => Error::Conflict {
            account: account.clone(),
            resource: resource(),
            sids: sids.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", "),
        },
        Refused::TooLarge { size } => {
            Error::ConflictTooLarge { account: account.clone(), resource: resource(), size, limit: guard.limit }
        }
    })?;
    if rebased != Rebased::AsPlanned {
        tracing::warn!(%account, resource = %change.resource, "the document changed since the plan read it; the plan's change is made to the new copy");
    }
    Ok(match rebased {
        Rebased::AsPlanned => Some(op.clone()),
        Rebased::Nothing => None,
        Rebased::Write(doc) => {
            let doc = doc.to_json();
            Some(match op {
                Op::UpdateTrust { role, .. } => Op::UpdateTrust { role: role.clone(), doc },
                Op::PutRolePolicy { role, name, .. } | Op::DeleteRolePolicy { role, name } => {
                    Op::PutRolePolicy { role: role.clone(), name: name.clone(), doc }
                }
                Op::PutBucketPolicy { bucket, .. } | Op::DeleteBucketPolicy { bucket } => {
                    Op::PutBucketPolicy { bucket: bucket.clone(), doc }
                }
                Op::PutKeyPolicy { key, .. } => Op::PutKeyPolicy { key: key.clone(), doc },
                other => other.clone(),
            })
        }
        Rebased::Delete => match op {
            Op::PutRolePolicy { role, name, .. } | Op::DeleteRolePolicy { role, name } => {
                Some(Op::DeleteRolePolicy { role: role.clone(), name: name.clone() })
            }
            Op::PutBucketPolicy { bucket, .. } | Op::DeleteBucketPolicy { bucket } => {
                Some(Op::DeleteBucketPolicy { bucket: bucket.clone() })
            }
            // A trust or key policy cannot be deleted: what is left of the plan's change is nothing.
            _ => None,
        },
    })
}

fn managed_tags() -> BTreeMap<String, String> {
    BTreeMap::from([(MANAGED_TAG_KEY.to_owned(), MANAGED_TAG_VALUE.to_owned())])
}

/// True for a failure that says the thing is already gone: a delete whose
/// earlier attempt took effect though its reply was lost.
fn gone(result: Result<(), Error>) -> Result<(), Error> {
    match result {
        Err(err) if err.code() == Some("NoSuchEntity") => Ok(()),
        other => other,
    }
}

async fn run_op<B: Aws + ?Sized>(aws: &B, account: &AccountId, op: &Op) -> Result<(), Error> {
    match op {
        Op::CreateRole { name, trust, tags, boundary, path } => {
            match aws.create_role(account, name, trust, tags, boundary.as_deref(), path.as_deref()).await {
                Err(err) if err.code() == Some("EntityAlreadyExists") => role_is_ours(aws, account, name, trust).await,
                other => other,
            }
        }
        Op::PutRolePermissionsBoundary { role, arn } => aws.put_role_permissions_boundary(account, role, arn).await,
        Op::TagRole { role, tags } => aws.tag_role(account, role, tags).await,
        Op::UntagRole { role, keys } => aws.untag_role(account, role, keys).await,
        Op::UpdateTrust { role, doc } => aws.update_assume_role_policy(account, role, doc).await,
        Op::PutRolePolicy { role, name, doc } => aws.put_role_policy(account, role, name, doc).await,
        Op::DeleteRolePolicy { role, name } => gone(aws.delete_role_policy(account, role, name).await),
        Op::CreateInstanceProfile { name, path } => {
            match aws.create_instance_profile(account, name, &managed_tags(), path.as_deref()).await {
                Err(err) if err.code() == Some("EntityAlreadyExists") => profile_is_ours(aws, account, name).await,
                other => other,
            }
        }
        Op::AddRoleToInstanceProfile { profile, role } => {
            match aws.add_role_to_instance_profile(account, profile, role).await {
                Err(err) if err.code() == Some("LimitExceeded") => {
                    let holds = aws.get_instance_profile(account, profile).await?;
                    let names: Vec<String> =
                        holds.iter().flat_map(|p| p.roles.iter().map(|r| r.name.clone())).collect();
                    if names == [role.clone()] {
                        tracing::info!(%account, profile, role, "the role is already in the instance profile");
                        Ok(())
                    } else {
                        Err(err)
                    }
                }
                other => other,
            }
        }
        Op::RemoveRoleFromInstanceProfile { profile, role } => {
            gone(aws.remove_role_from_instance_profile(account, profile, role).await)
        }
        Op::DeleteInstanceProfile { name } => gone(aws.delete_instance_profile(account, name).await),
        Op::DeleteRole { name } => delete_role(aws, account, name).await,
        Op::PutBucketPolicy { bucket, doc } => aws.put_bucket_policy(account, bucket, doc).await,
        Op::DeleteBucketPolicy { bucket } => aws.delete_bucket_policy(account, bucket).await,
        Op::PutKeyPolicy { key, doc } => aws.put_key_policy(account, key, doc).await,
        Op::CreatePolicy { name, arn, doc } => match aws.create_policy(account, name, doc).await {
            // A run that stopped before attaching it: its name is ours (xacct's prefix), so it gets our document.
            Err(err) if err.code() == Some("EntityAlreadyExists") => put_policy_version(aws, account, arn, doc).await,
            other => other,
        },
        Op::PutPolicyVersion { arn, doc } => put_policy_version(aws, account, arn, doc).await,
        Op::AttachRolePolicy { role, arn } => aws.attach_role_policy(account, role, arn).await,
        Op::DetachRolePolicy { role, arn } => gone(aws.detach_role_policy(account, role, arn).await),
        Op::DeletePolicy { arn } => {
            for version in non_default_versions(aws, account, arn).await? {
                gone(aws.delete_policy_version(account, arn, &version).await)?;
            }
            gone(aws.delete_policy(account, arn).await)
        }
    }
}

/// The versions of a managed policy other than the default, oldest first; none when it is gone.
async fn non_default_versions<B: Aws + ?Sized>(aws: &B, account: &AccountId, arn: &str) -> Result<Vec<String>, Error> {
    let versions = match all_pages(|m| aws.list_policy_versions(account, arn, m)).await {
        Ok(versions) => versions,
        Err(err) if err.code() == Some("NoSuchEntity") => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    let number = |id: &str| id.trim_start_matches('v').parse::<u64>().unwrap_or(0);
    let mut old: Vec<String> = versions.into_iter().filter(|v| !v.is_default).map(|v| v.id).collect();
    old.sort_by_key(|id| number(id));
    Ok(old)
}

/// IAM keeps at most 5 versions of a managed policy: the oldest non-default ones go first, then
/// `doc` becomes the new default version.
async fn put_policy_version<B: Aws + ?Sized>(aws: &B, account: &AccountId, arn: &str, doc: &str) -> Result<(), Error> {
    let old = non_default_versions(aws, account, arn).await?;
    // With the default, at most 4 may stay before the new one is added.
    let excess = (old.len() + 1).saturating_sub(4);
    for version in old.iter().take(excess) {
        gone(aws.delete_policy_version(account, arn, version).await)?;
    }
    aws.create_policy_version(account, arn, doc).await
}

/// A CreateRole answered `EntityAlreadyExists`: an earlier attempt whose reply
/// was lost, or someone else's role. Done when the role carries our tag and the planned trust policy.
async fn role_is_ours<B: Aws + ?Sized>(aws: &B, account: &AccountId, name: &str, trust: &str) -> Result<(), Error> {
    let resource = format!("role `{name}`");
    let not_ours =
        |why: &str| Error::NotOurs { account: account.clone(), resource: resource.clone(), why: why.to_owned() };
    let Some(role) = aws.get_role(account, name).await? else {
        return Err(not_ours("cannot be read back"));
    };
    if !is_managed(&role.tags) {
        return Err(not_ours(&format!("has no `{MANAGED_TAG_KEY}={MANAGED_TAG_VALUE}` tag")));
    }
    let planned = PolicyDocument::from_api_text(trust).ok();
    let found = role.trust.as_deref().and_then(|t| PolicyDocument::from_api_text(t).ok());
    match (planned, found) {
        (Some(p), Some(f)) if same(&p, &f) => {
            tracing::info!(%account, role = name, "the role was created by an earlier attempt");
            Ok(())
        }
        _ => Err(not_ours("its trust policy is not the planned one")),
    }
}

/// A CreateInstanceProfile answered `EntityAlreadyExists`. Done when the
/// profile carries our tag and holds no role but the one of the same name.
async fn profile_is_ours<B: Aws + ?Sized>(aws: &B, account: &AccountId, name: &str) -> Result<(), Error> {
    let resource = format!("instance profile `{name}`");
    let not_ours =
        |why: &str| Error::NotOurs { account: account.clone(), resource: resource.clone(), why: why.to_owned() };
    let Some(profile) = aws.get_instance_profile(account, name).await? else {
        return Err(not_ours("cannot be read back"));
    };
    if !is_managed(&profile.tags) {
        return Err(not_ours(&format!("has no `{MANAGED_TAG_KEY}={MANAGED_TAG_VALUE}` tag")));
    }
    if profile.roles.iter().any(|r| r.name != name) {
        return Err(not_ours("holds another role"));
    }
    tracing::info!(%account, profile = name, "the instance profile was created by an earlier attempt");
    Ok(())
}

/// A role can only be deleted once it is in no instance profile and has no
/// policies: take those away first (this role is ours, and so is what hangs on
/// it). Every list is read to its last page.
async fn delete_role<B: Aws + ?Sized>(aws: &B, account: &AccountId, name: &str) -> Result<(), Error> {
    for profile in all_pages(|m| aws.list_instance_profiles_for_role(account, name, m)).await? {
        gone(aws.remove_role_from_instance_profile(account, &profile, name).await)?;
    }
    for policy in all_pages(|m| aws.list_role_policies(account, name, m)).await? {
        gone(aws.delete_role_policy(account, name, &policy).await)?;
    }
    for arn in all_pages(|m| aws.list_attached_role_policies(account, name, m)).await? {
        gone(aws.detach_role_policy(account, name, &arn).await)?;
    }
    gone(aws.delete_role(account, name).await)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod concurrent_tests;

#[cfg(test)]
mod managed_tests;

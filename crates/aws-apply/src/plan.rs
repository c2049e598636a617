//! The planner: a pure function from the flow and the observed state to a
//! list of changes, one per resource document.
//!
//! A document xacct owns outright (the trust policy of a role it created, its
//! own inline policy) is replaced whole. A document others also edit (a bucket
//! policy, a key policy, the cross-account role's PassRole policy, the trust
//! policy of a role someone else created) gets our statements merged in by Sid,
//! and every foreign statement is kept as it is.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use policy_model::build::{self, ASSUME_POLICY_NAME};
use policy_model::document::OneOrMany;
use policy_model::merge::{self as policy_merge, MergeError};
use policy_model::unity::{self, PERMISSION_POLICY_NAME};
use policy_model::validate::{self, DocKind};
use policy_model::{AccountId, Deployment, Flow, PolicyDocument, Principal, Statement};
use serde::Serialize;

use crate::accounts::Service;
use crate::model::{InstanceProfile, Observed, Role};
use crate::rebase::Guard;
use crate::roles::RoleSettings;
use crate::sizes::{written_size, DocSize};

/// What happens to one resource document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// The resource or document does not exist and is created.
    Create,
    /// It exists and differs from what the flow needs; it is replaced or merged into.
    Update,
    /// It is removed (destroy, or a document with nothing left in it).
    Delete,
    /// It is already as the flow needs: no call is made.
    NoOp,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::NoOp => "no-op",
        })
    }
}

/// One resource and what the plan does to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The account the resource is in.
    pub account: AccountId,
    /// The service that holds the resource.
    pub service: Service,
    /// For people: `role MyRoleA`, `bucket policy of my-bucket`, …
    pub resource: String,
    /// What the plan does to the resource.
    pub action: Action,
    /// The document as it is, canonical pretty JSON; `None` when there is none.
    pub before: Option<String>,
    /// The document as the plan leaves it; `None` when it is deleted.
    pub after: Option<String>,
    /// A unified diff from `before` to `after`, when they differ.
    pub diff: Option<String>,
    /// The calls that make the change, in order.
    #[serde(skip)]
    pub(crate) ops: Vec<Op>,
    /// A stable name for this change, for dependencies.
    #[serde(skip)]
    pub(crate) key: String,
    /// Keys of the changes that must be done before this one.
    #[serde(skip)]
    pub(crate) after_keys: Vec<String>,
    /// For a policy write: the document as the plan read it, re-read just before the write.
    #[serde(skip)]
    pub(crate) guard: Option<Guard>,
}

/// The changes, in an order that is also a valid sequential order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    /// One change per resource document, no-ops included.
    pub changes: Vec<Change>,
    /// The validator's warnings on the documents the plan writes: legal, but risky or probably
    /// not what was meant. Its errors are [`PlanProblem::Invalid`] and stop the plan.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The documents the plan writes that are past 80 % of their size limit, counted as their
    /// service counts (see [`sizes`](crate::sizes)).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sizes: Vec<DocSize>,
}

impl Plan {
    /// True when applying the plan would write nothing.
    pub fn is_converged(&self) -> bool {
        self.changes.iter().all(|c| c.action == Action::NoOp)
    }

    /// The number of write calls the plan makes, not counting the reads that a
    /// role deletion needs to find what is attached to the role.
    pub fn write_calls(&self) -> usize {
        self.changes.iter().map(|c| c.ops.len()).sum()
    }
}

impl fmt::Display for Plan {
    /// One line per change (`+` create, `~` update, `-` delete, `=` no-op), each followed by its diff.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for change in &self.changes {
            let sign = match change.action {
                Action::Create => '+',
                Action::Update => '~',
                Action::Delete => '-',
                Action::NoOp => '=',
            };
            writeln!(f, "{sign} {} {} {}: {}", change.account, change.service, change.resource, change.action)?;
            if let Some(diff) = &change.diff {
                for line in diff.lines() {
                    writeln!(f, "    {line}")?;
                }
            }
        }
        if !self.sizes.is_empty() {
            writeln!(f, "near their size limit:")?;
            for size in &self.sizes {
                writeln!(f, "    {size}")?;
            }
        }
        Ok(())
    }
}

/// One thing that makes the flow impossible to plan. Nothing is written when there is any.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanProblem {
    /// A bucket of the flow does not exist.
    #[error("bucket `{bucket}` does not exist in account `{account}`: xacct does not create buckets; create it or fix the name")]
    MissingBucket {
        /// The bucket owner's account.
        account: AccountId,
        /// The bucket's name.
        bucket: String,
    },
    /// The config's cross-account role does not exist.
    #[error("cross-account role `{role}` does not exist: xacct never creates it; fix `cross_account_role` or create the role")]
    MissingCrossAccountRole {
        /// The role's ARN.
        role: String,
    },
    /// A KMS key of the flow does not exist, or its policy cannot be read.
    #[error("kms key `{key}` does not exist or is not readable in account `{account}`")]
    MissingKey {
        /// The bucket owner's account.
        account: AccountId,
        /// The key's ARN.
        key: String,
    },
    /// An instance profile of the instance role's name exists, was not created by xacct, and holds
    /// another role.
    #[error("instance profile `{profile}` holds role `{holds}`, not `{role}`, and xacct did not create it")]
    ForeignInstanceProfile {
        /// The instance profile's ARN.
        profile: String,
        /// The names of the roles it holds, comma-separated.
        holds: String,
        /// The instance role it should hold.
        role: String,
    },
    /// Our statements cannot be merged into a shared document.
    #[error("cannot merge our statements into {what}: {message}")]
    Merge {
        /// The document, for people, e.g. `bucket policy of my-bucket`.
        what: String,
        /// Why the merge failed.
        message: String,
    },
    /// A document would be over its size limit.
    #[error("{what} would be {size} {unit}, over the limit of {limit}")]
    TooLarge {
        /// The document, for people, e.g. `bucket policy of my-bucket`.
        what: String,
        /// Its size, counted as its service counts it.
        size: usize,
        /// The most a document of its kind may have.
        limit: usize,
        /// `characters` (IAM, without whitespace) or `bytes` (S3, KMS).
        unit: &'static str,
    },
    /// AWS would refuse a document the plan writes.
    #[error("{what}: {finding}")]
    Invalid {
        /// The document, for people, e.g. `bucket policy of my-bucket`.
        what: String,
        /// What the validator found.
        finding: String,
    },
    /// The inline policy `cross_account_policy` names does not exist on the cross-account role.
    #[error("inline policy `{policy}` of role `{role}` does not exist: `cross_account_policy` names an existing inline policy to merge the PassRole statement into; fix the name, or leave it out to have xacct write its own policy")]
    MissingCrossAccountPolicy {
        /// The role's ARN.
        role: String,
        /// The policy name.
        policy: String,
    },
    /// The instance role's assume statement fits neither inline nor in the managed policies a role may have.
    #[error(transparent)]
    AssumePolicyTooLarge(build::AssumePolicyTooLarge),
    /// The instance role's assume statement passes the inline limit, and the managed policies it
    /// needs do not fit next to the ones already attached to the role.
    #[error(
        "the instance role's sts:AssumeRole statement on {roles} owner roles is {size} characters without whitespace, \
         {} over IAM's limit of {limit} for a role's inline policies; spread over managed policies it needs {managed}, \
         and the role already has {foreign} other managed policies attached: {} more than the {quota} IAM attaches to a \
         role by default. Detach some, ask AWS to raise the quota, or split the owners over several instance roles",
        size - limit,
        foreign + managed - quota
    )]
    AssumePolicyOverQuota {
        /// How many owner roles the statement names.
        roles: usize,
        /// Characters of the inline statement, without whitespace.
        size: usize,
        /// IAM's limit for a role's inline policies together.
        limit: usize,
        /// How many managed policies the statement needs.
        managed: usize,
        /// The managed policies attached to the role that are not xacct's.
        foreign: usize,
        /// Managed policies per role.
        quota: usize,
    },
}

/// Every problem found while planning.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct PlanError {
    /// Every problem, in the order found; never empty.
    pub problems: Vec<PlanProblem>,
}

/// One call that makes a change. Documents are compact JSON.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    CreateRole {
        name: String,
        trust: String,
        tags: BTreeMap<String, String>,
        boundary: Option<String>,
        path: Option<String>,
    },
    PutRolePermissionsBoundary {
        role: String,
        arn: String,
    },
    TagRole {
        role: String,
        tags: BTreeMap<String, String>,
    },
    UntagRole {
        role: String,
        keys: Vec<String>,
    },
    UpdateTrust {
        role: String,
        doc: String,
    },
    PutRolePolicy {
        role: String,
        name: String,
        doc: String,
    },
    DeleteRolePolicy {
        role: String,
        name: String,
    },
    CreateInstanceProfile {
        name: String,
        path: Option<String>,
    },
    AddRoleToInstanceProfile {
        profile: String,
        role: String,
    },
    RemoveRoleFromInstanceProfile {
        profile: String,
        role: String,
    },
    DeleteInstanceProfile {
        name: String,
    },
    /// Takes the role out of its instance profiles, removes its policies, then deletes it.
    DeleteRole {
        name: String,
    },
    PutBucketPolicy {
        bucket: String,
        doc: String,
    },
    /// CreatePolicy; when it exists already (a run stopped before attaching it), a new default version.
    CreatePolicy {
        name: String,
        arn: String,
        doc: String,
    },
    /// A new default version, after deleting the oldest ones past IAM's 5 versions.
    PutPolicyVersion {
        arn: String,
        doc: String,
    },
    AttachRolePolicy {
        role: String,
        arn: String,
    },
    DetachRolePolicy {
        role: String,
        arn: String,
    },
    /// Deletes its versions other than the default, then the policy.
    DeletePolicy {
        arn: String,
    },
    DeleteBucketPolicy {
        bucket: String,
    },
    PutKeyPolicy {
        key: String,
        doc: String,
    },
}

/// The changes that bring the observed state to the flow.
///
/// Fails, with every problem at once, when a bucket, key or the cross-account
/// role is missing, when an account is both A and B, or when a merged document
/// would exceed its size limit.
pub fn plan(flow: &Flow, observed: &Observed) -> Result<Plan, PlanError> {
    plan_with(flow, observed, &RoleSettings::default(), &BTreeMap::new())
}

/// What a Unity Catalog owner's trust policy names, once Databricks has made its storage
/// credential: the external ID it returned and the master role it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnityTrust {
    /// `aws_iam_role.external_id` of the credential.
    pub external_id: String,
    /// `aws_iam_role.unity_catalog_iam_arn`, when the API returned one; otherwise the flow's.
    pub master_role_arn: Option<String>,
}

/// [`plan`], with what the organization demands of every role xacct creates (its permissions
/// boundary, path and tags are set when the role is created, and brought back on a role of
/// ours whose boundary or tags differ), and the trust each Unity Catalog owner's role must
/// carry, by account. An owner without a trust entry (its credential does not exist yet) gets
/// the trust with [`unity::PENDING_EXTERNAL_ID`], which nobody can assume; once the credential
/// exists, the trust is rewritten with the real ID.
pub fn plan_with(
    flow: &Flow,
    observed: &Observed,
    settings: &RoleSettings,
    trust: &BTreeMap<AccountId, UnityTrust>,
) -> Result<Plan, PlanError> {
    let mut p = Planner::new(observed, settings);
    // Account A is touched only when some owner uses the instance-profile mode.
    if let Some(deployment) = flow.deployment().filter(|_| !flow.owners().is_empty()) {
        plan_runbook(&mut p, flow, deployment);
    }
    plan_unity(&mut p, flow, trust);
    if p.problems.is_empty() {
        Ok(Plan { changes: p.changes, warnings: p.warnings, sizes: p.sizes })
    } else {
        Err(PlanError { problems: p.problems })
    }
}
/// The Unity Catalog owners' roles: the trust, then the permission policy. Buckets and keys are
/// left alone (the role's identity policy grants what it needs in its own account).
fn plan_unity(p: &mut Planner<'_>, flow: &Flow, trust: &BTreeMap<AccountId, UnityTrust>) {
    let observed = p.observed;
    for owner in flow.unity_owners() {
        let arn = owner.role_arn();
        let known = trust.get(&owner.account_id);
        let master = known.and_then(|t| t.master_role_arn.as_deref()).unwrap_or(flow.uc_master_role_arn());
        let want = unity::trust_policy(owner, master, known.map(|t| t.external_id.as_str()));
        p.role(&owner.account_id, owner.role.as_str(), &arn, want, vec![]);
        let existing = observed.roles.get(&arn).and_then(|r| r.inline.get(PERMISSION_POLICY_NAME));
        let policy = unity::permission_policy(owner);
        p.inline_policy(
            &owner.account_id,
            owner.role.as_str(),
            PERMISSION_POLICY_NAME,
            existing,
            policy,
            vec![key_role(&arn)],
        );
        for bucket in &owner.buckets {
            if !observed.buckets.contains_key(bucket.name.as_str()) {
                p.problems.push(PlanProblem::MissingBucket {
                    account: owner.account_id.clone(),
                    bucket: bucket.name.as_str().to_owned(),
                });
            }
        }
    }
}

fn plan_runbook(p: &mut Planner<'_>, flow: &Flow, deployment: &Deployment) {
    let observed = p.observed;
    let settings = p.settings;
    let a = &deployment.account_id;
    // Account A as a bucket owner is refused by `Flow::new`, before any plan.

    let role_a_key = key_role(&deployment.instance_role_arn());
    p.role(a, deployment.instance_role.as_str(), &deployment.instance_role_arn(), build::instance_role_trust(), vec![]);

    let mut owner_role_keys = Vec::new();
    for owner in flow.owners() {
        let key = key_role(&owner.role_arn());
        if owner_role_keys.contains(&key) {
            continue;
        }
        owner_role_keys.push(key);
        p.role(
            &owner.account_id,
            owner.role.as_str(),
            &owner.role_arn(),
            build::owner_trust_policy(flow),
            vec![role_a_key.clone()],
        );
    }

    // The assume policy names every owner's role: after all of them exist.
    let role_a = observed.roles.get(&deployment.instance_role_arn());
    let role_a_name = deployment.instance_role.as_str();
    let mut after = vec![role_a_key.clone()];
    after.extend(owner_role_keys.iter().cloned());
    // Managed assume policies of an earlier, larger config, by ARN.
    let ours_attached: Vec<(&String, &PolicyDocument)> =
        role_a.map(|r| r.attached.iter().filter(|(arn, _)| is_assume_managed(arn)).collect()).unwrap_or_default();
    match build::assume_policies(flow) {
        Ok(build::AssumePolicies::Inline(want)) => {
            let existing = role_a.and_then(|r| r.inline.get(ASSUME_POLICY_NAME));
            let key = p.inline_policy(a, role_a_name, ASSUME_POLICY_NAME, existing, want, after);
            for (arn, doc) in ours_attached {
                p.drop_managed_policy(a, role_a_name, arn, doc, vec![key.clone()]);
            }
        }
        Ok(build::AssumePolicies::Managed(docs)) => {
            let foreign = role_a.map_or(0, |r| r.attached.keys().filter(|arn| !is_assume_managed(arn)).count());
            if foreign + docs.len() > build::MANAGED_POLICIES_PER_ROLE {
                let size = validate::size_without_whitespace(&build::assume_role_policy(flow).to_json());
                p.problems.push(PlanProblem::AssumePolicyOverQuota {
                    roles: flow.owners().len(),
                    size,
                    limit: validate::INLINE_ROLE_POLICIES_LIMIT,
                    managed: docs.len(),
                    foreign,
                    quota: build::MANAGED_POLICIES_PER_ROLE,
                });
            } else {
                let mut keys = Vec::new();
                let wanted: Vec<String> = docs.iter().map(|(name, _)| managed_arn(a, name)).collect();
                for (name, doc) in docs {
                    let arn = managed_arn(a, &name);
                    let existing = role_a.and_then(|r| r.attached.get(&arn));
                    keys.push(p.managed_policy(a, role_a_name, &name, &arn, existing, doc, after.clone()));
                }
                // What the inline layout or a larger config left goes once the new policies are in.
                if let Some(existing) = role_a.and_then(|r| r.inline.get(ASSUME_POLICY_NAME)) {
                    p.delete_inline_policy(a, role_a_name, ASSUME_POLICY_NAME, existing);
                    if let Some(change) = p.changes.last_mut() {
                        change.after_keys = keys.clone();
                    }
                }
                for (arn, doc) in ours_attached.into_iter().filter(|(arn, _)| !wanted.contains(arn)) {
                    p.drop_managed_policy(a, role_a_name, arn, doc, keys.clone());
                }
            }
        }
        Err(e) => p.problems.push(PlanProblem::AssumePolicyTooLarge(e)),
    }

    p.instance_profile(a, deployment.instance_role.as_str(), &deployment.instance_profile_arn(), &role_a_key);

    if let (Some(cross), Some(cross_arn)) = (&deployment.cross_account_role, deployment.cross_account_role_arn()) {
        match observed.roles.get(&cross_arn) {
            None => p.problems.push(PlanProblem::MissingCrossAccountRole { role: cross_arn.clone() }),
            Some(role) => {
                let name = settings.pass_role_policy();
                let existing = role.inline.get(name);
                if existing.is_none() && settings.cross_account_policy.is_some() {
                    p.problems.push(PlanProblem::MissingCrossAccountPolicy {
                        role: cross_arn.clone(),
                        policy: name.to_owned(),
                    });
                } else {
                    let resource = format!("inline policy {name} of role {cross}");
                    if let Some(want) = p.merged(&resource, existing, &[build::pass_role_statement(flow)]) {
                        p.inline_policy(a, cross.as_str(), name, existing, want, vec![role_a_key.clone()]);
                    }
                }
            }
        }
    }

    for owner in flow.owners() {
        let after = vec![key_role(&owner.role_arn())];
        for bucket in &owner.buckets {
            let name = bucket.name.as_str();
            match observed.buckets.get(name) {
                None => p
                    .problems
                    .push(PlanProblem::MissingBucket { account: owner.account_id.clone(), bucket: name.to_owned() }),
                Some(state) => {
                    let what = format!("bucket policy of {name}");
                    let Some(want) = p.merged(&what, state.policy.as_ref(), &build::bucket_statements(owner, bucket))
                    else {
                        continue;
                    };
                    p.bucket_policy(&owner.account_id, name, state.policy.as_ref(), Some(want), after.clone());
                }
            }
        }
        // A key may serve several buckets: one statement per key, with the widest access.
        for (key, access) in policy_model::chain::key_accesses(owner) {
            let key = key.as_str();
            match observed.keys.get(key) {
                None => {
                    p.problems.push(PlanProblem::MissingKey { account: owner.account_id.clone(), key: key.to_owned() })
                }
                Some(policy) => {
                    let what = format!("key policy of {key}");
                    let Some(want) =
                        p.merged(&what, Some(policy), &[build::kms_key_user_statement(owner, key, access)])
                    else {
                        continue;
                    };
                    p.key_policy(&owner.account_id, key, policy, want, after.clone());
                }
            }
        }
    }
}

/// The changes that take out what xacct put in: tagged roles and instance
/// profiles are deleted, and our Sids are removed from every shared document
/// (a bucket policy with nothing foreign left is deleted, and so is a PassRole
/// policy). Buckets, keys, the cross-account role and untagged roles stay.
pub fn plan_destroy(flow: &Flow, observed: &Observed) -> Plan {
    plan_destroy_with(flow, observed, &RoleSettings::default())
}

/// [`plan_destroy`], taking our statement out of the inline policy the settings name for PassRole.
pub fn plan_destroy_with(flow: &Flow, observed: &Observed, settings: &RoleSettings) -> Plan {
    let mut p = Planner::new(observed, settings);
    for owner in flow.unity_owners() {
        let arn = owner.role_arn();
        let ours = observed.roles.get(&arn).and_then(|r| r.inline.get(PERMISSION_POLICY_NAME));
        let extra: Vec<(&str, &PolicyDocument)> = ours.map(|doc| (PERMISSION_POLICY_NAME, doc)).into_iter().collect();
        p.destroy_role(&owner.account_id, owner.role.as_str(), &arn, &extra, vec![]);
    }
    if let Some(deployment) = flow.deployment().filter(|_| !flow.owners().is_empty()) {
        destroy_runbook(&mut p, flow, deployment);
    }
    Plan { changes: p.changes, warnings: Vec::new(), sizes: p.sizes }
}

fn destroy_runbook(p: &mut Planner<'_>, flow: &Flow, deployment: &Deployment) {
    let observed = p.observed;
    let settings = p.settings;
    let a = &deployment.account_id;
    let mut role_a_after = Vec::new();
    let mut seen_roles = BTreeSet::new();

    for owner in flow.owners() {
        let mut owner_keys = Vec::new();
        let mut seen_keys = BTreeSet::new();
        for bucket in &owner.buckets {
            let name = bucket.name.as_str();
            if let Some(policy) = observed.buckets.get(name).and_then(|b| b.policy.as_ref()) {
                let left = without_ours(policy);
                let after = if left.statement.is_empty() { None } else { Some(left) };
                owner_keys.push(p.bucket_policy(&owner.account_id, name, Some(policy), after, vec![]));
            }
            if let Some(key) = bucket.kms_key_arn.as_ref().map(|k| k.as_str()) {
                if let Some(policy) = observed.keys.get(key).filter(|_| seen_keys.insert(key.to_owned())) {
                    let left = without_ours(policy);
                    // A key policy cannot be deleted or left empty: leave a key with nothing foreign alone.
                    if !left.statement.is_empty() {
                        owner_keys.push(p.key_policy(&owner.account_id, key, policy, left, vec![]));
                    }
                }
            }
        }
        let arn = owner.role_arn();
        if !seen_roles.insert(arn.clone()) {
            continue;
        }
        if let Some(key) = p.destroy_role(&owner.account_id, owner.role.as_str(), &arn, &[], owner_keys) {
            role_a_after.push(key);
        }
    }

    if let (Some(cross), Some(cross_arn)) = (&deployment.cross_account_role, deployment.cross_account_role_arn()) {
        let name = settings.pass_role_policy();
        if let Some(existing) = observed.roles.get(&cross_arn).and_then(|r| r.inline.get(name)) {
            let left = without_ours(existing);
            let key = if left.statement.is_empty() {
                p.delete_inline_policy(a, cross.as_str(), name, existing)
            } else {
                p.inline_policy(a, cross.as_str(), name, Some(existing), left, vec![])
            };
            role_a_after.push(key);
        }
    }

    let profile_arn = deployment.instance_profile_arn();
    let role_a_name = deployment.instance_role.as_str();
    if let Some(profile) = observed.instance_profiles.get(&profile_arn) {
        let role_a_managed = observed.roles.get(&deployment.instance_role_arn()).is_some_and(Role::is_managed);
        let resource = format!("instance profile {role_a_name}");
        if profile.is_managed() {
            let mut ops: Vec<Op> = profile
                .roles
                .iter()
                .map(|r| Op::RemoveRoleFromInstanceProfile { profile: role_a_name.to_owned(), role: r.clone() })
                .collect();
            ops.push(Op::DeleteInstanceProfile { name: role_a_name.to_owned() });
            let before = Some(profile_json(role_a_name, profile));
            role_a_after.push(p.push(a, Service::Iam, resource, Action::Delete, before, None, ops, vec![]));
        } else if role_a_managed && profile.roles.iter().any(|r| r == role_a_name) {
            // Someone else's profile holds our role: take the role out so that it can be deleted.
            let left = InstanceProfile {
                tags: profile.tags.clone(),
                roles: profile.roles.iter().filter(|r| *r != role_a_name).cloned().collect(),
                role_arns: vec![],
            };
            let ops = vec![Op::RemoveRoleFromInstanceProfile {
                profile: role_a_name.to_owned(),
                role: role_a_name.to_owned(),
            }];
            let (before, after) = (profile_json(role_a_name, profile), profile_json(role_a_name, &left));
            role_a_after.push(p.push(
                a,
                Service::Iam,
                resource,
                Action::Update,
                Some(before),
                Some(after),
                ops,
                vec![],
            ));
        }
    }

    if let Some(role_a) = observed.roles.get(&deployment.instance_role_arn()) {
        for (arn, doc) in role_a.attached.iter().filter(|(arn, _)| is_assume_managed(arn)) {
            role_a_after.push(p.drop_managed_policy(a, role_a_name, arn, doc, vec![]));
        }
    }
    let assume = observed.roles.get(&deployment.instance_role_arn()).and_then(|r| r.inline.get(ASSUME_POLICY_NAME));
    let extra: Vec<(&str, &PolicyDocument)> = assume.map(|doc| (ASSUME_POLICY_NAME, doc)).into_iter().collect();
    p.destroy_role(a, role_a_name, &deployment.instance_role_arn(), &extra, role_a_after);
}

impl<'a> Planner<'a> {
    fn new(observed: &'a Observed, settings: &'a RoleSettings) -> Planner<'a> {
        Planner {
            observed,
            settings,
            problems: Vec::new(),
            changes: Vec::new(),
            warnings: Vec::new(),
            sizes: Vec::new(),
        }
    }
}

struct Planner<'a> {
    observed: &'a Observed,
    settings: &'a RoleSettings,
    problems: Vec<PlanProblem>,
    changes: Vec<Change>,
    warnings: Vec<String>,
    sizes: Vec<DocSize>,
}

impl Planner<'_> {
    #[expect(clippy::too_many_arguments, reason = "one private constructor for every change")]
    fn push(
        &mut self,
        account: &AccountId,
        service: Service,
        resource: String,
        action: Action,
        before: Option<String>,
        after: Option<String>,
        ops: Vec<Op>,
        after_keys: Vec<String>,
    ) -> String {
        let key = format!("{account} {service} {resource}");
        let diff = (action != Action::NoOp).then(|| diff(before.as_deref(), after.as_deref()));
        self.changes.push(Change {
            account: account.clone(),
            service,
            resource,
            action,
            before,
            after,
            diff,
            ops,
            key: key.clone(),
            after_keys,
            guard: None,
        });
        key
    }

    /// Marks the change just pushed as a policy write that [`rebase`](crate::rebase) guards.
    fn guard(&mut self, read: Option<&PolicyDocument>, after: Option<&PolicyDocument>, kind: DocKind) {
        if let Some(change) = self.changes.last_mut().filter(|c| c.action != Action::NoOp) {
            change.guard = Some(Guard { read: read.cloned(), after: after.cloned(), kind, limit: kind.size_limit() });
        }
    }

    /// [`merge`], recording a failure as a problem.
    fn merged(&mut self, what: &str, existing: Option<&PolicyDocument>, ours: &[Statement]) -> Option<PolicyDocument> {
        match merge(existing, ours) {
            Ok(doc) => Some(doc),
            Err(err) => {
                self.problems.push(PlanProblem::Merge { what: what.to_owned(), message: err.to_string() });
                None
            }
        }
    }

    /// Checks a document the plan writes: its size, then every finding of the validator. Errors
    /// are problems, which stop the plan before any write; warnings go with the plan. True when
    /// the document is over its size limit.
    fn too_large(&mut self, what: &str, doc: &PolicyDocument, kind: DocKind) -> bool {
        if self.over_limit(what, written_size(doc, kind), kind.size_limit(), crate::sizes::unit(kind)) {
            return true;
        }
        self.findings(what, doc, kind);
        false
    }

    /// The validator's findings on a document the plan writes: errors stop the plan, warnings go with it.
    fn findings(&mut self, what: &str, doc: &PolicyDocument, kind: DocKind) {
        for finding in validate::validate(doc, kind) {
            match finding.severity {
                validate::Severity::Error => {
                    self.problems.push(PlanProblem::Invalid { what: what.to_owned(), finding: finding.to_string() })
                }
                validate::Severity::Warning => self.warnings.push(format!("{what}: {finding}")),
            }
        }
    }

    /// Records a size past its limit as a problem, and one past 80 % of it for the plan to show.
    /// True when over the limit.
    fn over_limit(&mut self, what: &str, size: usize, limit: usize, unit: &'static str) -> bool {
        if size > limit {
            self.problems.push(PlanProblem::TooLarge { what: what.to_owned(), size, limit, unit });
            return true;
        }
        if let Some(near) = DocSize::notable(what, size, limit, unit) {
            self.sizes.push(near);
        }
        false
    }

    /// A role and its trust policy. A role xacct created gets `want` whole; a
    /// role someone else created gets our statements merged into its trust policy.
    fn role(&mut self, account: &AccountId, name: &str, arn: &str, want: PolicyDocument, after: Vec<String>) {
        let resource = format!("role {name}");
        match self.observed.roles.get(arn) {
            None => {
                if self.too_large(&format!("trust policy of {resource}"), &want, DocKind::Trust) {
                    return;
                }
                let ops = vec![Op::CreateRole {
                    name: name.to_owned(),
                    trust: want.to_json(),
                    tags: self.settings.tags(),
                    boundary: self.settings.boundary_arn(account),
                    path: path_of(arn, ":role"),
                }];
                self.push(
                    account,
                    Service::Iam,
                    resource,
                    Action::Create,
                    None,
                    Some(want.to_json_pretty()),
                    ops,
                    after,
                );
            }
            Some(role) => {
                let want = if role.is_managed() {
                    want
                } else {
                    let Some(merged) =
                        self.merged(&format!("trust policy of {resource}"), role.trust.as_ref(), &want.statement)
                    else {
                        return;
                    };
                    merged
                };
                if self.too_large(&format!("trust policy of {resource}"), &want, DocKind::Trust) {
                    return;
                }
                let before = role.trust.as_ref().map(PolicyDocument::to_json_pretty);
                if role.trust.as_ref().is_some_and(|t| same(t, &want)) {
                    self.push(account, Service::Iam, resource, Action::NoOp, before.clone(), before, vec![], after);
                } else {
                    let ops = vec![Op::UpdateTrust { role: name.to_owned(), doc: want.to_json() }];
                    let after_json = Some(want.to_json_pretty());
                    self.push(account, Service::Iam, resource, Action::Update, before, after_json, ops, after);
                    self.guard(role.trust.as_ref(), Some(&want), DocKind::Trust);
                }
                if role.is_managed() {
                    self.role_settings(account, name, role);
                }
            }
        }
    }

    /// The boundary and tags of a role xacct created, brought to the settings. A change is listed
    /// when the settings ask for anything or something is to be done, so that a default config
    /// plans as before.
    fn role_settings(&mut self, account: &AccountId, name: &str, role: &Role) {
        let want_boundary = self.settings.boundary_arn(account);
        let have_boundary = role.boundary.as_ref().map(|b| b.arn.clone());
        let (set, unset) = self.settings.tag_changes(&role.tags);
        let mut ops = Vec::new();
        if let Some(arn) = want_boundary.as_ref().filter(|w| have_boundary.as_ref() != Some(*w)) {
            ops.push(Op::PutRolePermissionsBoundary { role: name.to_owned(), arn: arn.clone() });
        }
        if !set.is_empty() {
            ops.push(Op::TagRole { role: name.to_owned(), tags: set });
        }
        if !unset.is_empty() {
            ops.push(Op::UntagRole { role: name.to_owned(), keys: unset.clone() });
        }
        if ops.is_empty() && self.settings.is_default() {
            return;
        }
        let shown = |boundary: Option<&String>, tags: &BTreeMap<String, String>| {
            let value = serde_json::json!({ "PermissionsBoundary": boundary, "Tags": tags });
            serde_json::to_string_pretty(&value).unwrap_or_default()
        };
        let before = shown(have_boundary.as_ref(), &role.tags);
        let mut tags = role.tags.clone();
        tags.extend(self.settings.tags());
        tags.retain(|k, _| !unset.contains(k));
        let after = shown(want_boundary.as_ref().or(have_boundary.as_ref()), &tags);
        let action = if ops.is_empty() { Action::NoOp } else { Action::Update };
        let resource = format!("boundary and tags of role {name}");
        let after_keys = vec![format!("{account} iam role {name}")];
        self.push(account, Service::Iam, resource, action, Some(before), Some(after), ops, after_keys);
    }

    /// An inline policy on a role, set to `want` whole.
    fn inline_policy(
        &mut self,
        account: &AccountId,
        role: &str,
        name: &str,
        existing: Option<&PolicyDocument>,
        want: PolicyDocument,
        after: Vec<String>,
    ) -> String {
        let resource = format!("inline policy {name} of role {role}");
        let kind = DocKind::Identity { managed: false };
        // IAM's limit is on all of a role's inline policies together: the others count too.
        // The role's ARN may hold a path: find it by account and name.
        let prefix = format!("arn:aws:iam::{account}:role/");
        let others: usize = self
            .observed
            .roles
            .iter()
            .find(|(arn, _)| arn.starts_with(&prefix) && arn.rsplit('/').next() == Some(role))
            .map(|(_, r)| r)
            .map(|r| r.inline.iter().filter(|(n, _)| n.as_str() != name).map(|(_, d)| written_size(d, kind)).sum())
            .unwrap_or(0);
        let together = others + written_size(&want, kind);
        let what = if others > 0 {
            format!("inline policies of role {role} together (with {name})")
        } else {
            resource.clone()
        };
        if !self.over_limit(&what, together, validate::INLINE_ROLE_POLICIES_LIMIT, "characters") {
            self.findings(&resource, &want, kind);
        }
        let action = match existing {
            None => Action::Create,
            Some(doc) if same(doc, &want) => Action::NoOp,
            Some(_) => Action::Update,
        };
        let ops = if action == Action::NoOp {
            vec![]
        } else {
            vec![Op::PutRolePolicy { role: role.to_owned(), name: name.to_owned(), doc: want.to_json() }]
        };
        let before = existing.map(PolicyDocument::to_json_pretty);
        let key = self.push(account, Service::Iam, resource, action, before, Some(want.to_json_pretty()), ops, after);
        self.guard(existing, Some(&want), kind);
        if let Some(guard) = self.changes.last_mut().and_then(|c| c.guard.as_mut()) {
            guard.limit = validate::INLINE_ROLE_POLICIES_LIMIT.saturating_sub(others);
        }
        key
    }

    /// A customer managed policy of ours attached to `role`, holding `want` as its default version.
    #[expect(clippy::too_many_arguments, reason = "the policy, where it is attached, and its order")]
    fn managed_policy(
        &mut self,
        account: &AccountId,
        role: &str,
        name: &str,
        arn: &str,
        existing: Option<&PolicyDocument>,
        want: PolicyDocument,
        after: Vec<String>,
    ) -> String {
        let resource = format!("managed policy {name} of role {role}");
        self.too_large(&resource, &want, DocKind::Identity { managed: true });
        let (action, ops) = match existing {
            None => (
                Action::Create,
                vec![
                    Op::CreatePolicy { name: name.to_owned(), arn: arn.to_owned(), doc: want.to_json() },
                    Op::AttachRolePolicy { role: role.to_owned(), arn: arn.to_owned() },
                ],
            ),
            Some(doc) if same(doc, &want) => (Action::NoOp, vec![]),
            Some(_) => (Action::Update, vec![Op::PutPolicyVersion { arn: arn.to_owned(), doc: want.to_json() }]),
        };
        let before = existing.map(PolicyDocument::to_json_pretty);
        self.push(account, Service::Iam, resource, action, before, Some(want.to_json_pretty()), ops, after)
    }

    /// Detaches and deletes a managed policy of ours.
    fn drop_managed_policy(
        &mut self,
        account: &AccountId,
        role: &str,
        arn: &str,
        existing: &PolicyDocument,
        after: Vec<String>,
    ) -> String {
        let name = arn.rsplit('/').next().unwrap_or(arn);
        let resource = format!("managed policy {name} of role {role}");
        let ops = vec![
            Op::DetachRolePolicy { role: role.to_owned(), arn: arn.to_owned() },
            Op::DeletePolicy { arn: arn.to_owned() },
        ];
        let before = Some(existing.to_json_pretty());
        self.push(account, Service::Iam, resource, Action::Delete, before, None, ops, after)
    }

    fn delete_inline_policy(
        &mut self,
        account: &AccountId,
        role: &str,
        name: &str,
        existing: &PolicyDocument,
    ) -> String {
        let resource = format!("inline policy {name} of role {role}");
        let ops = vec![Op::DeleteRolePolicy { role: role.to_owned(), name: name.to_owned() }];
        let before = Some(existing.to_json_pretty());
        let key = self.push(account, Service::Iam, resource, Action::Delete, before, None, ops, vec![]);
        self.guard(Some(existing), None, DocKind::Identity { managed: false });
        key
    }

    /// The instance profile of the instance role's name, holding that role.
    fn instance_profile(&mut self, account: &AccountId, name: &str, arn: &str, role_key: &str) {
        let resource = format!("instance profile {name}");
        let want = InstanceProfile { tags: managed_tags(), roles: vec![name.to_owned()], role_arns: vec![] };
        let after = vec![role_key.to_owned()];
        match self.observed.instance_profiles.get(arn) {
            None => {
                let ops = vec![
                    Op::CreateInstanceProfile { name: name.to_owned(), path: path_of(arn, ":instance-profile") },
                    Op::AddRoleToInstanceProfile { profile: name.to_owned(), role: name.to_owned() },
                ];
                let after_json = Some(profile_json(name, &want));
                self.push(account, Service::Iam, resource, Action::Create, None, after_json, ops, after);
            }
            Some(profile) => {
                let before = Some(profile_json(name, profile));
                if profile.roles.iter().any(|r| r == name) {
                    self.push(account, Service::Iam, resource, Action::NoOp, before.clone(), before, vec![], after);
                    return;
                }
                if !profile.is_managed() && !profile.roles.is_empty() {
                    self.problems.push(PlanProblem::ForeignInstanceProfile {
                        profile: arn.to_owned(),
                        holds: profile.roles.join(", "),
                        role: name.to_owned(),
                    });
                    return;
                }
                let mut ops: Vec<Op> = profile
                    .roles
                    .iter()
                    .map(|r| Op::RemoveRoleFromInstanceProfile { profile: name.to_owned(), role: r.clone() })
                    .collect();
                ops.push(Op::AddRoleToInstanceProfile { profile: name.to_owned(), role: name.to_owned() });
                let fixed =
                    InstanceProfile { tags: profile.tags.clone(), roles: vec![name.to_owned()], role_arns: vec![] };
                let after_json = Some(profile_json(name, &fixed));
                self.push(account, Service::Iam, resource, Action::Update, before, after_json, ops, after);
            }
        }
    }

    fn bucket_policy(
        &mut self,
        account: &AccountId,
        bucket: &str,
        existing: Option<&PolicyDocument>,
        want: Option<PolicyDocument>,
        after: Vec<String>,
    ) -> String {
        let resource = format!("bucket policy of {bucket}");
        if let Some(want) = &want {
            self.too_large(&resource, want, DocKind::Bucket);
        }
        let (action, ops) = match (existing, &want) {
            (None, None) => (Action::NoOp, vec![]),
            (Some(_), None) => (Action::Delete, vec![Op::DeleteBucketPolicy { bucket: bucket.to_owned() }]),
            (Some(e), Some(w)) if same(e, w) => (Action::NoOp, vec![]),
            (e, Some(w)) => {
                let action = if e.is_some() { Action::Update } else { Action::Create };
                (action, vec![Op::PutBucketPolicy { bucket: bucket.to_owned(), doc: w.to_json() }])
            }
        };
        let before = existing.map(PolicyDocument::to_json_pretty);
        let after_json = want.as_ref().map(PolicyDocument::to_json_pretty);
        let key = self.push(account, Service::S3, resource, action, before, after_json, ops, after);
        self.guard(existing, want.as_ref(), DocKind::Bucket);
        key
    }

    fn key_policy(
        &mut self,
        account: &AccountId,
        key: &str,
        existing: &PolicyDocument,
        want: PolicyDocument,
        after: Vec<String>,
    ) -> String {
        let resource = format!("key policy of {key}");
        self.too_large(&resource, &want, DocKind::KmsKey);
        let (action, ops) = if same(existing, &want) {
            (Action::NoOp, vec![])
        } else {
            (Action::Update, vec![Op::PutKeyPolicy { key: key.to_owned(), doc: want.to_json() }])
        };
        let before = Some(existing.to_json_pretty());
        let key = self.push(account, Service::Kms, resource, action, before, Some(want.to_json_pretty()), ops, after);
        self.guard(Some(existing), Some(&want), DocKind::KmsKey);
        key
    }

    /// Deletes a role xacct created; for a role someone else created, takes our
    /// statements out of its trust policy (when foreign ones are left) and
    /// deletes the inline policies in `ours`. Returns the key of the last change.
    fn destroy_role(
        &mut self,
        account: &AccountId,
        name: &str,
        arn: &str,
        ours: &[(&str, &PolicyDocument)],
        after: Vec<String>,
    ) -> Option<String> {
        let role = self.observed.roles.get(arn)?;
        let resource = format!("role {name}");
        let before = role.trust.as_ref().map(PolicyDocument::to_json_pretty);
        if role.is_managed() {
            let ops = vec![Op::DeleteRole { name: name.to_owned() }];
            return Some(self.push(account, Service::Iam, resource, Action::Delete, before, None, ops, after));
        }
        let mut last = None;
        for (policy, doc) in ours {
            last = Some(self.delete_inline_policy(account, name, policy, doc));
        }
        if let Some(trust) = &role.trust {
            let left = without_ours(trust);
            if !left.statement.is_empty() && left.statement.len() < trust.statement.len() {
                let ops = vec![Op::UpdateTrust { role: name.to_owned(), doc: left.to_json() }];
                let after_json = Some(left.to_json_pretty());
                last = Some(self.push(account, Service::Iam, resource, Action::Update, before, after_json, ops, after));
                self.guard(Some(trust), Some(&left), DocKind::Trust);
            }
        }
        last
    }
}

fn key_role(arn: &str) -> String {
    let (account, name) = arn.trim_start_matches("arn:aws:iam::").split_once(":role/").unwrap_or(("", arn));
    // A role under a path is still keyed by its name, as its change is.
    format!("{account} iam role {}", name.rsplit('/').next().unwrap_or(name))
}

/// The ARN of a customer managed policy of account A.
fn managed_arn(account: &AccountId, name: &str) -> String {
    format!("arn:aws:iam::{account}:policy/{name}")
}

/// True for the ARN of one of the managed policies that hold the instance role's assume
/// statement when it passes the inline limit (`xacct-assume-bucket-owner-roles-<n>`).
fn is_assume_managed(arn: &str) -> bool {
    arn.rsplit('/').next().is_some_and(|name| name.starts_with(&format!("{ASSUME_POLICY_NAME}-")))
}

/// The IAM path in an ARN of a role (`kind` `:role`) or instance profile (`:instance-profile`),
/// when it is not `/`.
fn path_of(arn: &str, kind: &str) -> Option<String> {
    let rest = arn.split_once(kind).map(|(_, rest)| rest)?;
    let path = &rest[..rest.rfind('/')? + 1];
    (path != "/").then(|| path.to_owned())
}

fn managed_tags() -> BTreeMap<String, String> {
    BTreeMap::from([(crate::MANAGED_TAG_KEY.to_owned(), crate::MANAGED_TAG_VALUE.to_owned())])
}

fn profile_json(name: &str, profile: &InstanceProfile) -> String {
    let value = serde_json::json!({ "InstanceProfileName": name, "Roles": profile.roles, "Tags": profile.tags });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

fn diff(before: Option<&str>, after: Option<&str>) -> String {
    // A final newline on both sides keeps "\ No newline at end of file" out of the diff.
    let line = |s: Option<&str>| s.map(|s| format!("{s}\n")).unwrap_or_default();
    let (before, after) = (line(before), line(after));
    let mut text = String::new();
    let diff = similar::TextDiff::from_lines(&before, &after);
    let mut unified = diff.unified_diff();
    text.push_str(&unified.context_radius(3).header("before", "after").to_string());
    text
}

/// `existing` with our statements set to `ours` (see
/// [`policy_model::merge::replace_ours`]): a statement of ours with the same
/// Sid is replaced where it stands, new ones are appended, ours that the flow
/// no longer has are dropped, and every foreign statement is kept. Sizes are
/// checked by the planner, which knows what the document is.
fn merge(existing: Option<&PolicyDocument>, ours: &[Statement]) -> Result<PolicyDocument, MergeError> {
    policy_merge::replace_ours(existing, ours, build::is_ours, usize::MAX)
}

/// `doc` without any statement of ours; it may be left with no statement.
pub(crate) fn without_ours(doc: &PolicyDocument) -> PolicyDocument {
    policy_merge::unmerge(doc, build::is_ours).unwrap_or_else(|| PolicyDocument {
        version: doc.version.clone(),
        id: doc.id.clone(),
        statement: vec![],
    })
}

/// True when the documents mean the same, ignoring the `"x"` versus `["x"]`
/// shapes that some services rewrite.
pub(crate) fn same(a: &PolicyDocument, b: &PolicyDocument) -> bool {
    normalize(a) == normalize(b)
}

fn normalize(doc: &PolicyDocument) -> PolicyDocument {
    fn one<T: Clone>(v: &mut Option<OneOrMany<T>>) {
        if let Some(OneOrMany::Many(items)) = v {
            if items.len() == 1 {
                *v = Some(OneOrMany::One(items[0].clone()));
            }
        }
    }
    fn principal(p: &mut Option<Principal>) {
        if let Some(Principal::Map(map)) = p {
            for value in map.values_mut() {
                let mut v = Some(value.clone());
                one(&mut v);
                if let Some(v) = v {
                    *value = v;
                }
            }
        }
    }
    let mut doc = doc.clone();
    for stmt in &mut doc.statement {
        one(&mut stmt.action);
        one(&mut stmt.not_action);
        one(&mut stmt.resource);
        one(&mut stmt.not_resource);
        principal(&mut stmt.principal);
        principal(&mut stmt.not_principal);
        for values in stmt.condition.iter_mut().flat_map(|c| c.values_mut()).flat_map(|m| m.values_mut()) {
            let mut v = Some(values.clone());
            one(&mut v);
            if let Some(v) = v {
                *values = v;
            }
        }
    }
    doc
}

#[cfg(test)]
mod tests;

//! The reads: one read-only pass over every resource the flow touches, with
//! every document that planning and `verify` need.
//!
//! Per role: GetRole (trust, tags, boundary), ListRolePolicies and a
//! GetRolePolicy per inline policy, ListAttachedRolePolicies and, per attached
//! policy (and the boundary), GetPolicy and GetPolicyVersion of its default
//! version. The instance profile: GetInstanceProfile. Per bucket:
//! GetBucketPolicy and GetBucketOwnershipControls. Per key: GetKeyPolicy, in the key's region.
//!
//! A converged one-owner flow with a cross-account role that holds two inline
//! policies and no managed one costs 16 reads: 4 for MyRoleA (GetRole, two
//! lists, its one inline policy), 1 for the profile, 5 for the cross-account
//! role, 3 for MyRoleB, 2 for the bucket and 1 for the key.

use std::collections::BTreeSet;

use futures::stream::{self, StreamExt};
use futures::FutureExt;
use policy_model::{AccountId, Flow, PolicyDocument};

use crate::accounts::{Error, Service};
use crate::backend::{all_pages, Aws, BucketPolicy};
use crate::model::{Boundary, BucketState, InstanceProfile, Observed, Role};

/// How many reads run at once.
const READ_CONCURRENCY: usize = 16;

enum Found {
    Role(String, Option<Role>),
    Profile(String, Option<InstanceProfile>),
    Bucket(String, Option<BucketState>),
    Key(String, Option<PolicyDocument>),
}

/// What one pass read, and what it could not read.
#[derive(Debug, Default)]
pub struct Observation {
    /// Everything that was read.
    pub observed: Observed,
    /// The resources (role or profile ARN, bucket name, key ARN) whose read failed, with the failure.
    pub unreadable: Vec<(String, Error)>,
}

/// Reads the live state of every resource the flow touches; the first failure is returned.
pub async fn observe<B: Aws + ?Sized>(aws: &B, flow: &Flow) -> Result<Observed, Error> {
    let observation = observe_each(aws, flow).await;
    match observation.unreadable.into_iter().next() {
        Some((_, err)) => Err(err),
        None => Ok(observation.observed),
    }
}

/// Reads the live state of every resource the flow touches; a failed read
/// leaves its resource out of `observed` and names it in `unreadable`.
pub async fn observe_each<B: Aws + ?Sized>(aws: &B, flow: &Flow) -> Observation {
    let mut reads = Vec::new();
    if let Some(deployment) = flow.deployment().filter(|_| !flow.owners().is_empty()) {
        let a = &deployment.account_id;
        let role_a = deployment.instance_role.as_str();
        let arn_a = deployment.instance_role_arn();
        reads.push(
            async move { (arn_a.clone(), read_role(aws, a, role_a).await.map(|r| Found::Role(arn_a, r))) }.boxed(),
        );
        let profile_arn = deployment.instance_profile_arn();
        reads.push(
        async move {
            (profile_arn.clone(), read_profile(aws, a, role_a).await.map(|p| Found::Profile(profile_arn, p)))
        }
        .boxed(),
    );
        if let (Some(cross), Some(arn)) = (&deployment.cross_account_role, deployment.cross_account_role_arn()) {
            reads.push(
                async move { (arn.clone(), read_role(aws, a, cross.as_str()).await.map(|r| Found::Role(arn, r))) }
                    .boxed(),
            );
        }
    }
    // Unity Catalog owners: the role, and each bucket and key (verify looks for denies in them).
    for owner in flow.unity_owners() {
        let b = &owner.account_id;
        let arn = owner.role_arn();
        reads.push(
            async move { (arn.clone(), read_role(aws, b, owner.role.as_str()).await.map(|r| Found::Role(arn, r))) }
                .boxed(),
        );
        let mut seen_keys = BTreeSet::new();
        for bucket in &owner.buckets {
            let name = bucket.name.as_str();
            reads.push(
                async move {
                    (name.to_owned(), read_bucket(aws, b, name).await.map(|s| Found::Bucket(name.to_owned(), s)))
                }
                .boxed(),
            );
            if let Some(key) =
                bucket.kms_key_arn.as_ref().map(|k| k.as_str()).filter(|k| seen_keys.insert(k.to_owned()))
            {
                reads.push(
                    async move { (key.to_owned(), read_key(aws, b, key).await.map(|d| Found::Key(key.to_owned(), d))) }
                        .boxed(),
                );
            }
        }
    }
    let mut seen_roles = BTreeSet::new();
    let mut seen_keys = BTreeSet::new();
    for owner in flow.owners() {
        let b = &owner.account_id;
        if seen_roles.insert(owner.role_arn()) {
            let arn = owner.role_arn();
            reads.push(
                async move { (arn.clone(), read_role(aws, b, owner.role.as_str()).await.map(|r| Found::Role(arn, r))) }
                    .boxed(),
            );
        }
        for bucket in &owner.buckets {
            let name = bucket.name.as_str();
            reads.push(
                async move {
                    (name.to_owned(), read_bucket(aws, b, name).await.map(|s| Found::Bucket(name.to_owned(), s)))
                }
                .boxed(),
            );
            if let Some(key) =
                bucket.kms_key_arn.as_ref().map(|k| k.as_str()).filter(|k| seen_keys.insert(k.to_owned()))
            {
                reads.push(
                    async move { (key.to_owned(), read_key(aws, b, key).await.map(|d| Found::Key(key.to_owned(), d))) }
                        .boxed(),
                );
            }
        }
    }
    let found: Vec<(String, Result<Found, Error>)> =
        stream::iter(reads).buffer_unordered(READ_CONCURRENCY).collect().await;
    let mut observation = Observation::default();
    let observed = &mut observation.observed;
    for (resource, f) in found {
        match f {
            Ok(Found::Role(arn, Some(role))) => {
                observed.roles.insert(arn, role);
            }
            Ok(Found::Profile(arn, Some(profile))) => {
                observed.instance_profiles.insert(arn, profile);
            }
            Ok(Found::Bucket(name, Some(bucket))) => {
                observed.buckets.insert(name, bucket);
            }
            Ok(Found::Key(arn, Some(policy))) => {
                observed.keys.insert(arn, policy);
            }
            Ok(Found::Role(..) | Found::Profile(..) | Found::Bucket(..) | Found::Key(..)) => {}
            Err(err) => observation.unreadable.push((resource, err)),
        }
    }
    observation.unreadable.sort_by(|x, y| x.0.cmp(&y.0));
    observation
}

/// GetRole, then every inline and attached policy and the boundary.
async fn read_role<B: Aws + ?Sized>(aws: &B, account: &AccountId, name: &str) -> Result<Option<Role>, Error> {
    let Some(info) = aws.get_role(account, name).await? else { return Ok(None) };
    let mut role = Role { tags: info.tags, ..Role::default() };
    if let Some(text) = &info.trust {
        role.trust = Some(parse(account, Service::Iam, "GetRole", text)?);
    }
    let names = all_pages(|marker| aws.list_role_policies(account, name, marker)).await?;
    for policy in names {
        if let Some(text) = aws.get_role_policy(account, name, &policy).await? {
            role.inline.insert(policy, parse(account, Service::Iam, "GetRolePolicy", &text)?);
        }
    }
    let attached = all_pages(|marker| aws.list_attached_role_policies(account, name, marker)).await?;
    for arn in attached {
        if let Some(doc) = managed_policy(aws, account, &arn).await? {
            role.attached.insert(arn, doc);
        }
    }
    if let Some(arn) = info.boundary {
        let document = managed_policy(aws, account, &arn).await?;
        role.boundary = Some(Boundary { arn, document });
    }
    Ok(Some(role))
}

/// The default version of a managed policy: the version GetPolicy names, or,
/// when GetPolicy names none, the one ListPolicyVersions marks as default.
/// `None` when the policy does not exist.
pub(crate) async fn managed_policy<B: Aws + ?Sized>(
    aws: &B,
    account: &AccountId,
    arn: &str,
) -> Result<Option<PolicyDocument>, Error> {
    let Some(policy) = aws.get_policy(account, arn).await? else { return Ok(None) };
    let version = match policy.default_version {
        Some(version) => version,
        None => {
            let versions = all_pages(|marker| aws.list_policy_versions(account, arn, marker)).await?;
            match versions.into_iter().find(|v| v.is_default) {
                Some(v) => v.id,
                None => {
                    return Err(Error::Call {
                        account: account.clone(),
                        service: Service::Iam,
                        call: "ListPolicyVersions",
                        code: None,
                        message: format!("managed policy `{arn}` has no default version"),
                    })
                }
            }
        }
    };
    match aws.get_policy_version(account, arn, &version).await? {
        Some(text) => Ok(Some(parse(account, Service::Iam, "GetPolicyVersion", &text)?)),
        None => Ok(None),
    }
}

async fn read_profile<B: Aws + ?Sized>(
    aws: &B,
    account: &AccountId,
    name: &str,
) -> Result<Option<InstanceProfile>, Error> {
    Ok(aws.get_instance_profile(account, name).await?.map(|p| InstanceProfile {
        tags: p.tags,
        role_arns: p.roles.iter().map(|r| r.arn.clone()).collect(),
        roles: p.roles.into_iter().map(|r| r.name).collect(),
    }))
}

/// GetBucketPolicy, then the ownership rule. The rule is for `verify` only, so
/// a failure to read it leaves it unknown instead of failing the read.
async fn read_bucket<B: Aws + ?Sized>(
    aws: &B,
    account: &AccountId,
    bucket: &str,
) -> Result<Option<BucketState>, Error> {
    let policy = match aws.get_bucket_policy(account, bucket).await? {
        BucketPolicy::NoBucket => return Ok(None),
        BucketPolicy::None => None,
        BucketPolicy::Some(text) => Some(parse(account, Service::S3, "GetBucketPolicy", &text)?),
    };
    let ownership = match aws.get_bucket_ownership(account, bucket).await {
        Ok(rule) => rule,
        Err(err) => {
            tracing::debug!(bucket, error = %err, "the ownership rule is unknown");
            None
        }
    };
    Ok(Some(BucketState { policy, ownership }))
}

async fn read_key<B: Aws + ?Sized>(aws: &B, account: &AccountId, key: &str) -> Result<Option<PolicyDocument>, Error> {
    match aws.get_key_policy(account, key).await? {
        Some(text) => Ok(Some(parse(account, Service::Kms, "GetKeyPolicy", &text)?)),
        None => Ok(None),
    }
}

/// A policy as a service returns it; IAM URL-encodes its documents.
pub(crate) fn parse(
    account: &AccountId,
    service: Service,
    call: &'static str,
    text: &str,
) -> Result<PolicyDocument, Error> {
    PolicyDocument::from_api_text(text).map_err(|e| Error::BadDocument {
        account: account.clone(),
        service,
        call,
        document: policy_model::document::percent_decode(text),
        message: e.to_string(),
    })
}

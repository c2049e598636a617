//! The reads: everything the planner needs, and nothing more.
//!
//! A converged flow costs `3 + owners + buckets + keys` reads, plus one for
//! the cross-account role's PassRole policy (two when that policy is missing,
//! to tell a missing policy from a missing role):
//! GetRole and GetRolePolicy for the instance role, GetInstanceProfile,
//! GetRole per owner role, GetBucketPolicy per bucket, GetKeyPolicy per key.

use std::collections::{BTreeMap, BTreeSet};

use futures::stream::{self, StreamExt, TryStreamExt};
use futures::FutureExt;
use policy_model::build::{ASSUME_POLICY_NAME, PASS_ROLE_POLICY_NAME};
use policy_model::{AccountId, Flow, PolicyDocument};

use crate::accounts::{is_not_found, Accounts, Error, Service};
use crate::model::{BucketState, InstanceProfile, Observed, Role};

/// How many reads run at once.
const READ_CONCURRENCY: usize = 16;

enum Found {
    Role(String, Option<Role>),
    Profile(String, Option<InstanceProfile>),
    Bucket(String, Option<BucketState>),
    Key(String, Option<PolicyDocument>),
}

/// Reads the live state of every resource the flow touches.
pub async fn observe(accounts: &Accounts, flow: &Flow) -> Result<Observed, Error> {
    let deployment = flow.deployment();
    let a = &deployment.account_id;
    let mut reads = Vec::new();
    let role_a = deployment.instance_role.as_str();
    reads.push(
        async move {
            Ok(Found::Role(
                deployment.instance_role_arn(),
                read_role(accounts, a, role_a, Some(ASSUME_POLICY_NAME)).await?,
            ))
        }
        .boxed(),
    );
    reads.push(
        async move { Ok(Found::Profile(deployment.instance_profile_arn(), read_profile(accounts, a, role_a).await?)) }
            .boxed(),
    );
    if let (Some(cross), Some(arn)) = (&deployment.cross_account_role, deployment.cross_account_role_arn()) {
        reads.push(async move { Ok(Found::Role(arn, read_cross_role(accounts, a, cross.as_str()).await?)) }.boxed());
    }
    let mut seen_roles = BTreeSet::new();
    let mut seen_keys = BTreeSet::new();
    for owner in flow.owners() {
        let b = &owner.account_id;
        if seen_roles.insert(owner.role_arn()) {
            reads.push(
                async move { Ok(Found::Role(owner.role_arn(), read_role(accounts, b, owner.role.as_str(), None).await?)) }
                    .boxed(),
            );
        }
        for bucket in &owner.buckets {
            let name = bucket.name.as_str();
            reads
                .push(async move { Ok(Found::Bucket(name.to_owned(), read_bucket(accounts, b, name).await?)) }.boxed());
            if let Some(key) =
                bucket.kms_key_arn.as_ref().map(|k| k.as_str()).filter(|k| seen_keys.insert(k.to_owned()))
            {
                reads.push(async move { Ok(Found::Key(key.to_owned(), read_key(accounts, b, key).await?)) }.boxed());
            }
        }
    }
    let found: Vec<Found> = stream::iter(reads).buffer_unordered(READ_CONCURRENCY).try_collect().await?;
    let mut observed = Observed::default();
    for f in found {
        match f {
            Found::Role(arn, Some(role)) => {
                observed.roles.insert(arn, role);
            }
            Found::Profile(arn, Some(profile)) => {
                observed.instance_profiles.insert(arn, profile);
            }
            Found::Bucket(name, Some(bucket)) => {
                observed.buckets.insert(name, bucket);
            }
            Found::Key(arn, Some(policy)) => {
                observed.keys.insert(arn, policy);
            }
            Found::Role(..) | Found::Profile(..) | Found::Bucket(..) | Found::Key(..) => {}
        }
    }
    Ok(observed)
}

/// GetRole, then (when the role exists) GetRolePolicy for `inline`.
async fn read_role(
    accounts: &Accounts,
    account: &AccountId,
    name: &str,
    inline: Option<&str>,
) -> Result<Option<Role>, Error> {
    let iam = &accounts.clients(account)?.iam;
    let out = match accounts.call(account, Service::Iam, "GetRole", || iam.get_role().role_name(name).send()).await {
        Ok(out) => out,
        Err(err) if is_not_found(&err, &["NoSuchEntity"]) => return Ok(None),
        Err(err) => return Err(accounts.fail(account, Service::Iam, "GetRole", err)),
    };
    let mut role = Role::default();
    if let Some(r) = out.role() {
        role.tags = r.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
        if let Some(text) = r.assume_role_policy_document() {
            role.trust = Some(parse(account, Service::Iam, "GetRole", text)?);
        }
    }
    if let Some(policy) = inline {
        if let Some(doc) = read_role_policy(accounts, account, name, policy).await? {
            role.inline.insert(policy.to_owned(), doc);
        }
    }
    Ok(Some(role))
}

async fn read_role_policy(
    accounts: &Accounts,
    account: &AccountId,
    role: &str,
    policy: &str,
) -> Result<Option<PolicyDocument>, Error> {
    let iam = &accounts.clients(account)?.iam;
    let call = "GetRolePolicy";
    match accounts
        .call(account, Service::Iam, call, || iam.get_role_policy().role_name(role).policy_name(policy).send())
        .await
    {
        Ok(out) => Ok(Some(parse(account, Service::Iam, call, out.policy_document())?)),
        Err(err) if is_not_found(&err, &["NoSuchEntity"]) => Ok(None),
        Err(err) => Err(accounts.fail(account, Service::Iam, call, err)),
    }
}

/// The cross-account role is not ours: only its PassRole policy is read. When
/// that policy is missing, GetRole tells whether the role exists.
async fn read_cross_role(accounts: &Accounts, account: &AccountId, name: &str) -> Result<Option<Role>, Error> {
    if let Some(doc) = read_role_policy(accounts, account, name, PASS_ROLE_POLICY_NAME).await? {
        return Ok(Some(Role { inline: BTreeMap::from([(PASS_ROLE_POLICY_NAME.to_owned(), doc)]), ..Role::default() }));
    }
    Ok(read_role(accounts, account, name, None).await?.map(|_| Role::default()))
}

async fn read_profile(accounts: &Accounts, account: &AccountId, name: &str) -> Result<Option<InstanceProfile>, Error> {
    let iam = &accounts.clients(account)?.iam;
    let call = "GetInstanceProfile";
    let out = match accounts
        .call(account, Service::Iam, call, || iam.get_instance_profile().instance_profile_name(name).send())
        .await
    {
        Ok(out) => out,
        Err(err) if is_not_found(&err, &["NoSuchEntity"]) => return Ok(None),
        Err(err) => return Err(accounts.fail(account, Service::Iam, call, err)),
    };
    let mut profile = InstanceProfile::default();
    if let Some(p) = out.instance_profile() {
        profile.tags = p.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
        profile.roles = p.roles().iter().map(|r| r.role_name().to_owned()).collect();
    }
    Ok(Some(profile))
}

async fn read_bucket(accounts: &Accounts, account: &AccountId, bucket: &str) -> Result<Option<BucketState>, Error> {
    let s3 = &accounts.clients(account)?.s3;
    let call = "GetBucketPolicy";
    match accounts.call(account, Service::S3, call, || s3.get_bucket_policy().bucket(bucket).send()).await {
        Ok(out) => {
            let policy = out.policy().map(|text| parse(account, Service::S3, call, text)).transpose()?;
            Ok(Some(BucketState { policy }))
        }
        Err(err)
            if err.as_service_error().and_then(|e| aws_sdk_s3::error::ProvideErrorMetadata::code(e))
                == Some("NoSuchBucketPolicy") =>
        {
            Ok(Some(BucketState { policy: None }))
        }
        Err(err) if is_not_found(&err, &["NoSuchBucket"]) => Ok(None),
        Err(err) => Err(accounts.fail(account, Service::S3, call, err)),
    }
}

async fn read_key(accounts: &Accounts, account: &AccountId, key: &str) -> Result<Option<PolicyDocument>, Error> {
    let kms = &accounts.clients(account)?.kms;
    let call = "GetKeyPolicy";
    match accounts
        .call(account, Service::Kms, call, || kms.get_key_policy().key_id(key).policy_name("default").send())
        .await
    {
        Ok(out) => out.policy().map(|text| parse(account, Service::Kms, call, text)).transpose(),
        Err(err) if is_not_found(&err, &["NotFoundException"]) => Ok(None),
        Err(err) => Err(accounts.fail(account, Service::Kms, call, err)),
    }
}

/// A policy as a service returns it; IAM URL-encodes its documents.
fn parse(account: &AccountId, service: Service, call: &'static str, text: &str) -> Result<PolicyDocument, Error> {
    PolicyDocument::from_api_text(text).map_err(|e| Error::BadDocument {
        account: account.clone(),
        service,
        call,
        document: policy_model::document::percent_decode(text),
        message: e.to_string(),
    })
}

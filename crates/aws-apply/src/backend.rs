//! The narrow traits over AWS: one per service, holding only the calls xacct
//! makes, each taking the account it runs in. [`Accounts`](crate::Accounts)
//! implements them with the SDK; [`Memory`](crate::memory::Memory) implements
//! them over plain data for tests.
//!
//! The rules every implementation keeps:
//! - a read of something that does not exist is `Ok(None)` (or the matching
//!   variant), never an error;
//! - a list call returns one [`Page`]; [`all_pages`] reads them all;
//! - documents are returned as the service returns them (IAM URL-encodes
//!   them), and [`observe`](crate::observe()) parses them.

use std::collections::BTreeMap;
use std::future::Future;

use policy_model::AccountId;

use crate::accounts::{ApiCalls, Error};

/// One page of a list call: the items, and the marker of the next page when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// The marker to pass for the next page; `None` on the last page.
    pub next: Option<String>,
}

/// Reads every page of a list call, starting with no marker.
pub async fn all_pages<T, F, Fut>(mut page: F) -> Result<Vec<T>, Error>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, Error>>,
{
    let mut items = Vec::new();
    let mut marker = None;
    loop {
        let got = page(marker.take()).await?;
        items.extend(got.items);
        match got.next {
            Some(next) => marker = Some(next),
            None => return Ok(items),
        }
    }
}

/// A role as GetRole returns it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoleInfo {
    /// The role's ARN (with its path).
    pub arn: String,
    /// The trust policy text, as IAM returns it (URL-encoded).
    pub trust: Option<String>,
    /// The role's tags.
    pub tags: BTreeMap<String, String>,
    /// The ARN of the permissions boundary, when one is set.
    pub boundary: Option<String>,
    /// When the role was created, when the service says.
    pub created: Option<std::time::SystemTime>,
}

/// A role an instance profile holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRole {
    /// The role's name.
    pub name: String,
    /// The role's ARN.
    pub arn: String,
}

/// An instance profile as GetInstanceProfile returns it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProfileInfo {
    /// The profile's tags.
    pub tags: BTreeMap<String, String>,
    /// The roles it holds (at most one, in AWS).
    pub roles: Vec<ProfileRole>,
}

/// A managed policy as GetPolicy returns it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ManagedPolicy {
    /// The id of the default version; the API model leaves it optional.
    pub default_version: Option<String>,
}

/// One version of a managed policy, as ListPolicyVersions returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersion {
    /// `v1`, `v2`, …
    pub id: String,
    /// True for the version IAM evaluates.
    pub is_default: bool,
}

/// What GetBucketPolicy found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketPolicy {
    /// The bucket does not exist.
    NoBucket,
    /// The bucket exists and has no policy.
    None,
    /// The bucket's policy, as S3 returns it.
    Some(String),
}

/// Who a set of credentials is, as GetCallerIdentity says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The 12-digit account id.
    pub account: String,
    /// The caller's ARN.
    pub arn: String,
}

/// The IAM calls xacct makes.
pub trait Iam: Sync {
    /// GetRole; `None` when there is no such role.
    fn get_role(&self, account: &AccountId, name: &str)
        -> impl Future<Output = Result<Option<RoleInfo>, Error>> + Send;
    /// ListRolePolicies: the names of the role's inline policies.
    fn list_role_policies(
        &self,
        account: &AccountId,
        role: &str,
        marker: Option<String>,
    ) -> impl Future<Output = Result<Page<String>, Error>> + Send;
    /// GetRolePolicy: the document text; `None` when the role or the policy does not exist.
    fn get_role_policy(
        &self,
        account: &AccountId,
        role: &str,
        name: &str,
    ) -> impl Future<Output = Result<Option<String>, Error>> + Send;
    /// ListAttachedRolePolicies: the ARNs of the managed policies attached to the role.
    fn list_attached_role_policies(
        &self,
        account: &AccountId,
        role: &str,
        marker: Option<String>,
    ) -> impl Future<Output = Result<Page<String>, Error>> + Send;
    /// GetPolicy; `None` when there is no such policy.
    fn get_policy(
        &self,
        account: &AccountId,
        arn: &str,
    ) -> impl Future<Output = Result<Option<ManagedPolicy>, Error>> + Send;
    /// ListPolicyVersions.
    fn list_policy_versions(
        &self,
        account: &AccountId,
        arn: &str,
        marker: Option<String>,
    ) -> impl Future<Output = Result<Page<PolicyVersion>, Error>> + Send;
    /// GetPolicyVersion: the document text; `None` when there is no such version.
    fn get_policy_version(
        &self,
        account: &AccountId,
        arn: &str,
        version: &str,
    ) -> impl Future<Output = Result<Option<String>, Error>> + Send;
    /// GetInstanceProfile; `None` when there is no such profile.
    fn get_instance_profile(
        &self,
        account: &AccountId,
        name: &str,
    ) -> impl Future<Output = Result<Option<ProfileInfo>, Error>> + Send;
    /// ListInstanceProfilesForRole: the names of the profiles that hold the role.
    fn list_instance_profiles_for_role(
        &self,
        account: &AccountId,
        role: &str,
        marker: Option<String>,
    ) -> impl Future<Output = Result<Page<String>, Error>> + Send;

    /// CreateRole with a description, tags and, when given, a permissions boundary and a path.
    fn create_role(
        &self,
        account: &AccountId,
        name: &str,
        trust: &str,
        tags: &BTreeMap<String, String>,
        boundary: Option<&str>,
        path: Option<&str>,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    /// PutRolePermissionsBoundary.
    fn put_role_permissions_boundary(
        &self,
        account: &AccountId,
        role: &str,
        arn: &str,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    /// TagRole: adds these tags, replacing the values of keys the role already has.
    fn tag_role(
        &self,
        account: &AccountId,
        role: &str,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    /// UntagRole: removes the tags of these keys.
    fn untag_role(
        &self,
        account: &AccountId,
        role: &str,
        keys: &[String],
    ) -> impl Future<Output = Result<(), Error>> + Send;
    /// UpdateAssumeRolePolicy.
    fn update_assume_role_policy(
        &self,
        account: &AccountId,
        role: &str,
        doc: &str,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    /// PutRolePolicy.
    fn put_role_policy(
        &self,
        account: &AccountId,
        role: &str,
        name: &str,
        doc: &str,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    /// DeleteRolePolicy.
    fn delete_role_policy(
        &self,
        account: &AccountId,
        role: &str,
        name: &str,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    /// DetachRolePolicy.
    fn detach_role_policy(
        &self,
        account: &AccountId,
        role: &str,
        arn: &str,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    /// CreateInstanceProfile with tags and, when given, a path.
    fn create_instance_profile(
        &self,
        account: &AccountId,
        name: &str,
        tags: &BTreeMap<String, String>,
        path: Option<&str>,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    /// AddRoleToInstanceProfile.
    fn add_role_to_instance_profile(
        &self,
        account: &AccountId,
        profile: &str,
        role: &str,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    /// RemoveRoleFromInstanceProfile.
    fn remove_role_from_instance_profile(
        &self,
        account: &AccountId,
        profile: &str,
        role: &str,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    /// DeleteInstanceProfile.
    fn delete_instance_profile(
        &self,
        account: &AccountId,
        name: &str,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    /// CreatePolicy: a customer managed policy named `name` with `doc` as its first version.
    fn create_policy(
        &self,
        account: &AccountId,
        name: &str,
        doc: &str,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    /// CreatePolicyVersion with `doc`, set as the default version.
    fn create_policy_version(
        &self,
        account: &AccountId,
        arn: &str,
        doc: &str,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    /// DeletePolicyVersion (of a version that is not the default).
    fn delete_policy_version(
        &self,
        account: &AccountId,
        arn: &str,
        version: &str,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    /// DeletePolicy (of a policy attached nowhere, with only its default version left).
    fn delete_policy(&self, account: &AccountId, arn: &str) -> impl Future<Output = Result<(), Error>> + Send;
    /// AttachRolePolicy.
    fn attach_role_policy(
        &self,
        account: &AccountId,
        role: &str,
        arn: &str,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    /// DeleteRole (of a role with no policies and in no profile).
    fn delete_role(&self, account: &AccountId, name: &str) -> impl Future<Output = Result<(), Error>> + Send;
}

/// The S3 calls xacct makes.
pub trait S3: Sync {
    /// GetBucketPolicy.
    fn get_bucket_policy(
        &self,
        account: &AccountId,
        bucket: &str,
    ) -> impl Future<Output = Result<BucketPolicy, Error>> + Send;
    /// GetBucketOwnershipControls: the Object Ownership rule; `None` when none is set.
    fn get_bucket_ownership(
        &self,
        account: &AccountId,
        bucket: &str,
    ) -> impl Future<Output = Result<Option<String>, Error>> + Send;
    /// PutBucketPolicy.
    fn put_bucket_policy(
        &self,
        account: &AccountId,
        bucket: &str,
        doc: &str,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    /// DeleteBucketPolicy.
    fn delete_bucket_policy(&self, account: &AccountId, bucket: &str)
        -> impl Future<Output = Result<(), Error>> + Send;
}

/// The KMS calls xacct makes. Each goes to the region in the key's ARN.
pub trait Kms: Sync {
    /// GetKeyPolicy of policy `default`; `None` when there is no such key.
    fn get_key_policy(
        &self,
        account: &AccountId,
        key_arn: &str,
    ) -> impl Future<Output = Result<Option<String>, Error>> + Send;
    /// PutKeyPolicy of policy `default`.
    fn put_key_policy(
        &self,
        account: &AccountId,
        key_arn: &str,
        doc: &str,
    ) -> impl Future<Output = Result<(), Error>> + Send;
}

/// The STS call xacct makes for itself (the probes of `verify` make their own).
pub trait Sts: Sync {
    /// GetCallerIdentity with the account's credentials.
    fn get_caller_identity(&self, account: &AccountId) -> impl Future<Output = Result<Identity, Error>> + Send;
}

/// Every service, and the calls made so far.
pub trait Aws: Iam + S3 + Kms + Sts {
    /// Every call made so far, retries included.
    fn api_calls(&self) -> ApiCalls;
}

/// Checks with STS GetCallerIdentity that each account's credentials belong
/// to that account (one read per account). Run it before reading or writing
/// anything: a profile that reaches another account must not be planned against or verified.
pub async fn check_identities<'a, B: Sts + ?Sized>(
    aws: &B,
    accounts: impl IntoIterator<Item = &'a AccountId>,
) -> Result<(), Error> {
    for id in accounts {
        let identity = aws.get_caller_identity(id).await?;
        if identity.account != id.as_str() {
            return Err(Error::WrongAccount { expected: id.clone(), actual: identity.account });
        }
    }
    Ok(())
}

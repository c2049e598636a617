//! The SDK implementation of the [`backend`](crate::backend) traits: every
//! call goes through [`Accounts::call`] (counted, retried) and every failure
//! becomes an [`Error`] naming the account and the call. The not-found rules live here.

use std::collections::BTreeMap;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use policy_model::AccountId;

use crate::accounts::{describe, Accounts, ApiCalls, Error, Service};
use crate::backend::{
    Aws, BucketPolicy, Iam, Identity, Kms, ManagedPolicy, Page, PolicyVersion, ProfileInfo, ProfileRole, RoleInfo, Sts,
    S3,
};

/// True when the failure says the thing does not exist: the code, or HTTP 404
/// when the code cannot be read (moto's IAM errors with its checks on).
pub(crate) fn is_not_found<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>, codes: &[&str]) -> bool {
    match err.code() {
        Some(code) => codes.contains(&code),
        None => err.raw_response().is_some_and(|r| r.status().as_u16() == 404),
    }
}

const NO_SUCH_ENTITY: &[&str] = &["NoSuchEntity"];

/// One call: `$name` is the operation, `$send` the SDK future; `not_found` codes give `Ok(None)`.
macro_rules! call {
    ($self:ident, $account:ident, $service:expr, $name:literal, $send:expr) => {
        $self.call($account, $service, $name, || $send).await.map_err(|e| $self.fail($account, $service, $name, e))
    };
    ($self:ident, $account:ident, $service:expr, $name:literal, $send:expr, not_found: $codes:expr) => {
        match $self.call($account, $service, $name, || $send).await {
            Ok(out) => Ok(Some(out)),
            Err(err) if is_not_found(&err, $codes) => Ok(None),
            Err(err) => Err($self.fail($account, $service, $name, err)),
        }
    };
}

fn tags<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> BTreeMap<String, String> {
    tags.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

fn iam_tags(
    account: &AccountId,
    call: &'static str,
    tags: &BTreeMap<String, String>,
) -> Result<Vec<aws_sdk_iam::types::Tag>, Error> {
    tags.iter()
        .map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder().key(k).value(v).build().map_err(|e| Error::Call {
                account: account.clone(),
                service: Service::Iam,
                call,
                code: None,
                message: e.to_string(),
            })
        })
        .collect()
}

fn page<T>(items: Vec<T>, truncated: bool, marker: Option<String>) -> Page<T> {
    Page { items, next: if truncated { marker } else { None } }
}

impl Iam for Accounts {
    async fn get_role(&self, account: &AccountId, name: &str) -> Result<Option<RoleInfo>, Error> {
        let iam = &self.clients(account)?.iam;
        let out = call!(self, account, Service::Iam, "GetRole", iam.get_role().role_name(name).send(), not_found: NO_SUCH_ENTITY)?;
        Ok(out.and_then(|o| o.role).map(|r| RoleInfo {
            tags: tags(r.tags().iter().map(|t| (t.key(), t.value()))),
            trust: r.assume_role_policy_document().map(str::to_owned),
            boundary: r.permissions_boundary().and_then(|b| b.permissions_boundary_arn()).map(str::to_owned),
            created: std::time::SystemTime::try_from(r.create_date).ok(),
            arn: r.arn,
        }))
    }

    async fn list_role_policies(
        &self,
        account: &AccountId,
        role: &str,
        marker: Option<String>,
    ) -> Result<Page<String>, Error> {
        let iam = &self.clients(account)?.iam;
        let out = call!(
            self,
            account,
            Service::Iam,
            "ListRolePolicies",
            iam.list_role_policies().role_name(role).set_marker(marker.clone()).send()
        )?;
        Ok(page(out.policy_names, out.is_truncated, out.marker))
    }

    async fn get_role_policy(&self, account: &AccountId, role: &str, name: &str) -> Result<Option<String>, Error> {
        let iam = &self.clients(account)?.iam;
        let out = call!(
            self,
            account,
            Service::Iam,
            "GetRolePolicy",
            iam.get_role_policy().role_name(role).policy_name(name).send(),
            not_found: NO_SUCH_ENTITY
        )?;
        Ok(out.map(|o| o.policy_document))
    }

    async fn list_attached_role_policies(
        &self,
        account: &AccountId,
        role: &str,
        marker: Option<String>,
    ) -> Result<Page<String>, Error> {
        let iam = &self.clients(account)?.iam;
        let out = call!(
            self,
            account,
            Service::Iam,
            "ListAttachedRolePolicies",
            iam.list_attached_role_policies().role_name(role).set_marker(marker.clone()).send()
        )?;
        let arns = out.attached_policies().iter().filter_map(|p| p.policy_arn().map(str::to_owned)).collect();
        Ok(page(arns, out.is_truncated, out.marker))
    }

    async fn get_policy(&self, account: &AccountId, arn: &str) -> Result<Option<ManagedPolicy>, Error> {
        let iam = &self.clients(account)?.iam;
        let out = call!(self, account, Service::Iam, "GetPolicy", iam.get_policy().policy_arn(arn).send(), not_found: NO_SUCH_ENTITY)?;
        Ok(out.map(|o| ManagedPolicy {
            default_version: o.policy().and_then(|p| p.default_version_id()).map(str::to_owned),
        }))
    }

    async fn list_policy_versions(
        &self,
        account: &AccountId,
        arn: &str,
        marker: Option<String>,
    ) -> Result<Page<PolicyVersion>, Error> {
        let iam = &self.clients(account)?.iam;
        let out = call!(
            self,
            account,
            Service::Iam,
            "ListPolicyVersions",
            iam.list_policy_versions().policy_arn(arn).set_marker(marker.clone()).send()
        )?;
        let versions = out
            .versions()
            .iter()
            .filter_map(|v| Some(PolicyVersion { id: v.version_id()?.to_owned(), is_default: v.is_default_version() }))
            .collect();
        Ok(page(versions, out.is_truncated, out.marker))
    }

    async fn get_policy_version(&self, account: &AccountId, arn: &str, version: &str) -> Result<Option<String>, Error> {
        let iam = &self.clients(account)?.iam;
        let out = call!(
            self,
            account,
            Service::Iam,
            "GetPolicyVersion",
            iam.get_policy_version().policy_arn(arn).version_id(version).send(),
            not_found: NO_SUCH_ENTITY
        )?;
        Ok(out.and_then(|o| o.policy_version).and_then(|v| v.document))
    }

    async fn get_instance_profile(&self, account: &AccountId, name: &str) -> Result<Option<ProfileInfo>, Error> {
        let iam = &self.clients(account)?.iam;
        let out = call!(
            self,
            account,
            Service::Iam,
            "GetInstanceProfile",
            iam.get_instance_profile().instance_profile_name(name).send(),
            not_found: NO_SUCH_ENTITY
        )?;
        Ok(out.and_then(|o| o.instance_profile).map(|p| ProfileInfo {
            tags: tags(p.tags().iter().map(|t| (t.key(), t.value()))),
            roles: p.roles.into_iter().map(|r| ProfileRole { name: r.role_name, arn: r.arn }).collect(),
        }))
    }

    async fn list_instance_profiles_for_role(
        &self,
        account: &AccountId,
        role: &str,
        marker: Option<String>,
    ) -> Result<Page<String>, Error> {
        let iam = &self.clients(account)?.iam;
        let out = call!(
            self,
            account,
            Service::Iam,
            "ListInstanceProfilesForRole",
            iam.list_instance_profiles_for_role().role_name(role).set_marker(marker.clone()).send()
        )?;
        let names = out.instance_profiles.into_iter().map(|p| p.instance_profile_name).collect();
        Ok(page(names, out.is_truncated, out.marker))
    }

    async fn create_role(
        &self,
        account: &AccountId,
        name: &str,
        trust: &str,
        tags: &BTreeMap<String, String>,
        boundary: Option<&str>,
        path: Option<&str>,
    ) -> Result<(), Error> {
        let iam = &self.clients(account)?.iam;
        let tags = iam_tags(account, "CreateRole", tags)?;
        call!(
            self,
            account,
            Service::Iam,
            "CreateRole",
            iam.create_role()
                .role_name(name)
                .assume_role_policy_document(trust)
                .description("Managed by xacct")
                .set_tags(Some(tags.clone()))
                .set_permissions_boundary(boundary.map(str::to_owned))
                .set_path(path.map(str::to_owned))
                .send()
        )
        .map(drop)
    }

    async fn create_policy(&self, account: &AccountId, name: &str, doc: &str) -> Result<(), Error> {
        let iam = &self.clients(account)?.iam;
        call!(
            self,
            account,
            Service::Iam,
            "CreatePolicy",
            iam.create_policy().policy_name(name).policy_document(doc).description("Managed by xacct").send()
        )
        .map(drop)
    }

    async fn create_policy_version(&self, account: &AccountId, arn: &str, doc: &str) -> Result<(), Error> {
        let iam = &self.clients(account)?.iam;
        call!(
            self,
            account,
            Service::Iam,
            "CreatePolicyVersion",
            iam.create_policy_version().policy_arn(arn).policy_document(doc).set_as_default(true).send()
        )
        .map(drop)
    }

    async fn delete_policy_version(&self, account: &AccountId, arn: &str, version: &str) -> Result<(), Error> {
        let iam = &self.clients(account)?.iam;
        call!(
            self,
            account,
            Service::Iam,
            "DeletePolicyVersion",
            iam.delete_policy_version().policy_arn(arn).version_id(version).send()
        )
        .map(drop)
    }

    async fn delete_policy(&self, account: &AccountId, arn: &str) -> Result<(), Error> {
        let iam = &self.clients(account)?.iam;
        call!(self, account, Service::Iam, "DeletePolicy", iam.delete_policy().policy_arn(arn).send()).map(drop)
    }

    async fn attach_role_policy(&self, account: &AccountId, role: &str, arn: &str) -> Result<(), Error> {
        let iam = &self.clients(account)?.iam;
        call!(
            self,
            account,
            Service::Iam,
            "AttachRolePolicy",
            iam.attach_role_policy().role_name(role).policy_arn(arn).send()
        )
        .map(drop)
    }

    async fn put_role_permissions_boundary(&self, account: &AccountId, role: &str, arn: &str) -> Result<(), Error> {
        let iam = &self.clients(account)?.iam;
        call!(
            self,
            account,
            Service::Iam,
            "PutRolePermissionsBoundary",
            iam.put_role_permissions_boundary().role_name(role).permissions_boundary(arn).send()
        )
        .map(drop)
    }

    async fn tag_role(&self, account: &AccountId, role: &str, tags: &BTreeMap<String, String>) -> Result<(), Error> {
        let iam = &self.clients(account)?.iam;
        let tags = iam_tags(account, "TagRole", tags)?;
        call!(
            self,
            account,
            Service::Iam,
            "TagRole",
            iam.tag_role().role_name(role).set_tags(Some(tags.clone())).send()
        )
        .map(drop)
    }

    async fn untag_role(&self, account: &AccountId, role: &str, keys: &[String]) -> Result<(), Error> {
        let iam = &self.clients(account)?.iam;
        call!(
            self,
            account,
            Service::Iam,
            "UntagRole",
            iam.untag_role().role_name(role).set_tag_keys(Some(keys.to_vec())).send()
        )
        .map(drop)
    }

    async fn update_assume_role_policy(&self, account: &AccountId, role: &str, doc: &str) -> Result<(), Error> {
        let iam = &self.clients(account)?.iam;
        call!(
            self,
            account,
            Service::Iam,
            "UpdateAssumeRolePolicy",
            iam.update_assume_role_policy().role_name(role).policy_document(doc).send()
        )
        .map(drop)
    }

    async fn put_role_policy(&self, account: &AccountId, role: &str, name: &str, doc: &str) -> Result<(), Error> {
        let iam = &self.clients(account)?.iam;
        call!(
            self,
            account,
            Service::Iam,
            "PutRolePolicy",
            iam.put_role_policy().role_name(role).policy_name(name).policy_document(doc).send()
        )
        .map(drop)
    }

    async fn delete_role_policy(&self, account: &AccountId, role: &str, name: &str) -> Result<(), Error> {
        let iam = &self.clients(account)?.iam;
        call!(
            self,
            account,
            Service::Iam,
            "DeleteRolePolicy",
            iam.delete_role_policy().role_name(role).policy_name(name).send()
        )
        .map(drop)
    }

    async fn detach_role_policy(&self, account: &AccountId, role: &str, arn: &str) -> Result<(), Error> {
        let iam = &self.clients(account)?.iam;
        call!(
            self,
            account,
            Service::Iam,
            "DetachRolePolicy",
            iam.detach_role_policy().role_name(role).policy_arn(arn).send()
        )
        .map(drop)
    }

    async fn create_instance_profile(
        &self,
        account: &AccountId,
        name: &str,
        tags: &BTreeMap<String, String>,
        path: Option<&str>,
    ) -> Result<(), Error> {
        let iam = &self.clients(account)?.iam;
        let tags = iam_tags(account, "CreateInstanceProfile", tags)?;
        call!(
            self,
            account,
            Service::Iam,
            "CreateInstanceProfile",
            iam.create_instance_profile()
                .instance_profile_name(name)
                .set_tags(Some(tags.clone()))
                .set_path(path.map(str::to_owned))
                .send()
        )
        .map(drop)
    }

    async fn add_role_to_instance_profile(&self, account: &AccountId, profile: &str, role: &str) -> Result<(), Error> {
        let iam = &self.clients(account)?.iam;
        call!(
            self,
            account,
            Service::Iam,
            "AddRoleToInstanceProfile",
            iam.add_role_to_instance_profile().instance_profile_name(profile).role_name(role).send()
        )
        .map(drop)
    }

    async fn remove_role_from_instance_profile(
        &self,
        account: &AccountId,
        profile: &str,
        role: &str,
    ) -> Result<(), Error> {
        let iam = &self.clients(account)?.iam;
        call!(
            self,
            account,
            Service::Iam,
            "RemoveRoleFromInstanceProfile",
            iam.remove_role_from_instance_profile().instance_profile_name(profile).role_name(role).send()
        )
        .map(drop)
    }

    async fn delete_instance_profile(&self, account: &AccountId, name: &str) -> Result<(), Error> {
        let iam = &self.clients(account)?.iam;
        call!(
            self,
            account,
            Service::Iam,
            "DeleteInstanceProfile",
            iam.delete_instance_profile().instance_profile_name(name).send()
        )
        .map(drop)
    }

    async fn delete_role(&self, account: &AccountId, name: &str) -> Result<(), Error> {
        let iam = &self.clients(account)?.iam;
        call!(self, account, Service::Iam, "DeleteRole", iam.delete_role().role_name(name).send()).map(drop)
    }
}

impl S3 for Accounts {
    async fn get_bucket_policy(&self, account: &AccountId, bucket: &str) -> Result<BucketPolicy, Error> {
        let s3 = &self.clients(account)?.s3;
        match self.call(account, Service::S3, "GetBucketPolicy", || s3.get_bucket_policy().bucket(bucket).send()).await
        {
            Ok(out) => Ok(out.policy.map_or(BucketPolicy::None, BucketPolicy::Some)),
            Err(err) if err.code() == Some("NoSuchBucketPolicy") => Ok(BucketPolicy::None),
            Err(err) if is_not_found(&err, &["NoSuchBucket"]) => Ok(BucketPolicy::NoBucket),
            Err(err) => Err(self.fail(account, Service::S3, "GetBucketPolicy", err)),
        }
    }

    async fn get_bucket_ownership(&self, account: &AccountId, bucket: &str) -> Result<Option<String>, Error> {
        let s3 = &self.clients(account)?.s3;
        let call = "GetBucketOwnershipControls";
        match self.call(account, Service::S3, call, || s3.get_bucket_ownership_controls().bucket(bucket).send()).await {
            Ok(out) => Ok(out
                .ownership_controls()
                .and_then(|c| c.rules().first())
                .map(|r| r.object_ownership().as_str().to_owned())),
            Err(err) if is_not_found(&err, &["OwnershipControlsNotFoundError", "NoSuchBucket"]) => Ok(None),
            Err(err) => {
                tracing::debug!(bucket, error = %describe(&err), "no ownership controls");
                Err(self.fail(account, Service::S3, call, err))
            }
        }
    }

    async fn put_bucket_policy(&self, account: &AccountId, bucket: &str, doc: &str) -> Result<(), Error> {
        let s3 = &self.clients(account)?.s3;
        call!(self, account, Service::S3, "PutBucketPolicy", s3.put_bucket_policy().bucket(bucket).policy(doc).send())
            .map(drop)
    }

    async fn delete_bucket_policy(&self, account: &AccountId, bucket: &str) -> Result<(), Error> {
        let s3 = &self.clients(account)?.s3;
        call!(self, account, Service::S3, "DeleteBucketPolicy", s3.delete_bucket_policy().bucket(bucket).send())
            .map(drop)
    }
}

impl Kms for Accounts {
    async fn get_key_policy(&self, account: &AccountId, key_arn: &str) -> Result<Option<String>, Error> {
        let kms = self.kms(account, key_arn)?;
        let out = call!(
            self,
            account,
            Service::Kms,
            "GetKeyPolicy",
            kms.get_key_policy().key_id(key_arn).policy_name("default").send(),
            not_found: &["NotFoundException"]
        )?;
        // A key whose policy comes back empty has the empty document.
        Ok(out.map(|o| o.policy.unwrap_or_else(|| r#"{"Statement":[]}"#.to_owned())))
    }

    async fn put_key_policy(&self, account: &AccountId, key_arn: &str, doc: &str) -> Result<(), Error> {
        let kms = self.kms(account, key_arn)?;
        call!(
            self,
            account,
            Service::Kms,
            "PutKeyPolicy",
            kms.put_key_policy().key_id(key_arn).policy_name("default").policy(doc).send()
        )
        .map(drop)
    }
}

impl Sts for Accounts {
    async fn get_caller_identity(&self, account: &AccountId) -> Result<Identity, Error> {
        let sts = &self.clients(account)?.sts;
        let out = call!(self, account, Service::Sts, "GetCallerIdentity", sts.get_caller_identity().send())?;
        Ok(Identity { account: out.account.unwrap_or_default(), arn: out.arn.unwrap_or_default() })
    }
}

impl Aws for Accounts {
    fn api_calls(&self) -> ApiCalls {
        Accounts::api_calls(self)
    }
}

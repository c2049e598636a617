//! The Unity Catalog mode: an owner whose role Unity Catalog's master role assumes through a
//! storage credential, with no instance role, instance profile or Spark conf.
//!
//! The chain is `Unity Catalog master role → the owner's role → the bucket (→ KMS key)`. The
//! role's trust policy has two statements, both conditioned on `StringEquals sts:ExternalId`
//! (the ID Databricks returns when the storage credential is created):
//!
//! - the master role may `sts:AssumeRole`;
//! - the role may assume itself, which Unity Catalog demands since 2025. The principal is the
//!   account root with `ArnLike aws:PrincipalArn <the role>`, because IAM refuses a trust policy
//!   that names a role that does not exist yet ("Invalid principal").
//!
//! Until the credential exists there is no external ID: the trust is then written with
//! [`PENDING_EXTERNAL_ID`], which no caller sends, so the role can be assumed by nobody until
//! the real ID replaces it.
//!
//! ```
//! use policy_model::unity::{self, UnityBucket, UnityOwner};
//! use policy_model::{validate, Access, AccountId, BucketName, DocKind, RoleName};
//!
//! let owner = UnityOwner {
//!     account_id: AccountId::new("333333333333")?,
//!     role: RoleName::new("uc-lake-access")?,
//!     storage_credential: "uc_lake_access".to_owned(),
//!     buckets: vec![UnityBucket {
//!         name: BucketName::new("curated-lake")?,
//!         access: Access::ReadOnly,
//!         kms_key_arn: None,
//!         external_location: "curated_lake".to_owned(),
//!         prefix: "tables/".to_owned(),
//!         grants: Vec::new(),
//!     }],
//! };
//! let trust = unity::trust_policy(&owner, unity::MASTER_ROLE_COMMERCIAL, Some("0000-ext"));
//! assert!(validate(&trust, DocKind::Trust).is_empty());
//! assert_eq!(owner.buckets[0].url(), "s3://curated-lake/tables/");
//! # Ok::<(), policy_model::NameError>(())
//! ```

use std::collections::BTreeMap;

use serde::Serialize;

use crate::arn::{self, AccountId, BucketName, KmsKeyArn, RoleName};
use crate::chain::LinkRequest;
use crate::document::{OneOrMany, PolicyDocument, Principal, Statement};
use crate::eval::Context;
use crate::flow::Access;

/// Unity Catalog's master role in the commercial partition, before the API names one.
pub const MASTER_ROLE_COMMERCIAL: &str = "arn:aws:iam::414351767826:role/unity-catalog-prod-UCMasterRole-14S5ZJVKOTYTL";
/// Unity Catalog's master role in GovCloud.
pub const MASTER_ROLE_GOVCLOUD: &str =
    "arn:aws-us-gov:iam::044793339203:role/unity-catalog-prod-UCMasterRole-1QRFA8SGY15OJ";
/// The inline policy on the owner's role that holds its bucket, self-assume and KMS statements.
pub const PERMISSION_POLICY_NAME: &str = "xacct-unity-catalog-access";
/// The external ID the trust carries before Databricks has returned the real one: no caller
/// sends it, so nobody can assume the role meanwhile.
pub const PENDING_EXTERNAL_ID: &str = "xacct-pending-external-id";
/// The start of the comment xacct writes on the storage credentials and external locations it
/// creates; destroy removes only those.
pub const COMMENT_MARKER: &str = "managed by xacct";
/// The privileges a grant may name on an external location.
pub const PRIVILEGES: [&str; 8] = [
    "ALL_PRIVILEGES",
    "BROWSE",
    "CREATE_EXTERNAL_TABLE",
    "CREATE_EXTERNAL_VOLUME",
    "CREATE_MANAGED_STORAGE",
    "MANAGE",
    "READ_FILES",
    "WRITE_FILES",
];
/// The privileges that write, refused on a read-only location.
pub const WRITE_PRIVILEGES: [&str; 4] =
    ["ALL_PRIVILEGES", "CREATE_MANAGED_STORAGE", "WRITE_FILES", "CREATE_EXTERNAL_VOLUME"];
/// The operations Unity Catalog's validation reports on, in the order xacct lists them.
pub const VALIDATION_OPERATIONS: [&str; 5] = ["READ", "WRITE", "LIST", "DELETE", "PATH_EXISTS"];

/// The access mode of a bucket owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccessMode {
    /// The runbook: an instance role in account A assumes the owner's role.
    #[default]
    InstanceProfile,
    /// A Unity Catalog storage credential assumes the owner's role.
    UnityCatalog,
}

impl AccessMode {
    /// `instance-profile` or `unity-catalog`, as the config writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessMode::InstanceProfile => "instance-profile",
            AccessMode::UnityCatalog => "unity-catalog",
        }
    }
}

/// A bucket owner in the Unity Catalog mode.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnityOwner {
    /// The owner's account.
    pub account_id: AccountId,
    /// The role Unity Catalog assumes, created in this account.
    pub role: RoleName,
    /// The storage credential's name (see [`check_name`]).
    pub storage_credential: String,
    /// The buckets, in config order.
    pub buckets: Vec<UnityBucket>,
}

/// One bucket of a Unity Catalog owner, reached through one external location.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnityBucket {
    /// The bucket; no dots in this mode.
    pub name: BucketName,
    /// What the role may do in it; read-only becomes `read_only` on the location.
    pub access: Access,
    /// The key that encrypts the bucket.
    pub kms_key_arn: Option<KmsKeyArn>,
    /// The external location's name (see [`check_name`]).
    pub external_location: String,
    /// The path under the bucket, empty or ending in `/` (see [`check_prefix`]).
    pub prefix: String,
    /// The grants on the external location.
    pub grants: Vec<Grant>,
}

/// Privileges on an external location for one principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    /// A user, group or service principal, as Databricks names it.
    pub principal: String,
    /// Each one of [`PRIVILEGES`].
    pub privileges: Vec<String>,
}

/// A storage credential, external location, prefix or privilege that Databricks would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnityNameError {
    /// A securable name that breaks Unity Catalog's rule.
    #[error("name `{name}` breaks the rule: {rule}")]
    Name {
        /// The name as given.
        name: String,
        /// The rule, in words.
        rule: &'static str,
    },
    /// A prefix that cannot follow `s3://<bucket>/`.
    #[error("prefix `{prefix}` breaks the rule: {rule}")]
    Prefix {
        /// The prefix as given.
        prefix: String,
        /// The rule, in words.
        rule: &'static str,
    },
    /// A privilege that external locations do not have.
    #[error("privilege `{0}` is not one an external location has; expected one of {all}", all = PRIVILEGES.join(", "))]
    Privilege(String),
}

/// Checks a storage credential or external location name: 1 to 255 characters, none of them
/// `.`, `/`, a space or a control character.
pub fn check_name(name: &str) -> Result<(), UnityNameError> {
    let rule = |rule| UnityNameError::Name { name: name.to_owned(), rule };
    if name.is_empty() || name.chars().count() > 255 {
        return Err(rule("1 to 255 characters"));
    }
    if name.chars().any(|c| c == '.' || c == '/' || c == ' ' || c.is_control()) {
        return Err(rule("no `.`, `/`, space or control character"));
    }
    Ok(())
}

/// Checks a prefix: empty, or a relative path ending in `/` without empty, `.` or `..` parts.
pub fn check_prefix(prefix: &str) -> Result<(), UnityNameError> {
    let rule = |rule| UnityNameError::Prefix { prefix: prefix.to_owned(), rule };
    if prefix.is_empty() {
        return Ok(());
    }
    if !prefix.ends_with('/') {
        return Err(rule("must end with `/`"));
    }
    let parts: Vec<&str> = prefix[..prefix.len() - 1].split('/').collect();
    if parts.iter().any(|p| p.is_empty() || *p == "." || *p == "..") {
        return Err(rule("no leading `/`, `//`, `.` or `..`"));
    }
    if prefix.chars().any(char::is_control) {
        return Err(rule("no control character"));
    }
    Ok(())
}

/// Checks that a privilege is one of [`PRIVILEGES`].
pub fn check_privilege(privilege: &str) -> Result<(), UnityNameError> {
    if PRIVILEGES.contains(&privilege) {
        Ok(())
    } else {
        Err(UnityNameError::Privilege(privilege.to_owned()))
    }
}

/// The default storage credential name: the role name with `-` turned into `_`.
pub fn default_credential_name(role: &RoleName) -> String {
    role.as_str().replace('-', "_")
}

/// The default external location name: the bucket name with `-` turned into `_`.
pub fn default_location_name(bucket: &BucketName) -> String {
    bucket.as_str().replace('-', "_")
}

/// The master role for a region before the API names one: GovCloud's in `us-gov-*`, otherwise
/// the commercial one.
pub fn default_master_role(region: &str) -> &'static str {
    match arn::region_partition(region) {
        Some("aws-us-gov") => MASTER_ROLE_GOVCLOUD,
        _ => MASTER_ROLE_COMMERCIAL,
    }
}

impl UnityOwner {
    /// `arn:aws:iam::<B>:role/<role>`.
    pub fn role_arn(&self) -> String {
        arn::role_arn(&self.account_id, &self.role)
    }
}

impl UnityBucket {
    /// The external location's URL, `s3://<bucket>/<prefix>`.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.name, self.prefix)
    }
    /// Whether the location is read-only.
    pub fn read_only(&self) -> bool {
        self.access == Access::ReadOnly
    }
}

fn external_id_condition(external_id: &str) -> crate::document::Condition {
    BTreeMap::from([(
        "StringEquals".to_owned(),
        BTreeMap::from([("sts:ExternalId".to_owned(), OneOrMany::One(serde_json::Value::from(external_id)))]),
    )])
}

/// The Sid of the trust statement for the master role.
pub fn master_trust_sid(owner: &UnityOwner) -> String {
    crate::build::sid(&["UcMasterRole", owner.role.as_str()])
}

/// The Sid of the trust statement that lets the role assume itself.
pub fn self_trust_sid(owner: &UnityOwner) -> String {
    crate::build::sid(&["UcSelfAssume", owner.role.as_str()])
}

/// The role's trust policy: the master role and the role itself may assume it, both only with
/// the external ID (or [`PENDING_EXTERNAL_ID`] while Databricks has not returned one).
pub fn trust_policy(owner: &UnityOwner, master_role_arn: &str, external_id: Option<&str>) -> PolicyDocument {
    let id = external_id.unwrap_or(PENDING_EXTERNAL_ID);
    let mut master = Statement::allow(&master_trust_sid(owner))
        .with_principal(Principal::aws(vec![master_role_arn.to_owned()]))
        .with_action("sts:AssumeRole");
    master.condition = Some(external_id_condition(id));
    let mut me = Statement::allow(&self_trust_sid(owner))
        .with_principal(Principal::aws(vec![owner.account_id.root_arn()]))
        .with_action("sts:AssumeRole");
    let mut condition = external_id_condition(id);
    condition.insert(
        "ArnLike".to_owned(),
        BTreeMap::from([("aws:PrincipalArn".to_owned(), OneOrMany::One(serde_json::Value::from(owner.role_arn())))]),
    );
    me.condition = Some(condition);
    PolicyDocument::new(vec![master, me])
}

/// The external ID a trust policy's master-role statement requires, when it has one.
pub fn trust_external_id(trust: &PolicyDocument) -> Option<String> {
    trust.statement.iter().find_map(|s| {
        let values = s.condition.as_ref()?.get("StringEquals")?.get("sts:ExternalId")?;
        values.iter().find_map(|v| v.as_str().map(str::to_owned))
    })
}

/// The bucket-level actions an access needs.
pub fn bucket_level_actions(access: Access) -> &'static [&'static str] {
    match access {
        Access::ReadWrite => &["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
        Access::ReadOnly => &["s3:GetBucketLocation", "s3:ListBucket"],
    }
}

/// The object-level actions an access needs, as Unity Catalog's documentation lists them.
pub fn object_actions(access: Access) -> &'static [&'static str] {
    match access {
        Access::ReadWrite => &[
            "s3:GetObject",
            "s3:PutObject",
            "s3:DeleteObject",
            "s3:ListMultipartUploadParts",
            "s3:AbortMultipartUpload",
        ],
        Access::ReadOnly => &["s3:GetObject"],
    }
}

/// The KMS actions an access needs on the bucket's key.
pub fn kms_actions(access: Access) -> &'static [&'static str] {
    match access {
        Access::ReadWrite => &["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"],
        Access::ReadOnly => &["kms:Decrypt"],
    }
}

/// The role's inline policy [`PERMISSION_POLICY_NAME`]: each bucket's actions on the bucket and
/// its objects under the prefix, `sts:AssumeRole` on the role itself, and each key's use with the
/// widest access of the buckets it encrypts.
pub fn permission_policy(owner: &UnityOwner) -> PolicyDocument {
    let mut statements = Vec::new();
    for bucket in &owner.buckets {
        let name = bucket.name.as_str();
        statements.push(
            Statement::allow(&crate::build::sid(&["UcBucket", name]))
                .with_actions(bucket_level_actions(bucket.access))
                .with_resource(bucket.name.arn()),
        );
        statements.push(
            Statement::allow(&crate::build::sid(&["UcObjects", name]))
                .with_actions(object_actions(bucket.access))
                .with_resource(format!("{}/{}*", bucket.name.arn(), bucket.prefix)),
        );
    }
    statements.push(
        Statement::allow(&crate::build::sid(&["UcSelfAssume", owner.role.as_str()]))
            .with_action("sts:AssumeRole")
            .with_resource(owner.role_arn()),
    );
    for (key, access) in key_accesses(owner) {
        statements.push(
            Statement::allow(&crate::build::sid(&["UcKms", key.as_str()]))
                .with_actions(kms_actions(access))
                .with_resource(key.as_str().to_owned()),
        );
    }
    PolicyDocument::new(statements)
}

/// The distinct keys of the owner's buckets, in config order, each with the widest access.
pub fn key_accesses(owner: &UnityOwner) -> Vec<(&KmsKeyArn, Access)> {
    crate::chain::widest_per_key(owner.buckets.iter().map(|b| (b.kms_key_arn.as_ref(), b.access)))
}

/// The request of the `uc-trust` link: the master role assumes the owner's role with the
/// external ID.
pub fn master_assume_request(owner: &UnityOwner, master_role_arn: &str, external_id: &str) -> LinkRequest {
    LinkRequest {
        principal: master_role_arn.to_owned(),
        action: "sts:AssumeRole",
        resource: owner.role_arn(),
        resource_account: owner.account_id.clone(),
        context: Context::new().with("sts:ExternalId", external_id),
    }
}

/// The request of the `uc-self-assume` link: the role assumes itself with the external ID.
pub fn self_assume_request(owner: &UnityOwner, external_id: &str) -> LinkRequest {
    LinkRequest {
        principal: owner.role_arn(),
        action: "sts:AssumeRole",
        resource: owner.role_arn(),
        resource_account: owner.account_id.clone(),
        context: Context::new().with("sts:ExternalId", external_id),
    }
}

/// The requests of a `uc-bucket` link: every action of the access level, on the bucket and on an
/// object under the prefix, over TLS.
pub fn bucket_requests(owner: &UnityOwner, bucket: &UnityBucket) -> Vec<LinkRequest> {
    let role = owner.role_arn();
    let object = format!("{}/{}{}verify", bucket.name.arn(), bucket.prefix, crate::chain::PROBE_PREFIX);
    let on_bucket = bucket_level_actions(bucket.access).iter().map(|a| (*a, bucket.name.arn()));
    let on_objects = object_actions(bucket.access).iter().map(|a| (*a, object.clone()));
    on_bucket
        .chain(on_objects)
        .map(|(action, resource)| LinkRequest {
            principal: role.clone(),
            action,
            resource,
            resource_account: owner.account_id.clone(),
            context: Context::new().with("aws:SecureTransport", "true"),
        })
        .collect()
}

/// The requests of a `uc-kms` link: S3, for the role, uses the bucket's key. Empty without a key.
pub fn kms_requests(owner: &UnityOwner, bucket: &UnityBucket) -> Vec<LinkRequest> {
    let Some(key) = &bucket.kms_key_arn else { return Vec::new() };
    crate::chain::kms_actions(bucket.access)
        .iter()
        .map(|&action| LinkRequest {
            principal: owner.role_arn(),
            action,
            resource: key.as_str().to_owned(),
            resource_account: owner.account_id.clone(),
            context: Context::new()
                .with("kms:ViaService", format!("s3.{}.amazonaws.com", key.region()))
                .with("kms:CallerAccount", owner.account_id.as_str())
                .with("aws:SecureTransport", "true"),
        })
        .collect()
}

/// Whether a storage credential or external location comment marks it as xacct's.
pub fn is_our_comment(comment: Option<&str>) -> bool {
    comment.is_some_and(|c| c.starts_with(COMMENT_MARKER))
}

/// The comment xacct writes on a credential or location of this owner.
pub fn comment(owner: &UnityOwner) -> String {
    format!("{COMMENT_MARKER} for role {}", owner.role_arn())
}

#[cfg(test)]
mod tests {
    use expect_test::{expect, Expect};

    use super::*;
    use crate::eval::{self, CompiledPolicy, Outcome, PolicySet, Request};
    use crate::validate::{validate, DocKind};

    pub(crate) fn owner(kms: bool) -> UnityOwner {
        UnityOwner {
            account_id: AccountId::new("333333333333").unwrap(),
            role: RoleName::new("uc-lake-access").unwrap(),
            storage_credential: "uc_lake_access".to_owned(),
            buckets: vec![
                UnityBucket {
                    name: BucketName::new("curated-lake").unwrap(),
                    access: Access::ReadOnly,
                    kms_key_arn: kms.then(|| KmsKeyArn::new("arn:aws:kms:us-east-1:333333333333:key/k1").unwrap()),
                    external_location: "curated_lake".to_owned(),
                    prefix: "tables/".to_owned(),
                    grants: vec![Grant {
                        principal: "data-engineers".to_owned(),
                        privileges: vec!["READ_FILES".to_owned()],
                    }],
                },
                UnityBucket {
                    name: BucketName::new("raw-lake").unwrap(),
                    access: Access::ReadWrite,
                    kms_key_arn: kms.then(|| KmsKeyArn::new("arn:aws:kms:us-east-1:333333333333:key/k1").unwrap()),
                    external_location: "raw_lake".to_owned(),
                    prefix: String::new(),
                    grants: Vec::new(),
                },
            ],
        }
    }

    #[track_caller]
    fn check_doc(doc: &PolicyDocument, kind: DocKind, expect: Expect) {
        assert!(validate(doc, kind).is_empty(), "{:?}", validate(doc, kind));
        expect.assert_eq(&doc.to_json_pretty());
    }

    #[test]
    fn trust_policy_names_master_and_self_with_the_external_id() {
        check_doc(
            &trust_policy(&owner(false), MASTER_ROLE_COMMERCIAL, Some("ext-1")),
            DocKind::Trust,
            expect![[r#"
                {
                  "Version": "2012-10-17",
                  "Statement": [
                    {
                      "Sid": "XacctUcMasterRoleuclakeaccessce559a61",
                      "Effect": "Allow",
                      "Principal": {
                        "AWS": [
                          "arn:aws:iam::414351767826:role/unity-catalog-prod-UCMasterRole-14S5ZJVKOTYTL"
                        ]
                      },
                      "Action": "sts:AssumeRole",
                      "Condition": {
                        "StringEquals": {
                          "sts:ExternalId": "ext-1"
                        }
                      }
                    },
                    {
                      "Sid": "XacctUcSelfAssumeuclakeaccessb10cd783",
                      "Effect": "Allow",
                      "Principal": {
                        "AWS": [
                          "arn:aws:iam::333333333333:root"
                        ]
                      },
                      "Action": "sts:AssumeRole",
                      "Condition": {
                        "ArnLike": {
                          "aws:PrincipalArn": "arn:aws:iam::333333333333:role/uc-lake-access"
                        },
                        "StringEquals": {
                          "sts:ExternalId": "ext-1"
                        }
                      }
                    }
                  ]
                }"#]],
        );
        let pending = trust_policy(&owner(false), MASTER_ROLE_COMMERCIAL, None);
        assert_eq!(trust_external_id(&pending).as_deref(), Some(PENDING_EXTERNAL_ID));
    }

    #[test]
    fn permission_policy_by_access_level_with_kms() {
        check_doc(
            &permission_policy(&owner(true)),
            DocKind::Identity { managed: false },
            expect![[r#"
                {
                  "Version": "2012-10-17",
                  "Statement": [
                    {
                      "Sid": "XacctUcBucketcuratedlake3eea5d36",
                      "Effect": "Allow",
                      "Action": [
                        "s3:GetBucketLocation",
                        "s3:ListBucket"
                      ],
                      "Resource": "arn:aws:s3:::curated-lake"
                    },
                    {
                      "Sid": "XacctUcObjectscuratedlakebc8d03ca",
                      "Effect": "Allow",
                      "Action": [
                        "s3:GetObject"
                      ],
                      "Resource": "arn:aws:s3:::curated-lake/tables/*"
                    },
                    {
                      "Sid": "XacctUcBucketrawlakef067d45e",
                      "Effect": "Allow",
                      "Action": [
                        "s3:GetBucketLocation",
                        "s3:ListBucket",
                        "s3:ListBucketMultipartUploads"
                      ],
                      "Resource": "arn:aws:s3:::raw-lake"
                    },
                    {
                      "Sid": "XacctUcObjectsrawlakee680073a",
                      "Effect": "Allow",
                      "Action": [
                        "s3:GetObject",
                        "s3:PutObject",
                        "s3:DeleteObject",
                        "s3:ListMultipartUploadParts",
                        "s3:AbortMultipartUpload"
                      ],
                      "Resource": "arn:aws:s3:::raw-lake/*"
                    },
                    {
                      "Sid": "XacctUcSelfAssumeuclakeaccessb10cd783",
                      "Effect": "Allow",
                      "Action": "sts:AssumeRole",
                      "Resource": "arn:aws:iam::333333333333:role/uc-lake-access"
                    },
                    {
                      "Sid": "XacctUcKmsarnawskmsuseast1333333333333keyk168012a6c",
                      "Effect": "Allow",
                      "Action": [
                        "kms:Decrypt",
                        "kms:Encrypt",
                        "kms:GenerateDataKey*"
                      ],
                      "Resource": "arn:aws:kms:us-east-1:333333333333:key/k1"
                    }
                  ]
                }"#]],
        );
        // Every statement is ours, so destroy and merges find them by Sid.
        assert!(permission_policy(&owner(true)).statement.iter().all(crate::build::is_ours));
    }

    fn decide(request: &LinkRequest, identity: &[PolicyDocument], trust: &PolicyDocument) -> Outcome {
        let compiled: Vec<CompiledPolicy> = identity.iter().map(|d| CompiledPolicy::compile(d).unwrap()).collect();
        let trust = CompiledPolicy::compile(trust).unwrap();
        let set = PolicySet { identity: compiled.iter().collect(), resource: Some(&trust), ..PolicySet::default() };
        let req = Request::new(
            &request.principal,
            request.action,
            &request.resource,
            Some(request.resource_account.as_str()),
            request.context.clone(),
        )
        .unwrap();
        eval::decide(&req, &set)
    }

    #[track_caller]
    fn check_assume(external_id: &str, asked_id: &str, master: &str, self_assume: bool, expect: (Outcome, Outcome)) {
        let owner = owner(false);
        let trust = trust_policy(&owner, master, Some(external_id));
        let permission = permission_policy(&owner);
        let identity: Vec<PolicyDocument> = if self_assume { vec![permission] } else { Vec::new() };
        // The master role's own identity policy allows it to assume any role.
        let master_identity = PolicyDocument::new(vec![Statement::allow("Any")
            .with_action("sts:AssumeRole")
            .with_resource("*".to_owned())]);
        let got_master =
            decide(&master_assume_request(&owner, MASTER_ROLE_COMMERCIAL, asked_id), &[master_identity], &trust);
        let got_self = decide(&self_assume_request(&owner, asked_id), &identity, &trust);
        assert_eq!((got_master, got_self), expect);
    }

    #[test]
    fn assume_links_need_the_external_id_and_the_right_master() {
        use Outcome::{Allowed, ImplicitDeny};
        check_assume("ext", "ext", MASTER_ROLE_COMMERCIAL, true, (Allowed, Allowed));
        check_assume("ext", "other", MASTER_ROLE_COMMERCIAL, true, (ImplicitDeny, ImplicitDeny));
        // Naming the account root delegates to identity policies: without `sts:AssumeRole` on itself
        // the role cannot assume itself.
        check_assume("ext", "ext", MASTER_ROLE_COMMERCIAL, false, (Allowed, ImplicitDeny));
        check_assume("ext", "ext", "arn:aws:iam::999999999999:role/other-master", true, (ImplicitDeny, Allowed));
    }

    #[test]
    fn bucket_requests_are_allowed_by_the_permission_policy() {
        let owner = owner(true);
        let permission = CompiledPolicy::compile(&permission_policy(&owner)).unwrap();
        let set = PolicySet { identity: vec![&permission], ..PolicySet::default() };
        // The default key policy delegates to IAM through the account root.
        let key_policy = CompiledPolicy::compile(&PolicyDocument::new(vec![Statement::allow("Root")
            .with_principal(Principal::aws(vec![owner.account_id.root_arn()]))
            .with_action("kms:*")
            .with_resource("*".to_owned())]))
        .unwrap();
        let key_set = PolicySet { identity: vec![&permission], resource: Some(&key_policy), ..PolicySet::default() };
        let mut asked = 0;
        for bucket in &owner.buckets {
            let s3 = bucket_requests(&owner, bucket).into_iter().map(|r| (r, &set));
            let kms = kms_requests(&owner, bucket).into_iter().map(|r| (r, &key_set));
            for (request, set) in s3.chain(kms) {
                let request = &request;
                let req = Request::new(
                    &request.principal,
                    request.action,
                    &request.resource,
                    Some(request.resource_account.as_str()),
                    request.context.clone(),
                )
                .unwrap();
                assert_eq!(eval::decide(&req, set), Outcome::Allowed, "{} {}", request.action, request.resource);
                asked += 1;
            }
        }
        // Read-only: 2 bucket actions, 1 object action, 1 KMS; read-write: 3, 5 and 2.
        assert_eq!(asked, (2 + 1 + 1) + (3 + 5 + 2));
    }

    #[track_caller]
    fn check_names(name: &str, prefix: &str, expect: Expect) {
        let got = [check_name(name), check_prefix(prefix)]
            .into_iter()
            .map(|r| match r {
                Ok(()) => "ok".to_owned(),
                Err(e) => e.to_string(),
            })
            .collect::<Vec<_>>()
            .join("; ");
        expect.assert_eq(&got);
    }

    #[test]
    fn names_and_prefixes() {
        check_names("lake_333", "", expect!["ok; ok"]);
        check_names("lake-333", "tables/2024/", expect!["ok; ok"]);
        check_names("a.b", "/tables/", expect!["name `a.b` breaks the rule: no `.`, `/`, space or control character; prefix `/tables/` breaks the rule: no leading `/`, `//`, `.` or `..`"]);
        check_names(
            "",
            "tables",
            expect!["name `` breaks the rule: 1 to 255 characters; prefix `tables` breaks the rule: must end with `/`"],
        );
        check_names("x", "a/../", expect!["ok; prefix `a/../` breaks the rule: no leading `/`, `//`, `.` or `..`"]);
        assert_eq!(check_privilege("READ_FILES"), Ok(()));
        assert!(check_privilege("READ").is_err());
        assert_eq!(default_master_role("us-gov-west-1"), MASTER_ROLE_GOVCLOUD);
        assert_eq!(default_master_role("eu-west-1"), MASTER_ROLE_COMMERCIAL);
        assert!(is_our_comment(Some(&comment(&owner(false)))));
        assert!(!is_our_comment(Some("made by hand")));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

        /// For any role, bucket, prefix and access: both documents pass the validator, survive
        /// parse -> serialize -> parse, and allow every request of the owner's links with the
        /// external ID, and the master role without it is refused.
        #[test]
        fn documents_are_valid_and_allow_their_links(
            role in "[A-Za-z][A-Za-z0-9+=,.@_-]{0,40}",
            bucket in "[a-z0-9][a-z0-9-]{1,30}[a-z0-9]",
            prefix in proptest::option::of("[a-z0-9]{1,8}/([a-z0-9]{1,8}/)?"),
            read_only in proptest::bool::ANY,
            id in "[a-z0-9-]{1,36}",
        ) {
            let Ok(name) = BucketName::new(&bucket) else { return Ok(()) };
            let owner = UnityOwner {
                account_id: AccountId::new("333333333333").unwrap(),
                role: RoleName::new(&role).unwrap(),
                storage_credential: "c".to_owned(),
                buckets: vec![UnityBucket {
                    name,
                    access: if read_only { Access::ReadOnly } else { Access::ReadWrite },
                    kms_key_arn: None,
                    external_location: "l".to_owned(),
                    prefix: prefix.unwrap_or_default(),
                    grants: Vec::new(),
                }],
            };
            let trust = trust_policy(&owner, MASTER_ROLE_COMMERCIAL, Some(&id));
            let permission = permission_policy(&owner);
            for (doc, kind) in [(&trust, DocKind::Trust), (&permission, DocKind::Identity { managed: false })] {
                proptest::prop_assert!(validate(doc, kind).is_empty(), "{:?}", validate(doc, kind));
                let back = PolicyDocument::from_json(&doc.to_json()).unwrap();
                proptest::prop_assert_eq!(&back, doc);
            }
            let any = PolicyDocument::new(vec![Statement::allow("Any").with_action("sts:AssumeRole").with_resource("*".to_owned())]);
            proptest::prop_assert_eq!(decide(&master_assume_request(&owner, MASTER_ROLE_COMMERCIAL, &id), std::slice::from_ref(&any), &trust), Outcome::Allowed);
            proptest::prop_assert_eq!(decide(&master_assume_request(&owner, MASTER_ROLE_COMMERCIAL, "other"), &[any], &trust), Outcome::ImplicitDeny);
            proptest::prop_assert_eq!(decide(&self_assume_request(&owner, &id), std::slice::from_ref(&permission), &trust), Outcome::Allowed);
            let compiled = CompiledPolicy::compile(&permission).unwrap();
            let set = PolicySet { identity: vec![&compiled], ..PolicySet::default() };
            for request in bucket_requests(&owner, &owner.buckets[0]) {
                let req = Request::new(&request.principal, request.action, &request.resource, Some("333333333333"), request.context.clone()).unwrap();
                proptest::prop_assert_eq!(eval::decide(&req, &set), Outcome::Allowed, "{}", request.action);
            }
        }
    }
}

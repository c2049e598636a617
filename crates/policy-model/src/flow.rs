//! The flow being automated, as checked data: account A with its instance role, and the bucket
//! owners with their roles and buckets.
//!
//! A [`Flow`] is built only through [`Flow::new`], which checks every rule that spans more than
//! one field and returns every problem at once, each with the [`FlowPath`] of the value at fault,
//! so that a config loader can point at its line and column. [`Owner`], [`Bucket`] and
//! [`Deployment`] are plain data: a flow hands out only shared references to them.
//!
//! ```
//! use policy_model::{Access, AccountId, Bucket, BucketName, Deployment, Flow, Owner, RoleName};
//!
//! let deployment = Deployment {
//!     account_id: AccountId::new("111111111111")?,
//!     instance_role: RoleName::new("MyRoleA")?,
//!     cross_account_role: None,
//! };
//! let owner = Owner {
//!     account_id: AccountId::new("222222222222")?,
//!     role: RoleName::new("MyRoleB")?,
//!     buckets: vec![Bucket { name: BucketName::new("my-bucket")?, access: Access::ReadWrite, kms_key_arn: None, mount: false }],
//! };
//! let problems = Flow::new("us-east-1", deployment, vec![owner.clone(), owner]).unwrap_err();
//! assert_eq!(problems[0].path().to_string(), "bucket_owners[1].account_id");
//! # Ok::<(), policy_model::NameError>(())
//! ```

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

use crate::arn::{self, AccountId, BucketName, KmsKeyArn, RoleName};
use crate::unity::{self, AccessMode, UnityOwner};

/// The checked flow: the region, account A (when some owner uses the instance-profile mode) and
/// the bucket owners of each access mode, in config order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flow {
    region: String,
    deployment: Option<Deployment>,
    owners: Vec<Owner>,
    unity: Vec<UnityOwner>,
    uc_master_role_arn: String,
}

/// A bucket owner of either access mode, as [`Flow::build`] takes them.
#[derive(Debug, Clone, PartialEq)]
pub enum OwnerEntry {
    /// An owner in the instance-profile mode (the runbook).
    InstanceProfile(Owner),
    /// An owner in the Unity Catalog mode.
    UnityCatalog(UnityOwner),
}

impl OwnerEntry {
    /// The owner's account.
    pub fn account_id(&self) -> &AccountId {
        match self {
            OwnerEntry::InstanceProfile(o) => &o.account_id,
            OwnerEntry::UnityCatalog(o) => &o.account_id,
        }
    }
    /// The owner's access mode.
    pub fn mode(&self) -> AccessMode {
        match self {
            OwnerEntry::InstanceProfile(_) => AccessMode::InstanceProfile,
            OwnerEntry::UnityCatalog(_) => AccessMode::UnityCatalog,
        }
    }
    fn buckets(&self) -> Vec<(&BucketName, Option<&KmsKeyArn>)> {
        match self {
            OwnerEntry::InstanceProfile(o) => o.buckets.iter().map(|b| (&b.name, b.kms_key_arn.as_ref())).collect(),
            OwnerEntry::UnityCatalog(o) => o.buckets.iter().map(|b| (&b.name, b.kms_key_arn.as_ref())).collect(),
        }
    }
}

/// What [`Flow::build`] checks: the region, account A when there is one, the owners of both
/// modes in config order, and the Unity Catalog master role when the config names one.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowParts {
    /// The `[aws] region`.
    pub region: String,
    /// Account A; needed when some owner uses the instance-profile mode.
    pub deployment: Option<Deployment>,
    /// Every owner, in config order.
    pub owners: Vec<OwnerEntry>,
    /// `[databricks] uc_master_role_arn`; otherwise the region's default
    /// ([`unity::default_master_role`]).
    pub uc_master_role_arn: Option<String>,
}

/// Account A, where Databricks runs its clusters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deployment {
    /// Account A.
    pub account_id: AccountId,
    /// The role clusters run as (the runbook's `MyRoleA`); its instance profile has the same name.
    pub instance_role: RoleName,
    /// The existing role Databricks uses to launch EC2; it gets `iam:PassRole` on the instance role.
    pub cross_account_role: Option<RoleName>,
}

/// An account B that owns buckets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Owner {
    /// Account B.
    pub account_id: AccountId,
    /// The role the instance role assumes (the runbook's `MyRoleB`).
    pub role: RoleName,
    /// The buckets this owner holds, in config order.
    pub buckets: Vec<Bucket>,
}

/// One bucket of an owner.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    /// The bucket's name.
    pub name: BucketName,
    /// What the owner's role may do in it.
    pub access: Access,
    /// The key that encrypts the bucket; [`Flow::new`] checks that it is in the owner's account.
    pub kms_key_arn: Option<KmsKeyArn>,
    /// Whether Databricks mounts the bucket at `/mnt/<bucket>`.
    pub mount: bool,
}

/// The access a bucket grants the owner's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    /// List, get, put and delete.
    ReadWrite,
    /// List and get.
    ReadOnly,
}

impl Access {
    /// The wider of two accesses: read-write if either is.
    pub fn widest(self, other: Access) -> Access {
        if self == Access::ReadWrite || other == Access::ReadWrite {
            Access::ReadWrite
        } else {
            Access::ReadOnly
        }
    }
    /// `read-write` or `read-only`, as the config writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::ReadWrite => "read-write",
            Access::ReadOnly => "read-only",
        }
    }
}

/// Where in the flow (and so in the config) a problem sits, by index in config order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FlowPath {
    /// `bucket_owners[owner].account_id`
    OwnerAccount {
        /// The owner's index.
        owner: usize,
    },
    /// `bucket_owners[owner].buckets[bucket].name`
    BucketName {
        /// The owner's index.
        owner: usize,
        /// The bucket's index within the owner.
        bucket: usize,
    },
    /// `bucket_owners[owner].buckets[bucket].kms_key_arn`
    KmsKey {
        /// The owner's index.
        owner: usize,
        /// The bucket's index within the owner.
        bucket: usize,
    },
    /// `bucket_owners[owner].access_mode`
    AccessMode {
        /// The owner's index.
        owner: usize,
    },
    /// `bucket_owners[owner].storage_credential`
    StorageCredential {
        /// The owner's index.
        owner: usize,
    },
    /// `bucket_owners[owner].buckets[bucket].external_location`
    ExternalLocation {
        /// The owner's index.
        owner: usize,
        /// The bucket's index within the owner.
        bucket: usize,
    },
    /// `bucket_owners[owner].buckets[bucket].grants`
    Grants {
        /// The owner's index.
        owner: usize,
        /// The bucket's index within the owner.
        bucket: usize,
    },
    /// `databricks.uc_master_role_arn`
    MasterRole,
}

impl fmt::Display for FlowPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlowPath::OwnerAccount { owner } => write!(f, "bucket_owners[{owner}].account_id"),
            FlowPath::BucketName { owner, bucket } => write!(f, "bucket_owners[{owner}].buckets[{bucket}].name"),
            FlowPath::KmsKey { owner, bucket } => write!(f, "bucket_owners[{owner}].buckets[{bucket}].kms_key_arn"),
            FlowPath::AccessMode { owner } => write!(f, "bucket_owners[{owner}].access_mode"),
            FlowPath::StorageCredential { owner } => write!(f, "bucket_owners[{owner}].storage_credential"),
            FlowPath::ExternalLocation { owner, bucket } => {
                write!(f, "bucket_owners[{owner}].buckets[{bucket}].external_location")
            }
            FlowPath::Grants { owner, bucket } => write!(f, "bucket_owners[{owner}].buckets[{bucket}].grants"),
            FlowPath::MasterRole => f.write_str("databricks.uc_master_role_arn"),
        }
    }
}

/// A rule across fields that a flow breaks. [`FlowProblem::path`] says where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FlowProblem {
    /// A bucket owner is account A itself.
    #[error(
        "account `{account}` is both the deployment account (A) and a bucket owner (B); the runbook needs two accounts"
    )]
    DeploymentIsOwner {
        /// The owner's index.
        owner: usize,
        /// The account.
        account: AccountId,
    },
    /// Two owners name the same account.
    #[error("bucket owner account `{account}` is listed twice; put all its buckets under one `[[bucket_owners]]`")]
    OwnerTwice {
        /// The index of the second owner.
        owner: usize,
        /// The index of the first.
        first: usize,
        /// The account.
        account: AccountId,
    },
    /// A bucket appears twice, under one owner or two.
    #[error("bucket `{name}` is listed twice (first under bucket owner `{first_account}`); a bucket has one owner and one entry")]
    BucketTwice {
        /// The index of the owner of the second entry.
        owner: usize,
        /// The index of the second entry within its owner.
        bucket: usize,
        /// The bucket.
        name: BucketName,
        /// The owner of the first entry.
        first_account: AccountId,
    },
    /// A bucket's key is in another account than its owner.
    #[error("KMS key `{key}` is in account `{}`, not in the bucket owner's account `{owner_account}`", key.account())]
    KeyInOtherAccount {
        /// The owner's index.
        owner: usize,
        /// The bucket's index within the owner.
        bucket: usize,
        /// The key.
        key: KmsKeyArn,
        /// The owner's account.
        owner_account: AccountId,
    },
    /// An owner in the instance-profile mode, and no account A.
    #[error(
        "bucket owner `{account}` uses the instance-profile mode, which needs `[deployment]` (account A); add it, or set `access_mode = \"unity-catalog\"`"
    )]
    DeploymentMissing {
        /// The owner's index.
        owner: usize,
        /// The owner's account.
        account: AccountId,
    },
    /// A bucket name with a dot in the Unity Catalog mode.
    #[error("bucket `{name}` has a dot, which Unity Catalog external locations refuse; use a bucket without dots or the instance-profile mode")]
    DottedUnityBucket {
        /// The owner's index.
        owner: usize,
        /// The bucket's index within the owner.
        bucket: usize,
        /// The bucket.
        name: BucketName,
    },
    /// Two Unity Catalog owners use one storage credential name.
    #[error("storage credential `{name}` is named by two bucket owners; give each `storage_credential` its own name")]
    CredentialTwice {
        /// The index of the second owner.
        owner: usize,
        /// The name.
        name: String,
    },
    /// Two buckets use one external location name.
    #[error("external location `{name}` is named twice; give each bucket's `external_location` its own name")]
    LocationTwice {
        /// The owner's index.
        owner: usize,
        /// The bucket's index within the owner.
        bucket: usize,
        /// The name.
        name: String,
    },
    /// A grant that writes on a read-only location.
    #[error("grant of `{privilege}` to `{principal}` writes, but bucket `{bucket_name}` is `read-only`; drop it or make the bucket `read-write`")]
    WriteGrantOnReadOnly {
        /// The owner's index.
        owner: usize,
        /// The bucket's index within the owner.
        bucket: usize,
        /// The bucket.
        bucket_name: BucketName,
        /// The grantee.
        principal: String,
        /// The privilege.
        privilege: String,
    },
    /// A master role that is not an IAM role ARN of the region's partition.
    #[error("`uc_master_role_arn` `{arn}` is not an IAM role ARN in partition `{partition}` of region `{region}`; for GovCloud use `{}`", unity::MASTER_ROLE_GOVCLOUD)]
    MasterRole {
        /// The ARN as given.
        arn: String,
        /// The region.
        region: String,
        /// Its partition.
        partition: String,
    },
}

impl FlowProblem {
    /// The value at fault.
    pub fn path(&self) -> FlowPath {
        match *self {
            FlowProblem::DeploymentIsOwner { owner, .. } | FlowProblem::OwnerTwice { owner, .. } => {
                FlowPath::OwnerAccount { owner }
            }
            FlowProblem::BucketTwice { owner, bucket, .. } => FlowPath::BucketName { owner, bucket },
            FlowProblem::KeyInOtherAccount { owner, bucket, .. } => FlowPath::KmsKey { owner, bucket },
            FlowProblem::DeploymentMissing { owner, .. } => FlowPath::AccessMode { owner },
            FlowProblem::DottedUnityBucket { owner, bucket, .. } => FlowPath::BucketName { owner, bucket },
            FlowProblem::CredentialTwice { owner, .. } => FlowPath::StorageCredential { owner },
            FlowProblem::LocationTwice { owner, bucket, .. } => FlowPath::ExternalLocation { owner, bucket },
            FlowProblem::WriteGrantOnReadOnly { owner, bucket, .. } => FlowPath::Grants { owner, bucket },
            FlowProblem::MasterRole { .. } => FlowPath::MasterRole,
        }
    }
}

/// Every cross-field problem of these owners (and, when given, of account A with them), in
/// config order. [`Flow::new`] runs this; a config loader whose `[deployment]` did not parse can
/// still report the owners' problems with `deployment: None`. Linear in the number of buckets.
pub fn problems(deployment: Option<&Deployment>, owners: &[Owner]) -> Vec<FlowProblem> {
    let entries: Vec<OwnerEntry> = owners.iter().cloned().map(OwnerEntry::InstanceProfile).collect();
    entry_problems(deployment, &entries, false)
}

/// Every cross-field problem of owners of both modes, as [`problems`] does for the
/// instance-profile mode alone, plus the Unity Catalog rules: no dots in bucket names, distinct
/// storage credential and external location names, no writing grant on a read-only bucket, and
/// (when `deployment_known`) account A present whenever an owner uses the instance-profile mode.
/// The master role is checked by [`Flow::build`]. Linear in the number of buckets and grants.
pub fn entry_problems(
    deployment: Option<&Deployment>,
    owners: &[OwnerEntry],
    deployment_known: bool,
) -> Vec<FlowProblem> {
    let mut out = Vec::new();
    let mut accounts: HashMap<&AccountId, usize> = HashMap::with_capacity(owners.len());
    let mut buckets: HashMap<&BucketName, &AccountId> = HashMap::new();
    let mut credentials: HashMap<&str, usize> = HashMap::new();
    let mut locations: HashMap<&str, usize> = HashMap::new();
    for (i, entry) in owners.iter().enumerate() {
        let account = entry.account_id();
        if deployment.is_some_and(|d| d.account_id == *account) {
            out.push(FlowProblem::DeploymentIsOwner { owner: i, account: account.clone() });
        }
        if deployment_known && deployment.is_none() && entry.mode() == AccessMode::InstanceProfile {
            out.push(FlowProblem::DeploymentMissing { owner: i, account: account.clone() });
        }
        if let Some(&first) = accounts.get(account) {
            out.push(FlowProblem::OwnerTwice { owner: i, first, account: account.clone() });
        } else {
            accounts.insert(account, i);
        }
        if let OwnerEntry::UnityCatalog(uc) = entry {
            if credentials.insert(uc.storage_credential.as_str(), i).is_some() {
                out.push(FlowProblem::CredentialTwice { owner: i, name: uc.storage_credential.clone() });
            }
        }
        for (j, (name, key)) in entry.buckets().into_iter().enumerate() {
            if let Some(first) = buckets.get(name) {
                out.push(FlowProblem::BucketTwice {
                    owner: i,
                    bucket: j,
                    name: name.clone(),
                    first_account: (*first).clone(),
                });
            } else {
                buckets.insert(name, account);
            }
            if let Some(key) = key.filter(|k| k.account() != account) {
                out.push(FlowProblem::KeyInOtherAccount {
                    owner: i,
                    bucket: j,
                    key: key.clone(),
                    owner_account: account.clone(),
                });
            }
        }
        if let OwnerEntry::UnityCatalog(uc) = entry {
            for (j, bucket) in uc.buckets.iter().enumerate() {
                if bucket.name.as_str().contains('.') {
                    out.push(FlowProblem::DottedUnityBucket { owner: i, bucket: j, name: bucket.name.clone() });
                }
                if locations.insert(bucket.external_location.as_str(), i).is_some() {
                    out.push(FlowProblem::LocationTwice {
                        owner: i,
                        bucket: j,
                        name: bucket.external_location.clone(),
                    });
                }
                if bucket.access == Access::ReadOnly {
                    for grant in &bucket.grants {
                        for privilege in
                            grant.privileges.iter().filter(|p| unity::WRITE_PRIVILEGES.contains(&p.as_str()))
                        {
                            out.push(FlowProblem::WriteGrantOnReadOnly {
                                owner: i,
                                bucket: j,
                                bucket_name: bucket.name.clone(),
                                principal: grant.principal.clone(),
                                privilege: privilege.clone(),
                            });
                        }
                    }
                }
            }
        }
    }
    out
}

impl Deployment {
    /// `arn:aws:iam::<A>:role/<instance role>`.
    pub fn instance_role_arn(&self) -> String {
        arn::role_arn(&self.account_id, &self.instance_role)
    }
    /// `arn:aws:iam::<A>:instance-profile/<instance role>`.
    pub fn instance_profile_arn(&self) -> String {
        arn::instance_profile_arn(&self.account_id, &self.instance_role)
    }
    /// The cross-account role's ARN, when the config names it.
    pub fn cross_account_role_arn(&self) -> Option<String> {
        self.cross_account_role.as_ref().map(|r| arn::role_arn(&self.account_id, r))
    }
}

impl Owner {
    /// `arn:aws:iam::<B>:role/<role>`.
    pub fn role_arn(&self) -> String {
        arn::role_arn(&self.account_id, &self.role)
    }
}

impl Flow {
    /// Checks every cross-field rule (see [`problems`]) and returns every problem at once.
    pub fn new(
        region: impl Into<String>,
        deployment: Deployment,
        owners: Vec<Owner>,
    ) -> Result<Flow, Vec<FlowProblem>> {
        Flow::build(FlowParts {
            region: region.into(),
            deployment: Some(deployment),
            owners: owners.into_iter().map(OwnerEntry::InstanceProfile).collect(),
            uc_master_role_arn: None,
        })
    }

    /// Checks every cross-field rule of owners of both modes (see [`entry_problems`]) and the
    /// master role's partition, and returns every problem at once.
    pub fn build(parts: FlowParts) -> Result<Flow, Vec<FlowProblem>> {
        let FlowParts { region, deployment, owners, uc_master_role_arn } = parts;
        let mut found = entry_problems(deployment.as_ref(), &owners, true);
        let master = match uc_master_role_arn {
            Some(arn) => {
                let partition = arn::region_partition(&region).unwrap_or("aws");
                let ok = matches!(arn.parse::<arn::Arn>(), Ok(a) if a.partition == partition && a.service == "iam" && a.resource.starts_with("role/"));
                if !ok {
                    found.push(FlowProblem::MasterRole {
                        arn: arn.clone(),
                        region: region.clone(),
                        partition: partition.to_owned(),
                    });
                }
                arn
            }
            None => unity::default_master_role(&region).to_owned(),
        };
        if !found.is_empty() {
            return Err(found);
        }
        let (mut ip, mut uc) = (Vec::new(), Vec::new());
        for entry in owners {
            match entry {
                OwnerEntry::InstanceProfile(o) => ip.push(o),
                OwnerEntry::UnityCatalog(o) => uc.push(o),
            }
        }
        Ok(Flow { region, deployment, owners: ip, unity: uc, uc_master_role_arn: master })
    }

    /// The owners in the Unity Catalog mode, in config order; no two share an account with each
    /// other or with an owner of [`Flow::owners`].
    pub fn unity_owners(&self) -> &[UnityOwner] {
        &self.unity
    }

    /// The Unity Catalog master role the owners' trust policies name before the API returns one.
    pub fn uc_master_role_arn(&self) -> &str {
        &self.uc_master_role_arn
    }

    /// The access mode of the owner of this account, when the flow has it.
    pub fn mode_of(&self, account: &AccountId) -> Option<AccessMode> {
        if self.owners.iter().any(|o| o.account_id == *account) {
            Some(AccessMode::InstanceProfile)
        } else if self.unity.iter().any(|o| o.account_id == *account) {
            Some(AccessMode::UnityCatalog)
        } else {
            None
        }
    }

    /// The region of account A's calls, as the config's `[aws] region` names it.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Account A; `None` only when every owner uses the Unity Catalog mode.
    pub fn deployment(&self) -> Option<&Deployment> {
        self.deployment.as_ref()
    }

    /// The bucket owners in the instance-profile mode, in config order; no two share an account.
    pub fn owners(&self) -> &[Owner] {
        &self.owners
    }

    /// Every bucket of an instance-profile owner with its owner, in config order; no bucket
    /// appears twice.
    pub fn buckets(&self) -> impl Iterator<Item = (&Owner, &Bucket)> {
        self.owners.iter().flat_map(|o| o.buckets.iter().map(move |b| (o, b)))
    }

    /// The instance-profile parts, to change and check again with [`Flow::new`]. A flow without
    /// account A gives `None`; use [`Flow::into_flow_parts`] for every part.
    pub fn into_parts(self) -> Option<(String, Deployment, Vec<Owner>)> {
        let deployment = self.deployment?;
        Some((self.region, deployment, self.owners))
    }

    /// Every part, to change and check again with [`Flow::build`]; the instance-profile owners
    /// come first, then the Unity Catalog ones.
    pub fn into_flow_parts(self) -> FlowParts {
        let owners = self
            .owners
            .into_iter()
            .map(OwnerEntry::InstanceProfile)
            .chain(self.unity.into_iter().map(OwnerEntry::UnityCatalog))
            .collect();
        FlowParts {
            region: self.region,
            deployment: self.deployment,
            owners,
            uc_master_role_arn: Some(self.uc_master_role_arn),
        }
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// The runbook's setup: one owner, one read-write bucket.
    pub fn runbook() -> Flow {
        Flow::new(
            "us-east-1",
            Deployment {
                account_id: AccountId::new("111111111111").unwrap(),
                instance_role: RoleName::new("MyRoleA").unwrap(),
                cross_account_role: Some(RoleName::new("databricks-cross-account").unwrap()),
            },
            vec![Owner {
                account_id: AccountId::new("222222222222").unwrap(),
                role: RoleName::new("MyRoleB").unwrap(),
                buckets: vec![Bucket {
                    name: BucketName::new("my-bucket").unwrap(),
                    access: Access::ReadWrite,
                    kms_key_arn: None,
                    mount: true,
                }],
            }],
        )
        .unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(account: &str, buckets: &[(&str, Option<&str>)]) -> Owner {
        Owner {
            account_id: AccountId::new(account).unwrap(),
            role: RoleName::new("MyRoleB").unwrap(),
            buckets: buckets
                .iter()
                .map(|(name, key)| Bucket {
                    name: BucketName::new(name).unwrap(),
                    access: Access::ReadWrite,
                    kms_key_arn: key.map(|k| KmsKeyArn::new(k).unwrap()),
                    mount: false,
                })
                .collect(),
        }
    }

    #[track_caller]
    fn check(owners: Vec<Owner>, expect: expect_test::Expect) {
        let (_, deployment, _) = fixtures::runbook().into_parts().unwrap();
        let got = match Flow::new("us-east-1", deployment, owners) {
            Ok(flow) => format!("ok: {} owner(s)\n", flow.owners().len()),
            Err(problems) => problems.iter().map(|p| format!("{}: {p}\n", p.path())).collect(),
        };
        expect.assert_eq(&got);
    }

    #[test]
    fn cross_field_rules() {
        check(
            vec![owner("222222222222", &[("a-bucket", None)])],
            expect_test::expect![[r#"
            ok: 1 owner(s)
        "#]],
        );
        check(
            vec![
                owner("111111111111", &[("a-bucket", None)]),
                owner("222222222222", &[("b-bucket", Some("arn:aws:kms:eu-west-1:333333333333:key/k"))]),
                owner("222222222222", &[("c-bucket", None), ("a-bucket", None)]),
                owner("444444444444", &[("d-bucket", None), ("d-bucket", None)]),
            ],
            expect_test::expect![[r#"
                bucket_owners[0].account_id: account `111111111111` is both the deployment account (A) and a bucket owner (B); the runbook needs two accounts
                bucket_owners[1].buckets[0].kms_key_arn: KMS key `arn:aws:kms:eu-west-1:333333333333:key/k` is in account `333333333333`, not in the bucket owner's account `222222222222`
                bucket_owners[2].account_id: bucket owner account `222222222222` is listed twice; put all its buckets under one `[[bucket_owners]]`
                bucket_owners[2].buckets[1].name: bucket `a-bucket` is listed twice (first under bucket owner `111111111111`); a bucket has one owner and one entry
                bucket_owners[3].buckets[1].name: bucket `d-bucket` is listed twice (first under bucket owner `444444444444`); a bucket has one owner and one entry
            "#]],
        );
    }

    #[test]
    fn problems_without_a_deployment() {
        let owners = vec![owner("111111111111", &[("a-bucket", None)]), owner("111111111111", &[])];
        let got: Vec<String> = problems(None, &owners).iter().map(|p| p.path().to_string()).collect();
        assert_eq!(got, ["bucket_owners[1].account_id"]);
    }

    #[test]
    fn unity_catalog_rules() {
        use crate::unity::{Grant, UnityBucket};
        let uc = |account: &str, credential: &str, buckets: &[(&str, &str, Access, &[&str])]| {
            OwnerEntry::UnityCatalog(UnityOwner {
                account_id: AccountId::new(account).unwrap(),
                role: RoleName::new("uc-role").unwrap(),
                storage_credential: credential.to_owned(),
                buckets: buckets
                    .iter()
                    .map(|(name, location, access, privileges)| UnityBucket {
                        name: BucketName::new(name).unwrap(),
                        access: *access,
                        kms_key_arn: None,
                        external_location: (*location).to_owned(),
                        prefix: String::new(),
                        grants: vec![Grant {
                            principal: "team".to_owned(),
                            privileges: privileges.iter().map(|p| (*p).to_owned()).collect(),
                        }],
                    })
                    .collect(),
            })
        };
        let parts = |deployment: Option<Deployment>, owners: Vec<OwnerEntry>, master: Option<&str>| FlowParts {
            region: "us-east-1".to_owned(),
            deployment,
            owners,
            uc_master_role_arn: master.map(str::to_owned),
        };
        let show = |parts: FlowParts| match Flow::build(parts) {
            Ok(flow) => format!("ok: {} + {}\n", flow.owners().len(), flow.unity_owners().len()),
            Err(problems) => problems.iter().map(|p| format!("{}: {p}\n", p.path())).collect(),
        };
        let ip = OwnerEntry::InstanceProfile(owner("222222222222", &[("ip-bucket", None)]));
        let (_, deployment, _) = fixtures::runbook().into_parts().unwrap();
        // Both modes in one flow, and Unity Catalog alone without account A.
        let good = uc("333333333333", "c1", &[("lake", "l1", Access::ReadOnly, &["READ_FILES"])]);
        expect_test::expect!["ok: 1 + 1\n"].assert_eq(&show(parts(
            Some(deployment.clone()),
            vec![ip.clone(), good.clone()],
            None,
        )));
        expect_test::expect!["ok: 0 + 1\n"].assert_eq(&show(parts(None, vec![good.clone()], None)));
        expect_test::expect![[r#"
            bucket_owners[0].access_mode: bucket owner `222222222222` uses the instance-profile mode, which needs `[deployment]` (account A); add it, or set `access_mode = "unity-catalog"`
            bucket_owners[2].storage_credential: storage credential `c1` is named by two bucket owners; give each `storage_credential` its own name
            bucket_owners[2].buckets[1].name: bucket `lake` is listed twice (first under bucket owner `333333333333`); a bucket has one owner and one entry
            bucket_owners[2].buckets[0].name: bucket `a.lake` has a dot, which Unity Catalog external locations refuse; use a bucket without dots or the instance-profile mode
            bucket_owners[2].buckets[0].external_location: external location `l1` is named twice; give each bucket's `external_location` its own name
            bucket_owners[2].buckets[0].grants: grant of `WRITE_FILES` to `team` writes, but bucket `a.lake` is `read-only`; drop it or make the bucket `read-write`
            bucket_owners[3].account_id: bucket owner account `333333333333` is listed twice; put all its buckets under one `[[bucket_owners]]`
            databricks.uc_master_role_arn: `uc_master_role_arn` `arn:aws:iam::1:role/x` is not an IAM role ARN in partition `aws` of region `us-east-1`; for GovCloud use `arn:aws-us-gov:iam::044793339203:role/unity-catalog-prod-UCMasterRole-1QRFA8SGY15OJ`
        "#]]
        .assert_eq(&show(parts(
            None,
            vec![
                ip,
                good,
                uc(
                    "444444444444",
                    "c1",
                    &[
                        ("a.lake", "l1", Access::ReadOnly, &["WRITE_FILES"]),
                        ("lake", "l2", Access::ReadWrite, &["WRITE_FILES"]),
                    ],
                ),
                uc("333333333333", "c3", &[]),
            ],
            Some("arn:aws:iam::1:role/x"),
        )));
    }
}

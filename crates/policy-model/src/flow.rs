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

/// The checked flow: the region, account A and the bucket owners, in config order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flow {
    region: String,
    deployment: Deployment,
    owners: Vec<Owner>,
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
}

impl fmt::Display for FlowPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlowPath::OwnerAccount { owner } => write!(f, "bucket_owners[{owner}].account_id"),
            FlowPath::BucketName { owner, bucket } => write!(f, "bucket_owners[{owner}].buckets[{bucket}].name"),
            FlowPath::KmsKey { owner, bucket } => write!(f, "bucket_owners[{owner}].buckets[{bucket}].kms_key_arn"),
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
        }
    }
}

/// Every cross-field problem of these owners (and, when given, of account A with them), in
/// config order. [`Flow::new`] runs this; a config loader whose `[deployment]` did not parse can
/// still report the owners' problems with `deployment: None`. Linear in the number of buckets.
pub fn problems(deployment: Option<&Deployment>, owners: &[Owner]) -> Vec<FlowProblem> {
    let mut out = Vec::new();
    let mut accounts: HashMap<&AccountId, usize> = HashMap::with_capacity(owners.len());
    let mut buckets: HashMap<&BucketName, &AccountId> = HashMap::new();
    for (i, owner) in owners.iter().enumerate() {
        if deployment.is_some_and(|d| d.account_id == owner.account_id) {
            out.push(FlowProblem::DeploymentIsOwner { owner: i, account: owner.account_id.clone() });
        }
        if let Some(&first) = accounts.get(&owner.account_id) {
            out.push(FlowProblem::OwnerTwice { owner: i, first, account: owner.account_id.clone() });
        } else {
            accounts.insert(&owner.account_id, i);
        }
        for (j, bucket) in owner.buckets.iter().enumerate() {
            if let Some(first) = buckets.get(&bucket.name) {
                out.push(FlowProblem::BucketTwice {
                    owner: i,
                    bucket: j,
                    name: bucket.name.clone(),
                    first_account: (*first).clone(),
                });
            } else {
                buckets.insert(&bucket.name, &owner.account_id);
            }
            if let Some(key) = bucket.kms_key_arn.as_ref().filter(|k| *k.account() != owner.account_id) {
                out.push(FlowProblem::KeyInOtherAccount {
                    owner: i,
                    bucket: j,
                    key: key.clone(),
                    owner_account: owner.account_id.clone(),
                });
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
        let found = problems(Some(&deployment), &owners);
        if found.is_empty() {
            Ok(Flow { region: region.into(), deployment, owners })
        } else {
            Err(found)
        }
    }

    /// The region of account A's calls, as the config's `[aws] region` names it.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Account A.
    pub fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    /// The bucket owners, in config order; no two share an account.
    pub fn owners(&self) -> &[Owner] {
        &self.owners
    }

    /// Every bucket with its owner, in config order; no bucket appears twice.
    pub fn buckets(&self) -> impl Iterator<Item = (&Owner, &Bucket)> {
        self.owners.iter().flat_map(|o| o.buckets.iter().map(move |b| (o, b)))
    }

    /// The parts, to change and check again with [`Flow::new`].
    pub fn into_parts(self) -> (String, Deployment, Vec<Owner>) {
        (self.region, self.deployment, self.owners)
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
        let (_, deployment, _) = fixtures::runbook().into_parts();
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
}

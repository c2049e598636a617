//! The flow being automated, as checked plain data: account A with its
//! instance role, and the bucket owners with their roles and buckets.
//!
//! `xtask` turns `xacct.toml` into a [`Flow`]; every other crate reads it.

use serde::Serialize;

use crate::arn::{self, AccountId, BucketName, RoleName};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flow {
    pub region: String,
    pub deployment: Deployment,
    pub owners: Vec<Owner>,
}

/// Account A, where Databricks runs its clusters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deployment {
    pub account_id: AccountId,
    pub instance_role: RoleName,
    /// The existing role Databricks uses to launch EC2; it gets `iam:PassRole` on the instance role.
    pub cross_account_role: Option<RoleName>,
}

/// An account B that owns buckets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Owner {
    pub account_id: AccountId,
    pub role: RoleName,
    pub buckets: Vec<Bucket>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    pub name: BucketName,
    pub access: Access,
    /// `arn:aws:kms:<region>:<owner>:key/<id>`, already checked to be in the owner's account.
    pub kms_key_arn: Option<String>,
    pub mount: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    ReadWrite,
    ReadOnly,
}

impl Deployment {
    pub fn instance_role_arn(&self) -> String {
        arn::role_arn(&self.account_id, &self.instance_role)
    }
    pub fn instance_profile_arn(&self) -> String {
        arn::instance_profile_arn(&self.account_id, &self.instance_role)
    }
    pub fn cross_account_role_arn(&self) -> Option<String> {
        self.cross_account_role.as_ref().map(|r| arn::role_arn(&self.account_id, r))
    }
}

impl Owner {
    pub fn role_arn(&self) -> String {
        arn::role_arn(&self.account_id, &self.role)
    }
}

impl Flow {
    /// Every bucket with its owner, in config order.
    pub fn buckets(&self) -> impl Iterator<Item = (&Owner, &Bucket)> {
        self.owners.iter().flat_map(|o| o.buckets.iter().map(move |b| (o, b)))
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// The runbook's setup: one owner, one read-write bucket.
    pub fn runbook() -> Flow {
        Flow {
            region: "us-east-1".to_owned(),
            deployment: Deployment {
                account_id: AccountId::new("111111111111").unwrap(),
                instance_role: RoleName::new("MyRoleA").unwrap(),
                cross_account_role: Some(RoleName::new("databricks-cross-account").unwrap()),
            },
            owners: vec![Owner {
                account_id: AccountId::new("222222222222").unwrap(),
                role: RoleName::new("MyRoleB").unwrap(),
                buckets: vec![Bucket {
                    name: BucketName::new("my-bucket").unwrap(),
                    access: Access::ReadWrite,
                    kms_key_arn: None,
                    mount: true,
                }],
            }],
        }
    }
}

//! Flows for the tests: the runbook's single owner, and several owners.

use policy_model::{Access, AccountId, Bucket, BucketName, Deployment, Flow, KmsKeyArn, Owner, RoleName};

fn bucket(name: &str, access: Access, kms_key_arn: Option<&str>, mount: bool) -> Bucket {
    Bucket {
        name: BucketName::new(name).unwrap(),
        access,
        kms_key_arn: kms_key_arn.map(|k| KmsKeyArn::new(k).unwrap()),
        mount,
    }
}

fn owner(account: &str, role: &str, buckets: Vec<Bucket>) -> Owner {
    Owner { account_id: AccountId::new(account).unwrap(), role: RoleName::new(role).unwrap(), buckets }
}

fn deployment(cross_account_role: Option<&str>) -> Deployment {
    Deployment {
        account_id: AccountId::new("111111111111").unwrap(),
        instance_role: RoleName::new("MyRoleA").unwrap(),
        cross_account_role: cross_account_role.map(|r| RoleName::new(r).unwrap()),
    }
}

/// The runbook's setup: one owner, one mounted read-write bucket.
pub(crate) fn one_owner() -> Flow {
    Flow::new(
        "us-east-1",
        deployment(Some("databricks-cross-account")),
        vec![owner("222222222222", "MyRoleB", vec![bucket("my-bucket", Access::ReadWrite, None, true)])],
    )
    .unwrap()
}

/// Two owners: one with a KMS-encrypted mounted bucket and a bucket whose name holds dots, the
/// other with a read-only bucket sharing nothing; no cross-account role in the config.
pub(crate) fn two_owners() -> Flow {
    Flow::new(
        "us-east-1",
        deployment(None),
        vec![
            owner(
                "222222222222",
                "MyRoleB",
                vec![
                    bucket(
                        "my-bucket",
                        Access::ReadWrite,
                        Some("arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
                        true,
                    ),
                    bucket("logs.example.com", Access::ReadWrite, None, false),
                ],
            ),
            owner("333333333333", "DataReader", vec![bucket("analytics", Access::ReadOnly, None, true)]),
        ],
    )
    .unwrap()
}

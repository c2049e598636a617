//! The broken configurations verify must name: one per link and per runbook pitfall.
//!
//! One corpus, two backends: each [`Case`] holds a [`Change`] that breaks a healthy deployment.
//! verify's unit tests apply it to the offline [`State`]; the e2e suite applies the same change to
//! the emulator with a direct SDK call (or to the Databricks stand-in) and runs [`crate::live`].
//! Either way the named link must fail and its fix must contain the given words.

use policy_model::build::{self, ASSUME_POLICY_NAME, PASS_ROLE_POLICY_NAME};
use policy_model::{
    Access, AccountId, Bucket as FlowBucket, BucketName, Deployment, Flow, KmsKeyArn, Owner, PolicyDocument, Principal,
    RoleName, Statement,
};

use crate::chain::ids;
use crate::state::{self, State};

/// Account A of the corpus flow.
pub const A: &str = "111111111111";
/// Account B of the corpus flow.
pub const B: &str = "222222222222";
/// The corpus bucket.
pub const BUCKET: &str = "xacct-verify-data";
/// The Databricks cross-account role of the corpus flow.
pub const CROSS_ACCOUNT_ROLE: &str = "databricks-cross-account";

/// The corpus flow: the runbook's MyRoleA and MyRoleB, a cross-account role, and one read-write
/// bucket encrypted with `kms_key_arn` (the emulator makes up key ids, so the caller passes it).
pub fn flow(kms_key_arn: &str) -> Flow {
    flow_in(A, B, BUCKET, kms_key_arn)
}

/// [`flow`] with other accounts and bucket, so that several cases can share one emulator.
/// Invalid names fall back to the corpus constants.
pub fn flow_in(a: &str, b: &str, bucket: &str, kms_key_arn: &str) -> Flow {
    let account = |id: &str, fallback: &str| AccountId::new(id).unwrap_or_else(|_| known(AccountId::new(fallback)));
    let (a, b) = (account(a, A), account(b, B));
    let key = KmsKeyArn::new(kms_key_arn)
        .ok()
        .filter(|k| *k.account() == b)
        .unwrap_or_else(|| known(KmsKeyArn::new(&format!("arn:aws:kms:us-east-1:{b}:key/corpus"))));
    let deployment = Deployment {
        account_id: a,
        instance_role: known(RoleName::new("MyRoleA")),
        cross_account_role: Some(known(RoleName::new(CROSS_ACCOUNT_ROLE))),
    };
    let owners = vec![Owner {
        account_id: b,
        role: known(RoleName::new("MyRoleB")),
        buckets: vec![FlowBucket {
            name: BucketName::new(bucket).unwrap_or_else(|_| known(BucketName::new(BUCKET))),
            access: Access::ReadWrite,
            kms_key_arn: Some(key),
            mount: false,
        }],
    }];
    known(Flow::new("us-east-1", deployment, owners))
}

/// A large flow for scaling checks: account A of the corpus, `owners` bucket owners (accounts
/// from 200000000000, each with role `MyRoleB`) and `buckets` read-write or read-only buckets
/// each, every bucket encrypted with one of four keys of its owner.
pub fn wide_flow(owners: usize, buckets: usize) -> Flow {
    let deployment =
        known(flow(&format!("arn:aws:kms:us-east-1:{B}:key/k")).into_parts().map(|p| p.1).ok_or("no account A"));
    let owners = (0..owners)
        .map(|o| {
            let account = known(AccountId::new(&format!("{:012}", 200_000_000_000u64 + o as u64)));
            let buckets = (0..buckets)
                .map(|b| FlowBucket {
                    name: known(BucketName::new(&format!("data-{o}-{b}"))),
                    access: if b % 2 == 0 { Access::ReadWrite } else { Access::ReadOnly },
                    kms_key_arn: Some(known(KmsKeyArn::new(&format!(
                        "arn:aws:kms:us-east-1:{account}:key/k{}",
                        b % 4
                    )))),
                    mount: false,
                })
                .collect();
            Owner { account_id: account, role: known(RoleName::new("MyRoleB")), buckets }
        })
        .collect();
    known(Flow::new("us-east-1", deployment, owners))
}

#[expect(clippy::expect_used, reason = "the corpus names are constants that pass the checks")]
fn known<T, E: std::fmt::Debug>(checked: Result<T, E>) -> T {
    checked.expect("corpus names are valid and its accounts differ")
}

/// One way to break a healthy deployment, as data both backends can apply.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Replace a role's trust policy.
    TrustPolicy {
        /// The ARN of the role whose trust policy is replaced.
        role_arn: String,
        /// The new trust policy.
        document: PolicyDocument,
    },
    /// Delete an inline policy of a role.
    DeleteInlinePolicy {
        /// The ARN of the role that holds the policy.
        role_arn: String,
        /// The inline policy's name, e.g. [`ASSUME_POLICY_NAME`].
        name: String,
    },
    /// Replace a bucket's policy.
    BucketPolicy {
        /// The bucket's name (not its ARN).
        bucket: String,
        /// The new bucket policy.
        document: PolicyDocument,
    },
    /// Replace a key's policy.
    KeyPolicy {
        /// The KMS key's ARN.
        key_arn: String,
        /// The new key policy.
        document: PolicyDocument,
    },
    /// Take the role out of the instance profile.
    RemoveRoleFromInstanceProfile {
        /// The instance profile's ARN.
        profile_arn: String,
        /// The ARN of the role taken out.
        role_arn: String,
    },
    /// SCP levels given in the config: one list of documents per level, from the root down, as in
    /// [`State::scps`].
    Scps(Vec<Vec<PolicyDocument>>),
    /// Remove the instance profile from the Databricks workspace.
    UnregisterInstanceProfile {
        /// The instance profile's ARN, as registered in the workspace.
        profile_arn: String,
    },
    /// Remove one key from the cluster's Spark conf.
    RemoveSparkConf {
        /// The Spark conf key, e.g. `spark.hadoop.fs.s3a.assumed.role.arn`.
        key: String,
    },
}

/// A broken configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// What is broken, in words, e.g. `bucket policy grants another role`; unique in [`cases`].
    pub name: &'static str,
    /// The change that breaks the healthy deployment.
    pub change: Change,
    /// The link that must fail.
    pub link: String,
    /// Words the failing link's fix must contain.
    pub fix_words: Vec<String>,
}

fn doc(text: &str) -> PolicyDocument {
    PolicyDocument::from_json(text).unwrap_or_else(|_| PolicyDocument::new(Vec::new()))
}

/// Every case, for the corpus flow `flow`.
pub fn cases(flow: &Flow) -> Vec<Case> {
    let deployment = known(flow.deployment().ok_or("the corpus flow has account A"));
    let a_role = deployment.instance_role_arn();
    let x_role = deployment.cross_account_role_arn().unwrap_or_default();
    let owner = &flow.owners()[0];
    let bucket = &owner.buckets[0];
    let b_role = owner.role_arn();
    let b = owner.account_id.as_str();
    let key = bucket.kms_key_arn.as_ref().map(|k| k.as_str().to_owned()).unwrap_or_default();
    let name = bucket.name.as_str().to_owned();
    let words = |w: &[&str]| w.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();

    let wrong_principal: Vec<Statement> = build::bucket_statements(owner, bucket)
        .into_iter()
        .map(|s| s.with_principal(Principal::aws(vec![format!("arn:aws:iam::{b}:role/SomeOtherRole")])))
        .collect();
    let mut deny_acl = build::bucket_statements(owner, bucket);
    deny_acl.push(
        Statement { effect: "Deny".to_owned(), ..Statement::allow("DenyObjectAcl") }
            .with_principal(Principal::Star("*".to_owned()))
            .with_action("s3:PutObjectAcl")
            .with_resource(bucket.name.objects_arn()),
    );

    vec![
        Case {
            name: "trust policy of MyRoleB lacks the statement for MyRoleA",
            change: Change::TrustPolicy {
                role_arn: b_role.clone(),
                document: doc(
                    r#"{"Version":"2012-10-17","Statement":[{"Sid":"Ec2","Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
                ),
            },
            link: ids::trust_b(b),
            fix_words: words(&[&format!("trust policy of {b_role}"), &a_role, "Invalid principal"]),
        },
        Case {
            name: "trust policy of MyRoleB requires an external id the cluster never sends",
            change: Change::TrustPolicy {
                role_arn: b_role.clone(),
                document: doc(&format!(
                    r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"WithExternalId","Effect":"Allow","Principal":{{"AWS":"{a_role}"}},"Action":"sts:AssumeRole","Condition":{{"StringEquals":{{"sts:ExternalId":"secret"}}}}}}]}}"#
                )),
            },
            link: ids::trust_b(b),
            fix_words: words(&[&format!("trust policy of {b_role}")]),
        },
        Case {
            name: "MyRoleA has no sts:AssumeRole policy",
            change: Change::DeleteInlinePolicy { role_arn: a_role.clone(), name: ASSUME_POLICY_NAME.to_owned() },
            link: ids::assume_a_to_b(b),
            fix_words: words(&["sts:AssumeRole", ASSUME_POLICY_NAME, &a_role, &b_role]),
        },
        Case {
            name: "bucket policy grants another role",
            change: Change::BucketPolicy { bucket: name.clone(), document: PolicyDocument::new(wrong_principal) },
            link: ids::bucket(&name),
            fix_words: words(&[&format!("bucket policy of {name}"), &b_role, "s3:PutObjectAcl"]),
        },
        Case {
            name: "bucket policy denies s3:PutObjectAcl",
            change: Change::BucketPolicy { bucket: name.clone(), document: PolicyDocument::new(deny_acl) },
            link: ids::bucket(&name),
            fix_words: words(&["`DenyObjectAcl`", &format!("bucket policy of {name}"), "s3:PutObjectAcl"]),
        },
        Case {
            name: "key policy does not name MyRoleB",
            change: Change::KeyPolicy { key_arn: key.clone(), document: state::default_key_policy(b) },
            link: ids::kms(&name),
            fix_words: words(&[&format!("key policy of {key}"), "kms:Decrypt", "kms:GenerateDataKey", &b_role]),
        },
        Case {
            name: "an SCP denies sts:AssumeRole",
            change: Change::Scps(vec![vec![doc(
                r#"{"Version":"2012-10-17","Statement":[{"Sid":"FullAWSAccess","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"NoAssumeRole","Effect":"Deny","Action":"sts:AssumeRole","Resource":"*"}]}"#,
            )]]),
            link: ids::SCP.to_owned(),
            fix_words: words(&["`NoAssumeRole`", "sts:AssumeRole", "dry run"]),
        },
        Case {
            name: "the cross-account role may not pass MyRoleA",
            change: Change::DeleteInlinePolicy { role_arn: x_role.clone(), name: PASS_ROLE_POLICY_NAME.to_owned() },
            link: ids::PASSROLE.to_owned(),
            fix_words: words(&["iam:PassRole", &x_role, &a_role]),
        },
        Case {
            name: "the instance profile holds no role",
            change: Change::RemoveRoleFromInstanceProfile {
                profile_arn: deployment.instance_profile_arn(),
                role_arn: a_role.clone(),
            },
            link: ids::INSTANCE_PROFILE.to_owned(),
            fix_words: words(&["add-role-to-instance-profile", "MyRoleA"]),
        },
        Case {
            name: "the cluster lacks spark.hadoop.fs.s3a.acl.default",
            change: Change::RemoveSparkConf { key: "spark.hadoop.fs.s3a.acl.default".to_owned() },
            link: ids::DATABRICKS.to_owned(),
            fix_words: words(&["spark.hadoop.fs.s3a.acl.default BucketOwnerFullControl"]),
        },
        Case {
            name: "the instance profile is not registered in Databricks",
            change: Change::UnregisterInstanceProfile { profile_arn: deployment.instance_profile_arn() },
            link: ids::DATABRICKS.to_owned(),
            fix_words: words(&["instance-profiles/add", &deployment.instance_profile_arn()]),
        },
    ]
}

impl Change {
    /// Applies the change to an offline state.
    pub fn apply_offline(&self, state: &mut State) {
        match self {
            Change::TrustPolicy { role_arn, document } => {
                if let Some(role) = state.roles.get_mut(role_arn) {
                    role.trust = document.clone();
                }
            }
            Change::DeleteInlinePolicy { role_arn, name } => {
                if let Some(role) = state.roles.get_mut(role_arn) {
                    role.policies.retain(|p| p.name != format!("inline policy {name}"));
                }
            }
            Change::BucketPolicy { bucket, document } => {
                if let Some(b) = state.buckets.get_mut(bucket) {
                    b.policy = Some(document.clone());
                }
            }
            Change::KeyPolicy { key_arn, document } => {
                state.keys.insert(key_arn.clone(), document.clone());
            }
            Change::RemoveRoleFromInstanceProfile { profile_arn, role_arn } => {
                if let Some(p) = state.instance_profiles.get_mut(profile_arn) {
                    p.roles.retain(|r| r != role_arn);
                }
            }
            Change::Scps(levels) => state.scps = levels.clone(),
            Change::UnregisterInstanceProfile { profile_arn } => {
                if let Some(db) = &mut state.databricks {
                    db.instance_profiles.retain(|p| p != profile_arn);
                }
            }
            Change::RemoveSparkConf { key } => {
                if let Some(cluster) = state.databricks.as_mut().and_then(|db| db.cluster.as_mut()) {
                    cluster.spark_conf.remove(key);
                }
            }
        }
    }
}

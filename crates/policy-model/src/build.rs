//! The documents of the flow, as the runbook writes them.
//!
//! Every statement xacct writes carries a stable Sid that starts with
//! [`SID_PREFIX`] and holds only letters and digits (IAM's rule for Sids), so
//! that `merge` can find our statements again in a document others also edit,
//! and `destroy` can take them out. A Sid names what the statement is for and
//! whom it is about, never the access level, so that switching a bucket from
//! read-write to read-only replaces the statement instead of adding one.

use crate::arn::AccountId;
use crate::document::{PolicyDocument, Principal, Statement};
use crate::flow::{Access, Bucket, Flow, Owner};

/// The start of every Sid xacct writes.
pub const SID_PREFIX: &str = "Xacct";

/// The inline policy on the instance role that lets it assume the bucket owners' roles.
pub const ASSUME_POLICY_NAME: &str = "xacct-assume-bucket-owner-roles";

/// The Sid of the statement that lets the instance role assume the bucket owners' roles.
pub const ASSUME_SID: &str = "XacctAssumeBucketOwnerRoles";

/// The inline policy on the cross-account role that holds our `iam:PassRole`
/// statement. If the role already has an inline policy of this name, our
/// statement is merged into it by Sid; otherwise the policy is created.
pub const PASS_ROLE_POLICY_NAME: &str = "xacct-pass-instance-role";

/// True when the statement is one xacct wrote: its Sid starts with [`SID_PREFIX`].
pub fn is_ours(stmt: &Statement) -> bool {
    stmt.sid.as_deref().is_some_and(|sid| sid.starts_with(SID_PREFIX))
}

/// The instance role's trust policy: EC2 may assume it, which is what an instance profile needs.
pub fn instance_role_trust() -> PolicyDocument {
    PolicyDocument::new(vec![Statement::allow(&sid(&["Ec2AssumeRole"]))
        .with_principal(Principal::service("ec2.amazonaws.com"))
        .with_action("sts:AssumeRole")])
}

/// The inline policy [`ASSUME_POLICY_NAME`] on the instance role: `sts:AssumeRole`
/// on every bucket owner's role (runbook step 1).
pub fn assume_role_policy(flow: &Flow) -> PolicyDocument {
    // Owners have distinct accounts (`Flow::new` checks), so their role ARNs are distinct.
    let roles: Vec<String> = flow.owners().iter().map(Owner::role_arn).collect();
    PolicyDocument::new(vec![Statement::allow(ASSUME_SID).with_actions(&["sts:AssumeRole"]).with_resources(roles)])
}

/// The most managed policies IAM attaches to one role by default (a quota that can be raised).
pub const MANAGED_POLICIES_PER_ROLE: usize = 10;

/// Where the instance role's `sts:AssumeRole` statement on the owners' roles goes.
#[derive(Debug, Clone, PartialEq)]
pub enum AssumePolicies {
    /// The inline policy [`ASSUME_POLICY_NAME`]: [`assume_role_policy`], which fits IAM's limit
    /// for a role's inline policies.
    Inline(PolicyDocument),
    /// Customer managed policies named `<ASSUME_POLICY_NAME>-<n>` (from 1), each within IAM's
    /// managed-policy size limit and together within [`MANAGED_POLICIES_PER_ROLE`], attached to the
    /// instance role, when the owners' roles outgrow the inline limit.
    Managed(Vec<(String, PolicyDocument)>),
}

impl AssumePolicies {
    /// The documents, each with its name.
    pub fn documents(&self) -> Vec<(String, &PolicyDocument)> {
        match self {
            AssumePolicies::Inline(doc) => vec![(ASSUME_POLICY_NAME.to_owned(), doc)],
            AssumePolicies::Managed(docs) => docs.iter().map(|(name, doc)| (name.clone(), doc)).collect(),
        }
    }
}

/// The owners' roles fit neither in the inline policy nor in the managed policies a role may have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the instance role's sts:AssumeRole statement on {roles} owner roles is {size} characters without whitespace: \
     {over_inline} over IAM's limit of {inline_limit} for a role's inline policies, and spread over managed policies \
     of at most {managed_limit} characters it needs {needed}, {over_quota} more than the {quota} managed policies \
     IAM attaches to a role by default; ask AWS to raise the quota or split the owners over several instance roles"
)]
pub struct AssumePolicyTooLarge {
    /// The number of owner roles.
    pub roles: usize,
    /// The size of the inline document, without whitespace.
    pub size: usize,
    /// [`crate::validate::INLINE_ROLE_POLICIES_LIMIT`].
    pub inline_limit: usize,
    /// By how much the inline document passes it.
    pub over_inline: usize,
    /// [`crate::validate::MANAGED_POLICY_LIMIT`].
    pub managed_limit: usize,
    /// The managed policies needed.
    pub needed: usize,
    /// [`MANAGED_POLICIES_PER_ROLE`].
    pub quota: usize,
    /// `needed - quota`.
    pub over_quota: usize,
}

/// Lays out the instance role's assume statement: one inline policy when it fits IAM's
/// 10,240-character limit (counted as AWS counts, without whitespace), otherwise as few
/// customer managed policies of at most 6,144 characters as hold every owner's role, in config
/// order. Linear in the number of owners.
pub fn assume_policies(flow: &Flow) -> Result<AssumePolicies, AssumePolicyTooLarge> {
    use crate::validate::{size_without_whitespace, INLINE_ROLE_POLICIES_LIMIT, MANAGED_POLICY_LIMIT};
    let inline = assume_role_policy(flow);
    let size = size_without_whitespace(&inline.to_json());
    if size <= INLINE_ROLE_POLICIES_LIMIT {
        return Ok(AssumePolicies::Inline(inline));
    }
    let roles: Vec<String> = flow.owners().iter().map(Owner::role_arn).collect();
    let doc = |resources: Vec<String>| {
        PolicyDocument::new(vec![Statement::allow(ASSUME_SID)
            .with_actions(&["sts:AssumeRole"])
            .with_resources(resources)])
    };
    // A document of one statement: the fixed part, then each ARN quoted, with commas between.
    // ARNs hold no whitespace and nothing JSON escapes.
    let fixed = size_without_whitespace(&doc(Vec::new()).to_json());
    let mut chunks: Vec<Vec<String>> = Vec::new();
    let mut used = fixed;
    for role in roles {
        let cost = role.len() + 3; // its quotes, and the comma before it
        match chunks.last_mut() {
            Some(chunk) if used + cost <= MANAGED_POLICY_LIMIT => {
                used += cost;
                chunk.push(role);
            }
            _ => {
                used = fixed + role.len() + 2;
                chunks.push(vec![role]);
            }
        }
    }
    if chunks.len() > MANAGED_POLICIES_PER_ROLE {
        return Err(AssumePolicyTooLarge {
            roles: flow.owners().len(),
            size,
            inline_limit: INLINE_ROLE_POLICIES_LIMIT,
            over_inline: size - INLINE_ROLE_POLICIES_LIMIT,
            managed_limit: MANAGED_POLICY_LIMIT,
            needed: chunks.len(),
            quota: MANAGED_POLICIES_PER_ROLE,
            over_quota: chunks.len() - MANAGED_POLICIES_PER_ROLE,
        });
    }
    Ok(AssumePolicies::Managed(
        chunks
            .into_iter()
            .enumerate()
            .map(|(i, chunk)| (format!("{ASSUME_POLICY_NAME}-{}", i + 1), doc(chunk)))
            .collect(),
    ))
}

/// The statement added to the cross-account role's policy: `iam:PassRole` on
/// the instance role, so that Databricks can launch instances with its profile (runbook step 1).
/// A flow without account A has no instance role: its statement allows nothing.
pub fn pass_role_statement(flow: &Flow) -> Statement {
    let Some(deployment) = flow.deployment() else {
        return Statement::allow(&sid(&["PassRole"])).with_action("iam:PassRole").with_resources(Vec::new());
    };
    Statement::allow(&sid(&["PassRole", deployment.instance_role.as_str()]))
        .with_action("iam:PassRole")
        .with_resources(vec![deployment.instance_role_arn()])
}

/// The trust policy of each bucket owner's role: the instance role in account A
/// may assume it (runbook step 2). A flow without account A has no instance-profile owner; its
/// document is empty.
pub fn owner_trust_policy(flow: &Flow) -> PolicyDocument {
    let Some(deployment) = flow.deployment() else { return PolicyDocument::new(Vec::new()) };
    PolicyDocument::new(vec![Statement::allow(&sid(&[
        "Trust",
        deployment.account_id.as_str(),
        deployment.instance_role.as_str(),
    ]))
    .with_principal(Principal::aws(vec![deployment.instance_role_arn()]))
    .with_action("sts:AssumeRole")])
}

/// Our statements in a bucket's policy: the owner's role may list the bucket
/// and, for read-write, put, read and delete its objects (runbook step 2).
/// Read-only access keeps the listing and allows only `s3:GetObject` on objects.
pub fn bucket_statements(owner: &Owner, bucket: &Bucket) -> Vec<Statement> {
    let role = owner.role.as_str();
    let principal = || Principal::aws(vec![owner.role_arn()]);
    let objects: &[&str] = match bucket.access {
        Access::ReadWrite => &["s3:PutObject", "s3:PutObjectAcl", "s3:GetObject", "s3:DeleteObject"],
        Access::ReadOnly => &["s3:GetObject"],
    };
    vec![
        Statement::allow(&sid(&["Bucket", role]))
            .with_principal(principal())
            .with_actions(&["s3:GetBucketLocation", "s3:ListBucket"])
            .with_resource(bucket.name.arn()),
        Statement::allow(&sid(&["Objects", role]))
            .with_principal(principal())
            .with_actions(objects)
            .with_resource(bucket.name.objects_arn()),
    ]
}

/// Our statement in a KMS key's policy: the owner's role, which calls S3, is a
/// key user. Reads need `kms:Decrypt`; writes also need `kms:GenerateDataKey*`
/// and `kms:Encrypt`. A key policy's Resource is always `"*"`, the key itself,
/// so `_key_arn` (the key whose policy receives the statement) is not written.
pub fn kms_key_user_statement(owner: &Owner, _key_arn: &str, access: Access) -> Statement {
    let actions: &[&str] = match access {
        Access::ReadWrite => &["kms:Decrypt", "kms:GenerateDataKey*", "kms:Encrypt"],
        Access::ReadOnly => &["kms:Decrypt"],
    };
    Statement::allow(&sid(&["KeyUser", owner.role.as_str()]))
        .with_principal(Principal::aws(vec![owner.role_arn()]))
        .with_actions(actions)
        .with_resource("*".to_owned())
}

/// One document, or one set of statements, that xacct writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Labeled {
    /// The account that holds it.
    pub account: AccountId,
    /// The ARN of the role, bucket or key whose policy it is.
    pub resource: String,
    /// Which policy of that resource, for people: `trust policy`, `inline policy <name>`, …
    pub label: String,
    /// The whole document, or for a policy others also edit (bucket, key,
    /// the cross-account role's policy) a document of just our statements.
    pub document: PolicyDocument,
}

/// Every document or statement set xacct would write for this flow, in the
/// order of the runbook: account A first, then each owner and its buckets and keys, then each
/// Unity Catalog owner's trust (with the external ID still pending) and permission policy.
pub fn all_documents(flow: &Flow) -> Vec<Labeled> {
    let mut out = runbook_documents(flow);
    for owner in flow.unity_owners() {
        out.push(Labeled {
            account: owner.account_id.clone(),
            resource: owner.role_arn(),
            label: "trust policy".to_owned(),
            document: crate::unity::trust_policy(owner, flow.uc_master_role_arn(), None),
        });
        out.push(Labeled {
            account: owner.account_id.clone(),
            resource: owner.role_arn(),
            label: format!("inline policy {}", crate::unity::PERMISSION_POLICY_NAME),
            document: crate::unity::permission_policy(owner),
        });
    }
    out
}

fn runbook_documents(flow: &Flow) -> Vec<Labeled> {
    let Some(deployment) = flow.deployment().filter(|_| !flow.owners().is_empty()) else { return Vec::new() };
    let a = &deployment.account_id;
    let mut out = vec![
        Labeled {
            account: a.clone(),
            resource: deployment.instance_role_arn(),
            label: "trust policy".to_owned(),
            document: instance_role_trust(),
        },
        Labeled {
            account: a.clone(),
            resource: deployment.instance_role_arn(),
            label: format!("inline policy {ASSUME_POLICY_NAME}"),
            document: assume_role_policy(flow),
        },
    ];
    if let Some(arn) = deployment.cross_account_role_arn() {
        out.push(Labeled {
            account: a.clone(),
            resource: arn,
            label: format!("our statements in inline policy {PASS_ROLE_POLICY_NAME}"),
            document: PolicyDocument::new(vec![pass_role_statement(flow)]),
        });
    }
    for owner in flow.owners() {
        out.push(Labeled {
            account: owner.account_id.clone(),
            resource: owner.role_arn(),
            label: "trust policy".to_owned(),
            document: owner_trust_policy(flow),
        });
        for bucket in &owner.buckets {
            out.push(Labeled {
                account: owner.account_id.clone(),
                resource: bucket.name.arn(),
                label: "our statements in bucket policy".to_owned(),
                document: PolicyDocument::new(bucket_statements(owner, bucket)),
            });
        }
        // A key may serve several buckets: one statement per key, with the widest access.
        for (key, access) in crate::chain::key_accesses(owner) {
            out.push(Labeled {
                account: owner.account_id.clone(),
                resource: key.as_str().to_owned(),
                label: "our statements in key policy".to_owned(),
                document: PolicyDocument::new(vec![kms_key_user_statement(owner, key.as_str(), access)]),
            });
        }
    }
    out
}

/// `Xacct` followed by the letters and digits of each part. When a part loses
/// characters that way (role names may hold `+=,.@_-`), a hash of the parts is
/// appended, so that `My-Role` and `MyRole` still get different Sids.
pub(crate) fn sid(parts: &[&str]) -> String {
    let mut out = SID_PREFIX.to_owned();
    let mut lossy = false;
    for part in parts {
        out.extend(part.chars().filter(char::is_ascii_alphanumeric));
        lossy |= !part.chars().all(|c| c.is_ascii_alphanumeric());
    }
    if lossy {
        // FNV-1a: small, and stable across Rust versions, unlike `DefaultHasher`.
        let mut hash: u32 = 0x811c_9dc5;
        for byte in parts.join("/").bytes() {
            hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
        }
        out.push_str(&format!("{hash:08x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use expect_test::{expect, Expect};

    use super::*;
    use crate::arn::{BucketName, RoleName};
    use crate::flow::fixtures;
    use crate::validate::{validate, DocKind};

    #[track_caller]
    fn check(flow: &Flow, expect: Expect) {
        let mut text = String::new();
        for doc in all_documents(flow) {
            text.push_str(&format!(
                "# {} {} ({})\n{}\n",
                doc.account,
                doc.resource,
                doc.label,
                doc.document.to_json_pretty()
            ));
        }
        expect.assert_eq(&text);
    }

    fn bucket(name: &str, access: Access, kms_key_arn: Option<&str>) -> Bucket {
        Bucket {
            name: BucketName::new(name).unwrap(),
            access,
            kms_key_arn: kms_key_arn.map(|k| crate::arn::KmsKeyArn::new(k).unwrap()),
            mount: false,
        }
    }

    /// Two owners; the second has a read-only bucket and two buckets on one key.
    fn two_owners() -> Flow {
        let (region, mut deployment, mut owners) = fixtures::runbook().into_parts().unwrap();
        deployment.cross_account_role = None;
        deployment.instance_role = RoleName::new("xacct-instance.role").unwrap();
        let key = "arn:aws:kms:us-east-1:333333333333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        owners.push(Owner {
            account_id: AccountId::new("333333333333").unwrap(),
            role: RoleName::new("DataReader").unwrap(),
            buckets: vec![
                bucket("raw-data", Access::ReadOnly, Some(key)),
                bucket("curated-data", Access::ReadWrite, Some(key)),
                bucket("public-data", Access::ReadOnly, None),
            ],
        });
        Flow::new(region, deployment, owners).unwrap()
    }

    /// A flow with `n` owners, one bucket each.
    fn owners(n: usize) -> Flow {
        let (region, deployment, _) = fixtures::runbook().into_parts().unwrap();
        let owners = (0..n)
            .map(|i| Owner {
                account_id: AccountId::new(&format!("{:012}", 200_000_000_000u64 + i as u64)).unwrap(),
                role: RoleName::new("MyRoleB").unwrap(),
                buckets: vec![bucket(&format!("bucket-{i}"), Access::ReadWrite, None)],
            })
            .collect();
        Flow::new(region, deployment, owners).unwrap()
    }

    #[track_caller]
    fn check_layout(n: usize, expect: Expect) {
        use crate::validate::{size_without_whitespace, MANAGED_POLICY_LIMIT};
        let got = match assume_policies(&owners(n)) {
            Ok(AssumePolicies::Inline(doc)) => {
                format!("inline, {} characters", size_without_whitespace(&doc.to_json()))
            }
            Ok(AssumePolicies::Managed(docs)) => {
                let sizes: Vec<usize> = docs.iter().map(|(_, d)| size_without_whitespace(&d.to_json())).collect();
                assert!(sizes.iter().all(|s| *s <= MANAGED_POLICY_LIMIT), "{sizes:?}");
                let listed: usize =
                    docs.iter().map(|(_, d)| d.statement[0].resource.as_ref().map_or(0, |r| r.as_slice().len())).sum();
                assert_eq!(listed, n, "every owner's role is listed once");
                format!(
                    "managed {}: {sizes:?}",
                    docs.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>().join(", ")
                )
            }
            Err(e) => format!("error: {e}"),
        };
        expect.assert_eq(&got);
    }

    #[test]
    fn assume_policy_layout() {
        check_layout(1, expect!["inline, 175 characters"]);
        check_layout(240, expect!["inline, 9974 characters"]);
        check_layout(
            250,
            expect!["managed xacct-assume-bucket-owner-roles-1, xacct-assume-bucket-owner-roles-2: [6120, 4398]"],
        );
        check_layout(1_400, expect!["managed xacct-assume-bucket-owner-roles-1, xacct-assume-bucket-owner-roles-2, xacct-assume-bucket-owner-roles-3, xacct-assume-bucket-owner-roles-4, xacct-assume-bucket-owner-roles-5, xacct-assume-bucket-owner-roles-6, xacct-assume-bucket-owner-roles-7, xacct-assume-bucket-owner-roles-8, xacct-assume-bucket-owner-roles-9, xacct-assume-bucket-owner-roles-10: [6120, 6120, 6120, 6120, 6120, 6120, 6120, 6120, 6120, 3660]"]);
        check_layout(5_000, expect!["error: the instance role's sts:AssumeRole statement on 5000 owner roles is 205134 characters without whitespace: 194894 over IAM's limit of 10240 for a role's inline policies, and spread over managed policies of at most 6144 characters it needs 35, 25 more than the 10 managed policies IAM attaches to a role by default; ask AWS to raise the quota or split the owners over several instance roles"]);
    }

    #[test]
    fn runbook_documents() {
        check(
            &fixtures::runbook(),
            expect![[r##"
                # 111111111111 arn:aws:iam::111111111111:role/MyRoleA (trust policy)
                {
                  "Version": "2012-10-17",
                  "Statement": [
                    {
                      "Sid": "XacctEc2AssumeRole",
                      "Effect": "Allow",
                      "Principal": {
                        "Service": "ec2.amazonaws.com"
                      },
                      "Action": "sts:AssumeRole"
                    }
                  ]
                }
                # 111111111111 arn:aws:iam::111111111111:role/MyRoleA (inline policy xacct-assume-bucket-owner-roles)
                {
                  "Version": "2012-10-17",
                  "Statement": [
                    {
                      "Sid": "XacctAssumeBucketOwnerRoles",
                      "Effect": "Allow",
                      "Action": [
                        "sts:AssumeRole"
                      ],
                      "Resource": [
                        "arn:aws:iam::222222222222:role/MyRoleB"
                      ]
                    }
                  ]
                }
                # 111111111111 arn:aws:iam::111111111111:role/databricks-cross-account (our statements in inline policy xacct-pass-instance-role)
                {
                  "Version": "2012-10-17",
                  "Statement": [
                    {
                      "Sid": "XacctPassRoleMyRoleA",
                      "Effect": "Allow",
                      "Action": "iam:PassRole",
                      "Resource": [
                        "arn:aws:iam::111111111111:role/MyRoleA"
                      ]
                    }
                  ]
                }
                # 222222222222 arn:aws:iam::222222222222:role/MyRoleB (trust policy)
                {
                  "Version": "2012-10-17",
                  "Statement": [
                    {
                      "Sid": "XacctTrust111111111111MyRoleA",
                      "Effect": "Allow",
                      "Principal": {
                        "AWS": [
                          "arn:aws:iam::111111111111:role/MyRoleA"
                        ]
                      },
                      "Action": "sts:AssumeRole"
                    }
                  ]
                }
                # 222222222222 arn:aws:s3:::my-bucket (our statements in bucket policy)
                {
                  "Version": "2012-10-17",
                  "Statement": [
                    {
                      "Sid": "XacctBucketMyRoleB",
                      "Effect": "Allow",
                      "Principal": {
                        "AWS": [
                          "arn:aws:iam::222222222222:role/MyRoleB"
                        ]
                      },
                      "Action": [
                        "s3:GetBucketLocation",
                        "s3:ListBucket"
                      ],
                      "Resource": "arn:aws:s3:::my-bucket"
                    },
                    {
                      "Sid": "XacctObjectsMyRoleB",
                      "Effect": "Allow",
                      "Principal": {
                        "AWS": [
                          "arn:aws:iam::222222222222:role/MyRoleB"
                        ]
                      },
                      "Action": [
                        "s3:PutObject",
                        "s3:PutObjectAcl",
                        "s3:GetObject",
                        "s3:DeleteObject"
                      ],
                      "Resource": "arn:aws:s3:::my-bucket/*"
                    }
                  ]
                }
            "##]],
        );
    }

    #[test]
    fn two_owners_documents() {
        check(
            &two_owners(),
            expect![[r##"
            # 111111111111 arn:aws:iam::111111111111:role/xacct-instance.role (trust policy)
            {
              "Version": "2012-10-17",
              "Statement": [
                {
                  "Sid": "XacctEc2AssumeRole",
                  "Effect": "Allow",
                  "Principal": {
                    "Service": "ec2.amazonaws.com"
                  },
                  "Action": "sts:AssumeRole"
                }
              ]
            }
            # 111111111111 arn:aws:iam::111111111111:role/xacct-instance.role (inline policy xacct-assume-bucket-owner-roles)
            {
              "Version": "2012-10-17",
              "Statement": [
                {
                  "Sid": "XacctAssumeBucketOwnerRoles",
                  "Effect": "Allow",
                  "Action": [
                    "sts:AssumeRole"
                  ],
                  "Resource": [
                    "arn:aws:iam::222222222222:role/MyRoleB",
                    "arn:aws:iam::333333333333:role/DataReader"
                  ]
                }
              ]
            }
            # 222222222222 arn:aws:iam::222222222222:role/MyRoleB (trust policy)
            {
              "Version": "2012-10-17",
              "Statement": [
                {
                  "Sid": "XacctTrust111111111111xacctinstanceroleba11adc4",
                  "Effect": "Allow",
                  "Principal": {
                    "AWS": [
                      "arn:aws:iam::111111111111:role/xacct-instance.role"
                    ]
                  },
                  "Action": "sts:AssumeRole"
                }
              ]
            }
            # 222222222222 arn:aws:s3:::my-bucket (our statements in bucket policy)
            {
              "Version": "2012-10-17",
              "Statement": [
                {
                  "Sid": "XacctBucketMyRoleB",
                  "Effect": "Allow",
                  "Principal": {
                    "AWS": [
                      "arn:aws:iam::222222222222:role/MyRoleB"
                    ]
                  },
                  "Action": [
                    "s3:GetBucketLocation",
                    "s3:ListBucket"
                  ],
                  "Resource": "arn:aws:s3:::my-bucket"
                },
                {
                  "Sid": "XacctObjectsMyRoleB",
                  "Effect": "Allow",
                  "Principal": {
                    "AWS": [
                      "arn:aws:iam::222222222222:role/MyRoleB"
                    ]
                  },
                  "Action": [
                    "s3:PutObject",
                    "s3:PutObjectAcl",
                    "s3:GetObject",
                    "s3:DeleteObject"
                  ],
                  "Resource": "arn:aws:s3:::my-bucket/*"
                }
              ]
            }
            # 333333333333 arn:aws:iam::333333333333:role/DataReader (trust policy)
            {
              "Version": "2012-10-17",
              "Statement": [
                {
                  "Sid": "XacctTrust111111111111xacctinstanceroleba11adc4",
                  "Effect": "Allow",
                  "Principal": {
                    "AWS": [
                      "arn:aws:iam::111111111111:role/xacct-instance.role"
                    ]
                  },
                  "Action": "sts:AssumeRole"
                }
              ]
            }
            # 333333333333 arn:aws:s3:::raw-data (our statements in bucket policy)
            {
              "Version": "2012-10-17",
              "Statement": [
                {
                  "Sid": "XacctBucketDataReader",
                  "Effect": "Allow",
                  "Principal": {
                    "AWS": [
                      "arn:aws:iam::333333333333:role/DataReader"
                    ]
                  },
                  "Action": [
                    "s3:GetBucketLocation",
                    "s3:ListBucket"
                  ],
                  "Resource": "arn:aws:s3:::raw-data"
                },
                {
                  "Sid": "XacctObjectsDataReader",
                  "Effect": "Allow",
                  "Principal": {
                    "AWS": [
                      "arn:aws:iam::333333333333:role/DataReader"
                    ]
                  },
                  "Action": [
                    "s3:GetObject"
                  ],
                  "Resource": "arn:aws:s3:::raw-data/*"
                }
              ]
            }
            # 333333333333 arn:aws:s3:::curated-data (our statements in bucket policy)
            {
              "Version": "2012-10-17",
              "Statement": [
                {
                  "Sid": "XacctBucketDataReader",
                  "Effect": "Allow",
                  "Principal": {
                    "AWS": [
                      "arn:aws:iam::333333333333:role/DataReader"
                    ]
                  },
                  "Action": [
                    "s3:GetBucketLocation",
                    "s3:ListBucket"
                  ],
                  "Resource": "arn:aws:s3:::curated-data"
                },
                {
                  "Sid": "XacctObjectsDataReader",
                  "Effect": "Allow",
                  "Principal": {
                    "AWS": [
                      "arn:aws:iam::333333333333:role/DataReader"
                    ]
                  },
                  "Action": [
                    "s3:PutObject",
                    "s3:PutObjectAcl",
                    "s3:GetObject",
                    "s3:DeleteObject"
                  ],
                  "Resource": "arn:aws:s3:::curated-data/*"
                }
              ]
            }
            # 333333333333 arn:aws:s3:::public-data (our statements in bucket policy)
            {
              "Version": "2012-10-17",
              "Statement": [
                {
                  "Sid": "XacctBucketDataReader",
                  "Effect": "Allow",
                  "Principal": {
                    "AWS": [
                      "arn:aws:iam::333333333333:role/DataReader"
                    ]
                  },
                  "Action": [
                    "s3:GetBucketLocation",
                    "s3:ListBucket"
                  ],
                  "Resource": "arn:aws:s3:::public-data"
                },
                {
                  "Sid": "XacctObjectsDataReader",
                  "Effect": "Allow",
                  "Principal": {
                    "AWS": [
                      "arn:aws:iam::333333333333:role/DataReader"
                    ]
                  },
                  "Action": [
                    "s3:GetObject"
                  ],
                  "Resource": "arn:aws:s3:::public-data/*"
                }
              ]
            }
            # 333333333333 arn:aws:kms:us-east-1:333333333333:key/1234abcd-12ab-34cd-56ef-1234567890ab (our statements in key policy)
            {
              "Version": "2012-10-17",
              "Statement": [
                {
                  "Sid": "XacctKeyUserDataReader",
                  "Effect": "Allow",
                  "Principal": {
                    "AWS": [
                      "arn:aws:iam::333333333333:role/DataReader"
                    ]
                  },
                  "Action": [
                    "kms:Decrypt",
                    "kms:GenerateDataKey*",
                    "kms:Encrypt"
                  ],
                  "Resource": "*"
                }
              ]
            }
        "##]],
        );
    }

    #[test]
    fn read_only_key_user() {
        let flow = fixtures::runbook();
        let stmt =
            kms_key_user_statement(&flow.owners()[0], "arn:aws:kms:us-east-1:222222222222:key/k", Access::ReadOnly);
        expect![[r#"{"Sid":"XacctKeyUserMyRoleB","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::222222222222:role/MyRoleB"]},"Action":["kms:Decrypt"],"Resource":"*"}"#]].assert_eq(&serde_json::to_string(&stmt).unwrap());
    }

    /// The runbook's own documents, with its placeholders filled in. Ours must
    /// say exactly the same once the Sids (which the runbook leaves out or
    /// makes up) are set aside.
    #[test]
    fn same_meaning_as_the_runbook() {
        let fill = |s: &str| {
            s.replace("<deployment-acct-id>", "111111111111")
                .replace("<bucket-owner-acct-id>", "222222222222")
                .replace("<s3-bucket-name>", "my-bucket")
        };
        let doc = |s: &str| PolicyDocument::from_json(&fill(s)).unwrap();
        let unsid = |mut d: PolicyDocument| {
            d.statement.iter_mut().for_each(|s| s.sid = None);
            d
        };
        let flow = fixtures::runbook();

        let assume = r#"{ "Version": "2012-10-17", "Statement": [ { "Sid": "Stmt1487884001000", "Effect": "Allow", "Action": [ "sts:AssumeRole" ], "Resource": [ "arn:aws:iam::<bucket-owner-acct-id>:role/MyRoleB" ] } ] }"#;
        assert_eq!(unsid(assume_role_policy(&flow)), unsid(doc(assume)));

        let pass_role = r#"{ "Effect": "Allow", "Action": "iam:PassRole", "Resource": [ "arn:aws:iam::<deployment-acct-id>:role/MyRoleA" ] }"#;
        let mut ours = pass_role_statement(&flow);
        ours.sid = None;
        assert_eq!(ours, serde_json::from_str::<Statement>(&fill(pass_role)).unwrap());

        let trust = r#"{ "Version": "2012-10-17", "Statement": [ { "Effect": "Allow", "Principal": { "AWS": [ "arn:aws:iam::<deployment-acct-id>:role/MyRoleA" ] }, "Action": "sts:AssumeRole" } ] }"#;
        assert_eq!(unsid(owner_trust_policy(&flow)), doc(trust));

        let bucket_policy = r#"{ "Version": "2012-10-17", "Statement": [ { "Effect": "Allow", "Principal": { "AWS": [ "arn:aws:iam::<bucket-owner-acct-id>:role/MyRoleB" ] }, "Action": [ "s3:GetBucketLocation", "s3:ListBucket" ], "Resource": "arn:aws:s3:::<s3-bucket-name>" }, { "Effect": "Allow", "Principal": { "AWS": [ "arn:aws:iam::<bucket-owner-acct-id>:role/MyRoleB" ] }, "Action": [ "s3:PutObject", "s3:PutObjectAcl", "s3:GetObject", "s3:DeleteObject" ], "Resource": "arn:aws:s3:::<s3-bucket-name>/*" } ] }"#;
        let (owner, bucket) = flow.buckets().next().unwrap();
        assert_eq!(unsid(PolicyDocument::new(bucket_statements(owner, bucket))), doc(bucket_policy));
    }

    #[test]
    fn every_document_is_valid_and_ours() {
        for flow in [fixtures::runbook(), two_owners()] {
            for doc in all_documents(&flow) {
                let kind = match doc.label.as_str() {
                    "trust policy" => DocKind::Trust,
                    "our statements in bucket policy" => DocKind::Bucket,
                    "our statements in key policy" => DocKind::KmsKey,
                    _ => DocKind::Identity { managed: false },
                };
                assert_eq!(validate(&doc.document, kind), vec![], "{} {}", doc.resource, doc.label);
                assert!(doc.document.statement.iter().all(is_ours), "{} {}", doc.resource, doc.label);
            }
        }
    }

    #[test]
    fn sids() {
        assert_eq!(sid(&["PassRole", "MyRoleA"]), "XacctPassRoleMyRoleA");
        // Names that differ only in punctuation still get different Sids, and the hash is stable.
        let (a, b) = (sid(&["PassRole", "My-RoleA"]), sid(&["PassRole", "MyRole-A"]));
        assert_ne!(a, b);
        expect!["XacctPassRoleMyRoleA5e37cb81 XacctPassRoleMyRoleAd8d4793d"].assert_eq(&format!("{a} {b}"));
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert!(!is_ours(&Statement::allow("Stmt1")));
        assert!(!is_ours(&PolicyDocument::from_json(r#"{"Statement":{"Effect":"Allow"}}"#).unwrap().statement[0]));
        assert!(is_ours(&pass_role_statement(&fixtures::runbook())));
    }
}

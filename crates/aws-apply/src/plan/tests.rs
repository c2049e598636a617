use expect_test::{expect, Expect};
use policy_model::{Access, AccountId, Bucket, BucketName, Deployment, Owner, RoleName};

use super::*;
use crate::model::BucketState;
use policy_model::build::PASS_ROLE_POLICY_NAME;

const A: &str = "111111111111";
const B: &str = "222222222222";
const KEY: &str = "arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn flow() -> Flow {
    Flow::new(
        "us-east-1",
        Deployment {
            account_id: AccountId::new(A).unwrap(),
            instance_role: RoleName::new("MyRoleA").unwrap(),
            cross_account_role: Some(RoleName::new("databricks-cross-account").unwrap()),
        },
        vec![Owner {
            account_id: AccountId::new(B).unwrap(),
            role: RoleName::new("MyRoleB").unwrap(),
            buckets: vec![Bucket {
                name: BucketName::new("my-bucket").unwrap(),
                access: Access::ReadWrite,
                kms_key_arn: Some(policy_model::KmsKeyArn::new(KEY).unwrap()),
                mount: false,
            }],
        }],
    )
    .unwrap()
}

fn doc(json: &str) -> PolicyDocument {
    PolicyDocument::from_json(json).unwrap()
}

const FOREIGN_BUCKET: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyHttp","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::my-bucket/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#;
const FOREIGN_PASS_ROLE: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Ec2","Effect":"Allow","Action":"ec2:RunInstances","Resource":"*"}]}"#;
const DEFAULT_KEY: &str = r#"{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"kms:*","Resource":"*"}]}"#;

/// What a user's accounts hold before xacct: the cross-account role, the bucket (no policy) and the key.
fn fresh() -> Observed {
    let mut observed = Observed::default();
    observed.roles.insert(format!("arn:aws:iam::{A}:role/databricks-cross-account"), Role::default());
    observed.buckets.insert("my-bucket".to_owned(), BucketState { policy: None, ownership: None });
    observed.keys.insert(KEY.to_owned(), doc(DEFAULT_KEY));
    observed
}

/// The same, with foreign statements in the bucket policy and the PassRole policy.
fn shared() -> Observed {
    let mut observed = fresh();
    let cross = observed.roles.get_mut(&format!("arn:aws:iam::{A}:role/databricks-cross-account")).unwrap();
    cross.inline.insert(PASS_ROLE_POLICY_NAME.to_owned(), doc(FOREIGN_PASS_ROLE));
    observed.buckets.insert("my-bucket".to_owned(), BucketState { policy: Some(doc(FOREIGN_BUCKET)), ownership: None });
    observed
}

/// A stand-in for AWS over plain data: the state after the plan's calls.
fn simulate(observed: &Observed, plan: &Plan) -> Observed {
    let mut state = observed.clone();
    let mut created: BTreeMap<String, PolicyDocument> = BTreeMap::new();
    for change in &plan.changes {
        let account = change.account.as_str();
        let role_arn = |name: &str| format!("arn:aws:iam::{account}:role/{name}");
        let profile_arn = |name: &str| format!("arn:aws:iam::{account}:instance-profile/{name}");
        for op in &change.ops {
            match op {
                Op::CreateRole { name, trust, tags, boundary, .. } => {
                    let boundary = boundary.clone().map(|arn| crate::model::Boundary { arn, document: None });
                    let role = Role { tags: tags.clone(), trust: Some(doc(trust)), boundary, ..Role::default() };
                    assert!(state.roles.insert(role_arn(name), role).is_none(), "{name} exists");
                }
                Op::UpdateTrust { role, doc: d } => state.roles.get_mut(&role_arn(role)).unwrap().trust = Some(doc(d)),
                Op::PutRolePermissionsBoundary { role, arn } => {
                    let boundary = crate::model::Boundary { arn: arn.clone(), document: None };
                    state.roles.get_mut(&role_arn(role)).unwrap().boundary = Some(boundary);
                }
                Op::TagRole { role, tags } => state.roles.get_mut(&role_arn(role)).unwrap().tags.extend(tags.clone()),
                Op::UntagRole { role, keys } => {
                    state.roles.get_mut(&role_arn(role)).unwrap().tags.retain(|k, _| !keys.contains(k));
                }
                Op::PutRolePolicy { role, name, doc: d } => {
                    state.roles.get_mut(&role_arn(role)).unwrap().inline.insert(name.clone(), doc(d));
                }
                Op::DeleteRolePolicy { role, name } => {
                    state.roles.get_mut(&role_arn(role)).unwrap().inline.remove(name).unwrap();
                }
                Op::CreateInstanceProfile { name, .. } => {
                    let profile = InstanceProfile { tags: managed_tags(), ..InstanceProfile::default() };
                    assert!(state.instance_profiles.insert(profile_arn(name), profile).is_none());
                }
                Op::AddRoleToInstanceProfile { profile, role } => {
                    assert!(state.roles.contains_key(&role_arn(role)), "{role} must exist first");
                    state.instance_profiles.get_mut(&profile_arn(profile)).unwrap().roles.push(role.clone());
                }
                Op::RemoveRoleFromInstanceProfile { profile, role } => {
                    state.instance_profiles.get_mut(&profile_arn(profile)).unwrap().roles.retain(|r| r != role);
                }
                Op::DeleteInstanceProfile { name } => {
                    state.instance_profiles.remove(&profile_arn(name)).unwrap();
                }
                Op::DeleteRole { name } => {
                    state.roles.remove(&role_arn(name)).unwrap();
                    state.instance_profiles.values_mut().for_each(|p| p.roles.retain(|r| r != name));
                }
                Op::PutBucketPolicy { bucket, doc: d } => state.buckets.get_mut(bucket).unwrap().policy = Some(doc(d)),
                Op::DeleteBucketPolicy { bucket } => state.buckets.get_mut(bucket).unwrap().policy = None,
                Op::PutKeyPolicy { key, doc: d } => *state.keys.get_mut(key).unwrap() = doc(d),
                Op::CreatePolicy { arn, doc: d, .. } | Op::PutPolicyVersion { arn, doc: d } => {
                    created.insert(arn.clone(), doc(d));
                    for role in state.roles.values_mut() {
                        if let Some(attached) = role.attached.get_mut(arn) {
                            *attached = doc(d);
                        }
                    }
                }
                Op::AttachRolePolicy { role, arn } => {
                    let d = created.get(arn).cloned().expect("attached after it was created");
                    state.roles.get_mut(&role_arn(role)).unwrap().attached.insert(arn.clone(), d);
                }
                Op::DetachRolePolicy { role, arn } => {
                    state.roles.get_mut(&role_arn(role)).unwrap().attached.remove(arn);
                }
                Op::DeletePolicy { arn } => {
                    created.remove(arn);
                }
            }
        }
    }
    state
}

#[track_caller]
fn check(flow: &Flow, observed: &Observed, expect: Expect) {
    let text = match plan(flow, observed) {
        Ok(plan) => plan.to_string(),
        Err(err) => format!("error: {err}"),
    };
    expect.assert_eq(&text);
}

#[track_caller]
fn check_destroy(flow: &Flow, observed: &Observed, expect: Expect) {
    expect.assert_eq(&plan_destroy(flow, observed).to_string());
}

fn converged(observed: &Observed) -> Observed {
    simulate(observed, &plan(&flow(), observed).unwrap())
}

#[test]
fn fresh_accounts() {
    check(
        &flow(),
        &fresh(),
        expect![[r#"
        + 111111111111 iam role MyRoleA: create
            --- before
            +++ after
            @@ -0,0 +1,13 @@
            +{
            +  "Version": "2012-10-17",
            +  "Statement": [
            +    {
            +      "Sid": "XacctEc2AssumeRole",
            +      "Effect": "Allow",
            +      "Principal": {
            +        "Service": "ec2.amazonaws.com"
            +      },
            +      "Action": "sts:AssumeRole"
            +    }
            +  ]
            +}
        + 222222222222 iam role MyRoleB: create
            --- before
            +++ after
            @@ -0,0 +1,15 @@
            +{
            +  "Version": "2012-10-17",
            +  "Statement": [
            +    {
            +      "Sid": "XacctTrust111111111111MyRoleA",
            +      "Effect": "Allow",
            +      "Principal": {
            +        "AWS": [
            +          "arn:aws:iam::111111111111:role/MyRoleA"
            +        ]
            +      },
            +      "Action": "sts:AssumeRole"
            +    }
            +  ]
            +}
        + 111111111111 iam inline policy xacct-assume-bucket-owner-roles of role MyRoleA: create
            --- before
            +++ after
            @@ -0,0 +1,15 @@
            +{
            +  "Version": "2012-10-17",
            +  "Statement": [
            +    {
            +      "Sid": "XacctAssumeBucketOwnerRoles",
            +      "Effect": "Allow",
            +      "Action": [
            +        "sts:AssumeRole"
            +      ],
            +      "Resource": [
            +        "arn:aws:iam::222222222222:role/MyRoleB"
            +      ]
            +    }
            +  ]
            +}
        + 111111111111 iam instance profile MyRoleA: create
            --- before
            +++ after
            @@ -0,0 +1,9 @@
            +{
            +  "InstanceProfileName": "MyRoleA",
            +  "Roles": [
            +    "MyRoleA"
            +  ],
            +  "Tags": {
            +    "xacct:managed": "true"
            +  }
            +}
        + 111111111111 iam inline policy xacct-pass-instance-role of role databricks-cross-account: create
            --- before
            +++ after
            @@ -0,0 +1,13 @@
            +{
            +  "Version": "2012-10-17",
            +  "Statement": [
            +    {
            +      "Sid": "XacctPassRoleMyRoleA",
            +      "Effect": "Allow",
            +      "Action": "iam:PassRole",
            +      "Resource": [
            +        "arn:aws:iam::111111111111:role/MyRoleA"
            +      ]
            +    }
            +  ]
            +}
        + 222222222222 s3 bucket policy of my-bucket: create
            --- before
            +++ after
            @@ -0,0 +1,35 @@
            +{
            +  "Version": "2012-10-17",
            +  "Statement": [
            +    {
            +      "Sid": "XacctBucketMyRoleB",
            +      "Effect": "Allow",
            +      "Principal": {
            +        "AWS": [
            +          "arn:aws:iam::222222222222:role/MyRoleB"
            +        ]
            +      },
            +      "Action": [
            +        "s3:GetBucketLocation",
            +        "s3:ListBucket"
            +      ],
            +      "Resource": "arn:aws:s3:::my-bucket"
            +    },
            +    {
            +      "Sid": "XacctObjectsMyRoleB",
            +      "Effect": "Allow",
            +      "Principal": {
            +        "AWS": [
            +          "arn:aws:iam::222222222222:role/MyRoleB"
            +        ]
            +      },
            +      "Action": [
            +        "s3:PutObject",
            +        "s3:PutObjectAcl",
            +        "s3:GetObject",
            +        "s3:DeleteObject"
            +      ],
            +      "Resource": "arn:aws:s3:::my-bucket/*"
            +    }
            +  ]
            +}
        ~ 222222222222 kms key policy of arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab: update
            --- before
            +++ after
            @@ -10,6 +10,21 @@
                   },
                   "Action": "kms:*",
                   "Resource": "*"
            +    },
            +    {
            +      "Sid": "XacctKeyUserMyRoleB",
            +      "Effect": "Allow",
            +      "Principal": {
            +        "AWS": [
            +          "arn:aws:iam::222222222222:role/MyRoleB"
            +        ]
            +      },
            +      "Action": [
            +        "kms:Decrypt",
            +        "kms:GenerateDataKey*",
            +        "kms:Encrypt"
            +      ],
            +      "Resource": "*"
                 }
               ]
             }
    "#]],
    );
}

#[test]
fn converged_makes_no_change() {
    for start in [fresh(), shared()] {
        let done = converged(&start);
        let again = plan(&flow(), &done).unwrap();
        assert!(again.is_converged(), "{again}");
        assert_eq!(again.write_calls(), 0);
    }
    check(
        &flow(),
        &converged(&fresh()),
        expect![[r#"
        = 111111111111 iam role MyRoleA: no-op
        = 222222222222 iam role MyRoleB: no-op
        = 111111111111 iam inline policy xacct-assume-bucket-owner-roles of role MyRoleA: no-op
        = 111111111111 iam instance profile MyRoleA: no-op
        = 111111111111 iam inline policy xacct-pass-instance-role of role databricks-cross-account: no-op
        = 222222222222 s3 bucket policy of my-bucket: no-op
        = 222222222222 kms key policy of arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab: no-op
    "#]],
    );
}

#[test]
fn foreign_statements_are_kept() {
    check(
        &flow(),
        &shared(),
        expect![[r#"
        + 111111111111 iam role MyRoleA: create
            --- before
            +++ after
            @@ -0,0 +1,13 @@
            +{
            +  "Version": "2012-10-17",
            +  "Statement": [
            +    {
            +      "Sid": "XacctEc2AssumeRole",
            +      "Effect": "Allow",
            +      "Principal": {
            +        "Service": "ec2.amazonaws.com"
            +      },
            +      "Action": "sts:AssumeRole"
            +    }
            +  ]
            +}
        + 222222222222 iam role MyRoleB: create
            --- before
            +++ after
            @@ -0,0 +1,15 @@
            +{
            +  "Version": "2012-10-17",
            +  "Statement": [
            +    {
            +      "Sid": "XacctTrust111111111111MyRoleA",
            +      "Effect": "Allow",
            +      "Principal": {
            +        "AWS": [
            +          "arn:aws:iam::111111111111:role/MyRoleA"
            +        ]
            +      },
            +      "Action": "sts:AssumeRole"
            +    }
            +  ]
            +}
        + 111111111111 iam inline policy xacct-assume-bucket-owner-roles of role MyRoleA: create
            --- before
            +++ after
            @@ -0,0 +1,15 @@
            +{
            +  "Version": "2012-10-17",
            +  "Statement": [
            +    {
            +      "Sid": "XacctAssumeBucketOwnerRoles",
            +      "Effect": "Allow",
            +      "Action": [
            +        "sts:AssumeRole"
            +      ],
            +      "Resource": [
            +        "arn:aws:iam::222222222222:role/MyRoleB"
            +      ]
            +    }
            +  ]
            +}
        + 111111111111 iam instance profile MyRoleA: create
            --- before
            +++ after
            @@ -0,0 +1,9 @@
            +{
            +  "InstanceProfileName": "MyRoleA",
            +  "Roles": [
            +    "MyRoleA"
            +  ],
            +  "Tags": {
            +    "xacct:managed": "true"
            +  }
            +}
        ~ 111111111111 iam inline policy xacct-pass-instance-role of role databricks-cross-account: update
            --- before
            +++ after
            @@ -6,6 +6,14 @@
                   "Effect": "Allow",
                   "Action": "ec2:RunInstances",
                   "Resource": "*"
            +    },
            +    {
            +      "Sid": "XacctPassRoleMyRoleA",
            +      "Effect": "Allow",
            +      "Action": "iam:PassRole",
            +      "Resource": [
            +        "arn:aws:iam::111111111111:role/MyRoleA"
            +      ]
                 }
               ]
             }
        ~ 222222222222 s3 bucket policy of my-bucket: update
            --- before
            +++ after
            @@ -12,6 +12,36 @@
                       "aws:SecureTransport": "false"
                     }
                   }
            +    },
            +    {
            +      "Sid": "XacctBucketMyRoleB",
            +      "Effect": "Allow",
            +      "Principal": {
            +        "AWS": [
            +          "arn:aws:iam::222222222222:role/MyRoleB"
            +        ]
            +      },
            +      "Action": [
            +        "s3:GetBucketLocation",
            +        "s3:ListBucket"
            +      ],
            +      "Resource": "arn:aws:s3:::my-bucket"
            +    },
            +    {
            +      "Sid": "XacctObjectsMyRoleB",
            +      "Effect": "Allow",
            +      "Principal": {
            +        "AWS": [
            +          "arn:aws:iam::222222222222:role/MyRoleB"
            +        ]
            +      },
            +      "Action": [
            +        "s3:PutObject",
            +        "s3:PutObjectAcl",
            +        "s3:GetObject",
            +        "s3:DeleteObject"
            +      ],
            +      "Resource": "arn:aws:s3:::my-bucket/*"
                 }
               ]
             }
        ~ 222222222222 kms key policy of arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab: update
            --- before
            +++ after
            @@ -10,6 +10,21 @@
                   },
                   "Action": "kms:*",
                   "Resource": "*"
            +    },
            +    {
            +      "Sid": "XacctKeyUserMyRoleB",
            +      "Effect": "Allow",
            +      "Principal": {
            +        "AWS": [
            +          "arn:aws:iam::222222222222:role/MyRoleB"
            +        ]
            +      },
            +      "Action": [
            +        "kms:Decrypt",
            +        "kms:GenerateDataKey*",
            +        "kms:Encrypt"
            +      ],
            +      "Resource": "*"
                 }
               ]
             }
    "#]],
    );
}

#[test]
fn drift_is_repaired() {
    let mut state = converged(&shared());
    // Someone narrowed our bucket statement and widened B's trust to the whole of account A.
    let bucket = state.buckets.get_mut("my-bucket").unwrap().policy.as_mut().unwrap();
    let objects = bucket.statement.iter_mut().find(|s| s.sid.as_deref() == Some("XacctObjectsMyRoleB")).unwrap();
    objects.action = Some(OneOrMany::Many(vec!["s3:GetObject".to_owned()]));
    let role_b = state.roles.get_mut(&format!("arn:aws:iam::{B}:role/MyRoleB")).unwrap();
    role_b.trust = Some(doc(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"}]}"#,
    ));
    check(
        &flow(),
        &state,
        expect![[r#"
        = 111111111111 iam role MyRoleA: no-op
        ~ 222222222222 iam role MyRoleB: update
            --- before
            +++ after
            @@ -2,9 +2,12 @@
               "Version": "2012-10-17",
               "Statement": [
                 {
            +      "Sid": "XacctTrust111111111111MyRoleA",
                   "Effect": "Allow",
                   "Principal": {
            -        "AWS": "arn:aws:iam::111111111111:root"
            +        "AWS": [
            +          "arn:aws:iam::111111111111:role/MyRoleA"
            +        ]
                   },
                   "Action": "sts:AssumeRole"
                 }
        = 111111111111 iam inline policy xacct-assume-bucket-owner-roles of role MyRoleA: no-op
        = 111111111111 iam instance profile MyRoleA: no-op
        = 111111111111 iam inline policy xacct-pass-instance-role of role databricks-cross-account: no-op
        ~ 222222222222 s3 bucket policy of my-bucket: update
            --- before
            +++ after
            @@ -36,7 +36,10 @@
                     ]
                   },
                   "Action": [
            -        "s3:GetObject"
            +        "s3:PutObject",
            +        "s3:PutObjectAcl",
            +        "s3:GetObject",
            +        "s3:DeleteObject"
                   ],
                   "Resource": "arn:aws:s3:::my-bucket/*"
                 }
        = 222222222222 kms key policy of arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab: no-op
    "#]],
    );
    let repaired = simulate(&state, &plan(&flow(), &state).unwrap());
    assert_eq!(repaired, converged(&shared()));
}

#[test]
fn partial_state_is_completed() {
    // A crash after the instance role and an empty instance profile were created.
    let start = shared();
    let full = plan(&flow(), &start).unwrap();
    let mut partial_plan = full.clone();
    partial_plan.changes.retain(|c| c.resource == "role MyRoleA" || c.resource == "instance profile MyRoleA");
    for change in &mut partial_plan.changes {
        change.ops.retain(|op| !matches!(op, Op::AddRoleToInstanceProfile { .. }));
    }
    let partial = simulate(&start, &partial_plan);
    check(
        &flow(),
        &partial,
        expect![[r#"
        = 111111111111 iam role MyRoleA: no-op
        + 222222222222 iam role MyRoleB: create
            --- before
            +++ after
            @@ -0,0 +1,15 @@
            +{
            +  "Version": "2012-10-17",
            +  "Statement": [
            +    {
            +      "Sid": "XacctTrust111111111111MyRoleA",
            +      "Effect": "Allow",
            +      "Principal": {
            +        "AWS": [
            +          "arn:aws:iam::111111111111:role/MyRoleA"
            +        ]
            +      },
            +      "Action": "sts:AssumeRole"
            +    }
            +  ]
            +}
        + 111111111111 iam inline policy xacct-assume-bucket-owner-roles of role MyRoleA: create
            --- before
            +++ after
            @@ -0,0 +1,15 @@
            +{
            +  "Version": "2012-10-17",
            +  "Statement": [
            +    {
            +      "Sid": "XacctAssumeBucketOwnerRoles",
            +      "Effect": "Allow",
            +      "Action": [
            +        "sts:AssumeRole"
            +      ],
            +      "Resource": [
            +        "arn:aws:iam::222222222222:role/MyRoleB"
            +      ]
            +    }
            +  ]
            +}
        ~ 111111111111 iam instance profile MyRoleA: update
            --- before
            +++ after
            @@ -1,6 +1,8 @@
             {
               "InstanceProfileName": "MyRoleA",
            -  "Roles": [],
            +  "Roles": [
            +    "MyRoleA"
            +  ],
               "Tags": {
                 "xacct:managed": "true"
               }
        ~ 111111111111 iam inline policy xacct-pass-instance-role of role databricks-cross-account: update
            --- before
            +++ after
            @@ -6,6 +6,14 @@
                   "Effect": "Allow",
                   "Action": "ec2:RunInstances",
                   "Resource": "*"
            +    },
            +    {
            +      "Sid": "XacctPassRoleMyRoleA",
            +      "Effect": "Allow",
            +      "Action": "iam:PassRole",
            +      "Resource": [
            +        "arn:aws:iam::111111111111:role/MyRoleA"
            +      ]
                 }
               ]
             }
        ~ 222222222222 s3 bucket policy of my-bucket: update
            --- before
            +++ after
            @@ -12,6 +12,36 @@
                       "aws:SecureTransport": "false"
                     }
                   }
            +    },
            +    {
            +      "Sid": "XacctBucketMyRoleB",
            +      "Effect": "Allow",
            +      "Principal": {
            +        "AWS": [
            +          "arn:aws:iam::222222222222:role/MyRoleB"
            +        ]
            +      },
            +      "Action": [
            +        "s3:GetBucketLocation",
            +        "s3:ListBucket"
            +      ],
            +      "Resource": "arn:aws:s3:::my-bucket"
            +    },
            +    {
            +      "Sid": "XacctObjectsMyRoleB",
            +      "Effect": "Allow",
            +      "Principal": {
            +        "AWS": [
            +          "arn:aws:iam::222222222222:role/MyRoleB"
            +        ]
            +      },
            +      "Action": [
            +        "s3:PutObject",
            +        "s3:PutObjectAcl",
            +        "s3:GetObject",
            +        "s3:DeleteObject"
            +      ],
            +      "Resource": "arn:aws:s3:::my-bucket/*"
                 }
               ]
             }
        ~ 222222222222 kms key policy of arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab: update
            --- before
            +++ after
            @@ -10,6 +10,21 @@
                   },
                   "Action": "kms:*",
                   "Resource": "*"
            +    },
            +    {
            +      "Sid": "XacctKeyUserMyRoleB",
            +      "Effect": "Allow",
            +      "Principal": {
            +        "AWS": [
            +          "arn:aws:iam::222222222222:role/MyRoleB"
            +        ]
            +      },
            +      "Action": [
            +        "kms:Decrypt",
            +        "kms:GenerateDataKey*",
            +        "kms:Encrypt"
            +      ],
            +      "Resource": "*"
                 }
               ]
             }
    "#]],
    );
    let done = simulate(&partial, &plan(&flow(), &partial).unwrap());
    assert_eq!(done, converged(&start));
}

#[test]
fn role_someone_else_created_is_merged_not_replaced() {
    let mut state = fresh();
    let foreign_trust = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Ci","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:role/ci"},"Action":"sts:AssumeRole"}]}"#;
    let role = Role { trust: Some(doc(foreign_trust)), ..Role::default() };
    state.roles.insert(format!("arn:aws:iam::{B}:role/MyRoleB"), role);
    let done = converged(&state);
    let trust = done.roles[&format!("arn:aws:iam::{B}:role/MyRoleB")].trust.clone().unwrap();
    expect![[r#"{"Version":"2012-10-17","Statement":[{"Sid":"Ci","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:role/ci"},"Action":"sts:AssumeRole"},{"Sid":"XacctTrust111111111111MyRoleA","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111111111111:role/MyRoleA"]},"Action":"sts:AssumeRole"}]}"#]].assert_eq(&trust.to_json());
    // Destroy leaves the role and its foreign statement.
    let destroyed = simulate(&done, &plan_destroy(&flow(), &done));
    assert_eq!(destroyed, state);
}

#[test]
fn missing_things() {
    let flow = flow();
    check(&flow, &Observed::default(), expect!["error: cross-account role `arn:aws:iam::111111111111:role/databricks-cross-account` does not exist: xacct never creates it; fix `cross_account_role` or create the role; bucket `my-bucket` does not exist in account `222222222222`: xacct does not create buckets; create it or fix the name; kms key `arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab` does not exist or is not readable in account `222222222222`"]);
}

#[test]
fn size_overflow_is_a_plan_error() {
    let mut state = fresh();
    let resources: Vec<String> = (0..800).map(|i| format!("\"arn:aws:s3:::my-bucket/prefix-{i}/*\"")).collect();
    let big = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Big","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::222222222222:root"}},"Action":"s3:GetObject","Resource":[{}]}}]}}"#,
        resources.join(",")
    );
    state.buckets.get_mut("my-bucket").unwrap().policy = Some(doc(&big));
    check(&flow(), &state, expect!["error: bucket policy of my-bucket would be 30869 bytes, over the limit of 20480"]);
}

#[test]
fn read_only_bucket_on_a_shared_key() {
    let (region, deployment, mut owners) = flow().into_parts().unwrap();
    owners[0].buckets.push(Bucket {
        name: BucketName::new("raw-data").unwrap(),
        access: Access::ReadOnly,
        kms_key_arn: Some(policy_model::KmsKeyArn::new(KEY).unwrap()),
        mount: false,
    });
    let flow = Flow::new(region, deployment, owners).unwrap();
    let mut state = fresh();
    state.buckets.insert("raw-data".to_owned(), BucketState { policy: None, ownership: None });
    let plan = plan(&flow, &state).unwrap();
    expect![[r#"
        + 111111111111 iam role MyRoleA: create
            --- before
            +++ after
            @@ -0,0 +1,13 @@
            +{
            +  "Version": "2012-10-17",
            +  "Statement": [
            +    {
            +      "Sid": "XacctEc2AssumeRole",
            +      "Effect": "Allow",
            +      "Principal": {
            +        "Service": "ec2.amazonaws.com"
            +      },
            +      "Action": "sts:AssumeRole"
            +    }
            +  ]
            +}
        + 222222222222 iam role MyRoleB: create
            --- before
            +++ after
            @@ -0,0 +1,15 @@
            +{
            +  "Version": "2012-10-17",
            +  "Statement": [
            +    {
            +      "Sid": "XacctTrust111111111111MyRoleA",
            +      "Effect": "Allow",
            +      "Principal": {
            +        "AWS": [
            +          "arn:aws:iam::111111111111:role/MyRoleA"
            +        ]
            +      },
            +      "Action": "sts:AssumeRole"
            +    }
            +  ]
            +}
        + 111111111111 iam inline policy xacct-assume-bucket-owner-roles of role MyRoleA: create
            --- before
            +++ after
            @@ -0,0 +1,15 @@
            +{
            +  "Version": "2012-10-17",
            +  "Statement": [
            +    {
            +      "Sid": "XacctAssumeBucketOwnerRoles",
            +      "Effect": "Allow",
            +      "Action": [
            +        "sts:AssumeRole"
            +      ],
            +      "Resource": [
            +        "arn:aws:iam::222222222222:role/MyRoleB"
            +      ]
            +    }
            +  ]
            +}
        + 111111111111 iam instance profile MyRoleA: create
            --- before
            +++ after
            @@ -0,0 +1,9 @@
            +{
            +  "InstanceProfileName": "MyRoleA",
            +  "Roles": [
            +    "MyRoleA"
            +  ],
            +  "Tags": {
            +    "xacct:managed": "true"
            +  }
            +}
        + 111111111111 iam inline policy xacct-pass-instance-role of role databricks-cross-account: create
            --- before
            +++ after
            @@ -0,0 +1,13 @@
            +{
            +  "Version": "2012-10-17",
            +  "Statement": [
            +    {
            +      "Sid": "XacctPassRoleMyRoleA",
            +      "Effect": "Allow",
            +      "Action": "iam:PassRole",
            +      "Resource": [
            +        "arn:aws:iam::111111111111:role/MyRoleA"
            +      ]
            +    }
            +  ]
            +}
        + 222222222222 s3 bucket policy of my-bucket: create
            --- before
            +++ after
            @@ -0,0 +1,35 @@
            +{
            +  "Version": "2012-10-17",
            +  "Statement": [
            +    {
            +      "Sid": "XacctBucketMyRoleB",
            +      "Effect": "Allow",
            +      "Principal": {
            +        "AWS": [
            +          "arn:aws:iam::222222222222:role/MyRoleB"
            +        ]
            +      },
            +      "Action": [
            +        "s3:GetBucketLocation",
            +        "s3:ListBucket"
            +      ],
            +      "Resource": "arn:aws:s3:::my-bucket"
            +    },
            +    {
            +      "Sid": "XacctObjectsMyRoleB",
            +      "Effect": "Allow",
            +      "Principal": {
            +        "AWS": [
            +          "arn:aws:iam::222222222222:role/MyRoleB"
            +        ]
            +      },
            +      "Action": [
            +        "s3:PutObject",
            +        "s3:PutObjectAcl",
            +        "s3:GetObject",
            +        "s3:DeleteObject"
            +      ],
            +      "Resource": "arn:aws:s3:::my-bucket/*"
            +    }
            +  ]
            +}
        + 222222222222 s3 bucket policy of raw-data: create
            --- before
            +++ after
            @@ -0,0 +1,32 @@
            +{
            +  "Version": "2012-10-17",
            +  "Statement": [
            +    {
            +      "Sid": "XacctBucketMyRoleB",
            +      "Effect": "Allow",
            +      "Principal": {
            +        "AWS": [
            +          "arn:aws:iam::222222222222:role/MyRoleB"
            +        ]
            +      },
            +      "Action": [
            +        "s3:GetBucketLocation",
            +        "s3:ListBucket"
            +      ],
            +      "Resource": "arn:aws:s3:::raw-data"
            +    },
            +    {
            +      "Sid": "XacctObjectsMyRoleB",
            +      "Effect": "Allow",
            +      "Principal": {
            +        "AWS": [
            +          "arn:aws:iam::222222222222:role/MyRoleB"
            +        ]
            +      },
            +      "Action": [
            +        "s3:GetObject"
            +      ],
            +      "Resource": "arn:aws:s3:::raw-data/*"
            +    }
            +  ]
            +}
        ~ 222222222222 kms key policy of arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab: update
            --- before
            +++ after
            @@ -10,6 +10,21 @@
                   },
                   "Action": "kms:*",
                   "Resource": "*"
            +    },
            +    {
            +      "Sid": "XacctKeyUserMyRoleB",
            +      "Effect": "Allow",
            +      "Principal": {
            +        "AWS": [
            +          "arn:aws:iam::222222222222:role/MyRoleB"
            +        ]
            +      },
            +      "Action": [
            +        "kms:Decrypt",
            +        "kms:GenerateDataKey*",
            +        "kms:Encrypt"
            +      ],
            +      "Resource": "*"
                 }
               ]
             }
    "#]].assert_eq(&plan.to_string());
}

#[test]
fn destroy_leaves_the_foreign_parts() {
    let start = shared();
    let done = converged(&start);
    check_destroy(
        &flow(),
        &done,
        expect![[r#"
        ~ 222222222222 s3 bucket policy of my-bucket: update
            --- before
            +++ after
            @@ -12,36 +12,6 @@
                       "aws:SecureTransport": "false"
                     }
                   }
            -    },
            -    {
            -      "Sid": "XacctBucketMyRoleB",
            -      "Effect": "Allow",
            -      "Principal": {
            -        "AWS": [
            -          "arn:aws:iam::222222222222:role/MyRoleB"
            -        ]
            -      },
            -      "Action": [
            -        "s3:GetBucketLocation",
            -        "s3:ListBucket"
            -      ],
            -      "Resource": "arn:aws:s3:::my-bucket"
            -    },
            -    {
            -      "Sid": "XacctObjectsMyRoleB",
            -      "Effect": "Allow",
            -      "Principal": {
            -        "AWS": [
            -          "arn:aws:iam::222222222222:role/MyRoleB"
            -        ]
            -      },
            -      "Action": [
            -        "s3:PutObject",
            -        "s3:PutObjectAcl",
            -        "s3:GetObject",
            -        "s3:DeleteObject"
            -      ],
            -      "Resource": "arn:aws:s3:::my-bucket/*"
                 }
               ]
             }
        ~ 222222222222 kms key policy of arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab: update
            --- before
            +++ after
            @@ -10,21 +10,6 @@
                   },
                   "Action": "kms:*",
                   "Resource": "*"
            -    },
            -    {
            -      "Sid": "XacctKeyUserMyRoleB",
            -      "Effect": "Allow",
            -      "Principal": {
            -        "AWS": [
            -          "arn:aws:iam::222222222222:role/MyRoleB"
            -        ]
            -      },
            -      "Action": [
            -        "kms:Decrypt",
            -        "kms:GenerateDataKey*",
            -        "kms:Encrypt"
            -      ],
            -      "Resource": "*"
                 }
               ]
             }
        - 222222222222 iam role MyRoleB: delete
            --- before
            +++ after
            @@ -1,15 +0,0 @@
            -{
            -  "Version": "2012-10-17",
            -  "Statement": [
            -    {
            -      "Sid": "XacctTrust111111111111MyRoleA",
            -      "Effect": "Allow",
            -      "Principal": {
            -        "AWS": [
            -          "arn:aws:iam::111111111111:role/MyRoleA"
            -        ]
            -      },
            -      "Action": "sts:AssumeRole"
            -    }
            -  ]
            -}
        ~ 111111111111 iam inline policy xacct-pass-instance-role of role databricks-cross-account: update
            --- before
            +++ after
            @@ -6,14 +6,6 @@
                   "Effect": "Allow",
                   "Action": "ec2:RunInstances",
                   "Resource": "*"
            -    },
            -    {
            -      "Sid": "XacctPassRoleMyRoleA",
            -      "Effect": "Allow",
            -      "Action": "iam:PassRole",
            -      "Resource": [
            -        "arn:aws:iam::111111111111:role/MyRoleA"
            -      ]
                 }
               ]
             }
        - 111111111111 iam instance profile MyRoleA: delete
            --- before
            +++ after
            @@ -1,9 +0,0 @@
            -{
            -  "InstanceProfileName": "MyRoleA",
            -  "Roles": [
            -    "MyRoleA"
            -  ],
            -  "Tags": {
            -    "xacct:managed": "true"
            -  }
            -}
        - 111111111111 iam role MyRoleA: delete
            --- before
            +++ after
            @@ -1,13 +0,0 @@
            -{
            -  "Version": "2012-10-17",
            -  "Statement": [
            -    {
            -      "Sid": "XacctEc2AssumeRole",
            -      "Effect": "Allow",
            -      "Principal": {
            -        "Service": "ec2.amazonaws.com"
            -      },
            -      "Action": "sts:AssumeRole"
            -    }
            -  ]
            -}
    "#]],
    );
    let destroyed = simulate(&done, &plan_destroy(&flow(), &done));
    assert_eq!(destroyed, start);
    // Destroying again does nothing.
    assert!(plan_destroy(&flow(), &destroyed).is_converged());
}

#[test]
fn destroy_deletes_a_bucket_policy_with_nothing_foreign() {
    let done = converged(&fresh());
    let destroyed = simulate(&done, &plan_destroy(&flow(), &done));
    assert_eq!(destroyed, fresh());
}

#[test]
fn dependencies_name_existing_changes() {
    let plan = plan(&flow(), &fresh()).unwrap();
    let keys: Vec<&str> = plan.changes.iter().map(|c| c.key.as_str()).collect();
    let deps: Vec<String> =
        plan.changes.iter().map(|c| format!("{} <- {}", c.resource, c.after_keys.join(", "))).collect();
    for change in &plan.changes {
        for dep in &change.after_keys {
            assert!(keys.contains(&dep.as_str()), "{dep}");
        }
    }
    expect![[r#"
        role MyRoleA <- 
        role MyRoleB <- 111111111111 iam role MyRoleA
        inline policy xacct-assume-bucket-owner-roles of role MyRoleA <- 111111111111 iam role MyRoleA, 222222222222 iam role MyRoleB
        instance profile MyRoleA <- 111111111111 iam role MyRoleA
        inline policy xacct-pass-instance-role of role databricks-cross-account <- 111111111111 iam role MyRoleA
        bucket policy of my-bucket <- 222222222222 iam role MyRoleB
        key policy of arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab <- 222222222222 iam role MyRoleB"#]].assert_eq(&deps.join("\n"));
}

#[test]
fn serializes_as_plain_data() {
    let plan = plan(&flow(), &converged(&fresh())).unwrap();
    let json = serde_json::to_value(&plan).unwrap();
    expect![[r#"{"account":"111111111111","service":"iam","resource":"role MyRoleA","action":"no-op","before":"{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Sid\": \"XacctEc2AssumeRole\",\n      \"Effect\": \"Allow\",\n      \"Principal\": {\n        \"Service\": \"ec2.amazonaws.com\"\n      },\n      \"Action\": \"sts:AssumeRole\"\n    }\n  ]\n}","after":"{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Sid\": \"XacctEc2AssumeRole\",\n      \"Effect\": \"Allow\",\n      \"Principal\": {\n        \"Service\": \"ec2.amazonaws.com\"\n      },\n      \"Action\": \"sts:AssumeRole\"\n    }\n  ]\n}","diff":null}"#]].assert_eq(&serde_json::to_string(&json["changes"][0]).unwrap());
}

/// `n` owners with one bucket each, every bucket observed without a policy.
pub(super) fn owners(n: usize) -> (Flow, Observed) {
    let (region, deployment, _) = flow().into_parts().unwrap();
    let owners: Vec<Owner> = (0..n)
        .map(|i| Owner {
            account_id: AccountId::new(&format!("{:012}", 300_000_000_000u64 + i as u64)).unwrap(),
            role: RoleName::new("MyRoleB").unwrap(),
            buckets: vec![Bucket {
                name: BucketName::new(&format!("bucket-{i}")).unwrap(),
                access: Access::ReadWrite,
                kms_key_arn: None,
                mount: false,
            }],
        })
        .collect();
    let mut observed = fresh();
    for i in 0..n {
        observed.buckets.insert(format!("bucket-{i}"), BucketState { policy: None, ownership: None });
    }
    (Flow::new(region, deployment, owners).unwrap(), observed)
}

#[test]
fn assume_policy_over_the_inline_limit_goes_to_managed_policies_or_stops_the_plan() {
    let plan_text = |n| match plan(&owners(n).0, &owners(n).1) {
        Ok(plan) => format!("ok: {} changes", plan.changes.len()),
        Err(err) => format!("error: {err}"),
    };
    expect!["ok: 484 changes"].assert_eq(&plan_text(240));
    expect!["ok: 606 changes"].assert_eq(&plan_text(300));
    expect!["error: the instance role's sts:AssumeRole statement on 5000 owner roles is 205134 characters without whitespace: 194894 over IAM's limit of 10240 for a role's inline policies, and spread over managed policies of at most 6144 characters it needs 35, 25 more than the 10 managed policies IAM attaches to a role by default; ask AWS to raise the quota or split the owners over several instance roles"].assert_eq(&plan_text(5_000));
}

#[test]
fn validator_errors_stop_the_plan_and_warnings_go_with_it() {
    let mut state = fresh();
    let invalid = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Odd","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::12:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::my-bucket/*"}]}"#;
    state.buckets.get_mut("my-bucket").unwrap().policy = Some(doc(invalid));
    check(&flow(), &state, expect!["error: bucket policy of my-bucket: error at $.Statement[0].Principal.AWS: principal `arn:aws:iam::12:root` is malformed: the account part must be 12 digits"]);
    let open = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Public","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::my-bucket/*"}]}"#;
    state.buckets.get_mut("my-bucket").unwrap().policy = Some(doc(open));
    let plan = plan(&flow(), &state).unwrap();
    expect!["bucket policy of my-bucket: warning at $.Statement[0].Principal: a wildcard principal allows anyone, in any account, unless a condition narrows it"].assert_eq(&plan.warnings.join("\n"));
}

/// A Unity Catalog owner's role: created with the pending external ID, rewritten once the
/// credential's ID is known, then converged; destroy deletes the role xacct made, and in a role
/// someone else made it takes out only its Sids and its inline policy.
#[test]
fn unity_catalog_role_from_pending_to_real_external_id() {
    use policy_model::unity::{UnityBucket, UnityOwner, PENDING_EXTERNAL_ID};
    use policy_model::{FlowParts, OwnerEntry};
    const C: &str = "333333333333";
    let owner = UnityOwner {
        account_id: AccountId::new(C).unwrap(),
        role: RoleName::new("uc-role").unwrap(),
        storage_credential: "uc_role".to_owned(),
        buckets: vec![UnityBucket {
            name: BucketName::new("lake").unwrap(),
            access: Access::ReadOnly,
            kms_key_arn: None,
            external_location: "lake".to_owned(),
            prefix: String::new(),
            grants: Vec::new(),
        }],
    };
    let flow = Flow::build(FlowParts {
        region: "us-east-1".to_owned(),
        deployment: None,
        owners: vec![OwnerEntry::UnityCatalog(owner)],
        uc_master_role_arn: None,
    })
    .unwrap();
    let arn = format!("arn:aws:iam::{C}:role/uc-role");
    let mut observed = Observed::default();
    observed.buckets.insert("lake".to_owned(), BucketState { policy: Some(doc(FOREIGN_BUCKET)), ownership: None });

    let first = plan_with(&flow, &observed, &RoleSettings::default(), &BTreeMap::new()).unwrap();
    let actions: Vec<String> = first.changes.iter().map(|c| format!("{} {:?}", c.resource, c.action)).collect();
    assert_eq!(actions, ["role uc-role Create", "inline policy xacct-unity-catalog-access of role uc-role Create"]);
    let after = simulate(&observed, &first);
    let trust = after.roles[&arn].trust.as_ref().unwrap();
    assert_eq!(policy_model::unity::trust_external_id(trust).as_deref(), Some(PENDING_EXTERNAL_ID));
    // Account A is not touched, and neither is the bucket policy.
    assert!(first.changes.iter().all(|c| c.account.as_str() == C));
    assert_eq!(after.buckets["lake"].policy, Some(doc(FOREIGN_BUCKET)));

    let known = BTreeMap::from([(
        AccountId::new(C).unwrap(),
        UnityTrust { external_id: "ext-1".to_owned(), master_role_arn: None },
    )]);
    let second = plan_with(&flow, &after, &RoleSettings::default(), &known).unwrap();
    let writes: Vec<&str> =
        second.changes.iter().filter(|c| c.action != Action::NoOp).map(|c| c.resource.as_str()).collect();
    assert_eq!(writes, ["role uc-role"], "only the trust changes");
    let after = simulate(&after, &second);
    let trust = after.roles[&arn].trust.as_ref().unwrap();
    assert_eq!(policy_model::unity::trust_external_id(trust).as_deref(), Some("ext-1"));
    assert!(plan_with(&flow, &after, &RoleSettings::default(), &known).unwrap().is_converged());

    let destroy = plan_destroy(&flow, &after);
    assert_eq!(simulate(&after, &destroy).roles.get(&arn), None, "the role xacct made is deleted");
    // A role someone else made keeps its own trust statement and loses only ours.
    let mut foreign = after.clone();
    let role = foreign.roles.get_mut(&arn).unwrap();
    role.tags.clear();
    let mut own = role.trust.clone().unwrap();
    own.statement.push(
        Statement::allow("Theirs")
            .with_principal(Principal::aws(vec![format!("arn:aws:iam::{C}:root")]))
            .with_action("sts:AssumeRole"),
    );
    role.trust = Some(own);
    let left = simulate(&foreign, &plan_destroy(&flow, &foreign));
    let role = &left.roles[&arn];
    let sids: Vec<Option<&str>> = role.trust.as_ref().unwrap().statement.iter().map(|s| s.sid.as_deref()).collect();
    assert_eq!(sids, [Some("Theirs")]);
    assert!(role.inline.is_empty());
}

mod roles;
mod sizes;

//! What the chain evaluation reads: the documents and facts of every resource in the chain,
//! however they were obtained (built offline, or read from AWS and Databricks).

use std::collections::BTreeMap;

use policy_model::build::{self, ASSUME_POLICY_NAME, PASS_ROLE_POLICY_NAME};
use policy_model::merge::{self, MergeError};
use policy_model::{Flow, PolicyDocument};

/// One identity policy of a role.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedPolicy {
    /// `inline policy <name>` or `managed policy <arn>`.
    pub name: String,
    pub document: PolicyDocument,
}

impl NamedPolicy {
    pub fn inline(name: &str, document: PolicyDocument) -> NamedPolicy {
        NamedPolicy { name: format!("inline policy {name}"), document }
    }
    pub fn managed(arn: &str, document: PolicyDocument) -> NamedPolicy {
        NamedPolicy { name: format!("managed policy {arn}"), document }
    }
}

/// A role that exists.
#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    pub trust: PolicyDocument,
    /// Inline and attached managed policies.
    pub policies: Vec<NamedPolicy>,
}

/// An instance profile that exists.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceProfile {
    /// The ARNs of the roles it holds (at most one, as AWS allows).
    pub roles: Vec<String>,
}

/// A bucket that exists.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Bucket {
    pub policy: Option<PolicyDocument>,
    /// The Object Ownership rule (`BucketOwnerEnforced`, `BucketOwnerPreferred`, `ObjectWriter`),
    /// when known.
    pub ownership: Option<String>,
}

/// What Databricks holds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Databricks {
    /// The registered instance profile ARNs.
    pub instance_profiles: Vec<String>,
    /// The configured cluster, when the config names one and it exists.
    pub cluster: Option<Cluster>,
    /// The cluster id the config names, when no such cluster exists.
    pub missing_cluster: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Cluster {
    pub cluster_id: String,
    /// `aws_attributes.instance_profile_arn`.
    pub instance_profile_arn: Option<String>,
    pub spark_conf: BTreeMap<String, String>,
    /// `RUNNING`, `TERMINATED`, … when read live.
    pub state: Option<String>,
}

/// Every document and fact the chain evaluation reads. A resource missing from its map does
/// not exist; one listed in `unreadable` could not be read, and the links that need it are skipped.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct State {
    /// By role ARN.
    pub roles: BTreeMap<String, Role>,
    /// By instance profile ARN.
    pub instance_profiles: BTreeMap<String, InstanceProfile>,
    /// By bucket name.
    pub buckets: BTreeMap<String, Bucket>,
    /// Key policies by key ARN.
    pub keys: BTreeMap<String, PolicyDocument>,
    /// SCP levels (root first), applied to every principal of the chain. Empty: none given.
    pub scps: Vec<Vec<PolicyDocument>>,
    /// `None` when the config has no `[databricks]` section.
    pub databricks: Option<Databricks>,
    /// Resource (ARN, bucket name or `databricks`) to why it could not be read: its links are skipped.
    pub unreadable: BTreeMap<String, String>,
    /// Resource to why its document cannot be written (a merge over the size limit): its links fail.
    pub broken: BTreeMap<String, String>,
}

/// What the config says already exists, for [`crate::offline`]. Our statements are merged into
/// these by Sid, as `provision` would.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OfflineInputs {
    /// Existing bucket policies, by bucket name.
    pub bucket_policies: BTreeMap<String, PolicyDocument>,
    /// Existing identity policies, by role ARN. An inline policy named like ours
    /// (`xacct-pass-instance-role`, `xacct-assume-bucket-owner-roles`) receives our statements.
    pub role_policies: BTreeMap<String, Vec<NamedPolicy>>,
    /// Existing key policies, by key ARN; without one, the key's default policy (the account root
    /// may do everything) is assumed.
    pub key_policies: BTreeMap<String, PolicyDocument>,
    /// SCP levels, root first, applied to every account of the flow.
    pub scps: Vec<Vec<PolicyDocument>>,
    /// The Databricks state to check; `None` skips the `databricks` link. Use
    /// [`Databricks::expected`] for what `provision` sets.
    pub databricks: Option<Databricks>,
    /// The cluster id, for [`Databricks::expected`].
    pub cluster_id: Option<String>,
}

/// The default key policy AWS gives a new key: the account root may do everything, which
/// delegates to the account's IAM policies.
pub fn default_key_policy(account: &str) -> PolicyDocument {
    let text = format!(
        r#"{{"Version":"2012-10-17","Id":"key-default-1","Statement":[{{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"kms:*","Resource":"*"}}]}}"#
    );
    PolicyDocument::from_json(&text).unwrap_or_else(|_| PolicyDocument::new(Vec::new()))
}

impl Databricks {
    /// What `provision` sets: the instance profile registered and, with a cluster id, the cluster
    /// using it with the S3A keys (global with one owner role, per bucket with several).
    pub fn expected(flow: &Flow, cluster_id: Option<&str>) -> Databricks {
        let profile = flow.deployment.instance_profile_arn();
        let cluster = cluster_id.map(|id| Cluster {
            cluster_id: id.to_owned(),
            instance_profile_arn: Some(profile.clone()),
            spark_conf: expected_spark_conf(flow),
            state: None,
        });
        Databricks { instance_profiles: vec![profile], cluster, missing_cluster: None }
    }
}

/// The S3A settings a cluster needs, as Spark conf keys; the same rule as `spark_conf::keys`.
pub fn expected_spark_conf(flow: &Flow) -> BTreeMap<String, String> {
    let mut roles: Vec<String> = flow.owners.iter().filter(|o| !o.buckets.is_empty()).map(|o| o.role_arn()).collect();
    roles.sort();
    roles.dedup();
    let mut conf = BTreeMap::new();
    let mut put = |bucket: Option<&str>, role: &str| {
        let prefix = match bucket {
            Some(b) => format!("{SPARK_S3A}bucket.{b}."),
            None => SPARK_S3A.to_owned(),
        };
        conf.insert(format!("{prefix}{CREDENTIALS_TYPE}"), ASSUME_ROLE.to_owned());
        conf.insert(format!("{prefix}{STS_ARN}"), role.to_owned());
        conf.insert(format!("{prefix}{ACL_DEFAULT}"), BUCKET_OWNER_FULL_CONTROL.to_owned());
    };
    if roles.len() > 1 {
        for (owner, bucket) in flow.buckets() {
            put(Some(bucket.name.as_str()), &owner.role_arn());
        }
    } else if let Some(role) = roles.first() {
        put(None, role);
    }
    conf
}

pub(crate) const SPARK_S3A: &str = "spark.hadoop.fs.s3a.";
pub(crate) const CREDENTIALS_TYPE: &str = "credentialsType";
pub(crate) const STS_ARN: &str = "stsAssumeRole.arn";
pub(crate) const ACL_DEFAULT: &str = "acl.default";
pub(crate) const ASSUME_ROLE: &str = "AssumeRole";
pub(crate) const BUCKET_OWNER_FULL_CONTROL: &str = "BucketOwnerFullControl";

impl State {
    /// The state `provision` would leave: the documents of `policy_model::build`, merged by Sid
    /// into the existing ones the inputs name.
    /// A merge that fails (a document over its size limit) is recorded in `broken`.
    pub fn offline(flow: &Flow, inputs: &OfflineInputs) -> State {
        let deployment = &flow.deployment;
        let a_role = deployment.instance_role_arn();
        let mut state = State { scps: inputs.scps.clone(), ..State::default() };
        let existing = |arn: &str| inputs.role_policies.get(arn).cloned().unwrap_or_default();

        let mut a_policies = existing(&a_role);
        if let Err(e) = merge_inline(&mut a_policies, ASSUME_POLICY_NAME, &build::assume_role_policy(flow).statement) {
            state.broken.insert(a_role.clone(), e.to_string());
        }
        state.roles.insert(a_role.clone(), Role { trust: build::instance_role_trust(), policies: a_policies });
        state.instance_profiles.insert(deployment.instance_profile_arn(), InstanceProfile { roles: vec![a_role] });

        if let Some(x_role) = deployment.cross_account_role_arn() {
            let mut policies = existing(&x_role);
            if let Err(e) = merge_inline(&mut policies, PASS_ROLE_POLICY_NAME, &[build::pass_role_statement(flow)]) {
                state.broken.insert(x_role.clone(), e.to_string());
            }
            // The cross-account role is Databricks'; its trust policy is not ours and does not matter here.
            state.roles.insert(x_role, Role { trust: PolicyDocument::new(Vec::new()), policies });
        }

        for owner in &flow.owners {
            let role = owner.role_arn();
            state
                .roles
                .entry(role.clone())
                .or_insert_with(|| Role { trust: build::owner_trust_policy(flow), policies: existing(&role) });
            for bucket in &owner.buckets {
                let name = bucket.name.as_str();
                let ours = build::bucket_statements(owner, bucket);
                let existing = inputs.bucket_policies.get(name);
                let policy = match merge::merge(existing, &ours, merge::BUCKET_POLICY_LIMIT) {
                    Ok(merged) => Some(merged),
                    Err(e) => {
                        state.broken.insert(name.to_owned(), e.to_string());
                        existing.cloned()
                    }
                };
                state
                    .buckets
                    .insert(name.to_owned(), Bucket { policy, ownership: Some("BucketOwnerEnforced".to_owned()) });
                if let Some(key) = &bucket.kms_key_arn {
                    // A key may serve several buckets: the widest access wins, as in `build::all_documents`.
                    let access = owner
                        .buckets
                        .iter()
                        .filter(|b| b.kms_key_arn.as_ref() == Some(key))
                        .map(|b| b.access)
                        .max_by_key(|a| *a == policy_model::Access::ReadWrite)
                        .unwrap_or(bucket.access);
                    let ours = [build::kms_key_user_statement(owner, key, access)];
                    let base = match inputs.key_policies.get(key) {
                        Some(doc) => doc.clone(),
                        None => default_key_policy(owner.account_id.as_str()),
                    };
                    let merged = match merge::merge(Some(&base), &ours, merge::KEY_POLICY_LIMIT) {
                        Ok(merged) => merged,
                        Err(e) => {
                            state.broken.insert(key.clone(), e.to_string());
                            base
                        }
                    };
                    state.keys.insert(key.clone(), merged);
                }
            }
        }
        state.databricks = inputs.databricks.clone();
        state
    }
}

/// Merges `ours` into the inline policy `name` of `policies`, creating it when missing.
fn merge_inline(
    policies: &mut Vec<NamedPolicy>,
    name: &str,
    ours: &[policy_model::Statement],
) -> Result<(), MergeError> {
    let label = format!("inline policy {name}");
    match policies.iter_mut().find(|p| p.name == label) {
        Some(existing) => {
            existing.document = merge::merge(Some(&existing.document), ours, merge::INLINE_ROLE_POLICIES_LIMIT)?
        }
        None => policies
            .push(NamedPolicy { name: label, document: merge::merge(None, ours, merge::INLINE_ROLE_POLICIES_LIMIT)? }),
    }
    Ok(())
}

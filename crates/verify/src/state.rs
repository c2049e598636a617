//! What the chain evaluation reads: the documents and facts of every resource in the chain,
//! however they were obtained (built offline, or read from AWS and Databricks).

use std::collections::BTreeMap;

use policy_model::build::{self, AssumePolicies, ASSUME_POLICY_NAME, PASS_ROLE_POLICY_NAME};
use policy_model::chain::{self, s3a};
use policy_model::merge::{self, MergeError};
use policy_model::validate::{self, DocKind};
use policy_model::{Flow, PolicyDocument};

/// One identity policy of a role.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedPolicy {
    /// `inline policy <name>` or `managed policy <arn>`.
    pub name: String,
    /// The policy document (for a managed policy, its default version).
    pub document: PolicyDocument,
}

impl NamedPolicy {
    /// The inline policy `name` of a role.
    pub fn inline(name: &str, document: PolicyDocument) -> NamedPolicy {
        NamedPolicy { name: format!("inline policy {name}"), document }
    }
    /// The managed policy with ARN `arn`, attached to a role.
    pub fn managed(arn: &str, document: PolicyDocument) -> NamedPolicy {
        NamedPolicy { name: format!("managed policy {arn}"), document }
    }
}

/// A role that exists.
#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    /// The trust policy (`AssumeRolePolicyDocument`).
    pub trust: PolicyDocument,
    /// Inline and attached managed policies.
    pub policies: Vec<NamedPolicy>,
    /// The permissions boundary, when the role has one: its ARN, and its default version when it
    /// could be read.
    pub boundary: Option<(String, Option<PolicyDocument>)>,
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
    /// The bucket policy; `None` when the bucket has none.
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

/// A Databricks cluster, as far as the chain needs it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Cluster {
    /// The cluster's id.
    pub cluster_id: String,
    /// `aws_attributes.instance_profile_arn`.
    pub instance_profile_arn: Option<String>,
    /// The cluster's Spark conf, key to value.
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
    /// What Databricks says of each Unity Catalog owner's storage credential, by account.
    pub unity: BTreeMap<String, crate::unity::UnityCredential>,
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
        let Some(profile) = flow.deployment().map(|d| d.instance_profile_arn()) else {
            return Databricks { instance_profiles: Vec::new(), cluster: None, missing_cluster: None };
        };
        let cluster = cluster_id.map(|id| Cluster {
            cluster_id: id.to_owned(),
            instance_profile_arn: Some(profile.clone()),
            spark_conf: expected_spark_conf(flow),
            state: None,
        });
        Databricks { instance_profiles: vec![profile], cluster, missing_cluster: None }
    }
}

/// The S3A settings a cluster needs, as Spark conf keys: the rule of
/// [`policy_model::chain::s3a`], which spark-conf renders too.
pub fn expected_spark_conf(flow: &Flow) -> BTreeMap<String, String> {
    s3a::settings(flow).into_iter().map(|(k, v)| (format!("{}{k}", s3a::SPARK_HADOOP_PREFIX), v)).collect()
}

pub(crate) const SPARK_S3A: &str = "spark.hadoop.fs.s3a.";
pub(crate) use policy_model::chain::s3a::{
    ACL_DEFAULT, ASSUME_ROLE, BUCKET_OWNER_FULL_CONTROL, CREDENTIALS_TYPE, STS_ASSUME_ROLE_ARN as STS_ARN,
};

impl State {
    /// The validator's findings on every document of the state, one line each, naming the
    /// document: what AWS would refuse if it were written again, and what is risky.
    pub fn findings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut check = |what: &str, doc: &PolicyDocument, kind: DocKind| {
            for finding in validate::validate(doc, kind) {
                out.push(format!("{what}: {finding}"));
            }
        };
        for (arn, role) in &self.roles {
            if !role.trust.statement.is_empty() {
                check(&format!("trust policy of {arn}"), &role.trust, DocKind::Trust);
            }
            for policy in &role.policies {
                let managed = policy.name.starts_with("managed policy");
                check(&format!("{} of {arn}", policy.name), &policy.document, DocKind::Identity { managed });
            }
        }
        for (name, bucket) in &self.buckets {
            if let Some(doc) = &bucket.policy {
                check(&format!("bucket policy of {name}"), doc, DocKind::Bucket);
            }
        }
        for (key, doc) in &self.keys {
            check(&format!("key policy of {key}"), doc, DocKind::KmsKey);
        }
        out
    }

    /// The state `provision` would leave: the documents of `policy_model::build`, merged by Sid
    /// into the existing ones the inputs name.
    /// A merge that fails (a document over its size limit) is recorded in `broken`.
    pub fn offline(flow: &Flow, inputs: &OfflineInputs) -> State {
        let mut state = State::offline_instance_profile(flow, inputs);
        crate::unity::add_offline(flow, inputs, &mut state);
        state
    }

    /// The documents of the instance-profile chain, when the flow has a deployment.
    fn offline_instance_profile(flow: &Flow, inputs: &OfflineInputs) -> State {
        let mut state = State { scps: inputs.scps.clone(), ..State::default() };
        let Some(deployment) = flow.deployment() else { return state };
        let a_role = deployment.instance_role_arn();
        let existing = |arn: &str| inputs.role_policies.get(arn).cloned().unwrap_or_default();

        let mut a_policies = existing(&a_role);
        match build::assume_policies(flow) {
            Ok(AssumePolicies::Inline(doc)) => {
                if let Err(e) = merge_inline(&mut a_policies, ASSUME_POLICY_NAME, &doc.statement) {
                    let what = format!("the inline policy {ASSUME_POLICY_NAME} of {a_role}");
                    state.broken.insert(a_role.clone(), too_large(&e, &what, "a role's inline policies together"));
                }
            }
            Ok(AssumePolicies::Managed(docs)) => {
                let inline = format!("inline policy {ASSUME_POLICY_NAME}");
                a_policies.retain(|p| p.name != inline);
                for (name, doc) in docs {
                    a_policies.push(NamedPolicy::managed(
                        &format!("arn:aws:iam::{}:policy/{name}", deployment.account_id),
                        doc,
                    ));
                }
            }
            Err(e) => {
                state.broken.insert(a_role.clone(), e.to_string());
            }
        }
        state
            .roles
            .insert(a_role.clone(), Role { trust: build::instance_role_trust(), policies: a_policies, boundary: None });
        state.instance_profiles.insert(deployment.instance_profile_arn(), InstanceProfile { roles: vec![a_role] });

        if let Some(x_role) = deployment.cross_account_role_arn() {
            let mut policies = existing(&x_role);
            if let Err(e) = merge_inline(&mut policies, PASS_ROLE_POLICY_NAME, &[build::pass_role_statement(flow)]) {
                let what = format!("the inline policy {PASS_ROLE_POLICY_NAME} of {x_role}");
                state.broken.insert(x_role.clone(), too_large(&e, &what, "a role's inline policies together"));
            }
            // The cross-account role is Databricks'; its trust policy is not ours and does not matter here.
            state.roles.insert(x_role, Role { trust: PolicyDocument::new(Vec::new()), policies, boundary: None });
        }

        for owner in flow.owners() {
            let role = owner.role_arn();
            state.roles.entry(role.clone()).or_insert_with(|| Role {
                trust: build::owner_trust_policy(flow),
                policies: existing(&role),
                boundary: None,
            });
            for bucket in &owner.buckets {
                let name = bucket.name.as_str();
                let ours = build::bucket_statements(owner, bucket);
                let existing = inputs.bucket_policies.get(name);
                // Without an existing policy ours is written alone: two statements, far below the limit.
                let merged = match existing {
                    None => Ok(PolicyDocument::new(ours)),
                    Some(existing) => merge::merge(Some(existing), &ours, merge::BUCKET_POLICY_LIMIT),
                };
                let policy = match merged {
                    Ok(merged) => Some(merged),
                    Err(e) => {
                        let what = format!("the bucket policy of {name}");
                        state.broken.insert(name.to_owned(), too_large(&e, &what, "an S3 bucket policy"));
                        existing.cloned()
                    }
                };
                state
                    .buckets
                    .insert(name.to_owned(), Bucket { policy, ownership: Some("BucketOwnerEnforced".to_owned()) });
            }
            // A key may serve several buckets: the widest access wins, as in `build::all_documents`.
            for (key, access) in chain::key_accesses(owner) {
                let key = key.as_str();
                let ours = [build::kms_key_user_statement(owner, key, access)];
                let base = match inputs.key_policies.get(key) {
                    Some(doc) => doc.clone(),
                    None => default_key_policy(owner.account_id.as_str()),
                };
                let merged = match merge::merge(Some(&base), &ours, merge::KEY_POLICY_LIMIT) {
                    Ok(merged) => merged,
                    Err(e) => {
                        state.broken.insert(
                            key.to_owned(),
                            too_large(&e, &format!("the key policy of {key}"), "a KMS key policy"),
                        );
                        base
                    }
                };
                state.keys.insert(key.to_owned(), merged);
            }
        }
        state.databricks = inputs.databricks.clone();
        state
    }
}

/// Why a document cannot be written, naming the document and the limit it passes.
fn too_large(e: &MergeError, what: &str, limit_of: &str) -> String {
    match e {
        MergeError::TooLarge { size, limit } => format!(
            "{what} cannot be written: it would be {size} characters without whitespace, {} over AWS's limit of {limit} for {limit_of}",
            size.saturating_sub(*limit)
        ),
        other => format!("{what} cannot be written: {other}"),
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

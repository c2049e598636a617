//! The live state xacct reads, as plain data.
//!
//! Every map is keyed by ARN (or bucket name) and holds only what exists: a
//! role, profile, bucket or key that is absent from its map does not exist.
//! Only the parts the planner needs are kept, never ids or dates, so that two
//! observations of the same state compare equal.

use std::collections::BTreeMap;

use policy_model::PolicyDocument;
use serde::Serialize;

use crate::{MANAGED_TAG_KEY, MANAGED_TAG_VALUE};

/// What exists in both accounts, as far as the flow is concerned. Built by
/// [`observe`](crate::observe()), or by hand for planning without a server.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Observed {
    /// Role ARN → role.
    pub roles: BTreeMap<String, Role>,
    /// Instance profile ARN → profile.
    pub instance_profiles: BTreeMap<String, InstanceProfile>,
    /// Bucket name → bucket.
    pub buckets: BTreeMap<String, BucketState>,
    /// KMS key ARN → key policy (`default`).
    pub keys: BTreeMap<String, PolicyDocument>,
}

/// A role that exists, with every document that applies to it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Role {
    /// Tag key → value; [`MANAGED_TAG_KEY`] marks a role xacct created.
    pub tags: BTreeMap<String, String>,
    /// The trust policy.
    pub trust: Option<PolicyDocument>,
    /// Every inline policy, by name.
    pub inline: BTreeMap<String, PolicyDocument>,
    /// Every attached managed policy (its default version), by ARN.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attached: BTreeMap<String, PolicyDocument>,
    /// The permissions boundary, when one is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boundary: Option<Boundary>,
}

/// A role's permissions boundary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Boundary {
    /// The managed policy's ARN.
    pub arn: String,
    /// Its default version; `None` when the policy could not be found.
    pub document: Option<PolicyDocument>,
}

/// An instance profile that exists.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InstanceProfile {
    /// Tag key → value; [`MANAGED_TAG_KEY`] marks a profile xacct created.
    pub tags: BTreeMap<String, String>,
    /// The names of the roles it holds (at most one, in AWS).
    pub roles: Vec<String>,
    /// The ARNs of the same roles.
    #[serde(skip)]
    pub role_arns: Vec<String>,
}

/// A bucket that exists.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BucketState {
    /// The bucket policy; `None` when the bucket has none.
    pub policy: Option<PolicyDocument>,
    /// The Object Ownership rule (`BucketOwnerEnforced`, …), when one is set and readable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ownership: Option<String>,
}

/// True when the tags mark a resource xacct created.
pub fn is_managed(tags: &BTreeMap<String, String>) -> bool {
    tags.get(MANAGED_TAG_KEY).is_some_and(|v| v == MANAGED_TAG_VALUE)
}

impl Role {
    /// True when the role carries xacct's tag, so xacct created it and may delete it.
    pub fn is_managed(&self) -> bool {
        is_managed(&self.tags)
    }
}

impl InstanceProfile {
    /// True when the profile carries xacct's tag, so xacct created it and may delete it.
    pub fn is_managed(&self) -> bool {
        is_managed(&self.tags)
    }
}

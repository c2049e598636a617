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

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Role {
    pub tags: BTreeMap<String, String>,
    /// The trust policy, when it was read (it is not read for the cross-account role).
    pub trust: Option<PolicyDocument>,
    /// The inline policies xacct reads on this role, by name; others are not listed.
    pub inline: BTreeMap<String, PolicyDocument>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InstanceProfile {
    pub tags: BTreeMap<String, String>,
    /// The names of the roles it holds (at most one, in AWS).
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BucketState {
    /// The bucket policy; `None` when the bucket has none.
    pub policy: Option<PolicyDocument>,
}

/// True when the tags mark a resource xacct created.
pub fn is_managed(tags: &BTreeMap<String, String>) -> bool {
    tags.get(MANAGED_TAG_KEY).is_some_and(|v| v == MANAGED_TAG_VALUE)
}

impl Role {
    pub fn is_managed(&self) -> bool {
        is_managed(&self.tags)
    }
}

impl InstanceProfile {
    pub fn is_managed(&self) -> bool {
        is_managed(&self.tags)
    }
}

//! Proves the chain `cluster → instance profile → MyRoleA → MyRoleB → bucket (→ KMS key)` works,
//! and when it does not, names the broken link and how to mend it.
//!
//! - [`offline`] evaluates the documents `provision` would write, merged into the existing ones the
//!   config names. It needs no credentials.
//! - [`live`] reads the deployed documents and evaluates them the same way, then probes the chain
//!   from account A's credentials (assume MyRoleA, MyRoleB, a canary object) and, with
//!   `on_cluster`, runs `dbutils.fs.ls` on the cluster.
//!
//! Both end in [`evaluate`]: one function from a [`State`] (every document and fact of the chain)
//! to the links of a [`Report`], decided by `policy_model::eval`.
//!
//! **API Boundary:** [`Report`] is what callers get; its internals may change.
//!
//! **Architecture Invariant:** verify writes nothing but its canary object, and never loosens a
//! policy to make a probe work.

mod chain;
pub mod corpus;
mod live;
mod report;
mod state;

#[cfg(test)]
mod tests;

use policy_model::Flow;

pub use chain::{bucket_actions, ids, invalid_principal_hint, PROBE_PREFIX};
pub use live::{live, live_with_state, probe_ids, read_state, LiveInputs};
pub use report::{Link, Report, Status, Summary, Verdict};
pub use state::{
    default_key_policy, expected_spark_conf, Bucket, Cluster, Databricks, InstanceProfile, NamedPolicy, OfflineInputs,
    Role, State,
};

/// Checks the documents `provision` would write for `flow`, merged into `inputs`' existing ones.
pub fn offline(flow: &Flow, inputs: &OfflineInputs) -> Report {
    evaluate(flow, &State::offline(flow, inputs))
}

/// The links of the chain for a state, however it was obtained.
pub fn evaluate(flow: &Flow, state: &State) -> Report {
    Report::new(chain::evaluate(flow, state).links, Vec::new())
}

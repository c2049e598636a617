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
//! [`corpus`] holds the broken configurations verify must name, one per link and pitfall, as data
//! that both the offline [`State`] and a live deployment can be given.
//!
//! # Example
//!
//! Check offline what `provision` would write for the corpus flow, then break a healthy state
//! with each corpus case and see the named link fail with a fix:
//!
//! ```
//! use verify::{corpus, evaluate, offline, Databricks, OfflineInputs, State, Status, Verdict};
//!
//! let flow = corpus::flow("arn:aws:kms:us-east-1:222222222222:key/data");
//! // What `provision` sets in the workspace, with cluster `0101-abc`.
//! let databricks = Some(Databricks::expected(&flow, Some("0101-abc")));
//! let inputs = OfflineInputs { databricks, ..OfflineInputs::default() };
//! let report = offline(&flow, &inputs);
//! assert!(report.ok);
//! assert_eq!(report.verdict(), Verdict::Ok);
//!
//! for case in corpus::cases(&flow) {
//!     let mut state = State::offline(&flow, &inputs);
//!     case.change.apply_offline(&mut state);
//!     let report = evaluate(&flow, &state);
//!     let link = report.link(&case.link).expect("every case names a link of the flow");
//!     assert_eq!(link.status, Status::Fail, "{}", case.name);
//!     let fix = link.fix.as_deref().unwrap_or_default();
//!     assert!(case.fix_words.iter().all(|w| fix.contains(w.as_str())), "{}", case.name);
//!     assert_eq!(report.verdict().exit_code(), 1);
//! }
//! ```
//!
//! **API Boundary:** [`Report`] is what callers get; its internals may change.
//!
//! **Architecture Invariant:** verify writes nothing but its canary object, and never loosens a
//! policy to make a probe work.

#![warn(missing_docs)]

mod chain;
pub mod corpus;
pub mod exposure;
mod live;
mod report;
mod state;
mod unity;

#[cfg(test)]
mod tests;

use policy_model::Flow;

pub use chain::{bucket_actions, ids, invalid_principal_hint, PROBE_PREFIX};
pub use live::{live, live_with_state, probe_ids, read_state, LiveInputs, Propagation};
pub use report::{Link, Report, Status, Summary, Verdict};
pub use state::{
    default_key_policy, expected_spark_conf, Bucket, Cluster, Databricks, InstanceProfile, NamedPolicy, OfflineInputs,
    Role, State,
};
pub use unity::{UnityCredential, OFFLINE_EXTERNAL_ID};

/// Checks the documents `provision` would write for `flow`, merged into `inputs`' existing ones.
pub fn offline(flow: &Flow, inputs: &OfflineInputs) -> Report {
    evaluate(flow, &State::offline(flow, inputs))
}

/// The links of the chain for a state, however it was obtained: the instance-profile chain,
/// then the Unity Catalog owners' links.
pub fn evaluate(flow: &Flow, state: &State) -> Report {
    let mut links = chain::evaluate(flow, state).links;
    links.extend(unity::links(flow, state, false));
    Report::new(links, Vec::new())
}

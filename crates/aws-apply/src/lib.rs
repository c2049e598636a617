//! The AWS half of the flow as an idempotent reconciler: read the live state
//! of both accounts ([`observe`]), compare it with what the flow needs
//! ([`plan`], a pure function), and make the differences real ([`apply`]) in
//! dependency order with bounded concurrency.
//!
//! - [`model`]: the observed state, as plain data;
//! - [`plan`](mod@plan): changes per resource, each with the policy JSON before and after;
//! - [`accounts`]: one set of SDK clients per account, call counting and retries;
//! - [`observe`](mod@observe): the reads;
//! - [`apply`](mod@apply): the writes, in dependency order;
//! - [`intercept`]: SDK interceptors for fault injection and added latency.
//!
//! **Architecture Invariant:** planning does no I/O: `plan` and `plan_destroy`
//! take plain data and return plain data, so that they are tested without a server.
//!
//! **Ownership:** every role and instance profile xacct creates carries the tag
//! [`MANAGED_TAG_KEY`]`=`[`MANAGED_TAG_VALUE`]. Destroy deletes only tagged
//! resources, and takes only our Sids out of documents others also edit. xacct
//! never creates or deletes a bucket, a KMS key or the cross-account role.

pub mod accounts;
pub mod apply;
pub mod intercept;
pub mod model;
pub mod observe;
pub mod plan;

pub use accounts::{is_write, Accounts, ApiCalls, Counts, Error, Service};
pub use apply::{apply, ApplyError, ApplyOptions, ApplyReport, Progress};
pub use model::{BucketState, InstanceProfile, Observed, Role};
pub use observe::observe;
pub use plan::{plan, plan_destroy, Action, Change, Plan, PlanError, PlanProblem};

/// The tag key that marks a role or instance profile as created by xacct.
pub const MANAGED_TAG_KEY: &str = "xacct:managed";
/// The value of [`MANAGED_TAG_KEY`] on resources xacct created.
pub const MANAGED_TAG_VALUE: &str = "true";

//! The AWS half of the flow as an idempotent reconciler: read the live state
//! of both accounts ([`observe`]), compare it with what the flow needs
//! ([`plan`], a pure function), and make the differences real ([`apply`]) in
//! dependency order with bounded concurrency.
//!
//! - [`model`]: the observed state, as plain data;
//! - [`plan`](mod@plan): changes per resource, each with the policy JSON before and after;
//! - [`backend`]: the narrow traits over IAM, S3, KMS and STS that everything else calls;
//! - [`accounts`]: their SDK implementation: one set of clients per account,
//!   call counting, retries ([`retry`]), timeouts, the identity check;
//! - [`memory`]: their in-memory implementation, for tests;
//! - [`observe`](mod@observe): the one read-only pass, for planning and `verify`;
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
pub mod backend;
pub mod intercept;
pub mod memory;
pub mod model;
pub mod observe;
pub mod plan;
pub mod retry;
mod sdk;

pub use accounts::{is_write, Accounts, ApiCalls, Counts, Error, Service};
pub use apply::{apply, ApplyError, ApplyOptions, ApplyReport, Progress};
pub use backend::{check_identities, Aws, Iam, Kms, Sts, S3};
pub use model::{Boundary, BucketState, InstanceProfile, Observed, Role};
pub use observe::{observe, observe_each, Observation};
pub use plan::{plan, plan_destroy, Action, Change, Plan, PlanError, PlanProblem};
pub use retry::{AccessOptions, RetryOptions, Timeouts};

/// The tag key that marks a role or instance profile as created by xacct.
pub const MANAGED_TAG_KEY: &str = "xacct:managed";
/// The value of [`MANAGED_TAG_KEY`] on resources xacct created.
pub const MANAGED_TAG_VALUE: &str = "true";

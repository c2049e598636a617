//! The AWS half of the flow as an idempotent reconciler: read the live state
//! of both accounts ([`observe()`]), compare it with what the flow needs
//! ([`plan()`], a pure function), and make the differences real ([`apply()`]) in
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
//! - [`intercept`]: SDK interceptors for fault injection and added latency;
//! - [`roles`]: the permissions boundary and tags an organization demands of every role.
//!
//! **Architecture Invariant:** planning does no I/O: `plan` and `plan_destroy`
//! take plain data and return plain data, so that they are tested without a server.
//!
//! **Ownership:** every role and instance profile xacct creates carries the tag
//! [`MANAGED_TAG_KEY`]`=`[`MANAGED_TAG_VALUE`]. Destroy deletes only tagged
//! resources, and takes only our Sids out of documents others also edit. xacct
//! never creates or deletes a bucket, a KMS key or the cross-account role.
//!
//! **Invariant:** a converged state plans to no-ops only, so a re-run after a
//! successful apply makes no write; a plan with any [`PlanProblem`] is refused
//! whole, before any write.
//!
//! # Example
//!
//! Planning needs no server: give it the flow and what exists. Here account B
//! has the bucket and nothing else exists yet.
//!
//! ```
//! use aws_apply::{plan, Action, BucketState, Observed, PlanProblem};
//! use policy_model::{Access, AccountId, Bucket, BucketName, Deployment, Flow, Owner, RoleName};
//!
//! let deployment = Deployment {
//!     account_id: AccountId::new("111111111111")?,
//!     instance_role: RoleName::new("MyRoleA")?,
//!     cross_account_role: None,
//! };
//! let bucket =
//!     Bucket { name: BucketName::new("my-bucket")?, access: Access::ReadWrite, kms_key_arn: None, mount: false };
//! let owner =
//!     Owner { account_id: AccountId::new("222222222222")?, role: RoleName::new("MyRoleB")?, buckets: vec![bucket] };
//! let flow = Flow::new("us-east-1", deployment, vec![owner]).map_err(|problems| format!("{problems:?}"))?;
//!
//! let mut observed = Observed::default();
//! observed.buckets.insert("my-bucket".to_owned(), BucketState::default());
//! let plan = plan(&flow, &observed)?;
//! assert!(!plan.is_converged());
//! assert!(plan.changes.iter().any(|c| c.resource == "bucket policy of my-bucket" && c.action == Action::Create));
//! assert!(plan.write_calls() > 0);
//!
//! // A missing bucket is a problem, not a change: xacct never creates buckets.
//! let err = aws_apply::plan(&flow, &Observed::default()).unwrap_err();
//! assert!(matches!(&err.problems[..], [PlanProblem::MissingBucket { bucket, .. }] if bucket == "my-bucket"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The same flow applied to the in-memory backend ([`memory::Memory`]), which implements the
//! same traits as the SDK: after one apply, a second plan is converged and writes nothing.
//!
//! ```
//! use aws_apply::memory::Memory;
//! use aws_apply::{apply, observe, plan, ApplyOptions};
//! # use policy_model::{Access, AccountId, Bucket, BucketName, Deployment, Flow, Owner, RoleName};
//! # let deployment = Deployment {
//! #     account_id: AccountId::new("111111111111")?,
//! #     instance_role: RoleName::new("MyRoleA")?,
//! #     cross_account_role: None,
//! # };
//! # let bucket =
//! #     Bucket { name: BucketName::new("my-bucket")?, access: Access::ReadWrite, kms_key_arn: None, mount: false };
//! # let owner =
//! #     Owner { account_id: AccountId::new("222222222222")?, role: RoleName::new("MyRoleB")?, buckets: vec![bucket] };
//! # let flow = Flow::new("us-east-1", deployment, vec![owner]).map_err(|problems| format!("{problems:?}"))?;
//!
//! let (a, b) = (flow.deployment().unwrap().account_id.clone(), flow.owners()[0].account_id.clone());
//! let aws = Memory::new([&a, &b]);
//! aws.edit(&b, |account| account.buckets.insert("my-bucket".to_owned(), None));
//!
//! tokio::runtime::Runtime::new()?.block_on(async {
//!     let first = plan(&flow, &observe(&aws, &flow).await?)?;
//!     let report = apply(&aws, &first, &ApplyOptions::default()).await?;
//!     assert!(report.api_calls.writes() > 0);
//!
//!     let again = plan(&flow, &observe(&aws, &flow).await?)?;
//!     assert!(again.is_converged());
//!     assert_eq!(again.write_calls(), 0);
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod accounts;
pub mod apply;
pub mod backend;
pub mod intercept;
pub mod memory;
pub mod model;
pub mod observe;
pub mod plan;
mod rebase;
pub mod retry;
pub mod roles;
mod sdk;
pub mod sizes;

pub use accounts::{is_write, Accounts, ApiCalls, Counts, Error, Service};
pub use apply::{apply, ApplyError, ApplyOptions, ApplyReport, Progress};
pub use backend::{check_identities, Aws, Iam, Kms, Sts, S3};
pub use model::{Boundary, BucketState, InstanceProfile, Observed, Role};
pub use observe::{observe, observe_each, Observation};
pub use plan::{
    plan, plan_destroy, plan_destroy_with, plan_with, Action, Change, Plan, PlanError, PlanProblem, UnityTrust,
};
pub use retry::{AccessOptions, RetryOptions, Timeouts};
pub use roles::RoleSettings;

/// The tag key that marks a role or instance profile as created by xacct.
pub const MANAGED_TAG_KEY: &str = "xacct:managed";
/// The value of [`MANAGED_TAG_KEY`] on resources xacct created.
pub const MANAGED_TAG_VALUE: &str = "true";

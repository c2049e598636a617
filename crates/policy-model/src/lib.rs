//! IAM policy documents and the rules of the xacct flow, with no I/O.
//!
//! The model is split by stage:
//! - [`arn`]: ARNs, account IDs, role and bucket names;
//! - [`document`]: the serde form of a policy document, tolerant of every shape AWS accepts;
//! - [`flow`]: the flow being automated, checked by [`Flow::new`];
//! - [`chain`]: the chain's vocabulary: link ids and statuses, the requests each link must allow,
//!   the S3A keys, the widest access per KMS key;
//! - [`eval`]: the IAM evaluation engine, AWS's documented logic with cross-account rules;
//! - [`simulate`]: the `simulate` case format over [`eval`];
//! - [`validate`]: every finding in a document, with its JSON path, and the size limits;
//! - [`build`]: the documents of the flow, with stable `Xacct` Sids;
//! - [`merge`]: our statements into a foreign document by Sid, and out again;
//! - `strategies` (feature `proptest`): proptest strategies for documents, for tests;
//!
//! **Architecture Invariant:** this crate does no I/O and knows nothing of aws-sdk, tokio or HTTP.

pub mod arn;
pub mod build;
pub mod chain;
pub mod document;
pub mod eval;
pub mod flow;
pub mod merge;
pub mod simulate;
#[cfg(any(test, feature = "proptest"))]
pub mod strategies;
pub mod validate;

pub use arn::{AccountId, Arn, BucketName, KmsKeyArn, NameError, RoleName, TypedArn};
pub use chain::LinkStatus;
pub use document::{OneOrMany, PolicyDocument, Principal, Statement};
pub use flow::{Access, Bucket, Deployment, Flow, FlowPath, FlowProblem, Owner};
pub use validate::{validate, validate_json, DocKind, Finding, Severity};

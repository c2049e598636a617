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
//! - [`validate`](mod@validate): every finding in a document, with its JSON path, and the size limits;
//! - [`build`]: the documents of the flow, with stable `Xacct` Sids;
//! - [`merge`]: our statements into a foreign document by Sid, and out again;
//! - [`unity`]: the Unity Catalog mode's owners, documents and requests;
//! - `strategies` (feature `proptest`): proptest strategies for documents, for tests;
//!
//! **Invariants:** a [`Flow`] exists only through [`Flow::new`], which checks every cross-field
//! rule and returns every problem at once; names and ARNs are checked by their constructors
//! ([`AccountId::new`], [`RoleName::new`], [`BucketName::new`], [`KmsKeyArn::new`]). Every
//! statement xacct writes has a Sid starting with [`build::SID_PREFIX`], and [`merge`](mod@merge)
//! keeps every statement whose Sid is not one of ours unchanged and in its place.
//!
//! # Example
//!
//! A flow where MyRoleA in account A assumes MyRoleB in account B: the documents xacct builds for
//! it, checked by the validator and evaluated as AWS would.
//!
//! ```
//! use policy_model::eval::{self, CompiledPolicy, Outcome, PolicySet, Request};
//! use policy_model::{build, chain, validate, DocKind};
//! use policy_model::{Access, AccountId, Bucket, BucketName, Deployment, Flow, Owner, RoleName};
//!
//! let deployment = Deployment {
//!     account_id: AccountId::new("111111111111")?,
//!     instance_role: RoleName::new("MyRoleA")?,
//!     cross_account_role: None,
//! };
//! let bucket =
//!     Bucket { name: BucketName::new("my-bucket")?, access: Access::ReadOnly, kms_key_arn: None, mount: false };
//! let owner =
//!     Owner { account_id: AccountId::new("222222222222")?, role: RoleName::new("MyRoleB")?, buckets: vec![bucket] };
//! let flow = Flow::new("us-east-1", deployment, vec![owner]).map_err(|problems| format!("{problems:?}"))?;
//!
//! // MyRoleA's identity policy and MyRoleB's trust policy, as xacct writes them.
//! let identity = build::assume_role_policy(&flow);
//! let trust = build::owner_trust_policy(&flow);
//! assert!(validate(&trust, DocKind::Trust).is_empty());
//!
//! // Across accounts both sides must allow.
//! let identity = CompiledPolicy::compile(&identity)?.labeled("MyRoleA identity policy");
//! let trust = CompiledPolicy::compile(&trust)?.labeled("MyRoleB trust policy");
//! let link = chain::assume_request(&flow, &flow.owners()[0]);
//! let request = Request::new(
//!     &link.principal,
//!     link.action,
//!     &link.resource,
//!     Some(link.resource_account.as_str()),
//!     link.context,
//! )?;
//! let both = PolicySet { identity: vec![&identity], resource: Some(&trust), ..PolicySet::default() };
//! assert_eq!(eval::decide(&request, &both), Outcome::Allowed);
//! let trust_only = PolicySet { resource: Some(&trust), ..PolicySet::default() };
//! let decision = eval::evaluate(&request, &trust_only);
//! assert_eq!(decision.decision, Outcome::ImplicitDeny);
//! assert_eq!(decision.reason, eval::Reason::CrossAccountNoIdentityAllow);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! **Architecture Invariant:** this crate does no I/O and knows nothing of aws-sdk, tokio or HTTP.

#![warn(missing_docs)]

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
pub mod unity;
pub mod validate;

pub use arn::{AccountId, Arn, BucketName, KmsKeyArn, NameError, RoleName, TypedArn};
pub use chain::LinkStatus;
pub use document::{OneOrMany, PolicyDocument, Principal, Statement};
pub use flow::{Access, Bucket, Deployment, Flow, FlowParts, FlowPath, FlowProblem, Owner, OwnerEntry};
pub use unity::{AccessMode, UnityBucket, UnityOwner};
pub use validate::{validate, validate_json, DocKind, Finding, Severity};

//! xacct automates Databricks' runbook "Secure access to S3 buckets across accounts using
//! instance profiles with an AssumeRole policy": one `xacct.toml` in, the changes planned and
//! applied in AWS account A (the Databricks deployment account), in each bucket-owner account B
//! and in the Databricks workspace, and the chain `MyRoleA → MyRoleB → bucket` proved link by
//! link, offline from the documents and live.
//!
//! This crate is the product: [`config`] loads and checks the file (every problem at once, with
//! line and column, before any call), [`session`] holds the connections, [`reconcile`] plans and
//! applies both sides, [`chain`] builds the verify report, [`exposure`] lists who else the
//! documents let in, [`report`] renders both as one HTML page, and [`cli`] is the command line
//! that the `xacct` binary runs.
//!
//! ```
//! let text = r#"
//! [deployment]
//! account_id = "111111111111"
//! instance_role = "MyRoleA"
//!
//! [[bucket_owners]]
//! account_id = "222222222222"
//! role = "MyRoleB"
//!   [[bucket_owners.buckets]]
//!   name = "my-bucket"
//! "#;
//! let config = xacct::config::parse_in(text, None).expect("a valid config");
//! // Offline: evaluate the documents `provision` would write, with no credentials and no calls.
//! let report = xacct::chain::offline_report(&config);
//! assert!(report.ok);
//! ```
//!
//! **Invariant:** nothing here depends on a test crate; `cargo install --path crates/xacct`
//! builds the binary from this crate and the library crates alone.
#![warn(missing_docs)]

pub mod chain;
pub mod cli;
pub mod config;
mod error;
pub mod exposure;
pub mod reconcile;
pub mod report;
pub mod session;
mod unity;

pub use error::Error;

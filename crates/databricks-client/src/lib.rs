//! A typed Databricks REST client for the parts of the runbook xacct automates: registering the instance profile,
//! configuring a cluster, and running `dbutils.fs` commands on it.
//!
//! - [`auth`]: unified auth (settings, `DATABRICKS_*` environment, `~/.databrickscfg`), PAT and OAuth M2M;
//! - [`Client`]: retries on 429 and 503 honouring `Retry-After`, typed [`ApiError`]s, call counters;
//! - instance profiles, clusters and command execution 1.2 as methods on [`Client`];
//! - Unity Catalog storage credentials, external locations, validation and grants, also on [`Client`].
//!
//! **Architecture Invariant:** this crate knows Databricks and nothing of AWS.
//!
//! **Invariant:** a token or client secret never appears in `Debug`, `Display`, logs or errors; it lives in a
//! [`Secret`].
//!
//! **Invariant:** on a cluster it did not create, the client changes only what the caller's [`AccessSpec`] names:
//! [`apply_access`] and [`remove_access`] keep every other field and Spark conf key.
//!
//! # Example
//!
//! Resolving credentials and editing a cluster spec need no server. Here the environment is a fixed map:
//!
//! ```
//! use std::collections::BTreeMap;
//!
//! use databricks_client::auth::{fixed_env, resolve};
//! use databricks_client::{apply_access, remove_access, AccessSpec, AuthMethod, AuthSettings, ClusterSpec};
//!
//! let env = fixed_env([("DATABRICKS_HOST", "dbc-1234.cloud.databricks.com"), ("DATABRICKS_TOKEN", "dapi-secret")]);
//! let credentials = resolve(&AuthSettings::default(), &*env)?;
//! assert_eq!(credentials.host, "https://dbc-1234.cloud.databricks.com");
//! assert_eq!(credentials.method.name(), "pat");
//! assert_eq!(credentials.method_source, "environment `DATABRICKS_TOKEN`");
//! assert!(!format!("{credentials:?}").contains("dapi-secret"));
//! assert!(matches!(&credentials.method, AuthMethod::Pat { token } if token.expose() == "dapi-secret"));
//!
//! // A cluster spec with a Spark conf key of its own.
//! let mut spec: ClusterSpec =
//!     serde_json::from_str(r#"{"cluster_name": "etl", "spark_conf": {"spark.sql.shuffle.partitions": "64"}}"#)?;
//! let conf = BTreeMap::from([("spark.hadoop.fs.s3a.credentialsType".to_owned(), "AssumeRole".to_owned())]);
//! let access = AccessSpec::new("arn:aws:iam::111111111111:instance-profile/MyRoleA", conf);
//! let changes = apply_access(&mut spec, &access);
//! assert_eq!(changes.len(), 2);
//! assert_eq!(spec["aws_attributes"]["instance_profile_arn"], "arn:aws:iam::111111111111:instance-profile/MyRoleA");
//! assert!(apply_access(&mut spec, &access).is_empty(), "a second apply changes nothing");
//!
//! // Taking it back leaves the cluster's own key.
//! remove_access(&mut spec, &access);
//! assert_eq!(spec["spark_conf"], serde_json::json!({"spark.sql.shuffle.partitions": "64"}));
//! assert_eq!(spec["aws_attributes"], serde_json::json!({}));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod auth;
mod client;
mod clock;
mod clusters;
mod commands;
mod dbfs;
mod error;
mod instance_profiles;
mod secret;
mod unity_catalog;

pub use auth::{AuthError, AuthMethod, AuthSettings, Credentials, EnvLookup};
pub use client::{Client, ClientOptions};
pub use clock::{Clock, ManualClock, SystemClock};
pub use clusters::{
    apply_access, editable_spec, remove_access, AccessSpec, ClusterAccess, ClusterInfo, ClusterSpec, ClusterState,
    ClusterTarget, MANAGED_TAG, READ_ONLY_CLUSTER_FIELDS,
};
pub use commands::{CommandResult, CommandStatus, Language, ResultType, Results};
pub use dbfs::FileInfo;
pub use error::{ApiError, Error};
pub use instance_profiles::{AddInstanceProfile, InstanceProfile};
pub use secret::Secret;
pub use unity_catalog::{
    missing_grants, revoke_grants, AwsIamRole, AwsIamRoleRequest, CreateExternalLocation, CreateStorageCredential,
    EncryptionDetails, ExternalLocation, PermissionsChange, PrivilegeAssignment, SseEncryptionDetails,
    StorageCredential, UpdateExternalLocation, UpdateStorageCredential, ValidateStorageCredential, Validation,
    ValidationResult,
};

/// What an `ensure_*` call did (or, from a `plan_*` call, would do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Already as wanted; nothing was written.
    Unchanged,
    /// Did not exist and was created.
    Created,
    /// Changed in place; one line per changed field.
    Updated {
        /// One line per changed field, e.g. `spark_conf.<key>: <old> -> <new>`.
        changes: Vec<String>,
    },
}

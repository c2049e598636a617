//! A typed Databricks REST client for the parts of the runbook xacct automates: registering the instance profile,
//! configuring a cluster, and running `dbutils.fs` commands on it.
//!
//! - [`auth`]: unified auth (settings, `DATABRICKS_*` environment, `~/.databrickscfg`), PAT and OAuth M2M;
//! - [`Client`]: retries on 429 and 503 honouring `Retry-After`, typed [`ApiError`]s, call counters;
//! - instance profiles, clusters and command execution 1.2 as methods on [`Client`].
//!
//! **Architecture Invariant:** this crate knows Databricks and nothing of AWS.
//!
//! **Invariant:** a token or client secret never appears in `Debug`, `Display`, logs or errors; it lives in a
//! [`Secret`].

pub mod auth;
mod client;
mod clock;
mod clusters;
mod commands;
mod dbfs;
mod error;
mod instance_profiles;
mod secret;

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

/// What an `ensure_*` call did (or, from a `plan_*` call, would do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Already as wanted; nothing was written.
    Unchanged,
    Created,
    /// Changed in place; one line per changed field.
    Updated {
        changes: Vec<String>,
    },
}

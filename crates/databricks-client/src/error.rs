//! Errors: the API's own `{error_code, message}` and what the client adds on top.

use std::fmt;
use std::time::Duration;

use crate::auth::AuthError;

/// An error response from the Databricks REST API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    /// `INVALID_PARAMETER_VALUE`, `RESOURCE_DOES_NOT_EXIST`, `INVALID_STATE`, `DRY_RUN_FAILED`, …
    pub error_code: Option<String>,
    pub message: String,
}

impl ApiError {
    pub fn is(&self, error_code: &str) -> bool {
        self.error_code.as_deref() == Some(error_code)
    }

    /// The resource does not exist: `RESOURCE_DOES_NOT_EXIST`, or a plain 404.
    pub fn is_not_found(&self) -> bool {
        self.is("RESOURCE_DOES_NOT_EXIST") || self.status == 404
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error_code {
            Some(code) => write!(f, "databricks returned {} {code}: {}", self.status, self.message),
            None => write!(f, "databricks returned {}: {}", self.status, self.message),
        }
    }
}

impl std::error::Error for ApiError {}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("{method} `{path}`: {source}")]
    Api { method: &'static str, path: String, source: ApiError },
    #[error("{method} `{path}` still throttled after {attempts} attempts over {waited:?}: {last}")]
    Throttled { method: &'static str, path: String, attempts: u32, waited: Duration, last: ApiError },
    #[error("{method} `{path}` failed: {detail}")]
    Transport { method: &'static str, path: String, detail: String },
    #[error("cannot reach Databricks at `{host}` ({method} `{path}`): {detail}. Hint: check the host (`DATABRICKS_HOST`, the config's `host` or the profile), the network and the proxy settings")]
    Unreachable { host: String, method: &'static str, path: String, detail: String },
    #[error("{method} `{path}` at `{host}` was sent but its reply was lost ({detail}); it may have taken effect, and it is not sent again blindly")]
    ReplyLost { host: String, method: &'static str, path: String, detail: String },
    #[error("unexpected response from `{path}`: {detail}")]
    Decode { path: String, detail: String },
    #[error("oauth token request to `{url}` failed: {detail}")]
    Token { url: String, detail: String },
    #[error("databricks could not validate instance profile `{instance_profile_arn}`: the ec2 dry run was not authorized. The likely cause is that the deployment (cross-account) role lacks `iam:PassRole` on the instance role, or that an SCP denies the dry run. Databricks said: {message}")]
    PassRoleDenied { instance_profile_arn: String, message: String },
    #[error("instance profile `{instance_profile_arn}` is still unknown to ec2 after {attempts} attempts over {waited:?} (iam propagation); check that the instance profile exists in the deployment account, then re-run")]
    InstanceProfileNotVisible { instance_profile_arn: String, attempts: u32, waited: Duration, last: ApiError },
    #[error("cluster `{cluster_id}` is {state}: {detail}")]
    ClusterUnusable { cluster_id: String, state: String, detail: String },
    #[error("timed out after {waited:?} waiting for {what}; last seen: {last}")]
    Timeout { what: String, waited: Duration, last: String },
    #[error("invalid cluster spec: {detail}")]
    InvalidSpec { detail: String },
    #[error("{count} clusters are named `{cluster_name}` ({}); set `cluster_id` to pick one", ids.join(", "))]
    AmbiguousCluster { cluster_name: String, count: usize, ids: Vec<String> },
}

impl Error {
    /// The API error behind this error, if there is one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api { source, .. } => Some(source),
            Error::Throttled { last, .. } | Error::InstanceProfileNotVisible { last, .. } => Some(last),
            _ => None,
        }
    }
}

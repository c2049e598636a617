//! Errors: the API's own `{error_code, message}` and what the client adds on top.

use std::fmt;
use std::time::Duration;

use crate::auth::AuthError;

/// An error response from the Databricks REST API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// `INVALID_PARAMETER_VALUE`, `RESOURCE_DOES_NOT_EXIST`, `INVALID_STATE`, `DRY_RUN_FAILED`, …
    pub error_code: Option<String>,
    /// The API's message, with any secret of the request scrubbed.
    pub message: String,
}

impl ApiError {
    /// Whether the API answered with this `error_code`, e.g. `INVALID_STATE`.
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

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Credentials could not be resolved.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The API answered with an error that is not retried.
    #[error("{method} `{path}`: {source}")]
    Api {
        /// The HTTP method, e.g. `POST`.
        method: &'static str,
        /// The API path, e.g. `/api/2.1/clusters/edit`.
        path: String,
        /// The API's error.
        source: ApiError,
    },
    /// 429 or 503 answers kept coming until [`ClientOptions::retry_deadline`](crate::ClientOptions::retry_deadline).
    #[error("{method} `{path}` still throttled after {attempts} attempts over {waited:?}: {last}")]
    Throttled {
        /// The HTTP method, e.g. `POST`.
        method: &'static str,
        /// The API path, e.g. `/api/2.1/clusters/edit`.
        path: String,
        /// Requests sent, the first included.
        attempts: u32,
        /// Time from the first request to giving up.
        waited: Duration,
        /// The last 429 or 503 answer.
        last: ApiError,
    },
    /// The request got no HTTP answer after its retries (a timeout, a broken connection), or could
    /// not be built.
    #[error("{method} `{path}` failed: {detail}")]
    Transport {
        /// The HTTP method, e.g. `POST`.
        method: &'static str,
        /// The API path, e.g. `/api/2.1/clusters/edit`.
        path: String,
        /// The HTTP client's error.
        detail: String,
    },
    /// No connection to the workspace could be made (wrong host, refused, DNS), after the retries.
    #[error("cannot reach Databricks at `{host}` ({method} `{path}`): {detail}. Hint: check the host (`DATABRICKS_HOST`, the config's `host` or the profile), the network and the proxy settings")]
    Unreachable {
        /// The workspace URL.
        host: String,
        /// The HTTP method, e.g. `POST`.
        method: &'static str,
        /// The API path, e.g. `/api/2.1/clusters/edit`.
        path: String,
        /// The connection error.
        detail: String,
    },
    /// A POST that must not run twice was sent and its reply was lost: it may have taken effect.
    #[error("{method} `{path}` at `{host}` was sent but its reply was lost ({detail}); it may have taken effect, and it is not sent again blindly")]
    ReplyLost {
        /// The workspace URL.
        host: String,
        /// The HTTP method, e.g. `POST`.
        method: &'static str,
        /// The API path, e.g. `/api/2.1/clusters/edit`.
        path: String,
        /// What happened to the reply.
        detail: String,
    },
    /// A body that could not be encoded, or an answer that does not decode as expected.
    #[error("unexpected response from `{path}`: {detail}")]
    Decode {
        /// The API path, e.g. `/api/2.1/clusters/edit`.
        path: String,
        /// What could not be encoded or decoded.
        detail: String,
    },
    /// The OAuth token request failed.
    #[error("oauth token request to `{url}` failed: {detail}")]
    Token {
        /// The token endpoint, `{host}/oidc/v1/token`.
        url: String,
        /// What failed, with the client secret scrubbed.
        detail: String,
    },
    /// Adding the instance profile failed its EC2 dry run as not authorized.
    #[error("databricks could not validate instance profile `{instance_profile_arn}`: the ec2 dry run was not authorized. The likely cause is that the deployment (cross-account) role lacks `iam:PassRole` on the instance role, or that an SCP denies the dry run. Databricks said: {message}")]
    PassRoleDenied {
        /// The instance profile being added.
        instance_profile_arn: String,
        /// Databricks' message.
        message: String,
    },
    /// EC2 still did not know the instance profile after every IAM-lag retry.
    #[error("instance profile `{instance_profile_arn}` is still unknown to ec2 after {attempts} attempts over {waited:?} (iam propagation); check that the instance profile exists in the deployment account, then re-run")]
    InstanceProfileNotVisible {
        /// The instance profile being added.
        instance_profile_arn: String,
        /// Requests sent.
        attempts: u32,
        /// Time spent, backoffs included.
        waited: Duration,
        /// The last answer.
        last: ApiError,
    },
    /// The cluster, or an execution context on it, is in a state that cannot serve the call.
    #[error("cluster `{cluster_id}` is {state}: {detail}")]
    ClusterUnusable {
        /// The cluster's id.
        cluster_id: String,
        /// The cluster's state, e.g. `ERROR`, or `context error`.
        state: String,
        /// What was being done and what was found.
        detail: String,
    },
    /// A wait for a cluster state, a context or a command ran out of time.
    #[error("timed out after {waited:?} waiting for {what}; last seen: {last}")]
    Timeout {
        /// What was awaited, e.g. ``cluster `0101-abc` to be RUNNING``.
        what: String,
        /// How long it waited.
        waited: Duration,
        /// The last state seen.
        last: String,
    },
    /// A cluster spec that cannot be used, e.g. a new cluster without a name.
    #[error("invalid cluster spec: {detail}")]
    InvalidSpec {
        /// What is wrong with the spec.
        detail: String,
    },
    /// Several clusters have the name asked for.
    #[error("{count} clusters are named `{cluster_name}` ({}); set `cluster_id` to pick one", ids.join(", "))]
    AmbiguousCluster {
        /// The name asked for.
        cluster_name: String,
        /// How many clusters have it.
        count: usize,
        /// Their ids.
        ids: Vec<String>,
    },
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

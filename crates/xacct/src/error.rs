//! The errors of the product's commands.

/// A command that could not finish. Each variant says what failed; the ones from a library
/// crate keep that crate's error as their source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An AWS call failed, or the accounts could not be set up.
    #[error(transparent)]
    Aws(#[from] aws_apply::Error),
    /// The AWS plan found problems in the documents it would write; nothing was written.
    #[error(transparent)]
    Plan(#[from] aws_apply::PlanError),
    /// An AWS write failed part-way; what was done before it is in the source's report.
    #[error(transparent)]
    Apply(#[from] Box<aws_apply::ApplyError>),
    /// A Databricks call failed.
    #[error(transparent)]
    Databricks(#[from] databricks_client::Error),
    /// The Databricks client could not be set up (host or credentials).
    #[error("cannot set up the Databricks client: {0}")]
    DatabricksSetup(databricks_client::Error),
    /// A command run on the cluster reported a failure.
    #[error("{what} on cluster `{cluster_id}` failed: {detail}")]
    ClusterCommand {
        /// What the command was for, such as "mounting /mnt/b".
        what: String,
        /// The cluster it ran on.
        cluster_id: String,
        /// What the cluster said.
        detail: String,
    },
    /// A destroy step failed after earlier steps; `left` says what is still there.
    #[error("{source}; still in place: {left}")]
    Partial {
        /// The failure.
        #[source]
        source: Box<Error>,
        /// What the failed run left behind, in words.
        left: String,
    },
    /// A Unity Catalog step could not be done: a credential or location of that name is someone
    /// else's, or the credential does not validate.
    #[error("{0}")]
    UnityCatalog(String),
    /// Local I/O: the async runtime, the terminal.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl From<aws_apply::ApplyError> for Error {
    fn from(e: aws_apply::ApplyError) -> Error {
        Error::Apply(Box::new(e))
    }
}

//! Command execution 1.2: contexts and commands on a running cluster.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::{Client, Repeat};
use crate::error::Error;

/// The language of an execution context and its commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// `python`.
    Python,
    /// `scala`.
    Scala,
    /// `sql`.
    Sql,
    /// `r`.
    R,
}

/// A command's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommandStatus {
    /// Waiting to run.
    Queued,
    /// Running.
    Running,
    /// Being cancelled.
    Cancelling,
    /// Done; `results` says whether it succeeded.
    Finished,
    /// Cancelled before it finished.
    Cancelled,
    /// Failed to run.
    Error,
}

impl CommandStatus {
    /// Whether the command has stopped: finished, cancelled or failed.
    pub fn is_done(self) -> bool {
        matches!(self, CommandStatus::Finished | CommandStatus::Cancelled | CommandStatus::Error)
    }
}

/// The kind of a command's results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResultType {
    /// Text output in `data`.
    Text,
    /// A table in `data`.
    Table,
    /// The command raised; `cause` and `summary` say what.
    Error,
    /// One image.
    Image,
    /// Several images.
    Images,
}

/// `results` of a command status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Results {
    /// The kind of result.
    #[serde(default)]
    pub result_type: Option<ResultType>,
    /// The output: a string for text, rows for a table.
    #[serde(default)]
    pub data: Option<Value>,
    /// The exception text, when `result_type` is `error`.
    #[serde(default)]
    pub cause: Option<String>,
    /// A one-line summary of the error, when `result_type` is `error`.
    #[serde(default)]
    pub summary: Option<String>,
}

/// The final status of a command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandResult {
    /// The command's id.
    #[serde(default)]
    pub id: Option<String>,
    /// Where the command is.
    pub status: CommandStatus,
    /// What it produced, once it has stopped.
    #[serde(default)]
    pub results: Option<Results>,
}

impl CommandResult {
    /// Finished with a result that is not an error.
    pub fn is_success(&self) -> bool {
        self.status == CommandStatus::Finished
            && self.results.as_ref().is_none_or(|r| r.result_type != Some(ResultType::Error))
    }

    /// The text output, for a `text` result.
    pub fn text(&self) -> Option<&str> {
        let results = self.results.as_ref()?;
        if results.result_type == Some(ResultType::Text) {
            results.data.as_ref().and_then(Value::as_str)
        } else {
            None
        }
    }

    /// Why the command failed: the cause, else the summary, else the status.
    pub fn failure(&self) -> Option<String> {
        if self.is_success() {
            return None;
        }
        let results = self.results.as_ref();
        Some(
            results
                .and_then(|r| r.cause.clone().or_else(|| r.summary.clone()))
                .unwrap_or_else(|| format!("command ended with status {:?}", self.status)),
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum ContextStatus {
    Pending,
    Running,
    Error,
}

#[derive(Deserialize)]
struct ContextStatusResponse {
    status: ContextStatus,
}

#[derive(Deserialize)]
struct IdResponse {
    id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateContext<'a> {
    cluster_id: &'a str,
    language: Language,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Execute<'a> {
    cluster_id: &'a str,
    context_id: &'a str,
    language: Language,
    command: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DestroyContext<'a> {
    cluster_id: &'a str,
    context_id: &'a str,
}

#[derive(Deserialize)]
struct Empty {}

impl Client {
    /// Creates an execution context and returns its id.
    pub async fn create_context(&self, cluster_id: &str, language: Language) -> Result<String, Error> {
        let response: IdResponse =
            self.post("/api/1.2/contexts/create", &CreateContext { cluster_id, language }).await?;
        Ok(response.id)
    }

    /// Destroys an execution context, freeing its memory on the cluster.
    pub async fn destroy_context(&self, cluster_id: &str, context_id: &str) -> Result<(), Error> {
        self.post::<Empty>("/api/1.2/contexts/destroy", &DestroyContext { cluster_id, context_id }).await.map(drop)
    }

    /// Starts a command and returns its id.
    pub async fn execute_command(
        &self,
        cluster_id: &str,
        context_id: &str,
        language: Language,
        command: &str,
    ) -> Result<String, Error> {
        let body = Execute { cluster_id, context_id, language, command };
        // A repeat would run the command twice (a mount, say): a lost reply is returned as such.
        let response: IdResponse = self.post_with("/api/1.2/commands/execute", &body, Repeat::Never).await?;
        Ok(response.id)
    }

    /// The current status of a command, without waiting.
    pub async fn command_status(
        &self,
        cluster_id: &str,
        context_id: &str,
        command_id: &str,
    ) -> Result<CommandResult, Error> {
        self.get(
            "/api/1.2/commands/status",
            &[("clusterId", cluster_id), ("contextId", context_id), ("commandId", command_id)],
        )
        .await
    }

    /// Runs one command on a running cluster: creates a context, waits for it, executes, polls until the command
    /// is done (within `command_timeout`), and always destroys the context. A command that raised is
    /// `Ok` with [`CommandResult::is_success`] false; its cause is in [`CommandResult::failure`].
    pub async fn run_command(
        &self,
        cluster_id: &str,
        language: Language,
        command: &str,
    ) -> Result<CommandResult, Error> {
        let context_id = self.create_context(cluster_id, language).await?;
        let result = self.run_in_context(cluster_id, &context_id, language, command).await;
        let destroyed = self.destroy_context(cluster_id, &context_id).await;
        match (result, destroyed) {
            (Ok(result), Ok(())) => Ok(result),
            (Ok(_), Err(err)) => Err(err),
            (Err(err), destroyed) => {
                if let Err(destroy_err) = destroyed {
                    tracing::warn!(context_id, error = %destroy_err, "could not destroy the execution context");
                }
                Err(err)
            }
        }
    }

    async fn run_in_context(
        &self,
        cluster_id: &str,
        context_id: &str,
        language: Language,
        command: &str,
    ) -> Result<CommandResult, Error> {
        let clock = self.clock();
        let started = clock.now();
        let timeout = self.options().command_timeout;
        let poll = self.options().poll_interval;
        loop {
            let status: ContextStatusResponse =
                self.get("/api/1.2/contexts/status", &[("clusterId", cluster_id), ("contextId", context_id)]).await?;
            match status.status {
                ContextStatus::Running => break,
                ContextStatus::Error => {
                    return Err(Error::ClusterUnusable {
                        cluster_id: cluster_id.to_owned(),
                        state: "context error".to_owned(),
                        detail: format!("execution context `{context_id}` failed to start"),
                    })
                }
                ContextStatus::Pending => {}
            }
            let waited = clock.now().saturating_duration_since(started);
            if waited >= timeout {
                return Err(Error::Timeout {
                    what: format!("execution context `{context_id}` to start"),
                    waited,
                    last: "Pending".to_owned(),
                });
            }
            clock.sleep(poll).await;
        }
        let command_id = self.execute_command(cluster_id, context_id, language, command).await?;
        loop {
            let result = self.command_status(cluster_id, context_id, &command_id).await?;
            if result.status.is_done() {
                return Ok(result);
            }
            let waited = clock.now().saturating_duration_since(started);
            if waited >= timeout {
                return Err(Error::Timeout {
                    what: format!("command `{command_id}` to finish"),
                    waited,
                    last: format!("{:?}", result.status),
                });
            }
            clock.sleep(poll).await;
        }
    }
}

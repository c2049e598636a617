//! The connections one command works with: the AWS accounts and the Databricks workspace.

use aws_apply::Accounts;
use databricks_client::ClusterTarget;
use serde::Serialize;

use crate::config::{Config, DatabricksSection};
use crate::Error;

/// The AWS clients of every account in the config, and the Databricks client when the config
/// has a `[databricks]` section.
pub struct Session {
    /// The loaded config.
    pub config: Config,
    /// One set of AWS clients per account.
    pub accounts: Accounts,
    /// The Databricks client, when the config has a `[databricks]` section.
    pub databricks: Option<databricks_client::Client>,
}

/// The calls a command made, by side: the `api_calls` object of the JSON outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ApiCalls {
    /// AWS reads, retries included.
    pub aws_reads: u64,
    /// AWS writes, retries included.
    pub aws_writes: u64,
    /// Databricks reads.
    pub databricks_reads: u64,
    /// Databricks writes.
    pub databricks_writes: u64,
}

impl Session {
    /// Sets up the clients. Makes no call: credentials are resolved lazily by the SDKs.
    pub async fn open(config: Config) -> Result<Session, Error> {
        let accounts = Accounts::load(&config.flow, &config.profiles).await?;
        let databricks = match &config.databricks {
            Some(section) => Some(databricks_client(section)?),
            None => None,
        };
        Ok(Session { config, accounts, databricks })
    }

    /// The cluster the config names: an existing one by id, or a new one by its spec.
    pub fn cluster_target(&self) -> Option<ClusterTarget> {
        cluster_target(self.config.databricks.as_ref()?)
    }

    /// Every call made so far.
    pub fn api_calls(&self) -> ApiCalls {
        let aws = self.accounts.api_calls();
        let (databricks_reads, databricks_writes) =
            self.databricks.as_ref().map_or((0, 0), |c| (c.reads(), c.writes()));
        ApiCalls { aws_reads: aws.reads(), aws_writes: aws.writes(), databricks_reads, databricks_writes }
    }
}

/// The cluster a `[databricks]` section names.
pub fn cluster_target(section: &DatabricksSection) -> Option<ClusterTarget> {
    match (&section.cluster_id, &section.new_cluster) {
        (Some(id), _) => Some(ClusterTarget::Existing(id.clone())),
        (None, Some(nc)) => match serde_json::to_value(nc) {
            Ok(serde_json::Value::Object(spec)) => Some(ClusterTarget::New(spec)),
            _ => None,
        },
        (None, None) => None,
    }
}

/// A Databricks client for the section, with auth from the section, the environment and
/// `~/.databrickscfg`, as the Databricks SDKs resolve it.
pub fn databricks_client(section: &DatabricksSection) -> Result<databricks_client::Client, Error> {
    let settings = databricks_client::AuthSettings {
        host: section.host.clone(),
        profile: section.profile.clone(),
        ..Default::default()
    };
    let env = databricks_client::auth::process_env();
    databricks_client::Client::from_settings(&settings, &*env, databricks_client::ClientOptions::default())
        .map_err(Error::DatabricksSetup)
}

/// A multi-threaded tokio runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Runtime::new().map_err(|source| Error::Io { what: "cannot start the async runtime", source })
}

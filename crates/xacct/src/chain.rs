//! The chain report for a config: offline from the documents `provision` would write, or live
//! from the deployed documents and the probes.

use databricks_client::ClusterTarget;
use verify::Report;

use crate::config::Config;
use crate::session::Session;
use crate::Error;

/// Evaluates the documents `provision` would write; no credentials, no calls.
pub fn offline_report(config: &Config) -> Report {
    let inputs = verify::OfflineInputs {
        bucket_policies: config.known.bucket_policies.clone(),
        scps: config.known.scps.clone(),
        databricks: config
            .databricks
            .as_ref()
            .map(|d| verify::Databricks::expected(&config.flow, d.cluster_id.as_deref())),
        cluster_id: config.databricks.as_ref().and_then(|d| d.cluster_id.clone()),
        ..Default::default()
    };
    verify::offline(&config.flow, &inputs)
}

/// Reads the deployed documents, evaluates them and runs the live probes. The cluster is found
/// as `provision` finds it: by id, or by name preferring the one xacct created.
pub async fn live_report(session: &Session, on_cluster: bool) -> Result<Report, Error> {
    let flow = &session.config.flow;
    let aws = session
        .accounts
        .ids()
        .filter_map(|id| session.accounts.sdk_config(id).map(|c| (id.clone(), c.clone())))
        .collect();
    // A configured cluster id goes through as it is, so that one that does not exist fails the
    // databricks link; a new cluster's name is looked up.
    let cluster_id = match (&session.databricks, session.cluster_target()) {
        (_, Some(ClusterTarget::Existing(id))) => Some(id),
        (Some(client), Some(target)) => client.find_cluster(&target).await?.map(|c| c.cluster_id),
        _ => None,
    };
    let inputs = verify::LiveInputs {
        aws,
        databricks: session.databricks.clone(),
        cluster_id,
        on_cluster,
        scps: session.config.known.scps.clone(),
        probe_interceptors: Vec::new(),
    };
    Ok(verify::live(&inputs, flow).await)
}

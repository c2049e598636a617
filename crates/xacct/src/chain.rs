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
    live_report_with(session, on_cluster, None).await
}

/// [`live_report`] right after a `provision` that wrote something, waiting for IAM propagation
/// within [`verify::Propagation::AFTER_WRITE`].
pub async fn live_report_after_write(session: &Session, on_cluster: bool) -> Result<Report, Error> {
    live_report_with(session, on_cluster, Some(verify::Propagation::AFTER_WRITE)).await
}

/// [`live_report`] right after a write: probes refused with AccessDenied are tried again within
/// `propagation` while IAM propagates ([`verify::Propagation::AFTER_WRITE`] waits 30 s at most per
/// probe), and a probe that passed only after waiting says so in its evidence.
pub async fn live_report_with(
    session: &Session,
    on_cluster: bool,
    propagation: Option<verify::Propagation>,
) -> Result<Report, Error> {
    let flow = &session.config.flow;
    // A profile that reaches another account must not be verified against. Any other failure
    // here (no credentials, an endpoint that does not answer) leaves the links to say what
    // could not be read: they are reported as not checked, never as passed.
    match session.accounts.check_identities().await {
        Err(e @ aws_apply::Error::WrongAccount { .. }) => return Err(e.into()),
        Err(e) => tracing::debug!(error = %e, "identity check failed; the reads will say why"),
        Ok(()) => {}
    }
    // A configured cluster id goes through as it is, so that one that does not exist fails the
    // databricks link; a new cluster's name is looked up.
    let cluster_id = match (&session.databricks, session.cluster_target()) {
        (_, Some(ClusterTarget::Existing(id))) => Some(id),
        (Some(client), Some(target)) => client.find_cluster(&target).await?.map(|c| c.cluster_id),
        _ => None,
    };
    let inputs = verify::LiveInputs {
        aws: Some(session.accounts.clone()),
        databricks: session.databricks.clone(),
        cluster_id,
        on_cluster,
        scps: session.config.known.scps.clone(),
        probe_interceptors: Vec::new(),
        propagation,
    };
    Ok(verify::live(&inputs, flow).await)
}

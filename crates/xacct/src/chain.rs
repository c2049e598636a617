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
        key_policies: config.known.key_policies.clone(),
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
///
/// A role of the chain created in the last [`RECENT_WRITE`] is a write IAM may not have
/// propagated yet: the probes then wait as [`live_report_after_write`] does.
pub async fn live_report(session: &Session, on_cluster: bool) -> Result<Report, Error> {
    let propagation = recently_created(session).await.then_some(verify::Propagation::AFTER_WRITE);
    live_report_with(session, on_cluster, propagation).await
}

/// How recent a role's creation makes a live verify wait for IAM propagation.
pub const RECENT_WRITE: std::time::Duration = std::time::Duration::from_secs(300);

/// True when the instance role or an owner's role (in either access mode) was created within [`RECENT_WRITE`] (one
/// GetRole each; a failed read counts as not recent, and the chain's own reads say why).
async fn recently_created(session: &Session) -> bool {
    use aws_apply::Iam;
    let flow = &session.config.flow;
    let roles = flow
        .deployment()
        .map(|d| (&d.account_id, &d.instance_role))
        .into_iter()
        .chain(flow.owners().iter().map(|o| (&o.account_id, &o.role)))
        .chain(flow.unity_owners().iter().map(|o| (&o.account_id, &o.role)));
    for (account, role) in roles {
        if let Ok(Some(info)) = session.accounts.get_role(account, role.as_str()).await {
            let age = info.created.and_then(|c| std::time::SystemTime::now().duration_since(c).ok());
            if age.is_some_and(|age| age < RECENT_WRITE) {
                tracing::info!(%account, role = role.as_str(), ?age, "the role is new: the probes wait for IAM propagation");
                return true;
            }
        }
    }
    false
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

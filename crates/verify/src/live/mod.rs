//! The live check: read the deployed state, evaluate it as offline does, then probe.

mod probe;
mod read;

use aws_sdk_s3::config::SharedInterceptor;
use policy_model::{Flow, PolicyDocument};

use crate::report::Report;
use crate::state::State;

pub use probe::{probe_ids, Propagation};

/// What [`live`] needs.
#[derive(Debug, Clone, Default)]
pub struct LiveInputs {
    /// The AWS access layer, with clients for every account of the flow: each account's own
    /// read its documents, and account A's run the probes. `None`: no AWS credentials, and
    /// every AWS link is unchecked. Run [`aws_apply::Accounts::check_identities`] first.
    pub aws: Option<aws_apply::Accounts>,
    /// The Databricks client, when the config has a `[databricks]` section.
    pub databricks: Option<databricks_client::Client>,
    /// The cluster to check (and to run `--on-cluster` on).
    pub cluster_id: Option<String>,
    /// Run `dbutils.fs.ls("s3a://<bucket>/")` on the cluster through command execution.
    pub on_cluster: bool,
    /// SCP levels given in the config, root first, applied to every account.
    pub scps: Vec<Vec<PolicyDocument>>,
    /// Interceptors added to the probes' STS and S3 clients (for fault injection in tests); the
    /// canary's final clean-up runs without them.
    pub probe_interceptors: Vec<SharedInterceptor>,
    /// Set right after a write (a `provision` that changed something): a probe refused with
    /// AccessDenied is tried again within this bound while IAM propagates. `None` (a converged
    /// run, or a plain `verify`) never waits.
    pub propagation: Option<Propagation>,
}

/// Reads the deployed documents, evaluates them like [`crate::offline`], then runs the probes.
/// Writes nothing but the canary object, which it always deletes.
pub async fn live(inputs: &LiveInputs, flow: &Flow) -> Report {
    let state = read::read_state(flow, inputs).await;
    live_with_state(inputs, flow, &state).await
}

/// [`live`] on a state already read.
pub async fn live_with_state(inputs: &LiveInputs, flow: &Flow, state: &State) -> Report {
    let eval = crate::chain::evaluate(flow, state);
    let mut probes = probe::Probes { flow, inputs, state, eval: &eval, links: Vec::new(), warnings: Vec::new() };
    probes.run().await;
    let (mut links, mut warnings) = (probes.links, probes.warnings);
    if inputs.on_cluster {
        links.extend(probe::on_cluster(flow, inputs, &eval, &mut warnings).await);
    }
    let mut all = eval.links.clone();
    all.extend(crate::unity::links(flow, state, true));
    all.extend(links);
    // The validator's findings on the deployed documents: warnings, since they are already written.
    warnings.extend(state.findings());
    Report::new(all, warnings)
}

/// Reads the deployed state without probing (what `live` evaluates).
pub async fn read_state(inputs: &LiveInputs, flow: &Flow) -> State {
    read::read_state(flow, inputs).await
}

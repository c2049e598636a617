//! `plan`, `provision` and `destroy` across both sides: AWS through aws-apply, then Databricks
//! through databricks-client. AWS goes first on provision (the instance profile must exist before
//! Databricks validates it) and last on destroy (unmounts need the role to still work).

use std::time::{Duration, Instant};

use aws_apply::{Action, ApplyOptions, Progress};
use databricks_client::{AccessSpec, ClusterTarget, Outcome};
use policy_model::{Deployment, Flow};
use serde::Serialize;

use crate::session::Session;
use crate::Error;

/// Whether a plan builds the flow or takes it down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Make the live state what the config says.
    Provision,
    /// Remove what xacct created and its statements in shared documents.
    Destroy,
}

/// One Databricks change, planned or made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatabricksChange {
    /// What is changed, such as `instance profile arn:…` or `cluster 0123-…`.
    pub resource: String,
    /// Create, update, delete or no-op.
    pub action: Action,
    /// One line per changed field.
    pub detail: Vec<String>,
}

/// The changes on both sides.
#[derive(Debug, Clone, PartialEq)]
pub struct FullPlan {
    /// What aws-apply will do, per resource.
    pub aws: aws_apply::Plan,
    /// What will change in the Databricks workspace.
    pub databricks: Vec<DatabricksChange>,
}

/// How many resources a plan creates, updates, deletes and leaves alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Summary {
    /// Resources to create.
    pub create: usize,
    /// Resources to update.
    pub update: usize,
    /// Resources to delete.
    pub delete: usize,
    /// Resources already as the config says.
    pub unchanged: usize,
}

impl FullPlan {
    /// True when nothing would be written on either side.
    pub fn is_converged(&self) -> bool {
        self.aws.is_converged() && self.databricks.iter().all(|c| c.action == Action::NoOp)
    }

    /// The counts per action.
    pub fn summary(&self) -> Summary {
        let actions = self.aws.changes.iter().map(|c| c.action).chain(self.databricks.iter().map(|c| c.action));
        actions.fold(Summary::default(), |mut s, action| {
            match action {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Delete => s.delete += 1,
                Action::NoOp => s.unchanged += 1,
            }
            s
        })
    }
}

/// What xacct wants on the cluster: the instance profile, the flow's Spark conf, and the keys it
/// manages so that stale ones (from an earlier config) are removed.
pub fn cluster_access(flow: &Flow) -> AccessSpec {
    AccessSpec {
        instance_profile_arn: flow.deployment().map(Deployment::instance_profile_arn).unwrap_or_default(),
        spark_conf: spark_conf::spark_conf_map(flow),
        managed_keys: spark_conf::managed_spark_keys(flow),
    }
}

/// Account A, when some owner uses the instance-profile mode: only then does Databricks get an
/// instance profile and a cluster.
pub fn runbook_deployment(flow: &Flow) -> Option<&Deployment> {
    flow.deployment().filter(|_| !flow.owners().is_empty())
}

/// Reads the live state of both sides and plans the changes. Before reading anything, checks that
/// each profile reaches the account the config names.
pub async fn plan(session: &Session, mode: Mode) -> Result<FullPlan, Error> {
    let flow = &session.config.flow;
    session.accounts.check_identities().await?;
    let observed = aws_apply::observe(&session.accounts, flow).await?;
    // A Unity Catalog owner's trust names the external ID of its credential, when it exists.
    let trust = match (&session.databricks, mode) {
        (Some(client), Mode::Provision) => crate::unity::read_trust(client, flow).await?,
        _ => Default::default(),
    };
    let aws = match mode {
        Mode::Destroy => aws_apply::plan_destroy_with(flow, &observed, &session.config.roles),
        Mode::Provision => aws_apply::plan_with(flow, &observed, &session.config.roles, &trust)?,
    };
    let mut databricks = Vec::new();
    if let Some(client) = &session.databricks {
        databricks.extend(crate::unity::plan(client, flow, mode == Mode::Destroy).await?);
    }
    if let (Some(client), Some(deployment)) = (&session.databricks, runbook_deployment(flow)) {
        let profile = deployment.instance_profile_arn();
        let registered = client.plan_instance_profile(&profile, &deployment.instance_role_arn()).await?;
        let resource = format!("instance profile {profile}");
        match mode {
            Mode::Destroy => {
                // `Created` means it is not registered: nothing to remove.
                let action = if registered == Outcome::Created { Action::NoOp } else { Action::Delete };
                databricks.push(DatabricksChange { resource, action, detail: Vec::new() });
                if let Some(cluster) = match session.cluster_target() {
                    Some(target) => client.find_cluster(&target).await?,
                    None => None,
                } {
                    let change = if cluster.is_managed() {
                        DatabricksChange {
                            resource: format!("cluster {} (created by xacct)", cluster.cluster_id),
                            action: Action::Delete,
                            detail: Vec::new(),
                        }
                    } else {
                        let detail =
                            databricks_client::remove_access(&mut cluster.editable_spec(), &cluster_access(flow));
                        let action = if detail.is_empty() { Action::NoOp } else { Action::Update };
                        DatabricksChange { resource: format!("cluster {}", cluster.cluster_id), action, detail }
                    };
                    databricks.push(change);
                }
            }
            Mode::Provision => {
                databricks.push(from_outcome(resource, &registered));
                if let Some(target) = session.cluster_target() {
                    let outcome = client.plan_cluster_access(&target, &cluster_access(flow)).await?;
                    databricks.push(from_outcome(cluster_name(&target), &outcome));
                }
            }
        }
    }
    Ok(FullPlan { aws, databricks })
}

fn from_outcome(resource: String, outcome: &Outcome) -> DatabricksChange {
    let (action, detail) = match outcome {
        Outcome::Unchanged => (Action::NoOp, Vec::new()),
        Outcome::Created => (Action::Create, Vec::new()),
        Outcome::Updated { changes } => (Action::Update, changes.clone()),
    };
    DatabricksChange { resource, action, detail }
}

fn cluster_name(target: &ClusterTarget) -> String {
    match target {
        ClusterTarget::Existing(id) => format!("cluster {id}"),
        ClusterTarget::New(spec) => {
            format!("cluster {}", spec.get("cluster_name").and_then(|v| v.as_str()).unwrap_or("(new)"))
        }
    }
}

fn report(on_progress: &Progress, resource: &str, action: Action, started: Instant) {
    on_progress(resource, action, started.elapsed());
}

/// A progress callback that reports nothing.
pub fn no_progress() -> Progress {
    std::sync::Arc::new(|_: &str, _: Action, _: Duration| {})
}

/// Applies a provision plan: AWS in dependency order, then the Databricks registration, the
/// cluster and the mounts.
pub async fn apply(session: &Session, plan: &FullPlan, on_progress: &Progress) -> Result<(), Error> {
    let options = ApplyOptions { on_progress: Some(on_progress.clone()), ..Default::default() };
    aws_apply::apply(&session.accounts, &plan.aws, &options).await?;
    apply_databricks(session, on_progress).await?;
    let changed = plan.aws.changes.iter().filter(|c| c.action != Action::NoOp).map(|c| c.account.clone()).collect();
    crate::unity::apply(session, &changed, on_progress).await
}

async fn apply_databricks(session: &Session, on_progress: &Progress) -> Result<(), Error> {
    let Some(client) = &session.databricks else { return Ok(()) };
    let flow = &session.config.flow;
    let Some(deployment) = runbook_deployment(flow) else { return Ok(()) };
    let profile = deployment.instance_profile_arn();
    let t = Instant::now();
    let outcome = client.ensure_instance_profile(&profile, &deployment.instance_role_arn()).await?;
    let resource = format!("databricks instance profile {profile}");
    report(on_progress, &resource, from_outcome(String::new(), &outcome).action, t);
    let Some(target) = session.cluster_target() else { return Ok(()) };
    let t = Instant::now();
    let access = client.ensure_cluster_access(&target, &cluster_access(flow)).await?;
    let resource = format!("databricks cluster {}", access.cluster_id);
    report(on_progress, &resource, from_outcome(String::new(), &access.outcome).action, t);
    // A mount is made when it is missing, or redone when the cluster changed in this run; an
    // existing mount is seen through DBFS get-status, a read, so a converged run writes nothing.
    let cluster_changed = access.outcome != Outcome::Unchanged;
    for (owner, bucket) in flow.buckets().filter(|(_, b)| b.mount) {
        let point = spark_conf::databricks::mount_point(&bucket.name);
        let t = Instant::now();
        let resource = format!("databricks mount {point}");
        if !cluster_changed && client.dbfs_status(&point).await?.is_some() {
            report(on_progress, &resource, Action::NoOp, t);
            continue;
        }
        client.ensure_running(&access.cluster_id).await?;
        let command = spark_conf::databricks::mount_command_python(owner, &bucket.name);
        let result = match client.run_command(&access.cluster_id, databricks_client::Language::Python, &command).await {
            Ok(result) => Some(result),
            // The command was sent and its reply lost: the mount point says whether it ran.
            Err(err @ databricks_client::Error::ReplyLost { .. }) => match client.dbfs_status(&point).await? {
                Some(_) => None,
                None => return Err(err.into()),
            },
            Err(err) => return Err(err.into()),
        };
        if let Some(failure) = result.as_ref().and_then(|r| r.failure()) {
            return Err(Error::ClusterCommand {
                what: format!("mounting {point}"),
                cluster_id: access.cluster_id.clone(),
                detail: failure.to_string(),
            });
        }
        report(on_progress, &resource, Action::Update, t);
    }
    Ok(())
}

/// Applies a destroy plan: Databricks first (unmount while the role still works, take back the
/// cluster settings or delete the cluster xacct made, forget the profile), then AWS. When a
/// Databricks step fails, AWS is left alone and the error says what is still in place.
pub async fn destroy(session: &Session, plan: &FullPlan, on_progress: &Progress) -> Result<(), Error> {
    destroy_databricks(session, plan, on_progress).await?;
    crate::unity::destroy(session, on_progress).await.map_err(|e| Error::Partial {
        source: Box::new(e),
        left: "Unity Catalog locations and credentials not yet removed; every AWS resource (destroy stopped before AWS). Re-run destroy when fixed".to_owned(),
    })?;
    let options = ApplyOptions { on_progress: Some(on_progress.clone()), ..Default::default() };
    aws_apply::apply(&session.accounts, &plan.aws, &options).await?;
    Ok(())
}

async fn destroy_databricks(session: &Session, plan: &FullPlan, on_progress: &Progress) -> Result<(), Error> {
    let Some(client) = &session.databricks else { return Ok(()) };
    let flow = &session.config.flow;
    let Some(deployment) = runbook_deployment(flow) else { return Ok(()) };
    let profile = deployment.instance_profile_arn();
    let left = |what: &str| {
        let left = format!("{what}; every AWS resource (destroy stopped before AWS). Re-run destroy when fixed");
        move |e: Error| Error::Partial { source: Box::new(e), left }
    };
    let cluster = match session.cluster_target() {
        Some(target) => client.find_cluster(&target).await.map_err(Error::from).map_err(left("the mounts"))?,
        None => None,
    };
    if let Some(cluster) = &cluster {
        for (_, bucket) in flow.buckets().filter(|(_, b)| b.mount) {
            let point = spark_conf::databricks::mount_point(&bucket.name);
            let t = Instant::now();
            let unmount = async {
                if client.dbfs_status(&point).await?.is_none() {
                    return Ok(false);
                }
                client.ensure_running(&cluster.cluster_id).await?;
                let command = spark_conf::databricks::unmount_command_python(&point);
                let result =
                    client.run_command(&cluster.cluster_id, databricks_client::Language::Python, &command).await?;
                match result.failure() {
                    Some(failure) => Err(Error::ClusterCommand {
                        what: format!("unmounting {point}"),
                        cluster_id: cluster.cluster_id.clone(),
                        detail: failure.to_string(),
                    }),
                    None => Ok(true),
                }
            };
            if unmount.await.map_err(left(&format!("mount {point} and later ones")))? {
                report(on_progress, &format!("databricks mount {point}"), Action::Delete, t);
            }
        }
        let t = Instant::now();
        if cluster.is_managed() {
            client
                .permanent_delete_cluster(&cluster.cluster_id)
                .await
                .map_err(Error::from)
                .map_err(left("the cluster"))?;
            report(
                on_progress,
                &format!("databricks cluster {} (created by xacct)", cluster.cluster_id),
                Action::Delete,
                t,
            );
        } else {
            let outcome = client
                .revoke_cluster_access(&cluster.cluster_id, &cluster_access(flow))
                .await
                .map_err(Error::from)
                .map_err(left("the cluster's instance profile and Spark conf keys"))?;
            let resource = format!("databricks cluster {} (kept; xacct's settings removed)", cluster.cluster_id);
            report(on_progress, &resource, from_outcome(String::new(), &outcome).action, t);
        }
    }
    if plan.databricks.iter().any(|c| c.action == Action::Delete && c.resource.starts_with("instance profile")) {
        let t = Instant::now();
        client
            .remove_instance_profile(&profile)
            .await
            .map_err(Error::from)
            .map_err(left("the instance profile registration"))?;
        report(on_progress, &format!("databricks instance profile {profile}"), Action::Delete, t);
    }
    Ok(())
}

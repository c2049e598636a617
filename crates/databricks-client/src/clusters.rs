//! `/api/2.1/clusters/*`, waits on cluster state, and `ensure_cluster_access`.
//!
//! A cluster spec is kept as a JSON object so that fields this crate does not know survive an edit.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::client::{Client, Repeat};
use crate::error::Error;
use crate::Outcome;

/// A cluster spec (or a `get` response) as a JSON object.
pub type ClusterSpec = Map<String, Value>;

/// The tag put on clusters this crate creates.
pub const MANAGED_TAG: (&str, &str) = ("xacct:managed", "true");

/// Fields `clusters/get` returns that `clusters/edit` does not accept: the `ClusterDetails` fields of the Databricks
/// SDKs that are not parameters of `edit`, plus output-only fields seen in real responses.
pub const READ_ONLY_CLUSTER_FIELDS: &[&str] = &[
    "cluster_cores",
    "cluster_log_status",
    "cluster_memory_mb",
    "cluster_source",
    "creator_user_name",
    "default_tags",
    "driver",
    "effective_spark_version",
    "executors",
    "jdbc_port",
    "last_activity_time",
    "last_restarted_time",
    "last_state_loss_time",
    "release_version",
    "spark_context_id",
    "spec",
    "start_time",
    "state",
    "state_message",
    "terminated_time",
    "termination_reason",
];

/// A cluster's `state`, as the Clusters API names it (`PENDING`, `RUNNING`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClusterState {
    /// Being created or started.
    Pending,
    /// Up; commands can run.
    Running,
    /// Restarting after an edit or a restart call.
    Restarting,
    /// Adding or removing workers.
    Resizing,
    /// Shutting down.
    Terminating,
    /// Stopped; it can be edited and started again.
    Terminated,
    /// Failed; `state_message` says why.
    Error,
    /// `UNKNOWN`, or a state this client does not know.
    Unknown,
}

impl fmt::Display for ClusterState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            ClusterState::Pending => "PENDING",
            ClusterState::Running => "RUNNING",
            ClusterState::Restarting => "RESTARTING",
            ClusterState::Resizing => "RESIZING",
            ClusterState::Terminating => "TERMINATING",
            ClusterState::Terminated => "TERMINATED",
            ClusterState::Error => "ERROR",
            ClusterState::Unknown => "UNKNOWN",
        };
        f.write_str(name)
    }
}

impl ClusterState {
    /// `clusters/edit` is accepted only in these states.
    pub fn is_editable(self) -> bool {
        matches!(self, ClusterState::Running | ClusterState::Terminated)
    }

    /// States that end on their own.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ClusterState::Pending | ClusterState::Restarting | ClusterState::Resizing | ClusterState::Terminating
        )
    }
}

/// A cluster as `get` or `list` returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterInfo {
    /// The cluster's id, e.g. `0101-123456-abcdef`.
    pub cluster_id: String,
    /// The cluster's name; names are not unique in a workspace.
    pub cluster_name: Option<String>,
    /// The cluster's state.
    pub state: ClusterState,
    /// Why the cluster is in its state, when Databricks says.
    pub state_message: Option<String>,
    /// `termination_reason.code`, e.g. `AWS_AUTHORIZATION_FAILURE`.
    pub termination_code: Option<String>,
    /// The whole response object.
    pub details: ClusterSpec,
}

impl ClusterInfo {
    fn from_details(details: ClusterSpec) -> Result<ClusterInfo, String> {
        let text = |key: &str| details.get(key).and_then(Value::as_str).map(str::to_owned);
        let cluster_id = text("cluster_id").ok_or("no `cluster_id`")?;
        let state = match details.get("state") {
            Some(state) => serde_json::from_value(state.clone()).unwrap_or(ClusterState::Unknown),
            None => ClusterState::Unknown,
        };
        let termination_code =
            details.get("termination_reason").and_then(|r| r.get("code")).and_then(Value::as_str).map(str::to_owned);
        Ok(ClusterInfo {
            cluster_id,
            cluster_name: text("cluster_name"),
            state,
            state_message: text("state_message").filter(|m| !m.is_empty()),
            termination_code,
            details,
        })
    }

    /// True when xacct created this cluster: it carries the [`MANAGED_TAG`] custom tag.
    pub fn is_managed(&self) -> bool {
        self.details.get("custom_tags").and_then(|t| t.get(MANAGED_TAG.0)).and_then(Value::as_str)
            == Some(MANAGED_TAG.1)
    }

    /// The spec to send back to `edit`: the details without read-only fields.
    pub fn editable_spec(&self) -> ClusterSpec {
        editable_spec(&self.details)
    }

    fn describe(&self) -> String {
        let mut text = self.state.to_string();
        if let Some(message) = &self.state_message {
            text.push_str(&format!(" ({message})"));
        }
        if let Some(code) = &self.termination_code {
            text.push_str(&format!(", termination code `{code}`"));
        }
        text
    }
}

/// Drops the fields `edit` does not accept, and `num_workers` when `autoscale` is set (they exclude each other).
pub fn editable_spec(details: &ClusterSpec) -> ClusterSpec {
    let mut spec: ClusterSpec = details
        .iter()
        .filter(|(k, _)| !READ_ONLY_CLUSTER_FIELDS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if spec.get("autoscale").is_some_and(|a| !a.is_null()) {
        spec.remove("num_workers");
    }
    spec
}

/// What a caller wants on a cluster: an instance profile and Spark conf keys, and the keys it owns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessSpec {
    /// The instance profile the cluster runs with (`aws_attributes.instance_profile_arn`).
    pub instance_profile_arn: String,
    /// The Spark conf keys to set, with their values.
    pub spark_conf: BTreeMap<String, String>,
    /// Keys the caller manages: one of these that is on the cluster but not in `spark_conf` is stale
    /// (left by an earlier config) and is removed. Keys outside this set and `spark_conf` are never touched.
    pub managed_keys: BTreeSet<String>,
}

impl AccessSpec {
    /// An instance profile and Spark conf keys, managing no other keys.
    pub fn new(instance_profile_arn: &str, spark_conf: BTreeMap<String, String>) -> AccessSpec {
        AccessSpec { instance_profile_arn: instance_profile_arn.to_owned(), spark_conf, managed_keys: BTreeSet::new() }
    }
}

/// Sets `aws_attributes.instance_profile_arn` and the Spark conf keys of `access`, and removes its stale managed
/// keys, keeping every other field. Returns what changed, one line per field.
pub fn apply_access(spec: &mut ClusterSpec, access: &AccessSpec) -> Vec<String> {
    let mut changes = Vec::new();
    let aws = object_field(spec, "aws_attributes");
    let old = aws.get("instance_profile_arn").and_then(Value::as_str).map(str::to_owned);
    if old.as_deref() != Some(access.instance_profile_arn.as_str()) {
        changes.push(format!(
            "aws_attributes.instance_profile_arn: {} -> {}",
            old.as_deref().unwrap_or("(none)"),
            access.instance_profile_arn
        ));
        aws.insert("instance_profile_arn".to_owned(), Value::String(access.instance_profile_arn.clone()));
    }
    let conf = object_field(spec, "spark_conf");
    for (key, value) in &access.spark_conf {
        let old = conf.get(key).and_then(Value::as_str).map(str::to_owned);
        if old.as_deref() != Some(value.as_str()) {
            changes.push(format!("spark_conf.{key}: {} -> {value}", old.as_deref().unwrap_or("(none)")));
            conf.insert(key.clone(), Value::String(value.clone()));
        }
    }
    for key in access.managed_keys.iter().filter(|k| !access.spark_conf.contains_key(*k)) {
        if let Some(old) = conf.remove(key) {
            changes.push(format!("spark_conf.{key}: {} -> (removed)", old.as_str().unwrap_or_default()));
        }
    }
    changes
}

/// Takes back what [`apply_access`] added: the instance profile when it is `access`'s, and each Spark conf key of
/// `access` (set or managed) whose value is still the one `access` sets, or that is stale. Every other field and key
/// stays. Returns what changed, one line per field.
pub fn remove_access(spec: &mut ClusterSpec, access: &AccessSpec) -> Vec<String> {
    let mut changes = Vec::new();
    let aws = object_field(spec, "aws_attributes");
    if aws.get("instance_profile_arn").and_then(Value::as_str) == Some(access.instance_profile_arn.as_str()) {
        aws.remove("instance_profile_arn");
        changes.push(format!("aws_attributes.instance_profile_arn: {} -> (removed)", access.instance_profile_arn));
    }
    let conf = object_field(spec, "spark_conf");
    let ours = |key: &String, value: &Value| match access.spark_conf.get(key) {
        Some(wanted) => value.as_str() == Some(wanted.as_str()),
        None => access.managed_keys.contains(key),
    };
    let remove: Vec<String> = conf.iter().filter(|(k, v)| ours(k, v)).map(|(k, _)| k.clone()).collect();
    for key in remove {
        if let Some(old) = conf.remove(&key) {
            changes.push(format!("spark_conf.{key}: {} -> (removed)", old.as_str().unwrap_or_default()));
        }
    }
    changes
}

fn object_field<'a>(spec: &'a mut ClusterSpec, key: &str) -> &'a mut Map<String, Value> {
    let slot = spec.entry(key.to_owned()).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(map) => map,
        _ => unreachable!("the slot was made an object just above"),
    }
}

/// The cluster `ensure_cluster_access` works on.
#[derive(Debug, Clone, PartialEq)]
pub enum ClusterTarget {
    /// An existing cluster, by id.
    Existing(String),
    /// A cluster to create from this spec, unless one with its `cluster_name` exists.
    New(ClusterSpec),
}

/// What `ensure_cluster_access` did, and to which cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterAccess {
    /// The id of the cluster found, or created.
    pub cluster_id: String,
    /// What was done to it.
    pub outcome: Outcome,
}

#[derive(Serialize)]
struct ClusterIdBody<'a> {
    cluster_id: &'a str,
}

#[derive(Deserialize)]
struct CreateResponse {
    cluster_id: String,
}

#[derive(Deserialize)]
struct ListResponse {
    #[serde(default)]
    clusters: Vec<ClusterSpec>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct Empty {}

impl Client {
    /// Creates a cluster and returns its id; it starts in PENDING.
    pub async fn create_cluster(&self, spec: &ClusterSpec) -> Result<String, Error> {
        // A repeat would start a second cluster: a lost reply is found out by name instead.
        let response: CreateResponse = self.post_with("/api/2.1/clusters/create", spec, Repeat::Never).await?;
        Ok(response.cluster_id)
    }

    /// The cluster with this id.
    pub async fn get_cluster(&self, cluster_id: &str) -> Result<ClusterInfo, Error> {
        let details: ClusterSpec = self.get("/api/2.1/clusters/get", &[("cluster_id", cluster_id)]).await?;
        ClusterInfo::from_details(details)
            .map_err(|detail| Error::Decode { path: "/api/2.1/clusters/get".to_owned(), detail })
    }

    /// Replaces a cluster's spec; `spec` is the full spec, and `cluster_id` is set from the argument.
    pub async fn edit_cluster(&self, cluster_id: &str, spec: &ClusterSpec) -> Result<(), Error> {
        let mut body = spec.clone();
        body.insert("cluster_id".to_owned(), Value::String(cluster_id.to_owned()));
        self.post::<Empty>("/api/2.1/clusters/edit", &body).await.map(drop)
    }

    /// Starts a terminated cluster; it goes to PENDING, then RUNNING.
    pub async fn start_cluster(&self, cluster_id: &str) -> Result<(), Error> {
        self.post::<Empty>("/api/2.1/clusters/start", &ClusterIdBody { cluster_id }).await.map(drop)
    }

    /// Deletes a cluster for good. Callers delete only clusters they created (see [`ClusterInfo::is_managed`]).
    pub async fn permanent_delete_cluster(&self, cluster_id: &str) -> Result<(), Error> {
        self.post::<Empty>("/api/2.1/clusters/permanent-delete", &ClusterIdBody { cluster_id }).await.map(drop)
    }

    /// Every cluster, following `next_page_token`.
    pub async fn list_clusters(&self) -> Result<Vec<ClusterInfo>, Error> {
        let mut clusters = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let mut query = vec![("page_size", "100")];
            if let Some(token) = &page_token {
                query.push(("page_token", token.as_str()));
            }
            let page: ListResponse = self.get("/api/2.1/clusters/list", &query).await?;
            for details in page.clusters {
                clusters.push(
                    ClusterInfo::from_details(details)
                        .map_err(|detail| Error::Decode { path: "/api/2.1/clusters/list".to_owned(), detail })?,
                );
            }
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(next) if Some(&next) != page_token.as_ref() => page_token = Some(next),
                _ => return Ok(clusters),
            }
        }
    }

    /// Polls until the cluster is in `wanted`. Fails at once on ERROR or UNKNOWN, on a terminated cluster when
    /// waiting for RUNNING, and after `timeout`.
    pub async fn wait_for_state(
        &self,
        cluster_id: &str,
        wanted: ClusterState,
        timeout: Duration,
    ) -> Result<ClusterInfo, Error> {
        self.wait_until(cluster_id, &[wanted], timeout).await
    }

    async fn wait_until(
        &self,
        cluster_id: &str,
        wanted: &[ClusterState],
        timeout: Duration,
    ) -> Result<ClusterInfo, Error> {
        let clock = self.clock();
        let started = clock.now();
        let wanted_text = wanted.iter().map(ToString::to_string).collect::<Vec<_>>().join(" or ");
        loop {
            let info = self.get_cluster(cluster_id).await?;
            if wanted.contains(&info.state) {
                return Ok(info);
            }
            let gives_up = match info.state {
                ClusterState::Error | ClusterState::Unknown => true,
                ClusterState::Terminated | ClusterState::Terminating => !wanted.contains(&ClusterState::Terminated),
                _ => false,
            };
            if gives_up {
                return Err(Error::ClusterUnusable {
                    cluster_id: cluster_id.to_owned(),
                    state: info.state.to_string(),
                    detail: format!("waiting for {wanted_text}, found {}", info.describe()),
                });
            }
            let waited = clock.now().saturating_duration_since(started);
            if waited >= timeout {
                return Err(Error::Timeout {
                    what: format!("cluster `{cluster_id}` to be {wanted_text}"),
                    waited,
                    last: info.describe(),
                });
            }
            tracing::debug!(cluster_id, state = %info.state, "waiting for cluster");
            clock.sleep(self.options().poll_interval).await;
        }
    }

    /// Brings a cluster to RUNNING: waits out transient states, and starts it when terminated.
    pub async fn ensure_running(&self, cluster_id: &str) -> Result<ClusterInfo, Error> {
        let timeout = self.options().cluster_timeout;
        let mut info = self.get_cluster(cluster_id).await?;
        if info.state.is_transient() {
            info = self.wait_until(cluster_id, &[ClusterState::Running, ClusterState::Terminated], timeout).await?;
        }
        match info.state {
            ClusterState::Running => Ok(info),
            ClusterState::Terminated => {
                match self.start_cluster(cluster_id).await {
                    Ok(()) => {}
                    // A start sent again after its reply was lost finds the cluster already starting.
                    Err(Error::Api { source, .. }) if source.is("INVALID_STATE") => {
                        tracing::info!(cluster_id, "the cluster is already starting");
                    }
                    Err(err) => return Err(err),
                }
                self.wait_for_state(cluster_id, ClusterState::Running, timeout).await
            }
            _ => Err(Error::ClusterUnusable {
                cluster_id: cluster_id.to_owned(),
                state: info.state.to_string(),
                detail: format!("cannot be started: {}", info.describe()),
            }),
        }
    }

    /// What [`Client::ensure_cluster_access`] would do, without writing.
    pub async fn plan_cluster_access(&self, target: &ClusterTarget, access: &AccessSpec) -> Result<Outcome, Error> {
        let info = match target {
            ClusterTarget::Existing(id) => self.get_cluster(id).await?,
            ClusterTarget::New(spec) => match self.find_by_name(spec).await? {
                Some(info) => info,
                None => return Ok(Outcome::Created),
            },
        };
        let changes = apply_access(&mut info.editable_spec(), access);
        Ok(if changes.is_empty() { Outcome::Unchanged } else { Outcome::Updated { changes } })
    }

    /// Gives a cluster the instance profile and the Spark conf keys.
    ///
    /// For an existing cluster, merges them into its spec, keeping every other setting, and edits it only when
    /// something differs. Edit is accepted only while RUNNING or TERMINATED, so a cluster in a transient state is
    /// waited for (within `cluster_timeout`), and one in ERROR or UNKNOWN is an error. A RUNNING cluster restarts.
    ///
    /// For a new cluster, a cluster with the spec's `cluster_name` is looked up first, so a re-run reuses it; if none
    /// exists, one is created with the `xacct:managed` tag.
    pub async fn ensure_cluster_access(
        &self,
        target: &ClusterTarget,
        access: &AccessSpec,
    ) -> Result<ClusterAccess, Error> {
        let cluster_id = match target {
            ClusterTarget::Existing(id) => id.clone(),
            ClusterTarget::New(spec) => match self.find_by_name(spec).await? {
                Some(info) => info.cluster_id,
                None => {
                    let mut spec = spec.clone();
                    let changes = apply_access(&mut spec, access);
                    tracing::debug!(?changes, "creating cluster");
                    object_field(&mut spec, "custom_tags")
                        .insert(MANAGED_TAG.0.to_owned(), Value::String(MANAGED_TAG.1.to_owned()));
                    let cluster_id = match self.create_cluster(&spec).await {
                        Ok(id) => id,
                        // The create may have taken effect: the cluster of that name, if xacct made it, is ours.
                        Err(err @ Error::ReplyLost { .. }) => match self.find_by_name(&spec).await? {
                            Some(info) if is_managed(&info) => {
                                tracing::info!(cluster_id = %info.cluster_id, "the cluster was created by the lost request");
                                info.cluster_id
                            }
                            _ => return Err(err),
                        },
                        Err(err) => return Err(err),
                    };
                    return Ok(ClusterAccess { cluster_id, outcome: Outcome::Created });
                }
            },
        };
        let outcome = self.edit_with(&cluster_id, |spec| apply_access(spec, access)).await?;
        Ok(ClusterAccess { cluster_id, outcome })
    }

    /// The cluster a target names, if it exists: by id, or by `cluster_name` (preferring the one xacct created when
    /// several share the name). A missing cluster id is `None`; any other failure is an error.
    pub async fn find_cluster(&self, target: &ClusterTarget) -> Result<Option<ClusterInfo>, Error> {
        match target {
            ClusterTarget::Existing(id) => match self.get_cluster(id).await {
                Ok(info) => Ok(Some(info)),
                Err(e) if e.api().is_some_and(|api| api.is_not_found()) => Ok(None),
                Err(e) => Err(e),
            },
            ClusterTarget::New(spec) => self.find_by_name(spec).await,
        }
    }

    /// Takes back what [`Client::ensure_cluster_access`] added to a cluster xacct did not create (see
    /// [`remove_access`]), editing it only when something is there to remove.
    pub async fn revoke_cluster_access(&self, cluster_id: &str, access: &AccessSpec) -> Result<Outcome, Error> {
        self.edit_with(cluster_id, |spec| remove_access(spec, access)).await
    }

    /// Edits a cluster with `change` when it changes something. Edit is accepted only while RUNNING or
    /// TERMINATED, so a cluster in a transient state is waited for (within `cluster_timeout`), and one in ERROR or
    /// UNKNOWN is an error.
    async fn edit_with(
        &self,
        cluster_id: &str,
        change: impl Fn(&mut ClusterSpec) -> Vec<String>,
    ) -> Result<Outcome, Error> {
        let timeout = self.options().cluster_timeout;
        let mut info = self.get_cluster(cluster_id).await?;
        if change(&mut info.editable_spec()).is_empty() {
            return Ok(Outcome::Unchanged);
        }
        match info.state {
            state if state.is_editable() => {}
            state if state.is_transient() => {
                info = self.wait_until(cluster_id, &[ClusterState::Running, ClusterState::Terminated], timeout).await?;
            }
            state => {
                return Err(Error::ClusterUnusable {
                    cluster_id: cluster_id.to_owned(),
                    state: state.to_string(),
                    detail: format!(
                        "clusters can be edited only while RUNNING or TERMINATED, and this one is {}",
                        info.describe()
                    ),
                })
            }
        }
        let mut spec = info.editable_spec();
        let changes = change(&mut spec);
        if changes.is_empty() {
            return Ok(Outcome::Unchanged);
        }
        self.edit_cluster(cluster_id, &spec).await?;
        Ok(Outcome::Updated { changes })
    }

    async fn find_by_name(&self, spec: &ClusterSpec) -> Result<Option<ClusterInfo>, Error> {
        let Some(name) = spec.get("cluster_name").and_then(Value::as_str).filter(|n| !n.is_empty()) else {
            return Err(Error::InvalidSpec { detail: "a new cluster needs a `cluster_name`".to_owned() });
        };
        let mut found: Vec<ClusterInfo> =
            self.list_clusters().await?.into_iter().filter(|c| c.cluster_name.as_deref() == Some(name)).collect();
        if found.len() > 1 {
            let managed: Vec<ClusterInfo> = found.iter().filter(|c| is_managed(c)).cloned().collect();
            if managed.len() == 1 {
                found = managed;
            } else {
                return Err(Error::AmbiguousCluster {
                    cluster_name: name.to_owned(),
                    count: found.len(),
                    ids: found.into_iter().map(|c| c.cluster_id).collect(),
                });
            }
        }
        Ok(found.pop())
    }
}

fn is_managed(info: &ClusterInfo) -> bool {
    info.details.get("custom_tags").and_then(|t| t.get(MANAGED_TAG.0)).and_then(Value::as_str) == Some(MANAGED_TAG.1)
}

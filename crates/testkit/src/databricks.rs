//! A stateful Databricks stand-in: instance profiles, clusters whose state moves, command execution 1.2 with
//! `dbutils.fs.mount`/`ls`, fault injection, and a record of every request.
//!
//! It answers on one wiremock server. Request bodies are checked the way the real API checks them (required fields,
//! states, known ids); where the real behaviour is unknown it is stricter, so a client bug shows here first.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{json, Map, Value};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Lists a bucket for `dbutils.fs.ls`: the names at its root (a trailing `/` marks a directory), or the text of the
/// exception the notebook would show.
pub type LsHandler = Arc<dyn Fn(&str) -> Result<Vec<String>, String> + Send + Sync>;

/// Checks an instance profile during `instance-profiles/add` (the ec2 dry run); `Err` is the AWS error text.
pub type ProfileValidator = Arc<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

mod unity;

pub use unity::{UcValidator, MASTER_ROLE as UC_MASTER_ROLE};

/// One request the stand-in received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    /// The JSON body; a form body is kept as a string; `Null` when empty.
    pub body: Value,
}

/// A `dbutils.fs.mount` that succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub mount_point: String,
    pub source: String,
    pub extra_configs: BTreeMap<String, String>,
}

/// Fields `clusters/get` returns and `create`/`edit` refuse.
const READ_ONLY: &[&str] = &[
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
    "spark_context_id",
    "spec",
    "start_time",
    "state",
    "state_message",
    "terminated_time",
    "termination_reason",
];

const STS_ARN_KEY: &str = "spark.hadoop.fs.s3a.stsAssumeRole.arn";
const CREDENTIALS_TYPE_KEY: &str = "spark.hadoop.fs.s3a.credentialsType";

struct Cluster {
    spec: Map<String, Value>,
    state: String,
    state_message: String,
    termination_code: Option<String>,
    polls_left: usize,
    /// The state reached when `polls_left` runs out.
    next_state: Option<String>,
    start_time: u64,
}

struct Context {
    cluster_id: String,
    language: String,
}

struct Command {
    context_id: String,
    polls_left: usize,
    results: Value,
}

struct Throttle {
    path: Option<String>,
    remaining: usize,
    status: u16,
    retry_after: Option<String>,
}

struct OAuthClient {
    client_id: String,
    client_secret: String,
    expires_in: u64,
}

struct State {
    token: String,
    oauth: Option<OAuthClient>,
    issued_tokens: Vec<String>,
    requests: Vec<RecordedRequest>,
    profiles: Vec<Value>,
    clusters: BTreeMap<String, Cluster>,
    contexts: BTreeMap<String, Context>,
    commands: BTreeMap<String, Command>,
    executed: Vec<String>,
    mounts: Vec<Mount>,
    next_id: u64,
    clock: u64,
    pending_polls: usize,
    command_polls: usize,
    throttles: Vec<Throttle>,
    iam_lag_failures: usize,
    dry_run_denials: usize,
    validator: Option<ProfileValidator>,
    ls_handler: LsHandler,
    unity: unity::UnityState,
}

/// The stand-in. Dropping it stops the server.
pub struct DatabricksStandIn {
    server: MockServer,
    state: Arc<Mutex<State>>,
    token: String,
}

type Reply = ResponseTemplate;

fn ok(body: Value) -> Reply {
    ResponseTemplate::new(200).set_body_json(body)
}

fn error(status: u16, code: &str, message: impl Into<String>) -> Reply {
    ResponseTemplate::new(status).set_body_json(json!({ "error_code": code, "message": message.into() }))
}

fn invalid(message: impl Into<String>) -> Reply {
    error(400, "INVALID_PARAMETER_VALUE", message)
}

impl DatabricksStandIn {
    pub async fn start() -> DatabricksStandIn {
        let server = MockServer::start().await;
        let token = "dapi-stand-in-token".to_owned();
        let state = Arc::new(Mutex::new(State {
            token: token.clone(),
            oauth: None,
            issued_tokens: Vec::new(),
            requests: Vec::new(),
            profiles: Vec::new(),
            clusters: BTreeMap::new(),
            contexts: BTreeMap::new(),
            commands: BTreeMap::new(),
            executed: Vec::new(),
            mounts: Vec::new(),
            next_id: 1,
            clock: 1_764_000_000_000,
            pending_polls: 1,
            command_polls: 1,
            throttles: Vec::new(),
            iam_lag_failures: 0,
            dry_run_denials: 0,
            validator: None,
            ls_handler: Arc::new(|_| Ok(Vec::new())),
            unity: unity::UnityState::default(),
        }));
        server.register(Mock::given(any()).respond_with(Responder { state: state.clone() })).await;
        DatabricksStandIn { server, state, token }
    }

    /// The workspace URL to use as `host`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The personal access token the stand-in accepts.
    pub fn token(&self) -> &str {
        &self.token
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Accepts OAuth M2M: `POST /oidc/v1/token` with these client credentials issues tokens valid for `expires_in`
    /// seconds (the stand-in does not expire them itself).
    pub fn enable_oauth(&self, client_id: &str, client_secret: &str, expires_in: u64) {
        self.state().oauth =
            Some(OAuthClient { client_id: client_id.to_owned(), client_secret: client_secret.to_owned(), expires_in });
    }

    /// Access tokens issued so far through `/oidc/v1/token`.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.state().issued_tokens.clone()
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().requests.clone()
    }

    /// The requests received on one path.
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        self.state().requests.iter().filter(|r| r.path == path).cloned().collect()
    }

    /// The registered instance profiles, as `list` returns them.
    pub fn instance_profiles(&self) -> Vec<Value> {
        self.state().profiles.clone()
    }

    /// Registers an instance profile directly, as if an admin had done it.
    pub fn register_instance_profile(&self, instance_profile_arn: &str) {
        self.state()
            .profiles
            .push(json!({ "instance_profile_arn": instance_profile_arn, "is_meta_instance_profile": false }));
    }

    /// Adds a cluster directly in `state` (e.g. `RUNNING`, `TERMINATED`) and returns its id. `spec` is what `create`
    /// would take.
    pub fn insert_cluster(&self, spec: Value, state: &str) -> String {
        let mut guard = self.state();
        let id = guard.new_cluster_id();
        let spec = match spec {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let start_time = guard.tick();
        guard.clusters.insert(
            id.clone(),
            Cluster {
                spec,
                state: state.to_owned(),
                state_message: String::new(),
                termination_code: None,
                polls_left: 0,
                next_state: None,
                start_time,
            },
        );
        id
    }

    /// What `clusters/get` returns for a cluster now, without counting as a poll.
    pub fn cluster(&self, cluster_id: &str) -> Option<Value> {
        let guard = self.state();
        guard.clusters.get(cluster_id).map(|c| Value::Object(cluster_details(cluster_id, c)))
    }

    /// The ids of every cluster that exists now.
    pub fn cluster_ids(&self) -> Vec<String> {
        self.state().clusters.keys().cloned().collect()
    }

    /// Forces a cluster's state, with a termination code for TERMINATED or ERROR.
    pub fn set_cluster_state(&self, cluster_id: &str, state: &str, termination_code: Option<&str>) {
        if let Some(cluster) = self.state().clusters.get_mut(cluster_id) {
            cluster.state = state.to_owned();
            cluster.termination_code = termination_code.map(str::to_owned);
            cluster.state_message = String::new();
            cluster.polls_left = 0;
            cluster.next_state = None;
        }
    }

    /// Keeps a cluster in its current (transient) state for `polls` more reads, then moves it to `next_state`.
    pub fn hold_cluster_state(&self, cluster_id: &str, polls: usize, next_state: &str) {
        if let Some(cluster) = self.state().clusters.get_mut(cluster_id) {
            cluster.polls_left = polls;
            cluster.next_state = Some(next_state.to_owned());
        }
    }

    /// How many reads see a PENDING or RESTARTING cluster before it is RUNNING (default 1: the first read after a
    /// create, start or edit sees the transient state, the next one RUNNING).
    pub fn set_pending_polls(&self, polls: usize) {
        self.state().pending_polls = polls;
    }

    /// How many status polls see a command Running before it is Finished (default 1).
    pub fn set_command_polls(&self, polls: usize) {
        self.state().command_polls = polls;
    }

    /// The next `times` requests (to `path`, or to any path) get `status` (429 or 503) with `Retry-After`.
    pub fn throttle(&self, path: Option<&str>, times: usize, status: u16, retry_after: Option<&str>) {
        self.state().throttles.push(Throttle {
            path: path.map(str::to_owned),
            remaining: times,
            status,
            retry_after: retry_after.map(str::to_owned),
        });
    }

    /// The next `times` validated adds fail as they do while IAM has not propagated the instance profile.
    pub fn fail_iam_lag(&self, times: usize) {
        self.state().iam_lag_failures = times;
    }

    /// The next `times` validated adds fail the ec2 dry run with "not authorized" (PassRole missing, or an SCP).
    pub fn fail_dry_run(&self, times: usize) {
        self.state().dry_run_denials = times;
    }

    /// Runs on every validated add, after the injected faults.
    pub fn set_instance_profile_validator(&self, validator: ProfileValidator) {
        self.state().validator = Some(validator);
    }

    /// Answers `dbutils.fs.ls` on `s3a://<bucket>/` and on mounts (default: every bucket is empty).
    pub fn set_ls_handler(&self, handler: LsHandler) {
        self.state().ls_handler = handler;
    }

    /// Mounts made with `dbutils.fs.mount`.
    /// Every storage credential, as `GET …/storage-credentials/{name}` returns it.
    pub fn storage_credentials(&self) -> Vec<Value> {
        self.state().unity.credentials.values().cloned().collect()
    }

    /// Every external location, as `GET …/external-locations/{name}` returns it.
    pub fn external_locations(&self) -> Vec<Value> {
        self.state().unity.locations.values().cloned().collect()
    }

    /// The grants on an external location: principal to privileges.
    pub fn location_grants(&self, location: &str) -> BTreeMap<String, Vec<String>> {
        self.state()
            .unity
            .grants
            .get(location)
            .map(|g| g.iter().map(|(p, s)| (p.clone(), s.iter().cloned().collect())).collect())
            .unwrap_or_default()
    }

    /// Adds a storage credential made outside xacct (as someone's console click would).
    pub fn insert_storage_credential(&self, name: &str, role_arn: &str, comment: Option<&str>) {
        let mut state = self.state();
        let id = state.new_id();
        let credential = json!({
            "name": name,
            "full_name": name,
            "id": format!("foreign-{id}"),
            "aws_iam_role": { "role_arn": role_arn, "external_id": format!("foreign-external-id-{id}"), "unity_catalog_iam_arn": UC_MASTER_ROLE },
            "comment": comment,
            "read_only": false,
        });
        state.unity.credentials.insert(name.to_owned(), credential);
    }

    /// Makes the next `times` validations fail on READ, as the first one after a trust change
    /// does while IAM propagates.
    pub fn fail_next_validations(&self, times: usize) {
        self.state().unity.failing_validations = times;
    }

    /// Decides validations with `validator` instead of passing every operation.
    pub fn set_uc_validator(&self, validator: UcValidator) {
        self.state().unity.validator = Some(validator);
    }

    /// How many validations were asked for.
    pub fn validations(&self) -> usize {
        self.state().unity.validations
    }

    pub fn mounts(&self) -> Vec<Mount> {
        self.state().mounts.clone()
    }

    /// The text of every executed command.
    pub fn executed_commands(&self) -> Vec<String> {
        self.state().executed.clone()
    }

    /// Execution contexts created and not yet destroyed.
    pub fn open_contexts(&self) -> usize {
        self.state().contexts.len()
    }
}

impl State {
    fn tick(&mut self) -> u64 {
        self.clock += 1000;
        self.clock
    }

    fn new_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn new_cluster_id(&mut self) -> String {
        let n = self.new_id();
        format!("1127-000000-xacct{n:03}")
    }

    /// One read of a cluster: transient states count down.
    fn poll_cluster(&mut self, cluster_id: &str) {
        let pending_polls = self.pending_polls;
        let now = self.clock + 1000;
        let Some(cluster) = self.clusters.get_mut(cluster_id) else { return };
        let next = match (&cluster.next_state, cluster.state.as_str()) {
            (Some(next), _) => Some(next.clone()),
            (None, "PENDING" | "RESTARTING" | "RESIZING") => Some("RUNNING".to_owned()),
            (None, "TERMINATING") => Some("TERMINATED".to_owned()),
            _ => None,
        };
        let Some(next) = next else { return };
        if cluster.polls_left > 0 {
            cluster.polls_left -= 1;
            return;
        }
        cluster.state = next;
        cluster.next_state = None;
        cluster.polls_left = pending_polls;
        cluster.state_message = String::new();
        if cluster.state == "RUNNING" {
            cluster.start_time = now;
        }
        self.clock = now;
    }
}

fn cluster_details(cluster_id: &str, cluster: &Cluster) -> Map<String, Value> {
    let mut details = cluster.spec.clone();
    let name = details.get("cluster_name").cloned().unwrap_or(Value::String(String::new()));
    details.insert("cluster_id".to_owned(), json!(cluster_id));
    details.insert("state".to_owned(), json!(cluster.state));
    details.insert("state_message".to_owned(), json!(cluster.state_message));
    details.insert("start_time".to_owned(), json!(cluster.start_time));
    details.insert("creator_user_name".to_owned(), json!("admin@example.com"));
    details.insert("cluster_source".to_owned(), json!("API"));
    details.insert(
        "default_tags".to_owned(),
        json!({ "Vendor": "Databricks", "Creator": "admin@example.com", "ClusterName": name, "ClusterId": cluster_id }),
    );
    details.insert("spark_context_id".to_owned(), json!(7_000_000_000_000_000_000_u64));
    details.insert("jdbc_port".to_owned(), json!(10000));
    details.insert("cluster_memory_mb".to_owned(), json!(31232));
    details.insert("cluster_cores".to_owned(), json!(4.0));
    details.insert("last_state_loss_time".to_owned(), json!(0));
    if cluster.state == "RUNNING" {
        details.insert("driver".to_owned(), json!({ "private_ip": "10.0.0.10", "node_id": "driver-0" }));
    }
    if let Some(code) = &cluster.termination_code {
        details.insert("termination_reason".to_owned(), json!({ "code": code, "type": "CLIENT_ERROR" }));
        details.insert("terminated_time".to_owned(), json!(cluster.start_time + 1000));
    }
    details
}

struct Responder {
    state: Arc<Mutex<State>>,
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let method = request.method.as_str().to_owned();
        let path = request.url.path().to_owned();
        let query: BTreeMap<String, String> =
            request.url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let body = if request.body.is_empty() {
            Value::Null
        } else {
            match serde_json::from_slice::<Value>(&request.body) {
                Ok(value) => value,
                Err(_) => Value::String(String::from_utf8_lossy(&request.body).into_owned()),
            }
        };
        state.requests.push(RecordedRequest {
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            body: body.clone(),
        });

        if let Some(throttle) =
            state.throttles.iter_mut().find(|t| t.remaining > 0 && t.path.as_deref().is_none_or(|p| p == path))
        {
            throttle.remaining -= 1;
            let mut reply = error(
                throttle.status,
                if throttle.status == 429 { "REQUEST_LIMIT_EXCEEDED" } else { "TEMPORARILY_UNAVAILABLE" },
                "the stand-in was told to throttle this request",
            );
            if let Some(after) = &throttle.retry_after {
                reply = reply.insert_header("Retry-After", after.as_str());
            }
            return reply;
        }

        if path == "/oidc/v1/token" {
            return token_endpoint(&mut state, request);
        }
        let bearer =
            request.headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        let authorized = bearer.is_some_and(|b| b == state.token || state.issued_tokens.iter().any(|t| t == b));
        if !authorized {
            return error(
                401,
                "UNAUTHENTICATED",
                "Credential was not sent or was of an unsupported type for this API.",
            );
        }

        if unity::handles(&path) {
            let clock = state.tick();
            return unity::respond(&mut state.unity, clock, &method, &path, &query, &body);
        }
        let expects_post = !matches!(
            path.as_str(),
            "/api/2.0/instance-profiles/list"
                | "/api/2.1/clusters/get"
                | "/api/2.1/clusters/list"
                | "/api/1.2/commands/status"
                | "/api/1.2/contexts/status"
                | "/api/2.0/dbfs/get-status"
        );
        if (method == "POST") != expects_post {
            return error(405, "ENDPOINT_NOT_FOUND", format!("{method} is not supported on `{path}`"));
        }
        if expects_post && !body.is_object() {
            return error(400, "MALFORMED_REQUEST", "the request body is not a JSON object");
        }
        match path.as_str() {
            "/api/2.0/instance-profiles/add" => add_profile(&mut state, &body),
            "/api/2.0/instance-profiles/list" => ok(json!({ "instance_profiles": state.profiles })),
            "/api/2.0/instance-profiles/edit" => edit_profile(&mut state, &body),
            "/api/2.0/instance-profiles/remove" => remove_profile(&mut state, &body),
            "/api/2.1/clusters/create" => create_cluster(&mut state, &body),
            "/api/2.1/clusters/get" => get_cluster(&mut state, &query),
            "/api/2.1/clusters/list" => list_clusters(&mut state, &query),
            "/api/2.1/clusters/edit" => edit_cluster(&mut state, &body),
            "/api/2.1/clusters/start" => start_cluster(&mut state, &body),
            "/api/1.2/contexts/create" => create_context(&mut state, &body),
            "/api/1.2/contexts/status" => context_status(&state, &query),
            "/api/1.2/contexts/destroy" => destroy_context(&mut state, &body),
            "/api/1.2/commands/execute" => execute(&mut state, &body),
            "/api/1.2/commands/status" => command_status(&mut state, &query),
            "/api/2.0/dbfs/get-status" => dbfs_status(&state, &query),
            "/api/2.1/clusters/permanent-delete" => delete_cluster(&mut state, &body),
            _ => error(404, "ENDPOINT_NOT_FOUND", format!("no API found for `{method} {path}`")),
        }
    }
}

/// DBFS `get-status`: the root, `/mnt`, and each mount point exist, as directories.
fn dbfs_status(state: &State, query: &BTreeMap<String, String>) -> Reply {
    let Some(path) = query.get("path") else { return invalid("Missing required field: path") };
    let path = path.trim_start_matches("dbfs:").trim_end_matches('/');
    let exists = path.is_empty() || path == "/mnt" || state.mounts.iter().any(|m| m.mount_point == path);
    if exists {
        ok(json!({ "path": if path.is_empty() { "/" } else { path }, "is_dir": true, "file_size": 0 }))
    } else {
        error(404, "RESOURCE_DOES_NOT_EXIST", format!("No file or directory exists on path {path}."))
    }
}

/// `clusters/permanent-delete`: the cluster is gone; later calls on it answer 404.
fn delete_cluster(state: &mut State, body: &Value) -> Reply {
    let Some(cluster_id) = string_field(body, "cluster_id") else {
        return invalid("Missing required field: cluster_id");
    };
    match state.clusters.remove(cluster_id) {
        Some(_) => ok(json!({})),
        None => error(404, "RESOURCE_DOES_NOT_EXIST", format!("Cluster {cluster_id} does not exist")),
    }
}

fn token_endpoint(state: &mut State, request: &Request) -> Reply {
    let Some(client) = &state.oauth else {
        return error(400, "invalid_client", "oauth is not enabled on this stand-in");
    };
    let expected = format!("Basic {}", base64(&format!("{}:{}", client.client_id, client.client_secret)));
    let header = request.headers.get("authorization").and_then(|v| v.to_str().ok());
    if header != Some(expected.as_str()) {
        return ResponseTemplate::new(401)
            .set_body_json(json!({ "error": "invalid_client", "error_description": "Client authentication failed" }));
    }
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&request.body).into_owned().collect();
    if form.get("grant_type").map(String::as_str) != Some("client_credentials")
        || form.get("scope").map(String::as_str) != Some("all-apis")
    {
        return ResponseTemplate::new(400).set_body_json(json!({ "error": "invalid_request", "error_description": "expected grant_type=client_credentials and scope=all-apis" }));
    }
    let expires_in = client.expires_in;
    let token = format!("oauth-token-{}", state.issued_tokens.len() + 1);
    state.issued_tokens.push(token.clone());
    ok(json!({ "access_token": token, "token_type": "Bearer", "expires_in": expires_in, "scope": "all-apis" }))
}

fn base64(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn string_field<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn unknown_fields(body: &Value, allowed: &[&str]) -> Option<String> {
    let map = body.as_object()?;
    let unknown: Vec<&str> = map.keys().map(String::as_str).filter(|k| !allowed.contains(k)).collect();
    (!unknown.is_empty()).then(|| format!("unknown fields: {}", unknown.join(", ")))
}

fn is_instance_profile_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "iam"
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].strip_prefix("instance-profile/").is_some_and(|name| !name.is_empty())
}

fn add_profile(state: &mut State, body: &Value) -> Reply {
    if let Some(message) =
        unknown_fields(body, &["instance_profile_arn", "iam_role_arn", "is_meta_instance_profile", "skip_validation"])
    {
        return invalid(message);
    }
    let Some(arn) = string_field(body, "instance_profile_arn") else {
        return invalid("Missing required field: instance_profile_arn");
    };
    if !is_instance_profile_arn(arn) {
        return invalid(format!("Invalid instance profile ARN: {arn}"));
    }
    for key in ["is_meta_instance_profile", "skip_validation"] {
        if body.get(key).is_some_and(|v| !v.is_boolean()) {
            return invalid(format!("Field {key} must be a boolean"));
        }
    }
    if state.profiles.iter().any(|p| p["instance_profile_arn"] == arn) {
        return invalid(format!("Instance profile with arn {arn} already exists."));
    }
    let skip_validation = body.get("skip_validation").and_then(Value::as_bool).unwrap_or(false);
    if !skip_validation {
        if state.iam_lag_failures > 0 {
            state.iam_lag_failures -= 1;
            return error(400, "DRY_RUN_FAILED", format!("Verification of the instance profile failed. AWS error: Value ({arn}) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN"));
        }
        if state.dry_run_denials > 0 {
            state.dry_run_denials -= 1;
            return error(400, "DRY_RUN_FAILED", "Verification of the instance profile failed. AWS error: You are not authorized to perform this operation. Encoded authorization failure message: stand-in");
        }
        if let Some(validator) = &state.validator {
            if let Err(aws) = validator(arn) {
                return error(
                    400,
                    "DRY_RUN_FAILED",
                    format!("Verification of the instance profile failed. AWS error: {aws}"),
                );
            }
        }
    }
    let mut profile = json!({ "instance_profile_arn": arn, "is_meta_instance_profile": body.get("is_meta_instance_profile").and_then(Value::as_bool).unwrap_or(false) });
    if let Some(role) = string_field(body, "iam_role_arn") {
        profile["iam_role_arn"] = json!(role);
    }
    state.profiles.push(profile);
    ok(json!({}))
}

fn edit_profile(state: &mut State, body: &Value) -> Reply {
    if let Some(message) = unknown_fields(body, &["instance_profile_arn", "iam_role_arn", "is_meta_instance_profile"]) {
        return invalid(message);
    }
    let Some(arn) = string_field(body, "instance_profile_arn") else {
        return invalid("Missing required field: instance_profile_arn");
    };
    let Some(profile) = state.profiles.iter_mut().find(|p| p["instance_profile_arn"] == arn) else {
        return error(404, "RESOURCE_DOES_NOT_EXIST", format!("Instance profile {arn} does not exist."));
    };
    match string_field(body, "iam_role_arn") {
        Some(role) => profile["iam_role_arn"] = json!(role),
        None => {
            if let Some(map) = profile.as_object_mut() {
                map.remove("iam_role_arn");
            }
        }
    }
    if let Some(meta) = body.get("is_meta_instance_profile").and_then(Value::as_bool) {
        profile["is_meta_instance_profile"] = json!(meta);
    }
    ok(json!({}))
}

fn remove_profile(state: &mut State, body: &Value) -> Reply {
    let Some(arn) = string_field(body, "instance_profile_arn") else {
        return invalid("Missing required field: instance_profile_arn");
    };
    let before = state.profiles.len();
    state.profiles.retain(|p| p["instance_profile_arn"] != arn);
    if state.profiles.len() == before {
        return error(404, "RESOURCE_DOES_NOT_EXIST", format!("Instance profile {arn} does not exist."));
    }
    ok(json!({}))
}

/// Checks a create or edit spec; `Err` is the message of the 400 reply.
fn check_spec(state: &State, body: &Value) -> Result<(), String> {
    let Some(map) = body.as_object() else { return Err("the body is not an object".to_owned()) };
    if let Some(field) = READ_ONLY.iter().find(|f| map.contains_key(**f)) {
        return Err(format!("Field {field} is read-only and cannot be set"));
    }
    if string_field(body, "spark_version").is_none() {
        return Err("Missing required field: spark_version".to_owned());
    }
    if string_field(body, "node_type_id").is_none() && string_field(body, "instance_pool_id").is_none() {
        return Err("Missing required field: node_type_id".to_owned());
    }
    match (map.get("num_workers"), map.get("autoscale")) {
        (None, None) => return Err("Missing required field: num_workers or autoscale".to_owned()),
        (Some(_), Some(_)) => return Err("Only one of num_workers and autoscale may be set".to_owned()),
        (Some(n), None) if !n.is_u64() => return Err("num_workers must be a non-negative integer".to_owned()),
        (None, Some(a))
            if !(a.get("min_workers").is_some_and(Value::is_u64)
                && a.get("max_workers").is_some_and(Value::is_u64)) =>
        {
            return Err("autoscale needs min_workers and max_workers".to_owned())
        }
        _ => {}
    }
    for key in ["spark_conf", "custom_tags", "spark_env_vars"] {
        if let Some(value) = map.get(key) {
            let all_strings = value.as_object().is_some_and(|m| m.values().all(Value::is_string));
            if !all_strings {
                return Err(format!("{key} must map strings to strings"));
            }
        }
    }
    if let Some(aws) = map.get("aws_attributes") {
        if !aws.is_object() {
            return Err("aws_attributes must be an object".to_owned());
        }
        if let Some(arn) = aws.get("instance_profile_arn") {
            let Some(arn) = arn.as_str() else { return Err("instance_profile_arn must be a string".to_owned()) };
            if !state.profiles.iter().any(|p| p["instance_profile_arn"] == arn) {
                return Err(format!("Instance profile {arn} has not been added to this workspace."));
            }
        }
    }
    Ok(())
}

fn create_cluster(state: &mut State, body: &Value) -> Reply {
    if body.get("cluster_id").is_some() {
        return invalid("cluster_id cannot be set on create");
    }
    if string_field(body, "cluster_name").is_none() {
        return invalid("Missing required field: cluster_name");
    }
    if let Err(message) = check_spec(state, body) {
        return invalid(message);
    }
    let id = state.new_cluster_id();
    let spec = body.as_object().cloned().unwrap_or_default();
    let start_time = state.tick();
    let polls_left = state.pending_polls;
    state.clusters.insert(
        id.clone(),
        Cluster {
            spec,
            state: "PENDING".to_owned(),
            state_message: "Starting Spark".to_owned(),
            termination_code: None,
            polls_left,
            next_state: None,
            start_time,
        },
    );
    ok(json!({ "cluster_id": id }))
}

fn missing_cluster(cluster_id: &str) -> Reply {
    error(404, "RESOURCE_DOES_NOT_EXIST", format!("Cluster {cluster_id} does not exist"))
}

fn get_cluster(state: &mut State, query: &BTreeMap<String, String>) -> Reply {
    let Some(cluster_id) = query.get("cluster_id").filter(|c| !c.is_empty()) else {
        return invalid("Missing required field: cluster_id");
    };
    state.poll_cluster(cluster_id);
    match state.clusters.get(cluster_id.as_str()) {
        Some(cluster) => ok(Value::Object(cluster_details(cluster_id, cluster))),
        None => missing_cluster(cluster_id),
    }
}

fn list_clusters(state: &mut State, query: &BTreeMap<String, String>) -> Reply {
    let ids: Vec<String> = state.clusters.keys().cloned().collect();
    for id in &ids {
        state.poll_cluster(id);
    }
    let page_size =
        query.get("page_size").and_then(|s| s.parse::<usize>().ok()).filter(|n| *n > 0).unwrap_or(usize::MAX);
    let start = match query.get("page_token") {
        Some(token) => match token.parse::<usize>() {
            Ok(start) => start,
            Err(_) => return invalid(format!("Invalid page token: {token}")),
        },
        None => 0,
    };
    let page: Vec<Value> = ids
        .iter()
        .skip(start)
        .take(page_size)
        .filter_map(|id| state.clusters.get(id).map(|c| Value::Object(cluster_details(id, c))))
        .collect();
    let mut reply = json!({ "clusters": page });
    if start.saturating_add(page_size) < ids.len() {
        reply["next_page_token"] = json!((start + page_size).to_string());
    }
    ok(reply)
}

fn edit_cluster(state: &mut State, body: &Value) -> Reply {
    let Some(cluster_id) = string_field(body, "cluster_id").map(str::to_owned) else {
        return invalid("Missing required field: cluster_id");
    };
    let mut spec = body.as_object().cloned().unwrap_or_default();
    spec.remove("cluster_id");
    if let Err(message) = check_spec(state, &Value::Object(spec.clone())) {
        return invalid(message);
    }
    let pending_polls = state.pending_polls;
    let Some(cluster) = state.clusters.get_mut(&cluster_id) else {
        return missing_cluster(&cluster_id);
    };
    match cluster.state.as_str() {
        "RUNNING" => {
            cluster.state = "RESTARTING".to_owned();
            cluster.polls_left = pending_polls;
        }
        "TERMINATED" => {}
        other => {
            return error(
                400,
                "INVALID_STATE",
                format!("Cluster {cluster_id} is in unexpected state {}.", title_case(other)),
            )
        }
    }
    cluster.spec = spec;
    ok(json!({}))
}

fn start_cluster(state: &mut State, body: &Value) -> Reply {
    let Some(cluster_id) = string_field(body, "cluster_id").map(str::to_owned) else {
        return invalid("Missing required field: cluster_id");
    };
    let pending_polls = state.pending_polls;
    let Some(cluster) = state.clusters.get_mut(&cluster_id) else {
        return missing_cluster(&cluster_id);
    };
    if cluster.state != "TERMINATED" {
        return error(
            400,
            "INVALID_STATE",
            format!("Cluster {cluster_id} is in unexpected state {}.", title_case(&cluster.state)),
        );
    }
    cluster.state = "PENDING".to_owned();
    cluster.termination_code = None;
    cluster.polls_left = pending_polls;
    ok(json!({}))
}

fn title_case(state: &str) -> String {
    let lower = state.to_ascii_lowercase();
    let mut chars = lower.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

const LANGUAGES: &[&str] = &["python", "scala", "sql", "r"];

fn create_context(state: &mut State, body: &Value) -> Reply {
    if let Some(message) = unknown_fields(body, &["clusterId", "language"]) {
        return invalid(message);
    }
    let Some(cluster_id) = string_field(body, "clusterId").map(str::to_owned) else {
        return invalid("Missing required field: clusterId");
    };
    let Some(language) = string_field(body, "language").filter(|l| LANGUAGES.contains(l)).map(str::to_owned) else {
        return invalid("language must be one of python, scala, sql, r");
    };
    let Some(cluster) = state.clusters.get(&cluster_id) else {
        return missing_cluster(&cluster_id);
    };
    if cluster.state != "RUNNING" {
        return error(400, "INVALID_STATE", format!("Cluster {cluster_id} is not running (state {}).", cluster.state));
    }
    let id = format!("ctx-{}", state.new_id());
    state.contexts.insert(id.clone(), Context { cluster_id, language });
    ok(json!({ "id": id }))
}

fn context_status(state: &State, query: &BTreeMap<String, String>) -> Reply {
    let (Some(cluster_id), Some(context_id)) = (query.get("clusterId"), query.get("contextId")) else {
        return invalid("Missing required fields: clusterId and contextId");
    };
    match state.contexts.get(context_id) {
        Some(context) if &context.cluster_id == cluster_id => ok(json!({ "id": context_id, "status": "Running" })),
        _ => error(404, "RESOURCE_DOES_NOT_EXIST", format!("Context {context_id} does not exist")),
    }
}

fn destroy_context(state: &mut State, body: &Value) -> Reply {
    let (Some(cluster_id), Some(context_id)) = (string_field(body, "clusterId"), string_field(body, "contextId"))
    else {
        return invalid("Missing required fields: clusterId and contextId");
    };
    match state.contexts.get(context_id) {
        Some(context) if context.cluster_id == cluster_id => {
            state.contexts.remove(context_id);
            state.commands.retain(|_, c| c.context_id != context_id);
            ok(json!({ "id": context_id }))
        }
        _ => error(404, "RESOURCE_DOES_NOT_EXIST", format!("Context {context_id} does not exist")),
    }
}

fn execute(state: &mut State, body: &Value) -> Reply {
    if let Some(message) = unknown_fields(body, &["clusterId", "contextId", "language", "command"]) {
        return invalid(message);
    }
    let (Some(cluster_id), Some(context_id)) = (string_field(body, "clusterId"), string_field(body, "contextId"))
    else {
        return invalid("Missing required fields: clusterId and contextId");
    };
    let Some(command) = body.get("command").and_then(Value::as_str) else {
        return invalid("Missing required field: command");
    };
    let Some(language) = string_field(body, "language").filter(|l| LANGUAGES.contains(l)) else {
        return invalid("language must be one of python, scala, sql, r");
    };
    match state.contexts.get(context_id) {
        Some(context) if context.cluster_id == cluster_id => {
            if context.language != language {
                return invalid(format!("Context {context_id} is a {} context", context.language));
            }
        }
        _ => return error(404, "RESOURCE_DOES_NOT_EXIST", format!("Context {context_id} does not exist")),
    }
    state.executed.push(command.to_owned());
    let results = run_dbutils(state, cluster_id, language, command);
    let id = format!("cmd-{}", state.new_id());
    let polls_left = state.command_polls;
    state.commands.insert(id.clone(), Command { context_id: context_id.to_owned(), polls_left, results });
    ok(json!({ "id": id }))
}

fn command_status(state: &mut State, query: &BTreeMap<String, String>) -> Reply {
    let (Some(_), Some(context_id), Some(command_id)) =
        (query.get("clusterId"), query.get("contextId"), query.get("commandId"))
    else {
        return invalid("Missing required fields: clusterId, contextId and commandId");
    };
    let Some(command) = state.commands.get_mut(command_id).filter(|c| &c.context_id == context_id) else {
        return error(404, "RESOURCE_DOES_NOT_EXIST", format!("Command {command_id} does not exist"));
    };
    if command.polls_left > 0 {
        command.polls_left -= 1;
        return ok(json!({ "id": command_id, "status": "Running" }));
    }
    ok(json!({ "id": command_id, "status": "Finished", "results": command.results }))
}

/// Runs the `dbutils.fs` calls of a command, in order, and returns the `results` object.
///
/// This is not Python: it understands the shapes xacct and the runbook send. A command with both `mount` and
/// `updateMount` is the "mount, or update the mount if it exists" program and runs one of them. `extra_configs`
/// may be a dict literal or a variable assigned one in the command. The output imitates what the command prints:
/// `print("mounted " + …)`, `json.dumps({"path", "entries", "sample"})`, `print(len(files), [names])`, or the
/// notebook's display of the last value.
fn run_dbutils(state: &mut State, cluster_id: &str, language: &str, command: &str) -> Value {
    let calls = dbutils_calls(command);
    let upsert = calls.iter().any(|c| c.name == "mount") && calls.iter().any(|c| c.name == "updateMount");
    let mut output = Vec::new();
    for call in &calls {
        let step = match call.name.as_str() {
            "mount" | "updateMount" if upsert => {
                if call.name == "updateMount" {
                    continue;
                }
                mount(state, command, &call.args, language, MountMode::Upsert)
            }
            "mount" => mount(state, command, &call.args, language, MountMode::Create),
            "updateMount" => mount(state, command, &call.args, language, MountMode::Update),
            "unmount" => unmount(state, &call.args, language),
            "mounts" if upsert => continue,
            "mounts" => Ok(render_mounts(&state.mounts)),
            "ls" => ls(state, cluster_id, &call.args, language, command),
            other => Err(format!("the stand-in does not implement dbutils.fs.{other}")),
        };
        match step {
            Ok(text) => output.push(text),
            Err(cause) => {
                return json!({ "resultType": "error", "summary": cause.lines().next().unwrap_or_default(), "cause": cause })
            }
        }
    }
    json!({ "resultType": "text", "data": output.join("\n") })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum MountMode {
    Create,
    Update,
    Upsert,
}

struct Call {
    name: String,
    args: String,
}

/// Finds `dbutils.fs.<name>(<args>)` calls, matching parentheses outside string literals.
fn dbutils_calls(command: &str) -> Vec<Call> {
    let mut calls = Vec::new();
    let mut rest = command;
    while let Some(at) = rest.find("dbutils.fs.") {
        let after = &rest[at + "dbutils.fs.".len()..];
        let name: String = after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        let after_name = &after[name.len()..];
        let Some(args_start) = after_name.strip_prefix('(') else {
            rest = after_name;
            continue;
        };
        let mut depth = 1;
        let mut quote: Option<char> = None;
        let mut end = args_start.len();
        for (i, c) in args_start.char_indices() {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == '"' || c == '\'' => quote = Some(c),
                None if c == '(' => depth += 1,
                None if c == ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                None => {}
            }
        }
        calls.push(Call { name, args: args_start[..end].to_owned() });
        rest = &args_start[end.min(args_start.len())..];
    }
    calls
}

/// String literals in order.
fn literals(args: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut current: Option<(char, String)> = None;
    for c in args.chars() {
        match &mut current {
            Some((q, text)) if c == *q => {
                found.push(std::mem::take(text));
                current = None;
            }
            Some((_, text)) => text.push(c),
            None if c == '"' || c == '\'' => current = Some((c, String::new())),
            None => {}
        }
    }
    found
}

fn mount(state: &mut State, command: &str, args: &str, language: &str, mode: MountMode) -> Result<String, String> {
    let strings = literals(args);
    let source = strings.iter().find(|s| s.starts_with("s3a://") || s.starts_with("s3://")).cloned();
    let mount_point = strings.iter().find(|s| s.starts_with("/mnt/")).cloned();
    let (Some(source), Some(mount_point)) = (source, mount_point) else {
        return Err(
            "java.lang.IllegalArgumentException: mount needs a source (s3a://…) and a mount point (/mnt/…)".to_owned()
        );
    };
    let mount_point = mount_point.trim_end_matches('/').to_owned();
    // Key-value pairs after the two paths: `"k": "v"` (Python) or `"k" -> "v"` (Scala), inline or in a variable.
    let mut pairs: Vec<String> =
        strings.iter().filter(|s| **s != source && s.trim_end_matches('/') != mount_point).cloned().collect();
    if pairs.is_empty() {
        if let Some(variable) = configs_variable(args) {
            pairs = assigned_literals(command, &variable);
        }
    }
    let extra_configs: BTreeMap<String, String> =
        pairs.chunks(2).filter(|p| p.len() == 2).map(|p| (p[0].clone(), p[1].clone())).collect();
    let existing = state.mounts.iter().position(|m| m.mount_point == mount_point);
    let updated = match (mode, existing) {
        (MountMode::Create, Some(_)) => {
            return Err(format!("java.rmi.RemoteException: java.lang.IllegalArgumentException: requirement failed: Directory already mounted: {mount_point}"))
        }
        (MountMode::Update, None) => {
            return Err(format!("java.rmi.RemoteException: java.lang.IllegalArgumentException: Directory not mounted: {mount_point}"))
        }
        (_, Some(index)) => {
            state.mounts[index] = Mount { mount_point: mount_point.clone(), source, extra_configs };
            true
        }
        (_, None) => {
            state.mounts.push(Mount { mount_point: mount_point.clone(), source, extra_configs });
            false
        }
    };
    Ok(if command.contains("print(") {
        format!("{} {mount_point}", if updated { "updated" } else { "mounted" })
    } else if language == "scala" {
        "res0: Boolean = true".to_owned()
    } else {
        "Out[1]: True".to_owned()
    })
}

/// `x` in `extra_configs=x` or `extraConfigs = x`.
fn configs_variable(args: &str) -> Option<String> {
    let at = args.find("extra_configs").or_else(|| args.find("extraConfigs"))?;
    let rest = args[at..].split_once('=')?.1.trim_start();
    let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    (!name.is_empty()).then_some(name)
}

/// The string literals of `name = {…}` (or `Map(…)`) in the command.
fn assigned_literals(command: &str, name: &str) -> Vec<String> {
    for line_start in command.match_indices(name).map(|(i, _)| i) {
        let rest = command[line_start + name.len()..].trim_start();
        let Some(value) = rest.strip_prefix('=').filter(|r| !r.starts_with('=')) else { continue };
        let value = value.trim_start();
        let (open, close) = if value.starts_with('{') { ('{', '}') } else { ('(', ')') };
        let mut depth = 0;
        for (i, c) in value.char_indices() {
            if c == open {
                depth += 1;
            } else if c == close {
                depth -= 1;
                if depth == 0 {
                    return literals(&value[..i]);
                }
            }
        }
    }
    Vec::new()
}

fn unmount(state: &mut State, args: &str, language: &str) -> Result<String, String> {
    let point = literals(args).into_iter().next().unwrap_or_default();
    let point = point.trim_end_matches('/');
    let before = state.mounts.len();
    state.mounts.retain(|m| m.mount_point != point);
    if state.mounts.len() == before {
        return Err(format!(
            "java.rmi.RemoteException: java.lang.IllegalArgumentException: Directory not mounted: {point}"
        ));
    }
    Ok(if language == "scala" { "res0: Boolean = true".to_owned() } else { format!("{point} has been unmounted.") })
}

fn render_mounts(mounts: &[Mount]) -> String {
    let items: Vec<String> = mounts
        .iter()
        .map(|m| format!("MountInfo(mountPoint='{}', source='{}', encryptionType='')", m.mount_point, m.source))
        .collect();
    format!("[{}]", items.join(", "))
}

fn bucket_of(source: &str) -> Option<&str> {
    let rest = source.strip_prefix("s3a://").or_else(|| source.strip_prefix("s3://"))?;
    rest.split('/').next().filter(|b| !b.is_empty())
}

fn ls(state: &State, cluster_id: &str, args: &str, language: &str, command: &str) -> Result<String, String> {
    let Some(path) = literals(args).into_iter().next() else {
        return Err("java.lang.IllegalArgumentException: ls needs a path".to_owned());
    };
    let denied = |why: &str| {
        Err(format!(
            "java.nio.file.AccessDeniedException: {path}: getFileStatus on {path}: com.amazonaws.services.s3.model.AmazonS3Exception: Forbidden; {why} (Service: Amazon S3; Status Code: 403; Error Code: 403 Forbidden)"
        ))
    };
    let cluster = state.clusters.get(cluster_id);
    let cluster_conf = |key: &str| {
        cluster
            .and_then(|c| c.spec.get("spark_conf"))
            .and_then(|conf| conf.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let (bucket, configs) = if path.starts_with("/mnt/") || path.starts_with("dbfs:/mnt/") {
        let point = path.trim_start_matches("dbfs:").trim_end_matches('/');
        let Some(mount) =
            state.mounts.iter().find(|m| point == m.mount_point || point.starts_with(&format!("{}/", m.mount_point)))
        else {
            return Err(format!("java.io.FileNotFoundException: File {path} does not exist."));
        };
        let Some(bucket) = bucket_of(&mount.source) else {
            return Err(format!("java.io.FileNotFoundException: File {path} does not exist."));
        };
        let conf = |key: &str| {
            mount
                .extra_configs
                .get(&key.replace("spark.hadoop.", ""))
                .or(mount.extra_configs.get(key))
                .cloned()
                .or_else(|| cluster_conf(key))
        };
        (bucket.to_owned(), (conf(CREDENTIALS_TYPE_KEY), conf(STS_ARN_KEY)))
    } else {
        let Some(bucket) = bucket_of(&path) else {
            return Err(format!("java.io.IOException: unsupported path {path}"));
        };
        (bucket.to_owned(), (cluster_conf(CREDENTIALS_TYPE_KEY), cluster_conf(STS_ARN_KEY)))
    };
    let profile = cluster
        .and_then(|c| c.spec.get("aws_attributes"))
        .and_then(|a| a.get("instance_profile_arn"))
        .and_then(Value::as_str);
    match profile {
        None => return denied("the cluster has no instance profile"),
        Some(arn) if !state.profiles.iter().any(|p| p["instance_profile_arn"] == arn) => {
            return denied("the cluster's instance profile is not registered")
        }
        Some(_) => {}
    }
    if configs.0.as_deref() != Some("AssumeRole") || configs.1.is_none() {
        return denied("no AssumeRole credentials configured (fs.s3a.credentialsType, fs.s3a.stsAssumeRole.arn)");
    }
    let names = (state.ls_handler)(&bucket)?;
    let sample: Vec<&String> = names.iter().take(5).collect();
    if command.contains("json") && command.contains("dumps") {
        return Ok(json!({ "path": path, "entries": names.len(), "sample": sample })
            .to_string()
            .replace("\":", "\": ")
            .replace(",\"", ", \""));
    }
    if command.contains("print(len(") {
        let quoted: Vec<String> = sample.iter().map(|n| format!("'{n}'")).collect();
        return Ok(format!("{} [{}]", names.len(), quoted.join(", ")));
    }
    let base = if path.ends_with('/') { path.clone() } else { format!("{path}/") };
    let infos: Vec<String> = names
        .iter()
        .map(|name| {
            if language == "scala" {
                format!("FileInfo({base}{name}, {name}, 0, 0)")
            } else {
                format!("FileInfo(path='{base}{name}', name='{name}', size=0, modificationTime=0)")
            }
        })
        .collect();
    Ok(if language == "scala" {
        format!("res0: Seq[com.databricks.backend.daemon.dbutils.FileInfo] = WrappedArray({})", infos.join(", "))
    } else {
        format!("Out[1]: [{}]", infos.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_base64(input: &str, expect: &str) {
        assert_eq!(base64(input), expect);
    }

    #[test]
    fn base64_matches_rfc4648() {
        check_base64("", "");
        check_base64("f", "Zg==");
        check_base64("fo", "Zm8=");
        check_base64("foo", "Zm9v");
        check_base64("id:secret", "aWQ6c2VjcmV0");
    }

    #[track_caller]
    fn check_calls(command: &str, expect: &[(&str, &[&str])]) {
        let calls: Vec<(String, Vec<String>)> =
            dbutils_calls(command).into_iter().map(|c| (c.name, literals(&c.args))).collect();
        let expect: Vec<(String, Vec<String>)> =
            expect.iter().map(|(n, a)| (n.to_string(), a.iter().map(|s| s.to_string()).collect())).collect();
        assert_eq!(calls, expect);
    }

    #[test]
    fn parses_dbutils_calls() {
        check_calls(r#"dbutils.fs.ls("s3a://b/")"#, &[("ls", &["s3a://b/"])]);
        check_calls("display(dbutils.fs.ls('/mnt/b'))", &[("ls", &["/mnt/b"])]);
        check_calls(
            r#"dbutils.fs.mount("s3a://b", "/mnt/b", extra_configs = {"fs.s3a.credentialsType": "AssumeRole", "x": "(y)"})"#,
            &[("mount", &["s3a://b", "/mnt/b", "fs.s3a.credentialsType", "AssumeRole", "x", "(y)"])],
        );
        check_calls(
            "dbutils.fs.mount(\"s3a://b\", \"/mnt/b\", extraConfigs = Map(\"k\" -> \"v\"))\ndbutils.fs.ls(\"/mnt/b\")",
            &[("mount", &["s3a://b", "/mnt/b", "k", "v"]), ("ls", &["/mnt/b"])],
        );
        check_calls("dbutils.fs.mounts()", &[("mounts", &[])]);
        check_calls("print('no calls')", &[]);
    }

    #[track_caller]
    fn check_arn(arn: &str, expect: bool) {
        assert_eq!(is_instance_profile_arn(arn), expect, "{arn}");
    }

    #[test]
    fn instance_profile_arns() {
        check_arn("arn:aws:iam::111111111111:instance-profile/MyRoleA", true);
        check_arn("arn:aws:iam::111111111111:role/MyRoleA", false);
        check_arn("arn:aws:iam::1111:instance-profile/MyRoleA", false);
        check_arn("arn:aws:iam::111111111111:instance-profile/", false);
    }
}

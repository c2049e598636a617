//! Unity Catalog in the stand-in: storage credentials, external locations, validation and the
//! grants on external locations, kept in memory and checked the way the API checks them.
// A refused request is answered with the reply the check built; the reply is large, and boxing it
// at every `?` would only add noise to test support code.
#![expect(clippy::result_large_err, reason = "a refused request is answered with the reply its check built")]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::{json, Value};

use super::{error, invalid, ok, unknown_fields, Reply};

/// The master role the stand-in names in every credential.
pub const MASTER_ROLE: &str = "arn:aws:iam::414351767826:role/unity-catalog-prod-UCMasterRole-14S5ZJVKOTYTL";

/// Decides a validation: given the credential's role ARN and external ID, the URL and whether
/// only reads are asked, the `(operation, result, message)` of each operation.
pub type UcValidator = Arc<dyn Fn(&str, &str, &str, bool) -> Vec<(String, String, String)> + Send + Sync>;

const PREFIX: &str = "/api/2.1/unity-catalog/";
const PRIVILEGES: &[&str] = &[
    "ALL_PRIVILEGES",
    "BROWSE",
    "CREATE_EXTERNAL_TABLE",
    "CREATE_EXTERNAL_VOLUME",
    "CREATE_MANAGED_STORAGE",
    "MANAGE",
    "READ_FILES",
    "WRITE_FILES",
];

#[derive(Default)]
pub(super) struct UnityState {
    pub(super) credentials: BTreeMap<String, Value>,
    pub(super) locations: BTreeMap<String, Value>,
    pub(super) grants: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    /// Validations still to fail, as the first one after a trust change does while IAM propagates.
    pub(super) failing_validations: usize,
    pub(super) validations: usize,
    pub(super) validator: Option<UcValidator>,
    next: u64,
}

impl UnityState {
    fn new_id(&mut self) -> u64 {
        self.next += 1;
        self.next
    }
}

/// Whether this path is Unity Catalog's.
pub(super) fn handles(path: &str) -> bool {
    path.starts_with(PREFIX)
}

pub(super) fn respond(
    state: &mut UnityState,
    clock: u64,
    method: &str,
    path: &str,
    query: &BTreeMap<String, String>,
    body: &Value,
) -> Reply {
    let rest = &path[PREFIX.len()..];
    let (collection, name) = match rest.split_once('/') {
        Some((c, n)) => (c, Some(percent_decode(n))),
        None => (rest, None),
    };
    if matches!(method, "POST" | "PATCH") && !body.is_object() {
        return error(400, "MALFORMED_REQUEST", "the request body is not a JSON object");
    }
    match (method, collection, name.as_deref()) {
        ("POST", "storage-credentials", None) => create_credential(state, clock, body),
        ("GET", "storage-credentials", None) => {
            ok(json!({ "storage_credentials": state.credentials.values().collect::<Vec<_>>() }))
        }
        ("GET", "storage-credentials", Some(n)) => match state.credentials.get(n) {
            Some(c) => ok(c.clone()),
            None => credential_missing(n),
        },
        ("PATCH", "storage-credentials", Some(n)) => update_credential(state, clock, n, body),
        ("DELETE", "storage-credentials", Some(n)) => delete_credential(state, n, query),
        ("POST", "external-locations", None) => create_location(state, clock, body),
        ("GET", "external-locations", None) => {
            ok(json!({ "external_locations": state.locations.values().collect::<Vec<_>>() }))
        }
        ("GET", "external-locations", Some(n)) => match state.locations.get(n) {
            Some(l) => ok(l.clone()),
            None => location_missing(n),
        },
        ("PATCH", "external-locations", Some(n)) => update_location(state, clock, n, body),
        ("DELETE", "external-locations", Some(n)) => {
            if state.locations.remove(n).is_none() {
                return location_missing(n);
            }
            state.grants.remove(n);
            ok(json!({}))
        }
        ("POST", "validate-storage-credentials", None) => validate(state, body),
        ("GET", "permissions", Some(n)) => match n.strip_prefix("external_location/") {
            Some(l) if state.locations.contains_key(l) => ok(assignments(state, l)),
            Some(l) => location_missing(l),
            None => error(404, "ENDPOINT_NOT_FOUND", format!("the stand-in has no securable `{n}`")),
        },
        ("PATCH", "permissions", Some(n)) => match n.strip_prefix("external_location/") {
            Some(l) => update_permissions(state, l, body),
            None => error(404, "ENDPOINT_NOT_FOUND", format!("the stand-in has no securable `{n}`")),
        },
        _ => error(404, "ENDPOINT_NOT_FOUND", format!("no API found for `{method} {path}`")),
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The object without its `null` fields: the API leaves out what is unset.
fn without_nulls(mut value: Value) -> Value {
    if let Some(map) = value.as_object_mut() {
        map.retain(|_, v| !v.is_null());
    }
    value
}

fn credential_missing(name: &str) -> Reply {
    error(404, "STORAGE_CREDENTIAL_DOES_NOT_EXIST", format!("Storage Credential '{name}' does not exist."))
}

fn location_missing(name: &str) -> Reply {
    error(404, "EXTERNAL_LOCATION_DOES_NOT_EXIST", format!("External Location '{name}' does not exist."))
}

fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "iam"
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].strip_prefix("role/").is_some_and(|n| !n.is_empty())
}

fn check_bools(body: &Value, keys: &[&str]) -> Option<Reply> {
    keys.iter()
        .find(|k| body.get(**k).is_some_and(|v| !v.is_boolean()))
        .map(|k| invalid(format!("Field {k} must be a boolean")))
}

fn role_of(body: &Value) -> Result<Option<String>, Reply> {
    let Some(role) = body.get("aws_iam_role") else { return Ok(None) };
    if let Some(message) = unknown_fields(role, &["role_arn"]) {
        return Err(invalid(format!("aws_iam_role: {message}")));
    }
    match role.get("role_arn").and_then(Value::as_str) {
        Some(arn) if is_role_arn(arn) => Ok(Some(arn.to_owned())),
        Some(arn) => Err(invalid(format!("Invalid role ARN: {arn}"))),
        None => Err(invalid("Missing required field: aws_iam_role.role_arn")),
    }
}

fn create_credential(state: &mut UnityState, clock: u64, body: &Value) -> Reply {
    if let Some(message) = unknown_fields(body, &["name", "aws_iam_role", "comment", "read_only", "skip_validation"]) {
        return invalid(message);
    }
    if let Some(reply) = check_bools(body, &["read_only", "skip_validation"]) {
        return reply;
    }
    let Some(name) = body.get("name").and_then(Value::as_str).filter(|n| !n.is_empty()) else {
        return invalid("Missing required field: name");
    };
    let role = match role_of(body) {
        Ok(Some(role)) => role,
        Ok(None) => {
            return invalid("a storage credential needs one of aws_iam_role, …; the stand-in knows aws_iam_role")
        }
        Err(reply) => return reply,
    };
    if state.credentials.contains_key(name) {
        return error(409, "STORAGE_CREDENTIAL_ALREADY_EXISTS", format!("Storage Credential '{name}' already exists."));
    }
    let id = state.new_id();
    let credential = json!({
        "name": name,
        "full_name": name,
        "id": format!("00000000-0000-0000-0000-{id:012}"),
        "aws_iam_role": {
            "role_arn": role,
            "external_id": format!("{:08x}-stand-in-external-id-{id}", 0x5eed_0000u64 + id),
            "unity_catalog_iam_arn": MASTER_ROLE,
        },
        "comment": body.get("comment").cloned().unwrap_or(Value::Null),
        "read_only": body.get("read_only").and_then(Value::as_bool).unwrap_or(false),
        "owner": "stand-in-admin@example.com",
        "created_at": clock,
        "created_by": "stand-in-admin@example.com",
        "updated_at": clock,
        "updated_by": "stand-in-admin@example.com",
    });
    let credential = without_nulls(credential);
    state.credentials.insert(name.to_owned(), credential.clone());
    ok(credential)
}

fn update_credential(state: &mut UnityState, clock: u64, name: &str, body: &Value) -> Reply {
    let allowed =
        ["aws_iam_role", "comment", "read_only", "skip_validation", "force", "new_name", "owner", "isolation_mode"];
    if let Some(message) = unknown_fields(body, &allowed) {
        return invalid(message);
    }
    if let Some(reply) = check_bools(body, &["read_only", "skip_validation", "force"]) {
        return reply;
    }
    let role = match role_of(body) {
        Ok(role) => role,
        Err(reply) => return reply,
    };
    let Some(credential) = state.credentials.get_mut(name) else { return credential_missing(name) };
    if let Some(role) = role {
        // A new role keeps the credential's external ID, as the API does.
        credential["aws_iam_role"]["role_arn"] = json!(role);
    }
    for key in ["comment", "read_only", "owner"] {
        if let Some(v) = body.get(key) {
            credential[key] = v.clone();
        }
    }
    credential["updated_at"] = json!(clock);
    ok(credential.clone())
}

fn delete_credential(state: &mut UnityState, name: &str, query: &BTreeMap<String, String>) -> Reply {
    if !state.credentials.contains_key(name) {
        return credential_missing(name);
    }
    let force = query.get("force").is_some_and(|f| f == "true");
    let dependents: Vec<&String> =
        state.locations.iter().filter(|(_, l)| l["credential_name"] == name).map(|(n, _)| n).collect();
    if !dependents.is_empty() && !force {
        return invalid(format!(
            "Storage credential '{name}' has {} dependent external location(s); delete them or use force",
            dependents.len()
        ));
    }
    state.credentials.remove(name);
    ok(json!({}))
}

fn check_url(url: &str) -> Result<(), Reply> {
    let Some(rest) = url.strip_prefix("s3://") else {
        return Err(invalid(format!("Invalid url `{url}`: the stand-in knows s3:// locations")));
    };
    let bucket = rest.split('/').next().unwrap_or("");
    if bucket.is_empty() || bucket.contains('.') {
        return Err(invalid(format!("Invalid url `{url}`: bucket names with dots are not supported")));
    }
    Ok(())
}

fn check_encryption(body: &Value) -> Result<(), Reply> {
    let Some(details) = body.get("encryption_details") else { return Ok(()) };
    if let Some(message) = unknown_fields(details, &["sse_encryption_details"]) {
        return Err(invalid(format!("encryption_details: {message}")));
    }
    let Some(sse) = details.get("sse_encryption_details") else { return Ok(()) };
    if let Some(message) = unknown_fields(sse, &["algorithm", "aws_kms_key_arn"]) {
        return Err(invalid(format!("sse_encryption_details: {message}")));
    }
    match sse.get("algorithm").and_then(Value::as_str) {
        None | Some("AWS_SSE_S3") => Ok(()),
        Some("AWS_SSE_KMS") if sse.get("aws_kms_key_arn").and_then(Value::as_str).is_some() => Ok(()),
        Some(other) => Err(invalid(format!("Invalid encryption algorithm or missing key: {other}"))),
    }
}

fn overlaps(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim_end_matches('/'), b.trim_end_matches('/'));
    a == b || a.starts_with(&format!("{b}/")) || b.starts_with(&format!("{a}/"))
}

fn create_location(state: &mut UnityState, clock: u64, body: &Value) -> Reply {
    let allowed =
        ["name", "url", "credential_name", "comment", "read_only", "skip_validation", "encryption_details", "fallback"];
    if let Some(message) = unknown_fields(body, &allowed) {
        return invalid(message);
    }
    if let Some(reply) = check_bools(body, &["read_only", "skip_validation"]) {
        return reply;
    }
    let field = |k: &str| body.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let (Some(name), Some(url), Some(credential)) = (field("name"), field("url"), field("credential_name")) else {
        return invalid("Missing required field: name, url and credential_name are required");
    };
    if let Err(reply) = check_url(url).and_then(|()| check_encryption(body)) {
        return reply;
    }
    if !state.credentials.contains_key(credential) {
        return credential_missing(credential);
    }
    if state.locations.contains_key(name) {
        return error(409, "EXTERNAL_LOCATION_ALREADY_EXISTS", format!("External Location '{name}' already exists."));
    }
    if let Some((other, _)) = state.locations.iter().find(|(_, l)| l["url"].as_str().is_some_and(|u| overlaps(u, url)))
    {
        return invalid(format!("Input path url '{url}' overlaps with an existing external location '{other}'"));
    }
    let location = json!({
        "name": name,
        "url": url,
        "credential_name": credential,
        "comment": body.get("comment").cloned().unwrap_or(Value::Null),
        "read_only": body.get("read_only").and_then(Value::as_bool).unwrap_or(false),
        "encryption_details": body.get("encryption_details").cloned().unwrap_or(Value::Null),
        "owner": "stand-in-admin@example.com",
        "created_at": clock,
        "updated_at": clock,
    });
    let location = without_nulls(location);
    state.locations.insert(name.to_owned(), location.clone());
    ok(location)
}

fn update_location(state: &mut UnityState, clock: u64, name: &str, body: &Value) -> Reply {
    let allowed = [
        "url",
        "credential_name",
        "comment",
        "read_only",
        "skip_validation",
        "force",
        "encryption_details",
        "new_name",
        "owner",
        "fallback",
    ];
    if let Some(message) = unknown_fields(body, &allowed) {
        return invalid(message);
    }
    if let Some(reply) = check_bools(body, &["read_only", "skip_validation", "force"]) {
        return reply;
    }
    if let Some(url) = body.get("url").and_then(Value::as_str) {
        if let Err(reply) = check_url(url) {
            return reply;
        }
    }
    if let Err(reply) = check_encryption(body) {
        return reply;
    }
    if let Some(c) = body.get("credential_name").and_then(Value::as_str) {
        if !state.credentials.contains_key(c) {
            return credential_missing(c);
        }
    }
    let Some(location) = state.locations.get_mut(name) else { return location_missing(name) };
    for key in ["url", "credential_name", "comment", "read_only", "encryption_details", "owner"] {
        if let Some(v) = body.get(key) {
            location[key] = v.clone();
        }
    }
    location["updated_at"] = json!(clock);
    ok(location.clone())
}

fn validate(state: &mut UnityState, body: &Value) -> Reply {
    let allowed = [
        "storage_credential_name",
        "url",
        "external_location_name",
        "read_only",
        "aws_iam_role",
        "azure_managed_identity",
        "azure_service_principal",
        "cloudflare_api_token",
        "databricks_gcp_service_account",
    ];
    if let Some(message) = unknown_fields(body, &allowed) {
        return invalid(message);
    }
    if let Some(reply) = check_bools(body, &["read_only"]) {
        return reply;
    }
    state.validations += 1;
    let Some(name) = body.get("storage_credential_name").and_then(Value::as_str) else {
        return invalid("the stand-in validates by storage_credential_name");
    };
    let Some(credential) = state.credentials.get(name) else { return credential_missing(name) };
    let url =
        match (body.get("url").and_then(Value::as_str), body.get("external_location_name").and_then(Value::as_str)) {
            (Some(url), _) => url.to_owned(),
            (None, Some(l)) => match state.locations.get(l) {
                Some(loc) => loc["url"].as_str().unwrap_or_default().to_owned(),
                None => return location_missing(l),
            },
            (None, None) => return invalid("one of url and external_location_name is required"),
        };
    if let Err(reply) = check_url(&url) {
        return reply;
    }
    let read_only = body.get("read_only").and_then(Value::as_bool).unwrap_or(false)
        || credential["read_only"].as_bool().unwrap_or(false);
    let role = credential["aws_iam_role"]["role_arn"].as_str().unwrap_or_default().to_owned();
    let external_id = credential["aws_iam_role"]["external_id"].as_str().unwrap_or_default().to_owned();
    let results: Vec<(String, String, String)> = if state.failing_validations > 0 {
        state.failing_validations -= 1;
        vec![(
            "READ".to_owned(),
            "FAIL".to_owned(),
            format!("AWS IAM role does not have READ permissions on url {url}. Please contact your account admin to update the storage credential."),
        )]
    } else if let Some(validator) = &state.validator {
        validator(&role, &external_id, &url, read_only)
    } else {
        let write = if read_only { "SKIP" } else { "PASS" };
        [("READ", "PASS"), ("WRITE", write), ("LIST", "PASS"), ("DELETE", write), ("PATH_EXISTS", "PASS")]
            .into_iter()
            .map(|(o, r)| (o.to_owned(), r.to_owned(), String::new()))
            .collect()
    };
    let results: Vec<Value> = results
        .into_iter()
        .map(|(operation, result, message)| {
            let mut r = json!({ "operation": operation, "result": result });
            if !message.is_empty() {
                r["message"] = json!(message);
            }
            r
        })
        .collect();
    ok(json!({ "isDir": true, "results": results }))
}

fn assignments(state: &UnityState, location: &str) -> Value {
    let list: Vec<Value> = state
        .grants
        .get(location)
        .into_iter()
        .flatten()
        .filter(|(_, p)| !p.is_empty())
        .map(|(principal, privileges)| json!({ "principal": principal, "privileges": privileges }))
        .collect();
    json!({ "privilege_assignments": list })
}

fn update_permissions(state: &mut UnityState, location: &str, body: &Value) -> Reply {
    if let Some(message) = unknown_fields(body, &["changes"]) {
        return invalid(message);
    }
    if !state.locations.contains_key(location) {
        return location_missing(location);
    }
    let Some(changes) = body.get("changes").and_then(Value::as_array) else {
        return invalid("Missing required field: changes");
    };
    let mut parsed = Vec::new();
    for change in changes {
        if let Some(message) = unknown_fields(change, &["principal", "add", "remove"]) {
            return invalid(message);
        }
        let Some(principal) = change.get("principal").and_then(Value::as_str).filter(|p| !p.is_empty()) else {
            return invalid("Missing required field: changes.principal");
        };
        let list = |key: &str| -> Result<Vec<String>, Reply> {
            let Some(v) = change.get(key) else { return Ok(Vec::new()) };
            let items = v.as_array().ok_or_else(|| invalid(format!("Field {key} must be an array")))?;
            items
                .iter()
                .map(|p| match p.as_str() {
                    Some(p) if PRIVILEGES.contains(&p) => Ok(p.to_owned()),
                    _ => Err(invalid(format!("Privilege {p} is not applicable to this entity"))),
                })
                .collect()
        };
        let (add, remove) = match (list("add"), list("remove")) {
            (Ok(a), Ok(r)) => (a, r),
            (Err(reply), _) | (_, Err(reply)) => return reply,
        };
        parsed.push((principal.to_owned(), add, remove));
    }
    let grants = state.grants.entry(location.to_owned()).or_default();
    for (principal, add, remove) in parsed {
        let held = grants.entry(principal).or_default();
        held.extend(add);
        for p in remove {
            held.remove(&p);
        }
    }
    ok(assignments(state, location))
}

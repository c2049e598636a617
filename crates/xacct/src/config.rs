//! `xacct.toml` into a typed model. Every problem is reported at once, each
//! with its line and column, before any network call.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use policy_model::unity::{self, Grant, UnityBucket, UnityOwner};
use policy_model::{
    AccountId, Bucket, BucketName, Deployment, Flow, FlowParts, FlowPath, FlowProblem, KmsKeyArn, Owner, OwnerEntry,
    PolicyDocument, RoleName,
};
use toml_edit::{ImDocument, Item, TableLike};

/// The whole config: the flow plus how to reach each account and Databricks.
#[derive(Debug, Clone)]
pub struct Config {
    /// The checked flow: account A, the owners and their buckets.
    pub flow: Flow,
    /// The AWS profile for each account; `None` means the default chain.
    pub profiles: BTreeMap<AccountId, Option<String>>,
    /// The `[databricks]` section, when there is one.
    pub databricks: Option<DatabricksSection>,
    /// Documents that exist outside xacct's reach, for `verify --offline`.
    pub known: KnownDocuments,
    /// `[roles]`: the permissions boundary and tags of every role xacct creates.
    pub roles: aws_apply::RoleSettings,
    /// The `[exposure]` section: principals known and wanted.
    pub exposure: ExposureSection,
}

/// `[exposure]`: what `xacct exposure` leaves out of its verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExposureSection {
    /// `accept`: principals that are known and wanted (ARNs, account IDs, organization IDs or
    /// paths, service names, `*`). Their findings are still listed, marked accepted.
    pub accept: Vec<String>,
}

/// Documents the config points at: SCP levels and bucket policies that already exist.
#[derive(Debug, Clone, Default)]
pub struct KnownDocuments {
    /// SCP levels, root first; each file holds a policy or an array of policies.
    pub scps: Vec<Vec<PolicyDocument>>,
    /// Existing bucket policies by bucket name.
    pub bucket_policies: BTreeMap<String, PolicyDocument>,
    /// Existing trust policies of bucket-owner roles by role ARN (`existing_trust_policy`).
    pub trust_policies: BTreeMap<String, PolicyDocument>,
    /// Existing key policies by key ARN (`existing_key_policy`).
    pub key_policies: BTreeMap<String, PolicyDocument>,
}

/// The `[databricks]` section: where the workspace is and which cluster to configure.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DatabricksSection {
    /// The workspace URL; otherwise `DATABRICKS_HOST` or the profile's.
    pub host: Option<String>,
    /// A `~/.databrickscfg` profile.
    pub profile: Option<String>,
    /// An existing cluster to configure.
    pub cluster_id: Option<String>,
    /// A cluster to create (or reuse by name) instead.
    pub new_cluster: Option<NewCluster>,
    /// The Unity Catalog master role the owners' trust names before the API returns one (for
    /// GovCloud or another partition); checked by [`Flow::build`].
    pub uc_master_role_arn: Option<String>,
}

/// `[databricks.new_cluster]`: the spec of a cluster xacct creates.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NewCluster {
    /// Its name, by which a re-run finds it.
    pub cluster_name: String,
    /// The Databricks runtime, such as `15.4.x-scala2.12`.
    pub spark_version: String,
    /// The instance type, such as `i3.xlarge`.
    pub node_type_id: String,
    /// Workers besides the driver.
    pub num_workers: i64,
}

/// One problem in the config, located in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Byte range in the file.
    pub span: Range<usize>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong and what to do.
    pub message: String,
}

/// All the problems of one config file.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{} has {} problem{}", path, findings.len(), if findings.len() == 1 { "" } else { "s" })]
#[diagnostic(help("fix every problem listed; nothing was sent to AWS or Databricks"))]
pub struct ConfigErrors {
    /// The config file.
    pub path: String,
    /// Its text, for the report.
    #[source_code]
    pub source_code: miette::NamedSource<String>,
    /// Every problem, in file order.
    #[related]
    pub findings: Vec<FindingDiagnostic>,
}

/// One problem, as miette shows it.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{path}:{line}:{column}: {message}")]
pub struct FindingDiagnostic {
    /// The config file.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong and what to do.
    pub message: String,
    /// Where, for the label.
    #[label("{message}")]
    pub span: miette::SourceSpan,
}

/// The largest config file xacct reads. Configs of thousands of owners stay far below it; the cap
/// keeps `--config /dev/zero` or a wrong path from reading without end.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Reads a regular file of at most `max` bytes as UTF-8 text.
pub fn read_text_file(path: &Path, max: u64) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("it is not a regular file".to_owned());
    }
    if meta.len() > max {
        return Err(format!("it is {} bytes, more than the {max} bytes xacct reads", meta.len()));
    }
    std::fs::read_to_string(path).map_err(|e| e.to_string())
}

/// Reads and checks a config file.
pub fn load(path: &Path) -> Result<Config, LoadError> {
    let text = read_text_file(path, MAX_FILE_BYTES)
        .map_err(|message| LoadError::Read { path: path.display().to_string(), message })?;
    parse_in(&text, path.parent()).map_err(|findings| {
        let name = path.display().to_string();
        LoadError::Invalid(Box::new(ConfigErrors {
            path: name.clone(),
            source_code: miette::NamedSource::new(&name, text.clone()),
            findings: findings
                .into_iter()
                .map(|f| FindingDiagnostic {
                    path: name.clone(),
                    line: f.line,
                    column: f.column,
                    message: f.message,
                    span: f.span.into(),
                })
                .collect(),
        }))
    })
}

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read config `{path}`: {message}")]
    Read {
        /// The path given.
        path: String,
        /// Why.
        message: String,
    },
    /// The file has problems, all of them listed.
    #[error(transparent)]
    Invalid(Box<ConfigErrors>),
}

const TOP_KEYS: &[&str] = &["aws", "deployment", "bucket_owners", "databricks", "verify", "exposure", "roles"];
const EXPOSURE_KEYS: &[&str] = &["accept"];
const VERIFY_KEYS: &[&str] = &["scps"];
const AWS_KEYS: &[&str] = &["region"];
const DEPLOYMENT_KEYS: &[&str] =
    &["account_id", "aws_profile", "instance_role", "cross_account_role", "cross_account_policy"];
const OWNER_KEYS: &[&str] =
    &["account_id", "aws_profile", "role", "buckets", "existing_trust_policy", "access_mode", "storage_credential"];
const BUCKET_KEYS: &[&str] = &[
    "name",
    "access",
    "kms_key_arn",
    "mount",
    "existing_policy",
    "existing_key_policy",
    "external_location",
    "prefix",
    "grants",
];
const DATABRICKS_KEYS: &[&str] = &["host", "profile", "cluster_id", "new_cluster", "uc_master_role_arn"];
/// Keys that only an owner in the Unity Catalog mode may set, on the owner and on its buckets.
const UNITY_OWNER_KEYS: &[&str] = &["storage_credential"];
const UNITY_BUCKET_KEYS: &[&str] = &["external_location", "prefix", "grants"];
const UNITY_CATALOG: &str = "unity-catalog";
const NEW_CLUSTER_KEYS: &[&str] = &["cluster_name", "spark_version", "node_type_id", "num_workers"];

/// Parses config text; on failure returns every finding, in file order.
#[cfg(test)]
pub fn parse(text: &str) -> Result<Config, Vec<Finding>> {
    parse_in(text, None)
}

/// Parses config text whose relative file paths start at `base`.
pub fn parse_in(text: &str, base: Option<&Path>) -> Result<Config, Vec<Finding>> {
    let mut cx = Cx { text, base, findings: Vec::new(), known: KnownDocuments::default() };
    let doc = match ImDocument::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            cx.error(span, e.message().trim().to_owned());
            return Err(cx.finish());
        }
    };
    let root = doc.as_table();
    cx.known_keys(root, TOP_KEYS, "the top level");

    let region = match root.get("aws").and_then(|i| cx.table(i, "[aws]")) {
        Some(aws) => {
            cx.known_keys(aws, AWS_KEYS, "[aws]");
            cx.opt_str(aws, "region").map(|(region, span)| {
                if policy_model::arn::region_partition(&region).is_none() {
                    cx.error(
                        span,
                        format!("`region` `{region}` is not an AWS region name; expected one such as `us-east-1`"),
                    );
                }
                region
            })
        }
        None => None,
    }
    .unwrap_or_else(|| "us-east-1".to_owned());

    let whole = 0..text.len().min(1);
    // `[deployment]` may be left out only when there are owners and every one of them is in the
    // Unity Catalog mode (read from the raw tables, so that an owner with other problems counts).
    let raw_owners = root.get("bucket_owners").and_then(tables).unwrap_or_default();
    let all_unity = !raw_owners.is_empty()
        && raw_owners.iter().all(|t| t.get("access_mode").and_then(Item::as_str) == Some(UNITY_CATALOG));
    let mut deployment_absent = false;
    let deployment = match root.get("deployment").and_then(|i| cx.table(i, "[deployment]")) {
        Some(t) => {
            cx.known_keys(t, DEPLOYMENT_KEYS, "[deployment]");
            let account = cx.account(t, "[deployment]");
            let instance_role = cx.role(t, "instance_role", "[deployment]");
            let cross =
                cx.opt_str(t, "cross_account_role").and_then(|(name, span)| cx.check(RoleName::new(&name), span));
            let profile = cx.opt_str(t, "aws_profile").map(|(s, _)| s);
            match (account, instance_role) {
                (Some(account_id), Some(instance_role)) => {
                    Some((Deployment { account_id, instance_role, cross_account_role: cross }, profile))
                }
                _ => None,
            }
        }
        None if all_unity || root.contains_key("deployment") => {
            deployment_absent = !root.contains_key("deployment");
            None
        }
        None => {
            cx.error(whole.clone(), "missing section `[deployment]` (account A, where Databricks runs)".to_owned());
            None
        }
    };

    let mut owners = Vec::new();
    let mut owner_spans = Vec::new();
    match root.get("bucket_owners").map(|item| (item, tables(item))) {
        Some((_, Some(list))) if !list.is_empty() => {
            for t in list {
                if let Some((owner, spans)) = cx.owner(t, &region) {
                    owner_spans.push(spans);
                    owners.push(owner);
                }
            }
        }
        Some((item, _)) => cx.error(
            item.span().unwrap_or(whole.clone()),
            "`bucket_owners` must be one or more `[[bucket_owners]]` tables".to_owned(),
        ),
        None => cx
            .error(whole.clone(), "missing section `[[bucket_owners]]` (account B, which owns the buckets)".to_owned()),
    }

    let databricks = root.get("databricks").and_then(|i| cx.table(i, "[databricks]")).map(|t| cx.databricks(t));
    let exposure =
        root.get("exposure").and_then(|i| cx.table(i, "[exposure]")).map(|t| cx.exposure(t)).unwrap_or_default();
    let master_span = root
        .get("databricks")
        .and_then(Item::as_table_like)
        .map(|t| Cx::key_span(t, "uc_master_role_arn"))
        .unwrap_or(0..0);
    if databricks.is_none() {
        for (owner, spans) in owners.iter().zip(&owner_spans) {
            if let (OwnerEntry::UnityCatalog(uc), _) = owner {
                cx.error(
                    spans.access_mode.clone(),
                    format!(
                        "bucket owner `{}` uses `access_mode = \"unity-catalog\"`, which needs a `[databricks]` section (the workspace that holds its storage credential)",
                        uc.account_id
                    ),
                );
            }
        }
    }
    let (mut roles, role_path) =
        root.get("roles").and_then(|i| cx.table(i, "[roles]")).map(|t| cx.roles(t)).unwrap_or_default();
    roles.cross_account_policy =
        root.get("deployment").and_then(Item::as_table_like).and_then(|t| cx.cross_account_policy(t));
    if let Some(verify) = root.get("verify").and_then(|i| cx.table(i, "[verify]")) {
        cx.known_keys(verify, VERIFY_KEYS, "[verify]");
        match verify.get("scps").map(|i| (i.as_array(), Cx::key_span(verify, "scps"))) {
            None => {}
            Some((Some(files), _)) => {
                for file in files.iter() {
                    let span = file.span().unwrap_or(0..0);
                    match file.as_str() {
                        Some(path) => {
                            if let Some(level) = cx.documents(path, span) {
                                cx.known.scps.push(level);
                            }
                        }
                        None => cx.error(span, "`scps` lists file paths, one SCP level per file".to_owned()),
                    }
                }
            }
            Some((None, span)) => cx.error(span, "`scps` must be an array of file paths, root level first".to_owned()),
        }
    }

    // The flow's cross-field rules are `Flow::build`'s; each problem is placed by its path.
    let (owners, profiles): (Vec<OwnerEntry>, Vec<Option<String>>) = owners.into_iter().unzip();
    let place = |problems: Vec<FlowProblem>, cx: &mut Cx<'_>| {
        for problem in problems {
            let span = match problem.path() {
                FlowPath::MasterRole => master_span.clone(),
                path => owner_spans_of(&owner_spans, path),
            };
            cx.error(span, problem.to_string());
        }
    };
    let (deployment, dep_profile) = match deployment {
        Some((d, profile)) => (Some(d), profile),
        None if deployment_absent => (None, None),
        None => {
            place(policy_model::flow::entry_problems(None, &owners, false), &mut cx);
            return Err(cx.finish());
        }
    };
    let accounts: Vec<AccountId> = owners.iter().map(|o| o.account_id().clone()).collect();
    let parts = FlowParts {
        region,
        deployment,
        owners,
        uc_master_role_arn: databricks.as_ref().and_then(|d| d.uc_master_role_arn.clone()),
    };
    let parts = roles::with_path(role_path.as_deref(), parts);
    let flow = match Flow::build(parts) {
        Ok(flow) => flow,
        Err(problems) => {
            place(problems, &mut cx);
            return Err(cx.finish());
        }
    };
    if !cx.findings.is_empty() {
        return Err(cx.finish());
    }
    let mut profiles: BTreeMap<AccountId, Option<String>> = accounts.into_iter().zip(profiles).collect();
    if let Some(deployment) = flow.deployment() {
        profiles.insert(deployment.account_id.clone(), dep_profile);
    }
    Ok(Config { flow, profiles, databricks, known: cx.known, exposure, roles })
}

mod roles;

/// Where each parsed owner's values are in the file, in the order of the parsed owners and buckets.
struct OwnerSpans {
    account: Range<usize>,
    /// `access_mode`, or the account when the key is absent.
    access_mode: Range<usize>,
    storage_credential: Range<usize>,
    /// `(name, kms_key_arn)` for each parsed bucket.
    buckets: Vec<(Range<usize>, Range<usize>)>,
    /// `(external_location, grants)` for each parsed bucket, or its name when a key is absent.
    unity: Vec<(Range<usize>, Range<usize>)>,
}

fn owner_spans_of(spans: &[OwnerSpans], path: FlowPath) -> Range<usize> {
    let found = match path {
        FlowPath::OwnerAccount { owner } => spans.get(owner).map(|o| o.account.clone()),
        FlowPath::BucketName { owner, bucket } => {
            spans.get(owner).and_then(|o| o.buckets.get(bucket)).map(|(name, _)| name.clone())
        }
        FlowPath::KmsKey { owner, bucket } => {
            spans.get(owner).and_then(|o| o.buckets.get(bucket)).map(|(_, kms)| kms.clone())
        }
        FlowPath::AccessMode { owner } => spans.get(owner).map(|o| o.access_mode.clone()),
        FlowPath::StorageCredential { owner } => spans.get(owner).map(|o| o.storage_credential.clone()),
        FlowPath::ExternalLocation { owner, bucket } => {
            spans.get(owner).and_then(|o| o.unity.get(bucket)).map(|(location, _)| location.clone())
        }
        FlowPath::Grants { owner, bucket } => {
            spans.get(owner).and_then(|o| o.unity.get(bucket)).map(|(_, grants)| grants.clone())
        }
        _ => None,
    };
    found.unwrap_or(0..0)
}

struct Cx<'a> {
    text: &'a str,
    base: Option<&'a Path>,
    findings: Vec<Finding>,
    known: KnownDocuments,
}

impl Cx<'_> {
    fn error(&mut self, span: Range<usize>, message: String) {
        let before = &self.text[..span.start.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        self.findings.push(Finding { span, line, column, message });
    }

    fn finish(mut self) -> Vec<Finding> {
        self.findings.sort_by_key(|f| f.span.start);
        self.findings
    }

    /// Reads a JSON file of one policy or an array of policies.
    fn documents(&mut self, path: &str, span: Range<usize>) -> Option<Vec<PolicyDocument>> {
        let full = self.base.map_or_else(|| Path::new(path).to_path_buf(), |b| b.join(path));
        let text = match std::fs::read_to_string(&full) {
            Ok(text) => text,
            Err(e) => {
                self.error(span, format!("cannot read `{}`: {e}", full.display()));
                return None;
            }
        };
        let parsed = serde_json::from_str::<Vec<PolicyDocument>>(&text)
            .or_else(|_| PolicyDocument::from_json(&text).map(|d| vec![d]));
        match parsed {
            Ok(docs) => Some(docs),
            Err(e) => {
                self.error(span, format!("`{}` is not a policy document (or an array of them): {e}", full.display()));
                None
            }
        }
    }

    fn check<T>(&mut self, result: Result<T, policy_model::NameError>, span: Range<usize>) -> Option<T> {
        result.map_err(|e| self.error(span, e.to_string())).ok()
    }

    fn table<'t>(&mut self, item: &'t Item, name: &str) -> Option<&'t dyn TableLike> {
        let table = item.as_table_like();
        if table.is_none() {
            self.error(item.span().unwrap_or(0..0), format!("`{name}` must be a table"));
        }
        table
    }

    fn known_keys(&mut self, table: &dyn TableLike, known: &[&str], place: &str) {
        for (key, _) in table.iter() {
            if !known.contains(&key) {
                let span = table.key(key).and_then(|k| k.span()).unwrap_or(0..0);
                let hint = match nearest(key, known) {
                    Some(near) => format!("; did you mean `{near}`?"),
                    None => format!(
                        "; expected one of {}",
                        known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                    ),
                };
                self.error(span, format!("unknown key `{key}` in {place}{hint}"));
            }
        }
    }

    fn key_span(table: &dyn TableLike, key: &str) -> Range<usize> {
        table.get(key).and_then(Item::span).or_else(|| table.key(key).and_then(|k| k.span())).unwrap_or(0..0)
    }

    fn opt_str(&mut self, table: &dyn TableLike, key: &str) -> Option<(String, Range<usize>)> {
        let item = table.get(key)?;
        let span = Self::key_span(table, key);
        match item.as_str() {
            Some(s) => Some((s.to_owned(), span)),
            None => {
                self.error(span, format!("`{key}` must be a string"));
                None
            }
        }
    }

    fn req_str(&mut self, table: &dyn TableLike, key: &str, place: &str) -> Option<(String, Range<usize>)> {
        if table.get(key).is_none() {
            // Point at the table header: the first key of the table, or its start.
            let span = table.iter().next().and_then(|(k, _)| table.key(k)).and_then(|k| k.span()).unwrap_or(0..0);
            self.error(span, format!("{place} is missing required key `{key}`"));
            return None;
        }
        self.opt_str(table, key)
    }

    fn account(&mut self, table: &dyn TableLike, place: &str) -> Option<AccountId> {
        if let Some(item) = table.get("account_id").filter(|i| i.is_integer()) {
            self.error(
                item.span().unwrap_or(0..0),
                "`account_id` must be a quoted string, e.g. \"111111111111\", so that leading zeros survive".to_owned(),
            );
            return None;
        }
        let (id, span) = self.req_str(table, "account_id", place)?;
        self.check(AccountId::new(&id), span)
    }

    fn role(&mut self, table: &dyn TableLike, key: &str, place: &str) -> Option<RoleName> {
        let (name, span) = self.req_str(table, key, place)?;
        self.check(RoleName::new(&name), span)
    }

    fn owner(&mut self, t: &dyn TableLike, region: &str) -> Option<((OwnerEntry, Option<String>), OwnerSpans)> {
        let place = "[[bucket_owners]]";
        self.known_keys(t, OWNER_KEYS, place);
        let account = self.account(t, place);
        let role = self.role(t, "role", place);
        let profile = self.opt_str(t, "aws_profile").map(|(s, _)| s);
        if let (Some(account), Some(role)) = (&account, &role) {
            if let Some(doc) = self.one_document(t, "existing_trust_policy", "trust policy") {
                self.known.trust_policies.insert(policy_model::arn::role_arn(account, role), doc);
            }
        }
        let account_span = Self::key_span(t, "account_id");
        let unity = match self.opt_str(t, "access_mode") {
            None => Some(false),
            Some((s, _)) if s == "instance-profile" => Some(false),
            Some((s, _)) if s == UNITY_CATALOG => Some(true),
            Some((s, span)) => {
                self.error(span, format!("`access_mode` is `{s}`; expected `instance-profile` or `unity-catalog`"));
                None
            }
        };
        let mut spans = OwnerSpans {
            account: account_span.clone(),
            access_mode: t.get("access_mode").map_or(account_span.clone(), |_| Self::key_span(t, "access_mode")),
            storage_credential: t
                .get("storage_credential")
                .map_or(account_span.clone(), |_| Self::key_span(t, "storage_credential")),
            buckets: Vec::new(),
            unity: Vec::new(),
        };
        let is_unity = unity == Some(true);
        if unity == Some(false) {
            self.unity_only(t, UNITY_OWNER_KEYS);
        }
        let credential = if is_unity {
            match self.opt_str(t, "storage_credential") {
                Some((name, span)) => self.unity_check(unity::check_name(&name), span).map(|()| name),
                None => role.as_ref().map(unity::default_credential_name),
            }
        } else {
            None
        };
        let mut buckets = Vec::new();
        let mut unity_buckets = Vec::new();
        match t.get("buckets").map(|item| (item, tables(item))) {
            Some((_, Some(list))) if !list.is_empty() => {
                for b in list {
                    let name_span = Self::key_span(b, "name");
                    let parsed = self.bucket(b, region);
                    // An unknown `access_mode` is reported once, not again for each bucket key.
                    let extra = match unity {
                        Some(true) => self.unity_bucket(b, parsed.as_ref()),
                        Some(false) => {
                            self.unity_only(b, UNITY_BUCKET_KEYS);
                            None
                        }
                        None => None,
                    };
                    let Some(bucket) = parsed else { continue };
                    let span_of = |key: &str| b.get(key).map_or(name_span.clone(), |_| Self::key_span(b, key));
                    if is_unity {
                        let Some(uc) = extra else { continue };
                        spans.unity.push((span_of("external_location"), span_of("grants")));
                        unity_buckets.push(uc);
                    } else {
                        spans.unity.push((name_span.clone(), name_span.clone()));
                        buckets.push(bucket);
                    }
                    spans.buckets.push((name_span, Self::key_span(b, "kms_key_arn")));
                }
            }
            Some((item, _)) => self.error(
                item.span().unwrap_or(0..0),
                "`buckets` must be one or more `[[bucket_owners.buckets]]` tables".to_owned(),
            ),
            None => {
                let span = t.iter().next().and_then(|(k, _)| t.key(k)).and_then(|k| k.span()).unwrap_or(0..0);
                self.error(span, "[[bucket_owners]] has no `[[bucket_owners.buckets]]`".to_owned());
            }
        }
        let (account_id, role) = (account?, role?);
        let entry = if unity? {
            OwnerEntry::UnityCatalog(UnityOwner {
                account_id,
                role,
                storage_credential: credential?,
                buckets: unity_buckets,
            })
        } else {
            OwnerEntry::InstanceProfile(Owner { account_id, role, buckets })
        };
        Some(((entry, profile), spans))
    }

    /// Reports each of `keys` that an owner or bucket outside the Unity Catalog mode sets.
    fn unity_only(&mut self, t: &dyn TableLike, keys: &[&str]) {
        for key in keys {
            if t.get(key).is_some() {
                let span = t.key(key).and_then(|k| k.span()).unwrap_or(0..0);
                self.error(
                    span,
                    format!("`{key}` applies only to an owner with `access_mode = \"unity-catalog\"`; set that or remove `{key}`"),
                );
            }
        }
    }

    fn unity_check(&mut self, result: Result<(), unity::UnityNameError>, span: Range<usize>) -> Option<()> {
        result.map_err(|e| self.error(span, e.to_string())).ok()
    }

    /// The Unity Catalog settings of a bucket: its external location, prefix and grants. `mount`
    /// is refused: Unity Catalog reaches the bucket through the location.
    fn unity_bucket(&mut self, t: &dyn TableLike, bucket: Option<&Bucket>) -> Option<UnityBucket> {
        if t.get("mount").and_then(Item::as_bool) == Some(true) {
            let span = Self::key_span(t, "mount");
            self.error(
                span,
                "`mount` is for the instance-profile mode; an owner with `access_mode = \"unity-catalog\"` reaches the bucket through its external location".to_owned(),
            );
        }
        let location = match self.opt_str(t, "external_location") {
            Some((name, span)) => self.unity_check(unity::check_name(&name), span).map(|()| Some(name)),
            None => Some(None),
        };
        let prefix = match self.opt_str(t, "prefix") {
            Some((prefix, span)) => self.unity_check(unity::check_prefix(&prefix), span).map(|()| prefix),
            None => Some(String::new()),
        };
        let grants = self.grants(t);
        let bucket = bucket?;
        let external_location = location?.unwrap_or_else(|| unity::default_location_name(&bucket.name));
        Some(UnityBucket {
            name: bucket.name.clone(),
            access: bucket.access,
            kms_key_arn: bucket.kms_key_arn.clone(),
            external_location,
            prefix: prefix?,
            grants: grants?,
        })
    }

    /// `grants = [{ principal = "…", privileges = ["READ_FILES", …] }, …]`.
    fn grants(&mut self, t: &dyn TableLike) -> Option<Vec<Grant>> {
        let Some(item) = t.get("grants") else { return Some(Vec::new()) };
        let span = Self::key_span(t, "grants");
        let shape = "`grants` must be an array of `{ principal = \"…\", privileges = [\"READ_FILES\", …] }`";
        let Some(list) = item.as_array() else {
            self.error(span, shape.to_owned());
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        for value in list.iter() {
            let vspan = value.span().unwrap_or(span.clone());
            let Some(table) = value.as_inline_table() else {
                self.error(vspan, shape.to_owned());
                ok = false;
                continue;
            };
            for (key, _) in table.iter() {
                if key != "principal" && key != "privileges" {
                    self.error(
                        vspan.clone(),
                        format!("unknown key `{key}` in a grant; expected `principal` and `privileges`"),
                    );
                    ok = false;
                }
            }
            let principal = table.get("principal").and_then(|v| v.as_str()).filter(|p| !p.trim().is_empty());
            let privileges: Option<Vec<&str>> =
                table.get("privileges").and_then(|v| v.as_array()).and_then(|a| a.iter().map(|p| p.as_str()).collect());
            match (principal, privileges) {
                (Some(principal), Some(privileges)) if !privileges.is_empty() => {
                    for privilege in &privileges {
                        if let Err(e) = unity::check_privilege(privilege) {
                            self.error(vspan.clone(), e.to_string());
                            ok = false;
                        }
                    }
                    out.push(Grant {
                        principal: principal.to_owned(),
                        privileges: privileges.into_iter().map(str::to_owned).collect(),
                    });
                }
                _ => {
                    self.error(vspan, shape.to_owned());
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    fn bucket(&mut self, t: &dyn TableLike, region: &str) -> Option<Bucket> {
        let place = "[[bucket_owners.buckets]]";
        self.known_keys(t, BUCKET_KEYS, place);
        let name = self.req_str(t, "name", place).and_then(|(n, span)| self.check(BucketName::new(&n), span));
        let access = match self.opt_str(t, "access") {
            None => Some(policy_model::Access::ReadWrite),
            Some((s, _)) if s == "read-write" => Some(policy_model::Access::ReadWrite),
            Some((s, _)) if s == "read-only" => Some(policy_model::Access::ReadOnly),
            Some((s, span)) => {
                self.error(span, format!("`access` is `{s}`; expected `read-write` or `read-only`"));
                None
            }
        };
        // The key's account is checked against its owner's by `Flow::new`.
        let kms = self.opt_str(t, "kms_key_arn").and_then(|(arn, span)| match KmsKeyArn::new(&arn) {
            Ok(key) => {
                if key.region() != region {
                    tracing::debug!(%arn, "KMS key region differs from [aws] region");
                }
                Some(key)
            }
            Err(e) => {
                self.error(span, e.to_string());
                None
            }
        });
        let mount = match t.get("mount") {
            None => false,
            Some(item) => match item.as_bool() {
                Some(b) => b,
                None => {
                    self.error(item.span().unwrap_or(0..0), "`mount` must be `true` or `false`".to_owned());
                    false
                }
            },
        };
        let kms_ok = t.get("kms_key_arn").is_none() || kms.is_some();
        if let (Some((path, span)), Some(name)) = (self.opt_str(t, "existing_policy"), name.as_ref()) {
            if let Some(mut docs) = self.documents(&path, span.clone()) {
                match (docs.pop(), docs.is_empty()) {
                    (Some(doc), true) => {
                        self.known.bucket_policies.insert(name.to_string(), doc);
                    }
                    _ => self.error(span, format!("`{path}` must hold exactly one bucket policy")),
                }
            }
        }
        if let Some(doc) = self.one_document(t, "existing_key_policy", "key policy") {
            match &kms {
                Some(key) => {
                    self.known.key_policies.insert(key.as_str().to_owned(), doc);
                }
                None if t.get("kms_key_arn").is_none() => self.error(
                    Self::key_span(t, "existing_key_policy"),
                    "`existing_key_policy` needs `kms_key_arn`: it is the policy of that key".to_owned(),
                ),
                None => {}
            }
        }
        match (name, access, kms_ok) {
            (Some(name), Some(access), true) => Some(Bucket { name, access, kms_key_arn: kms, mount }),
            _ => None,
        }
    }

    /// The one policy document in the file that `key` names, if the key is set.
    fn one_document(&mut self, t: &dyn TableLike, key: &str, what: &str) -> Option<PolicyDocument> {
        let (path, span) = self.opt_str(t, key)?;
        let mut docs = self.documents(&path, span.clone())?;
        match (docs.pop(), docs.is_empty()) {
            (Some(doc), true) => Some(doc),
            _ => {
                self.error(span, format!("`{path}` must hold exactly one {what}"));
                None
            }
        }
    }

    /// `[exposure]`: `accept` is an array of principals, each checked for its form.
    fn exposure(&mut self, t: &dyn TableLike) -> ExposureSection {
        self.known_keys(t, EXPOSURE_KEYS, "[exposure]");
        let mut accept = Vec::new();
        match t.get("accept").map(|i| (i.as_array(), Self::key_span(t, "accept"))) {
            None => {}
            Some((Some(list), _)) => {
                for entry in list.iter() {
                    let span = entry.span().unwrap_or(0..0);
                    match entry.as_str().map(|s| (s, accept_problem(s))) {
                        Some((s, None)) => accept.push(s.to_owned()),
                        Some((s, Some(why))) => self.error(span, format!("`accept` entry `{s}` {why}")),
                        None => self.error(span, "`accept` lists principals as strings".to_owned()),
                    }
                }
            }
            Some((None, span)) => self.error(
                span,
                "`accept` must be an array of principals, e.g. [\"arn:aws:iam::333333333333:root\"]".to_owned(),
            ),
        }
        ExposureSection { accept }
    }

    fn databricks(&mut self, t: &dyn TableLike) -> DatabricksSection {
        self.known_keys(t, DATABRICKS_KEYS, "[databricks]");
        let host = self.opt_str(t, "host").and_then(|(h, span)| match check_host(&h) {
            Ok(()) => Some(h),
            Err(why) => {
                self.error(span, format!("`host` `{}`: {why}", redact_userinfo(&h)));
                None
            }
        });
        let profile = self.opt_str(t, "profile").map(|(s, _)| s);
        let cluster_id = self.opt_str(t, "cluster_id").map(|(s, _)| s);
        let new_cluster = t.get("new_cluster").and_then(|i| self.table(i, "[databricks.new_cluster]")).and_then(|nc| {
            let place = "[databricks.new_cluster]";
            self.known_keys(nc, NEW_CLUSTER_KEYS, place);
            let name = self.req_str(nc, "cluster_name", place);
            let version = self.req_str(nc, "spark_version", place);
            let node = self.req_str(nc, "node_type_id", place);
            let workers = match nc.get("num_workers") {
                None => Some(1),
                Some(i) => match i.as_integer() {
                    Some(n) if n >= 0 => Some(n),
                    _ => {
                        self.error(
                            i.span().unwrap_or(0..0),
                            "`num_workers` must be a whole number, 0 or more".to_owned(),
                        );
                        None
                    }
                },
            };
            Some(NewCluster {
                cluster_name: name?.0,
                spark_version: version?.0,
                node_type_id: node?.0,
                num_workers: workers?,
            })
        });
        if cluster_id.is_some() && t.get("new_cluster").is_some() {
            let span = Self::key_span(t, "cluster_id");
            self.error(
                span,
                "[databricks] sets both `cluster_id` and `[databricks.new_cluster]`; choose one".to_owned(),
            );
        }
        let uc_master_role_arn = self.opt_str(t, "uc_master_role_arn").map(|(arn, _)| arn);
        DatabricksSection { host, profile, cluster_id, new_cluster, uc_master_role_arn }
    }
}

/// Why an `[exposure] accept` entry is not a principal an exposure finding can name, if it is not.
fn accept_problem(entry: &str) -> Option<&'static str> {
    let org_id = |s: &str| {
        s.strip_prefix("o-").is_some_and(|rest| {
            (10..=32).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
    };
    let ok = entry == "*"
        || AccountId::is_valid(entry)
        || org_id(entry)
        || entry.split_once('/').is_some_and(|(org, _)| org_id(org))
        || entry.ends_with(".amazonaws.com")
        || entry.ends_with(".amazonaws.com.cn")
        || (entry.len() == 64 && entry.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        return None;
    }
    let parts: Vec<&str> = entry.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "iam" | "sts", "", account, resource]
            if partition.starts_with("aws") && !resource.is_empty() =>
        {
            if AccountId::is_valid(account) {
                None
            } else {
                Some("has an account id that is not 12 digits")
            }
        }
        ["arn", ..] => Some("is not an IAM or STS principal ARN (`arn:aws:iam::<account>:root`, `…:role/<name>`, `…:user/<name>`)"),
        _ => Some(
            "is not a principal: expected an ARN, a 12-digit account ID, an organization ID (`o-…`) or path, a service (`….amazonaws.com`) or `*`",
        ),
    }
}

/// The tables of an array of tables, in either TOML form: `[[name]]` sections or an inline
/// array `name = [{ … }, { … }]`. `None` when the item is neither.
fn tables(item: &Item) -> Option<Vec<&dyn TableLike>> {
    match item {
        Item::ArrayOfTables(list) => Some(list.iter().map(|t| t as &dyn TableLike).collect()),
        Item::Value(toml_edit::Value::Array(array)) => {
            array.iter().map(|v| v.as_inline_table().map(|t| t as &dyn TableLike)).collect()
        }
        _ => None,
    }
}

/// A workspace URL must be `https://`, except on a loopback host (a local stand-in), and must
/// not carry a user name or password: credentials come from the environment or a profile.
fn check_host(host: &str) -> Result<(), String> {
    let url = url::Url::parse(host).map_err(|e| format!("not a URL ({e}); expected `https://<workspace host>`"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("a user name or password in the URL is refused; use DATABRICKS_TOKEN or a profile".to_owned());
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err("the URL has no host".to_owned()),
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err("must start with `https://` (plain `http://` only for a loopback host)".to_owned()),
    }
}

/// `host` with any `user:pass@` replaced, so a refused URL's secret is not echoed.
fn redact_userinfo(host: &str) -> String {
    match (host.find("://"), host.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}<redacted>@{}", &host[..scheme + 3], &host[at + 1..]),
        _ => host.to_owned(),
    }
}

/// The known key closest to `key` by edit distance, if it is close enough to be a typo.
fn nearest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    known.iter().map(|k| (levenshtein(key, k), *k)).filter(|(d, k)| *d <= 2.max(k.len() / 3)).min().map(|(_, k)| k)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push((prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[aws]
region = "us-east-1"

[deployment]
account_id = "111111111111"
instance_role = "MyRoleA"
cross_account_role = "databricks-cross-account"

[[bucket_owners]]
account_id = "222222222222"
aws_profile = "data"
role = "MyRoleB"

  [[bucket_owners.buckets]]
  name = "my-bucket"
  access = "read-write"
  kms_key_arn = "arn:aws:kms:us-east-1:222222222222:key/k1"
  mount = true

[databricks]
host = "https://dbc-123.cloud.databricks.com"
cluster_id = "0123-456789-abcdefgh"
"#;

    #[track_caller]
    fn check(text: &str, expect: expect_test::Expect) {
        let got = match parse(text) {
            Ok(config) => {
                format!("ok: {} owner(s), {} bucket(s)", config.flow.owners().len(), config.flow.buckets().count())
            }
            Err(findings) => findings.iter().map(|f| format!("{}:{}: {}\n", f.line, f.column, f.message)).collect(),
        };
        expect.assert_eq(&got);
    }

    #[test]
    fn good_config() {
        check(GOOD, expect_test::expect!["ok: 1 owner(s), 1 bucket(s)"]);
        let config = parse(GOOD).unwrap();
        assert_eq!(config.profiles.get(&AccountId::new("222222222222").unwrap()), Some(&Some("data".to_owned())));
        assert_eq!(config.databricks.unwrap().cluster_id.as_deref(), Some("0123-456789-abcdefgh"));
    }

    #[test]
    fn every_problem_at_once() {
        let bad = GOOD
            .replace("\"111111111111\"", "\"1111\"")
            .replace("my-bucket", "My_Bucket")
            .replace("mount = true", "mout = true")
            .replace("key/k1", "key/k1\"\nkms_key_arn2 = \"x");
        check(
            &bad,
            expect_test::expect![[r#"
                6:14: account id `1111` is not 12 digits
                16:10: bucket name `My_Bucket` breaks the rule: only lowercase letters, digits, `.` and `-`
                19:1: unknown key `kms_key_arn2` in [[bucket_owners.buckets]]; did you mean `kms_key_arn`?
                20:3: unknown key `mout` in [[bucket_owners.buckets]]; did you mean `mount`?
            "#]],
        );
    }

    #[test]
    fn cross_field_rules() {
        check(
            &GOOD.replace("account_id = \"222222222222\"", "account_id = \"111111111111\""),
            expect_test::expect![[r#"
                11:14: account `111111111111` is both the deployment account (A) and a bucket owner (B); the runbook needs two accounts
                18:17: KMS key `arn:aws:kms:us-east-1:222222222222:key/k1` is in account `222222222222`, not in the bucket owner's account `111111111111`
            "#]],
        );
        check(
            &GOOD.replace("us-east-1:222222222222", "us-east-1:333333333333"),
            expect_test::expect![[r#"
                18:17: KMS key `arn:aws:kms:us-east-1:333333333333:key/k1` is in account `333333333333`, not in the bucket owner's account `222222222222`
            "#]],
        );
        // Duplicates are reported at the second occurrence, together with every other problem.
        let second_owner = "\n[[bucket_owners]]\naccount_id = \"333333333333\"\nrole = \"MyRoleB\"\n  [[bucket_owners.buckets]]\n  name = \"my-bucket\"\n  [[bucket_owners.buckets]]\n  name = \"other\"\n  mout = true\n";
        check(
            &GOOD.replace("[databricks]", &format!("{second_owner}\n[databricks]")),
            expect_test::expect![[r#"
                26:10: bucket `my-bucket` is listed twice (first under bucket owner `222222222222`); a bucket has one owner and one entry
                29:3: unknown key `mout` in [[bucket_owners.buckets]]; did you mean `mount`?
            "#]],
        );
        check(
            &GOOD
                .replace("[databricks]", &format!("{second_owner}\n[databricks]"))
                .replace("333333333333", "222222222222")
                .replace("\"other\"", "\"my-bucket\""),
            expect_test::expect![[r#"
                23:14: bucket owner account `222222222222` is listed twice; put all its buckets under one `[[bucket_owners]]`
                26:10: bucket `my-bucket` is listed twice (first under bucket owner `222222222222`); a bucket has one owner and one entry
                28:10: bucket `my-bucket` is listed twice (first under bucket owner `222222222222`); a bucket has one owner and one entry
                29:3: unknown key `mout` in [[bucket_owners.buckets]]; did you mean `mount`?
            "#]],
        );
        check(
            "",
            expect_test::expect![[r#"
            1:1: missing section `[deployment]` (account A, where Databricks runs)
            1:1: missing section `[[bucket_owners]]` (account B, which owns the buckets)
        "#]],
        );
        check(
            "[deployment\n",
            expect_test::expect![[r#"
            1:12: invalid table header
            expected `.`, `]`
        "#]],
        );
    }

    #[test]
    fn exposure_accept_and_existing_documents() {
        let with = |extra: &str| format!("{GOOD}\n[exposure]\n{extra}\n");
        check(
            &with(
                r#"accept = ["arn:aws:iam::333333333333:root", "444444444444", "o-abc123def4", "o-abc123def4/r-ab12/*", "logging.s3.amazonaws.com", "*"]"#,
            ),
            expect_test::expect!["ok: 1 owner(s), 1 bucket(s)"],
        );
        let config = parse(&with(r#"accept = ["444444444444", "arn:aws:iam::555555555555:role/etl"]"#)).unwrap();
        assert_eq!(config.exposure.accept, ["444444444444", "arn:aws:iam::555555555555:role/etl"]);
        check(
            &with("accept = [\"arn:aws:iam::3333:root\", \"partner\", 7, \"arn:aws:s3:::b\"]\nrefuse = []"),
            expect_test::expect![[r#"
                26:11: `accept` entry `arn:aws:iam::3333:root` has an account id that is not 12 digits
                26:37: `accept` entry `partner` is not a principal: expected an ARN, a 12-digit account ID, an organization ID (`o-…`) or path, a service (`….amazonaws.com`) or `*`
                26:48: `accept` lists principals as strings
                26:51: `accept` entry `arn:aws:s3:::b` is not an IAM or STS principal ARN (`arn:aws:iam::<account>:root`, `…:role/<name>`, `…:user/<name>`)
                27:1: unknown key `refuse` in [exposure]; expected one of `accept`
            "#]],
        );
        check(
            &with("accept = \"*\""),
            expect_test::expect![[r#"
            26:10: `accept` must be an array of principals, e.g. ["arn:aws:iam::333333333333:root"]
        "#]],
        );

        let dir = tempfile::tempdir().unwrap();
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Old","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::777777777777:root"},"Action":"sts:AssumeRole"}]}"#;
        std::fs::write(dir.path().join("trust.json"), policy).unwrap();
        std::fs::write(dir.path().join("key.json"), policy).unwrap();
        let text = GOOD
            .replace("role = \"MyRoleB\"\n", "role = \"MyRoleB\"\nexisting_trust_policy = \"trust.json\"\n")
            .replace("mount = true", "mount = true\n  existing_key_policy = \"key.json\"");
        let config = parse_in(&text, Some(dir.path())).unwrap();
        assert_eq!(config.known.trust_policies.keys().collect::<Vec<_>>(), ["arn:aws:iam::222222222222:role/MyRoleB"]);
        assert_eq!(config.known.key_policies.keys().collect::<Vec<_>>(), ["arn:aws:kms:us-east-1:222222222222:key/k1"]);
        let findings = parse_in(
            &text.replace("  kms_key_arn = \"arn:aws:kms:us-east-1:222222222222:key/k1\"\n", ""),
            Some(dir.path()),
        )
        .unwrap_err();
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(findings[0].message.contains("`existing_key_policy` needs `kms_key_arn`"), "{findings:?}");
    }

    #[test]
    fn regions_hosts_and_inline_tables() {
        check(
            &GOOD.replace("region = \"us-east-1\"", "region = \"us-east\""),
            expect_test::expect![[r#"
                3:10: `region` `us-east` is not an AWS region name; expected one such as `us-east-1`
            "#]],
        );
        check(
            &GOOD.replace("region = \"us-east-1\"", "region = \"us-gov-west-1\""),
            expect_test::expect!["ok: 1 owner(s), 1 bucket(s)"],
        );
        check(
            &GOOD.replace("https://dbc-123", "http://dbc-123"),
            expect_test::expect![[r#"
                22:8: `host` `http://dbc-123.cloud.databricks.com`: must start with `https://` (plain `http://` only for a loopback host)
            "#]],
        );
        check(
            &GOOD.replace("https://dbc-123", "https://admin:hunter2@dbc-123"),
            expect_test::expect![[r#"
                22:8: `host` `https://<redacted>@dbc-123.cloud.databricks.com`: a user name or password in the URL is refused; use DATABRICKS_TOKEN or a profile
            "#]],
        );
        check(
            &GOOD.replace("https://dbc-123.cloud.databricks.com", "http://127.0.0.1:8080"),
            expect_test::expect!["ok: 1 owner(s), 1 bucket(s)"],
        );
        let inline = r#"
[deployment]
account_id = "111111111111"
instance_role = "MyRoleA"

[[bucket_owners]]
account_id = "222222222222"
role = "MyRoleB"
buckets = [{ name = "raw" }, { name = "curated", access = "read-only" }]
"#;
        check(inline, expect_test::expect!["ok: 1 owner(s), 2 bucket(s)"]);
        let all_inline = r#"
bucket_owners = [{ account_id = "222222222222", role = "MyRoleB", buckets = [{ name = "raw" }] }]

[deployment]
account_id = "111111111111"
instance_role = "MyRoleA"
"#;
        check(all_inline, expect_test::expect!["ok: 1 owner(s), 1 bucket(s)"]);
        check(
            &inline.replace("{ name = \"raw\" }", "{ name = \"raw\", mout = true }"),
            expect_test::expect![[r#"
                9:28: unknown key `mout` in [[bucket_owners.buckets]]; did you mean `mount`?
            "#]],
        );
    }

    const MIXED: &str = r#"
[deployment]
account_id = "111111111111"
instance_role = "MyRoleA"

[[bucket_owners]]
account_id = "222222222222"
role = "MyRoleB"
  [[bucket_owners.buckets]]
  name = "my-bucket"

[[bucket_owners]]
account_id = "333333333333"
role = "uc-lake-access"
access_mode = "unity-catalog"
  [[bucket_owners.buckets]]
  name = "curated-lake"
  access = "read-only"
  prefix = "tables/"
  grants = [{ principal = "data-engineers", privileges = ["READ_FILES"] }]

[databricks]
host = "https://dbc-123.cloud.databricks.com"
"#;

    #[test]
    fn unity_catalog_owners() {
        check(MIXED, expect_test::expect!["ok: 1 owner(s), 1 bucket(s)"]);
        let config = parse(MIXED).unwrap();
        let uc = &config.flow.unity_owners()[0];
        assert_eq!(uc.storage_credential, "uc_lake_access");
        assert_eq!(uc.buckets[0].external_location, "curated_lake");
        assert_eq!(uc.buckets[0].url(), "s3://curated-lake/tables/");
        assert_eq!(config.flow.uc_master_role_arn(), unity::MASTER_ROLE_COMMERCIAL);
        assert_eq!(config.profiles.len(), 3);
        // Without an instance-profile owner, `[deployment]` may go.
        let only_uc = MIXED
            .replace("[deployment]\naccount_id = \"111111111111\"\ninstance_role = \"MyRoleA\"\n", "")
            .replace("[[bucket_owners]]\naccount_id = \"222222222222\"\nrole = \"MyRoleB\"\n  [[bucket_owners.buckets]]\n  name = \"my-bucket\"\n", "");
        check(&only_uc, expect_test::expect!["ok: 0 owner(s), 0 bucket(s)"]);
        let config = parse(&only_uc).unwrap();
        assert!(config.flow.deployment().is_none());
        assert_eq!(config.flow.unity_owners().len(), 1);
        // GovCloud gets its own master role.
        let gov = format!("[aws]\nregion = \"us-gov-west-1\"\n{only_uc}");
        assert_eq!(parse(&gov).unwrap().flow.uc_master_role_arn(), unity::MASTER_ROLE_GOVCLOUD);
    }

    #[test]
    fn unity_catalog_problems() {
        // `[deployment]` is needed as soon as one owner uses the instance-profile mode.
        check(
            &MIXED.replace("[deployment]\naccount_id = \"111111111111\"\ninstance_role = \"MyRoleA\"\n", ""),
            expect_test::expect![[r#"
                1:1: missing section `[deployment]` (account A, where Databricks runs)
            "#]],
        );
        // Every single-field and cross-field problem of the mode, each at its line and column.
        let bad = MIXED
            .replace("name = \"my-bucket\"", "name = \"my-bucket\"\n  prefix = \"x/\"")
            .replace("role = \"MyRoleB\"", "role = \"MyRoleB\"\nstorage_credential = \"c\"")
            .replace(
                "name = \"curated-lake\"",
                "name = \"curated.lake\"\n  mount = true\n  external_location = \"a b\"",
            )
            .replace("prefix = \"tables/\"", "prefix = \"/tables\"")
            .replace("[\"READ_FILES\"]", "[\"READ_FILES\", \"WRITE_FILES\", \"READ\"]");
        check(
            &bad,
            expect_test::expect![[r#"
                9:1: `storage_credential` applies only to an owner with `access_mode = "unity-catalog"`; set that or remove `storage_credential`
                12:3: `prefix` applies only to an owner with `access_mode = "unity-catalog"`; set that or remove `prefix`
                20:11: `mount` is for the instance-profile mode; an owner with `access_mode = "unity-catalog"` reaches the bucket through its external location
                21:23: name `a b` breaks the rule: no `.`, `/`, space or control character
                23:12: prefix `/tables` breaks the rule: must end with `/`
                24:13: privilege `READ` is not one an external location has; expected one of ALL_PRIVILEGES, BROWSE, CREATE_EXTERNAL_TABLE, CREATE_EXTERNAL_VOLUME, CREATE_MANAGED_STORAGE, MANAGE, READ_FILES, WRITE_FILES
            "#]],
        );
        // Cross-field rules of the mode: a dotted bucket, a write grant on a read-only bucket,
        // two owners with one credential name, a master role of another partition.
        let second = "\n[[bucket_owners]]\naccount_id = \"444444444444\"\nrole = \"uc_lake_access\"\naccess_mode = \"unity-catalog\"\nstorage_credential = \"uc_lake_access\"\n  [[bucket_owners.buckets]]\n  name = \"raw.lake\"\n  external_location = \"curated_lake\"\n";
        let cross = MIXED
            .replace("[databricks]", &format!("{second}\n[databricks]"))
            .replace("[\"READ_FILES\"]", "[\"WRITE_FILES\"]")
            .replace("host = ", "uc_master_role_arn = \"arn:aws-us-gov:iam::044793339203:role/m\"\nhost = ");
        check(
            &cross,
            expect_test::expect![[r#"
                20:12: grant of `WRITE_FILES` to `data-engineers` writes, but bucket `curated-lake` is `read-only`; drop it or make the bucket `read-write`
                27:22: storage credential `uc_lake_access` is named by two bucket owners; give each `storage_credential` its own name
                29:10: bucket `raw.lake` has a dot, which Unity Catalog external locations refuse; use a bucket without dots or the instance-profile mode
                30:23: external location `curated_lake` is named twice; give each bucket's `external_location` its own name
                33:22: `uc_master_role_arn` `arn:aws-us-gov:iam::044793339203:role/m` is not an IAM role ARN in partition `aws` of region `us-east-1`; for GovCloud use `arn:aws-us-gov:iam::044793339203:role/unity-catalog-prod-UCMasterRole-1QRFA8SGY15OJ`
            "#]],
        );
        check(
            &MIXED.replace("access_mode = \"unity-catalog\"", "access_mode = \"uc\""),
            expect_test::expect![[r#"
                15:15: `access_mode` is `uc`; expected `instance-profile` or `unity-catalog`
            "#]],
        );
        check(
            &MIXED.replace("[databricks]\nhost = \"https://dbc-123.cloud.databricks.com\"\n", ""),
            expect_test::expect![[r#"
                15:15: bucket owner `333333333333` uses `access_mode = "unity-catalog"`, which needs a `[databricks]` section (the workspace that holds its storage credential)
            "#]],
        );
    }
}

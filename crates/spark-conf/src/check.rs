//! Parsing and checking Spark conf text users already have: the cluster's `key value` lines,
//! a `spark_conf` JSON map (or a whole cluster spec holding one), `spark-defaults.conf`.
//!
//! Keys are read with or without the `spark.hadoop.` prefix, so notebook and mount keys check
//! the same way. Both the Databricks keys (`credentialsType`, `stsAssumeRole.arn`) and the
//! open-source ones (`aws.credentials.provider`, `assumed.role.arn`) are understood, globally
//! and per bucket, with per-bucket values overriding global ones as S3A does.

use std::collections::BTreeMap;
use std::fmt;

use policy_model::{Flow, TypedArn};

use crate::keys::{self, ACL_DEFAULT, ASSUME_ROLE, CREDENTIALS_TYPE, SPARK_HADOOP_PREFIX, STS_ASSUME_ROLE_ARN};
use crate::s3a::{
    SessionName, ASSUMED_ROLE_ARN, ASSUMED_ROLE_CREDENTIALS_PROVIDER, ASSUMED_ROLE_PROVIDER, ASSUMED_ROLE_SESSION_NAME,
    ASSUMED_ROLE_STS_ENDPOINT, ASSUMED_ROLE_STS_ENDPOINT_REGION, CREDENTIALS_PROVIDER,
};

/// The canned ACLs, as `(Hadoop enum name, x-amz-acl header value)`. S3A accepts either form
/// in `fs.s3a.acl.default`.
pub const CANNED_ACLS: [(&str, &str); 8] = [
    ("Private", "private"),
    ("PublicRead", "public-read"),
    ("PublicReadWrite", "public-read-write"),
    ("AuthenticatedRead", "authenticated-read"),
    ("LogDeliveryWrite", "log-delivery-write"),
    ("BucketOwnerRead", "bucket-owner-read"),
    ("BucketOwnerFullControl", "bucket-owner-full-control"),
    ("AwsExecRead", "aws-exec-read"),
];

/// Why a Spark conf text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// A `key value` line with a key and no value.
    #[error("`{key}` has no value; write `key value`")]
    MissingValue {
        /// The 1-based line.
        line: usize,
        /// The line's text, with anything after a secret-looking key name redacted.
        key: String,
    },
    /// The text starts with `{` but is not valid JSON; holds serde_json's message.
    #[error("not valid JSON: {0}")]
    Json(String),
    /// The JSON is valid but not an object.
    #[error("the JSON is not an object of settings, nor a cluster spec with a `spark_conf` object")]
    NotAnObject,
    /// A JSON setting whose value is not a string (Spark conf values are strings).
    #[error("the value of `{key}` is not a string")]
    NotAString {
        /// The 1-based line where the key first appears in the text, where found.
        line: Option<usize>,
        /// The setting's key.
        key: String,
    },
}

impl ParseError {
    /// The 1-based line the error is on, where known.
    pub fn line(&self) -> Option<usize> {
        match self {
            ParseError::MissingValue { line, .. } => Some(*line),
            ParseError::NotAString { line, .. } => *line,
            ParseError::Json(_) | ParseError::NotAnObject => None,
        }
    }
}

/// One problem in a Spark conf, with the 1-based line of the setting it concerns where known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The 1-based line, `None` for settings checked without text (see [`check`]).
    pub line: Option<usize>,
    /// What is wrong.
    pub kind: ProblemKind,
}

impl Problem {
    /// The problem's message without its line.
    pub fn message(&self) -> String {
        self.kind.to_string()
    }
}

/// `{"line": 3 | null, "code": "role-mismatch", "message": "…"}`, for `--output json`.
impl serde::Serialize for Problem {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut s = serializer.serialize_struct("Problem", 3)?;
        s.serialize_field("line", &self.line)?;
        s.serialize_field("code", self.kind.code())?;
        s.serialize_field("message", &self.message())?;
        s.end()
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.kind),
            None => write!(f, "{}", self.kind),
        }
    }
}

/// What is wrong. `scope` is `globally` or ``for bucket `b` ``.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProblemKind {
    /// The text could not be read.
    #[error("{0}")]
    Parse(ParseError),
    /// A credentials type or provider asks to assume a role, and no role ARN applies in its scope.
    #[error("`{type_key}` asks to assume a role {scope} but no `{arn_key}` is set; add `{arn_key} <role ARN>`")]
    MissingRoleArn {
        /// Where: `globally` or ``for bucket `b` ``.
        scope: String,
        /// The key that asks to assume a role, as written.
        type_key: String,
        /// The role ARN key to add, in the same scope and prefix as `type_key`.
        arn_key: String,
    },
    /// A role ARN setting whose value is not a role ARN.
    #[error("`{key}` is `{value}`, which is not a role ARN: {reason}")]
    NotARoleArn {
        /// The setting's key, as written.
        key: String,
        /// The setting's value.
        value: String,
        /// Why it is not a role ARN, and what to write instead.
        reason: String,
    },
    /// `fs.s3a.acl.default` is not a canned ACL in either form of [`CANNED_ACLS`].
    #[error("`{key}` is `{value}`, which is not a canned ACL; use `BucketOwnerFullControl` (or another of {known})")]
    UnknownAcl {
        /// The setting's key, as written.
        key: String,
        /// The setting's value.
        value: String,
        /// The canned ACL names, in backticks, comma-separated.
        known: String,
    },
    /// A read-write bucket writes with a canned ACL other than `BucketOwnerFullControl`.
    #[error(
        "`{key}` is `{value}` for bucket `{bucket}`: objects written across accounts need `BucketOwnerFullControl` \
         (any other ACL fails with AccessControlListNotSupported when the bucket enforces bucket-owner ownership)"
    )]
    AclNotBucketOwnerFullControl {
        /// The ACL key that applies to the bucket (its own or the global one).
        key: String,
        /// The ACL it sets.
        value: String,
        /// The bucket's name.
        bucket: String,
    },
    /// A per-bucket key for a bucket the flow does not have.
    #[error("`{key}` is for bucket `{bucket}`, which is not in the config")]
    UnknownBucket {
        /// The setting's key, as written.
        key: String,
        /// The bucket name read from the key.
        bucket: String,
    },
    /// A bucket of the flow assumes a role other than its owner's.
    #[error("bucket `{bucket}` assumes `{found}` (from `{key}`), but its owner's role is `{expected}`")]
    RoleMismatch {
        /// The role ARN key that applies to the bucket (its own or the global one).
        key: String,
        /// The bucket's name.
        bucket: String,
        /// The role ARN the conf sets.
        found: String,
        /// The ARN of the bucket owner's role in the flow.
        expected: String,
    },
    /// A role ARN is set where nothing asks to assume a role, so it has no effect.
    #[error("`{key}` is set {scope} but no role is assumed there: `{type_key}` is not set to assume a role")]
    ArnWithoutAssumeRole {
        /// The role ARN key, as written.
        key: String,
        /// Where: `globally` or ``for bucket `b` ``.
        scope: String,
        /// The S3A option that would ask to assume a role, without scope or prefix.
        type_key: String,
    },
    /// `fs.s3a.assumed.role.session.name` is not a valid STS session name.
    #[error("`{key}`: {reason}")]
    InvalidSessionName {
        /// The setting's key, as written.
        key: String,
        /// Why the name is invalid (a [`SessionNameError`](crate::SessionNameError) message).
        reason: String,
    },
    /// One option set twice in one scope with different values; the later one wins, as in Spark.
    #[error("`{key}` is set twice: `{first}` (line {first_line}) and then `{second}`")]
    Duplicate {
        /// The key of the second setting, as written.
        key: String,
        /// The first value, `<redacted>` for a secret-looking key.
        first: String,
        /// The 1-based line of the first setting, 0 when unknown.
        first_line: usize,
        /// The second value, `<redacted>` for a secret-looking key.
        second: String,
    },
}

impl ProblemKind {
    /// A stable kebab-case name for the kind of problem.
    pub fn code(&self) -> &'static str {
        match self {
            ProblemKind::Parse(_) => "parse",
            ProblemKind::MissingRoleArn { .. } => "missing-role-arn",
            ProblemKind::NotARoleArn { .. } => "not-a-role-arn",
            ProblemKind::UnknownAcl { .. } => "unknown-acl",
            ProblemKind::AclNotBucketOwnerFullControl { .. } => "acl-not-bucket-owner-full-control",
            ProblemKind::UnknownBucket { .. } => "unknown-bucket",
            ProblemKind::RoleMismatch { .. } => "role-mismatch",
            ProblemKind::ArnWithoutAssumeRole { .. } => "arn-without-assume-role",
            ProblemKind::InvalidSessionName { .. } => "invalid-session-name",
            ProblemKind::Duplicate { .. } => "duplicate",
        }
    }
}

/// Parses `key value` lines (the cluster Spark tab, `spark-defaults.conf`): blank lines and
/// lines starting with `#` are skipped, and the value is everything after the first run of
/// whitespace. Returns the first error; [`check_file`] reports all of them.
pub fn parse_spark_conf_text(text: &str) -> Result<Vec<(String, String)>, ParseError> {
    let (settings, errors) = parse_lines(text);
    match errors.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(settings.into_iter().map(|s| (s.key, s.value)).collect()),
    }
}

/// Parses a `spark_conf` JSON object, or a cluster spec holding one under `spark_conf`.
/// Returns the settings in the order they appear.
pub fn parse_spark_conf_json(text: &str) -> Result<Vec<(String, String)>, ParseError> {
    Ok(parse_json(text)?.into_iter().map(|s| (s.key, s.value)).collect())
}

/// Checks settings against the flow and returns every problem, without line numbers.
pub fn check(settings: &[(String, String)], flow: &Flow) -> Vec<Problem> {
    let settings: Vec<Setting> =
        settings.iter().map(|(k, v)| Setting { key: k.clone(), value: v.clone(), line: None }).collect();
    check_settings(&settings, flow)
}

/// Parses `text` as JSON when it starts with `{`, as `key value` lines otherwise, and checks
/// it against the flow: every parse error and every problem, with line numbers, in line order.
pub fn check_file(text: &str, flow: &Flow) -> Vec<Problem> {
    if text.trim_start().starts_with('{') {
        match parse_json(text) {
            Ok(settings) => check_settings(&settings, flow),
            Err(e) => vec![Problem { line: e.line(), kind: ProblemKind::Parse(e) }],
        }
    } else {
        let (settings, errors) = parse_lines(text);
        let mut problems: Vec<Problem> =
            errors.into_iter().map(|e| Problem { line: e.line(), kind: ProblemKind::Parse(e) }).collect();
        problems.extend(check_settings(&settings, flow));
        problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
        problems
    }
}

#[derive(Debug, Clone)]
struct Setting {
    key: String,
    value: String,
    line: Option<usize>,
}

fn parse_lines(text: &str) -> (Vec<Setting>, Vec<ParseError>) {
    let mut settings = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once(char::is_whitespace) {
            Some((key, value)) => {
                settings.push(Setting { key: key.to_owned(), value: value.trim().to_owned(), line: Some(i + 1) })
            }
            None => errors.push(ParseError::MissingValue { line: i + 1, key: keys::redact(line).into_owned() }),
        }
    }
    (settings, errors)
}

fn parse_json(text: &str) -> Result<Vec<Setting>, ParseError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| ParseError::Json(e.to_string()))?;
    let serde_json::Value::Object(mut map) = value else { return Err(ParseError::NotAnObject) };
    if let Some(serde_json::Value::Object(conf)) = map.remove("spark_conf") {
        map = conf;
    }
    let line_of = |key: &str| {
        let needle = serde_json::to_string(key).unwrap_or_default();
        text.find(&needle).map(|at| text[..at].matches('\n').count() + 1)
    };
    map.into_iter()
        .map(|(key, value)| match value {
            serde_json::Value::String(value) => Ok(Setting { line: line_of(&key), key, value }),
            _ => Err(ParseError::NotAString { line: line_of(&key), key }),
        })
        .collect()
}

/// Where a setting applies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Scope {
    Global,
    Bucket(String),
}

impl Scope {
    fn describe(&self) -> String {
        match self {
            Scope::Global => "globally".to_owned(),
            Scope::Bucket(b) => format!("for bucket `{b}`"),
        }
    }
}

/// The S3A options this checker knows, longest first so that a per-bucket key splits at the
/// right `.` even when the bucket name holds dots.
const KNOWN_OPTIONS: [&str; 9] = [
    ASSUMED_ROLE_STS_ENDPOINT_REGION,
    ASSUMED_ROLE_CREDENTIALS_PROVIDER,
    ASSUMED_ROLE_SESSION_NAME,
    ASSUMED_ROLE_STS_ENDPOINT,
    CREDENTIALS_PROVIDER,
    STS_ASSUME_ROLE_ARN,
    ASSUMED_ROLE_ARN,
    CREDENTIALS_TYPE,
    ACL_DEFAULT,
];

/// Splits an S3A key into its scope and option; `None` for keys outside `fs.s3a.`.
fn classify(key: &str, buckets: &[&str]) -> Option<(Scope, String)> {
    let key = key.strip_prefix(SPARK_HADOOP_PREFIX).unwrap_or(key);
    let rest = key.strip_prefix("fs.s3a.")?;
    let Some(after) = rest.strip_prefix("bucket.") else { return Some((Scope::Global, rest.to_owned())) };
    let known_bucket = buckets
        .iter()
        .filter(|b| after.len() > b.len() + 1 && after.starts_with(*b) && after.as_bytes()[b.len()] == b'.')
        .max_by_key(|b| b.len());
    if let Some(bucket) = known_bucket {
        return Some((Scope::Bucket((*bucket).to_owned()), after[bucket.len() + 1..].to_owned()));
    }
    for option in KNOWN_OPTIONS {
        if let Some(bucket) = after.strip_suffix(option).and_then(|b| b.strip_suffix('.')).filter(|b| !b.is_empty()) {
            return Some((Scope::Bucket(bucket.to_owned()), option.to_owned()));
        }
    }
    let (bucket, option) = after.split_once('.').unwrap_or((after, ""));
    Some((Scope::Bucket(bucket.to_owned()), option.to_owned()))
}

/// How one family of keys asks to assume a role.
struct Scheme {
    type_option: &'static str,
    arn_option: &'static str,
    assumes: fn(&str) -> bool,
}

const SCHEMES: [Scheme; 2] = [
    Scheme { type_option: CREDENTIALS_TYPE, arn_option: STS_ASSUME_ROLE_ARN, assumes: |v| v == ASSUME_ROLE },
    Scheme {
        type_option: CREDENTIALS_PROVIDER,
        arn_option: ASSUMED_ROLE_ARN,
        assumes: |v| v.split(',').any(|p| p.trim() == ASSUMED_ROLE_PROVIDER),
    },
];

struct Classified<'a> {
    setting: &'a Setting,
    scope: Scope,
    option: String,
}

fn check_settings(settings: &[Setting], flow: &Flow) -> Vec<Problem> {
    let bucket_names: Vec<&str> = flow.buckets().map(|(_, b)| b.name.as_str()).collect();
    let classified: Vec<Classified> = settings
        .iter()
        .filter_map(|s| classify(&s.key, &bucket_names).map(|(scope, option)| Classified { setting: s, scope, option }))
        .collect();
    let mut problems = Vec::new();
    let mut push = |setting: &Setting, kind| problems.push(Problem { line: setting.line, kind });

    // Later settings override earlier ones, as in Spark; a second, different value is suspect.
    let mut seen: BTreeMap<(&Scope, &str), &Setting> = BTreeMap::new();
    for c in &classified {
        if let Some(first) = seen.insert((&c.scope, &c.option), c.setting) {
            if first.value != c.setting.value {
                let kind = ProblemKind::Duplicate {
                    key: c.setting.key.clone(),
                    first: keys::shown_value(&c.setting.key, &first.value).to_owned(),
                    first_line: first.line.unwrap_or_default(),
                    second: keys::shown_value(&c.setting.key, &c.setting.value).to_owned(),
                };
                push(c.setting, kind);
            }
        }
    }
    let get = |scope: &Scope, option: &str| seen.get(&(scope, option)).copied();

    for c in &classified {
        let (key, value) = (c.setting.key.clone(), c.setting.value.clone());
        if let Scope::Bucket(bucket) = &c.scope {
            if !bucket_names.contains(&bucket.as_str()) {
                push(c.setting, ProblemKind::UnknownBucket { key: key.clone(), bucket: bucket.clone() });
            }
        }
        match c.option.as_str() {
            STS_ASSUME_ROLE_ARN | ASSUMED_ROLE_ARN => {
                if let Err(reason) = role_arn(&value) {
                    push(c.setting, ProblemKind::NotARoleArn { key, value, reason });
                }
            }
            ACL_DEFAULT if !is_canned_acl(&value) => {
                let known = CANNED_ACLS.iter().map(|(name, _)| format!("`{name}`")).collect::<Vec<_>>().join(", ");
                push(c.setting, ProblemKind::UnknownAcl { key, value, known });
            }
            ASSUMED_ROLE_SESSION_NAME => {
                if let Err(e) = SessionName::new(&value) {
                    push(c.setting, ProblemKind::InvalidSessionName { key, reason: e.to_string() });
                }
            }
            _ => {}
        }
    }

    let mut scopes: Vec<&Scope> = classified.iter().map(|c| &c.scope).collect();
    scopes.sort();
    scopes.dedup();
    let global = Scope::Global;
    for scheme in &SCHEMES {
        let assumes = |s: Option<&Setting>| s.is_some_and(|s| (scheme.assumes)(&s.value));
        let global_type = get(&global, scheme.type_option);
        let global_arn = get(&global, scheme.arn_option);
        // A missing ARN, reported once where the credentials type is set.
        for scope in &scopes {
            let (ty, arn) = (get(scope, scheme.type_option), get(scope, scheme.arn_option));
            let inherited = if **scope == global { None } else { global_arn };
            if assumes(ty) && arn.or(inherited).is_none() {
                if let Some(ty) = ty {
                    let kind = ProblemKind::MissingRoleArn {
                        scope: scope.describe(),
                        type_key: ty.key.clone(),
                        arn_key: arn_key_like(&ty.key, scheme),
                    };
                    push(ty, kind);
                }
            }
        }
        // An ARN that no scope assumes.
        for scope in &scopes {
            let Some(arn) = get(scope, scheme.arn_option) else { continue };
            let used = match scope {
                Scope::Global => {
                    assumes(global_type)
                        || scopes.iter().any(|s| {
                            **s != global && assumes(get(s, scheme.type_option)) && get(s, scheme.arn_option).is_none()
                        })
                }
                Scope::Bucket(_) => assumes(get(scope, scheme.type_option).or(global_type)),
            };
            if !used {
                let kind = ProblemKind::ArnWithoutAssumeRole {
                    key: arn.key.clone(),
                    scope: scope.describe(),
                    type_key: scheme.type_option.to_owned(),
                };
                push(arn, kind);
            }
        }
        // Each bucket of the config must assume its own owner's role, if it assumes one.
        for (owner, bucket) in flow.buckets() {
            let scope = Scope::Bucket(bucket.name.to_string());
            let ty = get(&scope, scheme.type_option).or(global_type);
            let Some(arn) = get(&scope, scheme.arn_option).or(global_arn) else { continue };
            if !assumes(ty) {
                continue;
            }
            if let Ok((account, name)) = role_arn(&arn.value) {
                if account != owner.account_id.as_str() || name != owner.role.as_str() {
                    let kind = ProblemKind::RoleMismatch {
                        key: arn.key.clone(),
                        bucket: bucket.name.to_string(),
                        found: arn.value.clone(),
                        expected: owner.role_arn(),
                    };
                    push(arn, kind);
                }
            }
        }
    }

    // The ACL each read-write bucket writes with.
    for (_, bucket) in flow.buckets().filter(|(_, b)| b.access == policy_model::Access::ReadWrite) {
        let scope = Scope::Bucket(bucket.name.to_string());
        let Some(acl) = get(&scope, ACL_DEFAULT).or(get(&global, ACL_DEFAULT)) else { continue };
        if is_canned_acl(&acl.value) && !is_bucket_owner_full_control(&acl.value) {
            let kind = ProblemKind::AclNotBucketOwnerFullControl {
                key: acl.key.clone(),
                value: acl.value.clone(),
                bucket: bucket.name.to_string(),
            };
            push(acl, kind);
        }
    }
    problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
    problems
}

/// The ARN key that goes with `type_key`, in the same scope and prefix.
fn arn_key_like(type_key: &str, scheme: &Scheme) -> String {
    match type_key.strip_suffix(scheme.type_option) {
        Some(prefix) => format!("{prefix}{}", scheme.arn_option),
        None => scheme.arn_option.to_owned(),
    }
}

/// The account and name of a role ARN, or why `value` is not one.
fn role_arn(value: &str) -> Result<(String, String), String> {
    match value.parse::<TypedArn>() {
        Ok(TypedArn::Role { account, name, .. }) => Ok((account.to_string(), name.to_string())),
        Ok(TypedArn::InstanceProfile { .. }) => {
            Err("it is an instance profile ARN; use the role ARN, `:role/` instead of `:instance-profile/`".to_owned())
        }
        Ok(TypedArn::AssumedRole { .. }) => {
            Err("it is an assumed-role session ARN; use `arn:aws:iam::<account>:role/<name>`".to_owned())
        }
        Ok(_) => Err("it names something other than a role".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

/// Whether `value` is a canned ACL in either the Hadoop enum or the header form.
pub fn is_canned_acl(value: &str) -> bool {
    CANNED_ACLS.iter().any(|(name, header)| value == *name || value == *header)
}

fn is_bucket_owner_full_control(value: &str) -> bool {
    value == "BucketOwnerFullControl" || value == "bucket-owner-full-control"
}

#[cfg(test)]
mod tests {
    use expect_test::{expect, Expect};

    use super::*;
    use crate::fixtures::{one_owner, two_owners};

    #[track_caller]
    fn check(flow: &Flow, text: &str, expect: Expect) {
        let problems: Vec<String> = check_file(text, flow).iter().map(|p| p.to_string()).collect();
        expect.assert_eq(&problems.join("\n"));
    }

    #[test]
    fn a_malformed_secret_line_is_not_echoed() {
        check(
            &one_owner(),
            "fs.s3a.secret.key=wJalrXUtnFEMI/K7MDENG\nspark.hadoop.fs.s3a.session.token:IQoJb3JpZ2luX2Vj\nplain-key\n",
            expect![[r#"
                line 1: `fs.s3a.secret.key<redacted>` has no value; write `key value`
                line 2: `spark.hadoop.fs.s3a.session.token<redacted>` has no value; write `key value`
                line 3: `plain-key` has no value; write `key value`"#]],
        );
    }

    #[test]
    fn clean_text_has_no_problems() {
        check(&one_owner(), &crate::spark_conf_lines(&one_owner()), expect![""]);
        check(&two_owners(), &crate::spark_conf_lines(&two_owners()), expect![""]);
        check(&two_owners(), &crate::spark_conf_json(&two_owners()), expect![""]);
        check(&one_owner(), "# comment\n\n  spark.hadoop.fs.s3a.credentialsType   AssumeRole  \nspark.hadoop.fs.s3a.stsAssumeRole.arn arn:aws:iam::222222222222:role/MyRoleB\n", expect![""]);
        check(
            &one_owner(),
            "spark.hadoop.fs.s3a.acl.default bucket-owner-full-control\nspark.executor.memory 4g\n",
            expect![""],
        );
        check(
            &one_owner(),
            r#"{"cluster_name": "x", "spark_conf": {"spark.hadoop.fs.s3a.acl.default": "BucketOwnerFullControl"}}"#,
            expect![""],
        );
        check(
            &one_owner(),
            "fs.s3a.credentialsType AssumeRole\nfs.s3a.stsAssumeRole.arn arn:aws:iam::222222222222:role/MyRoleB\n",
            expect![""],
        );
        check(&one_owner(), &crate::spark_defaults_conf(&one_owner(), &Default::default()), expect![""]);
    }

    #[test]
    fn missing_role_arn() {
        check(&one_owner(), "spark.hadoop.fs.s3a.credentialsType AssumeRole\n", expect!["line 1: `spark.hadoop.fs.s3a.credentialsType` asks to assume a role globally but no `spark.hadoop.fs.s3a.stsAssumeRole.arn` is set; add `spark.hadoop.fs.s3a.stsAssumeRole.arn <role ARN>`"]);
        check(&two_owners(), "spark.hadoop.fs.s3a.bucket.analytics.credentialsType AssumeRole\n", expect!["line 1: `spark.hadoop.fs.s3a.bucket.analytics.credentialsType` asks to assume a role for bucket `analytics` but no `spark.hadoop.fs.s3a.bucket.analytics.stsAssumeRole.arn` is set; add `spark.hadoop.fs.s3a.bucket.analytics.stsAssumeRole.arn <role ARN>`"]);
        check(&one_owner(), "fs.s3a.aws.credentials.provider org.apache.hadoop.fs.s3a.auth.AssumedRoleCredentialProvider\n", expect!["line 1: `fs.s3a.aws.credentials.provider` asks to assume a role globally but no `fs.s3a.assumed.role.arn` is set; add `fs.s3a.assumed.role.arn <role ARN>`"]);
        // A per-bucket credentials type takes the global ARN when it has none of its own.
        check(&one_owner(), "spark.hadoop.fs.s3a.bucket.my-bucket.credentialsType AssumeRole\nspark.hadoop.fs.s3a.stsAssumeRole.arn arn:aws:iam::222222222222:role/MyRoleB\n", expect![""]);
    }

    #[test]
    fn not_a_role_arn() {
        check(&one_owner(), "spark.hadoop.fs.s3a.credentialsType AssumeRole\nspark.hadoop.fs.s3a.stsAssumeRole.arn arn:aws:iam::222222222222:instance-profile/MyRoleB\n", expect!["line 2: `spark.hadoop.fs.s3a.stsAssumeRole.arn` is `arn:aws:iam::222222222222:instance-profile/MyRoleB`, which is not a role ARN: it is an instance profile ARN; use the role ARN, `:role/` instead of `:instance-profile/`"]);
        check(&one_owner(), "spark.hadoop.fs.s3a.credentialsType AssumeRole\nspark.hadoop.fs.s3a.stsAssumeRole.arn MyRoleB\n", expect!["line 2: `spark.hadoop.fs.s3a.stsAssumeRole.arn` is `MyRoleB`, which is not a role ARN: `MyRoleB` is not a valid ARN: an ARN has six `:`-separated parts"]);
        check(&one_owner(), "spark.hadoop.fs.s3a.credentialsType AssumeRole\nspark.hadoop.fs.s3a.stsAssumeRole.arn arn:aws:iam::2222:role/MyRoleB\n", expect!["line 2: `spark.hadoop.fs.s3a.stsAssumeRole.arn` is `arn:aws:iam::2222:role/MyRoleB`, which is not a role ARN: `arn:aws:iam::2222:role/MyRoleB` is not a valid ARN: the account part must be 12 digits"]);
        check(&one_owner(), "fs.s3a.credentialsType AssumeRole\nfs.s3a.stsAssumeRole.arn arn:aws:sts::222222222222:assumed-role/MyRoleB/s\n", expect!["line 2: `fs.s3a.stsAssumeRole.arn` is `arn:aws:sts::222222222222:assumed-role/MyRoleB/s`, which is not a role ARN: it is an assumed-role session ARN; use `arn:aws:iam::<account>:role/<name>`"]);
    }

    #[test]
    fn acls() {
        check(&one_owner(), "spark.hadoop.fs.s3a.acl.default OwnerFullControl\n", expect!["line 1: `spark.hadoop.fs.s3a.acl.default` is `OwnerFullControl`, which is not a canned ACL; use `BucketOwnerFullControl` (or another of `Private`, `PublicRead`, `PublicReadWrite`, `AuthenticatedRead`, `LogDeliveryWrite`, `BucketOwnerRead`, `BucketOwnerFullControl`, `AwsExecRead`)"]);
        check(&one_owner(), "spark.hadoop.fs.s3a.acl.default Private\n", expect!["line 1: `spark.hadoop.fs.s3a.acl.default` is `Private` for bucket `my-bucket`: objects written across accounts need `BucketOwnerFullControl` (any other ACL fails with AccessControlListNotSupported when the bucket enforces bucket-owner ownership)"]);
        // Read-only buckets write nothing, so their ACL does not matter.
        check(&two_owners(), "spark.hadoop.fs.s3a.bucket.analytics.acl.default private\n", expect![""]);
        for (name, header) in CANNED_ACLS {
            assert!(is_canned_acl(name) && is_canned_acl(header), "{name}");
        }
        assert!(!is_canned_acl("bucketownerfullcontrol"));
    }

    #[test]
    fn buckets_and_roles() {
        check(&one_owner(), "spark.hadoop.fs.s3a.bucket.other-bucket.acl.default BucketOwnerFullControl\n", expect!["line 1: `spark.hadoop.fs.s3a.bucket.other-bucket.acl.default` is for bucket `other-bucket`, which is not in the config"]);
        check(&one_owner(), "spark.hadoop.fs.s3a.credentialsType AssumeRole\nspark.hadoop.fs.s3a.stsAssumeRole.arn arn:aws:iam::222222222222:role/MyRoleC\n", expect!["line 2: bucket `my-bucket` assumes `arn:aws:iam::222222222222:role/MyRoleC` (from `spark.hadoop.fs.s3a.stsAssumeRole.arn`), but its owner's role is `arn:aws:iam::222222222222:role/MyRoleB`"]);
        // The runbook's global keys cannot serve two owners.
        check(&two_owners(), "spark.hadoop.fs.s3a.credentialsType AssumeRole\nspark.hadoop.fs.s3a.stsAssumeRole.arn arn:aws:iam::222222222222:role/MyRoleB\n", expect!["line 2: bucket `analytics` assumes `arn:aws:iam::222222222222:role/MyRoleB` (from `spark.hadoop.fs.s3a.stsAssumeRole.arn`), but its owner's role is `arn:aws:iam::333333333333:role/DataReader`"]);
        // A per-bucket key for a bucket whose name holds dots.
        check(&two_owners(), "fs.s3a.bucket.logs.example.com.credentialsType AssumeRole\nfs.s3a.bucket.logs.example.com.stsAssumeRole.arn arn:aws:iam::333333333333:role/DataReader\n", expect!["line 2: bucket `logs.example.com` assumes `arn:aws:iam::333333333333:role/DataReader` (from `fs.s3a.bucket.logs.example.com.stsAssumeRole.arn`), but its owner's role is `arn:aws:iam::222222222222:role/MyRoleB`"]);
        check(
            &two_owners(),
            "fs.s3a.bucket.no.such.bucket.stsAssumeRole.arn arn:aws:iam::333333333333:role/DataReader\n",
            expect![[r#"
            line 1: `fs.s3a.bucket.no.such.bucket.stsAssumeRole.arn` is for bucket `no.such.bucket`, which is not in the config
            line 1: `fs.s3a.bucket.no.such.bucket.stsAssumeRole.arn` is set for bucket `no.such.bucket` but no role is assumed there: `credentialsType` is not set to assume a role"#]],
        );
        check(&one_owner(), "spark.hadoop.fs.s3a.stsAssumeRole.arn arn:aws:iam::222222222222:role/MyRoleB\n", expect!["line 1: `spark.hadoop.fs.s3a.stsAssumeRole.arn` is set globally but no role is assumed there: `credentialsType` is not set to assume a role"]);
    }

    #[test]
    fn syntax_and_duplicates() {
        check(
            &one_owner(),
            "spark.hadoop.fs.s3a.credentialsType\nspark.hadoop.fs.s3a.acl.default=BucketOwnerFullControl\n",
            expect![[r#"
            line 1: `spark.hadoop.fs.s3a.credentialsType` has no value; write `key value`
            line 2: `spark.hadoop.fs.s3a.acl.default=BucketOwnerFullControl` has no value; write `key value`"#]],
        );
        check(
            &one_owner(),
            "spark.hadoop.fs.s3a.acl.default BucketOwnerFullControl\nfs.s3a.acl.default Private\n",
            expect![[r#"
            line 2: `fs.s3a.acl.default` is set twice: `BucketOwnerFullControl` (line 1) and then `Private`
            line 2: `fs.s3a.acl.default` is `Private` for bucket `my-bucket`: objects written across accounts need `BucketOwnerFullControl` (any other ACL fails with AccessControlListNotSupported when the bucket enforces bucket-owner ownership)"#]],
        );
        check(&one_owner(), "{\"a\": 1", expect!["not valid JSON: EOF while parsing an object at line 1 column 7"]);
        check(&one_owner(), "{\"a\": 1}", expect!["line 1: the value of `a` is not a string"]);
        check(&one_owner(), "{\n  \"spark.hadoop.fs.s3a.credentialsType\": \"AssumeRole\"\n}", expect!["line 2: `spark.hadoop.fs.s3a.credentialsType` asks to assume a role globally but no `spark.hadoop.fs.s3a.stsAssumeRole.arn` is set; add `spark.hadoop.fs.s3a.stsAssumeRole.arn <role ARN>`"]);
        check(
            &one_owner(),
            "fs.s3a.assumed.role.session.name a\n",
            expect!["line 1: `fs.s3a.assumed.role.session.name`: session name `a` must be 2 to 64 characters"],
        );
        check(&one_owner(), "fs.s3a.assumed.role.session.name bad/name\n", expect!["line 1: `fs.s3a.assumed.role.session.name`: session name `bad/name` may hold only letters, digits and `+=,.@_-`"]);
    }

    #[test]
    fn problems_serialize() {
        let problems = check_file("spark.hadoop.fs.s3a.acl.default Nope\n", &one_owner());
        expect![[r#"[{"line":1,"code":"unknown-acl","message":"`spark.hadoop.fs.s3a.acl.default` is `Nope`, which is not a canned ACL; use `BucketOwnerFullControl` (or another of `Private`, `PublicRead`, `PublicReadWrite`, `AuthenticatedRead`, `LogDeliveryWrite`, `BucketOwnerRead`, `BucketOwnerFullControl`, `AwsExecRead`)"}]"#]]
            .assert_eq(&serde_json::to_string(&problems).unwrap());
    }

    #[test]
    fn per_bucket_keys_split_at_the_bucket_name() {
        let split = |key: &str| format!("{:?}", classify(key, &["logs.example", "logs.example.com"]));
        assert_eq!(
            split("fs.s3a.bucket.logs.example.com.acl.default"),
            r#"Some((Bucket("logs.example.com"), "acl.default"))"#
        );
        assert_eq!(split("fs.s3a.bucket.logs.example.acl.default"), r#"Some((Bucket("logs.example"), "acl.default"))"#);
        assert_eq!(
            split("spark.hadoop.fs.s3a.bucket.x.y.stsAssumeRole.arn"),
            r#"Some((Bucket("x.y"), "stsAssumeRole.arn"))"#
        );
        assert_eq!(split("fs.s3a.bucket.other.endpoint"), r#"Some((Bucket("other"), "endpoint"))"#);
        assert_eq!(split("fs.s3a.acl.default"), r#"Some((Global, "acl.default"))"#);
        assert_eq!(split("spark.executor.memory"), "None");
    }

    #[test]
    fn parse_functions() {
        assert_eq!(
            parse_spark_conf_text("# c\na b c\n\nd e").unwrap(),
            vec![("a".to_owned(), "b c".to_owned()), ("d".to_owned(), "e".to_owned())]
        );
        assert_eq!(parse_spark_conf_text("a\n").unwrap_err().line(), Some(1));
        assert_eq!(parse_spark_conf_json("[1]").unwrap_err(), ParseError::NotAnObject);
        assert_eq!(
            parse_spark_conf_json(r#"{"b": "1", "a": "2"}"#).unwrap(),
            vec![("b".to_owned(), "1".to_owned()), ("a".to_owned(), "2".to_owned())]
        );
    }
}

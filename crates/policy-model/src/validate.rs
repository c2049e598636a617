//! The validator: every problem in a policy document, each with its JSON path.
//!
//! [`validate`] never stops at the first problem. It checks what IAM, S3 and
//! KMS would refuse (errors) and what is legal but risky (warnings). Sizes are
//! counted as AWS counts them: characters, leaving out whitespace.

use std::collections::HashMap;
use std::fmt;

use crate::arn::{AccountId, ArnRef, TypedArnRef, PARTITIONS, PARTITION_RULE};
use crate::document::{OneOrMany, PolicyDocument, Principal, Statement};

/// Most characters (without whitespace) in a customer managed policy.
pub const MANAGED_POLICY_LIMIT: usize = 6_144;
/// Most characters (without whitespace) in all of a role's inline policies together.
pub const INLINE_ROLE_POLICIES_LIMIT: usize = 10_240;
/// Most characters (without whitespace) in a role trust policy (the default quota).
pub const TRUST_POLICY_LIMIT: usize = 2_048;
/// Most characters in an S3 bucket policy (20 KB).
pub const BUCKET_POLICY_LIMIT: usize = 20_480;
/// Most characters in a KMS key policy (32 KB).
pub const KEY_POLICY_LIMIT: usize = 32_768;
/// Most characters in a service or resource control policy.
pub const ORGANIZATION_POLICY_LIMIT: usize = 5_120;

/// What a document is for; it decides which keys are allowed and its size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocKind {
    /// A policy attached to a user, group or role: managed, or inline on a role.
    Identity {
        /// `true` for a managed policy, `false` for a role's inline policy.
        managed: bool,
    },
    /// A role's trust policy (its resource policy).
    Trust,
    /// An S3 bucket policy.
    Bucket,
    /// A KMS key policy.
    KmsKey,
    /// A service control policy (AWS Organizations): no `Principal`.
    Scp,
    /// A resource control policy (AWS Organizations): `Principal` is required.
    Rcp,
}

impl DocKind {
    /// The most characters (without whitespace) one document of this kind may have.
    ///
    /// For an inline role policy this is the limit of all the role's inline
    /// policies together; [`check_inline_policies`] checks the whole set.
    pub fn size_limit(self) -> usize {
        match self {
            DocKind::Identity { managed: true } => MANAGED_POLICY_LIMIT,
            DocKind::Identity { managed: false } => INLINE_ROLE_POLICIES_LIMIT,
            DocKind::Trust => TRUST_POLICY_LIMIT,
            DocKind::Bucket => BUCKET_POLICY_LIMIT,
            DocKind::KmsKey => KEY_POLICY_LIMIT,
            DocKind::Scp | DocKind::Rcp => ORGANIZATION_POLICY_LIMIT,
        }
    }

    fn is_resource_policy(self) -> bool {
        !matches!(self, DocKind::Identity { .. } | DocKind::Scp)
    }
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DocKind::Identity { managed: true } => "managed policy",
            DocKind::Identity { managed: false } => "inline policy",
            DocKind::Trust => "trust policy",
            DocKind::Bucket => "bucket policy",
            DocKind::KmsKey => "key policy",
            DocKind::Scp => "service control policy",
            DocKind::Rcp => "resource control policy",
        })
    }
}

/// How bad a [`Finding`] is. Errors sort before warnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// AWS would refuse the document, or it cannot mean what was intended.
    Error,
    /// AWS accepts it, but it is risky or probably not what was meant.
    Warning,
}

/// One problem, at a JSON path such as `$.Statement[1].Principal`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Finding {
    /// Whether AWS would refuse the document (an error) or it is only risky (a warning).
    pub severity: Severity,
    /// The JSON path of the offending value, `$` for the whole document.
    pub path: String,
    /// What is wrong, in words, without the path.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{severity} at {}: {}", self.path, self.message)
    }
}

/// The number of characters in `json` that are not whitespace, as AWS counts policy sizes.
pub fn size_without_whitespace(json: &str) -> usize {
    json.chars().filter(|c| !c.is_whitespace()).count()
}

/// Checks a document, sizing it by its canonical JSON.
pub fn validate(doc: &PolicyDocument, kind: DocKind) -> Vec<Finding> {
    let mut out = Findings::default();
    out.size(size_without_whitespace(&doc.to_json()), kind);
    check_document(doc, kind, &mut out);
    out.list
}

/// Only what AWS refuses when the document is written (a `MalformedPolicyDocument` or
/// "Invalid principal" answer): the subset of [`validate`]'s errors that `simulate` turns
/// into case errors. Sizes, a missing `Version` and warnings are left out, and so is a bare
/// principal string, which `eval` reads as `{"AWS": ...}`.
pub fn refusals(doc: &PolicyDocument, kind: DocKind) -> Vec<Finding> {
    let mut out = Findings { list: Vec::new(), refusals_only: true };
    check_document(doc, kind, &mut out);
    out.list
}

/// Checks a document given as JSON text, as stored in AWS (URL-decoded).
///
/// The size is counted on `json` itself. Text that is not a policy document
/// gives one error at `$`; keys that are not policy keys are reported too.
pub fn validate_json(json: &str, kind: DocKind) -> Vec<Finding> {
    let mut out = Findings::default();
    out.size(size_without_whitespace(json), kind);
    let doc = match PolicyDocument::from_json(json) {
        Ok(doc) => doc,
        Err(e) => {
            out.refuse("$".to_owned(), format!("not a policy document: {e}"));
            return out.list;
        }
    };
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(json) {
        for key in map.keys().filter(|k| !matches!(k.as_str(), "Version" | "Id" | "Statement")) {
            out.refuse(
                member(&"$", key),
                format!("unknown key `{key}`: a document has only Version, Id and Statement"),
            );
        }
    }
    check_document(&doc, kind, &mut out);
    out.list
}

/// Checks that a role's inline policies, given as `(name, JSON text)`, fit together
/// in [`INLINE_ROLE_POLICIES_LIMIT`]. Each document's own checks are [`validate_json`]'s.
pub fn check_inline_policies(policies: &[(&str, &str)]) -> Vec<Finding> {
    let sizes: Vec<(&str, usize)> =
        policies.iter().map(|(name, json)| (*name, size_without_whitespace(json))).collect();
    let total: usize = sizes.iter().map(|(_, n)| n).sum();
    if total <= INLINE_ROLE_POLICIES_LIMIT {
        return Vec::new();
    }
    let parts: Vec<String> = sizes.iter().map(|(name, n)| format!("`{name}` {n}")).collect();
    vec![Finding {
        severity: Severity::Error,
        path: "$".to_owned(),
        message: format!(
            "the role's inline policies total {total} characters without whitespace ({}), over the limit of {INLINE_ROLE_POLICIES_LIMIT}",
            parts.join(", ")
        ),
    }]
}

#[derive(Default)]
struct Findings {
    list: Vec<Finding>,
    /// Keep only what AWS refuses when the document is written ([`refusals`]).
    refusals_only: bool,
}

impl Findings {
    /// An error that AWS itself refuses when the document is written.
    fn refuse(&mut self, path: String, message: String) {
        self.list.push(Finding { severity: Severity::Error, path, message });
    }
    /// An error AWS accepts at write time but that cannot mean what was intended.
    fn error(&mut self, path: String, message: String) {
        if !self.refusals_only {
            self.list.push(Finding { severity: Severity::Error, path, message });
        }
    }
    fn warning(&mut self, path: String, message: String) {
        if !self.refusals_only {
            self.list.push(Finding { severity: Severity::Warning, path, message });
        }
    }
    fn size(&mut self, size: usize, kind: DocKind) {
        let limit = kind.size_limit();
        if size > limit {
            self.error(
                "$".to_owned(),
                format!("{kind} is {size} characters without whitespace, over the limit of {limit}"),
            );
        }
    }
}

/// `base.key`, or `base["key"]` when the key is not a plain identifier.
fn member(base: &dyn fmt::Display, key: &str) -> String {
    if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
        format!("{base}.{key}")
    } else {
        format!("{base}[{}]", serde_json::Value::String(key.to_owned()))
    }
}

/// The path of each entry of a string-or-array value: `base` for one, `base[i]` for many.
fn entries<'a, T>(
    path: &'a dyn fmt::Display,
    key: &'a str,
    value: &'a OneOrMany<T>,
) -> impl Iterator<Item = (EntryPath<'a>, &'a T)> + 'a {
    let many = matches!(value, OneOrMany::Many(_));
    value.iter().enumerate().map(move |(i, v)| (EntryPath { path, key, index: many.then_some(i) }, v))
}

/// An entry's path (`member(path, key)`, then `[i]` for an array), written only when a
/// finding needs it.
#[derive(Clone, Copy)]
struct EntryPath<'a> {
    path: &'a dyn fmt::Display,
    key: &'a str,
    index: Option<usize>,
}

impl fmt::Display for EntryPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&member(self.path, self.key))?;
        match self.index {
            Some(i) => write!(f, "[{i}]"),
            None => Ok(()),
        }
    }
}

fn check_document(doc: &PolicyDocument, kind: DocKind, out: &mut Findings) {
    match doc.version.as_deref() {
        None => out.error(
            "$.Version".to_owned(),
            "missing Version: write `2012-10-17`, or policy variables and some keys are not understood".to_owned(),
        ),
        Some("2012-10-17" | "2008-10-17") => {}
        Some(v) => out.refuse("$.Version".to_owned(), format!("unknown Version `{v}`: use `2012-10-17`")),
    }
    if doc.statement.is_empty() {
        out.error("$.Statement".to_owned(), "Statement is empty: a policy needs at least one statement".to_owned());
    }
    // The first statement with each Sid: found by a scan in a short document, a map in a long one.
    let long = doc.statement.len() > 64;
    let mut sids: HashMap<&str, usize> = HashMap::new();
    for (i, stmt) in doc.statement.iter().enumerate() {
        let path = StatementPath { index: i, key: None };
        if let Some(sid) = stmt.sid.as_deref().filter(|s| !s.is_empty()) {
            let first = if long {
                *sids.entry(sid).or_insert(i)
            } else {
                doc.statement[..i].iter().position(|s| s.sid.as_deref() == Some(sid)).unwrap_or(i)
            };
            if first != i {
                out.refuse(
                    format!("{path}.Sid"),
                    format!("duplicate Sid `{sid}`, already used by $.Statement[{first}]"),
                );
            }
        }
        check_statement(stmt, path, kind, out);
    }
}

fn check_statement(stmt: &Statement, path: StatementPath, kind: DocKind, out: &mut Findings) {
    if let Some(sid) = &stmt.sid {
        if matches!(kind, DocKind::Identity { .. } | DocKind::Trust) && !sid.chars().all(|c| c.is_ascii_alphanumeric())
        {
            out.refuse(format!("{path}.Sid"), format!("Sid `{sid}` must be only letters and digits in an IAM policy"));
        }
    }
    let allow = match stmt.effect.as_str() {
        "Allow" => true,
        "Deny" => false,
        other => {
            out.refuse(format!("{path}.Effect"), format!("unknown Effect `{other}`: use `Allow` or `Deny`"));
            false
        }
    };
    for key in stmt.extra.keys() {
        out.refuse(member(&path, key), format!("unknown statement key `{key}`"));
    }

    // Who.
    match kind {
        DocKind::Identity { .. } | DocKind::Scp => {
            for (key, present) in
                [("Principal", stmt.principal.is_some()), ("NotPrincipal", stmt.not_principal.is_some())]
            {
                if present {
                    out.refuse(
                        format!("{path}.{key}"),
                        format!("{key} is not allowed in an identity policy: it applies to whoever it is attached to"),
                    );
                }
            }
        }
        _ => match (&stmt.principal, &stmt.not_principal) {
            (None, None) => out.refuse(
                format!("{path}.Principal"),
                format!("missing Principal: a {kind} must say whom each statement applies to"),
            ),
            (Some(_), Some(_)) => {
                out.refuse(path.to_string(), "a statement has Principal or NotPrincipal, not both".to_owned())
            }
            _ => {}
        },
    }
    if kind.is_resource_policy() {
        if let Some(p) = &stmt.principal {
            check_principal(p, &StatementPath { key: Some("Principal"), ..path }, allow, out);
        }
        if let Some(p) = &stmt.not_principal {
            check_principal(p, &StatementPath { key: Some("NotPrincipal"), ..path }, false, out);
        }
    }

    // What.
    match (&stmt.action, &stmt.not_action) {
        (Some(_), Some(_)) => out.refuse(path.to_string(), "a statement has Action or NotAction, not both".to_owned()),
        (None, None) => out.refuse(format!("{path}.Action"), "missing Action: add Action or NotAction".to_owned()),
        _ => {}
    }
    for (key, actions) in [("Action", &stmt.action), ("NotAction", &stmt.not_action)] {
        let Some(actions) = actions else { continue };
        for (p, action) in entries(&path, key, actions) {
            if action != "*" && !action.split_once(':').is_some_and(|(svc, name)| !svc.is_empty() && !name.is_empty()) {
                out.refuse(p.to_string(), format!("action `{action}` is not `<service>:<action>` or `*`"));
            }
            if allow && key == "Action" && action == "*" {
                out.warning(p.to_string(), "`\"Action\": \"*\"` allows every action on every service".to_owned());
            }
        }
    }

    // On what.
    match kind {
        DocKind::Trust => {
            for (key, present) in [("Resource", stmt.resource.is_some()), ("NotResource", stmt.not_resource.is_some())]
            {
                if present {
                    out.refuse(
                        format!("{path}.{key}"),
                        format!("{key} is not allowed in a trust policy: the resource is the role itself"),
                    );
                }
            }
        }
        _ => match (&stmt.resource, &stmt.not_resource) {
            (Some(_), Some(_)) => {
                out.refuse(path.to_string(), "a statement has Resource or NotResource, not both".to_owned())
            }
            (None, None) => {
                out.refuse(format!("{path}.Resource"), format!("missing Resource: every {kind} statement needs one"))
            }
            _ => {}
        },
    }
    if kind != DocKind::Trust {
        for (key, resources) in [("Resource", &stmt.resource), ("NotResource", &stmt.not_resource)] {
            let Some(resources) = resources else { continue };
            for (p, resource) in entries(&path, key, resources) {
                if let Err(rule) = check_resource(resource) {
                    out.refuse(p.to_string(), format!("resource `{resource}` is malformed: {rule}"));
                }
            }
        }
    }
    check_conditions(stmt, path, out);
}

/// `$.Statement[i]`, or a key of it, written only when a finding needs it.
#[derive(Clone, Copy)]
struct StatementPath {
    index: usize,
    key: Option<&'static str>,
}

impl fmt::Display for StatementPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "$.Statement[{}]", self.index)?;
        match self.key {
            Some(key) => write!(f, ".{key}"),
            None => Ok(()),
        }
    }
}

/// Each condition operator is one AWS defines, and each value is of its operator's type.
fn check_conditions(stmt: &Statement, path: StatementPath, out: &mut Findings) {
    let Some(block) = &stmt.condition else { return };
    let base = || format!("{path}.Condition");
    for (operator, keys) in block {
        let op_path = || member(&base(), operator);
        for (key, values) in keys {
            let key_path = || member(&op_path(), key);
            let texts: Option<Vec<std::borrow::Cow<'_, str>>> = values
                .iter()
                .map(|v| match v {
                    serde_json::Value::String(s) => Some(s.as_str().into()),
                    serde_json::Value::Bool(b) => Some(b.to_string().into()),
                    serde_json::Value::Number(n) => Some(n.to_string().into()),
                    _ => None,
                })
                .collect();
            let Some(texts) = texts else {
                out.refuse(
                    key_path(),
                    format!("the value of `{key}` under `{operator}` is not a string, number or boolean"),
                );
                continue;
            };
            let texts: Vec<&str> = texts.iter().map(|t| &**t).collect();
            match crate::eval::check_condition(operator, &texts) {
                Ok(()) => {}
                Err(crate::eval::ConditionProblem::Operator) => {
                    out.refuse(op_path(), format!("unknown condition operator `{operator}`"));
                    break;
                }
                Err(crate::eval::ConditionProblem::Value { value, expected }) => {
                    out.refuse(key_path(), format!("`{operator}` needs {expected}: `{value}` is not one"))
                }
            }
        }
    }
}

fn check_principal(principal: &Principal, path: &StatementPath, allow: bool, out: &mut Findings) {
    const PUBLIC: &str = "a wildcard principal allows anyone, in any account, unless a condition narrows it";
    match principal {
        Principal::Star(s) if s == "*" => {
            if allow {
                out.warning(path.to_string(), PUBLIC.to_owned());
            }
        }
        Principal::Star(s) => {
            out.error(
                path.to_string(),
                format!("principal `{s}` is a bare string, which AWS refuses: write `{{\"AWS\": \"{s}\"}}` (it is read that way here)"),
            );
            if let AwsPrincipal::Bad(rule) = check_aws_principal(s) {
                out.refuse(path.to_string(), format!("principal `{s}` is malformed: {rule}"));
            }
        }
        Principal::Map(map) => {
            for (key, values) in map {
                match key.as_str() {
                    "AWS" => {
                        for (p, value) in entries(path, key, values) {
                            match check_aws_principal(value) {
                                AwsPrincipal::Ok => {}
                                AwsPrincipal::Star if allow => out.warning(p.to_string(), PUBLIC.to_owned()),
                                AwsPrincipal::Star => {}
                                AwsPrincipal::UniqueId => out.warning(
                                    p.to_string(),
                                    format!("principal `{value}` is a unique ID: the role or user it named was deleted, so it matches no one"),
                                ),
                                AwsPrincipal::Bad(rule) => out.refuse(p.to_string(), format!("principal `{value}` is malformed: {rule}")),
                            }
                        }
                    }
                    "Service" | "Federated" | "CanonicalUser" => {
                        for (p, value) in entries(path, key, values) {
                            if value.is_empty() {
                                out.refuse(p.to_string(), format!("an empty {key} principal"));
                            }
                        }
                    }
                    _ => out.refuse(
                        member(path, key),
                        format!("unknown principal type `{key}`: use AWS, Service, Federated or CanonicalUser"),
                    ),
                }
            }
        }
    }
}

enum AwsPrincipal {
    Ok,
    Star,
    UniqueId,
    Bad(String),
}

fn check_aws_principal(value: &str) -> AwsPrincipal {
    if value == "*" {
        return AwsPrincipal::Star;
    }
    if AccountId::is_valid(value) {
        return AwsPrincipal::Ok;
    }
    if !value.starts_with("arn:") {
        let unique_id = ["AROA", "AIDA", "AGPA", "ANPA"].iter().any(|p| value.starts_with(p))
            && value.len() >= 16
            && value.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        return if unique_id {
            AwsPrincipal::UniqueId
        } else {
            AwsPrincipal::Bad("an AWS principal is `*`, a 12-digit account ID or an IAM or STS ARN".to_owned())
        };
    }
    let mut parts = value.splitn(6, ':');
    let (service, resource) = (parts.nth(2), parts.nth(2));
    if service == Some("sts") && resource.is_some_and(|r| r.starts_with("federated-user/")) {
        return match ArnRef::parse(value) {
            Ok(_) => AwsPrincipal::Ok,
            Err(e) => AwsPrincipal::Bad(rule_of(e)),
        };
    }
    match TypedArnRef::parse(value) {
        Ok(
            TypedArnRef::Role { .. }
            | TypedArnRef::User { .. }
            | TypedArnRef::Root { .. }
            | TypedArnRef::AssumedRole { .. },
        ) => AwsPrincipal::Ok,
        Ok(_) => AwsPrincipal::Bad("a principal is a role, user, account root or assumed-role session".to_owned()),
        Err(e) => AwsPrincipal::Bad(rule_of(e)),
    }
}

/// The rule an ARN broke, without repeating the ARN.
fn rule_of(e: crate::arn::NameError) -> String {
    match e {
        crate::arn::NameError::Arn { rule, .. } => rule.to_owned(),
        other => other.to_string(),
    }
}

/// Checks a Resource entry. Wildcards (`*`, `?`) and policy variables (`${...}`)
/// are allowed; a part that holds one is only checked for being present. The checks are
/// [`Arn`]'s, made on the text without copying it; typed ARNs (IAM, STS, S3, KMS) without
/// wildcards also go through [`TypedArn`]'s name rules.
fn check_resource(resource: &str) -> Result<(), String> {
    if resource == "*" {
        return Ok(());
    }
    let wild = |s: &str| s.contains(['*', '?']) || s.contains("${");
    let mut parts = resource.splitn(6, ':');
    let (Some(prefix), Some(partition), Some(service), Some(region), Some(account), Some(rest)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("an ARN has six `:`-separated parts".to_owned());
    };
    if prefix != "arn" {
        return Err("an ARN starts with `arn:`".to_owned());
    }
    if !wild(partition) && !PARTITIONS.contains(&partition) {
        return Err(PARTITION_RULE.to_owned());
    }
    if service.is_empty() {
        return Err("the service part is empty".to_owned());
    }
    let digits = AccountId::is_valid(account);
    if !(account.is_empty() || digits || account == "aws" || wild(account)) {
        return Err("the account part must be 12 digits".to_owned());
    }
    if rest.is_empty() {
        return Err("the resource part is empty".to_owned());
    }
    if wild(resource) {
        return Ok(());
    }
    let typed = match service {
        "iam" => rest == "root" || ["role/", "instance-profile/", "user/"].iter().any(|p| rest.starts_with(p)),
        "sts" => rest.starts_with("assumed-role/"),
        "s3" => region.is_empty() && account.is_empty(),
        "kms" => true,
        _ => false,
    };
    if typed {
        TypedArnRef::parse(resource).map_err(rule_of)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use expect_test::{expect, Expect};

    use super::*;

    #[track_caller]
    fn check(kind: DocKind, json: &str, expect: Expect) {
        let findings = validate_json(json, kind);
        let text: String = findings.iter().map(|f| format!("{f}\n")).collect();
        expect.assert_eq(&text);
    }

    const ID: DocKind = DocKind::Identity { managed: true };

    #[test]
    fn clean_documents() {
        check(
            ID,
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"A1","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#,
            expect![""],
        );
        check(
            DocKind::Trust,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111111111111:role/MyRoleA"]},"Action":"sts:AssumeRole"}]}"#,
            expect![""],
        );
        check(
            DocKind::Trust,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}}"#,
            expect![""],
        );
        check(
            DocKind::Bucket,
            r#"{"Version":"2008-10-17","Statement":[{"Sid":"not alnum-ok here","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::my-bucket","arn:aws:s3:::my-bucket/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#,
            expect![""],
        );
        check(
            DocKind::KmsKey,
            r#"{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"kms:*","Resource":"*"}]}"#,
            expect![""],
        );
        check(
            ID,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":["arn:aws:s3:::b*","arn:aws:s3:::${aws:username}/*","arn:aws:iam::*:role/x?","arn:aws:iam::111111111111:policy/p","arn:aws:ec2:us-east-1:111111111111:instance/*"]}]}"#,
            expect![""],
        );
        check(
            DocKind::Bucket,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["111111111111","arn:aws:sts::111111111111:assumed-role/R/s","arn:aws:sts::111111111111:federated-user/u","arn:aws:iam::111111111111:user/p/u"]},"NotAction":"s3:Delete*","NotResource":"arn:aws:s3:::b/private/*"}]}"#,
            expect![""],
        );
    }

    #[test]
    fn document_level() {
        check(
            ID,
            r#"{"Statement":[]}"#,
            expect![[r#"
            error at $.Version: missing Version: write `2012-10-17`, or policy variables and some keys are not understood
            error at $.Statement: Statement is empty: a policy needs at least one statement
        "#]],
        );
        check(
            ID,
            r#"{"Version":"2020-01-01","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}],"Extra":1}"#,
            expect![[r#"
            error at $.Extra: unknown key `Extra`: a document has only Version, Id and Statement
            error at $.Version: unknown Version `2020-01-01`: use `2012-10-17`
        "#]],
        );
        check(
            ID,
            r#"{"Version":"2012-10-17","Statement":[{"Action":"s3:GetObject"}]}"#,
            expect![[r#"
            error at $: not a policy document: missing field `Effect` at line 1 column 62
        "#]],
        );
        check(
            ID,
            "not json",
            expect![[r#"
            error at $: not a policy document: expected ident at line 1 column 2
        "#]],
        );
    }

    #[test]
    fn statement_level() {
        check(
            ID,
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"a-b","Effect":"allow","Principal":"*","NotPrincipal":{"AWS":"*"},"Action":"s3:GetObject","NotAction":"s3:PutObject","Resource":"*","Bogus":true,"odd key":1}]}"#,
            expect![[r#"
            error at $.Statement[0].Sid: Sid `a-b` must be only letters and digits in an IAM policy
            error at $.Statement[0].Effect: unknown Effect `allow`: use `Allow` or `Deny`
            error at $.Statement[0].Bogus: unknown statement key `Bogus`
            error at $.Statement[0]["odd key"]: unknown statement key `odd key`
            error at $.Statement[0].Principal: Principal is not allowed in an identity policy: it applies to whoever it is attached to
            error at $.Statement[0].NotPrincipal: NotPrincipal is not allowed in an identity policy: it applies to whoever it is attached to
            error at $.Statement[0]: a statement has Action or NotAction, not both
        "#]],
        );
        check(
            ID,
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"s3","Resource":"*","NotResource":"*"}]}"#,
            expect![[r#"
            error at $.Statement[0].Action: missing Action: add Action or NotAction
            error at $.Statement[1].Sid: duplicate Sid `A`, already used by $.Statement[0]
            error at $.Statement[1].Action: action `s3` is not `<service>:<action>` or `*`
            error at $.Statement[1]: a statement has Resource or NotResource, not both
        "#]],
        );
        check(
            DocKind::Trust,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::111111111111:role/R"}]}"#,
            expect![[r#"
            error at $.Statement[0].Principal: missing Principal: a trust policy must say whom each statement applies to
            error at $.Statement[0].Resource: Resource is not allowed in a trust policy: the resource is the role itself
        "#]],
        );
        check(
            DocKind::Bucket,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject"}]}"#,
            expect![[r#"
            error at $.Statement[0].Principal: missing Principal: a bucket policy must say whom each statement applies to
            error at $.Statement[0].Resource: missing Resource: every bucket policy statement needs one
        "#]],
        );
    }

    #[test]
    fn arns() {
        check(
            DocKind::Bucket,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::12:role/x","arn:aws:iam::111111111111:role/bad name","MyRoleB","arn:aws:s3:::my-bucket","AROAJQABLZS4A3QDU576Q"],"Service":"","Weird":"x"},"Action":"s3:*","Resource":["arn:aws:s3:::My_Bucket","arn:aws:s3:::b/*","arn:aws:s3:::","arn:aws:kms::1:key/x","arn:aws:iam::111111111111:role/*","arn:xyz:s3:::b*","s3:::b*","arn:aws:s3:1:b*"]}]}"#,
            expect![[r#"
            error at $.Statement[0].Principal.AWS[0]: principal `arn:aws:iam::12:role/x` is malformed: the account part must be 12 digits
            error at $.Statement[0].Principal.AWS[1]: principal `arn:aws:iam::111111111111:role/bad name` is malformed: role name `bad name` breaks the rule: only letters, digits and `+=,.@_-`
            error at $.Statement[0].Principal.AWS[2]: principal `MyRoleB` is malformed: an AWS principal is `*`, a 12-digit account ID or an IAM or STS ARN
            error at $.Statement[0].Principal.AWS[3]: principal `arn:aws:s3:::my-bucket` is malformed: a principal is a role, user, account root or assumed-role session
            warning at $.Statement[0].Principal.AWS[4]: principal `AROAJQABLZS4A3QDU576Q` is a unique ID: the role or user it named was deleted, so it matches no one
            error at $.Statement[0].Principal.Service: an empty Service principal
            error at $.Statement[0].Principal.Weird: unknown principal type `Weird`: use AWS, Service, Federated or CanonicalUser
            error at $.Statement[0].Resource[0]: resource `arn:aws:s3:::My_Bucket` is malformed: bucket name `My_Bucket` breaks the rule: only lowercase letters, digits, `.` and `-`
            error at $.Statement[0].Resource[2]: resource `arn:aws:s3:::` is malformed: the resource part is empty
            error at $.Statement[0].Resource[3]: resource `arn:aws:kms::1:key/x` is malformed: the account part must be 12 digits
            error at $.Statement[0].Resource[5]: resource `arn:xyz:s3:::b*` is malformed: the partition must be `aws`, `aws-cn`, `aws-us-gov`, `aws-iso` or `aws-iso-b`
            error at $.Statement[0].Resource[6]: resource `s3:::b*` is malformed: an ARN has six `:`-separated parts
            error at $.Statement[0].Resource[7]: resource `arn:aws:s3:1:b*` is malformed: an ARN has six `:`-separated parts
        "#]],
        );
    }

    /// What AWS refuses when a document is written: each case is a kind, one statement (or a
    /// whole document when it starts with `{"Version"`) and the refusals, one per line.
    #[test]
    fn strict_documents() {
        #[track_caller]
        fn check(kind: DocKind, statement: &str, expect: &str) {
            let json = if statement.starts_with(r#"{"Version""#) {
                statement.to_owned()
            } else {
                format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#)
            };
            let doc = PolicyDocument::from_json(&json).unwrap();
            let got: Vec<String> = refusals(&doc, kind).iter().map(|f| format!("{}: {}", f.path, f.message)).collect();
            assert_eq!(got.join("\n"), expect, "{json}");
        }
        let id = DocKind::Identity { managed: false };
        let bucket = DocKind::Bucket;
        check(id, r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#, "");
        check(
            id,
            r#"{"Effect":"Allow","Action":"s3:GetObject"}"#,
            "$.Statement[0].Resource: missing Resource: every inline policy statement needs one",
        );
        check(id, r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}"#, "$.Statement[0].Principal: Principal is not allowed in an identity policy: it applies to whoever it is attached to");
        check(bucket, r#"{"Effect":"Allow","Principal":{"AWS":"not-an-arn"},"Action":"s3:GetObject","Resource":"*"}"#, "$.Statement[0].Principal.AWS: principal `not-an-arn` is malformed: an AWS principal is `*`, a 12-digit account ID or an IAM or STS ARN");
        check(bucket, r#"{"Effect":"Allow","Principal":"not-an-arn","Action":"s3:GetObject","Resource":"*"}"#, "$.Statement[0].Principal: principal `not-an-arn` is malformed: an AWS principal is `*`, a 12-digit account ID or an IAM or STS ARN");
        // A bare ARN is read as `{"AWS": ...}`: validate reports it, simulate answers.
        check(
            bucket,
            r#"{"Effect":"Allow","Principal":"arn:aws:iam::111111111111:role/R","Action":"s3:GetObject","Resource":"*"}"#,
            "",
        );
        check(id, r#"{"Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:us-east-1:abc:key/k"}"#, "$.Statement[0].Resource: resource `arn:aws:kms:us-east-1:abc:key/k` is malformed: the account part must be 12 digits");
        check(id, r#"{"Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:*:abc:key/*"}"#, "$.Statement[0].Resource: resource `arn:aws:kms:*:abc:key/*` is malformed: the account part must be 12 digits");
        check(
            id,
            r#"{"Version":"1999-01-01","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#,
            "$.Version: unknown Version `1999-01-01`: use `2012-10-17`",
        );
        // A missing Version is accepted (AWS reads it as 2008-10-17).
        check(id, r#"{"Version":"2012-10-17","Statement":[]}"#, "");
        check(id, r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"not-a-cidr"}}}"#, "$.Statement[0].Condition.IpAddress.aws:SourceIp: `IpAddress` needs an IP address or CIDR block: `not-a-cidr` is not one");
        check(id, r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"yesterday"}}}"#, "$.Statement[0].Condition.DateLessThan.aws:CurrentTime: `DateLessThan` needs an ISO 8601 date or epoch seconds: `yesterday` is not one");
        check(id, r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":["10","ten"]}}}"#, "$.Statement[0].Condition.NumericLessThan[\"s3:max-keys\"]: `NumericLessThan` needs a number: `ten` is not one");
        check(
            id,
            r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":true},"NumericEquals":{"s3:max-keys":10}}}"#,
            "",
        );
        check(
            id,
            r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqualz":{"a":"b"}}}"#,
            "$.Statement[0].Condition.StringEqualz: unknown condition operator `StringEqualz`",
        );
        check(
            id,
            r#"{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"s3:*","Resource":"*"}"#,
            "$.Statement[1].Sid: duplicate Sid `A`, already used by $.Statement[0]",
        );
        check(
            DocKind::Trust,
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"abc"},"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111111111111:role/uc"}}}"#,
            "",
        );
        check(DocKind::Scp, r#"{"Effect":"Deny","Action":"s3:*","Resource":"*"}"#, "");
        check(DocKind::Scp, r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}"#, "$.Statement[0].Principal: Principal is not allowed in an identity policy: it applies to whoever it is attached to");
        check(DocKind::Rcp, r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}"#, "");
    }

    #[test]
    fn warnings() {
        check(
            DocKind::Bucket,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},{"Effect":"Allow","Principal":{"AWS":"*"},"Action":["s3:GetObject","*"],"Resource":"*"},{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}"#,
            expect![[r#"
            warning at $.Statement[0].Principal: a wildcard principal allows anyone, in any account, unless a condition narrows it
            warning at $.Statement[0].Action: `"Action": "*"` allows every action on every service
            warning at $.Statement[1].Principal.AWS: a wildcard principal allows anyone, in any account, unless a condition narrows it
            warning at $.Statement[1].Action[1]: `"Action": "*"` allows every action on every service
        "#]],
        );
    }

    #[test]
    fn sizes() {
        let stmt = |i: usize| {
            format!(
                r#"{{"Sid":"S{i}","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-{i:04}/*"}}"#
            )
        };
        let doc = |n: usize, sep: &str| {
            let stmts: Vec<String> = (0..n).map(stmt).collect();
            format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, stmts.join(sep))
        };
        // Whitespace does not count: the padded and the compact text measure the same.
        assert_eq!(size_without_whitespace(&doc(3, ",\n    ")), size_without_whitespace(&doc(3, ",")));
        assert_eq!(size_without_whitespace(" {\"a\" :\t\"b c\"}\n"), 10);
        let big = doc(70, ",\n  "); // between the managed and the inline limit

        let size = size_without_whitespace(&big);
        assert!(size > MANAGED_POLICY_LIMIT && size <= INLINE_ROLE_POLICIES_LIMIT, "{size}");
        let sized = |kind| {
            validate_json(&big, kind).into_iter().filter(|f| f.path == "$").map(|f| f.message).collect::<Vec<_>>()
        };
        assert_eq!(
            sized(ID),
            [format!("managed policy is {size} characters without whitespace, over the limit of 6144")]
        );
        assert_eq!(sized(DocKind::Identity { managed: false }), Vec::<String>::new());
        assert_eq!(
            sized(DocKind::Trust)[0],
            format!("trust policy is {size} characters without whitespace, over the limit of 2048")
        );
        assert_eq!(sized(DocKind::Bucket), Vec::<String>::new());
        // The document form is sized by its canonical JSON.
        let parsed = PolicyDocument::from_json(&big).unwrap();
        assert_eq!(validate(&parsed, ID).iter().filter(|f| f.path == "$").count(), 1);
        assert_eq!(validate(&parsed, DocKind::Bucket).iter().filter(|f| f.path == "$").count(), 0);
        assert_eq!(DocKind::KmsKey.size_limit(), 32_768);
        assert_eq!(DocKind::Bucket.size_limit(), 20_480);

        let part = doc(40, ","); // two fit in the inline limit, three do not
        assert_eq!(check_inline_policies(&[("a", &part)]), vec![]);
        assert_eq!(check_inline_policies(&[("a", &part), ("b", &part)]), vec![]);
        let three: String = check_inline_policies(&[("a", &part), ("b", &part), ("c", &part)])
            .iter()
            .map(|f| format!("{f}\n"))
            .collect();
        expect![[r#"
            error at $: the role's inline policies total 11484 characters without whitespace (`a` 3828, `b` 3828, `c` 3828), over the limit of 10240
        "#]].assert_eq(&three);
    }
}

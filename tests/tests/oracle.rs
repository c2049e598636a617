//! Differential test of `policy_model::eval` against cloud-copilot's iam-simulate.
//!
//! A seeded generator makes random same-account and cross-account cases in the
//! `simulate` format (docs/) over the evaluator's feature set; both
//! evaluators decide every case and the decisions must match.
//!
//! - `XACCT_ORACLE_CASES` sets the number of cases (default 5,000);
//! - `XACCT_ORACLE_SEED` sets the seed (default fixed, so a failure reproduces).
//!
//! iam-simulate is installed at test time into `tests/oracle/node_modules` (`npm ci`).
//!
//! Patterns left out of the generator, where AWS's documentation and iam-simulate differ:
//! - `sts:AssumeRole` on a role with no trust policy. Every IAM role has one (`CreateRole`
//!   requires `AssumeRolePolicyDocument`, IAM API reference), and "a role trust policy is
//!   required ... the trust policy must name the principal" (IAM User Guide, "Cross account
//!   resource access in IAM"). iam-simulate allows on the identity policy alone; we deny.
//! - Service principals with SCPs or RCPs. "SCPs don't affect ... service principals" and
//!   "RCPs don't apply to ... AWS service principals" (AWS Organizations User Guide, "Service
//!   control policies" and "Resource control policies", effects on permissions). iam-simulate
//!   applies both; we do not. Service-principal cases carry no identity-side policies at all.
//! - A session policy that does not allow, with a resource policy in the same account that
//!   names the session's exact ARN. "The resource-based policy permissions are not limited by
//!   the session policy" when it "specif[ies] the ARN of the session as a principal" (IAM User
//!   Guide, "Session policies"). iam-simulate denies; we allow.
//! - `NotIpAddress` with a single address (no `/prefix`) when the request's address is of the
//!   other family. NotIpAddress matches "all IP addresses except the specified IP address or
//!   range" (IAM User Guide, "IAM JSON policy elements: Condition operators", IP address), so
//!   `2001:db8::1` is not `10.1.2.3` and the condition holds. iam-simulate treats a CIDR block of
//!   the other family as not containing the address (condition holds) but a single address of
//!   the other family as a failed match (condition fails); we treat both as "not in".
//! - An anonymous request allowed by `"Principal": "*"` (or `{"AWS": "*"}`). "When you use
//!   the wildcard (`*`) in the Principal element ... you grant access to all users, including
//!   anonymous users (public access)" (IAM User Guide, "AWS JSON policy elements: Principal",
//!   all principals). iam-simulate denies such a request; we allow it. Anonymous cases keep
//!   their Denies and their other principals, and carry no identity-side policies.
//! - A Deny whose resource meets a wildcard request resource without covering it. AWS
//!   decides one resource at a time and has no page on wildcard requests; docs/ fixes
//!   that a statement applies when its pattern and the request's intersect, while
//!   iam-simulate applies an Allow that intersects and a Deny only when it covers the whole
//!   pattern. In wildcard cases every Deny names `*` or the request's own pattern.
//!   The same holds for an Allow's `NotResource` that meets the request without covering it
//!   (such as `NotResource: bucket/data/*` on a request for `bucket/*`): docs/ reads the
//!   statement as applying to the rest of the pattern, iam-simulate as not applying. In
//!   wildcard cases an Allow's `NotResource` covers the request or misses it entirely. Note
//!   that docs/ decides each statement on its own, so two policy kinds whose Allows meet the
//!   request in different parts (an identity Allow on `bucket/data/*`, a boundary Allow on
//!   everything but it) both apply, where no single resource is allowed by both.
//!   iam-simulate also lets a resource pattern whose policy variable has no value (such as
//!   `${aws:username}` for a role) meet a wildcard request, where such a pattern matches
//!   nothing (IAM User Guide, "IAM policy elements: Variables and tags"), as it does for a
//!   plain request in both; wildcard cases hold no variables in resource patterns.
//!   Nor does iam-simulate intersect `?` the way docs/ does: with an identity Allow on
//!   `bucket/?ata/*` and a session Allow on `bucket/data/*` it denies the request
//!   `bucket/data/*`, while it allows `bucket/data/x` in the same case, and an Allow on
//!   `bucket/data/*` does not meet the request `bucket/d?ta/*` though `bucket/data/x` matches
//!   both. Whatever the reading of a wildcard request, a resource allowed inside it makes
//!   "some resource is allowed" true, so we allow; wildcard cases hold no `?` in resource
//!   patterns.
//! - The always-rules on AWS-owned resources: "You cannot change the permissions defined in
//!   AWS managed policies" (IAM User Guide, "AWS managed policies"), a service-linked role's
//!   permissions are defined by its service (IAM User Guide, "Using service-linked roles"),
//!   and `alias/aws/` names are reserved for AWS managed keys (AWS KMS Developer Guide,
//!   "Aliases in AWS KMS"). iam-simulate decides these by the policies alone. The generator
//!   makes no requests on such resources; `sts:GetCallerIdentity` (always allowed, AWS STS API
//!   Reference) is generated, and both agree.
//! - The root user as the requester: it "has complete access to all AWS services and
//!   resources in the account" (IAM User Guide, "AWS account root user"); iam-simulate denies
//!   without an identity policy. The account root still appears as a principal element.
//! - The global keys derived from the principal (`aws:PrincipalArn`, `aws:PrincipalAccount`,
//!   `aws:PrincipalType`, `aws:userid`): AWS includes them "in the request context for all
//!   signed requests" (IAM User Guide, "AWS global condition context keys"); iam-simulate
//!   derives none of them, so every case states them in its context and the derivation is
//!   tested by the unit tests of `policy_model::eval`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

const A: &str = "111111111111";
const B: &str = "222222222222";
const C: &str = "333333333333";
const ROLES: [&str; 3] = ["MyRoleA", "MyRoleB", "Reader"];
const USERS: [&str; 2] = ["alice", "bob"];
const BUCKETS: [&str; 2] = ["my-bucket", "logs-bucket"];
const OBJECT_KEYS: [&str; 4] = ["data/key.txt", "alice/notes.txt", "bob/x", "readme"];
const KMS_KEYS: [&str; 2] = ["1234abcd", "5678efgh"];
const SERVICES: [&str; 2] = ["ec2.amazonaws.com", "cloudtrail.amazonaws.com"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Object,
    Bucket,
    AssumeRole,
    Kms,
    PassRole,
    /// `sts:GetCallerIdentity`, allowed whatever the policies say.
    CallerIdentity,
    /// The Unity Catalog trust of docs/: the master role with an external ID, and the
    /// role assuming itself through the account root and `ArnLike aws:PrincipalArn`.
    UnityCatalog,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Session,
    Role,
    User,
    FederatedUser,
    Service,
    /// `"principal": "anonymous"`, an unsigned request.
    Anonymous,
}

/// The request being generated, with what the policy generators need to aim at it.
struct Target {
    scenario: Scenario,
    kind: Kind,
    principal: String,
    principal_account: &'static str,
    /// The role or user name behind the principal.
    name: &'static str,
    action: &'static str,
    resource: String,
    resource_account: &'static str,
    bucket: &'static str,
    /// The request resource holds wildcards (`bucket/*`).
    wild: bool,
}

fn pick<T: Clone>(rng: &mut StdRng, items: &[T]) -> T {
    items.choose(rng).unwrap_or(&items[0]).clone()
}

fn actions(scenario: Scenario) -> &'static [&'static str] {
    match scenario {
        Scenario::Object => &["s3:GetObject", "s3:PutObject", "s3:PutObjectAcl", "s3:DeleteObject"],
        Scenario::Bucket => &["s3:ListBucket", "s3:GetBucketLocation"],
        Scenario::AssumeRole => &["sts:AssumeRole"],
        Scenario::Kms => &["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"],
        Scenario::PassRole => &["iam:PassRole"],
        Scenario::CallerIdentity => &["sts:GetCallerIdentity"],
        Scenario::UnityCatalog => &["sts:AssumeRole"],
    }
}

fn target(rng: &mut StdRng) -> Target {
    let scenario = pick(
        rng,
        &[
            Scenario::Object,
            Scenario::Object,
            Scenario::Object,
            Scenario::Bucket,
            Scenario::AssumeRole,
            Scenario::AssumeRole,
            Scenario::Kms,
            Scenario::PassRole,
            Scenario::UnityCatalog,
        ],
    );
    let scenario = if rng.gen_bool(0.02) { Scenario::CallerIdentity } else { scenario };
    let kinds: &[Kind] = match scenario {
        Scenario::PassRole | Scenario::CallerIdentity => &[Kind::Session, Kind::Role, Kind::User, Kind::FederatedUser],
        Scenario::Bucket => &[Kind::Session, Kind::Role, Kind::User, Kind::FederatedUser, Kind::Anonymous],
        Scenario::Object => {
            &[Kind::Session, Kind::Session, Kind::Role, Kind::User, Kind::FederatedUser, Kind::Service, Kind::Anonymous]
        }
        Scenario::UnityCatalog => &[Kind::Session],
        _ => &[Kind::Session, Kind::Session, Kind::Role, Kind::User, Kind::FederatedUser, Kind::Service],
    };
    let kind = pick(rng, kinds);
    let principal_account = pick(rng, &[A, B]);
    let resource_account = if scenario == Scenario::PassRole { principal_account } else { pick(rng, &[A, B]) };
    let role = pick(rng, &ROLES);
    let user = pick(rng, &USERS);
    let (principal, name) = match kind {
        Kind::Session => {
            (format!("arn:aws:sts::{principal_account}:assumed-role/{role}/{}", pick(rng, &["s1", "i-0abc"])), role)
        }
        Kind::Role => (format!("arn:aws:iam::{principal_account}:role/{role}"), role),
        Kind::User => (format!("arn:aws:iam::{principal_account}:user/{user}"), user),
        Kind::FederatedUser => (format!("arn:aws:sts::{principal_account}:federated-user/{user}"), user),
        Kind::Service => (pick(rng, &SERVICES).to_owned(), ""),
        Kind::Anonymous => ("anonymous".to_owned(), ""),
    };
    let bucket = pick(rng, &BUCKETS);
    let wild = scenario == Scenario::Object && rng.gen_bool(0.15);
    let resource = match scenario {
        Scenario::Object if wild => {
            pick(rng, &[format!("arn:aws:s3:::{bucket}/*"), format!("arn:aws:s3:::{bucket}/data/*")])
        }
        Scenario::Object => format!("arn:aws:s3:::{bucket}/{}", pick(rng, &OBJECT_KEYS)),
        Scenario::Bucket => format!("arn:aws:s3:::{bucket}"),
        Scenario::AssumeRole | Scenario::PassRole => {
            format!("arn:aws:iam::{resource_account}:role/{}", pick(rng, &ROLES))
        }
        Scenario::Kms => format!("arn:aws:kms:us-east-1:{resource_account}:key/{}", pick(rng, &KMS_KEYS)),
        Scenario::CallerIdentity => "*".to_owned(),
        Scenario::UnityCatalog => format!("arn:aws:iam::{B}:role/{UC_ROLE}"),
    };
    let action = pick(rng, actions(scenario));
    Target { scenario, kind, principal, principal_account, name, action, resource, resource_account, bucket, wild }
}

/// Randomly changes the case of letters: action names are case-insensitive.
fn recase(rng: &mut StdRng, s: &str) -> String {
    match rng.gen_range(0..4) {
        0 => s.to_ascii_lowercase(),
        1 => s.to_ascii_uppercase(),
        _ => s.to_owned(),
    }
}

fn action_pattern(rng: &mut StdRng, t: &Target) -> String {
    let (service, name) = t.action.split_once(':').unwrap_or(("s3", "GetObject"));
    let sibling = pick(rng, actions(t.scenario));
    match rng.gen_range(0..11) {
        0..=2 => recase(rng, t.action),
        3 => sibling.to_owned(),
        4 => format!("{service}:*"),
        5 => format!("{service}:{}*", &name[..3]),
        6 => {
            let i = rng.gen_range(0..name.len());
            format!("{service}:{}?{}", &name[..i], &name[i + 1..])
        }
        7 => format!("{service}:*{}", &name[name.len() - 4..]),
        8 => "*".to_owned(),
        9 => pick(rng, &["ec2:Describe*", "sqs:SendMessage", "s3:Get*", "kms:*", "sts:*"]).to_owned(),
        _ => format!("{service}:{}*", recase(rng, &name[..2])),
    }
}

fn resource_pattern(rng: &mut StdRng, t: &Target) -> String {
    if rng.gen_bool(0.2) {
        return "*".to_owned();
    }
    if rng.gen_bool(0.25) {
        return t.resource.clone();
    }
    let account = pick(rng, &[t.resource_account, t.resource_account, C]);
    let other_bucket = pick(rng, &BUCKETS);
    let role = pick(rng, &ROLES);
    let key = pick(rng, &KMS_KEYS);
    match t.scenario {
        Scenario::Object => pick(
            rng,
            &[
                format!("arn:aws:s3:::{}/*", t.bucket),
                format!("arn:aws:s3:::{other_bucket}/*"),
                format!("arn:aws:s3:::{}/data/*", t.bucket),
                "arn:aws:s3:::*/*.txt".to_owned(),
                format!("arn:aws:s3:::{}/${{aws:username}}/*", t.bucket),
                format!("arn:aws:s3:::{}/${{aws:PrincipalTag/team, 'data'}}/*", t.bucket),
                format!("arn:aws:s3:::{}/?ata/*", t.bucket),
                format!("arn:aws:s3:::{}*", t.bucket),
            ],
        ),
        Scenario::Bucket => pick(
            rng,
            &[
                format!("arn:aws:s3:::{}", t.bucket),
                format!("arn:aws:s3:::{other_bucket}*"),
                "arn:aws:s3:::*".to_owned(),
            ],
        ),
        Scenario::CallerIdentity => "*".to_owned(),
        Scenario::AssumeRole | Scenario::PassRole | Scenario::UnityCatalog => pick(
            rng,
            &[
                format!("arn:aws:iam::{account}:role/*"),
                format!("arn:aws:iam::*:role/{role}"),
                format!("arn:aws:iam::{account}:role/My*"),
                format!("arn:aws:iam::{account}:*"),
                "arn:aws:iam::*:role/?eader".to_owned(),
            ],
        ),
        Scenario::Kms => pick(
            rng,
            &[
                format!("arn:aws:kms:*:{account}:key/*"),
                format!("arn:aws:kms:us-east-1:{account}:key/{key}"),
                "arn:aws:kms:us-west-2:*:key/*".to_owned(),
                format!("arn:aws:kms:us-east-1:{account}:alias/*"),
            ],
        ),
    }
}

fn one_or_many(rng: &mut StdRng, mut f: impl FnMut(&mut StdRng) -> String) -> Value {
    if rng.gen_bool(0.6) {
        Value::from(f(rng))
    } else {
        let n = rng.gen_range(1..=3);
        Value::from((0..n).map(|_| f(rng)).collect::<Vec<_>>())
    }
}

const TAG_VALUES: [&str; 4] = ["data", "Data", "ops", "d*"];
const IPS: [&str; 6] = ["10.0.0.0/8", "10.1.0.0/16", "192.168.1.0/24", "2001:db8::/32", "10.1.2.3", "2001:db8::1"];
const TIMES: [&str; 3] = ["2026-01-01T00:00:00Z", "2026-11-27T12:00:00Z", "2027-06-30T23:59:59Z"];

/// One condition operator on one global key, as `(operator, key, values)`.
fn condition(rng: &mut StdRng, t: &Target) -> (String, String, Value) {
    let if_exists =
        |rng: &mut StdRng, op: &str| if rng.gen_bool(0.25) { format!("{op}IfExists") } else { op.to_owned() };
    let values = |rng: &mut StdRng, pool: &[&str]| -> Value {
        let n = rng.gen_range(1..=2);
        let v: Vec<&str> = (0..n).map(|_| pick(rng, pool)).collect();
        if n == 1 && rng.gen_bool(0.5) {
            Value::from(v[0])
        } else {
            Value::from(v)
        }
    };
    match rng.gen_range(0..10) {
        0 => {
            let op = pick(
                rng,
                &[
                    "StringEquals",
                    "StringNotEquals",
                    "StringLike",
                    "StringNotLike",
                    "StringEqualsIgnoreCase",
                    "StringNotEqualsIgnoreCase",
                ],
            );
            (if_exists(rng, op), "aws:PrincipalTag/team".to_owned(), values(rng, &TAG_VALUES))
        }
        1 => {
            let op = pick(rng, &["StringEquals", "StringNotEquals", "StringLike"]);
            (
                if_exists(rng, op),
                pick(rng, &["aws:PrincipalAccount", "aws:ResourceAccount"]).to_owned(),
                values(rng, &[A, B, "1111*"]),
            )
        }
        2 => {
            let op = pick(rng, &["IpAddress", "NotIpAddress"]);
            // NotIpAddress with a bare address (not a CIDR block) of the other IP family: see the
            // module comment.
            let pool: Vec<&str> = IPS.into_iter().filter(|ip| op == "IpAddress" || ip.contains('/')).collect();
            (if_exists(rng, op), "aws:SourceIp".to_owned(), values(rng, &pool))
        }
        3 => {
            let op = pick(
                rng,
                &[
                    "NumericEquals",
                    "NumericNotEquals",
                    "NumericLessThan",
                    "NumericLessThanEquals",
                    "NumericGreaterThan",
                    "NumericGreaterThanEquals",
                ],
            );
            (if_exists(rng, op), "aws:MultiFactorAuthAge".to_owned(), values(rng, &["0", "300", "3600", "30.5"]))
        }
        4 => {
            let op = pick(
                rng,
                &[
                    "DateEquals",
                    "DateNotEquals",
                    "DateLessThan",
                    "DateLessThanEquals",
                    "DateGreaterThan",
                    "DateGreaterThanEquals",
                ],
            );
            (if_exists(rng, op), "aws:CurrentTime".to_owned(), values(rng, &TIMES))
        }
        5 => {
            let key = pick(rng, &["aws:SecureTransport", "aws:MultiFactorAuthPresent"]);
            (if_exists(rng, "Bool"), key.to_owned(), values(rng, &["true", "false"]))
        }
        6 => {
            let op = pick(rng, &["ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"]);
            let own = match t.kind {
                Kind::Session | Kind::Role => format!("arn:aws:iam::{}:role/{}", t.principal_account, t.name),
                Kind::User | Kind::FederatedUser => format!("arn:aws:iam::{}:user/{}", t.principal_account, t.name),
                Kind::Service | Kind::Anonymous => format!("arn:aws:iam::{A}:role/MyRoleA"),
            };
            let pool = [
                own.as_str(),
                "arn:aws:iam::*:role/My*",
                "arn:aws:iam::222222222222:*",
                "arn:aws:iam::111111111111:user/?lice",
                "arn:aws:sts::*:assumed-role/*",
            ];
            (if_exists(rng, op), "aws:PrincipalArn".to_owned(), values(rng, &pool))
        }
        7 => {
            let key = pick(rng, &["aws:SourceIp", "aws:PrincipalTag/team", "aws:username", "aws:TagKeys"]);
            ("Null".to_owned(), key.to_owned(), values(rng, &["true", "false"]))
        }
        8 => {
            let op = pick(
                rng,
                &[
                    "ForAnyValue:StringEquals",
                    "ForAllValues:StringEquals",
                    "ForAnyValue:StringLike",
                    "ForAllValues:StringNotEquals",
                    "ForAnyValue:StringNotLike",
                ],
            );
            (op.to_owned(), "aws:TagKeys".to_owned(), values(rng, &["env", "team", "cost", "t*"]))
        }
        _ => {
            let op = pick(rng, &["StringEquals", "StringLike", "StringNotEquals"]);
            let pool = ["${aws:username}", "${aws:PrincipalTag/team}", "${aws:username, 'alice'}", "a*"];
            (if_exists(rng, op), pick(rng, &["aws:username", "aws:PrincipalTag/team"]).to_owned(), values(rng, &pool))
        }
    }
}

fn conditions(rng: &mut StdRng, t: &Target) -> Option<Value> {
    if !rng.gen_bool(0.3) {
        return None;
    }
    let mut block = serde_json::Map::new();
    for _ in 0..rng.gen_range(1..=2) {
        let (op, key, values) = condition(rng, t);
        let ops = block.entry(op).or_insert_with(|| json!({}));
        ops[key] = values;
    }
    Some(Value::Object(block))
}

/// A statement with actions, resources and conditions; `effect` Allow or Deny.
fn statement(rng: &mut StdRng, t: &Target, allow_bias: f64, with_resource: bool) -> Value {
    let effect = if rng.gen_bool(allow_bias) { "Allow" } else { "Deny" };
    let mut s = json!({ "Effect": effect });
    if rng.gen_bool(0.3) {
        s["Sid"] = Value::from(format!("S{}", rng.gen_range(0..100)));
    }
    let actions = one_or_many(rng, |r| action_pattern(r, t));
    s[if rng.gen_bool(0.15) { "NotAction" } else { "Action" }] = actions;
    if with_resource {
        let resources = one_or_many(rng, |r| resource_pattern(r, t));
        s[if rng.gen_bool(0.12) { "NotResource" } else { "Resource" }] = resources;
    }
    if let Some(c) = conditions(rng, t) {
        s["Condition"] = c;
    }
    s
}

/// A 2012-10-17 document; a Sid already used in it is dropped, since AWS refuses duplicates.
fn document(mut statements: Vec<Value>) -> Value {
    let mut seen = std::collections::HashSet::new();
    for s in &mut statements {
        if let Some(sid) = s.get("Sid").and_then(Value::as_str).map(str::to_owned) {
            if !seen.insert(sid) {
                s.as_object_mut().map(|m| m.remove("Sid"));
            }
        }
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

fn identity_like(rng: &mut StdRng, t: &Target, max_statements: usize, allow_bias: f64) -> Value {
    let n = rng.gen_range(1..=max_statements);
    let mut statements: Vec<Value> = (0..n).map(|_| statement(rng, t, allow_bias, true)).collect();
    // Aim an Allow at the request often enough that allowed decisions are common.
    if rng.gen_bool(0.5) {
        let mut s = json!({ "Effect": "Allow", "Action": recase(rng, t.action), "Resource": "*" });
        if rng.gen_bool(0.5) {
            s["Resource"] = Value::from(t.resource.clone());
        }
        statements.insert(rng.gen_range(0..=statements.len()), s);
    }
    document(statements)
}

/// An AWS principal value aimed at (or near) the request's principal.
fn principal_value(rng: &mut StdRng, t: &Target, session_exact: bool) -> Value {
    let acct = t.principal_account;
    let mut pool = vec![
        json!({ "AWS": acct }),
        json!({ "AWS": format!("arn:aws:iam::{acct}:root") }),
        json!({ "AWS": C }),
        json!({ "AWS": format!("arn:aws:iam::{acct}:role/{}", pick(rng, &ROLES)) }),
        json!({ "AWS": format!("arn:aws:iam::{acct}:user/{}", pick(rng, &USERS)) }),
        json!({ "Service": pick(rng, &SERVICES) }),
        json!("*"),
        json!({ "AWS": "*" }),
        json!({ "AWS": [format!("arn:aws:iam::{C}:root"), format!("arn:aws:iam::{acct}:role/{}", pick(rng, &ROLES))] }),
        // A bare ARN string, read as `{"AWS": ...}`.
        json!(format!("arn:aws:iam::{acct}:role/{}", pick(rng, &ROLES))),
        json!(format!("arn:aws:iam::{acct}:root")),
    ];
    match t.kind {
        Kind::Session | Kind::Role => {
            pool.push(json!({ "AWS": format!("arn:aws:iam::{acct}:role/{}", t.name) }));
            pool.push(json!({ "AWS": format!("arn:aws:iam::{acct}:role/{}", t.name) }));
        }
        Kind::User | Kind::FederatedUser => pool.push(json!({ "AWS": format!("arn:aws:iam::{acct}:user/{}", t.name) })),
        Kind::Service => pool.push(json!({ "Service": t.principal })),
        Kind::Anonymous => {}
    }
    if session_exact && !matches!(t.kind, Kind::Service | Kind::Anonymous) {
        pool.push(json!({ "AWS": t.principal }));
    }
    pool.choose(rng).cloned().unwrap_or(json!("*"))
}

fn resource_policy(rng: &mut StdRng, t: &Target, session_exact: bool) -> Value {
    let trust = t.scenario == Scenario::AssumeRole;
    let n = rng.gen_range(1..=3);
    let mut statements = Vec::new();
    for _ in 0..n {
        let mut s = statement(rng, t, 0.75, !trust);
        if s["Effect"] == "Deny" && rng.gen_bool(0.3) {
            // NotPrincipal only with Deny, as AWS recommends.
            let excluded = principal_value(rng, t, session_exact);
            s["NotPrincipal"] = if excluded == json!("*") { json!({ "AWS": C }) } else { excluded };
        } else {
            s["Principal"] = principal_value(rng, t, session_exact);
        }
        statements.push(s);
    }
    if rng.gen_bool(0.5) {
        let mut s =
            json!({ "Effect": "Allow", "Principal": principal_value(rng, t, session_exact), "Action": t.action });
        if !trust {
            s["Resource"] = Value::from(t.resource.clone());
        }
        statements.push(s);
    }
    document(statements)
}

fn scp_levels(rng: &mut StdRng, t: &Target) -> Value {
    let levels = rng.gen_range(1..=3);
    let mut out = Vec::new();
    for _ in 0..levels {
        let mut policies = Vec::new();
        if rng.gen_bool(0.8) {
            policies.push(document(vec![json!({ "Effect": "Allow", "Action": "*", "Resource": "*" })]));
        }
        if rng.gen_bool(0.6) {
            policies.push(identity_like(rng, t, 2, 0.5));
        }
        out.push(Value::from(policies));
    }
    Value::from(out)
}

fn rcp_levels(rng: &mut StdRng, t: &Target) -> Value {
    let levels = rng.gen_range(1..=2);
    let mut out = Vec::new();
    for _ in 0..levels {
        let mut policies = Vec::new();
        if rng.gen_bool(0.7) {
            // The RCP grammar: Deny only, `"Principal": "*"`, service-prefixed actions (no `*`, no NotAction).
            let mut actions = Vec::new();
            while actions.is_empty() {
                actions = (0..rng.gen_range(1..=2)).map(|_| action_pattern(rng, t)).filter(|a| a != "*").collect();
            }
            let mut s = json!({ "Effect": "Deny", "Principal": "*", "Action": actions, "Resource": "*" });
            if let Some(c) = conditions(rng, t) {
                s["Condition"] = c;
            }
            policies.push(document(vec![s]));
        }
        out.push(Value::from(policies));
    }
    Value::from(out)
}

fn context(rng: &mut StdRng, t: &Target) -> Value {
    let mut ctx = serde_json::Map::new();
    let optional: [(&str, &[&str]); 6] = [
        ("aws:SourceIp", &["10.1.2.3", "192.168.1.20", "2001:db8::1", "172.16.0.1"]),
        ("aws:SecureTransport", &["true", "false"]),
        ("aws:CurrentTime", &TIMES),
        ("aws:MultiFactorAuthAge", &["0", "300", "7200"]),
        ("aws:MultiFactorAuthPresent", &["true", "false"]),
        ("aws:PrincipalTag/team", &["data", "ops", "Data"]),
    ];
    for (key, pool) in optional {
        if rng.gen_bool(0.6) {
            ctx.insert(key.to_owned(), Value::from(pick(rng, pool)));
        }
    }
    let tags: Vec<&str> = ["env", "team", "cost"].into_iter().filter(|_| rng.gen_bool(0.5)).collect();
    if !tags.is_empty() && rng.gen_bool(0.6) {
        ctx.insert("aws:TagKeys".to_owned(), Value::from(tags));
    }
    // The global keys AWS fills itself: iam-simulate does not derive them, so give both the same values.
    let acct = t.principal_account;
    let (arn, kind) = match t.kind {
        Kind::Session | Kind::Role => (Some(format!("arn:aws:iam::{acct}:role/{}", t.name)), Some("AssumedRole")),
        Kind::User => (Some(t.principal.clone()), Some("User")),
        Kind::FederatedUser => (Some(t.principal.clone()), Some("FederatedUser")),
        Kind::Service | Kind::Anonymous => (None, None),
    };
    if let Some(arn) = arn {
        ctx.insert("aws:PrincipalArn".to_owned(), Value::from(arn));
        ctx.insert("aws:PrincipalAccount".to_owned(), Value::from(acct));
    }
    if let Some(kind) = kind {
        ctx.insert("aws:PrincipalType".to_owned(), Value::from(kind));
    }
    if t.kind == Kind::User {
        ctx.insert("aws:username".to_owned(), Value::from(t.name));
    }
    ctx.insert("aws:ResourceAccount".to_owned(), Value::from(t.resource_account));
    if t.kind != Kind::Anonymous {
        ctx.insert("aws:PrincipalIsAWSService".to_owned(), Value::from((t.kind == Kind::Service).to_string()));
    }
    if t.kind == Kind::Service {
        ctx.insert("aws:PrincipalServiceName".to_owned(), Value::from(t.principal.clone()));
    }
    Value::Object(ctx)
}

fn case(rng: &mut StdRng) -> Value {
    let t = target(rng);
    if t.scenario == Scenario::UnityCatalog {
        return unity_catalog_case(rng, &t);
    }
    let mut c = json!({
        "principal": t.principal,
        "action": recase(rng, t.action),
        "resource": t.resource,
        "resource_account": t.resource_account,
        "context": context(rng, &t),
    });
    let service = matches!(t.kind, Kind::Service | Kind::Anonymous);
    let has_session = !service && t.kind != Kind::User && rng.gen_bool(0.15);
    if !service {
        let n = rng.gen_range(0..=2);
        c["identity_policies"] = Value::from((0..n).map(|_| identity_like(rng, &t, 4, 0.75)).collect::<Vec<_>>());
        if rng.gen_bool(0.2) {
            c["permission_boundaries"] = json!([identity_like(rng, &t, 3, 0.8)]);
        }
        if has_session {
            c["session_policy"] = identity_like(rng, &t, 2, 0.85);
        }
        if rng.gen_bool(0.25) {
            c["scps"] = scp_levels(rng, &t);
        }
        if rng.gen_bool(0.15) && t.scenario != Scenario::PassRole {
            c["rcps"] = rcp_levels(rng, &t);
        }
    }
    let resource_chance = match t.scenario {
        Scenario::AssumeRole => 1.0,
        Scenario::Object | Scenario::Bucket => 0.75,
        Scenario::Kms => 0.85,
        Scenario::PassRole | Scenario::CallerIdentity | Scenario::UnityCatalog => 0.0,
    };
    if rng.gen_bool(resource_chance) {
        c["resource_policy"] = resource_policy(rng, &t, !has_session);
    }
    if t.kind == Kind::Anonymous {
        // See the module comment: iam-simulate does not let `*` allow an anonymous request.
        if let Some(statements) = c.get_mut("resource_policy").and_then(|p| p["Statement"].as_array_mut()) {
            for s in statements.iter_mut().filter(|s| s["Effect"] == "Allow") {
                if s["Principal"] == json!("*") || s["Principal"] == json!({ "AWS": "*" }) {
                    s["Principal"] = json!({ "AWS": B });
                }
            }
        }
    }
    if t.wild {
        // See the module comment: a Deny applies to a wildcard request when it meets it
        // (docs/), in iam-simulate only when it covers it; these Denies cover it.
        let cover = Value::from(pick(rng, &["*".to_owned(), t.resource.clone()]));
        let plain = Value::from(format!("arn:aws:s3:::{}/data/*", t.bucket));
        let not_cover = rng.gen_bool(0.5);
        for_each_statement(&mut c, &mut |s| {
            for key in ["Resource", "NotResource"] {
                if let Some(v) = s.get_mut(key) {
                    let entries: Vec<&mut Value> = match v {
                        Value::Array(list) => list.iter_mut().collect(),
                        other => vec![other],
                    };
                    for r in entries {
                        if r.as_str().is_some_and(|r| r.contains("${") || r.contains('?')) {
                            *r = plain.clone();
                        }
                    }
                }
            }
            if s["Effect"] == "Deny" {
                if let Some(map) = s.as_object_mut() {
                    map.remove("NotResource");
                    map.insert("Resource".to_owned(), cover.clone());
                }
            } else if let Some(not) = s.get_mut("NotResource") {
                // An Allow's NotResource either covers the request (the statement applies to none
                // of it) or misses it (applies to all of it): see the module comment.
                *not = if not_cover { cover.clone() } else { Value::from("arn:aws:s3:::another-bucket/*") };
            }
        });
    }
    c
}

/// Calls `f` on every statement of every policy of the case.
fn for_each_statement(c: &mut Value, f: &mut dyn FnMut(&mut Value)) {
    let mut docs: Vec<&mut Value> = Vec::new();
    let Some(map) = c.as_object_mut() else { return };
    for (key, value) in map.iter_mut() {
        match key.as_str() {
            "identity_policies" | "permission_boundaries" => docs.extend(value.as_array_mut().into_iter().flatten()),
            "resource_policy" | "session_policy" => docs.push(value),
            "scps" | "rcps" => docs.extend(
                value.as_array_mut().into_iter().flatten().flat_map(|l| l.as_array_mut().into_iter().flatten()),
            ),
            _ => {}
        }
    }
    for doc in docs {
        for s in doc["Statement"].as_array_mut().into_iter().flatten() {
            f(s);
        }
    }
}

const UC_MASTER: &str = "arn:aws:iam::414351767826:role/unity-catalog-prod-UCMasterRole-14S5ZJVKOTYTL";
const UC_ROLE: &str = "uc-lake-access";

/// The Unity Catalog trust policy of docs/, asked by the master role or by the role itself.
fn unity_catalog_case(rng: &mut StdRng, t: &Target) -> Value {
    let own = format!("arn:aws:iam::{B}:role/{UC_ROLE}");
    let (principal, principal_arn, account) = if rng.gen_bool(0.5) {
        (
            format!("arn:aws:sts::414351767826:assumed-role/{}/s", UC_MASTER.rsplit('/').next().unwrap_or_default()),
            UC_MASTER.to_owned(),
            "414351767826",
        )
    } else {
        let role = pick(rng, &[UC_ROLE, "Reader"]);
        (format!("arn:aws:sts::{B}:assumed-role/{role}/s"), format!("arn:aws:iam::{B}:role/{role}"), B)
    };
    let external = "0d26a7b5-1c1a-4c1f-9f43-2a4c5b9c1e11";
    // The documents xacct writes for a Unity Catalog owner: its trust, and its permission policy.
    let owner = policy_model::unity::UnityOwner {
        account_id: policy_model::AccountId::new(B).unwrap(),
        role: policy_model::RoleName::new(UC_ROLE).unwrap(),
        storage_credential: "uc_lake_access".to_owned(),
        buckets: vec![policy_model::unity::UnityBucket {
            name: policy_model::BucketName::new("curated-lake").unwrap(),
            access: policy_model::Access::ReadOnly,
            kms_key_arn: None,
            external_location: "curated_lake".to_owned(),
            prefix: String::new(),
            grants: Vec::new(),
        }],
    };
    let built = policy_model::unity::trust_policy(&owner, UC_MASTER, Some(external));
    let mut trust: Vec<Value> = built.statement.iter().map(|s| serde_json::to_value(s).unwrap()).collect();
    if rng.gen_bool(0.2) {
        trust.push(statement(rng, t, 0.3, false));
        if let Some(s) = trust.last_mut() {
            s["Principal"] = principal_value(rng, t, true);
        }
    }
    let mut context = json!({
        "aws:PrincipalArn": principal_arn,
        "aws:PrincipalAccount": account,
        "aws:PrincipalType": "AssumedRole",
        "aws:ResourceAccount": B,
        "aws:PrincipalIsAWSService": "false",
    });
    match rng.gen_range(0..4) {
        0 => {}
        1 => context["sts:ExternalId"] = json!("another-id"),
        _ => context["sts:ExternalId"] = json!(external),
    }
    let identity = match rng.gen_range(0..5) {
        0 => Vec::new(),
        1 => vec![serde_json::to_value(policy_model::unity::permission_policy(&owner)).unwrap()],
        _ => {
            let resource = pick(rng, &[own.clone(), "*".to_owned(), format!("arn:aws:iam::{B}:role/other")]);
            vec![document(vec![json!({ "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": resource })])]
        }
    };
    json!({
        "principal": principal,
        "action": "sts:AssumeRole",
        "resource": own,
        "context": context,
        "identity_policies": identity,
        "resource_policy": document(trust),
    })
}

/// The rules the generator must exercise: anonymous principals, wildcard request resources,
/// the always-allowed call, bare-ARN principals, the root as a principal element and the
/// Unity Catalog trust.
const SHAPES: [&str; 6] = [
    "anonymous",
    "wildcard resource",
    "GetCallerIdentity",
    "bare ARN principal",
    "account root principal",
    "Unity Catalog trust",
];

fn shapes(c: &Value) -> Vec<&'static str> {
    let mut out = Vec::new();
    if c["principal"] == "anonymous" {
        out.push(SHAPES[0]);
    }
    if c["resource"].as_str().is_some_and(|r| r != "*" && r.contains('*')) {
        out.push(SHAPES[1]);
    }
    if c["action"].as_str().is_some_and(|a| a.eq_ignore_ascii_case("sts:GetCallerIdentity")) {
        out.push(SHAPES[2]);
    }
    let principals: Vec<&Value> = c["resource_policy"]["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| [&s["Principal"], &s["NotPrincipal"]])
        .collect();
    if principals.iter().any(|p| p.as_str().is_some_and(|p| p.starts_with("arn:"))) {
        out.push(SHAPES[3]);
    }
    if principals.iter().any(|p| p.to_string().contains(":root")) {
        out.push(SHAPES[4]);
    }
    if c["resource"].as_str().is_some_and(|r| r.ends_with(UC_ROLE)) {
        out.push(SHAPES[5]);
    }
    out
}

fn oracle_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("oracle")
}

/// Installs iam-simulate from the lock file when `node_modules` is missing.
fn ensure_installed(dir: &Path) -> Result<(), String> {
    if dir.join("node_modules/@cloud-copilot/iam-simulate").exists() {
        return Ok(());
    }
    let verb = if dir.join("package-lock.json").exists() { "ci" } else { "install" };
    let status = Command::new("npm")
        .args([verb, "--no-audit", "--no-fund"])
        .current_dir(dir)
        .status()
        .map_err(|e| format!("`npm {verb}` in {} could not start: {e}; install Node 20 and npm", dir.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`npm {verb}` in {} failed: {status}", dir.display()))
    }
}

/// Decides the cases with iam-simulate (`run.js`): one `{"decision"}` or `{"error"}` per case.
fn run_oracle(dir: &Path, cases: &[Value]) -> Result<Vec<Value>, String> {
    let mut child = Command::new("node")
        .arg("run.js")
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("node could not start: {e}; install Node 20"))?;
    let input = serde_json::to_vec(cases).map_err(|e| e.to_string())?;
    let mut stdin = child.stdin.take().ok_or("node has no stdin")?;
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    writer.join().map_err(|_| "writing to node failed")?.map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!("node run.js failed: {}", output.status));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("node run.js printed no JSON array: {e}"))
}

#[test]
fn decisions_match_iam_simulate() {
    let total: usize = std::env::var("XACCT_ORACLE_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(5_000);
    let seed: u64 = std::env::var("XACCT_ORACLE_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(20_261_127);
    let dir = oracle_dir();
    ensure_installed(&dir).unwrap();

    let mut rng = StdRng::seed_from_u64(seed);
    let mut mismatches = Vec::new();
    let mut tally = std::collections::BTreeMap::<String, usize>::new();
    let mut covered = std::collections::BTreeMap::<&str, usize>::new();
    let mut done = 0;
    while done < total {
        let n = (total - done).min(5_000);
        let cases: Vec<Value> = (0..n).map(|_| case(&mut rng)).collect();
        let theirs = run_oracle(&dir, &cases).unwrap();
        assert_eq!(theirs.len(), cases.len(), "the oracle answered {} of {} cases", theirs.len(), cases.len());
        let batch = serde_json::to_string(&cases).unwrap();
        let ours: Vec<Value> = serde_json::from_str(&policy_model::simulate::simulate_json(&batch).unwrap()).unwrap();
        for (i, ((c, their), ours)) in cases.iter().zip(&theirs).zip(ours).enumerate() {
            for shape in shapes(c) {
                *covered.entry(shape).or_default() += 1;
            }
            let our_decision = ours.get("decision").cloned().unwrap_or(Value::Null);
            *tally.entry(our_decision.as_str().unwrap_or("error").to_owned()).or_default() += 1;
            if their.get("decision").is_none() || our_decision != their["decision"] {
                mismatches.push((done + i, c.clone(), ours, their.clone()));
            }
        }
        done += n;
    }
    eprintln!("oracle: {total} cases (seed {seed}), {} mismatches; our decisions: {tally:?}", mismatches.len());
    let oracle_errors = mismatches.iter().filter(|m| m.3.get("error").is_some()).count();
    eprintln!("of which iam-simulate refused {oracle_errors} cases as invalid");
    eprintln!("shapes covered: {covered:?}");
    if total >= 5_000 {
        for shape in SHAPES {
            assert!(covered.get(shape).copied().unwrap_or(0) >= 10, "the generator made fewer than 10 `{shape}` cases");
        }
    }
    if let Ok(path) = std::env::var("XACCT_ORACLE_MISMATCHES") {
        let lines: Vec<String> = mismatches
            .iter()
            .map(|(i, c, ours, theirs)| json!({ "case": i, "input": c, "ours": ours, "theirs": theirs }).to_string())
            .collect();
        std::fs::write(&path, lines.join("\n")).unwrap();
    }
    for (i, c, ours, theirs) in
        mismatches.iter().filter(|m| m.3.get("error").is_none()).chain(mismatches.iter()).take(5)
    {
        eprintln!("case {i}:\n{}\nours: {ours}\niam-simulate: {theirs}\n", serde_json::to_string(c).unwrap());
    }
    assert!(mismatches.is_empty(), "{} of {total} cases decided differently (first ones above)", mismatches.len());
}

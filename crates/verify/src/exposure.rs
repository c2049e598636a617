//! Who else gets in: every principal beyond the chain that a bucket policy, a bucket-owner role's
//! trust policy or a KMS key policy lets in.
//!
//! The findings are evaluated, not pattern-matched. The candidate principals come from each
//! Allow statement's `Principal` element (and from the `aws:PrincipalArn` and
//! `aws:PrincipalAccount` conditions of a statement that allows `*`), plus the anonymous
//! principal and one stranger account for `*` and `NotPrincipal`. Each candidate is evaluated
//! with `policy_model::eval` on the resource with wildcards (`arn:aws:s3:::b` and
//! `arn:aws:s3:::b/*`, the role, the key), for every action of a fixed catalogue and every action
//! the document names, with a permissive identity policy of its own (a foreign principal grants
//! itself what it likes). So:
//!
//! - a statement whose conditions can never hold for that principal (`aws:PrincipalArn`,
//!   `aws:PrincipalAccount` naming someone else) is not a finding: the evaluator fills those keys
//!   from the principal and the request context never overrides them;
//! - conditions the caller controls (`aws:SecureTransport`, `aws:SourceIp`, `s3:prefix`, tags)
//!   are satisfied by a witness context built from the statement's own conditions;
//! - a `Deny` that removes the access removes the finding: the whole document decides;
//! - `*` that holds only with `aws:PrincipalOrgID` or `aws:PrincipalOrgPaths` is an
//!   [`PrincipalKind::Organization`] grant, not a public one.
//!
//! The chain's own principals (the instance role, the cross-account role and each owner's role)
//! and every principal of the resource owner's own account are never findings.
//!
//! [`exposure`] takes a [`State`], however it was obtained: offline from the config's documents
//! or live from the deployed ones, so both give the same findings on the same documents.
//!
//! ```
//! use verify::{corpus, exposure, OfflineInputs, State};
//! use policy_model::PolicyDocument;
//!
//! let flow = corpus::flow("arn:aws:kms:us-east-1:222222222222:key/data");
//! let mut inputs = OfflineInputs::default();
//! let partner = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Partner","Effect":"Allow",
//!   "Principal":{"AWS":"arn:aws:iam::444444444444:root"},"Action":"s3:GetObject",
//!   "Resource":"arn:aws:s3:::xacct-verify-data/*"}]}"#;
//! inputs.bucket_policies.insert("xacct-verify-data".into(), PolicyDocument::from_json(partner).unwrap());
//! let state = State::offline(&flow, &inputs);
//! let report = exposure::exposure(&flow, &state, &[]);
//! assert!(!report.ok);
//! assert_eq!(report.findings[0].principal, "arn:aws:iam::444444444444:root");
//! assert_eq!(report.findings[0].actions, ["s3:GetObject"]);
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use policy_model::chain;
use policy_model::document::{Condition, OneOrMany, Principal, Statement};
use policy_model::eval::{self, CompiledPolicy, Context, Outcome, PolicyKind, PolicySet, Request, Value, ANONYMOUS};
use policy_model::{AccountId, Flow, PolicyDocument};
use serde::Serialize;

use crate::state::State;

pub mod corpus;

/// What kind of resource a finding is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceKind {
    /// A bucket policy.
    Bucket,
    /// The trust policy of a bucket-owner role.
    Trust,
    /// A KMS key policy.
    Kms,
}

impl ResourceKind {
    /// `bucket`, `trust` or `kms`.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Bucket => "bucket",
            ResourceKind::Trust => "trust",
            ResourceKind::Kms => "kms",
        }
    }
}

/// Who gets in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalKind {
    /// Anyone: anonymous requests, or `*` with no condition that limits it to known accounts.
    Public,
    /// Another account: its root, which delegates to every principal of it. Also a
    /// `CanonicalUser` (an account's S3 identity).
    Account,
    /// A role of another account.
    Role,
    /// A user of another account, or a federated identity provider's users.
    User,
    /// An AWS service principal.
    Service,
    /// Every account of an AWS organization (or of some of its units).
    Organization,
}

impl PrincipalKind {
    /// `public`, `account`, `role`, `user`, `service` or `organization`.
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::Public => "public",
            PrincipalKind::Account => "account",
            PrincipalKind::Role => "role",
            PrincipalKind::User => "user",
            PrincipalKind::Service => "service",
            PrincipalKind::Organization => "organization",
        }
    }
}

/// One principal beyond the chain that one statement lets in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The bucket, role or key ARN.
    pub resource: String,
    /// Which policy: bucket, trust or kms.
    pub kind: ResourceKind,
    /// The principal as the statement names it: an ARN, an account root ARN, a service, `*`, or
    /// for an organization grant the organization ID or path.
    pub principal: String,
    /// What kind of principal it is.
    pub principal_kind: PrincipalKind,
    /// The actions it is allowed, sorted.
    pub actions: Vec<String>,
    /// The statement's Sid, or its 0-based index when it has none.
    pub statement: String,
    /// The statement's conditions, `Operator key = value; …`, or empty.
    pub conditions: String,
    /// Whether `[exposure] accept` lists the principal.
    pub accepted: bool,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} ({}) may {} on {} by statement `{}`",
            self.principal_kind.as_str(),
            self.principal,
            self.kind.as_str(),
            self.actions.join(", "),
            self.resource,
            self.statement
        )?;
        if !self.conditions.is_empty() {
            write!(f, " when {}", self.conditions)?;
        }
        Ok(())
    }
}

/// A resource whose policy could not be examined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unchecked {
    /// The bucket, role or key ARN.
    pub resource: String,
    /// Why: the read failed, or the document does not compile.
    pub why: String,
}

/// Every finding on the chain's resources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exposure {
    /// No finding beyond the accepted ones, and every resource was examined.
    pub ok: bool,
    /// The findings, by resource, then statement, then principal.
    pub findings: Vec<Finding>,
    /// Resources that could not be examined; any makes `ok` false.
    pub unchecked: Vec<Unchecked>,
}

impl Exposure {
    /// 0 when `ok`, else 1: the exit code of `xacct exposure`.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.ok)
    }
}

/// The actions asked of each kind of resource, with whether they are on the bucket (`true`) or
/// its objects. Actions a document names exactly are asked too.
const BUCKET_ACTIONS: &[&str] = &[
    "s3:ListBucket",
    "s3:ListBucketVersions",
    "s3:ListBucketMultipartUploads",
    "s3:GetBucketLocation",
    "s3:GetBucketPolicy",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:GetBucketAcl",
    "s3:PutBucketAcl",
    "s3:PutBucketOwnershipControls",
    "s3:PutEncryptionConfiguration",
    "s3:PutLifecycleConfiguration",
    "s3:DeleteBucket",
];
const OBJECT_ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:GetObjectAcl",
    "s3:PutObject",
    "s3:PutObjectAcl",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:AbortMultipartUpload",
    "s3:RestoreObject",
    "s3:PutObjectTagging",
];
const TRUST_ACTIONS: &[&str] = &["sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML"];
const KMS_ACTIONS: &[&str] = &[
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:DescribeKey",
    "kms:CreateGrant",
    "kms:PutKeyPolicy",
    "kms:DisableKey",
    "kms:ScheduleKeyDeletion",
];

/// The name of the role a candidate account is probed as (the account root cannot assume roles).
const PROBE_ROLE: &str = "xacct-exposure-probe";

/// Keys the evaluator derives from the principal and the resource: a witness never sets them.
const FIXED_KEYS: &[&str] = &[
    "aws:principalarn",
    "aws:principalaccount",
    "aws:principaltype",
    "aws:userid",
    "aws:username",
    "aws:principalisawsservice",
    "aws:principalservicename",
    "aws:resourceaccount",
];
const ORG_KEYS: &[&str] = &["aws:principalorgid", "aws:principalorgpaths"];

/// The findings on every bucket, bucket-owner role trust policy and KMS key of the flow.
/// `accept` lists principals that are known and wanted (ARNs, account IDs, organization IDs or
/// paths, service names, `*`); their findings are kept with `accepted` set.
pub fn exposure(flow: &Flow, state: &State, accept: &[String]) -> Exposure {
    let deployment = flow.deployment();
    let mut chain_principals: Vec<String> = deployment.map(|d| d.instance_role_arn()).into_iter().collect();
    chain_principals.extend(deployment.and_then(|d| d.cross_account_role_arn()));
    chain_principals.extend(flow.owners().iter().map(|o| o.role_arn()));
    // In the Unity Catalog mode the chain starts at Unity Catalog's master role, the one the
    // storage credential names (or the config's), and reaches each owner's role.
    if !flow.unity_owners().is_empty() {
        chain_principals.push(flow.uc_master_role_arn().to_owned());
        chain_principals.extend(state.unity.values().filter_map(|f| f.master_role_arn.clone()));
        chain_principals.extend(flow.unity_owners().iter().map(|o| o.role_arn()));
    }
    let stranger = stranger_account(flow, state);
    let accept: BTreeSet<String> = accept.iter().map(|a| normalize(a)).collect();

    // Each owner's role, buckets and keys, in either access mode.
    let mut owners: Vec<(&str, String, Vec<&policy_model::BucketName>, Vec<String>)> = Vec::new();
    for owner in flow.owners() {
        let keys = chain::key_accesses(owner).into_iter().map(|(key, _)| key.as_str().to_owned()).collect();
        owners.push((
            owner.account_id.as_str(),
            owner.role_arn(),
            owner.buckets.iter().map(|b| &b.name).collect(),
            keys,
        ));
    }
    for owner in flow.unity_owners() {
        let keys =
            policy_model::unity::key_accesses(owner).into_iter().map(|(key, _)| key.as_str().to_owned()).collect();
        owners.push((
            owner.account_id.as_str(),
            owner.role_arn(),
            owner.buckets.iter().map(|b| &b.name).collect(),
            keys,
        ));
    }

    let mut findings = Vec::new();
    let mut unchecked = Vec::new();
    for (account, role, buckets, keys) in owners {
        let subject =
            |resource: String, kind| Subject { resource, kind, account, chain: &chain_principals, stranger: &stranger };
        match (state.unreadable.get(&role), state.roles.get(&role)) {
            (Some(why), _) => unchecked.push(Unchecked { resource: role.clone(), why: why.clone() }),
            (None, Some(r)) => {
                subject(role.clone(), ResourceKind::Trust).examine(&r.trust, &mut findings, &mut unchecked)
            }
            (None, None) => {}
        }
        for bucket in buckets {
            let name = bucket.as_str();
            match (state.unreadable.get(name), state.buckets.get(name).and_then(|b| b.policy.as_ref())) {
                (Some(why), _) => unchecked.push(Unchecked { resource: bucket.arn(), why: why.clone() }),
                (None, Some(policy)) => {
                    subject(bucket.arn(), ResourceKind::Bucket).examine(policy, &mut findings, &mut unchecked)
                }
                (None, None) => {}
            }
        }
        for key in keys {
            match (state.unreadable.get(&key), state.keys.get(&key)) {
                (Some(why), _) => unchecked.push(Unchecked { resource: key.clone(), why: why.clone() }),
                (None, Some(policy)) => {
                    subject(key.clone(), ResourceKind::Kms).examine(policy, &mut findings, &mut unchecked)
                }
                (None, None) => {}
            }
        }
    }
    for f in &mut findings {
        f.accepted = accept.contains(&normalize(&f.principal))
            || (f.principal_kind == PrincipalKind::Public && accept.contains("*"));
    }
    let ok = unchecked.is_empty() && findings.iter().all(|f| f.accepted);
    Exposure { ok, findings, unchecked }
}

/// An accept entry or a principal in one form: an account ID becomes its root ARN.
fn normalize(principal: &str) -> String {
    let p = principal.trim();
    if AccountId::is_valid(p) {
        format!("arn:aws:iam::{p}:root")
    } else {
        p.to_owned()
    }
}

/// An account no document and no part of the flow names.
fn stranger_account(flow: &Flow, state: &State) -> String {
    let mut text = serde_json::to_string(flow).unwrap_or_default();
    for role in state.roles.values() {
        text.push_str(&role.trust.to_json());
    }
    for bucket in state.buckets.values() {
        text.extend(bucket.policy.as_ref().map(PolicyDocument::to_json));
    }
    for key in state.keys.values() {
        text.push_str(&key.to_json());
    }
    (0..1000u64)
        .map(|i| format!("{:012}", 999_999_999_999 - i * 1_111))
        .find(|a| !text.contains(a.as_str()))
        .unwrap_or_else(|| "999999999999".to_owned())
}

/// One resource and what its findings must leave out.
struct Subject<'a> {
    resource: String,
    kind: ResourceKind,
    /// The resource owner's account: its principals are not findings.
    account: &'a str,
    chain: &'a [String],
    stranger: &'a str,
}

/// One request asked of a resource, for one Allow statement.
struct Ask<'a> {
    statement: &'a Statement,
    /// The statement's Sid, or its index.
    id: &'a str,
    action: &'a str,
    resource: &'a str,
}

/// The resource's compiled policy, and the permissive identity policy every candidate holds.
struct Policies<'p> {
    resource: &'p CompiledPolicy,
    own: &'p CompiledPolicy,
}

/// A principal to evaluate, as the statement names it.
struct Candidate {
    display: String,
    kind: PrincipalKind,
    /// The principals evaluated for it: anonymous and the stranger stand for `*`.
    probes: Vec<String>,
    /// `*` or `NotPrincipal`: an organization condition makes it an organization grant.
    public: bool,
}

impl Subject<'_> {
    /// The (action, resource) pairs asked of this resource: the catalogue, and every action
    /// the document names without a wildcard.
    fn requests(&self, doc: &PolicyDocument) -> Vec<(String, String)> {
        let (base, prefix): (Vec<&str>, &str) = match self.kind {
            ResourceKind::Bucket => (BUCKET_ACTIONS.iter().chain(OBJECT_ACTIONS).copied().collect(), "s3:"),
            ResourceKind::Trust => (TRUST_ACTIONS.to_vec(), "sts:"),
            ResourceKind::Kms => (KMS_ACTIONS.to_vec(), "kms:"),
        };
        let mut actions: Vec<String> = base.iter().map(|a| (*a).to_owned()).collect();
        for action in doc.statement.iter().flat_map(|s| s.action.iter().flat_map(OneOrMany::iter)) {
            let folded = action.to_ascii_lowercase();
            if !action.contains(['*', '?'])
                && folded.starts_with(prefix)
                && !actions.iter().any(|a| a.eq_ignore_ascii_case(action))
            {
                actions.push(action.clone());
            }
        }
        let objects = format!("{}/*", self.resource);
        actions
            .into_iter()
            .map(|action| {
                let resource = match self.kind {
                    ResourceKind::Bucket if on_objects(&action) => objects.clone(),
                    _ => self.resource.clone(),
                };
                (action, resource)
            })
            .collect()
    }

    fn examine(&self, doc: &PolicyDocument, findings: &mut Vec<Finding>, unchecked: &mut Vec<Unchecked>) {
        let policy = match CompiledPolicy::compile(doc) {
            Ok(p) => p.labeled(format!("{} policy of {}", self.kind.as_str(), self.resource)),
            Err(e) => {
                unchecked.push(Unchecked {
                    resource: self.resource.clone(),
                    why: format!("the policy does not compile: {e}"),
                });
                return;
            }
        };
        let own = match PolicyDocument::from_json(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        )
        .ok()
        .and_then(|d| CompiledPolicy::compile(&d).ok())
        {
            Some(p) => p.labeled("the candidate's own identity policy"),
            None => return,
        };
        let policies = Policies { resource: &policy, own: &own };
        let requests = self.requests(doc);
        // (statement, principal, kind) to the actions allowed, keeping the statement's order.
        let mut found: BTreeMap<(usize, String, PrincipalKind), (BTreeSet<String>, String)> = BTreeMap::new();
        for (index, statement) in doc.statement.iter().enumerate() {
            if statement.effect != "Allow" {
                continue;
            }
            let id = statement.sid.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| index.to_string());
            for candidate in self.candidates(statement) {
                for (action, resource) in &requests {
                    let ask = Ask { statement, id: &id, action, resource };
                    let Some((kind, display)) = self.allowed(&candidate, &ask, &policies) else { continue };
                    found
                        .entry((index, display, kind))
                        .or_insert_with(|| (BTreeSet::new(), id.clone()))
                        .0
                        .insert(action.clone());
                }
            }
        }
        for ((index, principal, principal_kind), (actions, statement)) in found {
            let conditions =
                doc.statement.get(index).and_then(|s| s.condition.as_ref()).map(summary).unwrap_or_default();
            findings.push(Finding {
                resource: self.resource.clone(),
                kind: self.kind,
                principal,
                principal_kind,
                actions: actions.into_iter().collect(),
                statement,
                conditions,
                accepted: false,
            });
        }
    }

    /// Whether `candidate` is allowed `action` on `resource` through statement `id`: the kind and
    /// the principal to report.
    fn allowed(
        &self,
        candidate: &Candidate,
        ask: &Ask<'_>,
        policies: &Policies<'_>,
    ) -> Option<(PrincipalKind, String)> {
        let condition = ask.statement.condition.as_ref();
        let plain = [Context::new(), condition.map(|c| witness(c, false)).unwrap_or_default()];
        for probe in &candidate.probes {
            let by = |context: &Context| self.decides(probe, ask, context.clone(), policies);
            if plain.iter().any(by) {
                return Some((candidate.kind, candidate.display.clone()));
            }
            if let Some(c) = condition {
                if by(&witness(c, true)) {
                    return Some(match (candidate.public, org_display(c)) {
                        (true, Some(org)) => (PrincipalKind::Organization, org),
                        _ => (candidate.kind, candidate.display.clone()),
                    });
                }
            }
        }
        None
    }

    /// Whether `probe` is allowed the request under `context`, with `ask`'s statement among
    /// the resource statements that allow it.
    fn decides(&self, probe: &str, ask: &Ask<'_>, context: Context, policies: &Policies<'_>) -> bool {
        let Ok(request) = Request::new(probe, ask.action, ask.resource, Some(self.account), context) else {
            return false;
        };
        let set = PolicySet { identity: vec![policies.own], resource: Some(policies.resource), ..PolicySet::default() };
        let decision = eval::evaluate(&request, &set);
        decision.decision == Outcome::Allowed
            && decision.matched.iter().any(|m| m.kind == PolicyKind::Resource && m.statement == ask.id)
    }

    /// The principals an Allow statement names, less the chain's own and the owner's account.
    fn candidates(&self, statement: &Statement) -> Vec<Candidate> {
        let mut out = Vec::new();
        let public = || Candidate {
            display: "*".to_owned(),
            kind: PrincipalKind::Public,
            probes: self.public_probes(),
            public: true,
        };
        match (&statement.principal, &statement.not_principal) {
            (_, Some(_)) => out.push(public()),
            (Some(Principal::Star(s)), None) if s == "*" => out.push(public()),
            (Some(Principal::Star(s)), None) => out.extend(self.aws_candidate(s)),
            (Some(Principal::Map(map)), None) => {
                for (kind, values) in map {
                    for value in values.iter() {
                        match kind.as_str() {
                            "AWS" if value == "*" => out.push(public()),
                            "AWS" => out.extend(self.aws_candidate(value)),
                            "Service" if !self.service_limited_to_owner(statement) => out.push(Candidate {
                                display: value.clone(),
                                kind: PrincipalKind::Service,
                                probes: vec![value.clone()],
                                public: false,
                            }),
                            "Federated" => out.push(Candidate {
                                display: value.clone(),
                                kind: PrincipalKind::User,
                                probes: vec![value.clone()],
                                public: false,
                            }),
                            "CanonicalUser" => out.push(Candidate {
                                display: value.clone(),
                                kind: PrincipalKind::Account,
                                probes: vec![value.clone()],
                                public: false,
                            }),
                            _ => {}
                        }
                    }
                }
            }
            (None, None) => {}
        }
        // `*` narrowed by a condition on who the principal is: the named principals get in.
        if out.iter().any(|c| c.public) {
            for (operator, keys) in statement.condition.iter().flatten() {
                if operator.to_ascii_lowercase().contains("not") {
                    continue;
                }
                for (key, values) in keys {
                    let key = key.to_ascii_lowercase();
                    if key != "aws:principalarn" && key != "aws:principalaccount" {
                        continue;
                    }
                    for value in values.iter().filter_map(serde_json::Value::as_str) {
                        out.extend(self.aws_candidate(value));
                    }
                }
            }
        }
        out
    }

    fn public_probes(&self) -> Vec<String> {
        let stranger = format!("arn:aws:iam::{}:role/{PROBE_ROLE}", self.stranger);
        match self.kind {
            // Only S3 takes unsigned requests.
            ResourceKind::Bucket => vec![ANONYMOUS.to_owned(), stranger],
            ResourceKind::Trust | ResourceKind::Kms => vec![stranger],
        }
    }

    /// An `AWS` principal value: an account, its root, a role, a user or a session.
    fn aws_candidate(&self, value: &str) -> Option<Candidate> {
        let value = value.trim();
        let parts: Vec<&str> = value.splitn(6, ':').collect();
        let (account, resource) = if AccountId::is_valid(value) {
            (value, "root")
        } else if parts.len() == 6 && parts[0] == "arn" {
            (parts[4], parts[5])
        } else {
            return None;
        };
        if account == self.account || self.chain.iter().any(|c| c.eq_ignore_ascii_case(value)) {
            return None;
        }
        if !AccountId::is_valid(account) {
            return None;
        }
        let concrete = |text: &str| text.replace(['*', '?'], "x");
        let (kind, probe) = if resource == "root" {
            (PrincipalKind::Account, format!("arn:aws:iam::{account}:role/{PROBE_ROLE}"))
        } else if resource.starts_with("role/") || resource.starts_with("assumed-role/") {
            (PrincipalKind::Role, concrete(value))
        } else if resource.starts_with("user/") || resource.starts_with("federated-user/") {
            (PrincipalKind::User, concrete(value))
        } else {
            return None;
        };
        Some(Candidate { display: value.to_owned(), kind, probes: vec![probe], public: false })
    }

    /// A service statement conditioned on `aws:SourceAccount` / `aws:SourceOwner` (or
    /// `aws:SourceArn`) naming only the owner's own account acts for the owner alone.
    fn service_limited_to_owner(&self, statement: &Statement) -> bool {
        statement.condition.iter().flatten().any(|(operator, keys)| {
            !operator.to_ascii_lowercase().contains("not")
                && keys.iter().any(|(key, values)| {
                    let key = key.to_ascii_lowercase();
                    let mut values = values.iter().filter_map(serde_json::Value::as_str).peekable();
                    values.peek().is_some()
                        && match key.as_str() {
                            "aws:sourceaccount" | "aws:sourceowner" => values.all(|v| v == self.account),
                            "aws:sourcearn" => values.all(|v| v.split(':').nth(4) == Some(self.account)),
                            _ => false,
                        }
                })
        })
    }
}

/// Whether an S3 action acts on objects (`arn:aws:s3:::b/*`) rather than on the bucket.
fn on_objects(action: &str) -> bool {
    let name = action.to_ascii_lowercase();
    (name.contains("object") || name == "s3:abortmultipartupload" || name == "s3:listmultipartuploadparts")
        && !name.starts_with("s3:listbucket")
}

/// A request context under which the statement's conditions on keys the caller controls hold.
/// Keys the evaluator derives from the principal are left alone; the organization keys are set
/// only with `org`.
fn witness(condition: &Condition, org: bool) -> Context {
    let mut context = Context::new();
    for (operator, keys) in condition {
        let op = operator.to_ascii_lowercase();
        let (set, op) = match op.split_once(':') {
            Some((set, rest)) => (Some(set.to_owned()), rest.to_owned()),
            None => (None, op),
        };
        let if_exists = op.ends_with("ifexists");
        let op = op.trim_end_matches("ifexists");
        let negated = op.contains("not") && op != "null";
        for (key, values) in keys {
            let folded = key.to_ascii_lowercase();
            if FIXED_KEYS.contains(&folded.as_str()) || (!org && ORG_KEYS.contains(&folded.as_str())) {
                continue;
            }
            // A negated operator, `…IfExists` and `ForAllValues` all hold when the key is absent.
            if negated || if_exists || set.as_deref() == Some("forallvalues") {
                continue;
            }
            let texts: Vec<String> = values
                .iter()
                .filter_map(|v| match v {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Bool(b) => Some(b.to_string()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .filter(|v| !v.contains("${"))
                .collect();
            let Some(first) = texts.first() else { continue };
            if op == "null" {
                if first == "false" {
                    context.set(key, Value::Single("xacct-witness".to_owned()));
                }
                continue;
            }
            let value = satisfying(op, first);
            if set.is_some() || ORG_KEYS[1] == folded {
                context.set(key, Value::Multi(vec![value]));
            } else {
                context.set(key, Value::Single(value));
            }
        }
    }
    context
}

/// A value that satisfies `op` against the policy value `v`.
fn satisfying(op: &str, v: &str) -> String {
    let number = v.parse::<f64>().ok();
    match op {
        "numericlessthan" => number.map_or_else(|| v.to_owned(), |n| (n - 1.0).to_string()),
        "numericgreaterthan" => number.map_or_else(|| v.to_owned(), |n| (n + 1.0).to_string()),
        "datelessthan" => "1970-01-01T00:00:00Z".to_owned(),
        "dategreaterthan" => "2999-01-01T00:00:00Z".to_owned(),
        "ipaddress" => v.split('/').next().unwrap_or(v).to_owned(),
        _ => v.replace(['*', '?'], "x"),
    }
}

/// The organization an org-conditioned `*` is limited to: the values of `aws:PrincipalOrgID`,
/// else of `aws:PrincipalOrgPaths`.
fn org_display(condition: &Condition) -> Option<String> {
    for wanted in ORG_KEYS {
        for keys in condition.values() {
            for (key, values) in keys {
                if key.eq_ignore_ascii_case(wanted) {
                    let values: Vec<String> = values.iter().map(value_text).collect();
                    if !values.is_empty() {
                        return Some(values.join(", "));
                    }
                }
            }
        }
    }
    None
}

fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `Operator key = value; …`, with several values in brackets.
fn summary(condition: &Condition) -> String {
    let mut parts = Vec::new();
    for (operator, keys) in condition {
        for (key, values) in keys {
            let values: Vec<String> = values.iter().map(value_text).collect();
            let shown = match values.as_slice() {
                [one] => one.clone(),
                many => format!("[{}]", many.join(", ")),
            };
            parts.push(format!("{operator} {key} = {shown}"));
        }
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests;

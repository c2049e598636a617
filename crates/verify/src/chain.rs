//! The chain evaluation, shared by offline and live: from a [`State`] to one [`Link`] per
//! requirement, each decided by policy-model's evaluation engine.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use policy_model::build::{self, ASSUME_POLICY_NAME, PASS_ROLE_POLICY_NAME};
use policy_model::chain::{self as vocab, LinkRequest};
use policy_model::eval::{self, CompiledPolicy, Outcome, PolicySet, Request, SideResult};
use policy_model::{Access, Bucket, Deployment, Flow, Owner, PolicyDocument, Principal, Statement};

use crate::report::{Link, Status};
use crate::state::{self, State};

pub use policy_model::chain::{bucket_actions, link as ids, PROBE_PREFIX};

/// The links, and what the evaluation said of each request, so that probes can be compared with it.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    pub links: Vec<Link>,
    /// `(link id, action)` to whether the evaluation allows it (without SCPs).
    pub allowed: BTreeMap<(String, String), bool>,
}

struct Eval<'a> {
    flow: &'a Flow,
    deployment: &'a Deployment,
    state: &'a State,
    out: Evaluation,
    /// Every request of the chain, remembered for the SCP link.
    requests: Vec<LinkRequest>,
    /// Compiled identity policies by role ARN: each role's are compiled once, however many
    /// owners or buckets ask.
    identities: HashMap<String, Result<Rc<Vec<CompiledPolicy>>, String>>,
    /// Compiled key policies by key ARN.
    key_policies: HashMap<String, Result<Rc<CompiledPolicy>, String>>,
    /// Key ARN to the access its key policy grants, filled on first use.
    key_access: HashMap<String, Access>,
    /// Compiled permissions boundaries by role ARN; `None` for a role without one.
    boundaries: HashMap<String, Option<Result<Rc<CompiledPolicy>, String>>>,
}

/// Evaluates every link of the chain on `state`.
pub fn evaluate(flow: &Flow, state: &State) -> Evaluation {
    // The instance-profile chain exists only with account A (every owner of a flow without it
    // uses the Unity Catalog mode).
    let Some(deployment) = flow.deployment() else { return Evaluation::default() };
    let mut e = Eval {
        flow,
        deployment,
        state,
        out: Evaluation::default(),
        requests: Vec::new(),
        identities: HashMap::new(),
        key_policies: HashMap::new(),
        key_access: HashMap::new(),
        boundaries: HashMap::new(),
    };
    let link = e.passrole();
    e.out.links.push(link);
    let link = e.instance_profile();
    e.out.links.push(link);
    for owner in flow.owners() {
        let (assume, trust) = e.assume(owner);
        e.out.links.push(assume);
        e.out.links.push(trust);
    }
    for (owner, bucket) in flow.buckets() {
        let link = e.bucket(owner, bucket);
        e.out.links.push(link);
        if bucket.kms_key_arn.is_some() {
            let link = e.kms(owner, bucket);
            e.out.links.push(link);
        }
    }
    let link = e.scp();
    e.out.links.push(link);
    let link = e.databricks();
    e.out.links.push(link);
    e.out
}

/// What one evaluation said, owned.
struct Verdict {
    action: String,
    outcome: Outcome,
    reason: String,
    identity: SideResult,
    resource: SideResult,
    /// The statements that decided, for people.
    refs: Vec<String>,
    /// The Deny statements that applied: (policy label, statement id).
    denies: Vec<(String, String)>,
}

fn run(req: &Request, set: &PolicySet<'_>) -> Verdict {
    let d = eval::evaluate(req, set);
    let denies = d
        .matched
        .iter()
        .filter(|r| r.effect == eval::Effect::Deny)
        .map(|r| (r.policy.to_owned(), r.statement.to_owned()))
        .collect();
    Verdict {
        action: req.action().to_owned(),
        outcome: d.decision,
        reason: d.reason.to_string(),
        identity: d.identity,
        resource: d.resource,
        refs: d.matched.iter().map(ToString::to_string).collect(),
        denies,
    }
}

fn compile(doc: &PolicyDocument, label: String) -> Result<CompiledPolicy, String> {
    CompiledPolicy::compile(doc)
        .map(|p| p.labeled(label.clone()))
        .map_err(|e| format!("{label} cannot be evaluated: {e}"))
}

fn prepare(r: &LinkRequest) -> Result<Request, String> {
    Request::new(&r.principal, r.action, &r.resource, Some(r.resource_account.as_str()), r.context.clone())
        .map_err(|e| format!("the request {} on {} cannot be evaluated: {e}", r.action, r.resource))
}

fn json(stmt: &Statement) -> String {
    serde_json::to_string(stmt).unwrap_or_default()
}

fn json_all(stmts: &[Statement]) -> String {
    serde_json::to_string(stmts).unwrap_or_default()
}

fn account_of(arn: &str) -> &str {
    arn.split(':').nth(4).unwrap_or_default()
}

/// `role MyRoleA` from its ARN.
fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The fix for Deny statements: name each one, with its document and account.
fn deny_fix(denies: &[(String, String)], action: &str, principal: &str) -> String {
    let mut seen: Vec<String> = Vec::new();
    for (policy, sid) in denies {
        let line = format!("statement `{sid}` of {policy}");
        if !seen.contains(&line) {
            seen.push(line);
        }
    }
    format!(
        "edit {}: it denies {action} to {principal}; narrow it or exempt {principal} (xacct never edits statements it did not write)",
        seen.join(" and ")
    )
}

impl Eval<'_> {
    fn a(&self) -> &str {
        self.deployment.account_id.as_str()
    }

    /// The access the key policy of `key` grants: the widest of the buckets it encrypts.
    fn key_access(&mut self, key: &str) -> Option<Access> {
        if self.key_access.is_empty() {
            for owner in self.flow.owners() {
                for (k, access) in vocab::key_accesses(owner) {
                    self.key_access.insert(k.as_str().to_owned(), access);
                }
            }
        }
        self.key_access.get(key).copied()
    }

    /// [`Self::identity`], compiled on first use and then shared.
    fn identity_of(&mut self, role_arn: &str) -> Result<Rc<Vec<CompiledPolicy>>, String> {
        if let Some(found) = self.identities.get(role_arn) {
            return found.clone();
        }
        let compiled = self.identity(role_arn).map(Rc::new);
        self.identities.insert(role_arn.to_owned(), compiled.clone());
        compiled
    }

    /// The compiled key policy of `key`, compiled on first use; `None` when the key does not exist.
    fn key_policy(&mut self, key: &str) -> Option<Result<Rc<CompiledPolicy>, String>> {
        if let Some(found) = self.key_policies.get(key) {
            return Some(found.clone());
        }
        let doc = self.state.keys.get(key)?;
        let account = account_of(key);
        let compiled = compile(doc, format!("account {account} key policy of {key}")).map(Rc::new);
        self.key_policies.insert(key.to_owned(), compiled.clone());
        Some(compiled)
    }

    /// The compiled identity policies of a role, labelled with account and name.
    fn identity(&self, role_arn: &str) -> Result<Vec<CompiledPolicy>, String> {
        let Some(role) = self.state.roles.get(role_arn) else { return Ok(Vec::new()) };
        let account = account_of(role_arn);
        role.policies
            .iter()
            .map(|p| compile(&p.document, format!("account {account} {} of role {}", p.name, role_name(role_arn))))
            .collect()
    }

    /// The role's permissions boundary, compiled on first use; `None` when it has none.
    fn boundary_of(&mut self, role_arn: &str) -> Option<Result<Rc<CompiledPolicy>, String>> {
        if let Some(found) = self.boundaries.get(role_arn) {
            return found.clone();
        }
        let compiled = self.state.roles.get(role_arn).and_then(|r| r.boundary.as_ref()).map(|(arn, doc)| match doc {
            Some(doc) => {
                let label = format!(
                    "account {} permissions boundary {arn} of role {}",
                    account_of(role_arn),
                    role_name(role_arn)
                );
                compile(doc, label).map(Rc::new)
            }
            None => Err(format!("the permissions boundary {arn} of {role_arn} cannot be read")),
        });
        self.boundaries.insert(role_arn.to_owned(), compiled.clone());
        compiled
    }

    /// The link failed because the role's permissions boundary does not allow one of `reqs`
    /// (each evaluated against the boundary alone); `None` when there is no boundary or it allows them all.
    fn boundary_blocks(&mut self, link: &Link, role_arn: &str, reqs: &[Request]) -> Option<Link> {
        let boundary = match self.boundary_of(role_arn)? {
            Ok(b) => b,
            Err(e) => return Some(link.clone().unchecked(e)),
        };
        let arn = self
            .state
            .roles
            .get(role_arn)
            .and_then(|r| r.boundary.as_ref())
            .map(|(a, _)| a.clone())
            .unwrap_or_default();
        let refused: Vec<&Request> = reqs
            .iter()
            .filter(|req| {
                run(req, &PolicySet { identity: vec![&*boundary], ..PolicySet::default() }).identity
                    != SideResult::Allowed
            })
            .collect();
        let first = refused.first()?;
        let what: Vec<String> = refused.iter().map(|r| format!("{} on {}", r.action(), r.resource())).collect();
        Some(link.clone().fail(
            vec![format!("the permissions boundary {arn} of {role_arn} does not allow {}", what.join(", "))],
            format!(
                "allow {} on {} in the boundary policy {arn} (its default version; xacct never edits a boundary), \
                 or set `[roles] permissions_boundary` to a boundary that allows every action of the chain",
                first.action(),
                first.resource()
            ),
        ))
    }

    fn trust(&self, role_arn: &str) -> Option<Result<CompiledPolicy, String>> {
        let role = self.state.roles.get(role_arn)?;
        let account = account_of(role_arn);
        Some(compile(&role.trust, format!("account {account} trust policy of role {}", role_name(role_arn))))
    }

    fn unreadable(&self, keys: &[&str]) -> Option<String> {
        keys.iter().find_map(|k| self.state.unreadable.get(*k).map(|why| format!("could not read {k}: {why}")))
    }

    /// A document of these resources that cannot be written, as a failing link.
    fn broken(&self, link: &Link, keys: &[&str]) -> Option<Link> {
        let why = keys.iter().find_map(|k| self.state.broken.get(*k))?;
        Some(link.clone().fail(
            vec![why.clone()],
            "make room first: remove or shorten statements others wrote there, or split the document, \
             so that xacct's statements fit",
        ))
    }

    fn remember(&mut self, request: &LinkRequest) {
        // Only the SCP link reads them, and only when the state has SCPs.
        if !self.state.scps.is_empty() {
            self.requests.push(request.clone());
        }
    }

    fn record(&mut self, id: &str, action: &str, allowed: bool) {
        self.out.allowed.insert((id.to_owned(), action.to_owned()), allowed);
    }

    /// Link 1: the cross-account role may pass the instance role.
    fn passrole(&mut self) -> Link {
        let deployment = self.deployment;
        let a_role = deployment.instance_role_arn();
        let a = self.a().to_owned();
        let Some(x_role) = deployment.cross_account_role_arn() else {
            return Link::new(ids::PASSROLE, "the Databricks cross-account role", a_role, "iam:PassRole").skip(
                "no `cross_account_role` in the config, so the role Databricks launches clusters with is unknown",
                Some("set `deployment.cross_account_role` to check (and provision) its iam:PassRole".to_owned()),
            );
        };
        let link = Link::new(ids::PASSROLE, &x_role, &a_role, "iam:PassRole");
        if let Some(failed) = self.broken(&link, &[&x_role]) {
            return failed;
        }
        if let Some(why) = self.unreadable(&[&x_role]) {
            return link.unchecked(why);
        }
        if !self.state.roles.contains_key(&x_role) {
            return link.fail(
                vec![format!("role {x_role} does not exist in account {a}")],
                format!(
                    "set `deployment.cross_account_role` to the role Databricks uses to launch clusters in account {a}"
                ),
            );
        }
        let identity = match self.identity_of(&x_role) {
            Ok(p) => p,
            Err(e) => return link.fail(vec![e.clone()], e),
        };
        let Some(wanted) = vocab::passrole_request(self.flow) else { return link };
        let req = match prepare(&wanted) {
            Ok(r) => r,
            Err(e) => return link.unchecked(e),
        };
        self.remember(&wanted);
        if let Some(blocked) = self.boundary_blocks(&link, &x_role, std::slice::from_ref(&req)) {
            self.record(ids::PASSROLE, "iam:PassRole", false);
            return blocked;
        }
        let set = PolicySet { identity: identity.iter().collect(), ..PolicySet::default() };
        let v = run(&req, &set);
        self.record(ids::PASSROLE, "iam:PassRole", v.outcome == Outcome::Allowed);
        let add = || {
            format!(
            "add to the inline policy {PASS_ROLE_POLICY_NAME} of {x_role} in account {a} (`xacct provision` does): {}",
            json(&build::pass_role_statement(self.flow))
        )
        };
        judge(link, &[v], &x_role, add)
    }

    /// Link 2: the instance profile exists, holds the instance role, and the role trusts EC2.
    fn instance_profile(&mut self) -> Link {
        let deployment = self.deployment;
        let (a_role, profile) = (deployment.instance_role_arn(), deployment.instance_profile_arn());
        let a = self.a().to_owned();
        let name = deployment.instance_role.as_str();
        let link =
            Link::new(ids::INSTANCE_PROFILE, &profile, &a_role, "holds the role; ec2.amazonaws.com sts:AssumeRole");
        if let Some(why) = self.unreadable(&[&profile, &a_role]) {
            return link.unchecked(why);
        }
        let Some(p) = self.state.instance_profiles.get(&profile) else {
            return link.fail(
                vec![format!("instance profile {profile} does not exist in account {a}")],
                format!(
                    "create it in account {a} and add the role (`xacct provision` does): \
                     aws iam create-instance-profile --instance-profile-name {name} && \
                     aws iam add-role-to-instance-profile --instance-profile-name {name} --role-name {name}"
                ),
            );
        };
        if !p.roles.contains(&a_role) {
            let holds = if p.roles.is_empty() { "no role".to_owned() } else { p.roles.join(", ") };
            return link.fail(
                vec![format!("instance profile {profile} does not hold {a_role} (it holds {holds})")],
                format!(
                    "in account {a}: aws iam add-role-to-instance-profile --instance-profile-name {name} --role-name {name} \
                     (remove the other role first: a profile holds one role)"
                ),
            );
        }
        let Some(trust) = self.trust(&a_role) else {
            return link.fail(
                vec![format!("role {a_role} does not exist in account {a}")],
                format!("create role {name} in account {a} (`xacct provision` does)"),
            );
        };
        let trust = match trust {
            Ok(t) => t,
            Err(e) => return link.fail(vec![e.clone()], e),
        };
        let Some(wanted) = vocab::instance_profile_request(self.flow) else {
            return link.unchecked("the flow has no account A".to_owned());
        };
        let req = match prepare(&wanted) {
            Ok(r) => r,
            Err(e) => return link.unchecked(e),
        };
        let set = PolicySet { resource: Some(&trust), ..PolicySet::default() };
        let v = run(&req, &set);
        self.record(ids::INSTANCE_PROFILE, "sts:AssumeRole", v.outcome == Outcome::Allowed);
        let mut evidence = vec![format!("instance profile {profile} holds {a_role}")];
        let add = || {
            format!(
                "add to the trust policy of {a_role} in account {a}: {}",
                json(&build::instance_role_trust().statement[0])
            )
        };
        if v.outcome == Outcome::Allowed {
            evidence.extend(v.refs);
            return link.pass(evidence);
        }
        if let Some(hint) = self.condition_hint(&a_role, &req) {
            evidence.push(hint);
        }
        let linked = judge(link, &[v], "ec2.amazonaws.com", add);
        Link { evidence: [evidence, linked.evidence].concat(), ..linked }
    }

    /// Links 3 and 4 for one owner: the instance role's policies allow `sts:AssumeRole` on the
    /// owner's role, and the owner's role trusts the instance role.
    fn assume(&mut self, owner: &Owner) -> (Link, Link) {
        let a_role = self.deployment.instance_role_arn();
        let b_role = owner.role_arn();
        let (a, b) = (self.a().to_owned(), owner.account_id.as_str().to_owned());
        let assume =
            Link::new(ids::assume_a_to_b(&owner.account_id), &a_role, &b_role, "sts:AssumeRole (identity policy)");
        let trust_link = Link::new(ids::trust_b(&owner.account_id), &a_role, &b_role, "sts:AssumeRole (trust policy)");

        let wanted = vocab::assume_request(self.flow, owner);
        let req = match prepare(&wanted) {
            Ok(r) => r,
            Err(e) => return (assume.unchecked(e.clone()), trust_link.unchecked(e)),
        };
        self.remember(&wanted);

        // Link 3: the identity side alone. The fix names this owner's role only: the whole
        // statement lists every owner's role.
        let add_policy = || {
            format!(
                "allow sts:AssumeRole on {b_role}: add it to the Resource of statement {} in the inline policy \
             {ASSUME_POLICY_NAME} of {a_role} in account {a} (`xacct provision` does)",
                build::ASSUME_SID,
            )
        };
        let assume = if let Some(failed) = self.broken(&assume, &[&a_role]) {
            failed
        } else if let Some(why) = self.unreadable(&[&a_role]) {
            assume.unchecked(why)
        } else if !self.state.roles.contains_key(&a_role) {
            assume.fail(
                vec![format!("role {a_role} does not exist in account {a}")],
                format!("create role {} in account {a} (`xacct provision` does)", role_name(&a_role)),
            )
        } else if let Some(blocked) = self.boundary_blocks(&assume, &a_role, std::slice::from_ref(&req)) {
            self.record(&assume.id, "sts:AssumeRole", false);
            blocked
        } else {
            match self.identity_of(&a_role) {
                Err(e) => assume.fail(vec![e.clone()], e),
                Ok(identity) => {
                    let v = run(&req, &PolicySet { identity: identity.iter().collect(), ..PolicySet::default() });
                    let allowed = v.identity == SideResult::Allowed;
                    self.record(&assume.id, "sts:AssumeRole", allowed);
                    let refs: Vec<String> = v.refs.iter().filter(|r| r.contains("(identity)")).cloned().collect();
                    match v.identity {
                        SideResult::Allowed => assume.pass(refs),
                        SideResult::ExplicitDeny => {
                            let fix = deny_fix(&v.denies, "sts:AssumeRole", &a_role);
                            assume.fail(refs, fix)
                        }
                        _ => assume.fail(
                            vec![format!(
                                "no identity policy of {a_role} allows sts:AssumeRole on {b_role} (AssumeRole would answer 403)"
                            )],
                            add_policy(),
                        ),
                    }
                }
            }
        };

        // Link 4: the trust policy alone, with conditions evaluated.
        let trust_stmt = build::owner_trust_policy(self.flow).statement.into_iter().next();
        let add_trust = || {
            format!(
                "add to the trust policy of {b_role} in account {b}: {}. {}",
                trust_stmt.as_ref().map(json).unwrap_or_default(),
                invalid_principal_hint(&a_role, &a)
            )
        };
        let trust_link = if let Some(why) = self.unreadable(&[&b_role]) {
            trust_link.unchecked(why)
        } else {
            match self.trust(&b_role) {
                None => trust_link.fail(
                    vec![format!("role {b_role} does not exist in account {b}")],
                    format!("create role {} in account {b} (`xacct provision` does)", owner.role),
                ),
                Some(Err(e)) => trust_link.fail(vec![e.clone()], e),
                Some(Ok(trust)) => {
                    let v = run(&req, &PolicySet { resource: Some(&trust), ..PolicySet::default() });
                    let allowed = matches!(v.resource, SideResult::Allowed | SideResult::AllowedForAccount);
                    self.record(&trust_link.id, "sts:AssumeRole", allowed);
                    let mut evidence: Vec<String> =
                        v.refs.iter().filter(|r| r.contains("(resource)")).cloned().collect();
                    if v.resource == SideResult::AllowedForAccount {
                        evidence.push(format!(
                            "the trust policy trusts account {a} as a whole: {a_role}'s own policies then decide"
                        ));
                    }
                    match v.resource {
                        _ if allowed => trust_link.pass(evidence),
                        SideResult::ExplicitDeny => {
                            let fix = deny_fix(&v.denies, "sts:AssumeRole", &a_role);
                            trust_link.fail(evidence, fix)
                        }
                        _ => {
                            evidence.insert(
                                0,
                                format!(
                                    "no statement of the trust policy of {b_role} (account {b}) allows {a_role} to sts:AssumeRole (AssumeRole would answer 403)"
                                ),
                            );
                            if let Some(hint) = self.condition_hint(&b_role, &req) {
                                evidence.push(hint);
                            }
                            trust_link.fail(evidence, add_trust())
                        }
                    }
                }
            }
        };
        let trust_doc = self.state.roles.get(&b_role).map(|r| &r.trust);
        let trust_link = with_rot(trust_link, trust_doc, &format!("the trust policy of {b_role}"));
        (assume, trust_link)
    }

    /// When stripping the conditions of the trust policy's Allow statements would let `req`
    /// through, the conditions are what refuse it: say which statements and keys.
    fn condition_hint(&self, role_arn: &str, req: &Request) -> Option<String> {
        let role = self.state.roles.get(role_arn)?;
        let mut stripped = role.trust.clone();
        let mut keys = Vec::new();
        for s in &mut stripped.statement {
            if s.effect == "Allow" {
                if let Some(cond) = s.condition.take() {
                    keys.extend(cond.values().flat_map(|m| m.keys().cloned()));
                }
            }
        }
        if keys.is_empty() {
            return None;
        }
        let compiled = CompiledPolicy::compile(&stripped).ok()?.labeled("trust");
        let v = run(req, &PolicySet { resource: Some(&compiled), ..PolicySet::default() });
        matches!(v.resource, SideResult::Allowed | SideResult::AllowedForAccount).then(|| {
            keys.sort();
            keys.dedup();
            format!(
                "a statement of the trust policy of {role_arn} names {} but its Condition ({}) is not met by the request a cluster sends; \
                 drop that condition or add a statement without it",
                req.principal(),
                keys.join(", ")
            )
        })
    }

    /// Link 5: the owner's role may list, read and (for read-write) write the bucket.
    fn bucket(&mut self, owner: &Owner, bucket: &Bucket) -> Link {
        let b_role = owner.role_arn();
        let b = owner.account_id.as_str();
        let name = bucket.name.as_str();
        let id = ids::bucket(&bucket.name);
        let actions = bucket_actions(bucket.access);
        let link =
            Link::new(&id, &b_role, bucket.name.arn(), actions.iter().map(|(a, _)| *a).collect::<Vec<_>>().join(", "));
        if let Some(failed) = self.broken(&link, &[name]) {
            return failed;
        }
        if let Some(why) = self.unreadable(&[name, &b_role]) {
            return link.unchecked(why);
        }
        let Some(state) = self.state.buckets.get(name) else {
            return link.fail(
                vec![format!("bucket {name} does not exist (or is not in account {b})")],
                format!("check the bucket name under the owner {b}: xacct never creates buckets"),
            );
        };
        let identity = match self.identity_of(&b_role) {
            Ok(p) => p,
            Err(e) => return link.fail(vec![e.clone()], e),
        };
        let policy = match &state.policy {
            Some(doc) => match compile(doc, format!("account {b} bucket policy of {name}")) {
                Ok(p) => Some(p),
                Err(e) => return link.fail(vec![e.clone()], e),
            },
            None => None,
        };
        let mut verdicts = Vec::new();
        let mut reqs = Vec::new();
        for wanted in vocab::bucket_requests(owner, bucket) {
            match prepare(&wanted) {
                Ok(r) => reqs.push(r),
                Err(e) => return link.unchecked(e),
            }
        }
        if let Some(blocked) = self.boundary_blocks(&link, &b_role, &reqs) {
            return blocked;
        }
        for (wanted, req) in vocab::bucket_requests(owner, bucket).into_iter().zip(reqs) {
            let set =
                PolicySet { identity: identity.iter().collect(), resource: policy.as_ref(), ..PolicySet::default() };
            let v = run(&req, &set);
            self.record(&id, wanted.action, v.outcome == Outcome::Allowed);
            self.remember(&wanted);
            verdicts.push(v);
        }
        let add = || {
            format!(
            "add to the bucket policy of {name} in account {b} (`xacct provision` merges them in): {}. \
             If S3 answers \"Invalid principal in policy\", {b_role} does not exist yet (or was created seconds ago): create it first, then retry",
            json_all(&build::bucket_statements(owner, bucket))
        )
        };
        let mut out = judge(link, &verdicts, &b_role, add);
        out = with_rot(out, state.policy.as_ref(), &format!("the bucket policy of {name}"));
        if out.status == Status::Fail {
            match &state.policy {
                None => out.evidence.insert(0, format!("bucket {name} has no bucket policy")),
                Some(doc) => {
                    let named = allowed_principals(doc);
                    if !named.is_empty() && !named.contains(&b_role) {
                        out.evidence.insert(
                            0,
                            format!("the bucket policy of {name} allows {}, not {b_role}", named.join(", ")),
                        );
                    }
                }
            }
        }
        out
    }

    /// Link 6: the bucket's key lets the owner's role decrypt and (for writes) generate data keys.
    fn kms(&mut self, owner: &Owner, bucket: &Bucket) -> Link {
        let b_role = owner.role_arn();
        let b = owner.account_id.as_str();
        let name = bucket.name.as_str();
        let id = ids::kms(&bucket.name);
        let Some(key) = bucket.kms_key_arn.as_ref().map(|k| k.as_str()) else {
            return Link::new(&id, &b_role, "", "").skip("the bucket has no `kms_key_arn`", None);
        };
        let actions = vocab::kms_actions(bucket.access);
        let link = Link::new(&id, &b_role, key, actions.join(", "));
        if let Some(failed) = self.broken(&link, &[key]) {
            return failed;
        }
        if let Some(why) = self.unreadable(&[key, &b_role]) {
            return link.unchecked(why);
        }
        let policy = match self.key_policy(key) {
            None => {
                return link.fail(
                    vec![format!("key {key} does not exist in account {b}")],
                    format!("check `kms_key_arn` of bucket {name}: it must be the key that encrypts the bucket"),
                )
            }
            Some(Ok(p)) => p,
            Some(Err(e)) => return link.fail(vec![e.clone()], e),
        };
        let identity = match self.identity_of(&b_role) {
            Ok(p) => p,
            Err(e) => return link.fail(vec![e.clone()], e),
        };
        let mut verdicts = Vec::new();
        let mut reqs = Vec::new();
        for wanted in vocab::kms_requests(owner, bucket) {
            match prepare(&wanted) {
                Ok(r) => reqs.push(r),
                Err(e) => return link.unchecked(e),
            }
        }
        if let Some(blocked) = self.boundary_blocks(&link, &b_role, &reqs) {
            return blocked;
        }
        for (wanted, req) in vocab::kms_requests(owner, bucket).into_iter().zip(reqs) {
            let set =
                PolicySet { identity: identity.iter().collect(), resource: Some(&*policy), ..PolicySet::default() };
            let v = run(&req, &set);
            self.record(&id, wanted.action, v.outcome == Outcome::Allowed);
            self.remember(&wanted);
            verdicts.push(v);
        }
        // The key policy holds one statement per owner role, with the widest access of its buckets.
        let access = self.key_access(key).unwrap_or(bucket.access);
        let add = || {
            format!(
                "add to the key policy of {key} in account {b} (`xacct provision` merges it in): {}",
                json(&build::kms_key_user_statement(owner, key, access))
            )
        };
        let linked = judge(link, &verdicts, &b_role, add);
        with_rot(linked, self.state.keys.get(key), &format!("the key policy of {key}"))
    }

    /// Link 7: no SCP given in the config blocks a request of the chain.
    fn scp(&mut self) -> Link {
        let link = Link::new(
            ids::SCP,
            "service control policies",
            "every request of the chain",
            "no Deny, an Allow at every level",
        );
        if self.state.scps.is_empty() {
            return link.skip(
                "no SCPs in the config: xacct cannot read them from AWS Organizations",
                Some("give the SCPs of the accounts' organization path in the config to check them".to_owned()),
            );
        }
        let mut compiled: Vec<Vec<CompiledPolicy>> = Vec::new();
        for (level, docs) in self.state.scps.iter().enumerate() {
            let mut out = Vec::new();
            for (i, doc) in docs.iter().enumerate() {
                let name = doc.id.clone().unwrap_or_else(|| format!("#{i}"));
                match compile(doc, format!("SCP {name} at level {level}")) {
                    Ok(p) => out.push(p),
                    Err(e) => return link.fail(vec![e.clone()], e),
                }
            }
            compiled.push(out);
        }
        let set = PolicySet { scps: compiled.iter().map(|l| l.iter().collect()).collect(), ..PolicySet::default() };
        let mut evidence = Vec::new();
        let mut fixes: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for r in &self.requests {
            let Ok(req) = prepare(r) else { continue };
            let v = run(&req, &set);
            let what = format!("{} {} on {}", r.principal, r.action, r.resource);
            match v.outcome {
                Outcome::ExplicitDeny => {
                    evidence.push(format!("{what}: {}", v.refs.join(", ")));
                    let fix = deny_fix(&v.denies, r.action, &r.principal);
                    if seen.insert(fix.clone()) {
                        fixes.push(fix);
                    }
                }
                _ if v.reason.contains("SCP") => {
                    evidence.push(format!("{what}: {}", v.reason));
                    let fix = format!(
                        "add an SCP statement that allows {} at that level of the organization (every level needs an Allow)",
                        r.action
                    );
                    if seen.insert(fix.clone()) {
                        fixes.push(fix);
                    }
                }
                _ => {}
            }
        }
        if fixes.is_empty() {
            let n = self.requests.len();
            link.pass(vec![format!("the SCPs allow all {n} requests of the chain")])
        } else {
            fixes.push("an SCP that blocks iam:PassRole or sts:AssumeRole also fails the Databricks dry run when the instance profile is added".to_owned());
            link.fail(evidence, fixes.join("; "))
        }
    }

    /// Link 8: the instance profile is registered, and the cluster uses it with the S3A keys.
    fn databricks(&mut self) -> Link {
        let profile = self.deployment.instance_profile_arn();
        let link =
            Link::new(ids::DATABRICKS, "Databricks workspace", &profile, "instance profile registered; cluster conf");
        let Some(db) = &self.state.databricks else {
            return link.skip("no [databricks] section in the config", None);
        };
        if let Some(why) = self.unreadable(&["databricks"]) {
            return link.unchecked(why);
        }
        let mut evidence = Vec::new();
        let mut fixes = Vec::new();
        if db.instance_profiles.contains(&profile) {
            evidence.push(format!("instance profile {profile} is registered"));
        } else {
            evidence.push(format!("instance profile {profile} is not registered in the workspace"));
            fixes.push(format!(
                "register it: POST /api/2.0/instance-profiles/add {{\"instance_profile_arn\": \"{profile}\"}} \
                 (Admin Console > Instance profiles; `xacct provision` does)"
            ));
        }
        match &db.cluster {
            None if db.missing_cluster.is_some() => {
                let id = db.missing_cluster.as_deref().unwrap_or_default();
                evidence.push(format!("cluster {id} does not exist in the workspace"));
                fixes.push(format!(
                    "set `databricks.cluster_id` to an existing cluster (not `{id}`), or use [databricks.new_cluster] \
                     and let `xacct provision` create one"
                ));
            }
            None => evidence.push("no cluster_id in the config: no cluster checked".to_owned()),
            Some(cluster) => {
                let id = &cluster.cluster_id;
                match cluster.instance_profile_arn.as_deref() {
                    Some(p) if p == profile => evidence.push(format!("cluster {id} uses instance profile {profile}")),
                    other => {
                        evidence.push(format!(
                            "cluster {id} uses instance profile {}",
                            other.map(|p| format!("`{p}`")).unwrap_or_else(|| "none".to_owned())
                        ));
                        fixes.push(format!("set aws_attributes.instance_profile_arn of cluster {id} to {profile}"));
                    }
                }
                let mut missing = Vec::new();
                for (owner, bucket) in self.flow.buckets() {
                    let role = owner.role_arn();
                    let wanted = [
                        (state::CREDENTIALS_TYPE, state::ASSUME_ROLE.to_owned()),
                        (state::STS_ARN, role),
                        (state::ACL_DEFAULT, state::BUCKET_OWNER_FULL_CONTROL.to_owned()),
                    ];
                    for (option, value) in wanted {
                        let per_bucket = format!("{}bucket.{}.{option}", state::SPARK_S3A, bucket.name);
                        let global = format!("{}{option}", state::SPARK_S3A);
                        let (key, got) = match cluster.spark_conf.get(&per_bucket) {
                            Some(v) => (per_bucket.clone(), Some(v)),
                            None => (global.clone(), cluster.spark_conf.get(&global)),
                        };
                        match got {
                            Some(v) if v == &value => {}
                            Some(v) => {
                                evidence.push(format!(
                                    "cluster {id}: {key} is `{v}`, not `{value}` (bucket {})",
                                    bucket.name
                                ));
                                missing.push(format!("{key} {value}"));
                            }
                            None => {
                                evidence.push(format!("cluster {id}: neither {per_bucket} nor {global} is set"));
                                let key = if vocab::s3a::uses_per_bucket_keys(self.flow) { per_bucket } else { global };
                                missing.push(format!("{key} {value}"));
                            }
                        }
                    }
                }
                missing.dedup();
                if missing.is_empty() {
                    evidence.push(format!("cluster {id} has the S3A AssumeRole keys for every bucket"));
                } else {
                    fixes.push(format!("add to the Spark conf of cluster {id}: {}", missing.join("; ")));
                }
            }
        }
        if fixes.is_empty() {
            link.pass(evidence)
        } else {
            link.fail(evidence, fixes.join("; "))
        }
    }
}

/// The AWS principals the Allow statements of a document name.
fn allowed_principals(doc: &PolicyDocument) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in doc.statement.iter().filter(|s| s.effect == "Allow") {
        match &s.principal {
            Some(Principal::Map(map)) => {
                for value in map.get("AWS").map(|v| v.as_slice()).unwrap_or_default() {
                    if !out.contains(value) {
                        out.push(value.clone());
                    }
                }
            }
            Some(Principal::Star(star)) => out.push(star.clone()),
            None => {}
        }
    }
    out
}

/// The hint for IAM's "Invalid principal in policy" when saving a trust policy.
pub fn invalid_principal_hint(a_role: &str, a: &str) -> String {
    format!(
        "If IAM answers \"Invalid principal in policy\", {a_role} does not exist yet in account {a} \
         (or was created seconds ago): create it first, wait a few seconds for IAM to propagate, and save again"
    )
}

/// Pass when every verdict allows; otherwise fail with the denied actions as evidence and
/// `add()` (or, for explicit denies, the statements to edit) as the fix.
fn judge(link: Link, verdicts: &[Verdict], principal: &str, add: impl FnOnce() -> String) -> Link {
    let (mut evidence, mut allowed) = (Vec::new(), Vec::new());
    let mut fixes = Vec::new();
    let mut implicit = false;
    for v in verdicts {
        match v.outcome {
            Outcome::Allowed => {
                let refs = if v.refs.is_empty() { v.reason.clone() } else { v.refs.join(", ") };
                allowed.push(format!("{} allowed: {refs}", v.action));
            }
            Outcome::ExplicitDeny => {
                evidence.push(format!("{} denied: {}", v.action, v.refs.join(", ")));
                let fix = deny_fix(&v.denies, &v.action, principal);
                if !fixes.contains(&fix) {
                    fixes.push(fix);
                }
            }
            Outcome::ImplicitDeny => {
                evidence.push(format!("{} not allowed: {}", v.action, v.reason));
                implicit = true;
            }
        }
    }
    if fixes.is_empty() && !implicit {
        return link.pass(allowed);
    }
    if implicit {
        fixes.push(add());
    }
    // The denied actions first: they are what the reader needs.
    evidence.extend(allowed);
    link.fail(evidence, fixes.join("; "))
}

/// The principals of `doc` written as unique IDs (`AROA…` for a role, `AIDA…` for a user), with
/// the Sid of their statement: IAM shows the ID in place of the ARN once the role or user the
/// statement was saved with is deleted. A role of the same name created later has another ID,
/// so the statement no longer names anything that exists: the principal has rotted.
fn unique_id_principals(doc: &PolicyDocument) -> Vec<(&Statement, &str)> {
    let mut out = Vec::new();
    for s in &doc.statement {
        let Some(Principal::Map(map)) = &s.principal else { continue };
        for value in map.get("AWS").map(|v| v.as_slice()).unwrap_or_default() {
            if (value.starts_with("AROA") || value.starts_with("AIDA")) && !value.contains(':') {
                out.push((s, value.as_str()));
            }
        }
    }
    out
}

/// A link whose document names a rotted principal. A statement of xacct's that rotted fails the
/// link on its own, whatever else allows the request, with re-provisioning as the fix (the
/// planner sees the ID differ from the ARN it writes). A rotted foreign statement fails the link
/// only when the link fails anyway, and is otherwise named in its evidence.
fn with_rot(link: Link, doc: Option<&PolicyDocument>, what: &str) -> Link {
    let Some(doc) = doc else { return link };
    let rotted = unique_id_principals(doc);
    if rotted.is_empty() || link.status == Status::Unchecked {
        return link;
    }
    let lines: Vec<String> = rotted
        .iter()
        .map(|(s, id)| {
            let sid = s.sid.as_deref().map(|sid| format!("statement `{sid}`")).unwrap_or_else(|| "a statement".to_owned());
            format!(
                "{sid} of {what} names `{id}`, the unique ID of a role or user that was deleted: \
                 IAM shows the ID once the principal it was saved with is gone, and a role recreated under the same name has another ID"
            )
        })
        .collect();
    let ours = rotted.iter().any(|(s, _)| build::is_ours(s));
    if ours {
        let evidence = [lines, link.evidence.clone()].concat();
        return link.fail(
            evidence,
            "re-provision (`xacct provision`): it writes xacct's statements again with the role's ARN",
        );
    }
    if link.status == Status::Fail {
        let fix = link.fix.clone().unwrap_or_default();
        let evidence = [lines, link.evidence.clone()].concat();
        return link.fail(
            evidence,
            format!("save the statements that name a unique ID again with the role's or user's ARN (xacct never edits statements it did not write); {fix}"),
        );
    }
    Link { evidence: [link.evidence.clone(), lines].concat(), ..link }
}

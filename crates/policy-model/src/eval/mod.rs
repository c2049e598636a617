//! The IAM evaluation engine: AWS's documented policy evaluation logic, cross-account included.
//!
//! Policies are compiled once ([`CompiledPolicy::compile`]); a request is prepared once
//! ([`Request::new`]); [`decide`] then runs without allocating and [`evaluate`] adds the
//! statements that decided.
//!
//! The order of evaluation (AWS, "Policy evaluation logic"):
//! 1. an explicit `Deny` in any policy (identity, resource, boundary, session, SCP, RCP) wins;
//! 2. every SCP level (the principal's account) and every RCP level (the resource's account)
//!    must allow; neither applies to service principals, and each RCP level always holds
//!    `RCPFullAWSAccess`, which cannot be detached;
//! 3. a session policy must allow, unless the resource policy names the session's exact ARN
//!    within the account;
//! 4. within one account, an identity allow or a resource allow that names the principal
//!    suffices. A resource allow that names only the account delegates to the identity
//!    policies. A permissions boundary limits identity allows, and a resource allow unless it
//!    names the user or the session itself (or `*`);
//! 5. across accounts, the resource policy (naming the principal or its account) and the
//!    identity policies must both allow, and the boundary must allow;
//! 6. service rules: a role's trust policy decides `sts:AssumeRole` and must name the
//!    principal or its account even within the account; a KMS key policy must allow the
//!    principal directly or through the account root;
//! 7. the rules AWS applies whatever the policies say (`always`): `sts:GetCallerIdentity` is
//!    always allowed, and nobody may change an AWS-managed policy, a service-linked role or an
//!    AWS-managed KMS alias;
//! 8. the principal: an anonymous request ([`ANONYMOUS`]) is decided by the resource policy
//!    alone, and the account root user has every permission in its own account.

mod always;
mod compile;
mod condition;
mod pattern;
mod request;

#[cfg(test)]
mod tests;

use std::fmt;

pub use compile::{CompileError, CompiledPolicy, Effect};
pub(crate) use condition::{check_condition, ConditionProblem};
pub use request::{Context, Request, RequestError, Value, ANONYMOUS};

use compile::PrincipalMatch;
use request::PrincipalKind;

/// The final answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Some policy allows the request and every policy that must allow does; no Deny applies.
    Allowed,
    /// No explicit Deny applies, but an Allow that is needed is missing.
    ImplicitDeny,
    /// A `Deny` statement applies; nothing can override it.
    ExplicitDeny,
}

impl Outcome {
    /// `allowed`, `implicitDeny` or `explicitDeny`, as in the simulate format.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::ImplicitDeny => "implicitDeny",
            Outcome::ExplicitDeny => "explicitDeny",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one kind of policy said on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SideResult {
    /// No policy of this kind was given.
    NotApplicable,
    /// An `Allow` statement of this kind applies and no `Deny` does.
    Allowed,
    /// A resource policy allowed the principal's account only (`"AWS": "<account>"` or
    /// `:root`): that delegates to the account's identity policies.
    AllowedForAccount,
    /// Policies of this kind were given, and none of their statements applies.
    ImplicitDeny,
    /// A `Deny` statement of this kind applies.
    ExplicitDeny,
}

impl SideResult {
    /// `notApplicable`, `allowed`, `allowedForAccount`, `implicitDeny` or `explicitDeny`, as in
    /// the simulate format.
    pub fn as_str(self) -> &'static str {
        match self {
            SideResult::NotApplicable => "notApplicable",
            SideResult::Allowed => "allowed",
            SideResult::AllowedForAccount => "allowedForAccount",
            SideResult::ImplicitDeny => "implicitDeny",
            SideResult::ExplicitDeny => "explicitDeny",
        }
    }
}

impl fmt::Display for SideResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of policy a statement came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// An identity policy of the principal: inline or attached managed.
    Identity,
    /// The resource's own policy: a bucket, trust or key policy.
    Resource,
    /// The principal's permissions boundary.
    Boundary,
    /// The session policy passed when the role was assumed.
    Session,
    /// A service control policy of the principal's account.
    Scp,
    /// A resource control policy of the resource's account.
    Rcp,
}

impl PolicyKind {
    /// `identity`, `resource`, `boundary`, `session`, `scp` or `rcp`.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Identity => "identity",
            PolicyKind::Resource => "resource",
            PolicyKind::Boundary => "boundary",
            PolicyKind::Session => "session",
            PolicyKind::Scp => "scp",
            PolicyKind::Rcp => "rcp",
        }
    }
}

/// A statement that took part in the decision: the policy's label and the statement's Sid (or index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatementRef<'p> {
    /// The kind of policy the statement is in.
    pub kind: PolicyKind,
    /// The policy's label: the one given to [`CompiledPolicy::labeled`], else the document's Id,
    /// else `policy`.
    pub policy: &'p str,
    /// The statement's Sid, or its 0-based index when it has none.
    pub statement: &'p str,
    /// The statement's effect.
    pub effect: Effect,
}

impl fmt::Display for StatementRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} statement `{}` ({}) of {}", self.effect.as_str(), self.statement, self.kind.as_str(), self.policy)
    }
}

/// Why the decision came out as it did, in words a platform engineer can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// A `Deny` statement applies ([`Decision::matched`] lists them).
    ExplicitDeny,
    /// `sts:GetCallerIdentity` needs no permission and cannot be denied.
    CallerIdentity,
    /// An identity policy allows and the resource policy is not needed.
    AllowedByIdentity,
    /// The resource policy allows the principal itself, which suffices within one account.
    AllowedByResource,
    /// An identity policy and the resource policy both allow (required across accounts).
    AllowedByBoth,
    /// A service principal is allowed only by a resource policy that names it.
    ServicePrincipal,
    /// The SCPs at this level (0 = root) have no applicable Allow.
    Scp(usize),
    /// The RCPs at this level have no applicable Allow.
    Rcp(usize),
    /// The session policy does not allow the request.
    SessionPolicy,
    /// The permissions boundary does not allow the request.
    Boundary,
    /// Neither an identity policy nor a resource policy allows the request.
    NoAllow,
    /// Across accounts: the resource policy allows, but no identity policy of the principal does.
    CrossAccountNoIdentityAllow,
    /// Across accounts: an identity policy allows, but the resource policy names neither the
    /// principal nor its account.
    CrossAccountNoResourceAllow,
    /// Across accounts: neither an identity policy nor the resource policy allows.
    CrossAccountNeither,
    /// The role has no trust policy.
    TrustPolicyMissing,
    /// The trust policy names neither the principal nor its account.
    TrustPolicy,
    /// The key policy allows neither the principal nor its account root.
    KeyPolicy,
    /// An anonymous request is allowed only by a resource policy that allows everyone.
    Anonymous,
    /// The root user cannot call `sts:AssumeRole`.
    RootAssumeRole,
    /// The resource is AWS's own and nobody may change it.
    AwsManaged(always::Managed),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::ExplicitDeny => f.write_str("an explicit Deny statement applies"),
            Reason::CallerIdentity => f.write_str("sts:GetCallerIdentity needs no permission"),
            Reason::AllowedByIdentity => f.write_str("allowed by an identity policy"),
            Reason::AllowedByResource => f.write_str("allowed by the resource policy"),
            Reason::AllowedByBoth => f.write_str("allowed by an identity policy and the resource policy"),
            Reason::ServicePrincipal => f.write_str("a service principal needs a resource policy that names it"),
            Reason::Scp(level) => write!(f, "no SCP at level {level} allows the action"),
            Reason::Rcp(level) => write!(f, "no RCP at level {level} allows the action"),
            Reason::SessionPolicy => f.write_str("the session policy does not allow the action"),
            Reason::Boundary => f.write_str("the permissions boundary does not allow the action"),
            Reason::NoAllow => f.write_str("no identity policy or resource policy allows the action"),
            Reason::CrossAccountNoIdentityAllow => {
                f.write_str("cross-account: the resource policy allows, but no identity policy of the principal does")
            }
            Reason::CrossAccountNoResourceAllow => f.write_str(
                "cross-account: an identity policy allows, but the resource policy does not name the principal or its account",
            ),
            Reason::CrossAccountNeither => {
                f.write_str("cross-account: neither an identity policy nor the resource policy allows the action")
            }
            Reason::TrustPolicyMissing => f.write_str("the role has no trust policy"),
            Reason::TrustPolicy => f.write_str("the role's trust policy names neither the principal nor its account"),
            Reason::KeyPolicy => f.write_str("the key policy allows neither the principal nor its account root"),
            Reason::Anonymous => {
                f.write_str("an anonymous request needs a resource policy that allows everyone (`*`)")
            }
            Reason::RootAssumeRole => f.write_str("the account root user cannot call sts:AssumeRole"),
            Reason::AwsManaged(what) => write!(f, "nobody may change {what}"),
        }
    }
}

/// The policies that apply to one request.
#[derive(Debug, Clone, Default)]
pub struct PolicySet<'p> {
    /// The principal's identity policies (inline and attached).
    pub identity: Vec<&'p CompiledPolicy>,
    /// The resource's policy: bucket policy, trust policy, key policy.
    pub resource: Option<&'p CompiledPolicy>,
    /// The principal's permissions boundary (AWS allows one; several are all required).
    pub boundaries: Vec<&'p CompiledPolicy>,
    /// The session policy of an assumed-role session, when one was passed.
    pub session: Option<&'p CompiledPolicy>,
    /// SCP levels of the principal's account, root first; every level must allow.
    pub scps: Vec<Vec<&'p CompiledPolicy>>,
    /// RCP levels of the resource's account, root first.
    pub rcps: Vec<Vec<&'p CompiledPolicy>>,
}

/// The full answer: the outcome, what each kind of policy said, and the statements that decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision<'p> {
    /// The final answer.
    pub decision: Outcome,
    /// Why it came out so.
    pub reason: Reason,
    /// What the identity policies said.
    pub identity: SideResult,
    /// What the resource policy said.
    pub resource: SideResult,
    /// What the permissions boundaries said.
    pub boundary: SideResult,
    /// What the session policy said.
    pub session: SideResult,
    /// What the SCPs said, over every level.
    pub scp: SideResult,
    /// What the RCPs said, over every level.
    pub rcp: SideResult,
    /// On a Deny, the Deny statements that applied; otherwise the Allow statements that applied
    /// (SCP and RCP allows left out).
    pub matched: Vec<StatementRef<'p>>,
}

/// The outcome alone, without allocating.
pub fn decide(req: &Request, set: &PolicySet<'_>) -> Outcome {
    run(req, set, &mut |_| {}).decision
}

/// The outcome with the per-side results and the statements that decided.
pub fn evaluate<'p>(req: &Request, set: &PolicySet<'p>) -> Decision<'p> {
    let mut all = Vec::new();
    let summary = run(req, set, &mut |s| all.push(s));
    let keep = if summary.decision == Outcome::ExplicitDeny { Effect::Deny } else { Effect::Allow };
    all.retain(|s| s.effect == keep && (keep == Effect::Deny || !matches!(s.kind, PolicyKind::Scp | PolicyKind::Rcp)));
    Decision {
        decision: summary.decision,
        reason: summary.reason,
        identity: summary.identity,
        resource: summary.resource,
        boundary: summary.boundary,
        session: summary.session,
        scp: summary.scp,
        rcp: summary.rcp,
        matched: all,
    }
}

struct Summary {
    decision: Outcome,
    reason: Reason,
    identity: SideResult,
    resource: SideResult,
    boundary: SideResult,
    session: SideResult,
    scp: SideResult,
    rcp: SideResult,
}

/// What the resource policy said, with the facts the combination rules need.
#[derive(Default)]
struct ResourceFacts {
    deny: bool,
    /// The best principal match among applicable Allow statements.
    best_allow: Option<PrincipalMatch>,
    /// An applicable Allow names the principal's account: the resource delegates to the account.
    account_allow: bool,
    /// An applicable Allow that names the principal exactly or as `*`, which an implicit
    /// deny in a permissions boundary does not limit (for users and sessions).
    boundary_bypass: bool,
    /// An applicable Allow that names the session's exact ARN, which a session policy does not limit.
    session_bypass: bool,
}

fn run<'p>(req: &Request, set: &PolicySet<'p>, sink: &mut dyn FnMut(StatementRef<'p>)) -> Summary {
    let service = req.service_folded();
    let kind = req.principal.kind;
    let is_service_principal = kind == PrincipalKind::Service;
    // An anonymous request has no identity: "identity-based policies, permissions boundaries,
    // session policies and SCPs" apply to principals, so only resource policies (and RCPs,
    // which apply to the resource) decide it (AWS, "Policy evaluation logic"; Amazon S3 User
    // Guide, "Bucket policies": `"Principal": "*"` grants anonymous access).
    let anonymous = kind == PrincipalKind::Anonymous;
    // The root user: no identity policy can be attached to it and it has every permission in
    // its own account; boundaries and session policies do not apply to it. SCPs still do
    // (AWS, "Determining whether a request is allowed or denied within an account";
    // AWS Organizations User Guide, "Service control policies").
    let root = kind == PrincipalKind::Root;
    let principal_side = !anonymous && !root;

    let identity = if anonymous {
        SideResult::NotApplicable
    } else if root {
        SideResult::Allowed
    } else {
        side(PolicyKind::Identity, &set.identity, req, sink)
    };
    let boundary = if set.boundaries.is_empty() || !principal_side {
        SideResult::NotApplicable
    } else {
        side(PolicyKind::Boundary, &set.boundaries, req, sink)
    };
    let session = match set.session {
        Some(p) if principal_side => side(PolicyKind::Session, std::slice::from_ref(&p), req, sink),
        _ => SideResult::NotApplicable,
    };
    let (scp, scp_level) = if is_service_principal || anonymous {
        (SideResult::NotApplicable, None)
    } else {
        levels(PolicyKind::Scp, &set.scps, req, sink, false)
    };
    let (rcp, rcp_level) = if is_service_principal {
        (SideResult::NotApplicable, None)
    } else {
        levels(PolicyKind::Rcp, &set.rcps, req, sink, true)
    };
    let (resource, facts) = match set.resource {
        Some(p) => resource_side(p, req, boundary != SideResult::NotApplicable, sink),
        None => (SideResult::NotApplicable, ResourceFacts::default()),
    };

    let summary = |decision, reason| Summary { decision, reason, identity, resource, boundary, session, scp, rcp };

    match always::rule(req) {
        Some(always::Rule::Allow) => return summary(Outcome::Allowed, Reason::CallerIdentity),
        Some(always::Rule::Deny(what)) => return summary(Outcome::ExplicitDeny, Reason::AwsManaged(what)),
        None => {}
    }
    let denied = [identity, resource, boundary, session, scp, rcp].contains(&SideResult::ExplicitDeny);
    if denied {
        return summary(Outcome::ExplicitDeny, Reason::ExplicitDeny);
    }
    let implicit = |reason| summary(Outcome::ImplicitDeny, reason);
    if let Some(level) = scp_level {
        return implicit(Reason::Scp(level));
    }
    if let Some(level) = rcp_level {
        return implicit(Reason::Rcp(level));
    }

    let resource_direct = facts.best_allow.is_some_and(PrincipalMatch::is_direct);
    let resource_account_only = facts.best_allow == Some(PrincipalMatch::Account);

    if anonymous {
        let everyone = matches!(facts.best_allow, Some(PrincipalMatch::Wildcard | PrincipalMatch::NotPrincipal));
        return if everyone {
            summary(Outcome::Allowed, Reason::AllowedByResource)
        } else {
            implicit(Reason::Anonymous)
        };
    }
    // "You cannot use AWS account root user credentials to call AssumeRole" (AWS STS API
    // Reference, AssumeRole).
    if root && service == "sts" && req.action_name_folded() == "assumerole" {
        return implicit(Reason::RootAssumeRole);
    }

    if is_service_principal {
        return if resource_direct {
            summary(Outcome::Allowed, Reason::AllowedByResource)
        } else {
            implicit(Reason::ServicePrincipal)
        };
    }

    let same_account = req.same_account();
    if session == SideResult::ImplicitDeny && !(same_account && facts.session_bypass) {
        return implicit(Reason::SessionPolicy);
    }

    let identity_allows = identity == SideResult::Allowed;
    if !same_account {
        let resource_allows = resource_direct || resource_account_only;
        return match (identity_allows, resource_allows) {
            (true, true) if boundary == SideResult::ImplicitDeny => implicit(Reason::Boundary),
            (true, true) => summary(Outcome::Allowed, Reason::AllowedByBoth),
            (true, false) => implicit(Reason::CrossAccountNoResourceAllow),
            (false, true) => implicit(Reason::CrossAccountNoIdentityAllow),
            (false, false) => implicit(Reason::CrossAccountNeither),
        };
    }

    // Within the account: does the service take the account's identity policies on trust,
    // or must the resource policy delegate to the account first?
    let arn = req.resource_head_and_rest();
    let role_resource =
        arn.is_some_and(|(head, rest)| head.text.split(':').nth(1) == Some("iam") && rest.starts_with("role/"));
    let key_resource = arn.is_some_and(|(_, rest)| rest.get(..4).is_some_and(|t| t.eq_ignore_ascii_case("key/")));
    let (identity_counts, missing_reason) = if service == "sts" && set.resource.is_some() {
        (facts.account_allow, Reason::TrustPolicy)
    } else if service == "sts" && role_resource {
        return implicit(Reason::TrustPolicyMissing);
    } else if service == "kms" && key_resource {
        (facts.account_allow, Reason::KeyPolicy)
    } else {
        (true, Reason::NoAllow)
    };
    let by_identity = identity_allows && identity_counts;
    if !by_identity && !resource_direct {
        return implicit(if identity_allows || set.resource.is_some() { missing_reason } else { Reason::NoAllow });
    }
    if boundary == SideResult::ImplicitDeny && !facts.boundary_bypass {
        return implicit(Reason::Boundary);
    }
    let reason = match (by_identity, resource_direct) {
        (true, true) => Reason::AllowedByBoth,
        (false, true) => Reason::AllowedByResource,
        _ => Reason::AllowedByIdentity,
    };
    summary(Outcome::Allowed, reason)
}

/// Identity-like policies (identity, boundary, session): Deny beats Allow beats nothing.
fn side<'p>(
    kind: PolicyKind,
    policies: &[&'p CompiledPolicy],
    req: &Request,
    sink: &mut dyn FnMut(StatementRef<'p>),
) -> SideResult {
    let (mut allow, mut deny) = (false, false);
    for policy in policies {
        for s in &policy.statements {
            if s.applies(req) {
                sink(StatementRef { kind, policy: &policy.label, statement: &s.id, effect: s.effect });
                match s.effect {
                    Effect::Allow => allow = true,
                    Effect::Deny => deny = true,
                }
            }
        }
    }
    if deny {
        SideResult::ExplicitDeny
    } else if allow {
        SideResult::Allowed
    } else {
        SideResult::ImplicitDeny
    }
}

/// SCP or RCP levels: a Deny at any level wins, and every level needs an Allow.
/// Returns the first level without an Allow, if any.
fn levels<'p>(
    kind: PolicyKind,
    levels: &[Vec<&'p CompiledPolicy>],
    req: &Request,
    sink: &mut dyn FnMut(StatementRef<'p>),
    full_access_attached: bool,
) -> (SideResult, Option<usize>) {
    if levels.is_empty() {
        return (SideResult::NotApplicable, None);
    }
    let mut deny = false;
    let mut missing = None;
    for (i, level) in levels.iter().enumerate() {
        match side(kind, level, req, sink) {
            SideResult::ExplicitDeny => deny = true,
            SideResult::Allowed => {}
            _ if full_access_attached => {}
            _ => missing = missing.or(Some(i)),
        }
    }
    if deny {
        (SideResult::ExplicitDeny, None)
    } else if let Some(level) = missing {
        (SideResult::ImplicitDeny, Some(level))
    } else {
        (SideResult::Allowed, None)
    }
}

fn resource_side<'p>(
    policy: &'p CompiledPolicy,
    req: &Request,
    has_boundary: bool,
    sink: &mut dyn FnMut(StatementRef<'p>),
) -> (SideResult, ResourceFacts) {
    let mut facts = ResourceFacts::default();
    let kind = req.principal.kind;
    for s in &policy.statements {
        if !s.targets(req) {
            continue;
        }
        let mut m = s.principal_match(req);
        // AWS: a Deny with NotPrincipal always denies a principal that has a permissions boundary.
        if has_boundary && s.effect == Effect::Deny && matches!(s.principal, compile::PrincipalSpec::Not(_)) {
            m = PrincipalMatch::NotPrincipal;
        }
        if m == PrincipalMatch::None || !s.conditions_hold(req) {
            continue;
        }
        sink(StatementRef { kind: PolicyKind::Resource, policy: &policy.label, statement: &s.id, effect: s.effect });
        match s.effect {
            Effect::Deny => facts.deny = true,
            Effect::Allow => {
                facts.best_allow = facts.best_allow.max(Some(m));
                facts.account_allow |= m == PrincipalMatch::Account;
                let exact_or_star =
                    matches!(m, PrincipalMatch::Exact | PrincipalMatch::Wildcard | PrincipalMatch::NotPrincipal);
                facts.boundary_bypass |= match kind {
                    PrincipalKind::AssumedRole | PrincipalKind::User | PrincipalKind::FederatedUser => exact_or_star,
                    PrincipalKind::Role => exact_or_star && s.has_wildcard_principal(),
                    _ => false,
                };
                facts.session_bypass |= m == PrincipalMatch::Exact
                    && matches!(kind, PrincipalKind::AssumedRole | PrincipalKind::FederatedUser);
            }
        }
    }
    let result = if facts.deny {
        SideResult::ExplicitDeny
    } else {
        match facts.best_allow {
            Some(PrincipalMatch::Account) => SideResult::AllowedForAccount,
            Some(_) => SideResult::Allowed,
            None => SideResult::ImplicitDeny,
        }
    };
    (result, facts)
}

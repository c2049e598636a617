//! Policy documents compiled into matchers: lowercased action patterns,
//! pre-split resource ARNs, parsed principals and typed condition values.

use crate::document::{OneOrMany, PolicyDocument, Principal, Statement, VERSION_2012};

use super::condition::{CompiledCondition, ConditionError};
use super::pattern::{covers, intersect, request_atoms, Atom, Pattern, Syntax};
use super::request::{ArnParts, Hashed, PrincipalKind, Request};

/// Why a policy document could not be compiled. `statement` is the Sid, or the index when there is none.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CompileError {
    /// `Effect` is neither `Allow` nor `Deny`.
    #[error("statement `{statement}`: effect `{effect}` is neither `Allow` nor `Deny`")]
    Effect {
        /// The statement's Sid, or its 0-based index when it has none.
        statement: String,
        /// The effect as written.
        effect: String,
    },
    /// The statement has neither `Action` nor `NotAction`.
    #[error("statement `{statement}` has neither `Action` nor `NotAction`")]
    NoAction {
        /// The statement's Sid, or its 0-based index when it has none.
        statement: String,
    },
    /// The statement has both an element and its `Not` form.
    #[error("statement `{statement}` has both `{element}` and `Not{element}`")]
    Both {
        /// The statement's Sid, or its 0-based index when it has none.
        statement: String,
        /// `Principal`, `Action` or `Resource`.
        element: &'static str,
    },
    /// A condition operator the evaluator does not know.
    #[error("statement `{statement}`: unknown condition operator `{operator}`")]
    Operator {
        /// The statement's Sid, or its 0-based index when it has none.
        statement: String,
        /// The operator as written.
        operator: String,
    },
    /// A condition value that is an object, an array inside an array, or `null`.
    #[error("statement `{statement}`: the value of `{key}` under `{operator}` is not a string, number or boolean")]
    ConditionValue {
        /// The statement's Sid, or its 0-based index when it has none.
        statement: String,
        /// The condition operator.
        operator: String,
        /// The condition key whose value is refused.
        key: String,
    },
    /// A principal map key other than `AWS`, `Service`, `Federated` and `CanonicalUser`.
    #[error(
        "statement `{statement}`: principal type `{kind}` is not `AWS`, `Service`, `Federated` or `CanonicalUser`"
    )]
    PrincipalType {
        /// The statement's Sid, or its 0-based index when it has none.
        statement: String,
        /// The principal type as written.
        kind: String,
    },
}

/// Allow or Deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// `"Effect": "Allow"`.
    Allow,
    /// `"Effect": "Deny"`.
    Deny,
}

impl Effect {
    /// `Allow` or `Deny`, as written in a document.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

/// A policy compiled for evaluation, with the label that names it in explanations.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledPolicy {
    pub(crate) label: String,
    pub(crate) statements: Vec<CompiledStatement>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CompiledStatement {
    /// The Sid, or the statement's index.
    pub(crate) id: String,
    pub(crate) effect: Effect,
    pub(crate) principal: PrincipalSpec,
    actions: Element<ActionPattern>,
    resources: Option<Element<ResourcePattern>>,
    conditions: Vec<CompiledCondition>,
}

#[derive(Debug, Clone, PartialEq)]
enum Element<T> {
    Is(Vec<T>),
    Not(Vec<T>),
}

#[derive(Debug, Clone, PartialEq)]
enum ActionPattern {
    All,
    /// `name_exact` is the folded name when it has no wildcard, compared hash first.
    Service {
        service: Hashed,
        name: Pattern,
        name_exact: Option<Hashed>,
    },
    /// Not of the form `service:name`: matches nothing.
    Invalid,
}

#[derive(Debug, Clone, PartialEq)]
enum ResourcePattern {
    All,
    Arn {
        head: Head,
        /// The resource type prefix (`role/`, `key/`), which takes no wildcard.
        product: Box<str>,
        rest: Pattern,
    },
    /// Not an ARN with six parts: matches nothing.
    Invalid,
}

/// partition, service, region and account of a resource pattern: matched per segment,
/// without regard to case.
#[derive(Debug, Clone, PartialEq)]
enum Head {
    /// No wildcard or variable: `partition:service:region:account` in ASCII lower case,
    /// compared with the request's in one go.
    Exact(Hashed),
    Patterns(Box<[Pattern; 4]>),
}

/// The `Principal` or `NotPrincipal` element of a statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PrincipalSpec {
    None,
    Is(Vec<PrincipalItem>),
    Not(Vec<PrincipalItem>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PrincipalItem {
    Wildcard,
    Account(Box<str>),
    /// An IAM role ARN: also matches the role's sessions.
    Role {
        arn: Hashed,
        partition: Box<str>,
        account: Box<str>,
        name: Box<str>,
    },
    /// Any other AWS ARN (user, session, federated user): matched exactly.
    Arn(Hashed),
    Service(Hashed),
    Federated(Hashed),
    CanonicalUser(Hashed),
}

/// How a principal element matched the request's principal, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum PrincipalMatch {
    None,
    /// The element names the principal's account (or its root): AWS reads this as
    /// a delegation to the account's own IAM policies.
    Account,
    /// The element names the role, the principal is one of its sessions.
    SessionRole,
    /// The element names the IAM user, the principal is its federated session.
    SessionUser,
    /// `NotPrincipal` that does not exclude the principal.
    NotPrincipal,
    /// `*`.
    Wildcard,
    /// The element names the principal's exact ARN (or service, or identity provider).
    Exact,
}

impl PrincipalMatch {
    /// Matches at the principal level, which grant on their own within one account.
    pub(crate) fn is_direct(self) -> bool {
        self >= PrincipalMatch::SessionRole
    }
}

impl CompiledPolicy {
    /// Compiles a document; the label defaults to the document's `Id` or `policy`.
    pub fn compile(doc: &PolicyDocument) -> Result<CompiledPolicy, CompileError> {
        CompiledPolicy::compile_where(doc, None)
    }

    /// Compiles only the statements whose `Action` or `NotAction` takes in `req`'s action:
    /// the others cannot apply to it, so a policy that decides this one request needs no
    /// more. The skipped statements' principals and conditions are not checked; callers
    /// check the document first ([`crate::validate::refusals`] refuses all that
    /// [`CompileError`] names).
    pub fn compile_for(doc: &PolicyDocument, req: &Request) -> Result<CompiledPolicy, CompileError> {
        CompiledPolicy::compile_where(doc, Some(req))
    }

    fn compile_where(doc: &PolicyDocument, only_for: Option<&Request>) -> Result<CompiledPolicy, CompileError> {
        let variables = doc.version.as_deref() == Some(VERSION_2012);
        let mut statements = Vec::with_capacity(doc.statement.len());
        for (i, s) in doc.statement.iter().enumerate() {
            statements.extend(compile_statement(i, s, variables, only_for)?);
        }
        Ok(CompiledPolicy { label: doc.id.clone().unwrap_or_else(|| "policy".to_owned()), statements })
    }

    /// Names the policy in explanations, e.g. `account 222222222222 bucket policy my-bucket`.
    pub fn labeled(mut self, label: impl Into<String>) -> CompiledPolicy {
        self.label = label.into();
        self
    }

    /// The label that names the policy in explanations: the one given to [`Self::labeled`],
    /// else the document's Id, else `policy`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// How many statements the policy has.
    pub fn len(&self) -> usize {
        self.statements.len()
    }

    /// Whether the policy has no statement.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }
}

/// The statement compiled, or `None` when `only_for` is given and the statement's actions
/// leave its action out.
fn compile_statement(
    index: usize,
    s: &Statement,
    variables: bool,
    only_for: Option<&Request>,
) -> Result<Option<CompiledStatement>, CompileError> {
    let statement_id = || statement_id(index, s);
    let effect = match s.effect.as_str() {
        "Allow" => Effect::Allow,
        "Deny" => Effect::Deny,
        other => return Err(CompileError::Effect { statement: statement_id(), effect: other.to_owned() }),
    };
    // A statement that cannot apply to the one request it is compiled for is left out
    // before anything of it is built.
    if let Some(req) = only_for {
        let names = |list: &OneOrMany<String>| {
            list.iter().map(|a| action_text_matches(a, req)).try_fold(false, |any, m| Some(any || m?))
        };
        let applies = match (&s.action, &s.not_action) {
            (Some(a), None) => names(a),
            (None, Some(a)) => names(a).map(|any| !any),
            _ => None,
        };
        match applies {
            Some(false) => return Ok(None),
            // The statement names the one action it is compiled for.
            Some(true) => return compile_rest(index, s, effect, Element::Is(vec![ActionPattern::All]), variables),
            None => {}
        }
    }
    let actions = match (&s.action, &s.not_action) {
        (Some(a), None) => Element::Is(a.iter().map(|a| action_pattern(a)).collect()),
        (None, Some(a)) => Element::Not(a.iter().map(|a| action_pattern(a)).collect()),
        (Some(_), Some(_)) => return Err(CompileError::Both { statement: statement_id(), element: "Action" }),
        (None, None) => return Err(CompileError::NoAction { statement: statement_id() }),
    };
    if only_for.is_some_and(|req| !actions_match(&actions, req)) {
        return Ok(None);
    }
    compile_rest(index, s, effect, actions, variables)
}

/// How explanations and errors name a statement: its Sid, else its 0-based index.
fn statement_id(index: usize, s: &Statement) -> String {
    s.sid.clone().filter(|sid| !sid.is_empty()).unwrap_or_else(|| index.to_string())
}

/// The statement compiled from its resources, principals and conditions on, with its actions
/// already compiled.
fn compile_rest(
    index: usize,
    s: &Statement,
    effect: Effect,
    actions: Element<ActionPattern>,
    variables: bool,
) -> Result<Option<CompiledStatement>, CompileError> {
    let id = statement_id(index, s);
    let both = |element| CompileError::Both { statement: id.clone(), element };
    let resource = |r: &OneOrMany<String>| r.iter().map(|r| resource_pattern(r, variables)).collect();
    let resources = match (&s.resource, &s.not_resource) {
        (Some(r), None) => Some(Element::Is(resource(r))),
        (None, Some(r)) => Some(Element::Not(resource(r))),
        (Some(_), Some(_)) => return Err(both("Resource")),
        (None, None) => None,
    };
    let principal = match (&s.principal, &s.not_principal) {
        (Some(p), None) => PrincipalSpec::Is(principal_items(&id, p)?),
        (None, Some(p)) => PrincipalSpec::Not(principal_items(&id, p)?),
        (Some(_), Some(_)) => return Err(both("Principal")),
        (None, None) => PrincipalSpec::None,
    };
    let mut conditions = Vec::new();
    for (operator, keys) in s.condition.iter().flatten() {
        for (key, values) in keys {
            let values = values
                .iter()
                .map(|v| match v {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Bool(b) => Some(b.to_string()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect::<Option<Vec<String>>>()
                .ok_or_else(|| CompileError::ConditionValue {
                    statement: id.clone(),
                    operator: operator.clone(),
                    key: key.clone(),
                })?;
            let cond = CompiledCondition::compile(operator, key, &values, variables).map_err(|e| match e {
                ConditionError::Operator => {
                    CompileError::Operator { statement: id.clone(), operator: operator.clone() }
                }
            })?;
            conditions.push(cond);
        }
    }
    Ok(Some(CompiledStatement { id, effect, principal, actions, resources, conditions }))
}

/// Whether the Action entry `text` names the request's action, as [`action_pattern`] and
/// [`actions_match`] decide it, without building the pattern; `None` when that is not
/// known without it (text that is not ASCII, a pattern of many pieces).
fn action_text_matches(text: &str, req: &Request) -> Option<bool> {
    if text == "*" {
        return Some(true);
    }
    if !text.is_ascii() {
        return None;
    }
    match text.split_once(':') {
        Some((service, name)) if !service.is_empty() && !name.is_empty() && !name.contains(char::is_whitespace) => {
            if !service.eq_ignore_ascii_case(&req.service_hashed.text) {
                return Some(false);
            }
            if !name.bytes().any(|b| b == b'*' || b == b'?') {
                return Some(name.eq_ignore_ascii_case(req.action_name_folded()));
            }
            super::pattern::wildcard_matches_ascii(name, req.action_name_folded())
        }
        _ => Some(false),
    }
}

fn action_pattern(text: &str) -> ActionPattern {
    if text == "*" {
        return ActionPattern::All;
    }
    match text.split_once(':') {
        Some((service, name)) if !service.is_empty() && !name.is_empty() && !name.contains(char::is_whitespace) => {
            let syntax = Syntax { wildcards: true, variables: false, ignore_case: true };
            let service = Hashed::owned(service.to_ascii_lowercase());
            if name.contains(['*', '?']) {
                ActionPattern::Service { service, name: Pattern::new(name, syntax), name_exact: None }
            } else {
                // An exact name is compared by its hash; the pattern is left empty.
                let exact = Hashed::owned(name.to_ascii_lowercase());
                ActionPattern::Service { service, name: Pattern::new("", syntax), name_exact: Some(exact) }
            }
        }
        _ => ActionPattern::Invalid,
    }
}

fn resource_pattern(text: &str, variables: bool) -> ResourcePattern {
    if text == "*" {
        return ResourcePattern::All;
    }
    let Some(arn) = ArnParts::parse(text) else {
        return ResourcePattern::Invalid;
    };
    let head_syntax = Syntax { wildcards: true, variables, ignore_case: true };
    let parts = [arn.partition(), arn.service(), arn.region(), arn.account()];
    let has_pattern = |p: &&str| p.contains(['*', '?']) || (variables && p.contains("${"));
    let plain = !parts.iter().any(has_pattern);
    let head = if plain {
        let mut head = parts.join(":");
        head.make_ascii_lowercase();
        Head::Exact(Hashed::owned(head))
    } else {
        Head::Patterns(Box::new(parts.map(|part| Pattern::new(part, head_syntax))))
    };
    let resource = arn.resource();
    // S3 bucket and object ARNs have no resource type; elsewhere the type ends at the first `/` or `:`.
    let s3 = arn.service() == "s3" && arn.region().is_empty() && arn.account().is_empty();
    let split = if s3 { 0 } else { resource.find(['/', ':']).map_or(0, |i| i + 1) };
    let (product, rest) = resource.split_at(split);
    let rest = Pattern::new(rest, Syntax { wildcards: true, variables, ignore_case: false });
    ResourcePattern::Arn { head, product: product.into(), rest }
}

fn principal_items(statement: &str, p: &Principal) -> Result<Vec<PrincipalItem>, CompileError> {
    let map = match p {
        Principal::Star(s) if s == "*" => return Ok(vec![PrincipalItem::Wildcard]),
        // A bare string other than `*` is read as `{"AWS": s}` (docs/, the `simulate` case
        // format). AWS refuses such a document when it is written, and `validate` says so.
        Principal::Star(s) => return Ok(vec![aws_principal(s)]),
        Principal::Map(map) => map,
    };
    let mut items = Vec::new();
    for (kind, values) in map {
        for value in values.iter() {
            let v = Hashed::new(value);
            items.push(match kind.as_str() {
                "AWS" => aws_principal(value),
                "Service" => PrincipalItem::Service(v),
                "Federated" => PrincipalItem::Federated(v),
                "CanonicalUser" => PrincipalItem::CanonicalUser(v),
                _ => {
                    return Err(CompileError::PrincipalType { statement: statement.to_owned(), kind: kind.clone() });
                }
            });
        }
    }
    Ok(items)
}

fn aws_principal(value: &str) -> PrincipalItem {
    if value == "*" {
        return PrincipalItem::Wildcard;
    }
    if crate::arn::AccountId::is_valid(value) {
        return PrincipalItem::Account(value.into());
    }
    if let Some(arn) = ArnParts::parse(value) {
        if arn.service() == "iam" && arn.resource() == "root" {
            return PrincipalItem::Account(arn.account().into());
        }
        if arn.service() == "iam" && arn.resource().starts_with("role/") {
            let name = arn.resource().rsplit('/').next().unwrap_or_default();
            return PrincipalItem::Role {
                arn: Hashed::new(value),
                partition: arn.partition().into(),
                account: arn.account().into(),
                name: name.into(),
            };
        }
    }
    PrincipalItem::Arn(Hashed::new(value))
}

impl PrincipalItem {
    fn matches(&self, req: &Request) -> PrincipalMatch {
        let p = &req.principal;
        let exact = |v: &Hashed| if v.is(&p.hashed) { PrincipalMatch::Exact } else { PrincipalMatch::None };
        match self {
            PrincipalItem::Wildcard => PrincipalMatch::Wildcard,
            PrincipalItem::Account(account) => {
                if !p.account.is_empty() && p.account == *account {
                    PrincipalMatch::Account
                } else {
                    PrincipalMatch::None
                }
            }
            PrincipalItem::Role { arn, partition, account, name } => {
                if p.kind == PrincipalKind::AssumedRole
                    && p.partition == *partition
                    && p.account == *account
                    && p.name.eq_ignore_ascii_case(name)
                {
                    PrincipalMatch::SessionRole
                } else {
                    exact(arn)
                }
            }
            PrincipalItem::Arn(arn) => {
                if p.kind == PrincipalKind::FederatedUser && federated_user_arn_is(p, &arn.text) {
                    PrincipalMatch::SessionUser
                } else {
                    exact(arn)
                }
            }
            PrincipalItem::Service(v) | PrincipalItem::Federated(v) | PrincipalItem::CanonicalUser(v) => exact(v),
        }
    }
}

/// Whether `arn` is `arn:<partition>:iam::<account>:user/<name>` for the federated user's IAM user.
fn federated_user_arn_is(p: &super::request::RequestPrincipal, arn: &str) -> bool {
    let Some(parts) = ArnParts::parse(arn) else {
        return false;
    };
    parts.service() == "iam"
        && parts.region().is_empty()
        && parts.partition() == &*p.partition
        && parts.account() == &*p.account
        && parts.resource().strip_prefix("user/") == Some(&*p.name)
}

/// Whether an `Action` or `NotAction` element takes in the request's action.
fn actions_match(actions: &Element<ActionPattern>, req: &Request) -> bool {
    let one = |a: &ActionPattern| match a {
        ActionPattern::All => true,
        ActionPattern::Service { service, name, name_exact } => {
            service.is(&req.service_hashed)
                && match name_exact {
                    Some(exact) => exact.is(&req.name_hashed),
                    None => name.matches_folded(req.action_name_folded(), &req.context) == Some(true),
                }
        }
        ActionPattern::Invalid => false,
    };
    match actions {
        Element::Is(list) => list.iter().any(one),
        Element::Not(list) => !list.iter().any(one),
    }
}

impl CompiledStatement {
    /// Action, resource and conditions; the principal is checked separately.
    pub(crate) fn applies(&self, req: &Request) -> bool {
        self.targets(req) && self.conditions_hold(req)
    }

    /// Action and resource.
    pub(crate) fn targets(&self, req: &Request) -> bool {
        self.action_matches(req) && self.resource_matches(req)
    }

    pub(crate) fn conditions_hold(&self, req: &Request) -> bool {
        self.conditions.iter().all(|c| c.matches(&req.context))
    }

    fn action_matches(&self, req: &Request) -> bool {
        actions_match(&self.actions, req)
    }

    fn resource_matches(&self, req: &Request) -> bool {
        if req.resource_wild {
            return self.resource_meets(req);
        }
        let arn = req.resource_head_and_rest();
        // `None` when a policy variable has no value: such an entry matches nothing, and
        // a `NotResource` holding one does not apply either.
        let one = |r: &ResourcePattern| -> Option<bool> {
            match r {
                ResourcePattern::All => Some(true),
                ResourcePattern::Invalid => Some(false),
                ResourcePattern::Arn { head, product, rest } => {
                    let Some((req_head, req_rest)) = arn else { return Some(false) };
                    let ctx = &req.context;
                    match head {
                        Head::Exact(h) => {
                            if !h.is(req_head) {
                                return Some(false);
                            }
                        }
                        Head::Patterns(patterns) => {
                            for (p, part) in patterns.iter().zip(req_head.text.splitn(4, ':')) {
                                if !p.matches_folded(part, ctx)? {
                                    return Some(false);
                                }
                            }
                        }
                    }
                    match req_rest.strip_prefix(&**product) {
                        Some(tail) => rest.matches(tail, ctx),
                        None => Some(false),
                    }
                }
            }
        };
        match &self.resources {
            None => true,
            Some(Element::Is(list)) => list.iter().any(|r| one(r) == Some(true)),
            Some(Element::Not(list)) => list.iter().all(|r| one(r) == Some(false)),
        }
    }

    /// `Resource` and `NotResource` against a request resource that holds wildcards, which
    /// stands for every resource it matches (the `simulate` case format, `docs/simulate.md`):
    /// - a `Resource` entry applies when its pattern and the request's intersect: some
    ///   resource matches both;
    /// - a `NotResource` element applies unless one of its entries covers the request's
    ///   pattern, so that no resource the request stands for is left out.
    fn resource_meets(&self, req: &Request) -> bool {
        let Some(resources) = &self.resources else { return true };
        let request = RequestGlob::new(req);
        match resources {
            Element::Is(list) => list.iter().any(|r| request.relate(r, req, false) == Some(true)),
            Element::Not(list) => list.iter().all(|r| request.relate(r, req, true) == Some(false)),
        }
    }

    /// How the statement's principal element matches the request's principal.
    pub(crate) fn principal_match(&self, req: &Request) -> PrincipalMatch {
        match &self.principal {
            PrincipalSpec::None => PrincipalMatch::None,
            PrincipalSpec::Is(items) => items.iter().map(|i| i.matches(req)).max().unwrap_or(PrincipalMatch::None),
            PrincipalSpec::Not(items) => {
                if items.iter().all(|i| i.matches(req) == PrincipalMatch::None) {
                    PrincipalMatch::NotPrincipal
                } else {
                    PrincipalMatch::None
                }
            }
        }
    }

    pub(crate) fn has_wildcard_principal(&self) -> bool {
        matches!(&self.principal, PrincipalSpec::Is(items) if items.contains(&PrincipalItem::Wildcard))
    }
}

/// A request resource with wildcards, as atoms per ARN part.
struct RequestGlob {
    /// `None` for `*` alone, or text that is not an ARN: it relates to every ARN pattern.
    head: Option<[Vec<Atom>; 4]>,
    rest: Vec<Atom>,
}

impl RequestGlob {
    fn new(req: &Request) -> RequestGlob {
        match ArnParts::parse(&req.resource) {
            Some(arn) => {
                let part = |p: &str| request_atoms(&p.to_ascii_lowercase());
                RequestGlob {
                    head: Some([part(arn.partition()), part(arn.service()), part(arn.region()), part(arn.account())]),
                    rest: request_atoms(arn.resource()),
                }
            }
            None => RequestGlob { head: None, rest: Vec::new() },
        }
    }

    /// Whether `pattern` meets the request's pattern (or, `covering`, covers it) in every
    /// part. `None` when a policy variable has no value.
    fn relate(&self, pattern: &ResourcePattern, req: &Request, covering: bool) -> Option<bool> {
        let relation = if covering { covers } else { intersect };
        let ctx = &req.context;
        match pattern {
            ResourcePattern::All => Some(true),
            ResourcePattern::Invalid => Some(false),
            ResourcePattern::Arn { head, product, rest } => {
                let Some(request_head) = &self.head else {
                    // The request is `*` (or not an ARN): it meets every ARN pattern and is
                    // covered by none but `*`.
                    return Some(!covering);
                };
                let parts: [Vec<Atom>; 4] = match head {
                    // An exact head holds no `*` or `?`, so its atoms are all characters.
                    Head::Exact(h) => {
                        let mut split = h.text.splitn(4, ':');
                        let mut next = || request_atoms(split.next().unwrap_or_default());
                        [next(), next(), next(), next()]
                    }
                    Head::Patterns(patterns) => {
                        let [a, b, c, d] = &**patterns;
                        [a.atoms("", ctx)?, b.atoms("", ctx)?, c.atoms("", ctx)?, d.atoms("", ctx)?]
                    }
                };
                for (p, r) in parts.iter().zip(request_head) {
                    if !relation(p, r, true) {
                        return Some(false);
                    }
                }
                Some(relation(&rest.atoms(product, ctx)?, &self.rest, false))
            }
        }
    }
}

//! The request being decided: principal, action, resource and context.
//!
//! A [`Request`] is prepared once (the principal and the resource ARN are
//! parsed, the global condition keys AWS fills itself are added), so that
//! evaluating it against any number of policy sets allocates nothing.

use std::fmt;

/// Why a request could not be prepared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The principal is the empty string.
    #[error("principal is empty")]
    Principal,
    /// The action is not `service:name` with both parts non-empty; holds the action.
    #[error("action `{0}` is not of the form `service:name`")]
    Action(String),
    /// The resource's ARN has no account (S3) and none was given; holds the resource.
    #[error("resource `{0}` carries no account: give the resource account")]
    ResourceAccount(String),
}

/// A context value: one string, or a set of strings for a multivalued key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A single-valued key, e.g. `aws:SourceIp`.
    Single(String),
    /// A multivalued key, matched with `ForAnyValue:` and `ForAllValues:` operators.
    Multi(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    /// The key in lower case: condition keys are case-insensitive.
    key: Box<str>,
    hash: u64,
    value: Value,
}

/// A context key in lower case with its hash, compiled once into conditions and variables
/// so that a lookup compares hashes before strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key {
    pub(crate) name: Box<str>,
    hash: u64,
}

impl Key {
    pub(crate) fn new(name: &str) -> Key {
        let name = name.to_ascii_lowercase();
        Key { hash: fnv1a(&name), name: name.into() }
    }
}

/// A string with its hash, compared hash first: interned action and principal names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hashed {
    pub(crate) text: Box<str>,
    pub(crate) hash: u64,
}

impl Hashed {
    pub(crate) fn new(text: &str) -> Hashed {
        Hashed { hash: fnv1a(text), text: text.into() }
    }
    /// Like [`Hashed::new`], keeping the string's own buffer.
    pub(crate) fn owned(text: String) -> Hashed {
        Hashed { hash: fnv1a(&text), text: text.into_boxed_str() }
    }
    #[inline]
    pub(crate) fn is(&self, other: &Hashed) -> bool {
        self.hash == other.hash && self.text == other.text
    }
}

/// FNV-1a, 64 bits: short keys, no allocation, no dependency.
pub(crate) fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The request context: condition keys and their values. Keys compare without regard to case.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    entries: Vec<Entry>,
}

/// What a context lookup found.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Lookup<'a> {
    Missing,
    Single(&'a str),
    Multi(&'a [String]),
}

/// Global keys that AWS always presents as sets, even with one member.
const MULTIVALUED: [&str; 6] = [
    "aws:tagkeys",
    "aws:principalorgpaths",
    "aws:calledvia",
    "aws:principalservicenameslist",
    "aws:sourceorgpaths",
    "aws:resourceorgpaths",
];

impl Context {
    /// An empty context.
    pub fn new() -> Context {
        Context::default()
    }

    /// Sets a single-valued key, replacing any earlier value.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Context {
        self.set(key, Value::Single(value.into()));
        self
    }

    /// Sets a multivalued key, replacing any earlier value.
    pub fn with_values<S: Into<String>>(mut self, key: &str, values: impl IntoIterator<Item = S>) -> Context {
        self.set(key, Value::Multi(values.into_iter().map(Into::into).collect()));
        self
    }

    /// Sets `key` to `value`, replacing any earlier value; the key's case does not matter.
    pub fn set(&mut self, key: &str, value: Value) {
        let key = key.to_ascii_lowercase();
        match self.entries.iter_mut().find(|e| *e.key == *key) {
            Some(entry) => entry.value = value,
            None => self.entries.push(Entry { hash: fnv1a(&key), key: key.into(), value }),
        }
    }

    /// Whether `key` is set, in any case.
    pub fn contains(&self, key: &str) -> bool {
        self.entries.iter().any(|e| e.key.eq_ignore_ascii_case(key))
    }

    /// The value of `key`, in any case.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|e| e.key.eq_ignore_ascii_case(key)).map(|e| &e.value)
    }

    /// Looks up a compiled key.
    pub(crate) fn lookup(&self, key: &Key) -> Lookup<'_> {
        match self.entries.iter().find(|e| e.hash == key.hash && *e.key == *key.name) {
            None => Lookup::Missing,
            Some(Entry { value: Value::Multi(v), .. }) => Lookup::Multi(v),
            Some(Entry { key, value: Value::Single(s), .. }) => {
                if MULTIVALUED.contains(&&**key) {
                    Lookup::Multi(std::slice::from_ref(s))
                } else {
                    Lookup::Single(s)
                }
            }
        }
    }
}

/// What kind of principal makes the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrincipalKind {
    /// `arn:aws:iam::A:role/R`: a session of the role, named by the role.
    Role,
    /// `arn:aws:sts::A:assumed-role/R/session`
    AssumedRole,
    /// `arn:aws:iam::A:user/U`
    User,
    /// `arn:aws:sts::A:federated-user/U`
    FederatedUser,
    /// `arn:aws:iam::A:root` or a bare account ID.
    Root,
    /// `ec2.amazonaws.com`
    Service,
    /// `anonymous`: an unsigned request.
    Anonymous,
    /// Anything else (a federated identity, a canonical user): matched by exact value only.
    Other,
}

/// The request's principal, parsed once.
#[derive(Debug, Clone)]
pub(crate) struct RequestPrincipal {
    pub(crate) value: Box<str>,
    pub(crate) hashed: Hashed,
    pub(crate) kind: PrincipalKind,
    pub(crate) partition: Box<str>,
    /// Empty for service and other principals.
    pub(crate) account: Box<str>,
    /// The role's name for `Role` and `AssumedRole`, the user's for `User` and `FederatedUser`.
    pub(crate) name: Box<str>,
}

impl RequestPrincipal {
    fn parse(value: &str) -> RequestPrincipal {
        let mut principal = RequestPrincipal {
            value: value.into(),
            hashed: Hashed::new(value),
            kind: PrincipalKind::Other,
            partition: "".into(),
            account: "".into(),
            name: "".into(),
        };
        if value == ANONYMOUS {
            principal.kind = PrincipalKind::Anonymous;
            return principal;
        }
        if crate::arn::AccountId::is_valid(value) {
            principal.kind = PrincipalKind::Root;
            principal.partition = "aws".into();
            principal.account = value.into();
            return principal;
        }
        let Some(arn) = ArnParts::parse(value) else {
            if value.contains('.') && !value.contains(':') && !value.contains('/') {
                principal.kind = PrincipalKind::Service;
            }
            return principal;
        };
        let resource = arn.resource();
        let last_segment = |s: &str| s.rsplit('/').next().unwrap_or_default().to_owned();
        let (kind, name) = match arn.service() {
            "iam" if resource == "root" => (PrincipalKind::Root, String::new()),
            "iam" if resource.starts_with("role/") => (PrincipalKind::Role, last_segment(resource)),
            "iam" if resource.starts_with("user/") => (PrincipalKind::User, last_segment(resource)),
            "sts" => match resource.split('/').collect::<Vec<_>>().as_slice() {
                ["assumed-role", role, _session] => (PrincipalKind::AssumedRole, (*role).to_owned()),
                ["federated-user", user] => (PrincipalKind::FederatedUser, (*user).to_owned()),
                _ => (PrincipalKind::Other, String::new()),
            },
            _ => (PrincipalKind::Other, String::new()),
        };
        principal.kind = kind;
        principal.name = name.into();
        principal.partition = arn.partition().into();
        if kind != PrincipalKind::Other {
            principal.account = arn.account().into();
        }
        principal
    }

    /// The value of `aws:PrincipalArn`: a session reports its role's ARN.
    fn principal_arn(&self) -> Option<String> {
        match self.kind {
            PrincipalKind::AssumedRole => {
                Some(format!("arn:{}:iam::{}:role/{}", self.partition, self.account, self.name))
            }
            PrincipalKind::Root if !self.value.starts_with("arn:") => {
                Some(format!("arn:aws:iam::{}:root", self.account))
            }
            PrincipalKind::Role | PrincipalKind::User | PrincipalKind::FederatedUser | PrincipalKind::Root => {
                Some(self.value.to_string())
            }
            PrincipalKind::Service | PrincipalKind::Anonymous | PrincipalKind::Other => None,
        }
    }

    /// The value of `aws:userid` where it follows from the ARN alone: the account ID for the
    /// root user, `account:name` for a federated user. Users and role sessions carry a unique
    /// ID (`AIDA…`, `AROA…:session`) that only the context can give.
    fn userid(&self) -> Option<String> {
        match self.kind {
            PrincipalKind::Root => Some(self.account.to_string()),
            PrincipalKind::FederatedUser => Some(format!("{}:{}", self.account, self.name)),
            _ => None,
        }
    }

    fn principal_type(&self) -> Option<&'static str> {
        match self.kind {
            PrincipalKind::Role | PrincipalKind::AssumedRole => Some("AssumedRole"),
            PrincipalKind::User => Some("User"),
            PrincipalKind::FederatedUser => Some("FederatedUser"),
            PrincipalKind::Root => Some("Account"),
            PrincipalKind::Anonymous => Some("Anonymous"),
            PrincipalKind::Service | PrincipalKind::Other => None,
        }
    }
}

/// The principal of an unsigned request in the `simulate` format.
pub const ANONYMOUS: &str = "anonymous";

/// An ARN split at its first five colons; the resource part keeps any further colons.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ArnParts<'a> {
    parts: [&'a str; 6],
}

impl<'a> ArnParts<'a> {
    pub(crate) fn parse(text: &'a str) -> Option<ArnParts<'a>> {
        let mut it = text.splitn(6, ':');
        let mut parts = [""; 6];
        for slot in &mut parts {
            *slot = it.next()?;
        }
        (parts[0] == "arn").then_some(ArnParts { parts })
    }
    pub(crate) fn partition(&self) -> &'a str {
        self.parts[1]
    }
    pub(crate) fn service(&self) -> &'a str {
        self.parts[2]
    }
    pub(crate) fn region(&self) -> &'a str {
        self.parts[3]
    }
    pub(crate) fn account(&self) -> &'a str {
        self.parts[4]
    }
    pub(crate) fn resource(&self) -> &'a str {
        self.parts[5]
    }
}

/// A request to decide, prepared for evaluation.
#[derive(Debug, Clone)]
pub struct Request {
    pub(crate) principal: RequestPrincipal,
    pub(crate) action: Box<str>,
    /// `action` in ASCII lower case: action names compare without regard to case.
    pub(crate) action_folded: Box<str>,
    /// The folded service prefix and action name, interned.
    pub(crate) service_hashed: Hashed,
    pub(crate) name_hashed: Hashed,
    /// Byte index of the `:` in `action`.
    pub(crate) colon: usize,
    pub(crate) resource: Box<str>,
    /// Byte offsets of the first five `:` in `resource`, when it is an ARN.
    pub(crate) resource_colons: Option<[usize; 5]>,
    /// `partition:service:region:account` of the resource ARN in ASCII lower case.
    pub(crate) resource_head: Hashed,
    pub(crate) resource_account: Box<str>,
    /// The resource holds `*` or `?`: it stands for every resource it matches, and a
    /// statement applies when its pattern and this one intersect.
    pub(crate) resource_wild: bool,
    pub(crate) context: Context,
}

impl Request {
    /// Prepares a request. `resource_account` may be `None` when the resource ARN
    /// carries an account (S3 ARNs do not). The principal `anonymous` ([`ANONYMOUS`]) is an
    /// unsigned request; a resource with `*` or `?` stands for every resource it matches.
    ///
    /// The global keys AWS derives from the principal and the resource are added unless
    /// `context` sets them (AWS, "AWS global condition context keys"):
    /// - `aws:PrincipalArn`: the principal's ARN; a role session reports its role's ARN, the
    ///   root user `arn:aws:iam::<account>:root`; absent for anonymous requests;
    /// - `aws:PrincipalAccount`: the principal's account; absent for anonymous requests;
    /// - `aws:PrincipalType`: `Account` (root), `User`, `FederatedUser`, `AssumedRole` or
    ///   `Anonymous`;
    /// - `aws:userid`: the account ID for the root user, `account:name` for a federated user
    ///   (users and sessions carry unique IDs that only the context can give);
    /// - `aws:username` for IAM users, `aws:ResourceAccount`, and for signed requests
    ///   `aws:PrincipalIsAWSService` (with `aws:PrincipalServiceName` for services).
    pub fn new(
        principal: &str,
        action: &str,
        resource: &str,
        resource_account: Option<&str>,
        mut context: Context,
    ) -> Result<Request, RequestError> {
        if principal.is_empty() {
            return Err(RequestError::Principal);
        }
        let colon = match action.split_once(':') {
            Some((service, name)) if !service.is_empty() && !name.is_empty() => service.len(),
            _ => return Err(RequestError::Action(action.to_owned())),
        };
        let principal = RequestPrincipal::parse(principal);
        let arn = ArnParts::parse(resource);
        let resource_account = match (resource_account, arn) {
            (Some(account), _) => account.to_owned(),
            (None, Some(arn)) if !arn.account().is_empty() => arn.account().to_owned(),
            (None, _) if resource == "*" => principal.account.to_string(),
            (None, _) => return Err(RequestError::ResourceAccount(resource.to_owned())),
        };
        let resource_colons = arn.map(|_| {
            let mut colons = [0usize; 5];
            for (slot, (i, _)) in colons.iter_mut().zip(resource.match_indices(':')) {
                *slot = i;
            }
            colons
        });

        let mut fill = |key: &str, value: Option<String>| {
            if let Some(value) = value {
                if !context.contains(key) {
                    context.set(key, Value::Single(value));
                }
            }
        };
        let has_account = !principal.account.is_empty();
        fill("aws:PrincipalArn", principal.principal_arn());
        fill("aws:PrincipalAccount", has_account.then(|| principal.account.to_string()));
        fill("aws:PrincipalType", principal.principal_type().map(str::to_owned));
        fill("aws:username", (principal.kind == PrincipalKind::User).then(|| principal.name.to_string()));
        fill("aws:userid", principal.userid());
        fill("aws:ResourceAccount", (!resource_account.is_empty()).then(|| resource_account.clone()));
        let is_service = principal.kind == PrincipalKind::Service;
        let signed = principal.kind != PrincipalKind::Anonymous;
        fill("aws:PrincipalIsAWSService", signed.then(|| is_service.to_string()));
        fill("aws:PrincipalServiceName", is_service.then(|| principal.value.to_string()));

        let resource_head = match resource_colons {
            Some(c) => resource[c[0] + 1..c[4]].to_ascii_lowercase(),
            None => String::new(),
        };
        let action_folded = action.to_ascii_lowercase();
        Ok(Request {
            principal,
            action: action.into(),
            service_hashed: Hashed::new(&action_folded[..colon]),
            name_hashed: Hashed::new(&action_folded[colon + 1..]),
            action_folded: action_folded.into(),
            colon,
            resource: resource.into(),
            resource_colons,
            resource_head: Hashed::new(&resource_head),
            resource_account: resource_account.into(),
            resource_wild: resource.contains(['*', '?']),
            context,
        })
    }

    /// The principal as given: an ARN, a service name, an account id or [`ANONYMOUS`].
    pub fn principal(&self) -> &str {
        &self.principal.value
    }
    /// The action as given, e.g. `s3:GetObject`.
    pub fn action(&self) -> &str {
        &self.action
    }
    /// The resource as given: an ARN (possibly with wildcards) or `*`.
    pub fn resource(&self) -> &str {
        &self.resource
    }
    /// The account the resource belongs to: the one given, else the ARN's, else (for `*`) the
    /// principal's.
    pub fn resource_account(&self) -> &str {
        &self.resource_account
    }
    /// The context, with the global keys filled in.
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// The principal's account; empty for service principals.
    pub fn principal_account(&self) -> &str {
        &self.principal.account
    }

    /// The service prefix in ASCII lower case.
    pub(crate) fn service_folded(&self) -> &str {
        &self.action_folded[..self.colon]
    }
    /// The action name in ASCII lower case.
    pub(crate) fn action_name_folded(&self) -> &str {
        &self.action_folded[self.colon + 1..]
    }
    /// The resource ARN's `partition:service:region:account` in ASCII lower case, and its resource part.
    #[inline]
    pub(crate) fn resource_head_and_rest(&self) -> Option<(&Hashed, &str)> {
        let c = self.resource_colons?;
        Some((&self.resource_head, &self.resource[c[4] + 1..]))
    }

    pub(crate) fn same_account(&self) -> bool {
        !self.principal.account.is_empty() && self.principal.account == self.resource_account
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} on {}", self.principal.value, self.action, self.resource)
    }
}

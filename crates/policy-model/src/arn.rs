//! ARNs and the names inside them: account IDs, role names, bucket names.
//!
//! Every constructor checks its input and each error names the rule that was
//! broken, so a caller can show it to the user as is.

use std::fmt;
use std::str::FromStr;

/// Why a name or an ARN was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// An account id that is not 12 ASCII digits; holds the id.
    #[error("account id `{0}` is not 12 digits")]
    AccountId(String),
    /// A role or instance profile name that breaks IAM's naming rule.
    #[error("role name `{name}` breaks the rule: {rule}")]
    RoleName {
        /// The name as given.
        name: String,
        /// The rule it breaks, in words.
        rule: &'static str,
    },
    /// An IAM path that breaks IAM's rule.
    #[error("role path `{path}` breaks the rule: {rule}")]
    RolePath {
        /// The path as given.
        path: String,
        /// The rule it breaks, in words.
        rule: &'static str,
    },
    /// A bucket name that breaks S3's naming rules for general-purpose buckets.
    #[error("bucket name `{name}` breaks the rule: {rule}")]
    BucketName {
        /// The name as given.
        name: String,
        /// The rule it breaks, in words.
        rule: &'static str,
    },
    /// A string that is not an ARN, or not an ARN of the kind asked for.
    #[error("`{arn}` is not a valid ARN: {rule}")]
    Arn {
        /// The text as given.
        arn: String,
        /// The rule it breaks, in words.
        rule: &'static str,
    },
}

/// A 12-digit AWS account ID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct AccountId(String);

impl AccountId {
    /// Whether `id` is an account ID: exactly 12 ASCII digits.
    pub fn is_valid(id: &str) -> bool {
        id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())
    }
    /// Checks that `id` is exactly 12 ASCII digits.
    pub fn new(id: &str) -> Result<Self, NameError> {
        if Self::is_valid(id) {
            Ok(Self(id.to_owned()))
        } else {
            Err(NameError::AccountId(id.to_owned()))
        }
    }
    /// The 12 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// `arn:aws:iam::<id>:root`, the principal that stands for the whole account.
    pub fn root_arn(&self) -> String {
        format!("arn:aws:iam::{}:root", self.0)
    }
}

/// An IAM role (or instance profile) name: 1–64 characters of `[\w+=,.@-]`, and the path of a
/// role xacct creates (`/` unless [`RoleName::with_path`] sets one), which is part of its ARN.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct RoleName(String, #[serde(skip)] Option<String>);

impl fmt::Debug for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut t = f.debug_tuple("RoleName");
        t.field(&self.0);
        if let Some(path) = &self.1 {
            t.field(path);
        }
        t.finish()
    }
}

impl RoleName {
    /// Checks `name`: 1 to 64 characters, each an ASCII letter or digit or one of `+=,.@_-`.
    pub fn new(name: &str) -> Result<Self, NameError> {
        Self::check(name)?;
        Ok(Self(name.to_owned(), None))
    }
    fn check(name: &str) -> Result<(), NameError> {
        let rule = |rule| NameError::RoleName { name: name.to_owned(), rule };
        if name.is_empty() || name.chars().count() > 64 {
            return Err(rule("1 to 64 characters"));
        }
        if !name.chars().all(is_iam_name_char) {
            return Err(rule("only letters, digits and `+=,.@_-`"));
        }
        Ok(())
    }
    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The same name under IAM path `path`: `/`, or `/` + segments + `/`, at most 512 characters
    /// of printable ASCII (IAM's rule). The path is part of the role's and the instance profile's ARN.
    pub fn with_path(self, path: &str) -> Result<Self, NameError> {
        let rule = |rule| NameError::RolePath { path: path.to_owned(), rule };
        if !path.starts_with('/') || !path.ends_with('/') {
            return Err(rule("it starts and ends with `/`"));
        }
        if path.len() > 512 || !path.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c)) || path.contains("//") {
            return Err(rule("at most 512 printable ASCII characters, with no empty segment"));
        }
        Ok(Self(self.0, (path != "/").then(|| path.to_owned())))
    }
    /// The IAM path: `/` unless one was set.
    pub fn path(&self) -> &str {
        self.1.as_deref().unwrap_or("/")
    }
}

/// The characters of `[\w+=,.@-]`, the class IAM uses for names and session names.
pub fn is_iam_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// An S3 general-purpose bucket name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct BucketName(String);

impl BucketName {
    /// Checks `name` against S3's rules: 3 to 63 lowercase letters, digits, `.` and `-`, starting
    /// and ending with a letter or digit, no `..`, not an IPv4 address, no reserved prefix or suffix.
    pub fn new(name: &str) -> Result<Self, NameError> {
        Self::check(name)?;
        Ok(Self(name.to_owned()))
    }
    fn check(name: &str) -> Result<(), NameError> {
        let rule = |rule| NameError::BucketName { name: name.to_owned(), rule };
        let bytes = name.as_bytes();
        if !(3..=63).contains(&bytes.len()) {
            return Err(rule("3 to 63 characters"));
        }
        if !bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-') {
            return Err(rule("only lowercase letters, digits, `.` and `-`"));
        }
        let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
            return Err(rule("must start and end with a letter or digit"));
        }
        if name.contains("..") {
            return Err(rule("no two adjacent periods"));
        }
        if name.parse::<std::net::Ipv4Addr>().is_ok() {
            return Err(rule("must not be formatted as an IP address"));
        }
        const PREFIXES: [&str; 4] = ["xn--", "sthree-", "sthree-configurator", "amzn-s3-demo-"];
        if PREFIXES.iter().any(|p| name.starts_with(p)) {
            return Err(rule("must not start with a reserved prefix (`xn--`, `sthree-`, `amzn-s3-demo-`)"));
        }
        const SUFFIXES: [&str; 4] = ["-s3alias", "--ol-s3", ".mrap", "--x-s3"];
        if SUFFIXES.iter().any(|s| name.ends_with(s)) {
            return Err(rule("must not end with a reserved suffix (`-s3alias`, `--ol-s3`, `.mrap`, `--x-s3`)"));
        }
        Ok(())
    }
    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// `arn:aws:s3:::<bucket>`.
    pub fn arn(&self) -> String {
        format!("arn:aws:s3:::{}", self.0)
    }
    /// `arn:aws:s3:::<bucket>/*`, every object in the bucket.
    pub fn objects_arn(&self) -> String {
        format!("arn:aws:s3:::{}/*", self.0)
    }
}

macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl FromStr for $t {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, NameError> {
                Self::new(s)
            }
        }
    )*};
}
display_as_str!(AccountId, RoleName, BucketName);

/// The AWS partitions an ARN may name.
pub const PARTITIONS: [&str; 5] = ["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b"];
pub(crate) const PARTITION_RULE: &str = "the partition must be `aws`, `aws-cn`, `aws-us-gov`, `aws-iso` or `aws-iso-b`";

/// The partition a region name belongs to, by the region patterns of AWS's partition metadata
/// (the `regionRegex` of each partition in the SDKs' `partitions.json`: `aws` is
/// `^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$`, `aws-cn` is `^cn-\w+-\d+$`, `aws-us-gov` is
/// `^us-gov-\w+-\d+$`, `aws-iso` is `^us-iso-\w+-\d+$`, `aws-iso-b` is `^us-isob-\w+-\d+$`), or
/// `None` when the name matches none of them. The middle `\w+` is narrowed to the compass words
/// every region name uses (`east`, `southeast`, `central`, …), so that a typo such as
/// `us-esat-1` is caught before any call rather than at request time.
pub fn region_partition(region: &str) -> Option<&'static str> {
    const AWS_PREFIXES: [&str; 9] = ["us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"];
    const DIRECTIONS: [&str; 9] =
        ["north", "south", "east", "west", "central", "northeast", "northwest", "southeast", "southwest"];
    let word = |s: &str| DIRECTIONS.contains(&s);
    let number = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let parts: Vec<&str> = region.split('-').collect();
    match parts.as_slice() {
        ["us", "gov", w, n] if word(w) && number(n) => Some("aws-us-gov"),
        ["us", "iso", w, n] if word(w) && number(n) => Some("aws-iso"),
        ["us", "isob", w, n] if word(w) && number(n) => Some("aws-iso-b"),
        ["cn", w, n] if word(w) && number(n) => Some("aws-cn"),
        [p, w, n] if AWS_PREFIXES.contains(p) && word(w) && number(n) => Some("aws"),
        _ => None,
    }
}

/// A parsed ARN: `arn:partition:service:region:account:resource`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Arn {
    /// One of [`PARTITIONS`], e.g. `aws`.
    pub partition: String,
    /// The service namespace, e.g. `iam`, `s3`, `kms`; never empty.
    pub service: String,
    /// The region, e.g. `us-east-1`; empty for global services such as IAM and S3.
    pub region: String,
    /// Empty for S3 buckets and objects, which carry no account.
    pub account: String,
    /// Everything after the fifth `:`, e.g. `role/MyRoleB` or `my-bucket/*`; never empty.
    pub resource: String,
}

impl FromStr for Arn {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        let p = ArnRef::parse(s)?;
        Ok(Arn {
            partition: p.partition.to_owned(),
            service: p.service.to_owned(),
            region: p.region.to_owned(),
            account: p.account.to_owned(),
            resource: p.resource.to_owned(),
        })
    }
}

/// An [`Arn`]'s parts borrowed from its text, after the same checks: what [`TypedArn`]
/// reads without copying the parts it does not keep.
pub(crate) struct ArnRef<'a> {
    partition: &'a str,
    service: &'a str,
    region: &'a str,
    account: &'a str,
    resource: &'a str,
}

impl<'a> ArnRef<'a> {
    pub(crate) fn parse(s: &'a str) -> Result<ArnRef<'a>, NameError> {
        let err = |rule| NameError::Arn { arn: s.to_owned(), rule };
        let mut parts = s.splitn(6, ':');
        let (Some(prefix), Some(partition), Some(service), Some(region), Some(account), Some(resource)) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(err("an ARN has six `:`-separated parts"));
        };
        if prefix != "arn" {
            return Err(err("an ARN starts with `arn:`"));
        }
        if !PARTITIONS.contains(&partition) {
            return Err(err(PARTITION_RULE));
        }
        if service.is_empty() {
            return Err(err("the service part is empty"));
        }
        if !(account.is_empty() || account == "*" || AccountId::is_valid(account) || account == "aws") {
            return Err(err("the account part must be 12 digits"));
        }
        if resource.is_empty() {
            return Err(err("the resource part is empty"));
        }
        Ok(ArnRef { partition, service, region, account, resource })
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "arn:{}:{}:{}:{}:{}", self.partition, self.service, self.region, self.account, self.resource)
    }
}

/// The kinds of ARN the flow deals in, each checked for its own shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TypedArn {
    /// `arn:aws:iam::<acct>:role[/path]/<name>`
    Role {
        /// The account the role lives in.
        account: AccountId,
        /// The IAM path, starting and ending with `/` (`/` when none).
        path: String,
        /// The role's name.
        name: RoleName,
    },
    /// `arn:aws:iam::<acct>:instance-profile[/path]/<name>`
    InstanceProfile {
        /// The account the instance profile lives in.
        account: AccountId,
        /// The IAM path, starting and ending with `/` (`/` when none).
        path: String,
        /// The instance profile's name.
        name: RoleName,
    },
    /// `arn:aws:iam::<acct>:user[/path]/<name>`
    User {
        /// The account the user lives in.
        account: AccountId,
        /// The IAM path, starting and ending with `/` (`/` when none).
        path: String,
        /// The user's name, not empty.
        name: String,
    },
    /// `arn:aws:iam::<acct>:root`
    Root {
        /// The account.
        account: AccountId,
    },
    /// `arn:aws:sts::<acct>:assumed-role/<role>/<session>`
    AssumedRole {
        /// The account of the assumed role.
        account: AccountId,
        /// The name of the assumed role.
        role: RoleName,
        /// The session name: 1 to 64 characters of `[\w+=,.@-]`.
        session: String,
    },
    /// `arn:aws:s3:::<bucket>`
    Bucket {
        /// The bucket's name.
        bucket: BucketName,
    },
    /// `arn:aws:s3:::<bucket>/<key>`
    Object {
        /// The bucket's name.
        bucket: BucketName,
        /// The object key or key pattern after the first `/`, e.g. `*`; not empty.
        key: String,
    },
    /// `arn:aws:kms:<region>:<acct>:key/<id>`
    KmsKey {
        /// The key's region; not empty.
        region: String,
        /// The account that owns the key.
        account: AccountId,
        /// The key id after `key/`, usually a UUID.
        key_id: String,
    },
    /// `arn:aws:kms:<region>:<acct>:alias/<name>`
    KmsAlias {
        /// The alias's region; not empty.
        region: String,
        /// The account that owns the alias.
        account: AccountId,
        /// The alias name after `alias/`.
        alias: String,
    },
}

impl TypedArn {
    /// The account the resource or principal lives in; `None` for S3, whose ARNs carry none.
    pub fn account(&self) -> Option<&AccountId> {
        match self {
            TypedArn::Role { account, .. }
            | TypedArn::InstanceProfile { account, .. }
            | TypedArn::User { account, .. }
            | TypedArn::Root { account }
            | TypedArn::AssumedRole { account, .. }
            | TypedArn::KmsKey { account, .. }
            | TypedArn::KmsAlias { account, .. } => Some(account),
            TypedArn::Bucket { .. } | TypedArn::Object { .. } => None,
        }
    }
}

impl FromStr for TypedArn {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        let account = |id: &str| AccountId(id.to_owned());
        // `path/name` for IAM: the path is `/` and everything up to the last `/`.
        let path = |path: &str| format!("/{path}");
        Ok(match TypedArnRef::parse(s)? {
            TypedArnRef::Role { account: a, path: p, name } => {
                TypedArn::Role { account: account(a), path: path(p), name: RoleName(name.to_owned(), None) }
            }
            TypedArnRef::InstanceProfile { account: a, path: p, name } => {
                TypedArn::InstanceProfile { account: account(a), path: path(p), name: RoleName(name.to_owned(), None) }
            }
            TypedArnRef::User { account: a, path: p, name } => {
                TypedArn::User { account: account(a), path: path(p), name: name.to_owned() }
            }
            TypedArnRef::Root { account: a } => TypedArn::Root { account: account(a) },
            TypedArnRef::AssumedRole { account: a, role, session } => TypedArn::AssumedRole {
                account: account(a),
                role: RoleName(role.to_owned(), None),
                session: session.to_owned(),
            },
            TypedArnRef::Bucket { bucket } => TypedArn::Bucket { bucket: BucketName(bucket.to_owned()) },
            TypedArnRef::Object { bucket, key } => {
                TypedArn::Object { bucket: BucketName(bucket.to_owned()), key: key.to_owned() }
            }
            TypedArnRef::KmsKey { region, account: a, key_id } => {
                TypedArn::KmsKey { region: region.to_owned(), account: account(a), key_id: key_id.to_owned() }
            }
            TypedArnRef::KmsAlias { region, account: a, alias } => {
                TypedArn::KmsAlias { region: region.to_owned(), account: account(a), alias: alias.to_owned() }
            }
        })
    }
}

/// A [`TypedArn`] borrowed from its text, after all of its checks: what a check that keeps
/// nothing reads. An IAM `path` is the part after the leading `/` up to and with the last `/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypedArnRef<'a> {
    Role { account: &'a str, path: &'a str, name: &'a str },
    InstanceProfile { account: &'a str, path: &'a str, name: &'a str },
    User { account: &'a str, path: &'a str, name: &'a str },
    Root { account: &'a str },
    AssumedRole { account: &'a str, role: &'a str, session: &'a str },
    Bucket { bucket: &'a str },
    Object { bucket: &'a str, key: &'a str },
    KmsKey { region: &'a str, account: &'a str, key_id: &'a str },
    KmsAlias { region: &'a str, account: &'a str, alias: &'a str },
}

impl<'a> TypedArnRef<'a> {
    pub(crate) fn parse(s: &'a str) -> Result<TypedArnRef<'a>, NameError> {
        let arn = ArnRef::parse(s)?;
        let err = |rule| NameError::Arn { arn: s.to_owned(), rule };
        let account = || {
            AccountId::is_valid(arn.account)
                .then_some(arn.account)
                .ok_or_else(|| err("the account part must be 12 digits"))
        };
        match arn.service {
            "iam" => {
                if !arn.region.is_empty() {
                    return Err(err("IAM ARNs have an empty region"));
                }
                if arn.resource == "root" {
                    return Ok(TypedArnRef::Root { account: account()? });
                }
                let (kind, rest) =
                    arn.resource.split_once('/').ok_or_else(|| err("an IAM resource is `<type>/<name>`"))?;
                let (path, name) = rest.rfind('/').map_or(("", rest), |i| (&rest[..=i], &rest[i + 1..]));
                match kind {
                    "role" | "instance-profile" => {
                        let account = account()?;
                        RoleName::check(name)?;
                        Ok(if kind == "role" {
                            TypedArnRef::Role { account, path, name }
                        } else {
                            TypedArnRef::InstanceProfile { account, path, name }
                        })
                    }
                    "user" if !name.is_empty() => Ok(TypedArnRef::User { account: account()?, path, name }),
                    _ => Err(err("the IAM resource type must be `role`, `instance-profile`, `user` or `root`")),
                }
            }
            "sts" => {
                let rest = arn
                    .resource
                    .strip_prefix("assumed-role/")
                    .ok_or_else(|| err("an STS ARN is `assumed-role/<role>/<session>`"))?;
                let (role, session) =
                    rest.split_once('/').ok_or_else(|| err("an STS ARN is `assumed-role/<role>/<session>`"))?;
                if session.is_empty() || !session.chars().all(is_iam_name_char) || session.len() > 64 {
                    return Err(err("a session name is 1 to 64 characters of `[\\w+=,.@-]`"));
                }
                let account = account()?;
                RoleName::check(role)?;
                Ok(TypedArnRef::AssumedRole { account, role, session })
            }
            "s3" => {
                if !arn.region.is_empty() || !arn.account.is_empty() {
                    return Err(err("S3 bucket and object ARNs have an empty region and account"));
                }
                match arn.resource.split_once('/') {
                    None => {
                        BucketName::check(arn.resource)?;
                        Ok(TypedArnRef::Bucket { bucket: arn.resource })
                    }
                    Some((bucket, key)) if !key.is_empty() => {
                        BucketName::check(bucket)?;
                        Ok(TypedArnRef::Object { bucket, key })
                    }
                    Some(_) => Err(err("an object ARN needs a key after `/`")),
                }
            }
            "kms" => {
                if arn.region.is_empty() {
                    return Err(err("a KMS ARN names its region"));
                }
                let region = arn.region;
                if let Some(key_id) = arn.resource.strip_prefix("key/").filter(|id| !id.is_empty()) {
                    Ok(TypedArnRef::KmsKey { region, account: account()?, key_id })
                } else if let Some(alias) = arn.resource.strip_prefix("alias/").filter(|a| !a.is_empty()) {
                    Ok(TypedArnRef::KmsAlias { region, account: account()?, alias })
                } else {
                    Err(err("a KMS resource is `key/<id>` or `alias/<name>`"))
                }
            }
            _ => Err(err("the service must be `iam`, `sts`, `s3` or `kms`")),
        }
    }
}

/// A KMS key ARN, `arn:<partition>:kms:<region>:<account>:key/<id>`, with its region and
/// account at hand. Aliases are refused: a key policy belongs to a key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KmsKeyArn {
    arn: String,
    region: String,
    account: AccountId,
}

impl KmsKeyArn {
    /// Checks `arn` as a KMS key ARN.
    pub fn new(arn: &str) -> Result<Self, NameError> {
        match arn.parse::<TypedArn>()? {
            TypedArn::KmsKey { region, account, .. } => Ok(KmsKeyArn { arn: arn.to_owned(), region, account }),
            _ => Err(NameError::Arn {
                arn: arn.to_owned(),
                rule: "a KMS key ARN is `arn:aws:kms:<region>:<account>:key/<id>`",
            }),
        }
    }
    /// The whole ARN.
    pub fn as_str(&self) -> &str {
        &self.arn
    }
    /// The region the key lives in, which is where KMS must be called.
    pub fn region(&self) -> &str {
        &self.region
    }
    /// The account that holds the key.
    pub fn account(&self) -> &AccountId {
        &self.account
    }
}

impl fmt::Display for KmsKeyArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arn)
    }
}

impl FromStr for KmsKeyArn {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        Self::new(s)
    }
}

impl AsRef<str> for KmsKeyArn {
    fn as_ref(&self) -> &str {
        &self.arn
    }
}

impl serde::Serialize for KmsKeyArn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.arn)
    }
}

/// `arn:aws:iam::<account>:role/<name>`.
pub fn role_arn(account: &AccountId, name: &RoleName) -> String {
    format!("arn:aws:iam::{account}:role{}{name}", name.path())
}

/// `arn:aws:iam::<account>:instance-profile/<name>`.
pub fn instance_profile_arn(account: &AccountId, name: &RoleName) -> String {
    format!("arn:aws:iam::{account}:instance-profile{}{name}", name.path())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, expect: &str) {
        let got = match input.parse::<TypedArn>() {
            Ok(arn) => format!("{arn:?}"),
            Err(e) => format!("error: {e}"),
        };
        assert_eq!(got, expect, "input: {input}");
    }

    #[test]
    fn regions_by_partition_pattern() {
        for (region, partition) in [
            ("us-east-1", Some("aws")),
            ("eu-central-2", Some("aws")),
            ("ap-southeast-5", Some("aws")),
            ("il-central-1", Some("aws")),
            ("cn-northwest-1", Some("aws-cn")),
            ("us-gov-west-1", Some("aws-us-gov")),
            ("us-iso-east-1", Some("aws-iso")),
            ("us-isob-east-1", Some("aws-iso-b")),
            ("us-east", None),
            ("us-esat-1", None),
            ("useast1", None),
            ("xx-east-1", None),
            ("us-east-1a", None),
            ("US-EAST-1", None),
            ("", None),
        ] {
            assert_eq!(super::region_partition(region), partition, "{region}");
        }
    }

    #[test]
    fn typed_arns() {
        check(
            "arn:aws:iam::111111111111:role/MyRoleA",
            r#"Role { account: AccountId("111111111111"), path: "/", name: RoleName("MyRoleA") }"#,
        );
        check(
            "arn:aws:iam::111111111111:role/a/b/MyRoleA",
            r#"Role { account: AccountId("111111111111"), path: "/a/b/", name: RoleName("MyRoleA") }"#,
        );
        check(
            "arn:aws:iam::111111111111:instance-profile/MyRoleA",
            r#"InstanceProfile { account: AccountId("111111111111"), path: "/", name: RoleName("MyRoleA") }"#,
        );
        check("arn:aws:iam::111111111111:root", r#"Root { account: AccountId("111111111111") }"#);
        check(
            "arn:aws:sts::111111111111:assumed-role/MyRoleA/i-123",
            r#"AssumedRole { account: AccountId("111111111111"), role: RoleName("MyRoleA"), session: "i-123" }"#,
        );
        check("arn:aws:s3:::my-bucket", r#"Bucket { bucket: BucketName("my-bucket") }"#);
        check("arn:aws:s3:::my-bucket/a/b.txt", r#"Object { bucket: BucketName("my-bucket"), key: "a/b.txt" }"#);
        check(
            "arn:aws:kms:us-east-1:222222222222:key/1234",
            r#"KmsKey { region: "us-east-1", account: AccountId("222222222222"), key_id: "1234" }"#,
        );
        check(
            "arn:aws:kms:us-east-1:222222222222:alias/data",
            r#"KmsAlias { region: "us-east-1", account: AccountId("222222222222"), alias: "data" }"#,
        );
        check(
            "arn:aws:iam::12:role/x",
            "error: `arn:aws:iam::12:role/x` is not a valid ARN: the account part must be 12 digits",
        );
        check(
            "arn:aws:iam::111111111111:role/bad name",
            "error: role name `bad name` breaks the rule: only letters, digits and `+=,.@_-`",
        );
        check(
            "arn:aws:s3:::My_Bucket",
            "error: bucket name `My_Bucket` breaks the rule: only lowercase letters, digits, `.` and `-`",
        );
        check(
            "arn:aws:kms::222222222222:key/1",
            "error: `arn:aws:kms::222222222222:key/1` is not a valid ARN: a KMS ARN names its region",
        );
        check("not-an-arn", "error: `not-an-arn` is not a valid ARN: an ARN has six `:`-separated parts");
        check("arn:aws:ec2:us-east-1:111111111111:instance/i-1", "error: `arn:aws:ec2:us-east-1:111111111111:instance/i-1` is not a valid ARN: the service must be `iam`, `sts`, `s3` or `kms`");
    }

    #[test]
    fn kms_key_arns() {
        let check = |input: &str, expect: &str| {
            let got = match KmsKeyArn::new(input) {
                Ok(k) => format!("{} {} {}", k.region(), k.account(), k.as_str()),
                Err(e) => format!("error: {e}"),
            };
            assert_eq!(got, expect, "input: {input}");
        };
        check(
            "arn:aws:kms:eu-west-1:222222222222:key/k1",
            "eu-west-1 222222222222 arn:aws:kms:eu-west-1:222222222222:key/k1",
        );
        check(
            "arn:aws:kms:eu-west-1:222222222222:alias/a",
            "error: `arn:aws:kms:eu-west-1:222222222222:alias/a` is not a valid ARN: a KMS key ARN is `arn:aws:kms:<region>:<account>:key/<id>`",
        );
        check(
            "arn:aws:kms::222222222222:key/1",
            "error: `arn:aws:kms::222222222222:key/1` is not a valid ARN: a KMS ARN names its region",
        );
    }

    #[test]
    fn bucket_names() {
        let check = |name: &str, ok: bool| assert_eq!(BucketName::new(name).is_ok(), ok, "{name}");
        check("my-bucket", true);
        check("a.b-c", true);
        check("ab", false);
        check(&"a".repeat(64), false);
        check("-abc", false);
        check("abc-", false);
        check("a..b", false);
        check("192.168.1.1", false);
        check("xn--abc", false);
        check("abc-s3alias", false);
        check("abc--ol-s3", false);
        check("ABC", false);
    }

    #[test]
    fn account_and_role_names() {
        assert!(AccountId::new("123456789012").is_ok());
        assert!(AccountId::new("12345678901").is_err());
        assert!(AccountId::new("12345678901a").is_err());
        assert!(RoleName::new("MyRole+=,.@_-A").is_ok());
        assert!(RoleName::new("").is_err());
        assert!(RoleName::new(&"r".repeat(65)).is_err());
    }
}

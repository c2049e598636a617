//! The open-source Hadoop S3A equivalent, for Spark outside Databricks: the
//! `AssumedRoleCredentialProvider` with `fs.s3a.assumed.role.*`, as `core-site.xml` and as
//! `spark-defaults.conf`.

use std::fmt::{self, Write as _};
use std::str::FromStr;

use policy_model::arn::is_iam_name_char;
use policy_model::Flow;

use crate::keys::{self, s3a_key, ACL_DEFAULT, BUCKET_OWNER_FULL_CONTROL, SPARK_HADOOP_PREFIX};

/// The S3A option listing credential providers.
pub const CREDENTIALS_PROVIDER: &str = "aws.credentials.provider";
/// The provider class that assumes `fs.s3a.assumed.role.arn`.
pub const ASSUMED_ROLE_PROVIDER: &str = "org.apache.hadoop.fs.s3a.auth.AssumedRoleCredentialProvider";
/// The S3A option naming the role to assume.
pub const ASSUMED_ROLE_ARN: &str = "assumed.role.arn";
/// The S3A option naming the STS session.
pub const ASSUMED_ROLE_SESSION_NAME: &str = "assumed.role.session.name";
/// The S3A option naming the STS endpoint.
pub const ASSUMED_ROLE_STS_ENDPOINT: &str = "assumed.role.sts.endpoint";
/// The S3A option naming the STS endpoint's region.
pub const ASSUMED_ROLE_STS_ENDPOINT_REGION: &str = "assumed.role.sts.endpoint.region";
/// The S3A option listing the providers whose credentials call STS.
pub const ASSUMED_ROLE_CREDENTIALS_PROVIDER: &str = "assumed.role.credentials.provider";
/// The provider that reads the EC2 instance profile (MyRoleA) to call STS.
pub const INSTANCE_PROFILE_PROVIDER: &str = "org.apache.hadoop.fs.s3a.auth.IAMInstanceCredentialsProvider";

/// Why a session name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionNameError {
    /// Shorter than 2 or longer than 64 characters; holds the name.
    #[error("session name `{0}` must be 2 to 64 characters")]
    Length(String),
    /// Holds a character other than an ASCII letter or digit or one of `+=,.@_-`; holds the name.
    #[error("session name `{0}` may hold only letters, digits and `+=,.@_-`")]
    Characters(String),
}

/// An STS role session name: 2–64 characters of `[\w+=,.@-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionName(String);

impl SessionName {
    /// Checks `name`: 2 to 64 characters, each an ASCII letter or digit or one of `+=,.@_-`.
    pub fn new(name: &str) -> Result<Self, SessionNameError> {
        if !(2..=64).contains(&name.chars().count()) {
            return Err(SessionNameError::Length(name.to_owned()));
        }
        if !name.chars().all(is_iam_name_char) {
            return Err(SessionNameError::Characters(name.to_owned()));
        }
        Ok(Self(name.to_owned()))
    }
    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for SessionName {
    /// `xacct`.
    fn default() -> Self {
        Self("xacct".to_owned())
    }
}

impl fmt::Display for SessionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for SessionName {
    type Err = SessionNameError;
    fn from_str(s: &str) -> Result<Self, SessionNameError> {
        Self::new(s)
    }
}

/// The parts of the S3A conf that the config file does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct S3aOptions {
    /// `fs.s3a.assumed.role.session.name`.
    pub session_name: SessionName,
    /// `fs.s3a.assumed.role.sts.endpoint`, rendered only when set.
    pub sts_endpoint: Option<String>,
    /// `fs.s3a.assumed.role.sts.endpoint.region`, rendered only when set.
    pub sts_region: Option<String>,
}

/// The S3A settings as Hadoop keys, in order: the shared STS settings first, then the role and
/// ACL globally (one owner role) or per bucket (several).
pub fn s3a_settings(flow: &Flow, opts: &S3aOptions) -> Vec<(String, String)> {
    let mut settings = vec![
        (s3a_key(None, ASSUMED_ROLE_CREDENTIALS_PROVIDER), INSTANCE_PROFILE_PROVIDER.to_owned()),
        (s3a_key(None, ASSUMED_ROLE_SESSION_NAME), opts.session_name.to_string()),
    ];
    if let Some(endpoint) = &opts.sts_endpoint {
        settings.push((s3a_key(None, ASSUMED_ROLE_STS_ENDPOINT), endpoint.clone()));
    }
    if let Some(region) = &opts.sts_region {
        settings.push((s3a_key(None, ASSUMED_ROLE_STS_ENDPOINT_REGION), region.clone()));
    }
    let assume = |bucket, role_arn: String| {
        [
            (s3a_key(bucket, CREDENTIALS_PROVIDER), ASSUMED_ROLE_PROVIDER.to_owned()),
            (s3a_key(bucket, ASSUMED_ROLE_ARN), role_arn),
            (s3a_key(bucket, ACL_DEFAULT), BUCKET_OWNER_FULL_CONTROL.to_owned()),
        ]
    };
    if keys::uses_per_bucket_keys(flow) {
        for (owner, bucket) in flow.buckets() {
            settings.extend(assume(Some(&bucket.name), owner.role_arn()));
        }
    } else if let Some(owner) = flow.owners().iter().find(|o| !o.buckets.is_empty()) {
        settings.extend(assume(None, owner.role_arn()));
    }
    settings
}

/// The settings as `spark-defaults.conf` lines (`spark.hadoop.` keys).
pub fn spark_defaults_conf(flow: &Flow, opts: &S3aOptions) -> String {
    let mut out = String::new();
    for (key, value) in s3a_settings(flow, opts) {
        let _ = writeln!(out, "{SPARK_HADOOP_PREFIX}{key} {value}");
    }
    out
}

/// The settings as a Hadoop `core-site.xml`.
pub fn core_site_xml(flow: &Flow, opts: &S3aOptions) -> String {
    let mut out = String::from("<?xml version=\"1.0\"?>\n<configuration>\n");
    for (key, value) in s3a_settings(flow, opts) {
        let _ = write!(
            out,
            "  <property>\n    <name>{}</name>\n    <value>{}</value>\n  </property>\n",
            xml_escape(&key),
            xml_escape(&value)
        );
    }
    out.push_str("</configuration>\n");
    out
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn render_s3a(flow: &Flow, opts: &S3aOptions) -> String {
    let mut out = String::from(
        "# Hadoop S3A outside Databricks: the instance profile's credentials (MyRoleA) call STS to assume the\n\
         # bucket owner's role.\n",
    );
    if keys::uses_per_bucket_keys(flow) {
        out.push_str("# Several bucket owners: each bucket assumes its own owner's role through per-bucket keys.\n");
    }
    out.push_str("\n# spark-defaults.conf\n");
    out.push_str(&spark_defaults_conf(flow, opts));
    out.push_str("\n# core-site.xml\n");
    out.push_str(&core_site_xml(flow, opts));
    out
}

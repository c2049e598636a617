//! The S3A settings of the flow, as Hadoop keys without the `spark.hadoop.` prefix.
//!
//! With one bucket-owner role the runbook's global keys (`fs.s3a.credentialsType`, …) say
//! everything. With several, one global `stsAssumeRole.arn` can name only one of the roles, so
//! each bucket gets its own `fs.s3a.bucket.<bucket>.…` keys and assumes its own owner's role.

use policy_model::{BucketName, Flow};

/// Databricks' S3A option choosing how credentials are obtained.
pub const CREDENTIALS_TYPE: &str = "credentialsType";
/// Databricks' S3A option naming the role to assume.
pub const STS_ASSUME_ROLE_ARN: &str = "stsAssumeRole.arn";
/// The S3A option setting the canned ACL of every object written.
pub const ACL_DEFAULT: &str = "acl.default";
/// The `credentialsType` value that makes Databricks assume `stsAssumeRole.arn`.
pub const ASSUME_ROLE: &str = "AssumeRole";
/// The canned ACL the runbook sets, in the Hadoop enum form Databricks documents.
pub const BUCKET_OWNER_FULL_CONTROL: &str = "BucketOwnerFullControl";
/// The prefix that turns a Hadoop key into a Spark conf key.
pub const SPARK_HADOOP_PREFIX: &str = "spark.hadoop.";

/// Whether the flow needs per-bucket keys: true when its buckets belong to more than one
/// owner role, so that a single global `stsAssumeRole.arn` cannot serve them all.
pub fn uses_per_bucket_keys(flow: &Flow) -> bool {
    let mut roles: Vec<String> = flow.owners.iter().filter(|o| !o.buckets.is_empty()).map(|o| o.role_arn()).collect();
    roles.sort();
    roles.dedup();
    roles.len() > 1
}

/// `fs.s3a.<option>`, or `fs.s3a.bucket.<bucket>.<option>` for one bucket.
pub fn s3a_key(bucket: Option<&BucketName>, option: &str) -> String {
    match bucket {
        Some(bucket) => format!("fs.s3a.bucket.{bucket}.{option}"),
        None => format!("fs.s3a.{option}"),
    }
}

/// The Databricks S3A settings of the flow as Hadoop keys, in config order: the runbook's three
/// global keys with one owner role, per-bucket keys with several, none without buckets.
pub fn hadoop_settings(flow: &Flow) -> Vec<(String, String)> {
    let per_bucket = uses_per_bucket_keys(flow);
    let mut settings = Vec::new();
    if per_bucket {
        for (owner, bucket) in flow.buckets() {
            settings.extend(assume_role_settings(Some(&bucket.name), &owner.role_arn()));
        }
    } else if let Some(owner) = flow.owners.iter().find(|o| !o.buckets.is_empty()) {
        settings.extend(assume_role_settings(None, &owner.role_arn()));
    }
    settings
}

/// The three Databricks settings that assume `role_arn`, globally or for one bucket.
pub(crate) fn assume_role_settings(bucket: Option<&BucketName>, role_arn: &str) -> [(String, String); 3] {
    [
        (s3a_key(bucket, CREDENTIALS_TYPE), ASSUME_ROLE.to_owned()),
        (s3a_key(bucket, STS_ASSUME_ROLE_ARN), role_arn.to_owned()),
        (s3a_key(bucket, ACL_DEFAULT), BUCKET_OWNER_FULL_CONTROL.to_owned()),
    ]
}

/// A double-quoted string literal that Python, Scala and JSON all read back as `s`.
pub(crate) fn quote(s: &str) -> String {
    // JSON's escapes (`\"`, `\\`, `\n`, `\uXXXX`, …) are a subset of Python's and Scala's.
    serde_json::to_string(s).unwrap_or_default()
}

/// The key-name endings whose values are credentials (`fs.s3a.secret.key`, `fs.s3a.access.key`,
/// `fs.s3a.session.token` and their per-bucket and `spark.hadoop.` forms).
const SECRET_ENDINGS: &[&str] = &["secret.key", "access.key", "session.token"];

/// Text that may hold a credential, safe to show: everything after the first secret-looking key
/// name (see [`SECRET_ENDINGS`]) becomes `<redacted>`. Text without one comes back as it is.
pub fn redact(text: &str) -> std::borrow::Cow<'_, str> {
    let lower = text.to_ascii_lowercase();
    let cut = SECRET_ENDINGS.iter().filter_map(|e| lower.find(e).map(|at| at + e.len())).min();
    match cut {
        Some(at) if at < text.len() => format!("{}<redacted>", &text[..at]).into(),
        _ => text.into(),
    }
}

/// The value of `key` as it may be shown: `<redacted>` for a secret-looking key.
pub fn shown_value<'v>(key: &str, value: &'v str) -> &'v str {
    let lower = key.to_ascii_lowercase();
    if SECRET_ENDINGS.iter().any(|e| lower.ends_with(e)) {
        "<redacted>"
    } else {
        value
    }
}

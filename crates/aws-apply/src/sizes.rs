//! Document sizes as each service counts them, checked before any write.
//!
//! | document | limit | counted as | source |
//! |---|---|---|---|
//! | a role's inline policies, together | 10,240 | characters without whitespace | IAM User Guide, "IAM and AWS STS quotas": role policy size |
//! | a customer managed policy | 6,144 | characters without whitespace | same page: managed policy size |
//! | a role trust policy | 2,048 (default quota; up to 4,096 on request) | characters without whitespace | same page: role trust policy length |
//! | an S3 bucket policy | 20 KB (20,480) | bytes of the document as sent | Amazon S3 User Guide, "Bucket policies": "limited to 20 KB" |
//! | a KMS key policy | 32 KB (32,768) | bytes of the document as sent | AWS KMS Developer Guide, "Key policies": "up to 32 kilobytes (32,768 bytes)" |
//!
//! xacct sends compact JSON, so for S3 and KMS the bytes of that JSON are what counts; IAM
//! leaves whitespace out of its count, inside strings too.

use policy_model::validate::{self, DocKind};
use policy_model::PolicyDocument;
use serde::Serialize;

/// The share of its limit past which `plan` shows a document's size.
pub const SHOWN_PAST_PERCENT: usize = 80;

/// The unit a document of `kind` is counted in.
pub fn unit(kind: DocKind) -> &'static str {
    match kind {
        DocKind::Bucket | DocKind::KmsKey => "bytes",
        _ => "characters",
    }
}

/// The size of `doc` as the service that holds a document of `kind` counts it, when written as
/// xacct writes it (compact JSON).
pub fn written_size(doc: &PolicyDocument, kind: DocKind) -> usize {
    let json = doc.to_json();
    match kind {
        DocKind::Bucket | DocKind::KmsKey => json.len(),
        _ => validate::size_without_whitespace(&json),
    }
}

/// A document the plan writes whose size is past [`SHOWN_PAST_PERCENT`] of its limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocSize {
    /// The document, for people, e.g. `bucket policy of my-bucket`, or `inline policies of role X together`.
    pub what: String,
    /// Its size, counted as its service counts.
    pub size: usize,
    /// The most its service accepts.
    pub limit: usize,
    /// `characters` (IAM, without whitespace) or `bytes` (S3, KMS).
    pub unit: &'static str,
}

impl DocSize {
    /// `Some` when `size` is past [`SHOWN_PAST_PERCENT`] of `limit`.
    pub fn notable(what: &str, size: usize, limit: usize, unit: &'static str) -> Option<DocSize> {
        (size * 100 > limit * SHOWN_PAST_PERCENT).then(|| DocSize { what: what.to_owned(), size, limit, unit })
    }
}

impl std::fmt::Display for DocSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let percent = self.size * 100 / self.limit.max(1);
        write!(f, "{}: {} of {} {} ({percent}%)", self.what, self.size, self.limit, self.unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_counted_as_each_service_counts() {
        let doc = PolicyDocument::from_json(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#,
        )
        .unwrap();
        let json = doc.to_json();
        assert_eq!(written_size(&doc, DocKind::KmsKey), json.len());
        assert_eq!(written_size(&doc, DocKind::Bucket), json.len());
        assert_eq!(written_size(&doc, DocKind::Trust), json.len() - 3, "IAM leaves out the three spaces of the Sid");
        assert_eq!(DocSize::notable("x", 80, 100, "bytes"), None);
        assert_eq!(DocSize::notable("x", 81, 100, "characters").unwrap().to_string(), "x: 81 of 100 characters (81%)");
    }
}

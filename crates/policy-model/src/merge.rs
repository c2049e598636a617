//! Putting our statements into a document others also edit, and taking them out again.
//!
//! A bucket policy, a key policy or the cross-account role's inline policy
//! belongs to someone else; xacct only owns its statements there, which it
//! finds by Sid. **Every foreign statement comes through unchanged and in its
//! place**, and so do the document's Version and Id.

use crate::document::{PolicyDocument, Statement};
use crate::validate::size_without_whitespace;
pub use crate::validate::{
    BUCKET_POLICY_LIMIT, INLINE_ROLE_POLICIES_LIMIT, KEY_POLICY_LIMIT, MANAGED_POLICY_LIMIT, TRUST_POLICY_LIMIT,
};

/// Why our statements could not be merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MergeError {
    /// The merged document would be over its size limit.
    #[error(
        "the merged policy would be {size} characters without whitespace, over the limit of {limit}: \
         remove statements from it or split it before xacct adds its own"
    )]
    TooLarge {
        /// Characters of the merged document's canonical JSON, without whitespace.
        size: usize,
        /// The most characters a document of its kind may have.
        limit: usize,
    },
    /// One of our statements has no Sid.
    #[error("our statement {index} has no Sid, so it could not be found again to replace or remove")]
    NoSid {
        /// The statement's 0-based index in `ours`.
        index: usize,
    },
    /// Two of our statements share a Sid.
    #[error("our statements use Sid `{sid}` twice")]
    DuplicateSid {
        /// The Sid used twice.
        sid: String,
    },
}

/// Merges `ours` into `existing` (or into a new 2012-10-17 document when there is none).
///
/// A statement of ours replaces, in place, the statement with the same Sid
/// (later statements with that Sid are dropped); one with a new Sid is
/// appended. Nothing else changes. The result's canonical JSON, counted
/// without whitespace, must fit in `limit` (see [`crate::validate::DocKind::size_limit`]).
pub fn merge(
    existing: Option<&PolicyDocument>,
    ours: &[Statement],
    limit: usize,
) -> Result<PolicyDocument, MergeError> {
    let mut sids: Vec<&str> = Vec::with_capacity(ours.len());
    for (index, stmt) in ours.iter().enumerate() {
        let sid = stmt.sid.as_deref().ok_or(MergeError::NoSid { index })?;
        if sids.contains(&sid) {
            return Err(MergeError::DuplicateSid { sid: sid.to_owned() });
        }
        sids.push(sid);
    }

    let mut doc = existing.cloned().unwrap_or_else(|| PolicyDocument::new(Vec::new()));
    for (stmt, sid) in ours.iter().zip(sids) {
        let same = |s: &Statement| s.sid.as_deref() == Some(sid);
        match doc.statement.iter().position(same) {
            Some(first) => {
                doc.statement[first] = stmt.clone();
                let mut i = 0;
                doc.statement.retain(|s| {
                    i += 1;
                    i - 1 <= first || !same(s)
                });
            }
            None => doc.statement.push(stmt.clone()),
        }
    }

    let size = size_without_whitespace(&doc.to_json());
    if size > limit {
        return Err(MergeError::TooLarge { size, limit });
    }
    Ok(doc)
}

/// [`merge`], then also takes out every statement of ours (by `is_ours`) whose
/// Sid `ours` no longer has: what a re-apply wants when the flow has changed,
/// for example a bucket owner's role was renamed. Foreign statements keep
/// their order.
pub fn replace_ours(
    existing: Option<&PolicyDocument>,
    ours: &[Statement],
    is_ours: impl Fn(&Statement) -> bool,
    limit: usize,
) -> Result<PolicyDocument, MergeError> {
    let mut doc = merge(existing, ours, usize::MAX)?;
    let wanted = |s: &Statement| ours.iter().any(|o| o.sid == s.sid);
    doc.statement.retain(|s| !is_ours(s) || wanted(s));
    let size = size_without_whitespace(&doc.to_json());
    if size > limit {
        return Err(MergeError::TooLarge { size, limit });
    }
    Ok(doc)
}

/// Takes out every statement for which `ours` is true. Returns `None` when
/// nothing else is left, so that the caller deletes the policy instead of
/// writing an empty one (AWS refuses a document without statements).
pub fn unmerge(existing: &PolicyDocument, ours: impl Fn(&Statement) -> bool) -> Option<PolicyDocument> {
    let mut doc = existing.clone();
    doc.statement.retain(|s| !ours(s));
    (!doc.statement.is_empty()).then_some(doc)
}

/// [`unmerge`] of the statements whose Sid is one of `sids`.
pub fn unmerge_sids(existing: &PolicyDocument, sids: &[&str]) -> Option<PolicyDocument> {
    unmerge(existing, |s| s.sid.as_deref().is_some_and(|sid| sids.contains(&sid)))
}

#[cfg(test)]
mod tests {
    use expect_test::{expect, Expect};
    use proptest::prelude::*;

    use super::*;
    use crate::build::{self, is_ours};
    use crate::flow::fixtures;
    use crate::strategies;

    #[track_caller]
    fn check(existing: Option<&str>, limit: usize, expect: Expect) {
        let flow = fixtures::runbook();
        let (owner, bucket) = flow.buckets().next().unwrap();
        let ours = build::bucket_statements(owner, bucket);
        let existing = existing.map(|e| PolicyDocument::from_json(e).unwrap());
        let got = match merge(existing.as_ref(), &ours, limit) {
            Ok(doc) => doc.to_json(),
            Err(e) => format!("error: {e}"),
        };
        expect.assert_eq(&got);
    }

    const FOREIGN: &str = r#"{"Version":"2008-10-17","Id":"PolicyForCloudFront","Statement":[{"Sid":"1","Effect":"Allow","Principal":{"CanonicalUser":"abc"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::my-bucket/*"},{"Sid":"XacctBucketMyRoleB","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:role/Old"},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::my-bucket"},{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::my-bucket/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}},{"Sid":"XacctBucketMyRoleB","Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"*"}]}"#;

    #[test]
    fn merges() {
        // No policy yet: ours alone, in a new document.
        check(
            None,
            BUCKET_POLICY_LIMIT,
            expect![[
                r#"{"Version":"2012-10-17","Statement":[{"Sid":"XacctBucketMyRoleB","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::222222222222:role/MyRoleB"]},"Action":["s3:GetBucketLocation","s3:ListBucket"],"Resource":"arn:aws:s3:::my-bucket"},{"Sid":"XacctObjectsMyRoleB","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::222222222222:role/MyRoleB"]},"Action":["s3:PutObject","s3:PutObjectAcl","s3:GetObject","s3:DeleteObject"],"Resource":"arn:aws:s3:::my-bucket/*"}]}"#
            ]],
        );
        // Ours replaces the statement with its Sid in place (a second one with that Sid goes),
        // and is appended otherwise; Version, Id and the foreign statements stay as they were.
        check(
            Some(FOREIGN),
            BUCKET_POLICY_LIMIT,
            expect![[
                r#"{"Version":"2008-10-17","Id":"PolicyForCloudFront","Statement":[{"Sid":"1","Effect":"Allow","Principal":{"CanonicalUser":"abc"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::my-bucket/*"},{"Sid":"XacctBucketMyRoleB","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::222222222222:role/MyRoleB"]},"Action":["s3:GetBucketLocation","s3:ListBucket"],"Resource":"arn:aws:s3:::my-bucket"},{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::my-bucket/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}},{"Sid":"XacctObjectsMyRoleB","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::222222222222:role/MyRoleB"]},"Action":["s3:PutObject","s3:PutObjectAcl","s3:GetObject","s3:DeleteObject"],"Resource":"arn:aws:s3:::my-bucket/*"}]}"#
            ]],
        );
        check(Some(FOREIGN), 700, expect!["error: the merged policy would be 753 characters without whitespace, over the limit of 700: remove statements from it or split it before xacct adds its own"]);
    }

    #[test]
    fn replaces_ours() {
        let existing = PolicyDocument::from_json(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"XacctOld","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"Theirs","Effect":"Deny","Action":"s3:*","Resource":"*"},{"Sid":"XacctKeep","Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}"#,
        )
        .unwrap();
        let ours = [Statement::allow("XacctKeep").with_action("s3:GetObject").with_resource("*".to_owned())];
        expect![[r#"{"Version":"2012-10-17","Statement":[{"Sid":"Theirs","Effect":"Deny","Action":"s3:*","Resource":"*"},{"Sid":"XacctKeep","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#]].assert_eq(&replace_ours(Some(&existing), &ours, is_ours, usize::MAX).unwrap().to_json());
    }

    #[test]
    fn refuses_what_cannot_be_found_again() {
        let no_sid = PolicyDocument::from_json(r#"{"Statement":[{"Effect":"Allow"}]}"#).unwrap().statement;
        expect!["our statement 0 has no Sid, so it could not be found again to replace or remove"]
            .assert_eq(&merge(None, &no_sid, usize::MAX).unwrap_err().to_string());
        let twice = [Statement::allow("XacctA"), Statement::allow("XacctA")];
        expect!["our statements use Sid `XacctA` twice"]
            .assert_eq(&merge(None, &twice, usize::MAX).unwrap_err().to_string());
    }

    #[test]
    fn unmerges() {
        let foreign = PolicyDocument::from_json(FOREIGN).unwrap();
        let left = unmerge(&foreign, is_ours).unwrap();
        expect![[r#"{"Version":"2008-10-17","Id":"PolicyForCloudFront","Statement":[{"Sid":"1","Effect":"Allow","Principal":{"CanonicalUser":"abc"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::my-bucket/*"},{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::my-bucket/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#]].assert_eq(&left.to_json());
        assert_eq!(unmerge_sids(&foreign, &["XacctBucketMyRoleB"]), Some(left));
        let flow = fixtures::runbook();
        assert_eq!(unmerge(&build::owner_trust_policy(&flow), is_ours), None);
        assert_eq!(unmerge_sids(&build::assume_role_policy(&flow), &["XacctAssumeBucketOwnerRoles"]), None);
    }

    fn config(cases: u32) -> ProptestConfig {
        // XorShift: in a debug build ChaCha alone takes half the time of these cases.
        ProptestConfig {
            cases,
            failure_persistence: None,
            rng_algorithm: proptest::test_runner::RngAlgorithm::XorShift,
            ..ProptestConfig::default()
        }
    }

    proptest! {
        #![proptest_config(config(10_000))]

        /// Merging never loses, changes or moves a foreign statement; every one of
        /// ours is there once; and unmerging gives back the original.
        #[test]
        fn merge_keeps_foreign_statements(
            existing in proptest::option::of(strategies::foreign_document()),
            ours in strategies::our_statements(4),
        ) {
            let merged = merge(existing.as_ref(), &ours, usize::MAX).unwrap();
            let foreign: Vec<&Statement> = merged.statement.iter().filter(|s| !is_ours(s)).collect();
            let original: Vec<&Statement> = existing.iter().flat_map(|d| &d.statement).collect();
            prop_assert_eq!(&foreign, &original);
            for (a, b) in foreign.iter().zip(&original) {
                prop_assert_eq!(serde_json::to_string(a).unwrap(), serde_json::to_string(b).unwrap());
            }
            // In place: the foreign statements open the document, in their order.
            prop_assert_eq!(merged.statement.iter().take(original.len()).collect::<Vec<_>>(), original);
            prop_assert_eq!(&merged.statement[merged.statement.len() - ours.len()..], &ours[..]);
            if let Some(existing) = &existing {
                prop_assert_eq!(&merged.version, &existing.version);
                prop_assert_eq!(&merged.id, &existing.id);
            }
            // Merging again changes nothing.
            prop_assert_eq!(merge(Some(&merged), &ours, usize::MAX).unwrap(), merged.clone());
            // The canonical JSON of the merge, and unmerge restores the original.
            let expected = existing.filter(|d| !d.statement.is_empty());
            let sids: Vec<&str> = ours.iter().filter_map(|s| s.sid.as_deref()).collect();
            prop_assert_eq!(unmerge_sids(&merged, &sids), expected.clone());
            prop_assert_eq!(unmerge(&merged, is_ours), expected);
        }

    }

    proptest! {
        #![proptest_config(config(2_000))]

        /// Replacing an older version of our statements keeps every foreign
        /// statement's index; the limit is enforced on the canonical size.
        #[test]
        fn merge_replaces_ours_in_place(
            foreign in strategies::foreign_document(),
            old in strategies::our_statements(4),
            new in strategies::our_statements(4),
            seed in any::<u64>(),
        ) {
            let mut existing = foreign.clone();
            for (i, stmt) in old.iter().enumerate() {
                let at = (seed as usize).wrapping_add(i * 7) % (existing.statement.len() + 1);
                existing.statement.insert(at, stmt.clone());
            }
            let merged = merge(Some(&existing), &new, usize::MAX).unwrap();
            for (i, stmt) in existing.statement.iter().enumerate() {
                if !is_ours(stmt) {
                    prop_assert_eq!(&merged.statement[i], stmt);
                }
            }
            let size = size_without_whitespace(&merged.to_json());
            prop_assert_eq!(merge(Some(&existing), &new, size), Ok(merged.clone()));
            prop_assert_eq!(merge(Some(&existing), &new, size - 1), Err(MergeError::TooLarge { size, limit: size - 1 }));
            prop_assert_eq!(unmerge(&merged, is_ours), unmerge(&foreign, is_ours));

            // replace_ours: the same, without the old statements that `new` lacks.
            let replaced = replace_ours(Some(&existing), &new, is_ours, usize::MAX).unwrap();
            prop_assert_eq!(replaced.statement.iter().filter(|s| is_ours(s)).count(), new.len());
            prop_assert_eq!(unmerge(&replaced, is_ours), unmerge(&foreign, is_ours));
            let expected: Vec<&Statement> = merged.statement.iter().filter(|s| !is_ours(s) || new.iter().any(|n| n.sid == s.sid)).collect();
            prop_assert_eq!(replaced.statement.iter().collect::<Vec<_>>(), expected);
        }
    }
}

//! Optimistic concurrency for the documents others also edit.
//!
//! A plan is made from what [`observe`](crate::observe()) read. Between that read and the write,
//! someone else may change the same bucket, trust, inline or key policy. Just before each policy
//! write, [`apply`](crate::apply()) reads the document again. When it is as the plan read it, the
//! planned document is written. When it differs, the plan's change is made to the new copy
//! instead ([`rebase`]): the other writer's statements are kept as they now are, ours are set to
//! what the plan wants. When the other writer touched one of our statements (a Sid starting with
//! [`SID_PREFIX`](policy_model::build::SID_PREFIX)), nothing is written and the apply stops with
//! [`Error::Conflict`](crate::Error::Conflict).
//!
//! IAM, S3 and KMS have no conditional write for policies, so a change made between this second
//! read and the write can still be lost; the window shrinks from the whole plan to one call.

use policy_model::build;
use policy_model::merge as policy_merge;
use policy_model::validate::DocKind;
use policy_model::{PolicyDocument, Statement};

use crate::plan::same;

/// A document write of the plan: what the plan read, what it writes, and the size limit that
/// applies to what is finally written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Guard {
    /// The document as the plan read it; `None` when there was none.
    pub(crate) read: Option<PolicyDocument>,
    /// The document the plan writes; `None` when it deletes it.
    pub(crate) after: Option<PolicyDocument>,
    /// What the document is, for counting its size as its service does.
    pub(crate) kind: DocKind,
    /// The most a written document may have (for an inline policy: what the role's other
    /// inline policies leave).
    pub(crate) limit: usize,
}

/// What to do, given the document as it is now.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Rebased {
    /// It is as the plan read it: make the planned call.
    AsPlanned,
    /// It changed: write this instead.
    Write(PolicyDocument),
    /// It changed and nothing is left in it: delete it.
    Delete,
    /// It changed, nothing is left, and there is nothing to delete.
    Nothing,
}

/// Why a changed document cannot take the plan's change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refused {
    /// These Sids of ours differ between the plan's read and now.
    Touched(Vec<String>),
    /// Merged with the other writer's change, the document passes its limit.
    TooLarge {
        /// Characters without whitespace.
        size: usize,
    },
}

/// The plan's change made to `now`, the document as it is just before the write.
///
/// The plan's change is: our statements become those of `after`, and every foreign statement
/// the plan dropped (only a document xacct owns outright drops any) stays dropped. Every other
/// foreign statement of `now` is kept where it stands, those the other writer added included.
pub(crate) fn rebase(guard: &Guard, now: Option<&PolicyDocument>) -> Result<Rebased, Refused> {
    let unchanged = match (guard.read.as_ref(), now) {
        (None, None) => true,
        (Some(read), Some(now)) => same(read, now),
        _ => false,
    };
    if unchanged {
        return Ok(Rebased::AsPlanned);
    }
    let touched = touched_sids(guard.read.as_ref(), guard.after.as_ref(), now);
    if !touched.is_empty() {
        return Err(Refused::Touched(touched));
    }
    let dropped: Vec<&Statement> =
        foreign(guard.read.as_ref()).filter(|s| !foreign(guard.after.as_ref()).any(|a| same_statement(a, s))).collect();
    let base = now.map(|now| PolicyDocument {
        version: now.version.clone(),
        id: now.id.clone(),
        statement: now.statement.iter().filter(|s| !dropped.iter().any(|d| same_statement(d, s))).cloned().collect(),
    });
    let ours: Vec<Statement> =
        guard.after.iter().flat_map(|a| a.statement.iter()).filter(|s| build::is_ours(s)).cloned().collect();
    let merged = match policy_merge::replace_ours(base.as_ref(), &ours, build::is_ours, usize::MAX) {
        Ok(doc) => doc,
        // Only a size limit fails a merge, and none is given here.
        Err(_) => return Err(Refused::TooLarge { size: usize::MAX }),
    };
    if merged.statement.is_empty() {
        return Ok(if now.is_some() { Rebased::Delete } else { Rebased::Nothing });
    }
    let merged = match (base, guard.after.as_ref()) {
        (None, Some(after)) => PolicyDocument { version: after.version.clone(), id: after.id.clone(), ..merged },
        _ => merged,
    };
    let size = crate::sizes::written_size(&merged, guard.kind);
    if size > guard.limit {
        return Err(Refused::TooLarge { size });
    }
    Ok(Rebased::Write(merged))
}

fn foreign(doc: Option<&PolicyDocument>) -> impl Iterator<Item = &Statement> {
    doc.into_iter().flat_map(|d| d.statement.iter()).filter(|s| !build::is_ours(s))
}

fn ours(doc: Option<&PolicyDocument>) -> Vec<&Statement> {
    doc.into_iter().flat_map(|d| d.statement.iter()).filter(|s| build::is_ours(s)).collect()
}

/// The Sids of ours that the other writer changed (added, removed or edited) to something other
/// than what the plan writes.
fn touched_sids(
    read: Option<&PolicyDocument>,
    after: Option<&PolicyDocument>,
    now: Option<&PolicyDocument>,
) -> Vec<String> {
    let (read, after, now) = (ours(read), ours(after), ours(now));
    let by_sid = |list: &[&Statement], sid: &Option<String>| list.iter().find(|s| s.sid == *sid).map(|s| (*s).clone());
    let alike = |x: &Option<Statement>, y: &Option<Statement>| match (x, y) {
        (None, None) => true,
        (Some(x), Some(y)) => same_statement(x, y),
        _ => false,
    };
    let mut sids: Vec<Option<String>> = read.iter().chain(now.iter()).map(|s| s.sid.clone()).collect();
    sids.sort();
    sids.dedup();
    sids.into_iter()
        .filter(|sid| {
            let (r, a, n) = (by_sid(&read, sid), by_sid(&after, sid), by_sid(&now, sid));
            !alike(&n, &r) && !alike(&n, &a)
        })
        .map(Option::unwrap_or_default)
        .collect()
}

fn same_statement(a: &Statement, b: &Statement) -> bool {
    let one = |s: &Statement| PolicyDocument { version: None, id: None, statement: vec![s.clone()] };
    same(&one(a), &one(b))
}

#[cfg(test)]
mod tests {
    use expect_test::{expect, Expect};

    use super::*;

    const FOREIGN: &str = r#"{"Sid":"Auditor","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/audit/*"}"#;
    const LATE: &str = r#"{"Sid":"LateWriter","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::333333333333:root"},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"}"#;
    const OURS: &str = r#"{"Sid":"XacctBucket","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:role/MyRoleB"},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"}"#;
    const OURS_OLD: &str = r#"{"Sid":"XacctBucket","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:role/MyRoleB"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#;

    fn doc(statements: &[&str]) -> Option<PolicyDocument> {
        if statements == ["-"] {
            return None;
        }
        let text = format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, statements.join(","));
        Some(PolicyDocument::from_json(&text).unwrap())
    }

    fn sids(doc: &PolicyDocument) -> String {
        doc.statement.iter().map(|s| s.sid.clone().unwrap_or_default()).collect::<Vec<_>>().join(",")
    }

    /// `read`, `after` and `now` are lists of statements; `["-"]` is no document.
    #[track_caller]
    fn check(read: &[&str], after: &[&str], now: &[&str], limit: usize, expect: Expect) {
        let guard = Guard { read: doc(read), after: doc(after), kind: DocKind::Bucket, limit };
        let text = match rebase(&guard, doc(now).as_ref()) {
            Ok(Rebased::AsPlanned) => "as planned".to_owned(),
            Ok(Rebased::Write(d)) => format!("write {}", sids(&d)),
            Ok(Rebased::Delete) => "delete".to_owned(),
            Ok(Rebased::Nothing) => "nothing".to_owned(),
            Err(Refused::Touched(s)) => format!("touched {}", s.join(",")),
            Err(Refused::TooLarge { size }) => format!("too large {size}"),
        };
        expect.assert_eq(&text);
    }

    #[test]
    fn a_document_changed_since_the_plan_read_it() {
        check(&[FOREIGN], &[FOREIGN, OURS], &[FOREIGN], 20_480, expect!["as planned"]);
        check(&["-"], &[OURS], &["-"], 20_480, expect!["as planned"]);
        // Someone added a statement: it is kept, and ours is added.
        check(&[FOREIGN], &[FOREIGN, OURS], &[FOREIGN, LATE], 20_480, expect!["write Auditor,LateWriter,XacctBucket"]);
        check(&["-"], &[OURS], &[LATE], 20_480, expect!["write LateWriter,XacctBucket"]);
        // Someone removed a foreign statement: it stays removed.
        check(&[FOREIGN, LATE], &[FOREIGN, LATE, OURS], &[LATE], 20_480, expect!["write LateWriter,XacctBucket"]);
        // Ours is replaced where it stands.
        check(
            &[OURS_OLD, FOREIGN],
            &[OURS, FOREIGN],
            &[OURS_OLD, FOREIGN, LATE],
            20_480,
            expect!["write XacctBucket,Auditor,LateWriter"],
        );
        // A document xacct owns drops a foreign statement it had; one added since is kept.
        check(
            &[FOREIGN, OURS_OLD],
            &[OURS],
            &[FOREIGN, OURS_OLD, LATE],
            20_480,
            expect!["write XacctBucket,LateWriter"],
        );
        // Destroy: the policy was to be deleted, but someone added to it.
        check(&[OURS], &["-"], &[OURS, LATE], 20_480, expect!["write LateWriter"]);
        check(&[FOREIGN, OURS], &[FOREIGN], &[OURS], 20_480, expect!["delete"]);
        // Someone already took our statement out: nothing is left to do.
        check(&[OURS], &["-"], &["-"], 20_480, expect!["nothing"]);
        check(&[FOREIGN, OURS_OLD], &[FOREIGN, OURS], &[FOREIGN, OURS], 20_480, expect!["write Auditor,XacctBucket"]);
        check(&[FOREIGN], &[FOREIGN], &["-"], 20_480, expect!["nothing"]);
        // Our statement was changed or removed by someone else: stop.
        check(&[FOREIGN, OURS_OLD], &[FOREIGN, OURS], &[FOREIGN], 20_480, expect!["touched XacctBucket"]);
        check(&[FOREIGN], &[FOREIGN, OURS], &[FOREIGN, OURS_OLD], 20_480, expect!["touched XacctBucket"]);
        // The merged document passes the limit.
        check(&[FOREIGN], &[FOREIGN, OURS], &[FOREIGN, LATE], 300, expect!["too large 483"]);
    }
}

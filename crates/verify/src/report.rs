//! The report: one [`Link`] per requirement of the chain, each with a status, the evidence that
//! decided it and a concrete fix.
//!
//! The JSON form is fixed by DESIGN.md:
//! `{"ok": bool, "links": [{"id", "from", "to", "action", "status", "evidence", "fix"}]}`.
//! `evidence` is one string (the lines joined with `"; "`), and `fix` is `null` when there is
//! nothing to do. `warnings` is an extra key: the places where a live probe and the evaluation
//! disagree.

use std::fmt;

use serde::{Serialize, Serializer};

/// A link's result. Serialized as `pass`, `fail` or `skipped`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    /// Not checked; the evidence says why.
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skipped => "skipped",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One requirement of the chain.
///
/// `id` is shared with `spark_conf::link` (`passrole`, `instance-profile`,
/// `assume-a-to-b:<owner>`, `trust-b:<owner>`, `bucket:<bucket>`, `kms:<bucket>`, `scp`,
/// `databricks`), so the diagram can show the statuses. Live probes use ids that start with
/// `probe:` (`probe:assume-a`, `probe:assume-b:<owner>`, `probe:canary:<bucket>`,
/// `probe:ownership:<bucket>`, `probe:on-cluster:<bucket>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    pub id: String,
    /// Who acts: a principal ARN, a service, or a system such as the Databricks workspace.
    pub from: String,
    /// What it acts on: a role, bucket or key ARN, or an instance profile.
    pub to: String,
    /// What must be allowed, e.g. `sts:AssumeRole` or `s3:GetObject, s3:PutObject`.
    pub action: String,
    pub status: Status,
    /// The statements that decided (account, document, Sid), the facts read, or why the link was skipped.
    #[serde(serialize_with = "joined")]
    pub evidence: Vec<String>,
    /// What to change, concretely: the statement to add, or the document and account to edit.
    /// `None` when the link passes (and for skipped links with nothing to do).
    pub fix: Option<String>,
}

fn joined<S: Serializer>(lines: &[String], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&lines.join("; "))
}

impl Link {
    pub(crate) fn new(
        id: impl Into<String>,
        from: impl Into<String>,
        to: impl Into<String>,
        action: impl Into<String>,
    ) -> Link {
        Link {
            id: id.into(),
            from: from.into(),
            to: to.into(),
            action: action.into(),
            status: Status::Pass,
            evidence: Vec::new(),
            fix: None,
        }
    }

    pub(crate) fn pass(mut self, evidence: Vec<String>) -> Link {
        self.status = Status::Pass;
        self.evidence = evidence;
        self.fix = None;
        self
    }

    pub(crate) fn fail(mut self, evidence: Vec<String>, fix: impl Into<String>) -> Link {
        self.status = Status::Fail;
        self.evidence = evidence;
        self.fix = Some(fix.into());
        self
    }

    pub(crate) fn skip(mut self, reason: impl Into<String>, fix: Option<String>) -> Link {
        self.status = Status::Skipped;
        self.evidence = vec![reason.into()];
        self.fix = fix;
        self
    }

    pub fn is_probe(&self) -> bool {
        self.id.starts_with("probe:")
    }
}

/// What `verify` found. **API Boundary:** this is what callers get; the way it is computed may change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// True when no link fails (skipped links do not fail the report).
    pub ok: bool,
    pub links: Vec<Link>,
    /// Where a live probe and the evaluation disagree, one line each. Against the emulator some are
    /// expected: moto enforces neither bucket policies nor cross-account trust.
    pub warnings: Vec<String>,
}

impl Report {
    pub fn new(links: Vec<Link>, warnings: Vec<String>) -> Report {
        let ok = links.iter().all(|l| l.status != Status::Fail);
        Report { ok, links, warnings }
    }

    /// The link with this id.
    pub fn link(&self, id: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.id == id)
    }

    /// The links that fail.
    pub fn failures(&self) -> impl Iterator<Item = &Link> {
        self.links.iter().filter(|l| l.status == Status::Fail)
    }

    /// Link id to status, for the diagram (`spark_conf::RenderOptions::link_status` takes the same
    /// ids and the same three lowercase words).
    pub fn statuses(&self) -> Vec<(String, Status)> {
        self.links.iter().map(|l| (l.id.clone(), l.status)).collect()
    }

    /// The JSON form of DESIGN.md (plus `warnings`), pretty-printed.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// The text form: one block per link (status, id, from → to, action, evidence, fix), then the
/// warnings and a last line with the verdict.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.links.iter().map(|l| l.id.len()).max().unwrap_or(0);
        for link in &self.links {
            let mark = match link.status {
                Status::Pass => "PASS",
                Status::Fail => "FAIL",
                Status::Skipped => "SKIP",
            };
            writeln!(f, "{mark}  {:width$}  {} -> {}  ({})", link.id, link.from, link.to, link.action)?;
            for line in &link.evidence {
                writeln!(f, "      {:width$}  · {line}", "")?;
            }
            if let Some(fix) = &link.fix {
                writeln!(f, "      {:width$}  fix: {fix}", "")?;
            }
        }
        for warning in &self.warnings {
            writeln!(f, "warning: {warning}")?;
        }
        let failed = self.failures().count();
        let skipped = self.links.iter().filter(|l| l.status == Status::Skipped).count();
        if self.ok {
            writeln!(f, "ok: every checked link passes ({skipped} skipped)")
        } else {
            writeln!(f, "not ok: {failed} link(s) fail ({skipped} skipped)")
        }
    }
}

//! The report: one [`Link`] per requirement of the chain, each with a status, the evidence that
//! decided it and a concrete fix.
//!
//! The JSON form is fixed (the repository's `docs/verify.md` documents it):
//! `{"ok": bool, "links": [{"id", "from", "to", "action", "status", "evidence", "fix"}]}`, with
//! `status` one of `pass`, `fail`, `skipped` (the config leaves the link out) and `unchecked` (it
//! could not be checked; `ok` is then false).
//! `evidence` is one string (the lines joined with `"; "`), and `fix` is `null` when there is
//! nothing to do. `warnings` is an extra key: the places where a live probe and the evaluation
//! disagree.

use std::fmt;

use policy_model::chain::LinkStatus;

use serde::{Serialize, Serializer};

/// A link's result: the chain's [`LinkStatus`], serialized as `pass`, `fail`, `skipped` or
/// `unchecked`.
pub use policy_model::chain::LinkStatus as Status;

/// One requirement of the chain.
///
/// `id` is shared with `spark_conf::link` (`passrole`, `instance-profile`,
/// `assume-a-to-b:<owner>`, `trust-b:<owner>`, `bucket:<bucket>`, `kms:<bucket>`, `scp`,
/// `databricks`), so the diagram can show the statuses. Live probes use ids that start with
/// `probe:` (`probe:assume-a`, `probe:assume-b:<owner>`, `probe:canary:<bucket>`,
/// `probe:ownership:<bucket>`, `probe:on-cluster:<bucket>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    /// The link's id, unique in a report; see the type's docs for the forms.
    pub id: String,
    /// Who acts: a principal ARN, a service, or a system such as the Databricks workspace.
    pub from: String,
    /// What it acts on: a role, bucket or key ARN, or an instance profile.
    pub to: String,
    /// What must be allowed, e.g. `sts:AssumeRole` or `s3:GetObject, s3:PutObject`.
    pub action: String,
    /// Whether the link passes, fails, is skipped by the config or could not be checked.
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

    /// Left out by the config: `reason` says what the config does not name.
    pub(crate) fn skip(mut self, reason: impl Into<String>, fix: Option<String>) -> Link {
        self.status = Status::Skipped;
        self.evidence = vec![reason.into()];
        self.fix = fix;
        self
    }

    /// Should have been checked and could not be: `cause` says why in plain words (a read that
    /// failed, missing credentials).
    pub(crate) fn unchecked(mut self, cause: impl Into<String>) -> Link {
        self.status = Status::Unchecked;
        self.evidence = vec![cause.into()];
        self.fix = Some("make the read possible (credentials, permissions, network) and run verify again".to_owned());
        self
    }

    /// Whether this is a live probe (its id starts with `probe:`) rather than an evaluated link.
    pub fn is_probe(&self) -> bool {
        self.id.starts_with("probe:")
    }
}

/// How many links of a report have each status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Summary {
    /// Links that pass.
    pub pass: usize,
    /// Links that fail.
    pub fail: usize,
    /// Links the config leaves out.
    pub skipped: usize,
    /// Links that could not be checked.
    pub unchecked: usize,
}

/// The verdict of a report, which the CLI turns into its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every link passes or is skipped by the config (exit 0).
    Ok,
    /// Some link fails (exit 1), whatever the others are.
    Failed,
    /// No link fails, but some could not be checked (exit 3).
    Unchecked,
}

impl Verdict {
    /// The exit code `verify` uses for this verdict: 0, 1 or 3.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Ok => 0,
            Verdict::Failed => 1,
            Verdict::Unchecked => 3,
        }
    }
}

/// What `verify` found. **API Boundary:** this is what callers get; the way it is computed may change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// True when every link passes or is skipped by the config: a failing or unchecked link
    /// makes it false.
    pub ok: bool,
    /// Every link checked, in chain order, evaluated links before live probes.
    pub links: Vec<Link>,
    /// Where a live probe and the evaluation disagree, and the validator's findings on the
    /// documents read, one line each. Against the emulator some are expected: moto enforces
    /// neither bucket policies nor cross-account trust.
    pub warnings: Vec<String>,
}

impl Report {
    /// A report of these links and warnings, with [`Report::ok`] computed from the links' statuses.
    pub fn new(links: Vec<Link>, warnings: Vec<String>) -> Report {
        let ok = links.iter().all(|l| matches!(l.status, Status::Pass | Status::Skipped));
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

    /// How many links have each status.
    pub fn summary(&self) -> Summary {
        let mut out = Summary::default();
        for link in &self.links {
            match link.status {
                Status::Pass => out.pass += 1,
                Status::Fail => out.fail += 1,
                Status::Skipped => out.skipped += 1,
                Status::Unchecked => out.unchecked += 1,
            }
        }
        out
    }

    /// Whether any link fails.
    pub fn any_failed(&self) -> bool {
        self.links.iter().any(|l| l.status == Status::Fail)
    }

    /// Whether any link could not be checked.
    pub fn any_unchecked(&self) -> bool {
        self.links.iter().any(|l| l.status == Status::Unchecked)
    }

    /// Failed when a link fails; otherwise unchecked when a link could not be checked; else ok.
    pub fn verdict(&self) -> Verdict {
        if self.any_failed() {
            Verdict::Failed
        } else if self.any_unchecked() {
            Verdict::Unchecked
        } else {
            Verdict::Ok
        }
    }

    /// Link id to status, for the diagram (`spark_conf::RenderOptions::link_status` takes the same
    /// ids and statuses).
    pub fn statuses(&self) -> Vec<(String, LinkStatus)> {
        self.links.iter().map(|l| (l.id.clone(), l.status)).collect()
    }

    /// The JSON form documented in `docs/verify.md`, `warnings` included, pretty-printed.
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
                Status::Unchecked => "????",
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
        let Summary { pass, fail, skipped, unchecked } = self.summary();
        match self.verdict() {
            Verdict::Ok => writeln!(f, "ok: every checked link passes ({pass} pass, {skipped} skipped)"),
            Verdict::Failed => writeln!(
                f,
                "not ok: {fail} link(s) fail ({pass} pass, {skipped} skipped, {unchecked} could not be checked)"
            ),
            Verdict::Unchecked => writeln!(
                f,
                "not ok: {unchecked} link(s) could not be checked ({pass} pass, {skipped} skipped); nothing was proved about them"
            ),
        }
    }
}

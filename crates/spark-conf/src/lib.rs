//! Spark and Hadoop S3A configuration text for the AssumeRole flow, with no I/O.
//!
//! [`render`] turns a checked [`Flow`] into the text a user would otherwise copy from the runbook
//! by hand; [`check_file`] reads the Spark conf a user already has and reports every problem.
//!
//! - [`keys`]: the S3A settings of the flow, global with one owner role, per bucket with several;
//! - [`databricks`]: the cluster Spark conf, the notebook snippets, the mount, and the commands
//!   xacct runs on a cluster;
//! - [`s3a`]: the open-source Hadoop equivalent (`AssumedRoleCredentialProvider`);
//! - [`diagram`]: the chain as Mermaid, dot or an inline SVG, with link ids shared with `verify`;
//! - [`check`](mod@check): parsing and checking Spark conf text.
//!
//! **Invariants:** the S3A key rule is [`policy_model::chain::s3a`]'s, the one `verify` checks a
//! cluster against. With one bucket owner role the three keys are global
//! (`spark.hadoop.fs.s3a.credentialsType`, `…stsAssumeRole.arn`, `…acl.default`); with several,
//! every bucket gets its own `fs.s3a.bucket.<bucket>.*` keys and no global key is set. Objects are
//! written with `BucketOwnerFullControl`. A [`Problem`] never shows the value of a secret-looking key.
//!
//! # Example
//!
//! The cluster Spark conf for the runbook's flow, then a check of a conf that assumes the wrong
//! role:
//!
//! ```
//! use policy_model::{Access, AccountId, Bucket, BucketName, Deployment, Flow, Owner, RoleName};
//! use spark_conf::{check_file, render, spark_conf_lines, ProblemKind, RenderOptions, What};
//!
//! let deployment = Deployment {
//!     account_id: AccountId::new("111111111111")?,
//!     instance_role: RoleName::new("MyRoleA")?,
//!     cross_account_role: None,
//! };
//! let bucket =
//!     Bucket { name: BucketName::new("my-bucket")?, access: Access::ReadWrite, kms_key_arn: None, mount: false };
//! let owner =
//!     Owner { account_id: AccountId::new("222222222222")?, role: RoleName::new("MyRoleB")?, buckets: vec![bucket] };
//! let flow = Flow::new("us-east-1", deployment, vec![owner]).map_err(|problems| format!("{problems:?}"))?;
//!
//! assert_eq!(
//!     spark_conf_lines(&flow),
//!     "spark.hadoop.fs.s3a.credentialsType AssumeRole\n\
//!      spark.hadoop.fs.s3a.stsAssumeRole.arn arn:aws:iam::222222222222:role/MyRoleB\n\
//!      spark.hadoop.fs.s3a.acl.default BucketOwnerFullControl\n",
//! );
//! assert!(render(&flow, What::SparkConf, &RenderOptions::default()).contains("stsAssumeRole.arn"));
//!
//! let problems = check_file(
//!     "spark.hadoop.fs.s3a.credentialsType AssumeRole\n\
//!      spark.hadoop.fs.s3a.stsAssumeRole.arn arn:aws:iam::222222222222:role/Other\n",
//!     &flow,
//! );
//! assert_eq!(problems.len(), 1);
//! assert_eq!(problems[0].line, Some(2));
//! assert!(matches!(problems[0].kind, ProblemKind::RoleMismatch { .. }));
//! assert_eq!(problems[0].kind.code(), "role-mismatch");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! **Architecture Invariant:** this crate does no I/O and depends only on `policy-model`.

#![warn(missing_docs)]

pub mod check;
pub mod databricks;
pub mod diagram;
pub mod keys;
mod policies;
pub mod s3a;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use policy_model::Flow;

pub use check::{
    check, check_file, parse_spark_conf_json, parse_spark_conf_text, ParseError, Problem, ProblemKind, CANNED_ACLS,
};
pub use databricks::{
    ls_command_python, managed_spark_keys, merge_spark_conf, mount_command_python, mount_point, mount_python,
    mount_scala, notebook_python, notebook_scala, spark_conf_json, spark_conf_lines, spark_conf_map,
    unmount_command_python,
};
pub use diagram::{link, link_ids, svg, DiagramFormat, LinkStatus, UnknownName};
pub use keys::{python_str, scala_str, uses_per_bucket_keys};
pub use s3a::{core_site_xml, s3a_settings, spark_defaults_conf, S3aOptions, SessionName, SessionNameError};

/// A render target, as `cargo xtask render --what` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum What {
    /// Every AWS document xacct would write, labelled by account and resource, as JSON.
    Policies,
    /// The cluster's Spark config lines (Cluster > Advanced options > Spark).
    SparkConf,
    /// The notebook snippet that sets the S3A keys, in Scala.
    NotebookScala,
    /// The notebook snippet that sets the S3A keys, in Python.
    NotebookPython,
    /// The `dbutils.fs.mount` calls for buckets with `mount = true`, in Scala and Python.
    Mount,
    /// The open-source Hadoop S3A equivalent: `core-site.xml` and `spark-defaults.conf`.
    S3a,
    /// The chain as a diagram, in [`RenderOptions::diagram_format`].
    Diagram,
}

impl What {
    /// Every target, in the order the CLI lists them.
    pub const ALL: [What; 7] = [
        What::Policies,
        What::SparkConf,
        What::NotebookScala,
        What::NotebookPython,
        What::Mount,
        What::S3a,
        What::Diagram,
    ];

    /// The CLI name: `policies`, `spark-conf`, `notebook-scala`, `notebook-python`, `mount`, `s3a`, `diagram`.
    pub fn name(self) -> &'static str {
        match self {
            What::Policies => "policies",
            What::SparkConf => "spark-conf",
            What::NotebookScala => "notebook-scala",
            What::NotebookPython => "notebook-python",
            What::Mount => "mount",
            What::S3a => "s3a",
            What::Diagram => "diagram",
        }
    }
}

impl FromStr for What {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        What::ALL.into_iter().find(|w| w.name() == s).ok_or_else(|| UnknownName::What(s.to_owned()))
    }
}

impl fmt::Display for What {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What [`render`] needs beyond the flow.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RenderOptions {
    /// The diagram's format; Mermaid by default.
    pub diagram_format: DiagramFormat,
    /// Link id (see [`link_ids`]) to its status in a verify report; each diagram edge shows the
    /// statuses of its links.
    pub link_status: BTreeMap<String, LinkStatus>,
    /// The S3A conf's session name and STS endpoint.
    pub s3a: S3aOptions,
}

/// The text of one render target, ending in a newline.
pub fn render(flow: &Flow, what: What, opts: &RenderOptions) -> String {
    let cluster_text =
        matches!(what, What::SparkConf | What::NotebookScala | What::NotebookPython | What::Mount | What::S3a);
    if cluster_text && !flow.unity_owners().is_empty() {
        let note = unity_note(flow);
        if flow.owners().is_empty() {
            return note;
        }
        return format!("{}\n{note}", render_what(flow, what, opts));
    }
    render_what(flow, what, opts)
}

/// What the Spark conf, notebook, mount and S3A texts say of owners in the Unity Catalog mode:
/// they need none of it.
fn unity_note(flow: &Flow) -> String {
    let mut out = String::from(
        "# Owners in the Unity Catalog mode need no Spark conf, notebook settings, mount or S3A keys:\n# clusters reach their buckets through these external locations.\n",
    );
    for owner in flow.unity_owners() {
        for bucket in &owner.buckets {
            out.push_str(&format!(
                "#   {} ({}, storage credential {})\n",
                bucket.url(),
                bucket.external_location,
                owner.storage_credential
            ));
        }
    }
    out
}

fn render_what(flow: &Flow, what: What, opts: &RenderOptions) -> String {
    match what {
        What::Policies => policies::render_policies(flow),
        What::SparkConf => databricks::render_spark_conf(flow),
        What::NotebookScala => notebook_scala(flow),
        What::NotebookPython => notebook_python(flow),
        What::Mount => databricks::render_mount(flow),
        What::S3a => s3a::render_s3a(flow, &opts.s3a),
        What::Diagram => diagram::render_diagram(flow, opts.diagram_format, &opts.link_status),
    }
}

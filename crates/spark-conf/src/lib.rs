//! Spark and Hadoop S3A configuration text for the AssumeRole flow, with no I/O.
//!
//! [`render`] turns a checked [`Flow`] into the text a user would otherwise copy from the runbook
//! by hand; [`check_file`] reads the Spark conf a user already has and reports every problem.
//!
//! - [`keys`]: the S3A settings of the flow, global with one owner role, per bucket with several;
//! - [`databricks`]: the cluster Spark conf, the notebook snippets, the mount, and the commands
//!   xacct runs on a cluster;
//! - [`s3a`]: the open-source Hadoop equivalent (`AssumedRoleCredentialProvider`);
//! - [`diagram`]: the chain as Mermaid or dot, with link ids shared with `verify`;
//! - [`check`]: parsing and checking Spark conf text.
//!
//! **Architecture Invariant:** this crate does no I/O and depends only on `policy-model`.

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
pub use diagram::{link, link_ids, DiagramFormat, LinkStatus, UnknownName};
pub use keys::{python_str, scala_str, uses_per_bucket_keys};
pub use s3a::{core_site_xml, s3a_settings, spark_defaults_conf, S3aOptions, SessionName, SessionNameError};

/// A render target, as `cargo xtask render --what` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum What {
    Policies,
    SparkConf,
    NotebookScala,
    NotebookPython,
    Mount,
    S3a,
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

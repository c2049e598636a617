//! The chain as a diagram (Mermaid or Graphviz dot), each edge labelled with what it grants and,
//! when a verify report is at hand, with its links' statuses.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::str::FromStr;

use policy_model::{Access, Flow};

/// The ids of the links in the chain. `verify` reports its links under the same ids, so
/// [`crate::RenderOptions::link_status`] can be filled from its report.
pub mod link {
    use policy_model::{AccountId, BucketName};

    /// The Databricks cross-account role may `iam:PassRole` the instance role (only when the
    /// config names `cross_account_role`).
    pub const PASSROLE: &str = "passrole";
    /// The instance profile exists and holds the instance role.
    pub const INSTANCE_PROFILE: &str = "instance-profile";
    /// No SCP (or RCP) denies a step of the chain.
    pub const SCP: &str = "scp";
    /// Databricks has the instance profile registered and the cluster uses it.
    pub const DATABRICKS: &str = "databricks";

    /// The instance role's policy allows `sts:AssumeRole` on this owner's role.
    pub fn assume_a_to_b(owner: &AccountId) -> String {
        format!("assume-a-to-b:{owner}")
    }
    /// This owner's role trusts the instance role.
    pub fn trust_b(owner: &AccountId) -> String {
        format!("trust-b:{owner}")
    }
    /// The bucket policy grants the owner's role its access.
    pub fn bucket(bucket: &BucketName) -> String {
        format!("bucket:{bucket}")
    }
    /// The bucket's KMS key lets the owner's role use it (only for buckets with `kms_key_arn`).
    pub fn kms(bucket: &BucketName) -> String {
        format!("kms:{bucket}")
    }
}

/// Every link id of the flow, in chain order.
pub fn link_ids(flow: &Flow) -> Vec<String> {
    edges(flow).into_iter().flat_map(|e| e.links.into_iter().map(|(_, id)| id)).collect()
}

/// A link's result in a verify report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkStatus {
    Pass,
    Fail,
    Skipped,
}

impl LinkStatus {
    fn mark(self) -> &'static str {
        match self {
            LinkStatus::Pass => "✔ pass",
            LinkStatus::Fail => "✘ fail",
            LinkStatus::Skipped => "– skipped",
        }
    }
    fn colour(self) -> &'static str {
        match self {
            LinkStatus::Pass => "#2e7d32",
            LinkStatus::Fail => "#c62828",
            LinkStatus::Skipped => "#9e9e9e",
        }
    }
}

/// Why a status, format or render target was not recognised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnknownName {
    #[error("unknown link status `{0}`; expected pass, fail or skipped")]
    LinkStatus(String),
    #[error("unknown diagram format `{0}`; expected mermaid or dot")]
    DiagramFormat(String),
    #[error(
        "unknown render target `{0}`; expected policies, spark-conf, notebook-scala, notebook-python, mount, s3a or diagram"
    )]
    What(String),
}

impl FromStr for LinkStatus {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        match s {
            "pass" => Ok(LinkStatus::Pass),
            "fail" => Ok(LinkStatus::Fail),
            "skipped" => Ok(LinkStatus::Skipped),
            _ => Err(UnknownName::LinkStatus(s.to_owned())),
        }
    }
}

impl fmt::Display for LinkStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LinkStatus::Pass => "pass",
            LinkStatus::Fail => "fail",
            LinkStatus::Skipped => "skipped",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiagramFormat {
    #[default]
    Mermaid,
    Dot,
}

impl FromStr for DiagramFormat {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        match s {
            "mermaid" => Ok(DiagramFormat::Mermaid),
            "dot" => Ok(DiagramFormat::Dot),
            _ => Err(UnknownName::DiagramFormat(s.to_owned())),
        }
    }
}

struct Node {
    id: String,
    lines: Vec<String>,
}

struct Edge {
    from: String,
    to: String,
    label: &'static str,
    /// `(name on the label, link id)`; the name is empty when the edge has one link.
    links: Vec<(&'static str, String)>,
    dashed: bool,
}

fn nodes(flow: &Flow) -> Vec<Node> {
    let node = |id: &str, lines: Vec<String>| Node { id: id.to_owned(), lines };
    let d = &flow.deployment;
    let mut nodes = vec![node("cluster", vec!["Databricks cluster".to_owned()])];
    if let Some(arn) = d.cross_account_role_arn() {
        nodes.push(node("xrole", vec!["Databricks cross-account role".to_owned(), arn]));
    }
    nodes.push(node("scp", vec!["Organizations SCPs".to_owned()]));
    nodes.push(node("profile", vec!["instance profile".to_owned(), d.instance_profile_arn()]));
    nodes.push(node("roleA", vec![format!("role {}", d.instance_role), d.instance_role_arn()]));
    for (i, owner) in flow.owners.iter().enumerate() {
        nodes.push(node(&format!("roleB{i}"), vec![format!("role {}", owner.role), owner.role_arn()]));
    }
    for (i, (_, bucket)) in flow.buckets().enumerate() {
        let access = match bucket.access {
            Access::ReadWrite => "read-write",
            Access::ReadOnly => "read-only",
        };
        let mut lines = vec![format!("bucket {}", bucket.name), access.to_owned()];
        if bucket.mount {
            lines.push(format!("mounted at /mnt/{}", bucket.name));
        }
        nodes.push(node(&format!("bucket{i}"), lines));
    }
    for (i, key) in kms_keys(flow).iter().enumerate() {
        nodes.push(node(&format!("kms{i}"), vec!["KMS key".to_owned(), (*key).to_owned()]));
    }
    nodes
}

/// The distinct KMS key ARNs, in config order.
fn kms_keys(flow: &Flow) -> Vec<&str> {
    let mut keys: Vec<&str> = Vec::new();
    for (_, bucket) in flow.buckets() {
        if let Some(key) = bucket.kms_key_arn.as_deref().filter(|k| !keys.contains(k)) {
            keys.push(key);
        }
    }
    keys
}

fn edges(flow: &Flow) -> Vec<Edge> {
    let edge = |from: &str, to: String, label, links: Vec<(&'static str, String)>| Edge {
        from: from.to_owned(),
        to,
        label,
        links,
        dashed: false,
    };
    let mut edges = Vec::new();
    if flow.deployment.cross_account_role.is_some() {
        edges.push(edge("xrole", "roleA".to_owned(), "iam:PassRole", vec![("", link::PASSROLE.to_owned())]));
    }
    edges.push(edge("cluster", "profile".to_owned(), "instance_profile_arn", vec![("", link::DATABRICKS.to_owned())]));
    edges.push(edge("profile", "roleA".to_owned(), "holds role", vec![("", link::INSTANCE_PROFILE.to_owned())]));
    edges.push(Edge { dashed: true, ..edge("scp", "roleA".to_owned(), "no deny", vec![("", link::SCP.to_owned())]) });
    for (i, owner) in flow.owners.iter().enumerate() {
        let links =
            vec![("policy", link::assume_a_to_b(&owner.account_id)), ("trust", link::trust_b(&owner.account_id))];
        edges.push(edge("roleA", format!("roleB{i}"), "sts:AssumeRole", links));
    }
    let keys = kms_keys(flow);
    let owner_index = |account| flow.owners.iter().position(|o| &o.account_id == account).unwrap_or_default();
    for (i, (owner, bucket)) in flow.buckets().enumerate() {
        let label = match bucket.access {
            Access::ReadWrite => "s3 read-write",
            Access::ReadOnly => "s3 read-only",
        };
        let from = format!("roleB{}", owner_index(&owner.account_id));
        edges.push(edge(&from, format!("bucket{i}"), label, vec![("", link::bucket(&bucket.name))]));
    }
    for (i, (_, bucket)) in flow.buckets().enumerate() {
        let Some(k) = bucket.kms_key_arn.as_deref().and_then(|k| keys.iter().position(|x| *x == k)) else {
            continue;
        };
        let label = match bucket.access {
            Access::ReadWrite => "kms:Decrypt, kms:GenerateDataKey",
            Access::ReadOnly => "kms:Decrypt",
        };
        edges.push(edge(&format!("bucket{i}"), format!("kms{k}"), label, vec![("", link::kms(&bucket.name))]));
    }
    edges
}

/// The edge's label with the statuses known for its links, and the status that colours it
/// (the worst of them: fail, then skipped, then pass).
fn label(edge: &Edge, status: &BTreeMap<String, LinkStatus>) -> (String, Option<LinkStatus>) {
    let mut text = edge.label.to_owned();
    let mut worst: Option<LinkStatus> = None;
    for (name, id) in &edge.links {
        let Some(s) = status.get(id) else { continue };
        text.push_str(if name.is_empty() { " " } else { " · " });
        if !name.is_empty() {
            text.push_str(name);
            text.push(' ');
        }
        text.push_str(s.mark());
        let rank = |s: LinkStatus| match s {
            LinkStatus::Fail => 2,
            LinkStatus::Skipped => 1,
            LinkStatus::Pass => 0,
        };
        if worst.is_none_or(|w| rank(*s) > rank(w)) {
            worst = Some(*s);
        }
    }
    (text, worst)
}

/// A Mermaid flowchart of the chain.
pub fn mermaid(flow: &Flow, status: &BTreeMap<String, LinkStatus>) -> String {
    let mut out = String::from("flowchart LR\n");
    for node in nodes(flow) {
        let _ = writeln!(out, "    {}[\"{}\"]", node.id, mermaid_text(&node.lines.join("<br/>")));
    }
    let mut styles = String::new();
    for (i, edge) in edges(flow).iter().enumerate() {
        let (text, worst) = label(edge, status);
        let arrow = if edge.dashed { "-.->" } else { "-->" };
        let _ = writeln!(out, "    {} {arrow}|\"{}\"| {}", edge.from, mermaid_text(&text), edge.to);
        if let Some(s) = worst {
            let _ = writeln!(styles, "    linkStyle {i} stroke:{},stroke-width:2px", s.colour());
        }
    }
    out.push_str(&styles);
    out
}

/// Mermaid has no escape for `"` inside a quoted label; it takes the `#quot;` entity.
fn mermaid_text(s: &str) -> String {
    s.replace('"', "#quot;")
}

/// A Graphviz dot digraph of the chain.
pub fn dot(flow: &Flow, status: &BTreeMap<String, LinkStatus>) -> String {
    let mut out = String::from("digraph xacct {\n    rankdir=LR;\n    node [shape=box];\n");
    for node in nodes(flow) {
        let _ = writeln!(out, "    {} [label=\"{}\"];", node.id, dot_text(&node.lines).join("\\n"));
    }
    for edge in edges(flow) {
        let (text, worst) = label(&edge, status);
        let mut attrs = format!("label=\"{}\"", dot_text(&[text]).concat());
        if edge.dashed {
            attrs.push_str(", style=dashed");
        }
        if let Some(s) = worst {
            let _ = write!(attrs, ", color=\"{}\", fontcolor=\"{}\"", s.colour(), s.colour());
        }
        let _ = writeln!(out, "    {} -> {} [{attrs}];", edge.from, edge.to);
    }
    out.push_str("}\n");
    out
}

fn dot_text(lines: &[String]) -> Vec<String> {
    lines.iter().map(|l| l.replace('\\', "\\\\").replace('"', "\\\"")).collect()
}

pub(crate) fn render_diagram(flow: &Flow, format: DiagramFormat, status: &BTreeMap<String, LinkStatus>) -> String {
    match format {
        DiagramFormat::Mermaid => mermaid(flow, status),
        DiagramFormat::Dot => dot(flow, status),
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{expect, Expect};

    use super::*;
    use crate::fixtures::{one_owner, two_owners};

    #[track_caller]
    fn check(got: &str, expect: Expect) {
        expect.assert_eq(got);
    }

    fn statuses(pairs: &[(&str, LinkStatus)]) -> BTreeMap<String, LinkStatus> {
        pairs.iter().map(|(id, s)| ((*id).to_owned(), *s)).collect()
    }

    #[test]
    fn link_ids_follow_the_chain() {
        check(&link_ids(&one_owner()).join(" "), expect!["passrole databricks instance-profile scp assume-a-to-b:222222222222 trust-b:222222222222 bucket:my-bucket"]);
        check(&link_ids(&two_owners()).join(" "), expect!["databricks instance-profile scp assume-a-to-b:222222222222 trust-b:222222222222 assume-a-to-b:333333333333 trust-b:333333333333 bucket:my-bucket bucket:logs.example.com bucket:analytics kms:my-bucket"]);
    }

    #[test]
    fn statuses_label_and_colour_edges() {
        let status = statuses(&[
            ("passrole", LinkStatus::Pass),
            ("databricks", LinkStatus::Skipped),
            ("assume-a-to-b:222222222222", LinkStatus::Pass),
            ("trust-b:222222222222", LinkStatus::Fail),
            ("bucket:my-bucket", LinkStatus::Pass),
        ]);
        check(
            &mermaid(&one_owner(), &status),
            expect![[r#"
            flowchart LR
                cluster["Databricks cluster"]
                xrole["Databricks cross-account role<br/>arn:aws:iam::111111111111:role/databricks-cross-account"]
                scp["Organizations SCPs"]
                profile["instance profile<br/>arn:aws:iam::111111111111:instance-profile/MyRoleA"]
                roleA["role MyRoleA<br/>arn:aws:iam::111111111111:role/MyRoleA"]
                roleB0["role MyRoleB<br/>arn:aws:iam::222222222222:role/MyRoleB"]
                bucket0["bucket my-bucket<br/>read-write<br/>mounted at /mnt/my-bucket"]
                xrole -->|"iam:PassRole ✔ pass"| roleA
                cluster -->|"instance_profile_arn – skipped"| profile
                profile -->|"holds role"| roleA
                scp -.->|"no deny"| roleA
                roleA -->|"sts:AssumeRole · policy ✔ pass · trust ✘ fail"| roleB0
                roleB0 -->|"s3 read-write ✔ pass"| bucket0
                linkStyle 0 stroke:#2e7d32,stroke-width:2px
                linkStyle 1 stroke:#9e9e9e,stroke-width:2px
                linkStyle 4 stroke:#c62828,stroke-width:2px
                linkStyle 5 stroke:#2e7d32,stroke-width:2px
        "#]],
        );
        check(
            &dot(&one_owner(), &status),
            expect![[r##"
            digraph xacct {
                rankdir=LR;
                node [shape=box];
                cluster [label="Databricks cluster"];
                xrole [label="Databricks cross-account role\narn:aws:iam::111111111111:role/databricks-cross-account"];
                scp [label="Organizations SCPs"];
                profile [label="instance profile\narn:aws:iam::111111111111:instance-profile/MyRoleA"];
                roleA [label="role MyRoleA\narn:aws:iam::111111111111:role/MyRoleA"];
                roleB0 [label="role MyRoleB\narn:aws:iam::222222222222:role/MyRoleB"];
                bucket0 [label="bucket my-bucket\nread-write\nmounted at /mnt/my-bucket"];
                xrole -> roleA [label="iam:PassRole ✔ pass", color="#2e7d32", fontcolor="#2e7d32"];
                cluster -> profile [label="instance_profile_arn – skipped", color="#9e9e9e", fontcolor="#9e9e9e"];
                profile -> roleA [label="holds role"];
                scp -> roleA [label="no deny", style=dashed];
                roleA -> roleB0 [label="sts:AssumeRole · policy ✔ pass · trust ✘ fail", color="#c62828", fontcolor="#c62828"];
                roleB0 -> bucket0 [label="s3 read-write ✔ pass", color="#2e7d32", fontcolor="#2e7d32"];
            }
        "##]],
        );
    }

    #[test]
    fn dot_for_several_owners() {
        check(
            &dot(&two_owners(), &BTreeMap::new()),
            expect![[r#"
            digraph xacct {
                rankdir=LR;
                node [shape=box];
                cluster [label="Databricks cluster"];
                scp [label="Organizations SCPs"];
                profile [label="instance profile\narn:aws:iam::111111111111:instance-profile/MyRoleA"];
                roleA [label="role MyRoleA\narn:aws:iam::111111111111:role/MyRoleA"];
                roleB0 [label="role MyRoleB\narn:aws:iam::222222222222:role/MyRoleB"];
                roleB1 [label="role DataReader\narn:aws:iam::333333333333:role/DataReader"];
                bucket0 [label="bucket my-bucket\nread-write\nmounted at /mnt/my-bucket"];
                bucket1 [label="bucket logs.example.com\nread-write"];
                bucket2 [label="bucket analytics\nread-only\nmounted at /mnt/analytics"];
                kms0 [label="KMS key\narn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab"];
                cluster -> profile [label="instance_profile_arn"];
                profile -> roleA [label="holds role"];
                scp -> roleA [label="no deny", style=dashed];
                roleA -> roleB0 [label="sts:AssumeRole"];
                roleA -> roleB1 [label="sts:AssumeRole"];
                roleB0 -> bucket0 [label="s3 read-write"];
                roleB0 -> bucket1 [label="s3 read-write"];
                roleB1 -> bucket2 [label="s3 read-only"];
                bucket0 -> kms0 [label="kms:Decrypt, kms:GenerateDataKey"];
            }
        "#]],
        );
    }

    #[test]
    fn names_parse() {
        assert_eq!("fail".parse::<LinkStatus>(), Ok(LinkStatus::Fail));
        assert_eq!("dot".parse::<DiagramFormat>(), Ok(DiagramFormat::Dot));
        check(
            &"svg".parse::<DiagramFormat>().unwrap_err().to_string(),
            expect!["unknown diagram format `svg`; expected mermaid or dot"],
        );
        check(
            &"ok".parse::<LinkStatus>().unwrap_err().to_string(),
            expect!["unknown link status `ok`; expected pass, fail or skipped"],
        );
        let parsed: BTreeMap<String, LinkStatus> = serde_json::from_str(r#"{"scp": "skipped"}"#).unwrap();
        assert_eq!(parsed, statuses(&[("scp", LinkStatus::Skipped)]));
    }
}

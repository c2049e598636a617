//! The chain as a diagram (Mermaid or Graphviz dot), each edge labelled with what it grants and,
//! when a verify report is at hand, with its links' statuses.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::str::FromStr;

use policy_model::chain::key_accesses;
use policy_model::{Flow, KmsKeyArn};

pub use policy_model::chain::{link, link_ids, LinkStatus};

mod svg;
pub use svg::{escape_markup, svg, svg_with_notes, Note};

fn mark(status: LinkStatus) -> &'static str {
    match status {
        LinkStatus::Pass => "✔ pass",
        LinkStatus::Fail => "✘ fail",
        LinkStatus::Skipped => "– skipped",
        LinkStatus::Unchecked => "? unchecked",
    }
}

fn colour(status: LinkStatus) -> &'static str {
    match status {
        LinkStatus::Pass => "#2e7d32",
        LinkStatus::Fail => "#c62828",
        LinkStatus::Skipped => "#9e9e9e",
        LinkStatus::Unchecked => "#ef6c00",
    }
}

/// Why a format or render target was not recognised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnknownName {
    /// Not `mermaid` or `dot`.
    #[error("unknown diagram format `{0}`; expected mermaid or dot")]
    DiagramFormat(String),
    /// Not one of [`crate::What::ALL`].
    #[error(
        "unknown render target `{0}`; expected policies, spark-conf, notebook-scala, notebook-python, mount, s3a or diagram"
    )]
    What(String),
}

/// The diagram's text format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiagramFormat {
    /// A Mermaid `flowchart`, for Markdown renderers; the default, named `mermaid`.
    #[default]
    Mermaid,
    /// Graphviz dot, named `dot`.
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
    let mut out = runbook_nodes(flow);
    out.extend(unity_nodes(flow));
    out
}

/// The Unity Catalog chain: each owner's storage credential, the master role, the owner's role,
/// its buckets (with their external locations) and keys.
fn unity_nodes(flow: &Flow) -> Vec<Node> {
    let node = |id: String, lines: Vec<String>| Node { id, lines };
    let mut out = Vec::new();
    if flow.unity_owners().is_empty() {
        return out;
    }
    out.push(node(
        "ucmaster".to_owned(),
        vec!["Unity Catalog master role".to_owned(), flow.uc_master_role_arn().to_owned()],
    ));
    for (i, owner) in flow.unity_owners().iter().enumerate() {
        out.push(node(format!("uccred{i}"), vec![format!("storage credential {}", owner.storage_credential)]));
        out.push(node(format!("ucrole{i}"), vec![format!("role {}", owner.role), owner.role_arn()]));
        for (j, bucket) in owner.buckets.iter().enumerate() {
            let lines = vec![
                format!("bucket {}", bucket.name),
                format!("external location {}", bucket.external_location),
                bucket.url(),
                bucket.access.as_str().to_owned(),
            ];
            out.push(node(format!("ucbucket{i}x{j}"), lines));
            if let Some(key) = &bucket.kms_key_arn {
                out.push(node(format!("uckms{i}x{j}"), vec!["KMS key".to_owned(), key.as_str().to_owned()]));
            }
        }
    }
    out
}

fn unity_edges(flow: &Flow) -> Vec<Edge> {
    let edge = |from: String, to: String, label, links: Vec<(&'static str, String)>| Edge {
        from,
        to,
        label,
        links,
        dashed: false,
    };
    let mut out = Vec::new();
    for (i, owner) in flow.unity_owners().iter().enumerate() {
        let a = &owner.account_id;
        out.push(edge(format!("uccred{i}"), "ucmaster".to_owned(), "names role", vec![("", link::uc_credential(a))]));
        let links = vec![("trust", link::uc_trust(a)), ("self", link::uc_self_assume(a))];
        out.push(edge("ucmaster".to_owned(), format!("ucrole{i}"), "sts:AssumeRole + ExternalId", links));
        for (j, bucket) in owner.buckets.iter().enumerate() {
            let label = match bucket.access {
                policy_model::Access::ReadWrite => "s3 read-write",
                policy_model::Access::ReadOnly => "s3 read-only",
            };
            out.push(edge(
                format!("ucrole{i}"),
                format!("ucbucket{i}x{j}"),
                label,
                vec![("", link::uc_bucket(&bucket.name))],
            ));
            if bucket.kms_key_arn.is_some() {
                out.push(edge(
                    format!("ucbucket{i}x{j}"),
                    format!("uckms{i}x{j}"),
                    "kms",
                    vec![("", link::uc_kms(&bucket.name))],
                ));
            }
        }
    }
    out
}

fn runbook_nodes(flow: &Flow) -> Vec<Node> {
    let node = |id: &str, lines: Vec<String>| Node { id: id.to_owned(), lines };
    // A flow without account A has no instance-profile chain to draw.
    let Some(d) = flow.deployment() else { return Vec::new() };
    let mut nodes = vec![node("cluster", vec!["Databricks cluster".to_owned()])];
    if let Some(arn) = d.cross_account_role_arn() {
        nodes.push(node("xrole", vec!["Databricks cross-account role".to_owned(), arn]));
    }
    nodes.push(node("scp", vec!["Organizations SCPs".to_owned()]));
    nodes.push(node("profile", vec!["instance profile".to_owned(), d.instance_profile_arn()]));
    nodes.push(node("roleA", vec![format!("role {}", d.instance_role), d.instance_role_arn()]));
    for (i, owner) in flow.owners().iter().enumerate() {
        nodes.push(node(&format!("roleB{i}"), vec![format!("role {}", owner.role), owner.role_arn()]));
    }
    for (i, (_, bucket)) in flow.buckets().enumerate() {
        let mut lines = vec![format!("bucket {}", bucket.name), bucket.access.as_str().to_owned()];
        if bucket.mount {
            lines.push(format!("mounted at /mnt/{}", bucket.name));
        }
        nodes.push(node(&format!("bucket{i}"), lines));
    }
    for (i, key) in kms_keys(flow).iter().enumerate() {
        nodes.push(node(&format!("kms{i}"), vec!["KMS key".to_owned(), key.as_str().to_owned()]));
    }
    nodes
}

/// The distinct KMS keys, in config order. A key is in its owner's account, so no two owners
/// share one.
fn kms_keys(flow: &Flow) -> Vec<&KmsKeyArn> {
    flow.owners().iter().flat_map(|o| key_accesses(o).into_iter().map(|(key, _)| key)).collect()
}

fn edges(flow: &Flow) -> Vec<Edge> {
    let mut out = runbook_edges(flow);
    out.extend(unity_edges(flow));
    out
}

fn runbook_edges(flow: &Flow) -> Vec<Edge> {
    let edge = |from: &str, to: String, label, links: Vec<(&'static str, String)>| Edge {
        from: from.to_owned(),
        to,
        label,
        links,
        dashed: false,
    };
    let mut edges = Vec::new();
    let Some(d) = flow.deployment() else { return edges };
    if d.cross_account_role.is_some() {
        edges.push(edge("xrole", "roleA".to_owned(), "iam:PassRole", vec![("", link::PASSROLE.to_owned())]));
    }
    edges.push(edge("cluster", "profile".to_owned(), "instance_profile_arn", vec![("", link::DATABRICKS.to_owned())]));
    edges.push(edge("profile", "roleA".to_owned(), "holds role", vec![("", link::INSTANCE_PROFILE.to_owned())]));
    edges.push(Edge { dashed: true, ..edge("scp", "roleA".to_owned(), "no deny", vec![("", link::SCP.to_owned())]) });
    for (i, owner) in flow.owners().iter().enumerate() {
        let links =
            vec![("policy", link::assume_a_to_b(&owner.account_id)), ("trust", link::trust_b(&owner.account_id))];
        edges.push(edge("roleA", format!("roleB{i}"), "sts:AssumeRole", links));
    }
    let key_index: std::collections::HashMap<&KmsKeyArn, usize> =
        kms_keys(flow).into_iter().enumerate().map(|(i, k)| (k, i)).collect();
    let mut b = 0;
    for (o, owner) in flow.owners().iter().enumerate() {
        for bucket in &owner.buckets {
            let label = match bucket.access {
                policy_model::Access::ReadWrite => "s3 read-write",
                policy_model::Access::ReadOnly => "s3 read-only",
            };
            edges.push(edge(&format!("roleB{o}"), format!("bucket{b}"), label, vec![("", link::bucket(&bucket.name))]));
            b += 1;
        }
    }
    for (i, (_, bucket)) in flow.buckets().enumerate() {
        let Some(&k) = bucket.kms_key_arn.as_ref().and_then(|k| key_index.get(k)) else {
            continue;
        };
        let label = match bucket.access {
            policy_model::Access::ReadWrite => "kms:Decrypt, kms:GenerateDataKey",
            policy_model::Access::ReadOnly => "kms:Decrypt",
        };
        edges.push(edge(&format!("bucket{i}"), format!("kms{k}"), label, vec![("", link::kms(&bucket.name))]));
    }
    edges
}

/// The edge's label with the statuses known for its links, and the status that colours it
/// (the worst of them: fail, unchecked, skipped, pass).
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
        text.push_str(mark(*s));
        if worst.is_none_or(|w| s.severity() > w.severity()) {
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
            let _ = writeln!(styles, "    linkStyle {i} stroke:{},stroke-width:2px", colour(s));
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
            let _ = write!(attrs, ", color=\"{}\", fontcolor=\"{}\"", colour(s), colour(s));
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
    fn edges_draw_every_link_of_the_chain() {
        // The diagram draws the links the report lists, in the chain's vocabulary; the passrole
        // edge only when the config names the cross-account role.
        for flow in [one_owner(), two_owners()] {
            let drawn: Vec<String> =
                edges(&flow).into_iter().flat_map(|e| e.links.into_iter().map(|(_, id)| id)).collect();
            let mut reported = link_ids(&flow);
            if flow.deployment().unwrap().cross_account_role.is_none() {
                reported.retain(|id| id != link::PASSROLE);
            }
            let mut sorted = drawn.clone();
            sorted.sort();
            reported.sort();
            assert_eq!(sorted, reported);
        }
        check(&edges(&two_owners()).iter().flat_map(|e| e.links.iter().map(|(_, id)| id.as_str())).collect::<Vec<_>>().join(" "), expect!["databricks instance-profile scp assume-a-to-b:222222222222 trust-b:222222222222 assume-a-to-b:333333333333 trust-b:333333333333 bucket:my-bucket bucket:logs.example.com bucket:analytics kms:my-bucket"]);
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
            expect!["unknown link status `ok`; expected pass, fail, skipped or unchecked"],
        );
        let parsed: BTreeMap<String, LinkStatus> = serde_json::from_str(r#"{"scp": "skipped"}"#).unwrap();
        assert_eq!(parsed, statuses(&[("scp", LinkStatus::Skipped)]));
    }

    #[test]
    fn unity_catalog_owners_are_drawn_with_their_links() {
        use policy_model::unity::{UnityBucket, UnityOwner};
        use policy_model::{AccountId, BucketName, FlowParts, OwnerEntry, RoleName};
        let owner = UnityOwner {
            account_id: AccountId::new("333333333333").unwrap(),
            role: RoleName::new("uc-role").unwrap(),
            storage_credential: "uc_role".to_owned(),
            buckets: vec![UnityBucket {
                name: BucketName::new("lake").unwrap(),
                access: policy_model::Access::ReadWrite,
                kms_key_arn: Some(policy_model::KmsKeyArn::new("arn:aws:kms:us-east-1:333333333333:key/k").unwrap()),
                external_location: "lake".to_owned(),
                prefix: String::new(),
                grants: Vec::new(),
            }],
        };
        let flow = Flow::build(FlowParts {
            region: "us-east-1".to_owned(),
            deployment: None,
            owners: vec![OwnerEntry::UnityCatalog(owner)],
            uc_master_role_arn: None,
        })
        .unwrap();
        let mut drawn: Vec<String> =
            edges(&flow).into_iter().flat_map(|e| e.links.into_iter().map(|(_, id)| id)).collect();
        drawn.sort();
        let mut want = policy_model::chain::unity_link_ids(&flow);
        want.push(link::uc_credential("333333333333"));
        want.sort();
        assert_eq!(drawn, want);
        let text = crate::render(&flow, crate::What::SparkConf, &crate::RenderOptions::default());
        assert!(text.starts_with("# Owners in the Unity Catalog mode need no Spark conf"), "{text}");
        assert!(text.contains("s3://lake/ (lake, storage credential uc_role)"), "{text}");
    }
}

//! The chain as an inline SVG picture, laid out in layers from the top: each node sits one row
//! below the furthest node that points at it. In a row, nodes with an edge to the next row sit
//! in the middle in config order, and nodes whose edges skip rows sit at the sides, so that those
//! edges run down beside the rows they skip. Self-contained (no font, script or link to fetch),
//! for the HTML report.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;

use policy_model::Flow;

use super::{colour, edges, label, nodes, LinkStatus};

/// Width of a character of the 12px monospace text, and the height of a line.
const CHAR: f64 = 7.3;
const LINE: f64 = 17.0;
const PAD: f64 = 10.0;
/// Room between two rows, for the edges' labels, and between two nodes of a row.
const GAP_Y: f64 = 70.0;
const GAP_X: f64 = 48.0;
/// Margin around the picture.
const MARGIN: f64 = 16.0;

struct Placed {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Placed {
    fn cx(&self) -> f64 {
        self.x + self.w / 2.0
    }
    fn cy(&self) -> f64 {
        self.y + self.h / 2.0
    }
}

fn width(text: &str) -> f64 {
    text.chars().count() as f64 * CHAR
}

/// A line added to the node of a resource of the chain, such as who else its policy lets in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The resource: a role ARN, a key ARN, or a bucket as `arn:aws:s3:::<name>`.
    pub resource: String,
    /// The line to add.
    pub text: String,
    /// Draw it (and the node's border) in red.
    pub alert: bool,
}

/// An SVG picture of the chain; each edge is coloured by the worst status of its links and
/// labelled with what it grants and those statuses.
pub fn svg(flow: &Flow, status: &BTreeMap<String, LinkStatus>) -> String {
    svg_with_notes(flow, status, &[])
}

/// [`svg`] with `notes` added to the nodes of their resources; a note whose resource is not a
/// node of the chain is left out.
pub fn svg_with_notes(flow: &Flow, status: &BTreeMap<String, LinkStatus>, notes: &[Note]) -> String {
    let mut nodes = nodes(flow);
    // A role or key node carries its ARN as a line; a bucket node is headed `bucket <name>`.
    let mut alert = vec![false; nodes.len()];
    let mut noted = vec![0usize; nodes.len()];
    for note in notes {
        let heading = note.resource.strip_prefix("arn:aws:s3:::").map(|name| format!("bucket {name}"));
        let found = nodes.iter().position(|n| {
            n.lines.iter().skip(1).any(|l| *l == note.resource) || heading.as_ref().is_some_and(|h| n.lines[0] == *h)
        });
        if let Some(i) = found {
            nodes[i].lines.push(note.text.clone());
            noted[i] += 1;
            alert[i] |= note.alert;
        }
    }
    let edges = edges(flow);
    let index: BTreeMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (n.id.as_str(), i)).collect();
    let pairs: Vec<Option<(usize, usize)>> =
        edges.iter().map(|e| Some((*index.get(e.from.as_str())?, *index.get(e.to.as_str())?))).collect();

    // The layer of a node: the longest path to it. The chain has no cycle; the bound keeps a
    // malformed one from looping.
    let mut layer = vec![0usize; nodes.len()];
    for _ in 0..nodes.len() {
        let mut changed = false;
        for &(f, t) in pairs.iter().flatten() {
            if layer[t] < layer[f] + 1 {
                layer[t] = layer[f] + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let mut span = vec![0usize; nodes.len()];
    for &(f, t) in pairs.iter().flatten() {
        span[f] = span[f].max(layer[t].saturating_sub(layer[f]));
    }
    let layers = layer.iter().copied().max().map_or(0, |m| m + 1);
    let size: Vec<(f64, f64)> = nodes
        .iter()
        .map(|n| {
            let w = n.lines.iter().map(|l| width(l)).fold(0.0, f64::max) + 2.0 * PAD;
            (w, n.lines.len() as f64 * LINE + PAD)
        })
        .collect();

    // Each row's order: the nodes that point one row down in the middle, the others at the sides.
    let mut rows: Vec<VecDeque<usize>> = vec![VecDeque::new(); layers];
    for (i, l) in layer.iter().enumerate() {
        if span[i] <= 1 {
            rows[*l].push_back(i);
        }
    }
    let mut side = vec![false; layers];
    for (i, l) in layer.iter().enumerate() {
        if span[i] > 1 {
            if side[*l] {
                rows[*l].push_back(i);
            } else {
                rows[*l].push_front(i);
            }
            side[*l] = !side[*l];
        }
    }
    let row_w: Vec<f64> = rows
        .iter()
        .map(|r| r.iter().map(|&i| size[i].0).sum::<f64>() + GAP_X * r.len().saturating_sub(1) as f64)
        .collect();
    let row_h: Vec<f64> = rows.iter().map(|r| r.iter().map(|&i| size[i].1).fold(0.0, f64::max)).collect();
    let inner = row_w.iter().copied().fold(0.0, f64::max);
    let mut placed: Vec<Placed> = (0..nodes.len()).map(|_| Placed { x: 0.0, y: 0.0, w: 0.0, h: 0.0 }).collect();
    let mut y = MARGIN;
    for (r, row) in rows.iter().enumerate() {
        let mut x = MARGIN + (inner - row_w[r]) / 2.0;
        for &i in row {
            let (w, h) = size[i];
            placed[i] = Placed { x, y: y + (row_h[r] - h) / 2.0, w, h };
            x += w + GAP_X;
        }
        y += row_h[r] + GAP_Y;
    }
    let height = y - GAP_Y + MARGIN;

    // The edges and their labels, then the width that holds them all.
    let mut drawn = String::new();
    let mut right = MARGIN + inner;
    let mut left = MARGIN;
    for (e, pair) in edges.iter().zip(&pairs) {
        let Some((f, t)) = *pair else { continue };
        let (text, worst) = label(e, status);
        let (a, b) = (&placed[f], &placed[t]);
        let (x1, y1) = (a.cx(), a.y + a.h);
        let (path, lx, ly, anchor) = if layer[t] == layer[f] + 1 || (x1 >= b.x && x1 <= b.x + b.w) {
            let (x2, y2) = (b.cx(), b.y);
            let my = (y1 + y2) / 2.0;
            (
                format!("M {x1:.1} {y1:.1} C {x1:.1} {my:.1}, {x2:.1} {my:.1}, {x2:.1} {y2:.1}"),
                (x1 + x2) / 2.0 + 6.0,
                my + 4.0,
                "start",
            )
        } else {
            // A long edge runs down beside the rows it skips and enters the node from the side.
            let (x2, y2) = if x1 < b.x { (b.x, b.cy()) } else { (b.x + b.w, b.cy()) };
            let anchor = if x1 < b.x { "end" } else { "start" };
            let lx = if x1 < b.x { x1 - 6.0 } else { x1 + 6.0 };
            (
                format!("M {x1:.1} {y1:.1} C {x1:.1} {y2:.1}, {x1:.1} {y2:.1}, {x2:.1} {y2:.1}"),
                lx,
                (y1 + y2) / 2.0,
                anchor,
            )
        };
        if anchor == "start" {
            right = right.max(lx + width(&text) + MARGIN);
        } else {
            left = left.min(lx - width(&text) - MARGIN);
        }
        let stroke = worst.map_or("#546e7a", colour);
        let dash = if e.dashed { r#" stroke-dasharray="6 4""# } else { "" };
        let ids: Vec<&str> = e.links.iter().map(|(_, id)| id.as_str()).collect();
        let _ = writeln!(
            drawn,
            r#"<g class="edge" data-from="{}" data-to="{}" data-links="{}"><path d="{path}" fill="none" stroke="{stroke}" stroke-width="2"{dash} marker-end="url(#arrow)"/><text x="{lx:.1}" y="{ly:.1}" text-anchor="{anchor}" fill="{stroke}">{}</text></g>"#,
            escape_markup(&e.from),
            escape_markup(&e.to),
            escape_markup(&ids.join(" ")),
            escape_markup(&text)
        );
    }
    let (min_x, total_w) = (left.min(0.0), right - left.min(0.0));

    let mut out = String::new();
    let _ = writeln!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="the access chain" width="{total_w:.0}" height="{height:.0}" viewBox="{min_x:.0} 0 {total_w:.0} {height:.0}" font-family="ui-monospace, Menlo, Consolas, monospace" font-size="12">"##
    );
    out.push_str(r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="context-stroke"/></marker></defs>"##);
    out.push('\n');
    out.push_str(&drawn);
    for (i, (n, p)) in nodes.iter().zip(&placed).enumerate() {
        let (border, class) = if alert[i] { ("#c62828", "node alert") } else { ("#37474f", "node") };
        let _ = write!(
            out,
            r##"<g class="{class}" data-node="{}"><rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="6" fill="#f5f7fa" stroke="{border}"/>"##,
            escape_markup(&n.id),
            p.x,
            p.y,
            p.w,
            p.h
        );
        let first_note = n.lines.len() - noted[i];
        for (k, line) in n.lines.iter().enumerate() {
            let weight = if k == 0 { r#" font-weight="bold""# } else { "" };
            let fill = match (k >= first_note, alert[i]) {
                (true, true) => "#c62828",
                (true, false) => "#757575",
                _ => "#263238",
            };
            let _ = write!(
                out,
                r##"<text x="{:.1}" y="{:.1}" fill="{fill}"{weight}>{}</text>"##,
                p.x + PAD,
                p.y + PAD / 2.0 + LINE * (k as f64 + 0.75),
                escape_markup(line)
            );
        }
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n");
    out
}

/// Text for XML and HTML, in content or in a quoted attribute: `&`, `<`, `>` and both quotes
/// escaped.
pub fn escape_markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{one_owner, two_owners};

    /// The node ids in each row, top to bottom and left to right, then the edges' colours.
    fn layout(svg: &str) -> String {
        let attr = |tag: &str, name: &str| -> Option<String> {
            let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
            Some(tag[start..].split('"').next()?.to_owned())
        };
        let num = |tag: &str, name: &str| attr(tag, name).and_then(|v| v.parse::<f64>().ok()).unwrap_or_default();
        let mut rows: BTreeMap<i64, Vec<(i64, String)>> = BTreeMap::new();
        let mut lines = Vec::new();
        for tag in svg.split('<') {
            if tag.starts_with("g class=\"node\"") {
                let id = attr(tag, "data-node").unwrap_or_default();
                let rect = svg.split(&format!("data-node=\"{id}\"><rect")).nth(1).unwrap_or_default();
                let (x, y, h) = (num(rect, "x"), num(rect, "y"), num(rect, "height"));
                rows.entry((y + h / 2.0).round() as i64).or_default().push((x.round() as i64, id));
            }
            if tag.starts_with("path d=\"M") && tag.contains("stroke=") {
                lines.push(attr(tag, "stroke").unwrap_or_default());
            }
        }
        let mut out: Vec<String> = rows
            .into_values()
            .map(|mut ids| {
                ids.sort();
                ids.into_iter().map(|(_, id)| id).collect::<Vec<_>>().join(" ")
            })
            .collect();
        out.push(lines.join(" "));
        out.join("\n")
    }

    #[track_caller]
    fn check(flow: &Flow, status: &[(&str, LinkStatus)], expect: expect_test::Expect) {
        let status: BTreeMap<String, LinkStatus> = status.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
        let svg = svg(flow, &status);
        assert!(svg.starts_with("<svg ") && svg.trim_end().ends_with("</svg>"), "{svg}");
        expect.assert_eq(&layout(&svg));
    }

    #[test]
    fn layers_follow_the_chain() {
        check(
            &one_owner(),
            &[("trust-b:222222222222", LinkStatus::Fail), ("bucket:my-bucket", LinkStatus::Pass)],
            expect_test::expect![[r#"
                xrole cluster scp
                profile
                roleA
                roleB0
                bucket0
                #546e7a #546e7a #546e7a #546e7a #c62828 #2e7d32"#]],
        );
        check(
            &two_owners(),
            &[],
            expect_test::expect![[r#"
                scp cluster
                profile
                roleA
                roleB0 roleB1
                bucket0 bucket1 bucket2
                kms0
                #546e7a #546e7a #546e7a #546e7a #546e7a #546e7a #546e7a #546e7a #546e7a"#]],
        );
    }

    #[test]
    fn notes_mark_their_nodes() {
        let notes = [
            Note { resource: "arn:aws:s3:::my-bucket".to_owned(), text: "also lets in: *".to_owned(), alert: true },
            Note {
                resource: "arn:aws:iam::222222222222:role/MyRoleB".to_owned(),
                text: "also trusts: o-1 (accepted)".to_owned(),
                alert: false,
            },
            Note { resource: "arn:aws:s3:::elsewhere".to_owned(), text: "left out".to_owned(), alert: true },
        ];
        let svg = svg_with_notes(&one_owner(), &BTreeMap::new(), &notes);
        assert!(svg.contains(r##"<g class="node alert" data-node="bucket0"><rect"##), "{svg}");
        assert!(svg.contains(r##"fill="#c62828">also lets in: *</text>"##), "{svg}");
        assert!(svg.contains(r##"<g class="node" data-node="roleB0">"##));
        assert!(svg.contains(r##"fill="#757575">also trusts: o-1 (accepted)</text>"##));
        assert!(!svg.contains("left out"));
        assert_eq!(svg.matches("node alert").count(), 1);
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape_markup(r#"a<b>&"c'"#), "a&lt;b&gt;&amp;&quot;c&#39;");
    }
}

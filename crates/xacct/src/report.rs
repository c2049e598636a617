//! `render --what report`: one self-contained HTML page for a security reviewer, with the chain
//! as an inline SVG, every verify link with its evidence and fix, and every exposure finding.
//! The page loads nothing: no script, no font, no stylesheet or image from elsewhere.

use std::fmt::Write as _;

use spark_conf::diagram::escape_markup as esc;
use verify::exposure::Exposure;
use verify::{Report, Status, Verdict};

use crate::config::Config;

/// The report for a config, offline: the documents `provision` would leave, evaluated.
pub fn offline_html(config: &Config) -> String {
    let report = crate::chain::offline_report(config);
    let exposure = crate::exposure::findings(config, &crate::exposure::offline_state(config));
    html(config, &report, &exposure, "offline: the documents provision would write, merged into the existing ones")
}

/// The page for a verify report and the exposure findings; `source` says where the documents
/// came from.
pub fn html(config: &Config, report: &Report, exposure: &Exposure, source: &str) -> String {
    let flow = &config.flow;
    let statuses = report.statuses().into_iter().collect();
    let diagram = spark_conf::diagram::svg_with_notes(flow, &statuses, &notes(exposure));
    let n = report.summary();
    let (verdict, verdict_class) = match report.verdict() {
        Verdict::Ok => ("Chain OK", "pass"),
        Verdict::Failed => ("Chain BROKEN", "fail"),
        Verdict::Unchecked => ("Chain NOT CHECKED", "unchecked"),
    };
    let open = exposure.findings.iter().filter(|f| !f.accepted).count();
    let accepted = exposure.findings.len() - open;
    let (exposure_verdict, exposure_class) =
        if exposure.ok { ("No exposure beyond the chain", "pass") } else { ("Exposed beyond the chain", "fail") };
    let owners: Vec<String> = flow
        .owners()
        .iter()
        .map(|o| o.account_id.to_string())
        .chain(flow.unity_owners().iter().map(|o| o.account_id.to_string()))
        .collect();
    // Without `[deployment]` every owner is in the Unity Catalog mode.
    let deployment = flow.deployment().map_or("none (Unity Catalog only)", |d| d.account_id.as_str());

    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    // Nothing may be fetched: not even a favicon.
    out.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n");
    out.push_str("<link rel=\"icon\" href=\"data:,\">\n");
    let _ = writeln!(out, "<title>xacct report: account {} to {}</title>", esc(deployment), esc(&owners.join(", ")));
    out.push_str(STYLE);
    out.push_str("</head>\n<body>\n");
    let _ = writeln!(
        out,
        "<header><h1>Cross-account access report</h1><p class=\"source\">Deployment account {}, bucket owner account{} {}; {}.</p></header>",
        esc(deployment),
        if owners.len() == 1 { "" } else { "s" },
        esc(&owners.join(", ")),
        esc(source)
    );
    let _ = writeln!(
        out,
        "<section id=\"summary\"><p id=\"chain-verdict\" class=\"verdict {verdict_class}\">{verdict}: {} pass, {} fail, {} skipped, {} not checked</p><p id=\"exposure-verdict\" class=\"verdict {exposure_class}\">{exposure_verdict}: {open} finding{}, {accepted} accepted, {} resource{} not checked</p></section>",
        n.pass,
        n.fail,
        n.skipped,
        n.unchecked,
        if open == 1 { "" } else { "s" },
        exposure.unchecked.len(),
        if exposure.unchecked.len() == 1 { "" } else { "s" },
    );
    let _ = writeln!(out, "<section id=\"chain\"><h2>The chain</h2><div class=\"diagram\">\n{diagram}</div></section>");

    out.push_str("<section id=\"links\"><h2>Links</h2>\n<table>\n<thead><tr><th>status</th><th>link</th><th>who → what</th><th>action</th><th>evidence</th><th>fix</th></tr></thead>\n<tbody>\n");
    for link in &report.links {
        let status = link.status.as_str();
        let evidence: String = link.evidence.iter().map(|e| format!("<li>{}</li>", esc(e))).collect();
        let fix = link.fix.as_deref().map_or_else(String::new, |f| format!("<pre>{}</pre>", esc(f)));
        let _ = writeln!(
            out,
            "<tr class=\"link {status}\" data-link=\"{}\" data-status=\"{status}\"><td class=\"status\">{}</td><td class=\"id\"><code>{}</code></td><td class=\"who\"><code>{}</code> → <code>{}</code></td><td class=\"action\"><code>{}</code></td><td><ul>{evidence}</ul></td><td class=\"fix\">{fix}</td></tr>",
            esc(&link.id),
            status_mark(link.status),
            esc(&link.id),
            esc(&link.from),
            esc(&link.to),
            esc(&link.action),
        );
    }
    out.push_str("</tbody>\n</table>\n");
    if !report.warnings.is_empty() {
        out.push_str("<h3>Warnings</h3>\n<ul class=\"warnings\">\n");
        for w in &report.warnings {
            let _ = writeln!(out, "<li>{}</li>", esc(w));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</section>\n");

    out.push_str("<section id=\"exposure\"><h2>Who else gets in</h2>\n");
    if exposure.findings.is_empty() {
        out.push_str(
            "<p class=\"none\">No principal beyond the chain is let in by the bucket, trust or key policies.</p>\n",
        );
    } else {
        out.push_str("<table>\n<thead><tr><th></th><th>resource</th><th>policy</th><th>principal</th><th>kind</th><th>actions</th><th>statement</th><th>conditions</th></tr></thead>\n<tbody>\n");
        for f in &exposure.findings {
            let state = if f.accepted { "accepted" } else { "open" };
            let _ = writeln!(
                out,
                "<tr class=\"finding {state}\" data-finding=\"{}\" data-principal=\"{}\" data-principal-kind=\"{}\" data-accepted=\"{}\"><td class=\"status\">{}</td><td><code>{}</code></td><td>{}</td><td><code>{}</code></td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td><code>{}</code></td></tr>",
                esc(&f.resource),
                esc(&f.principal),
                f.principal_kind.as_str(),
                f.accepted,
                if f.accepted { "accepted" } else { "✘ exposed" },
                esc(&f.resource),
                f.kind.as_str(),
                esc(&f.principal),
                f.principal_kind.as_str(),
                esc(&f.actions.join(", ")),
                esc(&f.statement),
                esc(&f.conditions),
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    for u in &exposure.unchecked {
        let _ = writeln!(
            out,
            "<p class=\"unchecked\" data-unchecked=\"{}\">not checked: <code>{}</code>: {}</p>",
            esc(&u.resource),
            esc(&u.resource),
            esc(&u.why)
        );
    }
    out.push_str("<p class=\"help\">Close a finding by removing or narrowing the statement in the named policy; accept a known and wanted principal with <code>[exposure] accept</code> in the config.</p>\n</section>\n</body>\n</html>\n");
    out
}

/// One line per resource with findings for its node in the picture: who else gets in, red while
/// any of them is not accepted.
fn notes(exposure: &Exposure) -> Vec<spark_conf::diagram::Note> {
    let mut by_resource: std::collections::BTreeMap<&str, Vec<&verify::exposure::Finding>> = Default::default();
    for f in &exposure.findings {
        by_resource.entry(f.resource.as_str()).or_default().push(f);
    }
    by_resource
        .into_iter()
        .map(|(resource, findings)| {
            let mut principals: Vec<String> = Vec::new();
            for f in &findings {
                let shown = if f.accepted { format!("{} (accepted)", f.principal) } else { f.principal.clone() };
                if !principals.contains(&shown) {
                    principals.push(shown);
                }
            }
            spark_conf::diagram::Note {
                resource: resource.to_owned(),
                text: format!("⚠ also lets in: {}", principals.join(", ")),
                alert: findings.iter().any(|f| !f.accepted),
            }
        })
        .collect()
}

fn status_mark(status: Status) -> &'static str {
    match status {
        Status::Pass => "✔ pass",
        Status::Fail => "✘ fail",
        Status::Skipped => "– skipped",
        Status::Unchecked => "? unchecked",
    }
}

const STYLE: &str = r#"<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem; color: #263238; background: #fff; }
h1 { margin-bottom: 0.2rem; }
.source { color: #546e7a; margin-top: 0; }
.verdict { font-weight: bold; padding: 0.5rem 0.8rem; border-radius: 4px; display: inline-block; margin: 0.2rem 0.6rem 0.2rem 0; }
.verdict.pass { background: #e8f5e9; color: #1b5e20; }
.verdict.fail { background: #ffebee; color: #b71c1c; }
.verdict.unchecked { background: #fff3e0; color: #e65100; }
.diagram { overflow-x: auto; border: 1px solid #cfd8dc; border-radius: 6px; padding: 0.5rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #eceff1; padding: 0.35rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #eceff1; }
td ul { margin: 0; padding-left: 1rem; }
td pre { margin: 0; white-space: pre-wrap; font-size: 0.85rem; }
code { font-size: 0.85rem; word-break: break-all; }
tr.pass td.status { color: #2e7d32; }
tr.fail td.status, tr.finding.open td.status { color: #c62828; font-weight: bold; }
tr.skipped td.status { color: #757575; }
tr.unchecked td.status { color: #ef6c00; }
tr.finding.accepted { color: #757575; }
.help { color: #546e7a; }
td.id { min-width: 9rem; }
td.who { min-width: 20rem; }
td.action { min-width: 12rem; }
</style>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
[deployment]
account_id = "111111111111"
instance_role = "MyRoleA"

[[bucket_owners]]
account_id = "222222222222"
role = "MyRoleB"
  [[bucket_owners.buckets]]
  name = "my-bucket"
  existing_policy = "bucket.json"

[exposure]
accept = ["arn:aws:iam::444444444444:root"]
"#;

    #[test]
    fn the_page_holds_links_findings_and_the_picture_and_fetches_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let policy = r#"{"Version":"2012-10-17","Statement":[
            {"Sid":"Partner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444444444444:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::my-bucket/*"},
            {"Sid":"Public<script>","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::my-bucket/public/*"}]}"#;
        std::fs::write(dir.path().join("bucket.json"), policy).unwrap();
        let config = crate::config::parse_in(CONFIG, Some(dir.path())).unwrap();
        let page = offline_html(&config);
        let report = crate::chain::offline_report(&config);
        for link in &report.links {
            assert!(
                page.contains(&format!("data-link=\"{}\" data-status=\"{}\"", link.id, link.status.as_str())),
                "{}",
                link.id
            );
        }
        assert!(page.contains(
            r#"data-principal="arn:aws:iam::444444444444:root" data-principal-kind="account" data-accepted="true""#
        ));
        assert!(page.contains(r#"data-principal="*" data-principal-kind="public" data-accepted="false""#));
        // Statement ids come from foreign documents: they are text, never markup.
        assert!(page.contains("Public&lt;script&gt;") && !page.contains("<script"));
        assert!(page.contains("<svg ") && page.contains("data-node=\"roleA\""));
        assert!(page.contains("<g class=\"node alert\" data-node=\"bucket0\">"), "{page}");
        assert!(page.contains("⚠ also lets in: arn:aws:iam::444444444444:root (accepted), *"), "{page}");
        assert!(page.contains("Exposed beyond the chain: 1 finding, 1 accepted"));
        // Self-contained: the only URL is the SVG namespace, which is a name, not a fetch.
        let urls: Vec<&str> = page.match_indices("http").map(|(i, _)| &page[i..(i + 30).min(page.len())]).collect();
        assert!(
            urls.iter().all(|u| u.starts_with("http://www.w3.org/2000/svg") || u.starts_with("http-equiv")),
            "{urls:?}"
        );
    }
}

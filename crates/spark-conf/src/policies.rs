//! Every AWS document xacct would write, labelled by account and resource, in canonical
//! indented JSON. The documents come from `policy_model::build`, so this is the text of what
//! `provision` writes; for policies others also edit it shows only xacct's statements.

use std::fmt::Write as _;

use policy_model::build::all_documents;
use policy_model::Flow;

pub(crate) fn render_policies(flow: &Flow) -> String {
    let mut out = String::new();
    for (i, doc) in all_documents(flow).iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "# account {} · {} · {}", doc.account, doc.resource, doc.label);
        out.push_str(&doc.document.to_json_pretty());
        out.push('\n');
    }
    out
}

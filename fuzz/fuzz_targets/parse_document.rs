//! Any bytes: if they parse as a policy document, the canonical JSON parses
//! back to the same document and serializes to the same text. Along the way
//! the validator, merge and unmerge must not panic on whatever parsed.

#![no_main]

use libfuzzer_sys::fuzz_target;
use policy_model::build::is_ours;
use policy_model::document::{PolicyDocument, Statement};
use policy_model::merge::{merge, unmerge};
use policy_model::validate::{validate, validate_json, DocKind};

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = serde_json::from_slice::<PolicyDocument>(data) else {
        return;
    };
    let json = doc.to_json();
    let again = match PolicyDocument::from_json(&json) {
        Ok(again) => again,
        Err(e) => panic!("canonical JSON does not parse: {e}\n{json}"),
    };
    assert_eq!(again, doc, "{json}");
    assert_eq!(again.to_json(), json);
    assert_eq!(PolicyDocument::from_json(&doc.to_json_pretty()).ok().as_ref(), Some(&doc));

    for kind in [DocKind::Identity { managed: true }, DocKind::Trust, DocKind::Bucket, DocKind::KmsKey] {
        validate(&doc, kind);
        if let Ok(text) = std::str::from_utf8(data) {
            validate_json(text, kind);
        }
    }

    // Merge a statement of ours into whatever parsed, then take it out again.
    let ours = [Statement::allow("XacctFuzz").with_action("s3:GetObject").with_resource("*".to_owned())];
    if !doc.statement.iter().any(is_ours) {
        if let Ok(merged) = merge(Some(&doc), &ours, usize::MAX) {
            let back = unmerge(&merged, is_ours);
            assert_eq!(back.as_ref(), Some(&doc).filter(|d| !d.statement.is_empty()));
        }
    }
});

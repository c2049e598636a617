//! `proptest` strategies for policy documents, for this crate's tests and for
//! other crates' (enable the `proptest` feature in their dev-dependencies).
//!
//! The documents are arbitrary, not valid: any Effect, odd keys, deep
//! condition values, strings that need escaping. Each generated value is one
//! that parsing can produce, so a round trip must give it back unchanged.

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::Value;

use crate::build::SID_PREFIX;
use crate::document::{Condition, OneOrMany, PolicyDocument, Principal, Statement};

/// The statement keys with their own field; `extra` never holds them.
const STATEMENT_KEYS: [&str; 9] =
    ["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"];

/// Strings seen in real policies, so that generated documents look like them.
const WORDS: &[&str] = &[
    "",
    "*",
    "Allow",
    "AWS",
    "s3:GetObject",
    "s3:*",
    "sts:AssumeRole",
    "arn:aws:s3:::my-bucket",
    "arn:aws:s3:::my-bucket/*",
    "arn:aws:iam::111111111111:role/MyRoleA",
    "arn:aws:iam::222222222222:root",
    "ec2.amazonaws.com",
    "2012-10-17",
    "StringEquals",
    "ForAnyValue:StringLike",
    "aws:SourceIp",
    "${aws:username}",
    "Xacct",
];

/// Characters that policies use, plus ones that need escaping or are not ASCII.
const CHARS: &[char] = &[
    'a', 'b', 'Z', '0', '7', ':', '*', '?', '/', '.', '_', '-', '$', '{', '}', ' ', '"', '\\', '\n', '\u{0}', '\u{1f}',
    '\u{7f}', 'é', '\u{2028}', '\u{fffd}', '😀',
];

/// Short text: a word from real policies, a mix of policy characters, or any Unicode.
///
/// Built from samples rather than a regex: regex strategies are slow in debug
/// builds, and the merge properties run ten thousand cases.
pub fn text() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        3 => proptest::sample::select(WORDS).prop_map(str::to_owned),
        3 => vec(proptest::sample::select(CHARS), 0..10).prop_map(|c| c.into_iter().collect()),
        1 => vec(any::<char>(), 0..4).prop_map(|c| c.into_iter().collect()),
    ]
}

/// Any JSON value up to three levels deep, with integers, finite floats and escaped strings.
pub fn json_value() -> impl Strategy<Value = Value> + Clone {
    json_scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map(text(), inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A JSON value that is not an array or an object.
pub fn json_scalar() -> impl Strategy<Value = Value> + Clone {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter_map("JSON has no NaN or infinity", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        text().prop_map(Value::String),
    ]
}

/// A value written alone or as an array (possibly empty).
pub fn one_or_many<T: std::fmt::Debug + Clone>(
    item: impl Strategy<Value = T> + Clone,
) -> impl Strategy<Value = OneOrMany<T>> + Clone {
    prop_oneof![item.clone().prop_map(OneOrMany::One), vec(item, 0..4).prop_map(OneOrMany::Many)]
}

/// `"*"`, another bare string, or a map of principal types (known or not) to values.
pub fn principal() -> impl Strategy<Value = Principal> + Clone {
    let kind = prop_oneof![Just("AWS".to_owned()), Just("Service".to_owned()), Just("Federated".to_owned()), text()];
    prop_oneof![
        2 => Just(Principal::Star("*".to_owned())),
        1 => text().prop_map(Principal::Star),
        6 => btree_map(kind, one_or_many(text()), 0..3).prop_map(Principal::Map),
    ]
}

/// A condition block: any operator and key; a lone value is a scalar (an array is `Many`).
pub fn condition() -> impl Strategy<Value = Condition> + Clone {
    let value = prop_oneof![
        json_value().prop_filter("an array parses as `Many`", |v| !v.is_array()).prop_map(OneOrMany::One),
        vec(json_value(), 0..4).prop_map(OneOrMany::Many),
    ];
    btree_map(text(), btree_map(text(), value, 0..3), 0..3)
}

/// A statement whose Sid comes from `sid`.
pub fn statement_with_sid(
    sid: impl Strategy<Value = Option<String>> + Clone,
) -> impl Strategy<Value = Statement> + Clone {
    let effect = prop_oneof![4 => Just("Allow".to_owned()), 4 => Just("Deny".to_owned()), 1 => text()];
    let list = || proptest::option::of(one_or_many(text()));
    let extra_key = text().prop_filter("a key with its own field", |k| !STATEMENT_KEYS.contains(&k.as_str()));
    (
        sid,
        effect,
        proptest::option::of(principal()),
        proptest::option::of(principal()),
        (list(), list(), list(), list()),
        proptest::option::of(condition()),
        btree_map(extra_key, json_value(), 0..2),
    )
        .prop_map(
            |(
                sid,
                effect,
                principal,
                not_principal,
                (action, not_action, resource, not_resource),
                condition,
                extra,
            )| {
                Statement {
                    sid,
                    effect,
                    principal,
                    not_principal,
                    action,
                    not_action,
                    resource,
                    not_resource,
                    condition,
                    extra,
                }
            },
        )
}

/// Any statement.
pub fn statement() -> impl Strategy<Value = Statement> + Clone {
    statement_with_sid(proptest::option::of(text()))
}

/// A statement that is not ours: its Sid, if any, does not start with [`SID_PREFIX`].
pub fn foreign_statement() -> impl Strategy<Value = Statement> + Clone {
    statement_with_sid(proptest::option::of(text().prop_filter("our prefix", |s| !s.starts_with(SID_PREFIX))))
}

/// Up to `max` statements of ours, with distinct `Xacct…` Sids, shaped as
/// `build` writes them: an Effect, maybe a principal, actions and resources.
pub fn our_statements(max: usize) -> impl Strategy<Value = Vec<Statement>> + Clone {
    const ALNUM: &[char] = &['A', 'b', 'c', 'Y', 'z', '0', '1', '9'];
    let suffix = vec(proptest::sample::select(ALNUM), 1..6).prop_map(|c| c.into_iter().collect::<String>());
    let words = || vec(proptest::sample::select(WORDS).prop_map(str::to_owned), 1..3);
    let stmt = (any::<bool>(), proptest::option::of(words()), words(), words()).prop_map(
        |(allow, principal, actions, resources)| Statement {
            effect: if allow { "Allow" } else { "Deny" }.to_owned(),
            principal: principal.map(Principal::aws),
            action: Some(OneOrMany::Many(actions)),
            resource: Some(OneOrMany::Many(resources)),
            ..Statement::allow("")
        },
    );
    btree_map(suffix, stmt, 0..=max)
        .prop_map(|m| {
            m.into_iter()
                .map(|(s, stmt)| Statement { sid: Some(format!("{SID_PREFIX}{s}")), ..stmt })
                .collect::<Vec<_>>()
        })
        .prop_shuffle()
}

fn document_of(stmt: impl Strategy<Value = Statement> + Clone) -> impl Strategy<Value = PolicyDocument> + Clone {
    let version = prop_oneof![
        4 => Just(Some("2012-10-17".to_owned())),
        1 => Just(Some("2008-10-17".to_owned())),
        1 => Just(None),
        1 => text().prop_map(Some),
    ];
    (version, proptest::option::of(text()), vec(stmt, 0..5)).prop_map(|(version, id, statement)| PolicyDocument {
        version,
        id,
        statement,
    })
}

/// JSON shaped like a document, often not quite one: the keys of a document and
/// of a statement mixed with others, and values of every type in their places.
pub fn document_like_json() -> impl Strategy<Value = Value> + Clone {
    let key = |known: &'static [&'static str]| prop_oneof![4 => proptest::sample::select(known).prop_map(str::to_owned), 1 => text()];
    let list = || {
        prop_oneof![text().prop_map(Value::String), vec(text().prop_map(Value::String), 0..3).prop_map(Value::Array)]
    };
    let field = prop_oneof![3 => list(), 1 => principal().prop_map(|p| serde_json::to_value(p).unwrap_or_default()), 1 => json_value()];
    let object = |m: std::collections::BTreeMap<String, Value>| Value::Object(m.into_iter().collect());
    let statement = btree_map(key(&STATEMENT_KEYS), field, 0..8).prop_map(object);
    let statements = prop_oneof![
        3 => vec(statement.clone(), 0..4).prop_map(Value::Array),
        1 => statement,
        1 => json_value(),
    ];
    let value = prop_oneof![2 => statements, 1 => list(), 1 => json_value()];
    btree_map(key(&["Version", "Id", "Statement"]), value, 0..4).prop_map(object)
}

/// Any document.
pub fn document() -> impl Strategy<Value = PolicyDocument> + Clone {
    document_of(statement())
}

/// A document with no statement of ours in it.
pub fn foreign_document() -> impl Strategy<Value = PolicyDocument> + Clone {
    document_of(foreign_statement())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 2_000,
            failure_persistence: None,
            rng_algorithm: proptest::test_runner::RngAlgorithm::XorShift,
            ..ProptestConfig::default()
        })]

        /// Every document survives serialize → parse, compact and pretty, and
        /// serializing is canonical: the text of the re-parsed document is the same.
        #[test]
        fn round_trip(doc in document()) {
            let json = doc.to_json();
            let parsed = PolicyDocument::from_json(&json).unwrap();
            prop_assert_eq!(&parsed, &doc);
            prop_assert_eq!(parsed.to_json(), json);
            prop_assert_eq!(PolicyDocument::from_json(&doc.to_json_pretty()).unwrap(), doc);
        }

        /// A single statement object in place of the array means the same document.
        #[test]
        fn lone_statement(stmt in statement()) {
            let json = format!(r#"{{"Statement":{}}}"#, serde_json::to_string(&stmt).unwrap());
            prop_assert_eq!(PolicyDocument::from_json(&json).unwrap().statement, vec![stmt]);
        }

        /// Any JSON text: if it parses, serialize → parse gives the same document.
        #[test]
        fn parse_any_json(value in prop_oneof![4 => document_like_json(), 1 => json_value()]) {
            let text = value.to_string();
            if let Ok(doc) = PolicyDocument::from_json(&text) {
                prop_assert_eq!(PolicyDocument::from_json(&doc.to_json()).unwrap(), doc);
            }
        }

        #[test]
        fn our_statements_are_ours(ours in our_statements(4), foreign in foreign_statement()) {
            prop_assert!(ours.iter().all(crate::build::is_ours));
            prop_assert!(!crate::build::is_ours(&foreign));
        }
    }
}

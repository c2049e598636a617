//! The serde form of an IAM policy document.
//!
//! It accepts every shape AWS accepts (a string or an array for Action,
//! Resource and Principal, `"Principal": "*"`, a single statement object in
//! place of an array, any condition operator) and keeps the document's
//! meaning. It serializes canonically: fixed key order, `Statement` always an
//! array, and each list in the shape it came in. Nothing here is checked;
//! `validate` reports problems and `eval` compiles the checked form.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A value AWS lets be written either alone or as an array.
///
/// `Many` comes first so that an array always parses as `Many`, even when `T`
/// could itself hold an array (condition values are JSON values).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    /// Written as a JSON array (possibly of one element).
    Many(Vec<T>),
    /// Written as a single value.
    One(T),
}

impl<T> OneOrMany<T> {
    /// The values, one or many, as a slice.
    pub fn as_slice(&self) -> &[T] {
        match self {
            OneOrMany::One(v) => std::slice::from_ref(v),
            OneOrMany::Many(v) => v,
        }
    }
    /// Iterates over the values, one or many.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.as_slice().iter()
    }
}

impl<T> From<Vec<T>> for OneOrMany<T> {
    fn from(v: Vec<T>) -> Self {
        OneOrMany::Many(v)
    }
}

/// A policy document: identity, trust, bucket or key policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyDocument {
    /// `Version`, normally [`VERSION_2012`]; `None` when absent (AWS then reads `2008-10-17`).
    #[serde(rename = "Version", default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `Id`, an optional identifier of the document (key policies carry one).
    #[serde(rename = "Id", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `Statement`: parsed from an array or a single object, always written as an array.
    #[serde(rename = "Statement", default, deserialize_with = "one_or_many_vec")]
    pub statement: Vec<Statement>,
}

/// The current policy language version.
pub const VERSION_2012: &str = "2012-10-17";

impl PolicyDocument {
    /// A 2012-10-17 document with these statements and no Id.
    pub fn new(statement: Vec<Statement>) -> Self {
        PolicyDocument { version: Some(VERSION_2012.to_owned()), id: None, statement }
    }

    /// Parses a document from JSON text, as AWS returns it (URL-decoded).
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Parses a document as an AWS API returns it: IAM URL-encodes its documents
    /// (RFC 3986), S3 and KMS return plain JSON.
    pub fn from_api_text(text: &str) -> Result<Self, serde_json::Error> {
        let text = text.trim_start();
        if text.starts_with('{') {
            Self::from_json(text)
        } else {
            Self::from_json(&percent_decode(text))
        }
    }

    /// Canonical compact JSON.
    pub fn to_json(&self) -> String {
        // Serializing plain strings and maps cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Canonical indented JSON, for people.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// `%XX` escapes to bytes; anything else (a lone `%`, a `+`) stays as it is.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(hi), Some(lo)) => {
                out.extend(u8::try_from(hi * 16 + lo).ok());
                i += 3;
            }
            (b, ..) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `Statement` is an array of statements or a single statement object. A
/// visitor (rather than an untagged enum) keeps serde's precise error, such as
/// a missing `Effect` with its line and column.
fn one_or_many_vec<'de, D>(de: D) -> Result<Vec<Statement>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct StatementsVisitor;
    impl<'de> serde::de::Visitor<'de> for StatementsVisitor {
        type Value = Vec<Statement>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a statement or an array of statements")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            Vec::<Statement>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            Ok(vec![Statement::deserialize(serde::de::value::MapAccessDeserializer::new(map))?])
        }
    }
    de.deserialize_any(StatementsVisitor)
}

/// A principal block: `"*"` or a map of `AWS`, `Service`, `Federated`, `CanonicalUser`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Principal {
    /// `"Principal": "*"`; any other bare string is kept and flagged by the validator.
    Star(String),
    /// Principal type (`AWS`, `Service`, `Federated`, `CanonicalUser`) to one or many values, e.g.
    /// `{"AWS": "arn:aws:iam::111111111111:role/MyRoleA"}`.
    Map(BTreeMap<String, OneOrMany<String>>),
}

impl Principal {
    /// `{"AWS": [arns...]}`
    pub fn aws(arns: Vec<String>) -> Self {
        Principal::Map(BTreeMap::from([("AWS".to_owned(), OneOrMany::Many(arns))]))
    }
    /// `{"Service": "<service>"}`
    pub fn service(service: &str) -> Self {
        Principal::Map(BTreeMap::from([("Service".to_owned(), OneOrMany::One(service.to_owned()))]))
    }
}

/// The condition block: operator → key → value(s). Values stay JSON so that
/// `true`, `10` and `"10"` all survive a round trip exactly.
pub type Condition = BTreeMap<String, BTreeMap<String, OneOrMany<serde_json::Value>>>;

/// One statement, with the keys AWS defines. Unknown keys are kept in `extra`
/// (and reported by the validator) so that nothing in a foreign document is lost.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statement {
    /// `Sid`, the statement's id; xacct finds its own statements by Sid (see [`crate::merge`]).
    #[serde(rename = "Sid", default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// `Effect`: `Allow` or `Deny`; any other text is kept and flagged by the validator.
    #[serde(rename = "Effect")]
    pub effect: String,
    /// `Principal`: who the statement applies to, in resource and trust policies.
    #[serde(rename = "Principal", default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    /// `NotPrincipal`: every principal except these.
    #[serde(rename = "NotPrincipal", default, skip_serializing_if = "Option::is_none")]
    pub not_principal: Option<Principal>,
    /// `Action`: action patterns such as `s3:GetObject` or `s3:*`.
    #[serde(rename = "Action", default, skip_serializing_if = "Option::is_none")]
    pub action: Option<OneOrMany<String>>,
    /// `NotAction`: every action except these patterns.
    #[serde(rename = "NotAction", default, skip_serializing_if = "Option::is_none")]
    pub not_action: Option<OneOrMany<String>>,
    /// `Resource`: ARN patterns; absent in trust policies.
    #[serde(rename = "Resource", default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<OneOrMany<String>>,
    /// `NotResource`: every resource except these patterns.
    #[serde(rename = "NotResource", default, skip_serializing_if = "Option::is_none")]
    pub not_resource: Option<OneOrMany<String>>,
    /// `Condition`: operator → condition key → values; every condition must hold.
    #[serde(rename = "Condition", default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
    /// Keys AWS does not define, kept as they came so that a round trip loses nothing.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Statement {
    /// An `Allow` statement with the given Sid and nothing else; fill in the rest with the builder methods.
    pub fn allow(sid: &str) -> Self {
        Statement {
            sid: Some(sid.to_owned()),
            effect: "Allow".to_owned(),
            principal: None,
            not_principal: None,
            action: None,
            not_action: None,
            resource: None,
            not_resource: None,
            condition: None,
            extra: BTreeMap::new(),
        }
    }
    /// `"Principal": ...`, replacing any principal.
    pub fn with_principal(mut self, principal: Principal) -> Self {
        self.principal = Some(principal);
        self
    }
    /// `"Action": "<action>"`, a single string.
    pub fn with_action(mut self, action: &str) -> Self {
        self.action = Some(OneOrMany::One(action.to_owned()));
        self
    }
    /// `"Action": [...]`.
    pub fn with_actions(mut self, actions: &[&str]) -> Self {
        self.action = Some(OneOrMany::Many(actions.iter().map(|a| (*a).to_owned()).collect()));
        self
    }
    /// `"Resource": "<resource>"`, a single string.
    pub fn with_resource(mut self, resource: String) -> Self {
        self.resource = Some(OneOrMany::One(resource));
        self
    }
    /// `"Resource": [...]`.
    pub fn with_resources(mut self, resources: Vec<String>) -> Self {
        self.resource = Some(OneOrMany::Many(resources));
        self
    }
}

// The readers below are written by hand rather than derived: serde's untagged enums and
// `flatten` buffer every value and build an error for each variant that does not fit, which
// made reading a document cost more than compiling and evaluating it. Shapes and messages
// are the derived ones'.

/// Reads a value that is one `T` or an array of them, without buffering.
struct OneOrManyVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> OneOrManyVisitor<T> {
    fn one<E: serde::de::Error>(value: Result<T, E>, unexpected: serde::de::Unexpected<'_>) -> Result<OneOrMany<T>, E> {
        value.map(OneOrMany::One).map_err(|_: E| E::invalid_type(unexpected, &"a string or an array of strings"))
    }
}

impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for OneOrManyVisitor<T> {
    type Value = OneOrMany<T>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string or an array of strings")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Vec::<T>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq)).map(OneOrMany::Many)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(OneOrMany::One)
    }
    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Self::one(T::deserialize(serde::de::value::BorrowedStrDeserializer::new(v)), serde::de::Unexpected::Str(v))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Self::one(T::deserialize(serde::de::value::StrDeserializer::new(v)), serde::de::Unexpected::Str(v))
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
        let shown = v.clone();
        Self::one(T::deserialize(serde::de::value::StringDeserializer::new(v)), serde::de::Unexpected::Str(&shown))
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Self::one(T::deserialize(serde::de::value::BoolDeserializer::new(v)), serde::de::Unexpected::Bool(v))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Self::one(T::deserialize(serde::de::value::U64Deserializer::new(v)), serde::de::Unexpected::Unsigned(v))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Self::one(T::deserialize(serde::de::value::I64Deserializer::new(v)), serde::de::Unexpected::Signed(v))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Self::one(T::deserialize(serde::de::value::F64Deserializer::new(v)), serde::de::Unexpected::Float(v))
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Self::one(T::deserialize(serde::de::value::UnitDeserializer::new()), serde::de::Unexpected::Unit)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_any(OneOrManyVisitor(std::marker::PhantomData))
    }
}

impl<'de> Deserialize<'de> for Principal {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Principal;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("`\"*\"` or a map such as `{\"AWS\": [...]}`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Principal, E> {
                Ok(Principal::Star(v.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Principal, E> {
                Ok(Principal::Star(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Principal, A::Error> {
                BTreeMap::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Principal::Map)
            }
        }
        de.deserialize_any(V)
    }
}

/// A map key that borrows from the input unless it holds escapes.
struct Key<'a>(std::borrow::Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_owned())))
            }
        }
        de.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for Statement {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Statement;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a statement object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Statement, A::Error> {
                use serde::de::Error;
                let mut s = Statement {
                    sid: None,
                    effect: String::new(),
                    principal: None,
                    not_principal: None,
                    action: None,
                    not_action: None,
                    resource: None,
                    not_resource: None,
                    condition: None,
                    extra: BTreeMap::new(),
                };
                let mut effect = false;
                fn set<T, E: Error>(slot: &mut Option<T>, value: T, name: &'static str) -> Result<(), E> {
                    match slot.replace(value) {
                        Some(_) => Err(E::duplicate_field(name)),
                        None => Ok(()),
                    }
                }
                while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                    match &*key {
                        "Sid" => set(&mut s.sid, map.next_value()?, "Sid")?,
                        "Effect" => {
                            if effect {
                                return Err(A::Error::duplicate_field("Effect"));
                            }
                            s.effect = map.next_value()?;
                            effect = true;
                        }
                        "Principal" => set(&mut s.principal, map.next_value()?, "Principal")?,
                        "NotPrincipal" => set(&mut s.not_principal, map.next_value()?, "NotPrincipal")?,
                        "Action" => set(&mut s.action, map.next_value()?, "Action")?,
                        "NotAction" => set(&mut s.not_action, map.next_value()?, "NotAction")?,
                        "Resource" => set(&mut s.resource, map.next_value()?, "Resource")?,
                        "NotResource" => set(&mut s.not_resource, map.next_value()?, "NotResource")?,
                        "Condition" => set(&mut s.condition, map.next_value()?, "Condition")?,
                        _ => {
                            s.extra.insert(key.into_owned(), map.next_value()?);
                        }
                    }
                }
                if !effect {
                    return Err(A::Error::missing_field("Effect"));
                }
                Ok(s)
            }
        }
        de.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, expect: &str) {
        let doc = PolicyDocument::from_json(input).unwrap();
        assert_eq!(doc.to_json(), expect);
        assert_eq!(PolicyDocument::from_json(&doc.to_json()).unwrap(), doc);
    }

    #[test]
    fn api_text() {
        let check = |input: &str, expect: &str| assert_eq!(percent_decode(input), expect, "{input}");
        check("%7B%22a%22%3A1%7D", r#"{"a":1}"#);
        check("a+b%2", "a+b%2");
        check("%e2%9c%93", "✓");
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(PolicyDocument::from_api_text(encoded).unwrap(), PolicyDocument::new(Vec::new()));
        assert_eq!(
            PolicyDocument::from_api_text(r#" {"Version":"2012-10-17","Statement":[]}"#).unwrap(),
            PolicyDocument::new(Vec::new())
        );
    }

    #[test]
    fn shapes() {
        check(
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"},"Version":"2012-10-17"}"#,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
        );
        check(
            r#"{"Version":"2008-10-17","Statement":[{"Sid":"a","Effect":"Deny","Principal":"*","NotAction":["s3:Get*"],"NotResource":"arn:aws:s3:::b/*"}]}"#,
            r#"{"Version":"2008-10-17","Statement":[{"Sid":"a","Effect":"Deny","Principal":"*","NotAction":["s3:Get*"],"NotResource":"arn:aws:s3:::b/*"}]}"#,
        );
        check(
            r#"{"Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":["111111111111"],"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:SecureTransport":false},"NumericLessThan":{"s3:max-keys":["10",5]}}}]}"#,
            r#"{"Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":["111111111111"],"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:SecureTransport":false},"NumericLessThan":{"s3:max-keys":["10",5]}}}]}"#,
        );
        // Unknown keys are kept, not dropped.
        check(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Foo":1}]}"#,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Foo":1}]}"#,
        );
    }
}

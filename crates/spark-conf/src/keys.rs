//! The S3A settings of the flow, as Hadoop keys without the `spark.hadoop.` prefix.
//!
//! The rule lives in [`policy_model::chain::s3a`], which `verify` checks a cluster against; this
//! module names it for spark-conf's renderers. With one bucket-owner role the runbook's global
//! keys (`fs.s3a.credentialsType`, …) say everything. With several, each bucket gets its own
//! `fs.s3a.bucket.<bucket>.…` keys and assumes its own owner's role.

pub use policy_model::chain::s3a::{
    assume_role_settings, key as s3a_key, settings as hadoop_settings, uses_per_bucket_keys, ACL_DEFAULT, ASSUME_ROLE,
    BUCKET_OWNER_FULL_CONTROL, CREDENTIALS_TYPE, SPARK_HADOOP_PREFIX, STS_ASSUME_ROLE_ARN,
};

/// A double-quoted Python string literal that reads back as `s`: backslash, quote, and the
/// control characters are escaped (`\n`, `\xHH`); other characters stay as they are (Python 3
/// source is UTF-8).
pub fn python_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() && (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A double-quoted Scala string literal (not interpolated, so `$` is plain) that reads back as
/// `s`. Line breaks are written as `\n` and `\r`, never as `\u000a`: Scala 2.12 turns unicode
/// escapes into characters before it reads the literal, so an escaped line break would end it.
pub fn scala_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The key-name endings whose values are credentials (`fs.s3a.secret.key`, `fs.s3a.access.key`,
/// `fs.s3a.session.token` and their per-bucket and `spark.hadoop.` forms).
const SECRET_ENDINGS: &[&str] = &["secret.key", "access.key", "session.token"];

/// Text that may hold a credential, safe to show: everything after the first secret-looking key
/// name (`secret.key`, `access.key`, `session.token`) becomes `<redacted>`. Text without one
/// comes back as it is.
pub fn redact(text: &str) -> std::borrow::Cow<'_, str> {
    let lower = text.to_ascii_lowercase();
    let cut = SECRET_ENDINGS.iter().filter_map(|e| lower.find(e).map(|at| at + e.len())).min();
    match cut {
        Some(at) if at < text.len() => format!("{}<redacted>", &text[..at]).into(),
        _ => text.into(),
    }
}

/// The value of `key` as it may be shown: `<redacted>` for a secret-looking key.
pub fn shown_value<'v>(key: &str, value: &'v str) -> &'v str {
    let lower = key.to_ascii_lowercase();
    if SECRET_ENDINGS.iter().any(|e| lower.ends_with(e)) {
        "<redacted>"
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, python: &str, scala: &str) {
        assert_eq!(python_str(input), python, "python of {input:?}");
        assert_eq!(scala_str(input), scala, "scala of {input:?}");
    }

    #[test]
    fn string_literals() {
        check("/mnt/my-bucket", r#""/mnt/my-bucket""#, r#""/mnt/my-bucket""#);
        check(r#"a"b\c"#, r#""a\"b\\c""#, r#""a\"b\\c""#);
        check("a\nb\tc", r#""a\nb\tc""#, r#""a\nb\tc""#);
        check("$x {y}", r#""$x {y}""#, r#""$x {y}""#);
        check("\u{1}\u{7f}", r#""\x01\x7f""#, r#""\u0001\u007f""#);
        check(r"\u0041", r#""\\u0041""#, r#""\\u0041""#);
        check("é", "\"é\"", "\"é\"");
    }
}

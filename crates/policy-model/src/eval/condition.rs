//! Condition operators: compiled once, evaluated against the request context.
//!
//! The rules follow AWS's condition reference:
//! - every value of one key is OR-ed; every key and every operator is AND-ed;
//! - a negated operator (`StringNotEquals`, `NotIpAddress`, ...) matches when the key is absent,
//!   and otherwise when the request value matches none of the policy values;
//! - `...IfExists` matches when the key is absent;
//! - a multivalued key needs `ForAllValues:` (true when the key is absent) or `ForAnyValue:`
//!   (false when the key is absent); without one, a multivalued key never matches;
//! - a value that cannot be read (a number that is not a number, a variable with no value)
//!   never matches, for plain and negated operators alike.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::pattern::{Pattern, Syntax};
use super::request::{Context, Key, Lookup};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn test<T: PartialOrd>(self, request: T, policy: T) -> bool {
        match self {
            Cmp::Eq => request == policy,
            Cmp::Lt => request < policy,
            Cmp::Le => request <= policy,
            Cmp::Gt => request > policy,
            Cmp::Ge => request >= policy,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Values {
    /// StringEquals, StringLike, StringEqualsIgnoreCase and their negations, ArnEquals/ArnLike.
    Strings(Vec<Pattern>),
    Arns(Vec<Option<[Pattern; 6]>>),
    Numbers(Cmp, Vec<Option<f64>>),
    Dates(Cmp, Vec<Option<i64>>),
    /// A literal `true`/`false` (or `None` for anything else), or a value with variables.
    Bools(Vec<Result<Option<bool>, Pattern>>),
    Binary(Vec<Box<str>>),
    Ips(Vec<Option<Cidr>>),
    Null(Vec<Box<str>>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    ForAll,
    ForAny,
}

/// One operator applied to one key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CompiledCondition {
    key: Key,
    negated: bool,
    if_exists: bool,
    set: Option<SetOp>,
    values: Values,
}

/// Why an operator could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConditionError {
    Operator,
}

const NEGATED: [&str; 8] = [
    "stringnotequals",
    "stringnotequalsignorecase",
    "stringnotlike",
    "numericnotequals",
    "datenotequals",
    "notipaddress",
    "arnnotequals",
    "arnnotlike",
];

impl CompiledCondition {
    pub(crate) fn compile(
        operator: &str,
        key: &str,
        values: &[String],
        variables: bool,
    ) -> Result<CompiledCondition, ConditionError> {
        let mut op = operator;
        let mut set = None;
        if let Some((prefix, rest)) = op.split_once(':') {
            set = Some(match prefix.to_ascii_lowercase().as_str() {
                "forallvalues" => SetOp::ForAll,
                "foranyvalue" => SetOp::ForAny,
                _ => return Err(ConditionError::Operator),
            });
            op = rest;
        }
        let lower = op.to_ascii_lowercase();
        let (base, if_exists) = match lower.strip_suffix("ifexists") {
            Some(base) => (base, true),
            None => (lower.as_str(), false),
        };
        let negated = NEGATED.contains(&base);
        let syntax = |wildcards, ignore_case| Syntax { wildcards, variables, ignore_case };
        let strings = |s: Syntax| values.iter().map(|v| Pattern::new(v, s)).collect();
        let numbers = |cmp| Values::Numbers(cmp, values.iter().map(|v| parse_number(v)).collect());
        let dates = |cmp| Values::Dates(cmp, values.iter().map(|v| parse_date(v)).collect());
        let values = match base {
            "stringequals" | "stringnotequals" => Values::Strings(strings(syntax(false, false))),
            "stringequalsignorecase" | "stringnotequalsignorecase" => Values::Strings(strings(syntax(false, true))),
            "stringlike" | "stringnotlike" => Values::Strings(strings(syntax(true, false))),
            "numericequals" | "numericnotequals" => numbers(Cmp::Eq),
            "numericlessthan" => numbers(Cmp::Lt),
            "numericlessthanequals" => numbers(Cmp::Le),
            "numericgreaterthan" => numbers(Cmp::Gt),
            "numericgreaterthanequals" => numbers(Cmp::Ge),
            "dateequals" | "datenotequals" => dates(Cmp::Eq),
            "datelessthan" => dates(Cmp::Lt),
            "datelessthanequals" => dates(Cmp::Le),
            "dategreaterthan" => dates(Cmp::Gt),
            "dategreaterthanequals" => dates(Cmp::Ge),
            "bool" => Values::Bools(
                values
                    .iter()
                    .map(|v| {
                        if variables && v.contains("${") {
                            Err(Pattern::new(v, syntax(false, true)))
                        } else {
                            Ok(parse_bool(v))
                        }
                    })
                    .collect(),
            ),
            "binaryequals" => Values::Binary(values.iter().map(|v| v.as_str().into()).collect()),
            "ipaddress" | "notipaddress" => Values::Ips(values.iter().map(|v| Cidr::parse(v)).collect()),
            "arnequals" | "arnlike" | "arnnotequals" | "arnnotlike" => {
                Values::Arns(values.iter().map(|v| arn_pattern(v, syntax(true, false))).collect())
            }
            "null" => Values::Null(values.iter().map(|v| v.to_ascii_lowercase().into()).collect()),
            _ => return Err(ConditionError::Operator),
        };
        Ok(CompiledCondition { key: Key::new(key), negated, if_exists, set, values })
    }

    pub(crate) fn matches(&self, ctx: &Context) -> bool {
        let found = ctx.lookup(&self.key);
        if let Values::Null(values) = &self.values {
            let goal = if matches!(found, Lookup::Missing) { "true" } else { "false" };
            return values.iter().any(|v| **v == *goal);
        }
        match (self.set, found) {
            (None, Lookup::Missing) => self.if_exists || self.negated,
            (None, Lookup::Multi(_)) => false,
            (None, Lookup::Single(v)) => self.base(v, ctx),
            (Some(SetOp::ForAll), Lookup::Missing) => true,
            (Some(SetOp::ForAny), Lookup::Missing) => false,
            (Some(SetOp::ForAll), Lookup::Single(v)) | (Some(SetOp::ForAny), Lookup::Single(v)) => self.base(v, ctx),
            (Some(SetOp::ForAll), Lookup::Multi(vs)) => vs.iter().all(|v| self.base(v, ctx)),
            (Some(SetOp::ForAny), Lookup::Multi(vs)) => vs.iter().any(|v| self.base(v, ctx)),
        }
    }

    /// The operator on one request value: a plain operator needs one policy value to
    /// match; a negated one needs every policy value to be readable and not to match.
    fn base(&self, request: &str, ctx: &Context) -> bool {
        let each = |test: &dyn Fn(usize) -> Option<bool>, n: usize| {
            if self.negated {
                (0..n).all(|i| test(i) == Some(false))
            } else {
                (0..n).any(|i| test(i) == Some(true))
            }
        };
        match &self.values {
            Values::Strings(patterns) => each(&|i| patterns[i].matches(request, ctx), patterns.len()),
            Values::Arns(patterns) => {
                let request = super::request::ArnParts::parse(request);
                each(
                    &|i| {
                        let (policy, request) = (patterns[i].as_ref()?, request?);
                        let req = [
                            "arn",
                            request.partition(),
                            request.service(),
                            request.region(),
                            request.account(),
                            request.resource(),
                        ];
                        let mut all = true;
                        for (p, r) in policy.iter().zip(req) {
                            all &= p.matches(r, ctx)?;
                        }
                        Some(all)
                    },
                    patterns.len(),
                )
            }
            Values::Numbers(cmp, numbers) => {
                let request = parse_number(request);
                each(&|i| Some(cmp.test(request?, numbers[i]?)), numbers.len())
            }
            Values::Dates(cmp, dates) => {
                let request = parse_date(request);
                each(&|i| Some(cmp.test(request?, dates[i]?)), dates.len())
            }
            Values::Bools(values) => {
                let request = parse_bool(request);
                each(
                    &|i| {
                        let policy = match &values[i] {
                            Ok(literal) => (*literal)?,
                            Err(pattern) => parse_bool(&pattern.resolve(ctx)?)?,
                        };
                        Some(request? == policy)
                    },
                    values.len(),
                )
            }
            Values::Binary(values) => each(&|i| Some(*values[i] == *request), values.len()),
            Values::Ips(cidrs) => {
                let request = request.parse::<IpAddr>().ok();
                each(&|i| Some(cidrs[i]?.contains(request?)), cidrs.len())
            }
            Values::Null(_) => false,
        }
    }
}

/// What a condition's operator refuses among its values, as AWS refuses it when a policy is
/// written ("IAM JSON policy elements: Condition operators": each operator family takes
/// values of its own type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConditionProblem {
    /// The operator is not one AWS defines.
    Operator,
    /// This value is not of the operator's type.
    Value { value: String, expected: &'static str },
}

/// Checks the values of one operator; a value holding a policy variable is checked when it
/// is resolved, not here.
pub(crate) fn check_condition(operator: &str, values: &[&str]) -> Result<(), ConditionProblem> {
    let mut op = operator;
    if let Some((prefix, rest)) = op.split_once(':') {
        if !matches!(prefix.to_ascii_lowercase().as_str(), "forallvalues" | "foranyvalue") {
            return Err(ConditionProblem::Operator);
        }
        op = rest;
    }
    let lower = op.to_ascii_lowercase();
    let base = lower.strip_suffix("ifexists").unwrap_or(&lower);
    let (ok, expected): (fn(&str) -> bool, &'static str) = match base {
        "stringequals"
        | "stringnotequals"
        | "stringequalsignorecase"
        | "stringnotequalsignorecase"
        | "stringlike"
        | "stringnotlike"
        | "arnequals"
        | "arnlike"
        | "arnnotequals"
        | "arnnotlike"
        | "binaryequals" => (|_| true, ""),
        "numericequals"
        | "numericnotequals"
        | "numericlessthan"
        | "numericlessthanequals"
        | "numericgreaterthan"
        | "numericgreaterthanequals" => (|v| parse_number(v).is_some(), "a number"),
        "dateequals"
        | "datenotequals"
        | "datelessthan"
        | "datelessthanequals"
        | "dategreaterthan"
        | "dategreaterthanequals" => (|v| parse_date(v).is_some(), "an ISO 8601 date or epoch seconds"),
        "bool" => (|v| parse_bool(v).is_some(), "`true` or `false`"),
        "null" if lower == "null" => (|v| parse_bool(v).is_some(), "`true` or `false`"),
        "ipaddress" | "notipaddress" => (|v| Cidr::parse(v).is_some(), "an IP address or CIDR block"),
        _ => return Err(ConditionProblem::Operator),
    };
    match values.iter().find(|v| !v.contains("${") && !ok(v)) {
        Some(bad) => Err(ConditionProblem::Value { value: (*bad).to_owned(), expected }),
        None => Ok(()),
    }
}

fn arn_pattern(text: &str, syntax: Syntax) -> Option<[Pattern; 6]> {
    let mut parts = text.splitn(6, ':');
    let mut next = || parts.next().map(|p| Pattern::new(p, syntax));
    let arn = [next()?, next()?, next()?, next()?, next()?, next()?];
    Some(arn)
}

fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn parse_number(text: &str) -> Option<f64> {
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')) {
        return None;
    }
    t.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// A date as milliseconds since the epoch: an integer is epoch seconds, otherwise
/// ISO 8601 (`2024-01-31`, `2024-01-31T12:00:00Z`, with fractions and offsets).
pub(crate) fn parse_date(text: &str) -> Option<i64> {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse::<i64>().ok()?.checked_mul(1000);
    }
    let b = t.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let s = t.get(range)?;
        if s.bytes().all(|c| c.is_ascii_digit()) && !s.is_empty() {
            s.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut millis = days_from_civil(year, month, day) * 86_400_000;
    if b.len() == 10 {
        return Some(millis);
    }
    if b[10] != b'T' && b[10] != b't' {
        return None;
    }
    if b.len() < 16 || b[13] != b':' {
        return None;
    }
    let (hour, minute) = (num(11..13)?, num(14..16)?);
    let mut i = 16;
    let mut second = 0;
    let mut fraction = 0;
    if b.get(i) == Some(&b':') {
        second = num(17..19)?;
        i = 19;
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            let mut end = start;
            while end < b.len() && b[end].is_ascii_digit() {
                end += 1;
            }
            if end == start {
                return None;
            }
            let digits = &t[start..end.min(start + 3)];
            fraction = digits.parse::<i64>().ok()? * 10_i64.pow(3 - digits.len() as u32);
            i = end;
        }
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    millis += ((hour * 60 + minute) * 60 + second) * 1000 + fraction;
    let offset = match b.get(i) {
        None | Some(b'Z') | Some(b'z') if b.len() <= i + 1 => 0,
        Some(sign @ (b'+' | b'-')) if b.len() == i + 6 && b[i + 3] == b':' => {
            let minutes = num(i + 1..i + 3)? * 60 + num(i + 4..i + 6)?;
            if *sign == b'+' {
                minutes
            } else {
                -minutes
            }
        }
        _ => return None,
    };
    Some(millis - offset * 60_000)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An IPv4 or IPv6 network; a bare address is a /32 or /128.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cidr {
    V4(u32, u32),
    V6(u128, u128),
}

impl Cidr {
    pub(crate) fn parse(text: &str) -> Option<Cidr> {
        let (addr, bits) = match text.split_once('/') {
            Some((addr, bits)) => (addr, Some(bits)),
            None => (text, None),
        };
        let bits = |max: u32| -> Option<u32> {
            match bits {
                None => Some(max),
                Some(b) if !b.is_empty() && b.bytes().all(|c| c.is_ascii_digit()) => {
                    b.parse().ok().filter(|n| *n <= max)
                }
                Some(_) => None,
            }
        };
        if let Ok(v4) = addr.parse::<Ipv4Addr>() {
            let n = bits(32)?;
            let mask = if n == 0 { 0 } else { u32::MAX << (32 - n) };
            return Some(Cidr::V4(u32::from(v4) & mask, mask));
        }
        let v6 = addr.parse::<Ipv6Addr>().ok()?;
        let n = bits(128)?;
        let mask = if n == 0 { 0 } else { u128::MAX << (128 - n) };
        Some(Cidr::V6(u128::from(v6) & mask, mask))
    }

    fn contains(self, ip: IpAddr) -> bool {
        match (self, ip) {
            (Cidr::V4(net, mask), IpAddr::V4(a)) => u32::from(a) & mask == net,
            (Cidr::V6(net, mask), IpAddr::V6(a)) => u128::from(a) & mask == net,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context::new()
            .with("aws:SourceIp", "10.1.2.3")
            .with("aws:SourceIpV6", "2001:db8::1")
            .with("aws:SecureTransport", "true")
            .with("aws:CurrentTime", "2026-11-27T12:00:00Z")
            .with("aws:EpochTime", "1700000000")
            .with("s3:max-keys", "10")
            .with("aws:username", "alice")
            .with("aws:PrincipalTag/team", "data")
            .with("aws:PrincipalArn", "arn:aws:iam::111111111111:role/MyRoleA")
            .with("aws:userid", "AIDA:alice")
            .with("kms:CiphertextBlob", "QUJD")
            .with("aws:Empty", "")
            .with_values("aws:TagKeys", ["env", "team"])
            .with_values("aws:NoTags", Vec::<String>::new())
            .with("aws:CalledVia", "athena.amazonaws.com")
    }

    /// `check("Operator", "key", &["values"], expect)`.
    #[track_caller]
    fn check(op: &str, key: &str, values: &[&str], expect: bool) {
        let values: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
        let cond = CompiledCondition::compile(op, key, &values, true).unwrap();
        assert_eq!(cond.matches(&ctx()), expect, "{op} {key} {values:?}");
    }

    #[test]
    fn strings() {
        check("StringEquals", "aws:username", &["alice"], true);
        check("StringEquals", "AWS:USERNAME", &["alice"], true);
        check("StringEquals", "aws:username", &["Alice"], false);
        check("StringEquals", "aws:username", &["bob", "alice"], true);
        check("StringEquals", "aws:username", &["a*"], false);
        check("StringEquals", "aws:username", &["${aws:username}"], true);
        check("StringNotEquals", "aws:username", &["bob"], true);
        check("StringNotEquals", "aws:username", &["bob", "alice"], false);
        check("StringNotEquals", "aws:missing", &["bob"], true);
        check("StringEquals", "aws:missing", &["bob"], false);
        check("StringEqualsIfExists", "aws:missing", &["bob"], true);
        check("StringEqualsIfExists", "aws:username", &["bob"], false);
        check("StringEqualsIgnoreCase", "aws:username", &["ALICE"], true);
        check("StringNotEqualsIgnoreCase", "aws:username", &["ALICE"], false);
        check("StringLike", "aws:username", &["a*"], true);
        check("StringLike", "aws:username", &["?lice"], true);
        check("StringLike", "aws:username", &["b*"], false);
        check("StringNotLike", "aws:username", &["b*"], true);
        check("StringNotLike", "aws:username", &["b*", "al*"], false);
        check("StringLike", "aws:PrincipalTag/TEAM", &["dat?"], true);
        check("StringLike", "aws:userid", &["*:${aws:username}"], true);
        check("StringEquals", "aws:username", &["${aws:nothing, 'alice'}"], true);
        // A variable without a value never matches, even under a negated operator.
        check("StringEquals", "aws:username", &["${aws:nothing}"], false);
        check("StringNotEquals", "aws:username", &["${aws:nothing}"], false);
        check("StringEquals", "aws:Empty", &[""], true);
    }

    #[test]
    fn multivalued_keys() {
        check("StringEquals", "aws:TagKeys", &["env"], false);
        check("StringEqualsIfExists", "aws:TagKeys", &["env"], false);
        check("ForAnyValue:StringEquals", "aws:TagKeys", &["env"], true);
        check("ForAnyValue:StringEquals", "aws:TagKeys", &["x"], false);
        check("ForAllValues:StringEquals", "aws:TagKeys", &["env"], false);
        check("ForAllValues:StringEquals", "aws:TagKeys", &["env", "team", "x"], true);
        check("ForAllValues:StringEquals", "aws:missing", &["env"], true);
        check("ForAnyValue:StringEquals", "aws:missing", &["env"], false);
        check("ForAllValues:StringEquals", "aws:NoTags", &["env"], true);
        check("ForAnyValue:StringEquals", "aws:NoTags", &["env"], false);
        check("ForAllValues:StringNotEquals", "aws:TagKeys", &["x"], true);
        check("ForAllValues:StringNotEquals", "aws:TagKeys", &["env"], false);
        check("ForAnyValue:StringNotEquals", "aws:TagKeys", &["env"], true);
        check("ForAnyValue:StringLike", "aws:TagKeys", &["te*"], true);
        check("forallvalues:stringlike", "aws:TagKeys", &["*"], true);
        check("ForAnyValue:StringEquals", "aws:username", &["alice"], true);
        // A known multivalued key given as one string is a set of one.
        check("StringEquals", "aws:CalledVia", &["athena.amazonaws.com"], false);
        check("ForAnyValue:StringEquals", "aws:CalledVia", &["athena.amazonaws.com"], true);
    }

    #[test]
    fn numbers_dates_bools() {
        check("NumericEquals", "s3:max-keys", &["10"], true);
        check("NumericEquals", "s3:max-keys", &["10.0"], true);
        check("NumericNotEquals", "s3:max-keys", &["10"], false);
        check("NumericNotEquals", "s3:max-keys", &["11"], true);
        check("NumericLessThan", "s3:max-keys", &["11"], true);
        check("NumericLessThan", "s3:max-keys", &["10"], false);
        check("NumericLessThanEquals", "s3:max-keys", &["10"], true);
        check("NumericGreaterThan", "s3:max-keys", &["9.5"], true);
        check("NumericGreaterThanEquals", "s3:max-keys", &["10", "100"], true);
        check("NumericGreaterThanEquals", "s3:max-keys", &["11"], false);
        check("NumericEquals", "s3:max-keys", &["ten"], false);
        check("NumericNotEquals", "s3:max-keys", &["ten"], false);
        check("NumericEquals", "aws:username", &["10"], false);
        check("NumericLessThanIfExists", "aws:missing", &["1"], true);
        check("DateEquals", "aws:CurrentTime", &["2026-11-27T12:00:00Z"], true);
        check("DateEquals", "aws:CurrentTime", &["2026-11-27T13:00:00+01:00"], true);
        check("DateEquals", "aws:CurrentTime", &["2026-11-27T12:00:00.000Z"], true);
        check("DateNotEquals", "aws:CurrentTime", &["2026-11-27"], true);
        check("DateGreaterThan", "aws:CurrentTime", &["2026-11-27"], true);
        check("DateLessThan", "aws:CurrentTime", &["2027-01-01T00:00:00Z"], true);
        check("DateLessThanEquals", "aws:CurrentTime", &["2026-11-27T12:00:00Z"], true);
        check("DateGreaterThanEquals", "aws:CurrentTime", &["2026-11-28"], false);
        check("DateLessThan", "aws:CurrentTime", &["1800000000"], true);
        check("DateGreaterThan", "aws:EpochTime", &["2023-11-14T22:13:19Z"], true);
        check("DateEquals", "aws:EpochTime", &["2023-11-14T22:13:20Z"], true);
        check("DateEquals", "aws:CurrentTime", &["not a date"], false);
        check("DateEquals", "aws:CurrentTime", &["2026-02-30"], false);
        check("Bool", "aws:SecureTransport", &["true"], true);
        check("Bool", "aws:SecureTransport", &["TRUE"], true);
        check("Bool", "aws:SecureTransport", &["false"], false);
        check("Bool", "aws:SecureTransport", &["yes"], false);
        check("Bool", "aws:missing", &["false"], false);
        check("BoolIfExists", "aws:missing", &["false"], true);
        check("Bool", "aws:username", &["true"], false);
        check("BinaryEquals", "kms:CiphertextBlob", &["QUJD"], true);
        check("BinaryEquals", "kms:CiphertextBlob", &["QUJE"], false);
    }

    #[test]
    fn ips_arns_null() {
        check("IpAddress", "aws:SourceIp", &["10.0.0.0/8"], true);
        check("IpAddress", "aws:SourceIp", &["10.1.2.3"], true);
        check("IpAddress", "aws:SourceIp", &["10.1.2.4/32"], false);
        check("IpAddress", "aws:SourceIp", &["192.168.0.0/16", "10.1.0.0/16"], true);
        check("IpAddress", "aws:SourceIp", &["0.0.0.0/0"], true);
        check("IpAddress", "aws:SourceIp", &["2001:db8::/32"], false);
        check("NotIpAddress", "aws:SourceIp", &["192.168.0.0/16"], true);
        check("NotIpAddress", "aws:SourceIp", &["10.0.0.0/8"], false);
        check("NotIpAddress", "aws:SourceIp", &["2001:db8::/32"], true);
        check("NotIpAddress", "aws:SourceIp", &["bogus"], false);
        check("IpAddress", "aws:SourceIpV6", &["2001:db8::/32"], true);
        check("IpAddress", "aws:SourceIpV6", &["2001:db9::/32"], false);
        check("IpAddress", "aws:SourceIpV6", &["2001:db8::1"], true);
        check("IpAddress", "aws:username", &["10.0.0.0/8"], false);
        check("NotIpAddress", "aws:username", &["10.0.0.0/8"], false);
        check("IpAddress", "aws:SourceIp", &["10.0.0.0/33"], false);
        check("ArnEquals", "aws:PrincipalArn", &["arn:aws:iam::111111111111:role/MyRoleA"], true);
        check("ArnLike", "aws:PrincipalArn", &["arn:aws:iam::*:role/My*"], true);
        check("ArnLike", "aws:PrincipalArn", &["arn:aws:iam::111111111111:role/my*"], false);
        check("ArnLike", "aws:PrincipalArn", &["arn:aws:iam::*"], false);
        check("ArnLike", "aws:PrincipalArn", &["arn:*:*:*:*:*"], true);
        check("ArnLike", "aws:PrincipalArn", &["arn:aws:iam:*:role/MyRoleA"], false);
        check("ArnNotLike", "aws:PrincipalArn", &["arn:aws:iam::222222222222:*"], true);
        check("ArnNotEquals", "aws:PrincipalArn", &["arn:aws:iam::111111111111:role/MyRoleA"], false);
        check("ArnNotEquals", "aws:missing", &["arn:aws:iam::111111111111:role/MyRoleA"], true);
        check("ArnLike", "aws:username", &["arn:*:*:*:*:*"], false);
        check("ArnNotLike", "aws:username", &["arn:*:*:*:*:*"], false);
        check("Null", "aws:missing", &["true"], true);
        check("Null", "aws:missing", &["false"], false);
        check("Null", "aws:username", &["false"], true);
        check("Null", "aws:username", &["TRUE"], false);
        check("Null", "aws:NoTags", &["false"], true);
    }

    #[test]
    fn bad_operators() {
        for op in ["StringEq", "ForSomeValues:StringEquals", "Foo:Bar:Baz", ""] {
            assert_eq!(CompiledCondition::compile(op, "k", &[], true), Err(ConditionError::Operator), "{op}");
        }
    }

    #[test]
    fn value_types() {
        #[track_caller]
        fn check(op: &str, values: &[&str], expect: &str) {
            let got = match check_condition(op, values) {
                Ok(()) => "ok".to_owned(),
                Err(ConditionProblem::Operator) => "operator".to_owned(),
                Err(ConditionProblem::Value { value, expected }) => format!("`{value}` is not {expected}"),
            };
            assert_eq!(got, expect, "{op} {values:?}");
        }
        check("StringEquals", &["anything"], "ok");
        check("IpAddress", &["10.0.0.0/8", "2001:db8::1"], "ok");
        check("NotIpAddressIfExists", &["not-a-cidr"], "`not-a-cidr` is not an IP address or CIDR block");
        check("DateLessThan", &["yesterday"], "`yesterday` is not an ISO 8601 date or epoch seconds");
        check("DateLessThan", &["2026-01-01T00:00:00Z", "1700000000"], "ok");
        check("NumericLessThan", &["ten"], "`ten` is not a number");
        check("ForAnyValue:NumericEquals", &["1", "2.5"], "ok");
        check("Bool", &["yes"], "`yes` is not `true` or `false`");
        check("Null", &["TRUE"], "ok");
        check("NullIfExists", &["true"], "operator");
        check("StringEqualz", &["a"], "operator");
        check("ForSome:StringEquals", &["a"], "operator");
        check("NumericEquals", &["${aws:MultiFactorAuthAge}"], "ok");
    }

    #[test]
    fn dates() {
        let check = |text: &str, expect: Option<i64>| assert_eq!(parse_date(text), expect, "{text}");
        check("1970-01-01", Some(0));
        check("1970-01-01T00:00:01Z", Some(1000));
        check("1970-01-01T00:00:01.5Z", Some(1500));
        check("1970-01-01T01:00:00+01:00", Some(0));
        check("1970-01-01T00:00", Some(0));
        check("2000-02-29", Some(951_782_400_000));
        check("1999-02-29", None);
        check("1700000000", Some(1_700_000_000_000));
        check("1970-01-01T24:00:00Z", None);
        check("1970-01-01X", None);
        check("", None);
    }
}

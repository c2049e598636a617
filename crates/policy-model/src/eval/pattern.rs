//! Wildcard patterns with policy variables, compiled once and matched without allocation.
//!
//! A pattern is split at compile time into literal runs, `*` (any run of
//! characters, `/` and `:` included), `?` (one character) and variables
//! (`${aws:username}`, with an optional default `${aws:username, 'none'}`).
//! The common shapes (`*`, an exact string, `prefix*`, `*suffix`) get their
//! own fast paths.

use super::request::{Context, Key, Lookup};

/// How a pattern's text is read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Syntax {
    /// `*` and `?` are wildcards; otherwise they are literal characters.
    pub wildcards: bool,
    /// `${...}` is a policy variable (only in 2012-10-17 documents).
    pub variables: bool,
    /// Letters compare without regard to case.
    pub ignore_case: bool,
}

/// A policy variable: the lowercased context key and its default, if any.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Var {
    key: Key,
    default: Option<Box<str>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Lit(Box<str>),
    Star,
    One,
    Var(Var),
}

#[derive(Debug, Clone, Copy)]
enum Tok<'a> {
    Lit(&'a str),
    Star,
    One,
}

#[derive(Debug, Clone, PartialEq)]
enum Shape {
    Any,
    Exact(Box<str>),
    Prefix(Box<str>),
    Suffix(Box<str>),
    Glob(Box<[Piece]>),
    /// Contains variables: resolved at match time.
    Vars(Box<[Piece]>),
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pattern {
    shape: Shape,
    ignore_case: bool,
}

impl Pattern {
    pub(crate) fn new(text: &str, syntax: Syntax) -> Pattern {
        // A case-insensitive pattern keeps its literals in ASCII lower case, so that text
        // folded the same way once per request compares with plain byte equality.
        let folded = if syntax.ignore_case { text.to_ascii_lowercase() } else { String::new() };
        let text = if syntax.ignore_case { folded.as_str() } else { text };
        // Most patterns are plain text: one allocation, no parse.
        let special = |c: char| (syntax.wildcards && (c == '*' || c == '?')) || (syntax.variables && c == '$');
        if !text.contains(special) {
            let exact = if syntax.ignore_case { folded } else { text.to_owned() };
            return Pattern { shape: Shape::Exact(exact.into_boxed_str()), ignore_case: syntax.ignore_case };
        }
        let pieces = parse(text, syntax);
        let shape = shape(pieces);
        Pattern { shape, ignore_case: syntax.ignore_case }
    }

    /// Whether `text` matches; `None` when a variable has no value and no default,
    /// which AWS treats as a pattern that matches nothing.
    pub(crate) fn matches(&self, text: &str, ctx: &Context) -> Option<bool> {
        self.matches_with(text, ctx, self.ignore_case)
    }

    /// Like [`Pattern::matches`] for a case-insensitive pattern, when `text` is already in
    /// ASCII lower case (action names, ARN partitions, services, regions and accounts).
    pub(crate) fn matches_folded(&self, text: &str, ctx: &Context) -> Option<bool> {
        let vars = matches!(self.shape, Shape::Vars(_));
        self.matches_with(text, ctx, self.ignore_case && vars)
    }

    fn matches_with(&self, text: &str, ctx: &Context, ci: bool) -> Option<bool> {
        Some(match &self.shape {
            Shape::Any => true,
            Shape::Exact(s) => str_eq(s, text, ci),
            Shape::Prefix(p) => starts_with(text, p, ci).is_some(),
            Shape::Suffix(s) => ends_with(text, s, ci),
            Shape::Glob(pieces) | Shape::Vars(pieces) => {
                let mut buf = [Tok::Star; INLINE];
                if pieces.len() <= INLINE {
                    for (slot, piece) in buf.iter_mut().zip(pieces.iter()) {
                        *slot = tok(piece, ctx)?;
                    }
                    glob(&buf[..pieces.len()], text, ci)
                } else {
                    let toks: Option<Vec<Tok<'_>>> = pieces.iter().map(|p| tok(p, ctx)).collect();
                    glob(&toks?, text, ci)
                }
            }
        })
    }

    /// The text with variables resolved, for values that are compared after
    /// substitution (`Bool`). `None` when a variable cannot be resolved.
    pub(crate) fn resolve<'a>(&'a self, ctx: &'a Context) -> Option<std::borrow::Cow<'a, str>> {
        use std::borrow::Cow;
        match &self.shape {
            Shape::Exact(s) => Some(Cow::Borrowed(s)),
            Shape::Any => Some(Cow::Borrowed("*")),
            Shape::Prefix(p) => Some(Cow::Owned(format!("{p}*"))),
            Shape::Suffix(s) => Some(Cow::Owned(format!("*{s}"))),
            Shape::Glob(pieces) | Shape::Vars(pieces) => {
                let mut out = String::new();
                for piece in pieces.iter() {
                    match tok(piece, ctx)? {
                        Tok::Lit(s) => out.push_str(s),
                        Tok::Star => out.push('*'),
                        Tok::One => out.push('?'),
                    }
                }
                Some(Cow::Owned(out))
            }
        }
    }
}

/// One unit of a glob: a character, `?` (any one character) or `*` (any run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Atom {
    Ch(char),
    One,
    Star,
}

/// The atoms of a request's text, where `*` and `?` are wildcards.
pub(crate) fn request_atoms(text: &str) -> Vec<Atom> {
    text.chars()
        .map(|c| match c {
            '*' => Atom::Star,
            '?' => Atom::One,
            c => Atom::Ch(c),
        })
        .collect()
}

impl Pattern {
    /// The pattern as atoms after `prefix`, with variables resolved; `None` when a variable
    /// has no value (the pattern then matches nothing).
    pub(crate) fn atoms(&self, prefix: &str, ctx: &Context) -> Option<Vec<Atom>> {
        let mut out: Vec<Atom> = prefix.chars().map(Atom::Ch).collect();
        let lit = |out: &mut Vec<Atom>, s: &str| out.extend(s.chars().map(Atom::Ch));
        match &self.shape {
            Shape::Any => out.push(Atom::Star),
            Shape::Exact(s) => lit(&mut out, s),
            Shape::Prefix(p) => {
                lit(&mut out, p);
                out.push(Atom::Star);
            }
            Shape::Suffix(s) => {
                out.push(Atom::Star);
                lit(&mut out, s);
            }
            Shape::Glob(pieces) | Shape::Vars(pieces) => {
                for piece in pieces.iter() {
                    match tok(piece, ctx)? {
                        Tok::Lit(s) => lit(&mut out, s),
                        Tok::Star => out.push(Atom::Star),
                        Tok::One => out.push(Atom::One),
                    }
                }
            }
        }
        Some(out)
    }
}

fn atom_chars_meet(a: char, b: char, ci: bool) -> bool {
    char_eq(a, b, ci)
}

/// Whether some text matches both globs. A search over pairs of positions: `*` may match
/// nothing (advance past it) or one more character of the other side (stay on it).
pub(crate) fn intersect(a: &[Atom], b: &[Atom], ci: bool) -> bool {
    let width = b.len() + 1;
    let mut seen = vec![false; (a.len() + 1) * width];
    let mut stack = vec![(0usize, 0usize)];
    while let Some((i, j)) = stack.pop() {
        let slot = i * width + j;
        if seen[slot] {
            continue;
        }
        seen[slot] = true;
        let (x, y) = (a.get(i).copied(), b.get(j).copied());
        match (x, y) {
            (None, None) => return true,
            (Some(Atom::Star), _) => {
                stack.push((i + 1, j));
                if y.is_some() {
                    stack.push((i, j + 1));
                }
            }
            (_, Some(Atom::Star)) => {
                stack.push((i, j + 1));
                if x.is_some() {
                    stack.push((i + 1, j));
                }
            }
            (Some(p), Some(q)) => {
                let meet = match (p, q) {
                    (Atom::Ch(p), Atom::Ch(q)) => atom_chars_meet(p, q, ci),
                    _ => true,
                };
                if meet {
                    stack.push((i + 1, j + 1));
                }
            }
            _ => {}
        }
    }
    false
}

/// Whether every text that `inner` matches is matched by `outer`: `outer`'s `*` takes any
/// run of `inner`'s atoms, its `?` one character or `?` of `inner`, and `inner`'s `*` only
/// an `outer` `*`. This is exact for globs without a `?` next to a `*` and errs towards
/// "not covered" otherwise.
pub(crate) fn covers(outer: &[Atom], inner: &[Atom], ci: bool) -> bool {
    let width = inner.len() + 1;
    let mut seen = vec![false; (outer.len() + 1) * width];
    let mut stack = vec![(0usize, 0usize)];
    while let Some((i, j)) = stack.pop() {
        let slot = i * width + j;
        if seen[slot] {
            continue;
        }
        seen[slot] = true;
        match (outer.get(i).copied(), inner.get(j).copied()) {
            (None, None) => return true,
            (Some(Atom::Star), y) => {
                stack.push((i + 1, j));
                if y.is_some() {
                    stack.push((i, j + 1));
                }
            }
            (Some(Atom::One), Some(Atom::Ch(_) | Atom::One)) => stack.push((i + 1, j + 1)),
            (Some(Atom::Ch(p)), Some(Atom::Ch(q))) if atom_chars_meet(p, q, ci) => stack.push((i + 1, j + 1)),
            _ => {}
        }
    }
    false
}

const INLINE: usize = 16;

fn tok<'a>(piece: &'a Piece, ctx: &'a Context) -> Option<Tok<'a>> {
    Some(match piece {
        Piece::Lit(s) => Tok::Lit(s),
        Piece::Star => Tok::Star,
        Piece::One => Tok::One,
        Piece::Var(var) => Tok::Lit(resolve_var(var, ctx)?),
    })
}

fn resolve_var<'a>(var: &'a Var, ctx: &'a Context) -> Option<&'a str> {
    match ctx.lookup(&var.key) {
        Lookup::Single(s) if !s.is_empty() => Some(s),
        _ => var.default.as_deref(),
    }
}

fn parse(text: &str, syntax: Syntax) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if syntax.wildcards && (c == '*' || c == '?') {
            flush(&mut lit, &mut pieces);
            pieces.push(if c == '*' { Piece::Star } else { Piece::One });
            rest = &rest[1..];
            continue;
        }
        if syntax.variables && rest.starts_with("${") {
            if let Some(end) = rest.find('}') {
                let inner = &rest[2..end];
                rest = &rest[end + 1..];
                match inner {
                    "*" | "?" | "$" => lit.push_str(inner),
                    _ => {
                        flush(&mut lit, &mut pieces);
                        pieces.push(Piece::Var(parse_var(inner)));
                    }
                }
                continue;
            }
        }
        lit.push(c);
        rest = &rest[c.len_utf8()..];
    }
    flush(&mut lit, &mut pieces);
    pieces
}

fn parse_var(inner: &str) -> Var {
    let (name, default) = match inner.split_once(',') {
        Some((name, default)) => {
            let default = default.trim();
            let quoted = default.len() >= 2 && default.starts_with('\'') && default.ends_with('\'');
            (name, quoted.then(|| default[1..default.len() - 1].into()))
        }
        None => (inner, None),
    };
    Var { key: Key::new(name.trim()), default }
}

fn flush(lit: &mut String, pieces: &mut Vec<Piece>) {
    if !lit.is_empty() {
        pieces.push(Piece::Lit(std::mem::take(lit).into()));
    }
}

fn shape(pieces: Vec<Piece>) -> Shape {
    let has_vars = pieces.iter().any(|p| matches!(p, Piece::Var(_)));
    if has_vars {
        return Shape::Vars(pieces.into());
    }
    let mut pieces = pieces;
    match pieces.as_mut_slice() {
        [] => Shape::Exact("".into()),
        [Piece::Star] => Shape::Any,
        [Piece::Lit(s)] => Shape::Exact(std::mem::take(s)),
        [Piece::Lit(s), Piece::Star] => Shape::Prefix(std::mem::take(s)),
        [Piece::Star, Piece::Lit(s)] => Shape::Suffix(std::mem::take(s)),
        _ => Shape::Glob(pieces.into()),
    }
}

fn char_eq(a: char, b: char, ci: bool) -> bool {
    a == b || (ci && (a.eq_ignore_ascii_case(&b) || (!a.is_ascii() && a.to_lowercase().eq(b.to_lowercase()))))
}

fn str_eq(a: &str, b: &str, ci: bool) -> bool {
    if !ci {
        return a == b;
    }
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    let mut x = a.chars();
    let mut y = b.chars();
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some(p), Some(q)) if char_eq(p, q, true) => {}
            _ => return false,
        }
    }
}

/// The rest of `text` after `prefix`, if it starts with it.
fn starts_with<'t>(text: &'t str, prefix: &str, ci: bool) -> Option<&'t str> {
    if !ci || (prefix.is_ascii() && text.is_ascii()) {
        if text.len() < prefix.len() || !text.is_char_boundary(prefix.len()) {
            return None;
        }
        let (head, tail) = text.split_at(prefix.len());
        return str_eq(head, prefix, ci).then_some(tail);
    }
    let mut chars = text.char_indices();
    for p in prefix.chars() {
        match chars.next() {
            Some((_, t)) if char_eq(p, t, true) => {}
            _ => return None,
        }
    }
    Some(chars.next().map_or("", |(i, _)| &text[i..]))
}

fn ends_with(text: &str, suffix: &str, ci: bool) -> bool {
    if !ci || (suffix.is_ascii() && text.is_ascii()) {
        if text.len() < suffix.len() || !text.is_char_boundary(text.len() - suffix.len()) {
            return false;
        }
        return str_eq(&text[text.len() - suffix.len()..], suffix, ci);
    }
    let mut t = text.chars().rev();
    suffix.chars().rev().all(|s| t.next().is_some_and(|c| char_eq(s, c, true)))
}

/// Whether `text` matches `pattern`, read with wildcards and without variables, letters
/// compared without regard to case; `None` when the pattern has more than [`INLINE`]
/// pieces. Nothing is allocated: the pattern is split on the stack, where [`Pattern::new`]
/// keeps it. For deciding whether a statement can apply before compiling it.
pub(crate) fn wildcard_matches_ascii(pattern: &str, text: &str) -> Option<bool> {
    let mut toks = [Tok::Star; INLINE];
    let mut n = 0;
    let mut lit = 0;
    let mut pieces = pattern.match_indices(['*', '?']).peekable();
    loop {
        let (at, wild) = pieces.peek().map_or((pattern.len(), None), |&(i, w)| (i, Some(w)));
        if lit < at {
            *toks.get_mut(n)? = Tok::Lit(&pattern[lit..at]);
            n += 1;
        }
        let Some(wild) = wild else { break };
        *toks.get_mut(n)? = if wild == "*" { Tok::Star } else { Tok::One };
        n += 1;
        lit = at + 1;
        pieces.next();
    }
    Some(glob(&toks[..n], text, true))
}

/// Glob matching with single-star backtracking: `*` matches any run, `?` one character.
fn glob(toks: &[Tok<'_>], text: &str, ci: bool) -> bool {
    // Pattern position: token index and byte offset inside a literal token.
    let mut p = (0usize, 0usize);
    let mut t = 0usize;
    let mut star: Option<((usize, usize), usize)> = None;
    loop {
        // Skip finished literal tokens.
        while let Some(Tok::Lit(s)) = toks.get(p.0) {
            if p.1 < s.len() {
                break;
            }
            p = (p.0 + 1, 0);
        }
        let next_char = text[t..].chars().next();
        let advanced = match toks.get(p.0) {
            Some(Tok::Star) => {
                p = (p.0 + 1, 0);
                star = Some((p, t));
                continue;
            }
            Some(Tok::One) => match next_char {
                Some(c) => {
                    p = (p.0 + 1, 0);
                    t += c.len_utf8();
                    true
                }
                None => false,
            },
            Some(Tok::Lit(s)) => {
                let pc = s[p.1..].chars().next();
                match (pc, next_char) {
                    (Some(a), Some(b)) if char_eq(a, b, ci) => {
                        p.1 += a.len_utf8();
                        t += b.len_utf8();
                        true
                    }
                    _ => false,
                }
            }
            None => {
                if t == text.len() {
                    return true;
                }
                false
            }
        };
        if advanced {
            continue;
        }
        match star {
            Some((sp, st)) => match text[st..].chars().next() {
                Some(c) => {
                    let st = st + c.len_utf8();
                    star = Some((sp, st));
                    p = sp;
                    t = st;
                }
                None => return false,
            },
            None => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::request::Context;

    #[track_caller]
    fn check(pattern: &str, syntax: &str, text: &str, expect: Option<bool>) {
        let syntax = Syntax {
            wildcards: syntax.contains('w'),
            variables: syntax.contains('v'),
            ignore_case: syntax.contains('i'),
        };
        let ctx = Context::new()
            .with("aws:username", "alice")
            .with("aws:PrincipalTag/team", "Data")
            .with_values("aws:TagKeys", ["a", "b"]);
        assert_eq!(Pattern::new(pattern, syntax).matches(text, &ctx), expect, "{pattern} ~ {text}");
    }

    #[test]
    fn patterns() {
        check("*", "w", "", Some(true));
        check("*", "w", "anything/at:all", Some(true));
        check("*", "", "*", Some(true));
        check("*", "", "x", Some(false));
        check("abc", "w", "abc", Some(true));
        check("abc", "w", "ABC", Some(false));
        check("abc", "wi", "ABC", Some(true));
        check("s3:Get*", "wi", "S3:GETOBJECT", Some(true));
        check("*Object", "w", "GetObject", Some(true));
        check("*Object", "w", "GetObjects", Some(false));
        check("Get?bject", "w", "GetObject", Some(true));
        check("Get?bject", "w", "Getbject", Some(false));
        check("a*b*c", "w", "aXXbYYc", Some(true));
        check("a*b*c", "w", "aXXbYY", Some(false));
        check("a*b?c", "w", "abbbbxc", Some(true));
        check("*a*a*a*", "w", "aaa", Some(true));
        check("*a*a*a*", "w", "aa", Some(false));
        check("??", "w", "éa", Some(true));
        check("ÉA*", "wi", "éab", Some(true));
        check("home/${aws:username}/*", "wv", "home/alice/x", Some(true));
        check("home/${aws:username}/*", "wv", "home/bob/x", Some(false));
        check("home/${aws:username}/*", "w", "home/${aws:username}/x", Some(true));
        check("${aws:PRINCIPALTAG/TEAM}", "v", "Data", Some(true));
        check("${aws:userid}", "v", "x", None);
        check("${aws:userid, 'none'}", "v", "none", Some(true));
        check("${aws:userid,'none'}", "v", "none", Some(true));
        check("${aws:TagKeys}", "v", "a", None);
        check("${aws:TagKeys, 'z'}", "v", "z", Some(true));
        check("a${*}b", "wv", "a*b", Some(true));
        check("a${*}b", "wv", "axb", Some(false));
        check("a${?}${$}", "wv", "a?$", Some(true));
        check("a${", "wv", "a${", Some(true));
        check("", "w", "", Some(true));
        check("", "w", "x", Some(false));
    }

    /// `meet(a, b, expect_intersect, expect_b_covers_a)`.
    #[track_caller]
    fn meet(a: &str, b: &str, intersects: bool, covered: bool) {
        let (x, y) = (request_atoms(a), request_atoms(b));
        assert_eq!(intersect(&x, &y, false), intersects, "{a} meets {b}");
        assert_eq!(intersect(&y, &x, false), intersects, "{b} meets {a}");
        assert_eq!(covers(&y, &x, false), covered, "{b} covers {a}");
    }

    #[test]
    fn intersections() {
        meet("b/*", "b/data/*", true, false);
        meet("b/data/*", "b/*", true, true);
        meet("b/*", "c/*", false, false);
        meet("*", "anything", true, false);
        meet("anything", "*", true, true);
        meet("*.txt", "data/*", true, false);
        meet("*.txt", "*.csv", false, false);
        meet("a?c", "abc", true, false);
        meet("abc", "a?c", true, true);
        meet("a?c", "a??", true, true);
        meet("a?c", "ab", false, false);
        meet("a*", "*z", true, false);
        meet("ab*", "ba*", false, false);
        meet("x", "x", true, true);
        meet("", "*", true, true);
        meet("", "?", false, false);
        meet("a*b*c", "a*c", true, true);
        meet("a*c", "a*b*c", true, false);
        meet("??", "*", true, true);
        meet("*", "??*", true, false);
        assert!(intersect(&request_atoms("ABC"), &request_atoms("a*"), true));
        assert!(!intersect(&request_atoms("ABC"), &request_atoms("a*"), false));
    }
}

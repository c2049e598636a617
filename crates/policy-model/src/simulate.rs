//! The `simulate` case format (the repository's `docs/simulate.md`): JSON cases in, decisions out.
//!
//! [`run`] takes the whole input text and writes the results to a writer the caller owns:
//! - one case (an object) gives one result; an array gives one result per case, in order;
//! - each case is read straight into a typed `Case`-shaped struct that refuses unknown
//!   fields; a malformed case gives `{"error": "..."}` naming the case index and the field,
//!   and the rest of the batch still runs;
//! - each distinct policy (by its text and its place in the case) is compiled and checked
//!   once per batch;
//! - a policy that AWS would refuse when it is written ([`crate::validate::refusals`]) makes
//!   its case an error that names the case, the policy, the statement and the field;
//! - results are written as they are decided, JSON or one line of text per case.
//!
//! ```
//! use policy_model::simulate::{run, Format};
//! let case = r#"{"principal": "arn:aws:iam::111111111111:role/R", "action": "s3:GetObject",
//!   "resource": "arn:aws:s3:::b/k", "resource_account": "111111111111",
//!   "identity_policies": [{"Version": "2012-10-17",
//!     "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}]}"#;
//! let mut out = Vec::new();
//! run(case, Format::Text, &mut out).unwrap();
//! assert_eq!(String::from_utf8(out).unwrap(), "case 0: allowed (allowed by an identity policy) identity_policies[0] `0` Allow\n");
//! ```

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::io::{self, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::de::{self, Deserialize, Deserializer};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::value::RawValue;

use crate::document::PolicyDocument;
use crate::eval::{self, CompiledPolicy, Context, Decision, PolicySet, Request, SideResult, StatementRef, Value};
use crate::validate::{refusals, DocKind};

/// The input was not JSON at all, or the results could not be written; errors inside a
/// case become error results instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimulateError {
    /// The input is neither a JSON case object nor an array of them.
    #[error("input is not JSON: {0}")]
    Json(serde_json::Error),
    /// Writing to the caller's writer failed.
    #[error("cannot write the results: {0}")]
    Write(#[from] io::Error),
}

/// How results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// The result objects of `docs/simulate.md`: one object, or an array for an array of cases.
    #[default]
    Json,
    /// One line per case: `case <i>: <decision> (<reason>) <matched statements>`.
    Text,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "json" => Ok(Format::Json),
            "text" => Ok(Format::Text),
            other => Err(format!("unknown output `{other}`: use `json` or `text`")),
        }
    }
}

/// What a run decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Cases read, with or without an error.
    pub cases: usize,
    /// Cases answered with an error.
    pub errors: usize,
    /// Distinct policies compiled.
    pub compiled: usize,
}

/// Decides every case in `input` and writes the results to `out`.
///
/// A large batch is decided on every core: the cases are split into chunks in order, each
/// chunk's results are written to its own buffer, and the buffers are written in order, so
/// the output is the same whatever the number of threads.
pub fn run(input: &str, format: Format, out: &mut dyn Write) -> Result<Summary, SimulateError> {
    run_on(input, format, out, None)
}

/// [`run`] on `threads` threads, or as many as [`workers`] picks.
fn run_on(input: &str, format: Format, out: &mut dyn Write, threads: Option<usize>) -> Result<Summary, SimulateError> {
    let batch = input.trim_start().starts_with('[');
    let parsed = parse_cases(input, batch)?;
    let workers = threads.unwrap_or_else(|| workers(parsed.len()));
    // Each policy's key (its slot and text, hashed) is noted, so that only the policies that
    // recur are compiled for the batch: a policy used once is compiled for its case's request
    // alone, used and dropped with the case.
    let mut keys: Vec<u64> = in_chunks(parsed.iter().flatten().collect(), workers, |_, cases| {
        let mut keys = Vec::new();
        for case in cases {
            for_each_policy(case, &mut |slot, raw| keys.push(policy_key(slot, &Source::new(raw.get()))));
        }
        keys
    })
    .concat();
    keys.sort_unstable();
    let repeated: HashSet<u64> = keys.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect();
    drop(keys);
    let mut recurring: Vec<(Slot, Source<'_>)> = Vec::new();
    if !repeated.is_empty() {
        let mut seen = HashSet::new();
        for case in parsed.iter().flatten() {
            for_each_policy(case, &mut |slot, raw| {
                let text = Source::new(raw.get());
                if repeated.contains(&policy_key(slot, &text)) && seen.insert((slot, text)) {
                    recurring.push((slot, text));
                }
            });
        }
    }
    let compiled = in_chunks(recurring.clone(), workers, |_, keys| {
        keys.into_iter().map(|(slot, text)| compile(slot, text.text, None)).collect::<Vec<_>>()
    });
    let shared: Shared<'_> = recurring.into_iter().zip(compiled.into_iter().flatten()).collect();
    let decided = in_chunks(parsed, workers, |start, chunk| decide_chunk(start, chunk, &shared, format, batch));
    let mut out = io::BufWriter::with_capacity(64 * 1024, out);
    let mut summary = Summary { compiled: shared.len(), ..Summary::default() };
    if batch && format == Format::Json {
        out.write_all(b"[")?;
    }
    for chunk in decided {
        let chunk = chunk?;
        out.write_all(&chunk.text)?;
        summary.cases += chunk.cases;
        summary.errors += chunk.errors;
        summary.compiled += chunk.compiled;
    }
    if batch && format == Format::Json {
        out.write_all(b"]")?;
    }
    if format == Format::Json {
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(summary)
}

/// How many threads decide a batch of `cases`: one for a small batch, else one per core.
fn workers(cases: usize) -> usize {
    const PER_THREAD: usize = 256;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.min(cases / PER_THREAD).clamp(1, 16)
}

/// `f` on consecutive chunks of `items`, given each chunk's first index, on up to `workers`
/// threads; the results in the chunks' order. Chunks are small, so a thread slowed by a
/// busy machine holds up little.
fn in_chunks<T: Send, R: Send>(items: Vec<T>, workers: usize, f: impl Fn(usize, Vec<T>) -> R + Sync) -> Vec<R> {
    if workers <= 1 {
        return vec![f(0, items)];
    }
    let size = items.len().div_ceil(workers * 8).max(1);
    let mut chunks = Vec::new();
    let mut items = items.into_iter();
    let mut start = 0;
    loop {
        let chunk: Vec<T> = items.by_ref().take(size).collect();
        if chunk.is_empty() {
            break;
        }
        let len = chunk.len();
        chunks.push(Mutex::new(Some((start, chunk))));
        start += len;
    }
    let results: Vec<Mutex<Option<R>>> = chunks.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some(slot) = chunks.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let Some((start, chunk)) = slot.lock().ok().and_then(|mut c| c.take()) else { continue };
                    let result = f(start, chunk);
                    let i = start / size;
                    if let Some(mut r) = results.get(i).and_then(|r| r.lock().ok()) {
                        *r = Some(result);
                    }
                }
            });
        }
    });
    results.into_iter().filter_map(|r| r.into_inner().ok().flatten()).collect()
}

/// One chunk's results, written out.
struct Chunk {
    text: Vec<u8>,
    cases: usize,
    errors: usize,
    compiled: usize,
}

/// Decides the cases of one chunk, whose first case has index `start`, into a buffer.
fn decide_chunk(
    start: usize,
    cases: Vec<Result<Case<'_>, String>>,
    shared: &Shared<'_>,
    format: Format,
    batch: bool,
) -> io::Result<Chunk> {
    let mut chunk = Chunk { text: Vec::with_capacity(cases.len() * 256), cases: cases.len(), errors: 0, compiled: 0 };
    let out = &mut chunk.text;
    for (i, case) in (start..).zip(cases) {
        if batch && format == Format::Json && i > 0 {
            out.push(b',');
        }
        let mut local = Vec::new();
        let prepared = case.and_then(|case| prepare_case(case, shared, &mut local));
        chunk.compiled += local.len();
        match (format, prepared) {
            (format, Ok((request, set))) => {
                let policies = set.resolve(shared, &local);
                let d = eval::evaluate(&request, &policies);
                match format {
                    Format::Json => serde_json::to_writer(&mut *out, &Out(&d)).map_err(io::Error::from)?,
                    Format::Text => writeln!(out, "case {i}: {}", TextLine(&d))?,
                }
            }
            (Format::Json, Err(message)) => {
                chunk.errors += 1;
                let message = format!("case {i}: {message}");
                serde_json::to_writer(&mut *out, &ErrorOut(&message)).map_err(io::Error::from)?;
            }
            (Format::Text, Err(message)) => {
                chunk.errors += 1;
                writeln!(out, "case {i}: error: {message}")?;
            }
        }
    }
    Ok(chunk)
}

/// [`run`] into a string, JSON results.
pub fn simulate_json(input: &str) -> Result<String, SimulateError> {
    let mut out = Vec::new();
    run(input, Format::Json, &mut out)?;
    Ok(String::from_utf8_lossy(&out).trim_end().to_owned())
}

/// A string that borrows from the input unless it holds escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// The context object: condition keys to a string, number, boolean or an array of them.
struct CaseContext(Context);

impl<'de> Deserialize<'de> for CaseContext {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Map;
        impl<'de> de::Visitor<'de> for Map {
            type Value = CaseContext;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of condition keys")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<CaseContext, A::Error> {
                let mut ctx = Context::new();
                while let Some(key) = map.next_key::<Text<'de>>()? {
                    let value = map.next_value::<ContextValue>().map_err(|_| {
                        de::Error::custom(format_args!(
                            "`{}` must be a string, number, boolean or an array of them",
                            key.0
                        ))
                    })?;
                    ctx.set(&key.0, value.0);
                }
                Ok(CaseContext(ctx))
            }
        }
        d.deserialize_map(Map)
    }
}

struct ContextValue(Value);
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(Scalar::visit(v)))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for ContextValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = ContextValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number, boolean or an array of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ContextValue, E> {
                Ok(ContextValue(Value::Single(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<ContextValue, E> {
                Ok(ContextValue(Value::Single(v)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ContextValue, E> {
                Ok(ContextValue(Value::Single(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ContextValue, E> {
                Ok(ContextValue(Value::Single(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ContextValue, E> {
                Ok(ContextValue(Value::Single(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ContextValue, E> {
                Ok(ContextValue(Value::Single(Scalar::visit(v))))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<ContextValue, A::Error> {
                let mut values = Vec::new();
                while let Some(Scalar(v)) = seq.next_element()? {
                    values.push(v);
                }
                Ok(ContextValue(Value::Multi(values)))
            }
        }
        d.deserialize_any(V)
    }
}

impl Scalar {
    /// A float as serde_json writes it.
    fn visit(v: f64) -> String {
        serde_json::Number::from_f64(v).map_or_else(|| v.to_string(), |n| n.to_string())
    }
}

/// Drops the ` at line L column C` that serde_json adds, so that a wrapped error carries
/// its position once.
fn without_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(i) if message[i..].contains(" column ") => &message[..i],
        _ => message,
    }
}

/// One deserializer per field that names the field in its errors.
macro_rules! named {
    ($($name:ident: $ty:ty),* $(,)?) => {
        mod named {
            use super::*;
            $(
                pub(super) fn $name<'de, D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
                    <$ty>::deserialize(d).map_err(|e| {
                        let message = e.to_string();
                        de::Error::custom(format_args!("`{}`: {}", stringify!($name), without_position(&message)))
                    })
                }
            )*
        }
    };
}

named! {
    principal: Text<'de>,
    action: Text<'de>,
    resource: Text<'de>,
    resource_account: Option<Text<'de>>,
    context: Option<&'de RawValue>,
    identity_policies: Option<Vec<&'de RawValue>>,
    resource_policy: Option<&'de RawValue>,
    permission_boundaries: Option<Vec<&'de RawValue>>,
    session_policy: Option<&'de RawValue>,
    scps: Option<Vec<Vec<&'de RawValue>>>,
    rcps: Option<Vec<Vec<&'de RawValue>>>,
}

/// One case of the `simulate` format, read straight from the text; policies stay raw JSON
/// until the cache compiles them.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Case<'a> {
    #[serde(borrow, deserialize_with = "named::principal")]
    principal: Text<'a>,
    #[serde(borrow, deserialize_with = "named::action")]
    action: Text<'a>,
    #[serde(borrow, deserialize_with = "named::resource")]
    resource: Text<'a>,
    #[serde(borrow, default, deserialize_with = "named::resource_account")]
    resource_account: Option<Text<'a>>,
    /// Read when the case is decided, on the deciding threads rather than in the one serial
    /// pass over the batch.
    #[serde(borrow, default, deserialize_with = "named::context")]
    context: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "named::identity_policies")]
    identity_policies: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default, deserialize_with = "named::resource_policy")]
    resource_policy: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "named::permission_boundaries")]
    permission_boundaries: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default, deserialize_with = "named::session_policy")]
    session_policy: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "named::scps")]
    scps: Option<Vec<Vec<&'a RawValue>>>,
    #[serde(borrow, default, deserialize_with = "named::rcps")]
    rcps: Option<Vec<Vec<&'a RawValue>>>,
}

/// Where a policy sits in its case; with its text, the cache key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Slot {
    Identity(usize),
    Resource(DocKind),
    Boundary(usize),
    Session,
    Scp(usize, usize),
    Rcp(usize, usize),
}

impl Slot {
    fn kind(self) -> DocKind {
        match self {
            Slot::Identity(_) | Slot::Boundary(_) | Slot::Session => DocKind::Identity { managed: true },
            Slot::Resource(kind) => kind,
            Slot::Scp(..) => DocKind::Scp,
            Slot::Rcp(..) => DocKind::Rcp,
        }
    }
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Slot::Identity(i) => write!(f, "identity_policies[{i}]"),
            Slot::Resource(_) => f.write_str("resource_policy"),
            Slot::Boundary(i) => write!(f, "permission_boundaries[{i}]"),
            Slot::Session => f.write_str("session_policy"),
            Slot::Scp(l, i) => write!(f, "scps[{l}][{i}]"),
            Slot::Rcp(l, i) => write!(f, "rcps[{l}][{i}]"),
        }
    }
}

/// A policy's source text as a cache key, with its hash computed once: over every byte,
/// eight at a time, with FxHash's step (rotate, xor a word, multiply).
#[derive(Debug, Clone, Copy)]
struct Source<'a> {
    text: &'a str,
    hash: u64,
}

impl<'a> Source<'a> {
    fn new(text: &'a str) -> Source<'a> {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let bytes = text.as_bytes();
        let mut h = bytes.len() as u64;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
        Source { text, hash: h }
    }
}

impl PartialEq for Source<'_> {
    fn eq(&self, other: &Source<'_>) -> bool {
        self.hash == other.hash && self.text == other.text
    }
}

impl Eq for Source<'_> {}

impl Hash for Source<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// A policy's slot and text as one number: two policies with the same key are compiled once
/// for the batch (a rare collision of different policies only compiles both for the batch).
fn policy_key(slot: Slot, text: &Source<'_>) -> u64 {
    std::hash::BuildHasher::hash_one(
        &std::hash::BuildHasherDefault::<std::hash::DefaultHasher>::default(),
        (slot, text),
    )
}

/// The policies that more than one case of the batch holds, each compiled and checked once,
/// by slot and text.
type Shared<'a> = HashMap<(Slot, Source<'a>), Result<CompiledPolicy, String>>;

/// Where a case's compiled policy is kept: among those that recur in the batch, or with the
/// case.
#[derive(Clone, Copy)]
enum PolicyRef<'a> {
    Shared(Slot, Source<'a>),
    Local(usize),
}

/// The policies of one case.
struct CaseSet<'a> {
    identity: Vec<PolicyRef<'a>>,
    resource: Option<PolicyRef<'a>>,
    boundaries: Vec<PolicyRef<'a>>,
    session: Option<PolicyRef<'a>>,
    scps: Vec<Vec<PolicyRef<'a>>>,
    rcps: Vec<Vec<PolicyRef<'a>>>,
}

impl<'a> CaseSet<'a> {
    fn resolve<'s>(&self, shared: &'s Shared<'a>, local: &'s [CompiledPolicy]) -> PolicySet<'s> {
        let get = |r: PolicyRef<'a>| match r {
            PolicyRef::Shared(slot, text) => shared.get(&(slot, text)).and_then(|p| p.as_ref().ok()),
            PolicyRef::Local(i) => local.get(i),
        };
        let list = |keys: &[PolicyRef<'a>]| keys.iter().filter_map(|&k| get(k)).collect();
        PolicySet {
            identity: list(&self.identity),
            resource: self.resource.and_then(get),
            boundaries: list(&self.boundaries),
            session: self.session.and_then(get),
            scps: self.scps.iter().map(|l| list(l)).collect(),
            rcps: self.rcps.iter().map(|l| list(l)).collect(),
        }
    }
}

/// The policy at `slot` for a case: the batch's compiled copy when it recurs, else compiled
/// now, for `request` alone, into `local`. The error names the policy.
fn ensure<'a>(
    slot: Slot,
    raw: &'a RawValue,
    shared: &Shared<'a>,
    request: &Request,
    local: &mut Vec<CompiledPolicy>,
) -> Result<PolicyRef<'a>, String> {
    // With no recurring policy in the batch, a policy's text need not be hashed again.
    if !shared.is_empty() {
        let text = Source::new(raw.get());
        match shared.get(&(slot, text)) {
            Some(Ok(_)) => return Ok(PolicyRef::Shared(slot, text)),
            Some(Err(e)) => return Err(e.clone()),
            None => {}
        }
    }
    local.push(compile(slot, raw.get(), Some(request))?);
    Ok(PolicyRef::Local(local.len() - 1))
}

/// Reads and checks a policy, then compiles it: whole, or only the statements that can
/// apply to `request` when it decides that one request.
fn compile(slot: Slot, text: &str, request: Option<&Request>) -> Result<CompiledPolicy, String> {
    let doc: PolicyDocument = serde_json::from_str(text).map_err(|e| format!("`{slot}`: {e}"))?;
    let refused = refusals(&doc, slot.kind());
    if !refused.is_empty() {
        let list: Vec<String> = refused.iter().map(|f| format!("{}: {}", f.path, f.message)).collect();
        return Err(format!("`{slot}` would be refused by AWS: {}", list.join("; ")));
    }
    let compiled = match request {
        Some(request) => CompiledPolicy::compile_for(&doc, request),
        None => CompiledPolicy::compile(&doc),
    };
    compiled.map(|p| p.labeled(slot.to_string())).map_err(|e| format!("`{slot}`: {e}"))
}

/// The kind of document a resource policy is, from the resource it guards.
fn resource_kind(resource: &str) -> DocKind {
    let mut parts = resource.splitn(6, ':');
    let (service, rest) = (parts.nth(2), parts.nth(2));
    match (service, rest) {
        (Some("iam"), Some(rest)) if rest.starts_with("role/") => DocKind::Trust,
        (Some("kms"), Some(rest)) if rest.starts_with("key/") => DocKind::KmsKey,
        _ => DocKind::Bucket,
    }
}

/// Reads the cases: the whole array in one pass when every case is well formed, else each
/// case on its own, so that a malformed one becomes its own error.
fn parse_cases(input: &str, batch: bool) -> Result<Vec<Result<Case<'_>, String>>, SimulateError> {
    if !batch {
        let raw: &RawValue = serde_json::from_str(input).map_err(SimulateError::Json)?;
        return Ok(vec![parse_case(raw.get())]);
    }
    if let Ok(cases) = serde_json::from_str::<Vec<Case<'_>>>(input) {
        return Ok(cases.into_iter().map(Ok).collect());
    }
    let cases: Vec<&RawValue> = serde_json::from_str(input).map_err(SimulateError::Json)?;
    Ok(cases.into_iter().map(|raw| parse_case(raw.get())).collect())
}

/// Reads one case.
fn parse_case(text: &str) -> Result<Case<'_>, String> {
    if !text.starts_with('{') {
        return Err("a case must be a JSON object".to_owned());
    }
    serde_json::from_str(text).map_err(|e| e.to_string())
}

/// Every policy of a case with its slot, in the case's order.
fn for_each_policy<'a>(case: &Case<'a>, f: &mut dyn FnMut(Slot, &'a RawValue)) {
    for (i, raw) in case.identity_policies.iter().flatten().enumerate() {
        f(Slot::Identity(i), raw);
    }
    if let Some(raw) = case.resource_policy {
        f(Slot::Resource(resource_kind(&case.resource.0)), raw);
    }
    for (i, raw) in case.permission_boundaries.iter().flatten().enumerate() {
        f(Slot::Boundary(i), raw);
    }
    if let Some(raw) = case.session_policy {
        f(Slot::Session, raw);
    }
    for (l, level) in case.scps.iter().flatten().enumerate() {
        for (i, raw) in level.iter().enumerate() {
            f(Slot::Scp(l, i), raw);
        }
    }
    for (l, level) in case.rcps.iter().flatten().enumerate() {
        for (i, raw) in level.iter().enumerate() {
            f(Slot::Rcp(l, i), raw);
        }
    }
}

/// Prepares a case's request and finds or compiles its policies.
fn prepare_case<'a>(
    case: Case<'a>,
    shared: &Shared<'a>,
    local: &mut Vec<CompiledPolicy>,
) -> Result<(Request, CaseSet<'a>), String> {
    let rkind = resource_kind(&case.resource.0);
    let context = match case.context {
        Some(raw) => {
            serde_json::from_str::<CaseContext>(raw.get())
                .map_err(|e| format!("`context`: {}", without_position(&e.to_string())))?
                .0
        }
        None => Context::new(),
    };
    let account = case.resource_account.as_ref().map(|a| &*a.0);
    let request = Request::new(&case.principal.0, &case.action.0, &case.resource.0, account, context).map_err(|e| {
        let field = match e {
            eval::RequestError::Principal => "principal",
            eval::RequestError::Action(_) => "action",
            _ => "resource_account",
        };
        format!("`{field}`: {e}")
    })?;
    let mut ensure = |slot, raw| ensure(slot, raw, shared, &request, local);
    let mut set = CaseSet {
        identity: Vec::new(),
        resource: None,
        boundaries: Vec::new(),
        session: None,
        scps: Vec::new(),
        rcps: Vec::new(),
    };
    for (i, raw) in case.identity_policies.iter().flatten().enumerate() {
        set.identity.push(ensure(Slot::Identity(i), raw)?);
    }
    if let Some(raw) = case.resource_policy {
        set.resource = Some(ensure(Slot::Resource(rkind), raw)?);
    }
    for (i, raw) in case.permission_boundaries.iter().flatten().enumerate() {
        set.boundaries.push(ensure(Slot::Boundary(i), raw)?);
    }
    if let Some(raw) = case.session_policy {
        set.session = Some(ensure(Slot::Session, raw)?);
    }
    for (l, level) in case.scps.iter().flatten().enumerate() {
        let level = level.iter().enumerate().map(|(i, raw)| ensure(Slot::Scp(l, i), raw));
        set.scps.push(level.collect::<Result<_, _>>()?);
    }
    for (l, level) in case.rcps.iter().flatten().enumerate() {
        let level = level.iter().enumerate().map(|(i, raw)| ensure(Slot::Rcp(l, i), raw));
        set.rcps.push(level.collect::<Result<_, _>>()?);
    }
    Ok((request, set))
}

/// A decision as the `simulate` result object, serialized without an intermediate tree.
struct Out<'d, 'p>(&'d Decision<'p>);

impl Serialize for Out<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.0;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("decision", d.decision.as_str())?;
        map.serialize_entry("reason", &Displayed(&d.reason))?;
        map.serialize_entry("identity", d.identity.as_str())?;
        map.serialize_entry("resource", d.resource.as_str())?;
        for (name, side) in [("boundary", d.boundary), ("session", d.session), ("scp", d.scp), ("rcp", d.rcp)] {
            if side != SideResult::NotApplicable {
                map.serialize_entry(name, side.as_str())?;
            }
        }
        map.serialize_entry("matched", &Matched(&d.matched))?;
        map.end()
    }
}

struct Displayed<'a, T>(&'a T);

impl<T: fmt::Display> Serialize for Displayed<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self.0)
    }
}

struct Matched<'a, 'p>(&'a [StatementRef<'p>]);

impl Serialize for Matched<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for r in self.0 {
            seq.serialize_element(&MatchedRef(r))?;
        }
        seq.end()
    }
}

struct MatchedRef<'a, 'p>(&'a StatementRef<'p>);

impl Serialize for MatchedRef<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut map = s.serialize_map(Some(4))?;
        map.serialize_entry("kind", r.kind.as_str())?;
        map.serialize_entry("policy", r.policy)?;
        map.serialize_entry("statement", r.statement)?;
        map.serialize_entry("effect", r.effect.as_str())?;
        map.end()
    }
}

struct ErrorOut<'a>(&'a str);

impl Serialize for ErrorOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry("error", self.0)?;
        map.end()
    }
}

/// `allowed (reason) policy `statement` Effect, ...`
struct TextLine<'d, 'p>(&'d Decision<'p>);

impl fmt::Display for TextLine<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        write!(f, "{} ({})", d.decision, d.reason)?;
        for (i, r) in d.matched.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(f, "{sep}{} `{}` {}", r.policy, r.statement, r.effect.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};

    #[track_caller]
    fn check(input: &str, expect: Expect) {
        let out = match simulate_json(input) {
            Ok(text) => {
                serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(&text).unwrap()).unwrap()
            }
            Err(e) => format!("error: {e}"),
        };
        expect.assert_eq(&out);
    }

    #[track_caller]
    fn check_text(input: &str, expect: Expect) {
        let mut out = Vec::new();
        run(input, Format::Text, &mut out).unwrap();
        expect.assert_eq(&String::from_utf8(out).unwrap());
    }

    const ALLOW_GET: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Get","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::my-bucket/*"}]}"#;

    #[test]
    fn cases() {
        check(
            &format!(
                r#"{{"principal":"arn:aws:iam::111111111111:role/MyRoleB","action":"s3:GetObject","resource":"arn:aws:s3:::my-bucket/k",
                "resource_account":"111111111111","identity_policies":[{ALLOW_GET}]}}"#
            ),
            expect![[r#"
                {
                  "decision": "allowed",
                  "reason": "allowed by an identity policy",
                  "identity": "allowed",
                  "resource": "notApplicable",
                  "matched": [
                    {
                      "kind": "identity",
                      "policy": "identity_policies[0]",
                      "statement": "Get",
                      "effect": "Allow"
                    }
                  ]
                }"#]],
        );
        check(
            &format!(
                r#"[{{"principal":"arn:aws:iam::111111111111:role/MyRoleB","action":"s3:GetObject","resource":"arn:aws:s3:::my-bucket/k",
                "resource_account":"222222222222","identity_policies":[{ALLOW_GET}],
                "resource_policy":{{"Statement":[{{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{{"Bool":{{"aws:SecureTransport":false}}}}}}]}},
                "context":{{"aws:SecureTransport":false}},"scps":[[{{"Statement":{{"Effect":"Allow","Action":"*","Resource":"*"}}}}]]}},
                {{"principal":"p","action":"s3"}},
                {{"principal":"arn:aws:iam::111111111111:role/R","action":"s3:GetObject","resource":"arn:aws:s3:::b/k"}},
                {{"principal":"arn:aws:iam::111111111111:role/R","action":"s3:GetObject","resource":"arn:aws:s3:::b/k","resource_account":"111111111111","identity_policies":[{{"Statement":[{{"Effect":"Maybe","Action":"*","Resource":"*"}}]}}]}},
                {{"principal":"arn:aws:iam::111111111111:role/R","action":"s3:GetObject","resource":"x","resource_account":"1","scps":[{{}}]}},
                {{"principal":"arn:aws:iam::111111111111:role/R","action":"s3:GetObject","resource":"x","context":{{"a":{{}}}}}},
                {{"principal":"arn:aws:iam::111111111111:role/R","action":"s3:GetObject","resource":"x","contxt":{{}}}},
                [],
                {{"principal":"arn:aws:iam::111111111111:role/R","action":"sts:GetCallerIdentity","resource":"*"}},
                {{"principal":1,"action":"s3:GetObject","resource":"x"}}]"#
            ),
            expect![[r#"
                [
                  {
                    "decision": "explicitDeny",
                    "reason": "an explicit Deny statement applies",
                    "identity": "allowed",
                    "resource": "explicitDeny",
                    "scp": "allowed",
                    "matched": [
                      {
                        "kind": "resource",
                        "policy": "resource_policy",
                        "statement": "0",
                        "effect": "Deny"
                      }
                    ]
                  },
                  {
                    "error": "case 1: missing field `resource` at line 1 column 31"
                  },
                  {
                    "error": "case 2: `resource_account`: resource `arn:aws:s3:::b/k` carries no account: give the resource account"
                  },
                  {
                    "error": "case 3: `identity_policies[0]` would be refused by AWS: $.Statement[0].Effect: unknown Effect `Maybe`: use `Allow` or `Deny`"
                  },
                  {
                    "error": "case 4: `scps`: invalid type: map, expected a sequence at line 1 column 118"
                  },
                  {
                    "error": "case 5: `context`: `a` must be a string, number, boolean or an array of them"
                  },
                  {
                    "error": "case 6: unknown field `contxt`, expected one of `principal`, `action`, `resource`, `resource_account`, `context`, `identity_policies`, `resource_policy`, `permission_boundaries`, `session_policy`, `scps`, `rcps` at line 1 column 95"
                  },
                  {
                    "error": "case 7: a case must be a JSON object"
                  },
                  {
                    "decision": "allowed",
                    "reason": "sts:GetCallerIdentity needs no permission",
                    "identity": "implicitDeny",
                    "resource": "notApplicable",
                    "matched": []
                  },
                  {
                    "error": "case 9: `principal`: invalid type: integer `1`, expected a string at line 1 column 14"
                  }
                ]"#]],
        );
        check("{", expect!["error: input is not JSON: EOF while parsing an object at line 1 column 1"]);
        check(
            r#"{"principal":"arn:aws:iam::111111111111:role/R","action":"x","resource":"*"}"#,
            expect![[r#"
                {
                  "error": "case 0: `action`: action `x` is not of the form `service:name`"
                }"#]],
        );
    }

    /// What AWS refuses when a policy is written is a case error naming the case, the
    /// policy, the statement and the field (issue: strict documents).
    #[test]
    fn strict_documents() {
        #[track_caller]
        fn check(policies: &str, expect: &str) {
            let case = format!(
                r#"[{{"principal":"arn:aws:iam::111111111111:role/R","action":"s3:GetObject","resource":"arn:aws:s3:::b/k","resource_account":"222222222222",{policies}}}]"#
            );
            let out: serde_json::Value = serde_json::from_str(&simulate_json(&case).unwrap()).unwrap();
            let got = out[0]
                .get("error")
                .and_then(|e| e.as_str())
                .map_or_else(|| format!("decided {}", out[0]["decision"]), str::to_owned);
            assert_eq!(got, expect, "{policies}");
        }
        let stmt = |s: &str| format!(r#"{{"Version":"2012-10-17","Statement":[{s}]}}"#);
        let id = |s: &str| format!(r#""identity_policies":[{}]"#, stmt(s));
        let bucket = |s: &str| {
            format!(
                r#""identity_policies":[{}],"resource_policy":{}"#,
                stmt(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"}"#),
                stmt(s)
            )
        };
        check(&id(r#"{"Effect":"Allow","Action":"s3:GetObject"}"#), "case 0: `identity_policies[0]` would be refused by AWS: $.Statement[0].Resource: missing Resource: every managed policy statement needs one");
        check(&id(r#"{"Sid":"P","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}"#), "case 0: `identity_policies[0]` would be refused by AWS: $.Statement[0].Principal: Principal is not allowed in an identity policy: it applies to whoever it is attached to");
        check(&bucket(r#"{"Effect":"Allow","Principal":{"AWS":"not-an-arn"},"Action":"s3:GetObject","Resource":"*"}"#), "case 0: `resource_policy` would be refused by AWS: $.Statement[0].Principal.AWS: principal `not-an-arn` is malformed: an AWS principal is `*`, a 12-digit account ID or an IAM or STS ARN");
        check(&id(r#"{"Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:us-east-1:abc:key/k"}"#), "case 0: `identity_policies[0]` would be refused by AWS: $.Statement[0].Resource: resource `arn:aws:kms:us-east-1:abc:key/k` is malformed: the account part must be 12 digits");
        check(r#""identity_policies":[{"Version":"1999-01-01","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}]"#, "case 0: `identity_policies[0]` would be refused by AWS: $.Version: unknown Version `1999-01-01`: use `2012-10-17`");
        check(&id(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"not-a-cidr"}}}"#), "case 0: `identity_policies[0]` would be refused by AWS: $.Statement[0].Condition.IpAddress.aws:SourceIp: `IpAddress` needs an IP address or CIDR block: `not-a-cidr` is not one");
        check(&id(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"yesterday"}}}"#), "case 0: `identity_policies[0]` would be refused by AWS: $.Statement[0].Condition.DateGreaterThan.aws:CurrentTime: `DateGreaterThan` needs an ISO 8601 date or epoch seconds: `yesterday` is not one");
        check(&id(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NumericLessThan":{"aws:MultiFactorAuthAge":"ten"}}}"#), "case 0: `identity_policies[0]` would be refused by AWS: $.Statement[0].Condition.NumericLessThan.aws:MultiFactorAuthAge: `NumericLessThan` needs a number: `ten` is not one");
        check(&id(r#"{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"}"#), "case 0: `identity_policies[0]` would be refused by AWS: $.Statement[1].Sid: duplicate Sid `A`, already used by $.Statement[0]");
        // A bare ARN principal is read as `{"AWS": ...}`.
        check(
            &bucket(
                r#"{"Effect":"Allow","Principal":"arn:aws:iam::111111111111:role/R","Action":"s3:GetObject","Resource":"*"}"#,
            ),
            r#"decided "allowed""#,
        );
        check(&id(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"}"#), r#"decided "implicitDeny""#);
    }

    #[test]
    fn text_lines_and_the_cache() {
        let case = |principal: &str| {
            format!(
                r#"{{"principal":"{principal}","action":"s3:GetObject","resource":"arn:aws:s3:::my-bucket/k","resource_account":"111111111111","identity_policies":[{ALLOW_GET}]}}"#
            )
        };
        let input = format!(
            "[{},{},{},{{\"principal\":\"anonymous\",\"action\":\"s3:GetObject\",\"resource\":\"arn:aws:s3:::my-bucket/*\",\"resource_account\":\"111111111111\",\"resource_policy\":{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::my-bucket/public/*\"}}]}}}},{{}}]",
            case("arn:aws:iam::111111111111:role/A"),
            case("arn:aws:iam::111111111111:role/B"),
            case("arn:aws:iam::222222222222:role/C"),
        );
        check_text(
            &input,
            expect![[r#"
                case 0: allowed (allowed by an identity policy) identity_policies[0] `Get` Allow
                case 1: allowed (allowed by an identity policy) identity_policies[0] `Get` Allow
                case 2: implicitDeny (cross-account: an identity policy allows, but the resource policy does not name the principal or its account) identity_policies[0] `Get` Allow
                case 3: allowed (allowed by the resource policy) resource_policy `0` Allow
                case 4: error: missing field `principal` at line 1 column 2
            "#]],
        );
        // The three cases share one identity policy: it is compiled once.
        let summary = run(&input, Format::Json, &mut Vec::new()).unwrap();
        assert_eq!(summary, Summary { cases: 5, errors: 1, compiled: 2 });
        assert_eq!("text".parse::<Format>(), Ok(Format::Text));
        assert_eq!("xml".parse::<Format>(), Err("unknown output `xml`: use `json` or `text`".to_owned()));
    }

    /// A batch split over threads answers exactly as one thread does, in the same order:
    /// recurring and single-use policies, a policy AWS would refuse, malformed cases.
    #[test]
    fn threads_do_not_change_the_output() {
        let cases: Vec<String> = (0..3000)
            .map(|i| match i % 7 {
                0 => "{}".to_owned(),
                1 => format!(r#"{{"principal":"arn:aws:iam::111111111111:role/R{i}","action":"s3:GetObject","resource":"arn:aws:s3:::my-bucket/k","resource_account":"111111111111","identity_policies":[{ALLOW_GET}]}}"#),
                2 => r#"{"principal":"arn:aws:iam::111111111111:role/R","action":"s3:GetObject","resource":"arn:aws:s3:::my-bucket/k","resource_account":"111111111111","identity_policies":[{"Statement":[{"Effect":"Allow","Action":"s3:GetObject"}]}]}"#.to_owned(),
                n => format!(r#"{{"principal":"arn:aws:iam::222222222222:role/R","action":"s3:{}","resource":"arn:aws:s3:::my-bucket/k{i}","resource_account":"111111111111","resource_policy":{{"Version":"2012-10-17","Statement":[{{"Sid":"S{i}","Effect":"Allow","Principal":{{"AWS":"222222222222"}},"Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::my-bucket/k{}"}}]}},"identity_policies":[{ALLOW_GET}]}}"#, if n % 2 == 0 { "GetObject" } else { "PutObject" }, i - i % 2),
            })
            .collect();
        let input = format!("[{}]", cases.join(","));
        for format in [Format::Json, Format::Text] {
            let (mut one, mut many) = (Vec::new(), Vec::new());
            let summary = run_on(&input, format, &mut one, Some(1)).unwrap();
            assert_eq!(run_on(&input, format, &mut many, Some(3)).unwrap(), summary);
            assert_eq!(String::from_utf8(one).unwrap(), String::from_utf8(many).unwrap());
            assert_eq!((summary.cases, summary.errors), (3000, 858));
        }
    }
}

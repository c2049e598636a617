//! One retry rule for every AWS call: what is worth retrying, how long to
//! wait, and the bounds, per call and per run.
//!
//! - **Transient**: dispatch failures (a connection reset or closed before the
//!   reply came, a timeout, a DNS hiccup), throttling and 5xx. Retried with
//!   jittered exponential backoff.
//! - **Refused**: nothing listens on the endpoint. Retried at most
//!   [`RetryOptions::refused_attempts`] times, so that a wrong endpoint is
//!   reported within seconds.
//! - **Propagation**: IAM, S3 and KMS refuse a principal created moments ago
//!   ("invalid principal"). Retried longer, since IAM takes seconds to propagate.
//! - **Fatal**: everything else (AccessDenied, validation errors, not found):
//!   returned at once.
//!
//! Every retry of a run draws on one [`Budget`]: when it is spent, failures
//! are returned as they are.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;

/// What to do with a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Throttling, 5xx, a lost or timed-out reply: retry.
    Transient,
    /// Nothing listens on the endpoint: retry briefly.
    Refused,
    /// A principal IAM does not know yet: retry longer.
    Propagation,
    /// Return it.
    Fatal,
}

/// The bounds of the retries. The defaults are what `xacct` uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryOptions {
    /// Attempts of one call for a transient failure, the first included (default 8).
    pub max_attempts: u32,
    /// Attempts of one call while a new principal propagates (default 10).
    pub propagation_attempts: u32,
    /// Attempts of one call whose connection is refused (default 2: one short retry).
    pub refused_attempts: u32,
    /// The first backoff; it doubles with each attempt (default 200 ms).
    pub base_delay: Duration,
    /// The first backoff while a principal propagates (default 500 ms).
    pub propagation_base_delay: Duration,
    /// The longest backoff (default 8 s).
    pub max_delay: Duration,
    /// How long one call may spend retrying, waits and attempts together (default 90 s).
    pub call_budget: Duration,
    /// Retries allowed over one run, every call together (default 400).
    pub run_budget: u32,
}

impl Default for RetryOptions {
    fn default() -> Self {
        RetryOptions {
            max_attempts: 8,
            propagation_attempts: 10,
            refused_attempts: 2,
            base_delay: Duration::from_millis(200),
            propagation_base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            call_budget: Duration::from_secs(90),
            run_budget: 400,
        }
    }
}

/// The timeouts of every HTTP request. The defaults are what `xacct` uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    /// Setting up a connection (default 3 s).
    pub connect: Duration,
    /// Waiting for the reply once the request is sent (default 15 s).
    pub read: Duration,
    /// One attempt, end to end (default 30 s).
    pub attempt: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { connect: Duration::from_secs(3), read: Duration::from_secs(15), attempt: Duration::from_secs(30) }
    }
}

/// How the AWS access layer talks to AWS: its retries and its timeouts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessOptions {
    /// The retry bounds.
    pub retry: RetryOptions,
    /// The request timeouts.
    pub timeouts: Timeouts,
}

/// The retries left in a run, shared by every clone.
#[derive(Debug, Clone)]
pub struct Budget {
    left: Arc<AtomicU32>,
}

impl Budget {
    /// A budget of `retries` retries.
    pub fn new(retries: u32) -> Budget {
        Budget { left: Arc::new(AtomicU32::new(retries)) }
    }

    /// Takes one retry; false when none is left.
    pub fn take(&self) -> bool {
        self.left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
    }

    /// The retries left.
    pub fn left(&self) -> u32 {
        self.left.load(Ordering::SeqCst)
    }
}

impl RetryOptions {
    /// The most attempts for a failure of this class.
    pub fn attempts(&self, class: Class) -> u32 {
        match class {
            Class::Transient => self.max_attempts,
            Class::Refused => self.refused_attempts,
            Class::Propagation => self.propagation_attempts,
            Class::Fatal => 1,
        }
    }

    /// The wait before attempt `attempt + 1`, after `attempt` attempts failed
    /// (1-based): uniform in the upper half of `base * 2^(attempt-1)`, capped at `max_delay`.
    pub fn delay(&self, class: Class, attempt: u32) -> Duration {
        let base = match class {
            Class::Propagation => self.propagation_base_delay,
            _ => self.base_delay,
        };
        let cap = base.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1))).min(self.max_delay);
        let cap_ms = cap.as_millis() as u64;
        Duration::from_millis(rand::thread_rng().gen_range(cap_ms / 2..=cap_ms))
    }
}

/// AWS error codes that mean "slow down".
pub const THROTTLING_CODES: [&str; 8] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "SlowDown",
    "RequestThrottled",
    "RequestThrottledException",
];

/// The class of a reply that came back: its HTTP status, error code and message.
pub fn classify_reply(status: u16, code: Option<&str>, message: &str) -> Class {
    let code = code.unwrap_or_default();
    if THROTTLING_CODES.contains(&code) || status == 429 || status >= 500 {
        return Class::Transient;
    }
    let message = message.to_ascii_lowercase();
    let malformed = matches!(code, "MalformedPolicyDocument" | "MalformedPolicy" | "MalformedPolicyDocumentException");
    if malformed && message.contains("invalid principal") {
        return Class::Propagation;
    }
    Class::Fatal
}

/// True when an error, or one of its sources, is a refused connection.
pub fn is_refused(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return true;
            }
        }
        if e.to_string().to_ascii_lowercase().contains("connection refused") {
            return true;
        }
        source = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(status: u16, code: Option<&str>, message: &str, expect: Class) {
        assert_eq!(classify_reply(status, code, message), expect);
    }

    #[test]
    fn replies() {
        check(400, Some("Throttling"), "Rate exceeded", Class::Transient);
        check(503, Some("SlowDown"), "", Class::Transient);
        check(400, Some("ThrottlingException"), "", Class::Transient);
        check(429, None, "", Class::Transient);
        check(500, None, "", Class::Transient);
        check(502, Some("InternalError"), "", Class::Transient);
        check(403, Some("AccessDenied"), "not authorized", Class::Fatal);
        check(400, Some("ValidationError"), "bad", Class::Fatal);
        check(404, Some("NoSuchEntity"), "", Class::Fatal);
        check(400, Some("MalformedPolicy"), "Invalid principal in policy", Class::Propagation);
        check(400, Some("MalformedPolicyDocument"), "Invalid principal in policy: \"AWS\"", Class::Propagation);
        check(400, Some("MalformedPolicyDocument"), "Syntax errors in policy", Class::Fatal);
    }

    #[test]
    fn delays_grow_and_stay_bounded() {
        let options = RetryOptions::default();
        for attempt in 1..20 {
            let delay = options.delay(Class::Transient, attempt);
            let cap = (options.base_delay * 2u32.saturating_pow(attempt - 1)).min(options.max_delay);
            assert!(delay <= cap && delay >= cap / 2, "attempt {attempt}: {delay:?} not in {cap:?}/2..={cap:?}");
        }
        assert_eq!(options.attempts(Class::Fatal), 1);
        assert_eq!(options.attempts(Class::Refused), 2);
    }

    #[test]
    fn the_budget_is_shared_and_runs_out() {
        let budget = Budget::new(2);
        let clone = budget.clone();
        assert!(budget.take());
        assert!(clone.take());
        assert!(!budget.take());
        assert_eq!(clone.left(), 0);
    }

    #[test]
    fn refused_is_found_in_the_sources() {
        #[derive(Debug, thiserror::Error)]
        #[error("dispatch failure")]
        struct Outer(#[source] std::io::Error);
        let refused = Outer(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "nope"));
        assert!(is_refused(&refused));
        let reset = Outer(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset"));
        assert!(!is_refused(&reset));
    }
}

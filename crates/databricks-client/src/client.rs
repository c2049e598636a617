//! The HTTP core: auth headers, the OAuth token cache, retries, typed errors, call counters.
//!
//! One retry rule, the same as the AWS access layer's:
//! - a failure to connect (nothing was sent) is retried for every request, but a
//!   refused connection only [`ClientOptions::refused_attempts`] times, so that a
//!   wrong host is reported within seconds, naming it;
//! - 429 and 503 are retried after `Retry-After` (1 s without one), within `retry_deadline`;
//! - 500, 502 and 504, a timeout and a reply lost after the request was sent are
//!   retried with jittered backoff for a GET and for a POST whose repeat is harmless
//!   or detected ([`Repeat::Safe`]); a POST that must not run twice ([`Repeat::Never`])
//!   gets [`Error::ReplyLost`] instead, and its caller finds out what happened;
//! - anything else (401, 403, 400, 404) is returned at once.
//!
//! Every retry of a client (and its clones) draws on one budget, `run_retry_budget`.

use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use reqwest::header::{HeaderValue, AUTHORIZATION, RETRY_AFTER};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::{self, AuthMethod, AuthSettings, Credentials};
use crate::clock::{Clock, SystemClock};
use crate::error::{ApiError, Error};
use crate::secret::Secret;

/// Limits for retries, polls and waits.
#[derive(Clone)]
pub struct ClientOptions {
    /// How long one call may keep retrying (default 120 s).
    pub retry_deadline: Duration,
    /// The timeout of one HTTP request, end to end (default 60 s).
    pub request_timeout: Duration,
    /// The timeout of setting up a connection (default 5 s).
    pub connect_timeout: Duration,
    /// How long a reply may stay silent once the request is sent (default 20 s).
    pub read_timeout: Duration,
    /// Attempts of one call for a 5xx, a timeout or a lost reply, the first included (default 8).
    pub max_attempts: u32,
    /// Attempts of one call whose connection is refused (default 2: one short retry).
    pub refused_attempts: u32,
    /// The first backoff after a 5xx, timeout or lost reply; it doubles per attempt (default 250 ms).
    pub base_delay: Duration,
    /// The longest backoff (default 8 s).
    pub max_delay: Duration,
    /// Retries allowed over the client's life, every call and clone together (default 200).
    pub run_retry_budget: u32,
    /// The pause between two polls of a cluster, a context or a command.
    pub poll_interval: Duration,
    /// How long to wait for a cluster to reach a state.
    pub cluster_timeout: Duration,
    /// How long to wait for a command to finish.
    pub command_timeout: Duration,
    /// How many times to try adding an instance profile that ec2 does not see yet (iam lag).
    pub iam_lag_attempts: u32,
    /// The first backoff after an iam-lag failure; it doubles up to `iam_lag_max_backoff`.
    pub iam_lag_initial_backoff: Duration,
    /// The longest backoff between two iam-lag retries.
    pub iam_lag_max_backoff: Duration,
    /// An oauth token is refreshed this long before it expires.
    pub token_refresh_margin: Duration,
    /// The clock for waits and token expiry; a [`ManualClock`](crate::ManualClock) in tests.
    pub clock: Arc<dyn Clock>,
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            retry_deadline: Duration::from_secs(120),
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(20),
            max_attempts: 8,
            refused_attempts: 2,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            run_retry_budget: 200,
            poll_interval: Duration::from_secs(5),
            cluster_timeout: Duration::from_secs(30 * 60),
            command_timeout: Duration::from_secs(10 * 60),
            iam_lag_attempts: 8,
            iam_lag_initial_backoff: Duration::from_secs(2),
            iam_lag_max_backoff: Duration::from_secs(30),
            token_refresh_margin: Duration::from_secs(60),
            clock: Arc::new(SystemClock),
        }
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("retry_deadline", &self.retry_deadline)
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("max_attempts", &self.max_attempts)
            .field("refused_attempts", &self.refused_attempts)
            .field("run_retry_budget", &self.run_retry_budget)
            .field("poll_interval", &self.poll_interval)
            .field("cluster_timeout", &self.cluster_timeout)
            .field("command_timeout", &self.command_timeout)
            .field("iam_lag_attempts", &self.iam_lag_attempts)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

/// A Databricks workspace client. Cloning shares the connection pool, the token cache and the counters.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    credentials: Credentials,
    options: ClientOptions,
    reads: AtomicU64,
    writes: AtomicU64,
    retries_left: AtomicU32,
    token: tokio::sync::Mutex<Option<CachedToken>>,
}

/// Whether a POST may be sent again after its reply was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repeat {
    /// A repeat is harmless, or its effect is detected (an `already exists` answer read back).
    Safe,
    /// A repeat could do the thing twice: the caller must find out what happened.
    Never,
}

struct CachedToken {
    token: Secret,
    expires_at: Instant,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("host", &self.inner.credentials.host)
            .field("auth", &self.inner.credentials.method.name())
            .field("reads", &self.reads())
            .field("writes", &self.writes())
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    Get,
    Post,
    Patch,
    Delete,
}

impl Verb {
    fn name(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Patch => "PATCH",
            Verb::Delete => "DELETE",
        }
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error_code: Option<String>,
    message: Option<String>,
    error: Option<String>,
}

impl Client {
    /// A client for these credentials with the default [`ClientOptions`]. Makes no request.
    pub fn new(credentials: Credentials) -> Result<Client, Error> {
        Client::with_options(credentials, ClientOptions::default())
    }

    /// A client for these credentials and options. Makes no request; fails only when the HTTP
    /// client cannot be built.
    pub fn with_options(credentials: Credentials, options: ClientOptions) -> Result<Client, Error> {
        let http = reqwest::Client::builder()
            .timeout(options.request_timeout)
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout)
            .user_agent(concat!("xacct-databricks-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| Error::Transport { method: "-", path: "-".to_owned(), detail: err.to_string() })?;
        let retries_left = AtomicU32::new(options.run_retry_budget);
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                credentials,
                options,
                reads: AtomicU64::new(0),
                writes: AtomicU64::new(0),
                retries_left,
                token: tokio::sync::Mutex::new(None),
            }),
        })
    }

    /// Resolves auth (settings, then `env`, then the config file) and builds a client.
    pub fn from_settings(
        settings: &AuthSettings,
        env: &dyn Fn(&str) -> Option<String>,
        options: ClientOptions,
    ) -> Result<Client, Error> {
        Client::with_options(auth::resolve(settings, env)?, options)
    }

    /// The workspace URL, `https://…` without a trailing slash.
    pub fn host(&self) -> &str {
        &self.inner.credentials.host
    }

    /// The credentials in use.
    pub fn credentials(&self) -> &Credentials {
        &self.inner.credentials
    }

    /// The options in use.
    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    /// GET requests sent to the REST API so far, retries included (token requests are not counted).
    pub fn reads(&self) -> u64 {
        self.inner.reads.load(Ordering::Relaxed)
    }

    /// POST, PATCH and DELETE requests sent to the REST API so far, retries included.
    pub fn writes(&self) -> u64 {
        self.inner.writes.load(Ordering::Relaxed)
    }

    pub(crate) fn clock(&self) -> &dyn Clock {
        self.inner.options.clock.as_ref()
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, &str)]) -> Result<T, Error> {
        self.send(Verb::Get, path, query, None, Repeat::Safe).await
    }

    /// A POST whose repeat is harmless or detected.
    pub(crate) async fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T, Error> {
        self.post_with(path, body, Repeat::Safe).await
    }

    pub(crate) async fn post_with<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
        repeat: Repeat,
    ) -> Result<T, Error> {
        let body = serde_json::to_value(body)
            .map_err(|err| Error::Decode { path: path.to_owned(), detail: format!("cannot encode request: {err}") })?;
        self.send(Verb::Post, path, &[], Some(body), repeat).await
    }

    /// A PATCH; its repeat sets the same fields again.
    pub(crate) async fn patch<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T, Error> {
        let body = serde_json::to_value(body)
            .map_err(|err| Error::Decode { path: path.to_owned(), detail: format!("cannot encode request: {err}") })?;
        self.send(Verb::Patch, path, &[], Some(body), Repeat::Safe).await
    }

    /// A DELETE; a repeat after a lost reply answers not-found, which callers treat as done.
    pub(crate) async fn delete<T: DeserializeOwned>(&self, path: &str, query: &[(&str, &str)]) -> Result<T, Error> {
        self.send(Verb::Delete, path, query, None, Repeat::Safe).await
    }

    /// Takes one retry from the client's budget; false when it is spent.
    fn take_retry(&self) -> bool {
        self.inner.retries_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
    }

    /// The retries left in the client's budget.
    pub fn retries_left(&self) -> u32 {
        self.inner.retries_left.load(Ordering::SeqCst)
    }

    /// The wait before the next attempt after `attempt` failed ones: uniform in the upper half
    /// of `base_delay * 2^(attempt-1)`, capped at `max_delay`.
    fn backoff(&self, attempt: u32) -> Duration {
        let options = &self.inner.options;
        let cap =
            options.base_delay.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1))).min(options.max_delay);
        let cap_ms = cap.as_millis() as u64;
        Duration::from_millis(rand::thread_rng().gen_range(cap_ms / 2..=cap_ms))
    }

    async fn send<T: DeserializeOwned>(
        &self,
        verb: Verb,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
        repeat: Repeat,
    ) -> Result<T, Error> {
        let clock = self.clock();
        let options = &self.inner.options;
        let started = clock.now();
        let deadline = started + options.retry_deadline;
        let url = format!("{}{}", self.inner.credentials.host, path);
        let mut attempts = 0;
        let mut refreshed_after_401 = false;
        loop {
            attempts += 1;
            let token = self.bearer().await?;
            let mut header =
                HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| Error::Transport {
                    method: verb.name(),
                    path: path.to_owned(),
                    detail: "the token contains characters not allowed in a header".to_owned(),
                })?;
            header.set_sensitive(true);
            let mut request = match verb {
                Verb::Get => {
                    self.inner.reads.fetch_add(1, Ordering::Relaxed);
                    self.inner.http.get(&url)
                }
                Verb::Post => {
                    self.inner.writes.fetch_add(1, Ordering::Relaxed);
                    self.inner.http.post(&url)
                }
                Verb::Patch => {
                    self.inner.writes.fetch_add(1, Ordering::Relaxed);
                    self.inner.http.patch(&url)
                }
                Verb::Delete => {
                    self.inner.writes.fetch_add(1, Ordering::Relaxed);
                    self.inner.http.delete(&url)
                }
            };
            request = request.header(AUTHORIZATION, header);
            if !query.is_empty() {
                request = request.query(query);
            }
            if let Some(body) = &body {
                request = request.json(body);
            }
            let scrub = |text: &str| self.scrub(&token, text);
            let describe = |err: &reqwest::Error| {
                let mut text = scrub(&err.to_string().replace(&url, path));
                let mut source = std::error::Error::source(err);
                while let Some(s) = source {
                    text.push_str(&format!(": {}", scrub(&s.to_string())));
                    source = s.source();
                }
                text
            };
            // What the failure of this attempt allows: retry it, or return this error.
            let failed = |err: reqwest::Error, after_send: bool| -> (Option<u32>, Error) {
                let detail = describe(&err);
                let host = self.inner.credentials.host.clone();
                let (method, path) = (verb.name(), path.to_owned());
                if err.is_connect() {
                    let refused = detail.to_ascii_lowercase().contains("connection refused");
                    let limit = if refused { options.refused_attempts } else { options.max_attempts };
                    return (Some(limit), Error::Unreachable { host, method, path, detail });
                }
                if verb == Verb::Post && repeat == Repeat::Never && after_send {
                    return (None, Error::ReplyLost { host, method, path, detail });
                }
                (Some(options.max_attempts), Error::Transport { method, path, detail })
            };
            let outcome = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let retry_after = response
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|value| value.to_str().ok())
                        .and_then(|value| value.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    match response.text().await {
                        Ok(text) => Ok((status, retry_after, text)),
                        Err(err) => Err(failed(err, true)),
                    }
                }
                Err(err) => Err(failed(err, true)),
            };
            let (status, retry_after, text) = match outcome {
                Ok(reply) => reply,
                Err((None, err)) => return Err(err),
                Err((Some(limit), err)) => {
                    let wait = self.backoff(attempts);
                    let now = clock.now();
                    if attempts >= limit.max(1) || now + wait > deadline || !self.take_retry() {
                        return Err(err);
                    }
                    tracing::warn!(path, attempt = attempts, wait_ms = wait.as_millis() as u64, error = %err, "retrying");
                    clock.sleep(wait).await;
                    continue;
                }
            };
            tracing::debug!(
                method = verb.name(),
                path,
                status = status.as_u16(),
                attempt = attempts,
                "databricks call"
            );
            if status.is_success() {
                let text = if text.trim().is_empty() { "{}" } else { text.as_str() };
                return serde_json::from_str(text)
                    .map_err(|err| Error::Decode { path: path.to_owned(), detail: err.to_string() });
            }
            let api = api_error(status, &scrub(&text));
            if status == StatusCode::UNAUTHORIZED && !refreshed_after_401 && self.drop_cached_token().await {
                refreshed_after_401 = true;
                continue;
            }
            let server_error = matches!(
                status,
                StatusCode::INTERNAL_SERVER_ERROR | StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT
            );
            if server_error && (verb == Verb::Get || repeat == Repeat::Safe) {
                let wait = self.backoff(attempts);
                let now = clock.now();
                if attempts < options.max_attempts && now + wait <= deadline && self.take_retry() {
                    tracing::warn!(path, status = status.as_u16(), attempt = attempts, "retrying a server error");
                    clock.sleep(wait).await;
                    continue;
                }
            }
            if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
                let wait = retry_after.unwrap_or(Duration::from_secs(1));
                let now = clock.now();
                if now + wait > deadline || !self.take_retry() {
                    return Err(Error::Throttled {
                        method: verb.name(),
                        path: path.to_owned(),
                        attempts,
                        waited: now.saturating_duration_since(started),
                        last: api,
                    });
                }
                tracing::info!(
                    path,
                    status = status.as_u16(),
                    wait_secs = wait.as_secs_f64(),
                    "databricks asks to retry"
                );
                clock.sleep(wait).await;
                continue;
            }
            return Err(Error::Api { method: verb.name(), path: path.to_owned(), source: api });
        }
    }

    fn scrub(&self, token: &Secret, text: &str) -> String {
        let text = token.scrub(text);
        match &self.inner.credentials.method {
            AuthMethod::Pat { token } => token.scrub(&text),
            AuthMethod::OAuthM2m { client_secret, .. } => client_secret.scrub(&text),
        }
    }

    /// Forgets a cached oauth token; true when there was one to forget.
    async fn drop_cached_token(&self) -> bool {
        match self.inner.credentials.method {
            AuthMethod::Pat { .. } => false,
            AuthMethod::OAuthM2m { .. } => self.inner.token.lock().await.take().is_some(),
        }
    }

    async fn bearer(&self) -> Result<Secret, Error> {
        let (client_id, client_secret) = match &self.inner.credentials.method {
            AuthMethod::Pat { token } => return Ok(token.clone()),
            AuthMethod::OAuthM2m { client_id, client_secret } => (client_id, client_secret),
        };
        let mut cached = self.inner.token.lock().await;
        let now = self.clock().now();
        if let Some(token) = cached.as_ref() {
            if now + self.inner.options.token_refresh_margin < token.expires_at {
                return Ok(token.token.clone());
            }
        }
        let url = format!("{}/oidc/v1/token", self.inner.credentials.host);
        let failed = |detail: String| Error::Token { url: url.clone(), detail: client_secret.scrub(&detail) };
        let response = self
            .inner
            .http
            .post(&url)
            .basic_auth(client_id, Some(client_secret.expose()))
            .form(&[("grant_type", "client_credentials"), ("scope", "all-apis")])
            .send()
            .await
            .map_err(|err| failed(err.without_url().to_string()))?;
        let status = response.status();
        let text = response.text().await.map_err(|err| failed(err.without_url().to_string()))?;
        if !status.is_success() {
            return Err(failed(api_error(status, &text).to_string()));
        }
        let parsed: TokenResponse =
            serde_json::from_str(&text).map_err(|err| failed(format!("cannot parse the token response: {err}")))?;
        let token = Secret::new(parsed.access_token);
        let lifetime = Duration::from_secs(parsed.expires_in.unwrap_or(3600));
        tracing::debug!(lifetime_secs = lifetime.as_secs(), "fetched an oauth token");
        *cached = Some(CachedToken { token: token.clone(), expires_at: now + lifetime });
        Ok(token)
    }
}

fn api_error(status: StatusCode, text: &str) -> ApiError {
    let parsed: Option<ErrorBody> = serde_json::from_str(text).ok();
    let (error_code, message) = match parsed {
        Some(body) => (body.error_code, body.message.or(body.error)),
        None => (None, None),
    };
    let message = message.unwrap_or_else(|| {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            status.canonical_reason().unwrap_or("no message").to_owned()
        } else {
            trimmed.chars().take(500).collect()
        }
    });
    ApiError { status: status.as_u16(), error_code, message }
}

//! The HTTP core: auth headers, the OAuth token cache, retries on 429 and 503, typed errors, call counters.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// How long one call may keep retrying 429 and 503 responses.
    pub retry_deadline: Duration,
    /// The timeout of one HTTP request.
    pub request_timeout: Duration,
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
    pub iam_lag_max_backoff: Duration,
    /// An oauth token is refreshed this long before it expires.
    pub token_refresh_margin: Duration,
    pub clock: Arc<dyn Clock>,
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            retry_deadline: Duration::from_secs(120),
            request_timeout: Duration::from_secs(60),
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
    token: tokio::sync::Mutex<Option<CachedToken>>,
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
}

impl Verb {
    fn name(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
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
    pub fn new(credentials: Credentials) -> Result<Client, Error> {
        Client::with_options(credentials, ClientOptions::default())
    }

    pub fn with_options(credentials: Credentials, options: ClientOptions) -> Result<Client, Error> {
        let http = reqwest::Client::builder()
            .timeout(options.request_timeout)
            .user_agent(concat!("xacct-databricks-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| Error::Transport { method: "-", path: "-".to_owned(), detail: err.to_string() })?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                credentials,
                options,
                reads: AtomicU64::new(0),
                writes: AtomicU64::new(0),
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

    pub fn credentials(&self) -> &Credentials {
        &self.inner.credentials
    }

    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    /// GET requests sent to the REST API so far, retries included (token requests are not counted).
    pub fn reads(&self) -> u64 {
        self.inner.reads.load(Ordering::Relaxed)
    }

    /// POST requests sent to the REST API so far, retries included.
    pub fn writes(&self) -> u64 {
        self.inner.writes.load(Ordering::Relaxed)
    }

    pub(crate) fn clock(&self) -> &dyn Clock {
        self.inner.options.clock.as_ref()
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, &str)]) -> Result<T, Error> {
        self.send(Verb::Get, path, query, None).await
    }

    pub(crate) async fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T, Error> {
        let body = serde_json::to_value(body)
            .map_err(|err| Error::Decode { path: path.to_owned(), detail: format!("cannot encode request: {err}") })?;
        self.send(Verb::Post, path, &[], Some(body)).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        verb: Verb,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> Result<T, Error> {
        let clock = self.clock();
        let started = clock.now();
        let deadline = started + self.inner.options.retry_deadline;
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
            };
            request = request.header(AUTHORIZATION, header);
            if !query.is_empty() {
                request = request.query(query);
            }
            if let Some(body) = &body {
                request = request.json(body);
            }
            let scrub = |text: &str| self.scrub(&token, text);
            let transport = |err: reqwest::Error| Error::Transport {
                method: verb.name(),
                path: path.to_owned(),
                detail: scrub(&err.without_url().to_string()),
            };
            let response = request.send().await.map_err(transport)?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let text = response.text().await.map_err(transport)?;
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
            if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
                let wait = retry_after.unwrap_or(Duration::from_secs(1));
                let now = clock.now();
                if now + wait > deadline {
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

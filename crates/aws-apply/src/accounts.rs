//! One set of SDK clients per account, and the one path every call takes:
//! counted, retried when the failure is transient, and turned into an
//! [`Error`] that names the account, the call and what to do.
//!
//! The SDK's own retries are off, so that every attempt is counted and logged here.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use policy_model::{AccountId, Flow};
use rand::Rng;
use serde::Serialize;

/// An AWS service xacct calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    Iam,
    S3,
    Kms,
    Sts,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::Iam => "iam",
            Service::S3 => "s3",
            Service::Kms => "kms",
            Service::Sts => "sts",
        })
    }
}

/// A failed call, or an account with no clients.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("no AWS clients for account `{0}`: it is not in the flow")]
    NoAccount(AccountId),
    #[error("access denied in account `{account}` calling {service}:{call}: {message}. Hint: {hint}")]
    AccessDenied { account: AccountId, service: Service, call: &'static str, message: String, hint: String },
    #[error("{service}:{call} in account `{account}` failed{}: {message}", .code.as_deref().map(|c| format!(" with `{c}`")).unwrap_or_default())]
    Call { account: AccountId, service: Service, call: &'static str, code: Option<String>, message: String },
    #[error("the credentials for account `{expected}` belong to account `{actual}`: fix its `aws_profile`")]
    WrongAccount { expected: AccountId, actual: String },
    #[error(
        "{service}:{call} in account `{account}` returned `{document}`, which is not a policy document: {message}"
    )]
    BadDocument { account: AccountId, service: Service, call: &'static str, document: String, message: String },
}

/// Reads and writes of one account and service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub reads: u64,
    pub writes: u64,
}

/// Every AWS call made, per account and service. Retries count as calls.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApiCalls {
    pub by_account: BTreeMap<AccountId, BTreeMap<Service, Counts>>,
}

impl ApiCalls {
    pub fn reads(&self) -> u64 {
        self.by_account.values().flat_map(|m| m.values()).map(|c| c.reads).sum()
    }
    pub fn writes(&self) -> u64 {
        self.by_account.values().flat_map(|m| m.values()).map(|c| c.writes).sum()
    }
    /// The calls in `self` that were not yet made at `earlier`.
    pub fn since(&self, earlier: &ApiCalls) -> ApiCalls {
        let mut out = self.clone();
        for (account, services) in &mut out.by_account {
            for (service, counts) in services.iter_mut() {
                let before = earlier.by_account.get(account).and_then(|m| m.get(service)).copied().unwrap_or_default();
                counts.reads -= before.reads.min(counts.reads);
                counts.writes -= before.writes.min(counts.writes);
            }
        }
        out
    }
}

/// True for the operations that change state: all but `Get*`, `List*`, `Head*` and `Describe*`.
pub fn is_write(operation: &str) -> bool {
    !["Get", "List", "Head", "Describe"].iter().any(|p| operation.starts_with(p))
}

#[derive(Clone, Debug)]
pub(crate) struct Clients {
    pub iam: aws_sdk_iam::Client,
    pub s3: aws_sdk_s3::Client,
    pub kms: aws_sdk_kms::Client,
    pub sts: aws_sdk_sts::Client,
}

/// The SDK clients (IAM, S3, KMS, STS) of every account in a flow.
#[derive(Clone, Debug)]
pub struct Accounts {
    configs: BTreeMap<AccountId, SdkConfig>,
    clients: BTreeMap<AccountId, Clients>,
    interceptors: Vec<SharedInterceptor>,
    latency: Option<Duration>,
    calls: Arc<Mutex<ApiCalls>>,
}

impl Accounts {
    /// Clients for account A and every bucket owner, each from its named
    /// profile or, without one, from the default credential chain. The
    /// endpoint is the SDK's (so `AWS_ENDPOINT_URL` is honoured), and S3 uses
    /// path-style addressing only when an endpoint override is set. No call is made.
    pub async fn load(flow: &Flow, profiles: &BTreeMap<AccountId, Option<String>>) -> Result<Accounts, Error> {
        let mut ids = vec![flow.deployment().account_id.clone()];
        ids.extend(flow.owners().iter().map(|o| o.account_id.clone()));
        let mut configs = BTreeMap::new();
        for id in ids {
            if configs.contains_key(&id) {
                continue;
            }
            let mut loader =
                aws_config::defaults(BehaviorVersion::latest()).region(Region::new(flow.region().to_owned()));
            if let Some(Some(profile)) = profiles.get(&id) {
                loader = loader.profile_name(profile);
            }
            configs.insert(id, loader.load().await);
        }
        Ok(Accounts::from_sdk_configs(configs))
    }

    /// Clients from ready SDK configs, one per account (tests, and callers with their own credentials).
    pub fn from_sdk_configs(configs: BTreeMap<AccountId, SdkConfig>) -> Accounts {
        let mut accounts = Accounts {
            configs,
            clients: BTreeMap::new(),
            interceptors: Vec::new(),
            latency: None,
            calls: Arc::default(),
        };
        accounts.rebuild();
        accounts
    }

    /// Adds an SDK interceptor to every client of every account.
    pub fn with_interceptor(mut self, interceptor: impl Intercept + 'static) -> Accounts {
        self.interceptors.push(SharedInterceptor::new(interceptor));
        self.rebuild();
        self
    }

    /// Delays every HTTP request by `delay` before it is sent, without
    /// blocking a thread: what a real AWS round-trip costs, for benchmarks
    /// against a local emulator. (An interceptor cannot do this: its hooks are synchronous.)
    pub fn with_latency(mut self, delay: Duration) -> Accounts {
        self.latency = Some(delay);
        self.rebuild();
        self
    }

    /// The calls made so far through these clients.
    pub fn api_calls(&self) -> ApiCalls {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Checks with STS GetCallerIdentity that each account's credentials
    /// belong to that account (one read per account).
    pub async fn check_identities(&self) -> Result<(), Error> {
        for (id, clients) in &self.clients {
            let sts = &clients.sts;
            let out = self
                .call(id, Service::Sts, "GetCallerIdentity", || sts.get_caller_identity().send())
                .await
                .map_err(|e| self.fail(id, Service::Sts, "GetCallerIdentity", e))?;
            let actual = out.account().unwrap_or_default();
            if actual != id.as_str() {
                return Err(Error::WrongAccount { expected: id.clone(), actual: actual.to_owned() });
            }
        }
        Ok(())
    }

    /// The SDK config of one account, as loaded (for callers that make their own clients).
    pub fn sdk_config(&self, account: &AccountId) -> Option<&SdkConfig> {
        self.configs.get(account)
    }

    /// The accounts these clients reach.
    pub fn ids(&self) -> impl Iterator<Item = &AccountId> {
        self.configs.keys()
    }

    pub(crate) fn clients(&self, account: &AccountId) -> Result<&Clients, Error> {
        self.clients.get(account).ok_or_else(|| Error::NoAccount(account.clone()))
    }

    fn rebuild(&mut self) {
        let mut clients = BTreeMap::new();
        for (id, config) in &self.configs {
            clients.insert(id.clone(), self.build(config));
        }
        self.clients = clients;
    }

    fn build(&self, config: &SdkConfig) -> Clients {
        // An SdkConfig usually carries no HTTP client (each service picks its default
        // when it runs), so build the same default here to wrap it.
        let http = self.latency.map(|delay| {
            let inner = config.http_client().unwrap_or_else(|| {
                use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
                aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::AwsLc)).build_https()
            });
            SharedHttpClient::new(Delayed { inner, delay })
        });
        macro_rules! client {
            ($sdk:ident $(, $extra:ident($arg:expr))*) => {{
                let mut builder = $sdk::config::Builder::from(config).retry_config(RetryConfig::disabled());
                for interceptor in &self.interceptors {
                    builder = builder.interceptor(interceptor.clone());
                }
                if let Some(http) = &http {
                    builder = builder.http_client(http.clone());
                }
                $(builder = builder.$extra($arg);)*
                $sdk::Client::from_conf(builder.build())
            }};
        }
        Clients {
            iam: client!(aws_sdk_iam),
            s3: client!(aws_sdk_s3, force_path_style(config.endpoint_url().is_some())),
            kms: client!(aws_sdk_kms),
            sts: client!(aws_sdk_sts),
        }
    }

    fn count(&self, account: &AccountId, service: Service, call: &str) {
        if let Ok(mut calls) = self.calls.lock() {
            let counts = calls.by_account.entry(account.clone()).or_default().entry(service).or_default();
            if is_write(call) {
                counts.writes += 1;
            } else {
                counts.reads += 1;
            }
        }
    }

    /// Makes one call, counting every attempt and retrying, with jittered
    /// exponential backoff and a bound, what is worth retrying: throttling,
    /// 5xx, connection failures, and the "invalid principal" that IAM, S3 and
    /// KMS return for a principal created moments ago. Other failures are returned as they are.
    pub(crate) async fn call<T, E, F, Fut>(
        &self,
        account: &AccountId,
        service: Service,
        call: &'static str,
        mut send: F,
    ) -> Result<T, SdkError<E, HttpResponse>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            self.count(account, service, call);
            let err = match send().await {
                Ok(out) => return Ok(out),
                Err(err) => err,
            };
            let Some(retry) = retry_kind(&err) else { return Err(err) };
            let (max, base) = match retry {
                Retry::Transient => (6, Duration::from_millis(200)),
                Retry::Propagation => (8, Duration::from_millis(500)),
            };
            if attempt >= max {
                tracing::warn!(%account, %service, call, attempt, "giving up after {attempt} attempts");
                return Err(err);
            }
            let cap = (base * 2u32.pow(attempt - 1)).min(Duration::from_secs(8));
            let delay = Duration::from_millis(
                rand::thread_rng().gen_range(cap.as_millis() as u64 / 2..=cap.as_millis() as u64),
            );
            tracing::warn!(
                %account, %service, call, attempt, delay_ms = delay.as_millis() as u64,
                reason = ?retry, error = %describe(&err),
                "retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// The [`Error`] for a failed call: AccessDenied gets a hint.
    pub(crate) fn fail<E>(
        &self,
        account: &AccountId,
        service: Service,
        call: &'static str,
        err: SdkError<E, HttpResponse>,
    ) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let code = err.code().map(str::to_owned);
        let message = describe(&err);
        let denied =
            matches!(code.as_deref(), Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation"))
                || status(&err) == Some(403);
        if denied {
            let profile = format!("the credentials for account `{account}` (its `aws_profile`, or the default chain)");
            let hint = format!("{profile} must allow `{service}:{call}`; check that they belong to account `{account}` and that no SCP or permission boundary denies it");
            return Error::AccessDenied { account: account.clone(), service, call, message, hint };
        }
        Error::Call { account: account.clone(), service, call, code, message }
    }
}

#[derive(Debug, Clone, Copy)]
enum Retry {
    Transient,
    Propagation,
}

fn status<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

fn retry_kind<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Option<Retry> {
    match err {
        SdkError::TimeoutError(_) => return Some(Retry::Transient),
        SdkError::DispatchFailure(f) if f.is_io() || f.is_timeout() => return Some(Retry::Transient),
        SdkError::ServiceError(_) => {}
        _ => return None,
    }
    let code = err.code().unwrap_or_default();
    let message = err.message().unwrap_or_default().to_ascii_lowercase();
    const THROTTLING: [&str; 7] = [
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "SlowDown",
        "RequestThrottled",
    ];
    let status = status(err).unwrap_or_default();
    if THROTTLING.contains(&code) || status == 429 || status >= 500 {
        return Some(Retry::Transient);
    }
    let malformed = matches!(code, "MalformedPolicyDocument" | "MalformedPolicy" | "MalformedPolicyDocumentException");
    if malformed && (message.contains("invalid principal") || message.contains("invalid principals")) {
        return Some(Retry::Propagation);
    }
    None
}

/// The code and message of a failure, or the SDK's own description.
pub(crate) fn describe<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => {
            let mut text = err.to_string();
            let mut source = std::error::Error::source(err);
            while let Some(s) = source {
                text.push_str(&format!(": {s}"));
                source = s.source();
            }
            match status(err) {
                Some(status) => format!("{text} (HTTP {status})"),
                None => text,
            }
        }
    }
}

/// True when the failure says the thing does not exist: the code, or HTTP 404
/// when the code cannot be read (moto's IAM errors with its checks on).
pub(crate) fn is_not_found<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>, codes: &[&str]) -> bool {
    match err.code() {
        Some(code) => codes.contains(&code),
        None => status(err) == Some(404),
    }
}

/// An HTTP client that waits before each request.
#[derive(Debug)]
struct Delayed {
    inner: SharedHttpClient,
    delay: Duration,
}

impl HttpClient for Delayed {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(DelayedConnector {
            inner: self.inner.http_connector(settings, components),
            delay: self.delay,
        })
    }
}

#[derive(Debug)]
struct DelayedConnector {
    inner: SharedHttpConnector,
    delay: Duration,
}

impl HttpConnector for DelayedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (inner, delay) = (self.inner.clone(), self.delay);
        HttpConnectorFuture::new(async move {
            tokio::time::sleep(delay).await;
            inner.call(request).await
        })
    }
}

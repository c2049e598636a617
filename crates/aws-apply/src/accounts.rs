//! One set of SDK clients per account, and the one path every call takes:
//! counted, retried when the failure is transient, and turned into an
//! [`Error`] that names the account, the call and what to do.
//!
//! The SDK's own retries are off, so that every attempt is counted and logged
//! here, under the rules of [`retry`]. Every client has the
//! connect, read and attempt timeouts of [`Timeouts`].

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::retries::ErrorKind;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use policy_model::{AccountId, Flow};
use serde::Serialize;

use crate::retry::{self, AccessOptions, Budget, Class, Timeouts};

/// An AWS service xacct calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// IAM: roles, instance profiles, their policies and tags.
    Iam,
    /// S3: bucket policies and Object Ownership.
    S3,
    /// KMS: key policies.
    Kms,
    /// STS: the caller identity check.
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
    /// A call for an account that is neither A nor a bucket owner of the flow.
    #[error("no AWS clients for account `{0}`: it is not in the flow")]
    NoAccount(AccountId),
    /// The credentials may not make the call (`AccessDenied` or HTTP 403).
    #[error("access denied in account `{account}` calling {service}:{call}: {message}. Hint: {hint}")]
    AccessDenied {
        /// The account the call was made in.
        account: AccountId,
        /// The service called.
        service: Service,
        /// The SDK operation, e.g. `PutBucketPolicy`.
        call: &'static str,
        /// The service's message.
        message: String,
        /// What to check: the account's credentials, SCPs, permission boundaries.
        hint: String,
    },
    /// Any other failed call, after the retries of a transient failure.
    #[error("{service}:{call} in account `{account}` failed{}: {message}", .code.as_deref().map(|c| format!(" with `{c}`")).unwrap_or_default())]
    Call {
        /// The account the call was made in.
        account: AccountId,
        /// The service called.
        service: Service,
        /// The SDK operation, e.g. `PutBucketPolicy`.
        call: &'static str,
        /// The service's error code, e.g. `NoSuchEntity`, when it gave one.
        code: Option<String>,
        /// The service's message, or the transport error.
        message: String,
    },
    /// The call got no answer: the connection failed or timed out, after the retries.
    #[error("cannot reach {service} at `{endpoint}` for account `{account}` ({call}): {message}. Hint: check `AWS_ENDPOINT_URL`, the network and the proxy settings")]
    Unreachable {
        /// The account the call was made in.
        account: AccountId,
        /// The service called.
        service: Service,
        /// The SDK operation, e.g. `PutBucketPolicy`.
        call: &'static str,
        /// The URL called: `AWS_ENDPOINT_URL` or the service's regional endpoint.
        endpoint: String,
        /// The transport error.
        message: String,
    },
    /// A role or instance profile xacct was to create already exists and is not xacct's.
    #[error("{resource} in account `{account}` already exists but {why}: xacct will not take it over; delete or rename it, or fix the config")]
    NotOurs {
        /// The account it is in.
        account: AccountId,
        /// What it is, e.g. ``role `MyRoleA` ``.
        resource: String,
        /// Why it is not xacct's, e.g. that it has no xacct tag.
        why: String,
    },
    /// A policy changed between the plan's read and the write, and the change touched statements
    /// of ours: nothing was written to it, so that neither writer's change is lost.
    #[error("{resource} in account `{account}` changed since xacct read it, and the change touched xacct's own statements {sids}: nothing was written to it; run `plan` to see the document as it is now, then run `provision` again")]
    Conflict {
        /// The account it is in.
        account: AccountId,
        /// The document, as the plan names it.
        resource: String,
        /// Our Sids that were added, removed or changed, in backticks, comma-separated.
        sids: String,
    },
    /// A policy changed between the plan's read and the write, and with that change and ours it
    /// would pass its size limit.
    #[error("{resource} in account `{account}` changed since xacct read it; with that change and xacct's statements it would be {size} characters without whitespace, over the limit of {limit}: nothing was written to it")]
    ConflictTooLarge {
        /// The account it is in.
        account: AccountId,
        /// The document, as the plan names it.
        resource: String,
        /// Characters of the merged document, without whitespace.
        size: usize,
        /// The limit of its kind.
        limit: usize,
    },
    /// The identity check: the credentials configured for an account belong to another.
    #[error("the credentials for account `{expected}` belong to account `{actual}`: fix its `aws_profile`")]
    WrongAccount {
        /// The account the flow names.
        expected: AccountId,
        /// The account `sts:GetCallerIdentity` answered.
        actual: String,
    },
    /// A call returned a policy that does not parse as a policy document.
    #[error(
        "{service}:{call} in account `{account}` returned `{document}`, which is not a policy document: {message}"
    )]
    BadDocument {
        /// The account the call was made in.
        account: AccountId,
        /// The service called.
        service: Service,
        /// The SDK operation, e.g. `PutBucketPolicy`.
        call: &'static str,
        /// The text returned, URL-decoded.
        document: String,
        /// Why it does not parse.
        message: String,
    },
}

/// Reads and writes of one account and service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Calls that change nothing (`Get*`, `List*`, `Head*`, `Describe*`), retries included.
    pub reads: u64,
    /// Calls that change state (see [`is_write`]), retries included.
    pub writes: u64,
}

/// Every AWS call made, per account and service. Retries count as calls.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApiCalls {
    /// Account → service → counts; an account or service with no call is absent.
    pub by_account: BTreeMap<AccountId, BTreeMap<Service, Counts>>,
}

impl ApiCalls {
    /// Read calls over every account and service.
    pub fn reads(&self) -> u64 {
        self.by_account.values().flat_map(|m| m.values()).map(|c| c.reads).sum()
    }
    /// Write calls over every account and service.
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

impl Error {
    /// The AWS error code of a failed call, when the service sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Call { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Clients {
    pub iam: aws_sdk_iam::Client,
    pub s3: aws_sdk_s3::Client,
    pub sts: aws_sdk_sts::Client,
}

/// The SDK clients (IAM, S3, KMS, STS) of every account in a flow, with one
/// retry budget and one set of call counters for all of them.
#[derive(Clone, Debug)]
pub struct Accounts {
    configs: BTreeMap<AccountId, SdkConfig>,
    clients: BTreeMap<AccountId, Clients>,
    /// KMS clients by account and region: a key is called in its ARN's region.
    kms: Arc<Mutex<BTreeMap<(AccountId, String), aws_sdk_kms::Client>>>,
    interceptors: Vec<SharedInterceptor>,
    latency: Option<Duration>,
    options: AccessOptions,
    budget: Budget,
    calls: Arc<Mutex<ApiCalls>>,
}

impl Accounts {
    /// Clients for account A and every bucket owner, each from its named
    /// profile or, without one, from the default credential chain. The
    /// endpoint is the SDK's (so `AWS_ENDPOINT_URL` is honoured), and S3 uses
    /// path-style addressing only when an endpoint override is set. No call is made.
    pub async fn load(flow: &Flow, profiles: &BTreeMap<AccountId, Option<String>>) -> Result<Accounts, Error> {
        let mut ids: Vec<AccountId> = flow.deployment().map(|d| d.account_id.clone()).into_iter().collect();
        ids.extend(flow.owners().iter().map(|o| o.account_id.clone()));
        ids.extend(flow.unity_owners().iter().map(|o| o.account_id.clone()));
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
        let options = AccessOptions::default();
        let mut accounts = Accounts {
            configs,
            clients: BTreeMap::new(),
            kms: Arc::default(),
            interceptors: Vec::new(),
            latency: None,
            budget: Budget::new(options.retry.run_budget),
            options,
            calls: Arc::default(),
        };
        accounts.rebuild();
        accounts
    }

    /// The same accounts with other retry bounds and timeouts (and a fresh run budget).
    pub fn with_options(mut self, options: AccessOptions) -> Accounts {
        self.budget = Budget::new(options.retry.run_budget);
        self.options = options;
        self.rebuild();
        self
    }

    /// The retry bounds and timeouts in use.
    pub fn options(&self) -> &AccessOptions {
        &self.options
    }

    /// The retries left in this run's budget.
    pub fn retries_left(&self) -> u32 {
        self.budget.left()
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
    /// belong to that account (one read per account). Run it before `plan`,
    /// `provision`, `destroy` and a live `verify`.
    pub async fn check_identities(&self) -> Result<(), Error> {
        crate::backend::check_identities(self, self.configs.keys()).await
    }

    /// The SDK config of one account, as loaded (for callers that make their own clients).
    pub fn sdk_config(&self, account: &AccountId) -> Option<&SdkConfig> {
        self.configs.get(account)
    }

    /// The accounts these clients reach.
    pub fn ids(&self) -> impl Iterator<Item = &AccountId> {
        self.configs.keys()
    }

    /// An STS client for `config` (account A's, or a session's) with this
    /// layer's timeouts and interceptors, plus `extra`. Make its calls through
    /// [`Accounts::call`] to have them counted and retried.
    pub fn sts_client(&self, config: &SdkConfig, extra: &[SharedInterceptor]) -> aws_sdk_sts::Client {
        self.build_sts(config, extra)
    }

    /// An S3 client for `config`, as [`Accounts::sts_client`] makes an STS client
    /// (path-style addressing when the endpoint is overridden).
    pub fn s3_client(&self, config: &SdkConfig, extra: &[SharedInterceptor]) -> aws_sdk_s3::Client {
        self.build_s3(config, extra)
    }

    pub(crate) fn clients(&self, account: &AccountId) -> Result<&Clients, Error> {
        self.clients.get(account).ok_or_else(|| Error::NoAccount(account.clone()))
    }

    /// The KMS client of `account` in the region of `key_arn` (the flow's region when the ARN has none).
    pub(crate) fn kms(&self, account: &AccountId, key_arn: &str) -> Result<aws_sdk_kms::Client, Error> {
        let config = self.configs.get(account).ok_or_else(|| Error::NoAccount(account.clone()))?;
        let region = key_region(key_arn)
            .map(str::to_owned)
            .or_else(|| config.region().map(|r| r.to_string()))
            .unwrap_or_default();
        let mut cache = self.kms.lock().map_err(|_| Error::NoAccount(account.clone()))?;
        let client = cache.entry((account.clone(), region.clone())).or_insert_with(|| {
            let config = config.to_builder().region(Region::new(region)).build();
            self.build_kms(&config)
        });
        Ok(client.clone())
    }

    fn rebuild(&mut self) {
        let mut clients = BTreeMap::new();
        for (id, config) in &self.configs {
            clients.insert(
                id.clone(),
                Clients {
                    iam: self.build_iam(config),
                    s3: self.build_s3(config, &[]),
                    sts: self.build_sts(config, &[]),
                },
            );
        }
        self.clients = clients;
        if let Ok(mut kms) = self.kms.lock() {
            kms.clear();
        }
    }

    fn http(&self, config: &SdkConfig) -> Option<SharedHttpClient> {
        // An SdkConfig usually carries no HTTP client (each service picks its default
        // when it runs), so build the same default here to wrap it.
        self.latency.map(|delay| {
            let inner = config.http_client().unwrap_or_else(|| {
                use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
                aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::AwsLc)).build_https()
            });
            SharedHttpClient::new(Delayed { inner, delay })
        })
    }

    fn timeout_config(&self) -> TimeoutConfig {
        let t: &Timeouts = &self.options.timeouts;
        TimeoutConfig::builder()
            .connect_timeout(t.connect)
            .read_timeout(t.read)
            .operation_attempt_timeout(t.attempt)
            .build()
    }
}

macro_rules! build_client {
    ($fn:ident, $sdk:ident $(, $extra:ident)*) => {
        impl Accounts {
            fn $fn(&self, config: &SdkConfig $(, $extra: &[SharedInterceptor])*) -> $sdk::Client {
                let mut builder = $sdk::config::Builder::from(config)
                    .retry_config(RetryConfig::disabled())
                    .timeout_config(self.timeout_config());
                for interceptor in &self.interceptors {
                    builder = builder.interceptor(interceptor.clone());
                }
                $(for interceptor in $extra {
                    builder = builder.interceptor(interceptor.clone());
                })*
                if let Some(http) = self.http(config) {
                    builder = builder.http_client(http);
                }
                build_client!(@finish $sdk, builder, config)
            }
        }
    };
    (@finish aws_sdk_s3, $builder:ident, $config:ident) => {
        aws_sdk_s3::Client::from_conf($builder.force_path_style($config.endpoint_url().is_some()).build())
    };
    (@finish $sdk:ident, $builder:ident, $config:ident) => {
        $sdk::Client::from_conf($builder.build())
    };
}

build_client!(build_iam, aws_sdk_iam);
build_client!(build_kms, aws_sdk_kms);
build_client!(build_s3, aws_sdk_s3, extra);
build_client!(build_sts, aws_sdk_sts, extra);

/// The region of a KMS key ARN: `arn:aws:kms:<region>:<account>:key/<id>`.
pub(crate) fn key_region(key_arn: &str) -> Option<&str> {
    let mut parts = key_arn.splitn(6, ':');
    let (_, _, service, region) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    (service == "kms" && !region.is_empty()).then_some(region)
}

impl Accounts {
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

    /// Makes one call, counting every attempt and retrying under the rules of
    /// [`retry`]: transient failures with jittered backoff,
    /// a refused connection once, a principal IAM does not know yet for longer,
    /// all within the per-call bound and the run's budget. Other failures are returned as they are.
    pub async fn call<T, E, F, Fut>(
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
        let options = &self.options.retry;
        let started = Instant::now();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            self.count(account, service, call);
            let err = match send().await {
                Ok(out) => return Ok(out),
                Err(err) => err,
            };
            let class = classify(&err);
            if class == Class::Fatal {
                return Err(err);
            }
            if attempt >= options.attempts(class) {
                tracing::warn!(%account, %service, call, attempt, reason = ?class, "giving up after {attempt} attempts");
                return Err(err);
            }
            let delay = options.delay(class, attempt);
            if started.elapsed() + delay > options.call_budget {
                tracing::warn!(%account, %service, call, attempt, "giving up: the call's retry time is spent");
                return Err(err);
            }
            if !self.budget.take() {
                tracing::warn!(%account, %service, call, attempt, "giving up: the run's retry budget is spent");
                return Err(err);
            }
            tracing::warn!(
                %account, %service, call, attempt, delay_ms = delay.as_millis() as u64,
                reason = ?class, error = %describe(&err),
                "retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// The [`Error`] for a failed call: AccessDenied gets a hint, and a call
    /// that reached no server names the endpoint.
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
            let mut hint = format!("{profile} must allow `{service}:{call}`; check that they belong to account `{account}` and that no SCP or permission boundary denies it");
            if let Some(more) = crate::roles::access_denied_hint(call) {
                hint.push_str("; ");
                hint.push_str(more);
            }
            return Error::AccessDenied { account: account.clone(), service, call, message, hint };
        }
        if matches!(err, SdkError::DispatchFailure(_) | SdkError::TimeoutError(_)) {
            let endpoint = self.endpoint(account, service);
            return Error::Unreachable { account: account.clone(), service, call, endpoint, message };
        }
        Error::Call { account: account.clone(), service, call, code, message }
    }

    /// The endpoint a service is called at, for messages.
    fn endpoint(&self, account: &AccountId, service: Service) -> String {
        let config = self.configs.get(account);
        match config.and_then(|c| c.endpoint_url()) {
            Some(url) => url.to_owned(),
            None => {
                let region = config.and_then(|c| c.region()).map(|r| r.to_string()).unwrap_or_default();
                format!("https://{service}.{region}.amazonaws.com")
            }
        }
    }
}

fn status<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// The retry class of a failed SDK call.
pub(crate) fn classify<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Class {
    match err {
        SdkError::TimeoutError(_) => Class::Transient,
        SdkError::DispatchFailure(f) => {
            if f.as_connector_error().is_some_and(|c| retry::is_refused(c)) {
                Class::Refused
            } else if f.is_io() || f.is_timeout() || f.as_other() == Some(ErrorKind::TransientError) {
                Class::Transient
            } else {
                // A user error (a bad URL) or a failure an interceptor injected.
                Class::Fatal
            }
        }
        SdkError::ServiceError(_) => {
            retry::classify_reply(status(err).unwrap_or_default(), err.code(), err.message().unwrap_or_default())
        }
        SdkError::ResponseError(_) if status(err).is_some_and(|s| s >= 500) => Class::Transient,
        _ => Class::Fatal,
    }
}

/// The code and message of a failed SDK call in one line, or, when the reply carried none (a
/// dispatch failure, an unparsable body), the SDK's error with its sources and the HTTP status.
/// Every crate that reports an AWS failure words it through this one function.
pub fn describe<E>(err: &SdkError<E, HttpResponse>) -> String
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

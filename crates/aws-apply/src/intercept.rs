//! SDK interceptors for testing a run against an emulator: a crash at the
//! k-th write, and an error answer in place of a real one. Add them with
//! [`Accounts::with_interceptor`](crate::Accounts::with_interceptor).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextMut, BeforeDeserializationInterceptorContextRef,
    BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;

use crate::accounts::is_write;

fn operation(cfg: &ConfigBag) -> String {
    cfg.load::<Metadata>().map(|m| m.name().to_owned()).unwrap_or_default()
}

/// When the injected failure happens, relative to the write it hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailAt {
    /// The k-th write never reaches the server.
    BeforeSend,
    /// The k-th write reaches the server and takes effect, but its answer is lost.
    AfterSend,
}

/// Fails the k-th write call (1-based) of every client it is added to, as a
/// crash would. Clones share one counter. With `k = 0` it fails nothing and only counts.
#[derive(Debug, Clone)]
pub struct FailNthWrite {
    k: usize,
    at: FailAt,
    seen: Arc<AtomicUsize>,
}

impl FailNthWrite {
    /// Fails the `k`-th write (1-based; 0 fails none) at the point `at`.
    pub fn new(k: usize, at: FailAt) -> FailNthWrite {
        FailNthWrite { k, at, seen: Arc::default() }
    }

    /// The write calls seen so far.
    pub fn writes_seen(&self) -> usize {
        self.seen.load(Ordering::SeqCst)
    }

    fn hit(&self, cfg: &ConfigBag) -> Result<(), BoxError> {
        let op = operation(cfg);
        if !is_write(&op) {
            return Ok(());
        }
        let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.k {
            return Err(format!("injected failure at write {n} ({op}, {:?})", self.at).into());
        }
        Ok(())
    }
}

impl Intercept for FailNthWrite {
    fn name(&self) -> &'static str {
        "FailNthWrite"
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        match self.at {
            FailAt::BeforeSend => self.hit(cfg),
            FailAt::AfterSend => Ok(()),
        }
    }

    fn read_before_deserialization(
        &self,
        _: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        match self.at {
            FailAt::AfterSend => self.hit(cfg),
            FailAt::BeforeSend => Ok(()),
        }
    }
}

/// Replaces the answer to the first `times` calls of one operation with an
/// error answer (the request itself still reaches the server). For testing
/// retries of errors an emulator never gives, such as IAM's "Invalid principal".
#[derive(Debug, Clone)]
pub struct ReplaceAnswer {
    operation: &'static str,
    times: usize,
    status: u16,
    body: String,
    done: Arc<AtomicUsize>,
}

impl ReplaceAnswer {
    /// Answers the first `times` calls of `operation` (an SDK operation name such as `CreateRole`)
    /// with HTTP `status` and `body` (the service's error document, e.g. IAM's XML).
    pub fn new(operation: &'static str, times: usize, status: u16, body: impl Into<String>) -> ReplaceAnswer {
        ReplaceAnswer { operation, times, status, body: body.into(), done: Arc::default() }
    }

    /// How many answers were replaced.
    pub fn replaced(&self) -> usize {
        self.done.load(Ordering::SeqCst)
    }
}

impl Intercept for ReplaceAnswer {
    fn name(&self) -> &'static str {
        "ReplaceAnswer"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if operation(cfg) != self.operation {
            return Ok(());
        }
        let replaced =
            self.done.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| (n < self.times).then_some(n + 1));
        if replaced.is_ok() {
            let response = context.response_mut();
            *response.status_mut() = StatusCode::try_from(self.status)?;
            *response.body_mut() = SdkBody::from(self.body.clone());
        }
        Ok(())
    }
}

//! tower interop (feature `tower`): any [`HttpGet`] as a `tower::Service`, and back.
//!
//! tower is the Rust ecosystem's convention for this pattern: a [`Service`] is a component, a
//! `Layer` wraps one service in another, and axum, tonic and hyper are built on it. The two
//! adapters here let both worlds stack on each other:
//!
//! * [`HttpService`]: any `HttpGet` as a `Service<String>` (a URL in, the body out), so tower's
//!   own layers (timeout, retry, concurrency limit, load shed, buffer) wrap this crate's clients
//!   and decorators;
//! * [`FromService`]: any such service as an `HttpGet`, so this crate's decorators (and every
//!   pattern that fetches through `HttpGet`) wrap a tower stack;
//! * [`TowerRetry`]: a [`RetryPolicy`] as a `tower::retry::Policy`, so one policy decides
//!   alike in both stacks, down to the final error.
//!
//! ```
//! use std::time::Duration;
//! use async_patterns::decorator::{FromService, HttpService, RetryPolicy, TowerRetry};
//! use async_patterns::http::{HttpError, HttpGet};
//! use tower::ServiceBuilder;
//!
//! struct Echo;
//! #[async_trait::async_trait]
//! impl HttpGet for Echo {
//!     async fn get(&self, url: &str) -> Result<String, HttpError> { Ok(format!("page {url}")) }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! // tower's layers, read outside in: a retry around a 2 s timeout around the client.
//! let stack = ServiceBuilder::new()
//!     .retry(TowerRetry::new(RetryPolicy::default()))
//!     .timeout(Duration::from_secs(2))
//!     .service(HttpService::new(Echo));
//! let http = FromService::new(stack); // and back to an `HttpGet`
//! assert_eq!(http.get("/a").await.unwrap(), "page /a");
//! # }
//! ```
//!
//! # Which to pick
//! * **tower** when the code already lives in a tower stack (an axum or tonic service, hyper
//!   middleware, `tower-http`), when back-pressure must travel through `poll_ready` (load
//!   shedding and buffering depend on it), or for what this crate does not have (load
//!   balancing, reconnecting, tower's own hedge). Its price: `&mut self` and `Clone` services,
//!   errors as `BoxError` to downcast, and read-outside-in stacking.
//! * **The hand-made decorators** when the component is a plain async trait (`&self`, typed
//!   errors, no readiness), for a breaker or a token bucket on tokio's clock with observable
//!   state, for a retry whose budget also cuts an attempt short (tower's policy only chooses the
//!   waits), and to read: each is one `impl` of the trait it decorates.
//!
//! Both cost about the same per layer (measured in `benches/decorator.rs`), and each wraps the
//! other through these adapters, so the choice can be made layer by layer.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use ::tower::{Service, ServiceExt};
use async_trait::async_trait;
use tokio::time::{Instant, Sleep};

use super::errors::DecoratorError;
use super::retry::{Next, RetryPolicy, gave_up};
use crate::http::{BoxError, HttpError, HttpGet};
use crate::support::lock;

/// Any [`HttpGet`] as a `tower::Service<String>`: a URL in, the body out. Clones share the
/// client. Always ready: a client has no capacity of its own to report.
pub struct HttpService<H: ?Sized>(Arc<H>);

impl<H> HttpService<H> {
    /// `client` as a service.
    pub fn new(client: H) -> Self {
        HttpService(Arc::new(client))
    }
}

impl<H: ?Sized> HttpService<H> {
    /// A shared client (an `Arc<dyn HttpGet>`, say) as a service.
    pub fn shared(client: Arc<H>) -> Self {
        HttpService(client)
    }
}

impl<H: ?Sized> Clone for HttpService<H> {
    fn clone(&self) -> Self {
        HttpService(Arc::clone(&self.0))
    }
}

impl<H: ?Sized> std::fmt::Debug for HttpService<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HttpService")
    }
}

/// The future of one [`HttpService`] call: the client's own boxed future.
pub type HttpFuture = Pin<Box<dyn Future<Output = Result<String, HttpError>> + Send>>;

impl<H: HttpGet + ?Sized + 'static> Service<String> for HttpService<H> {
    type Response = String;
    type Error = HttpError;
    type Future = HttpFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), HttpError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, url: String) -> HttpFuture {
        // The future owns the URL and a handle to the client, as tower wants ('static).
        let client = Arc::clone(&self.0);
        Box::pin(async move { client.get(&url).await })
    }
}

/// Any `tower::Service<String, Response = String>` as an [`HttpGet`].
///
/// Each call clones the service and drives the clone (`oneshot`: ready, then call), as tower
/// services are meant to be shared. A service need not be `Sync`, so it is kept in a mutex that
/// is held only for the clone, never across an `.await`.
///
/// Errors: an [`HttpError`] inside the service's error comes back as itself; anything else (one
/// of tower's own, like its timeout's `Elapsed`) as [`DecoratorError::Service`], which
/// [`is_transient`](super::is_transient) knows for tower's timeout.
pub struct FromService<S>(Mutex<S>);

impl<S> FromService<S> {
    /// `service` as an `HttpGet`.
    pub fn new(service: S) -> Self {
        FromService(Mutex::new(service))
    }
}

impl<S> std::fmt::Debug for FromService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FromService")
    }
}

#[async_trait]
impl<S> HttpGet for FromService<S>
where
    S: Service<String, Response = String> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send,
{
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        let service = lock(&self.0).clone();
        let result = service.oneshot(url.to_owned()).await;
        result.map_err(|e| into_http_error(url, e.into()))
    }
}

/// A service's error as an [`HttpError`]: itself if it is one, else wrapped.
fn into_http_error(url: &str, error: BoxError) -> HttpError {
    match error.downcast::<HttpError>() {
        Ok(http) => *http,
        Err(source) => {
            let url = url.to_owned();
            DecoratorError::Service { url, source }.into()
        }
    }
}

/// A [`RetryPolicy`] as a `tower::retry::Policy`, for `ServiceBuilder::retry`.
///
/// The waits, the attempts, the budget and the retryable failures are the policy's, decided by
/// [`RetryPolicy::after_failure`] as in the hand-made [`Retry`](super::Retry); so is the final
/// error ([`DecoratorError::GaveUp`] after more than one attempt). One difference: tower's
/// retry cannot cut an attempt short, so the budget only decides whether to wait and try again
/// (put a timeout inside the retry to bound each attempt).
#[derive(Debug, Clone)]
pub struct TowerRetry {
    policy: RetryPolicy,
    attempt: u32,
    started: Instant,
}

impl TowerRetry {
    /// `policy` for tower.
    pub fn new(policy: RetryPolicy) -> Self {
        TowerRetry {
            policy,
            attempt: 0,
            started: Instant::now(),
        }
    }

    /// Attempt number `self.attempt + 1` failed with `error`: the wait before the next, or none
    /// (and `error` becomes the final error).
    fn decide(&mut self, url: &str, error: &mut HttpError) -> Option<Sleep> {
        self.attempt += 1; // at most `attempts`: `after_failure` gives up there
        let elapsed = self.started.elapsed();
        match self.policy.after_failure(self.attempt, elapsed, error) {
            Next::RetryIn(wait) => Some(tokio::time::sleep(wait)),
            Next::GiveUp(reason) => {
                let last = std::mem::replace(error, placeholder());
                *error = gave_up(url, self.attempt, elapsed, reason, last);
                None
            }
        }
    }

    fn start(&mut self, url: &str) -> Option<String> {
        // tower calls this on the service's policy before the first attempt (then clones the
        // policy for the request), and on the request's own clone before each retry.
        if self.attempt == 0 {
            self.started = Instant::now();
        }
        Some(url.to_owned())
    }
}

fn placeholder() -> HttpError {
    HttpError::Client {
        reason: String::new(),
    }
}

/// For a service whose error is an [`HttpError`] ([`HttpService`] and what keeps its error).
impl ::tower::retry::Policy<String, String, HttpError> for TowerRetry {
    type Future = Sleep;

    fn retry(&mut self, url: &mut String, result: &mut Result<String, HttpError>) -> Option<Sleep> {
        let Err(error) = result else { return None };
        self.decide(url, error)
    }

    fn clone_request(&mut self, url: &String) -> Option<String> {
        self.start(url)
    }
}

/// For a service whose error is a `BoxError` (behind tower's timeout, buffer or load shed).
impl ::tower::retry::Policy<String, String, BoxError> for TowerRetry {
    type Future = Sleep;

    fn retry(&mut self, url: &mut String, result: &mut Result<String, BoxError>) -> Option<Sleep> {
        let Err(error) = result else { return None };
        let boxed = std::mem::replace(error, Box::new(placeholder()));
        let mut http = into_http_error(url, boxed);
        let next = self.decide(url, &mut http);
        *error = Box::new(http);
        next
    }

    fn clone_request(&mut self, url: &String) -> Option<String> {
        self.start(url)
    }
}

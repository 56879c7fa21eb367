//! Composition: decorators stacked by a builder, by plain nesting, or around a closure.
//!
//! Each decorator is an `HttpGet` around an `HttpGet`, so they nest like any values:
//! `Retry::new(Timeout::new(client, limit), policy)`. [`Layers`] writes the same nesting in the
//! order a reader thinks of it, inside out: each method wraps what is built so far.
//!
//! ```text
//! Layers::new(client).timeout(t).retry(p).breaker(&c).build()
//!   == Breaker::new(Retry::new(Timeout::new(client, t), p), &c)
//! ```
//!
//! (tower's `ServiceBuilder` reads the other way, outside in: its first layer is the outermost.)
//!
//! # Why order matters
//! A decorator sees only what is inside it. A timeout inside a retry limits *each attempt*; the
//! same timeout outside limits *the whole*, waits included:
//!
//! ```
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use std::time::Duration;
//! use async_patterns::decorator::{Layers, NoJitter, RetryPolicy};
//! use async_patterns::http::{HttpError, HttpGet};
//!
//! /// Slow the first time (2 s), quick after (100 ms).
//! #[derive(Default)]
//! struct Warming(AtomicU32);
//!
//! #[async_trait::async_trait]
//! impl HttpGet for Warming {
//!     async fn get(&self, url: &str) -> Result<String, HttpError> {
//!         let first = self.0.fetch_add(1, Ordering::SeqCst) == 0;
//!         tokio::time::sleep(Duration::from_millis(if first { 2000 } else { 100 })).await;
//!         Ok(format!("page {url}"))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
//! let ms = Duration::from_millis;
//! let policy = RetryPolicy::default().backoff(ms(50), ms(50)).jitter(NoJitter);
//!
//! // Inside: the slow first attempt is cut at 500 ms, and the second answers.
//! let each = Layers::new(Warming::default()).timeout(ms(500)).retry(policy.clone()).build();
//! let start = tokio::time::Instant::now();
//! assert!(each.get("/a").await.is_ok());
//! assert_eq!(start.elapsed(), ms(500 + 50 + 100));
//!
//! // Outside: the first attempt alone outlasts the limit, and nothing is left to retry it.
//! let whole = Layers::new(Warming::default()).retry(policy).timeout(ms(500)).build();
//! assert!(whole.get("/a").await.is_err());
//! # }
//! ```
//!
//! The other orders follow the same rule. A breaker inside a retry counts every attempt, and
//! its open circuit ends the retry at once (an open circuit is not
//! [transient](super::is_transient)). Outside, it sees one outcome per *call*, and a retry that
//! gave up is not transient either: a breaker there counts it only when told to
//! ([`Circuit::counting`](super::Circuit::counting)), else it never opens. A concurrency
//! limit outside a retry holds its permit through the waits; inside, only during attempts. A
//! hedge outside a retry races two whole retry loops; inside, each attempt may be hedged.
//!
//! # A decorator from a closure
//! For a one-off behaviour, [`Layers::around`] (or [`Around::new`]) takes an async closure
//! that gets the inner client and the URL, and decides when and how to call it:
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use async_patterns::decorator::{DecoratorError, Layers, RetryPolicy};
//! use async_patterns::http::{HttpError, HttpGet};
//!
//! # struct Echo;
//! # #[async_trait::async_trait]
//! # impl HttpGet for Echo {
//! #     async fn get(&self, url: &str) -> Result<String, HttpError> { Ok(url.to_owned()) }
//! # }
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! // The Timeout decorator, as a closure: the same place in the stack, the same errors.
//! let limit = Duration::from_secs(1);
//! let http = Layers::new(Echo)
//!     .around(move |inner: Arc<dyn HttpGet>, url: String| async move {
//!         match tokio::time::timeout(limit, inner.get(&url)).await {
//!             Ok(result) => result,
//!             Err(_) => Err(DecoratorError::TimedOut { url, limit }.into()),
//!         }
//!     })
//!     .retry(RetryPolicy::default())
//!     .build();
//! assert_eq!(http.get("/a").await.unwrap(), "/a");
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{
    Breaker, Circuit, ConcurrencyLimit, Hedge, HedgeDelay, RateLimit, Retry, RetryPolicy, Timeout,
};
use crate::http::{HttpError, HttpGet};

/// A stack of decorators, built inside out: each method wraps what is built so far.
///
/// The result is a plain nested type (`Retry<Timeout<C>>`): no box, no vtable between layers.
#[derive(Debug, Clone)]
pub struct Layers<S>(S);

impl<S: HttpGet> Layers<S> {
    /// Start from `client`, the innermost layer.
    pub fn new(client: S) -> Self {
        Layers(client)
    }

    /// Wrap in a [`Timeout`] of `limit`.
    pub fn timeout(self, limit: Duration) -> Layers<Timeout<S>> {
        Layers(Timeout::new(self.0, limit))
    }

    /// Wrap in a [`Retry`] with `policy`.
    pub fn retry(self, policy: RetryPolicy) -> Layers<Retry<S>> {
        Layers(Retry::new(self.0, policy))
    }

    /// Wrap in a [`Breaker`] on `circuit` (shared: keep a clone to watch it).
    pub fn breaker(self, circuit: &Circuit) -> Layers<Breaker<S>> {
        Layers(Breaker::new(self.0, circuit))
    }

    /// Wrap in a [`Hedge`] that asks again after `delay`.
    pub fn hedge(self, delay: HedgeDelay) -> Layers<Hedge<S>> {
        Layers(Hedge::new(self.0, delay))
    }

    /// Wrap in a [`ConcurrencyLimit`] of `n` calls at once (0 is taken as 1; `usize::MAX` is no
    /// limit).
    pub fn concurrency(self, n: usize) -> Layers<ConcurrencyLimit<S>> {
        Layers(ConcurrencyLimit::new(self.0, n))
    }

    /// Wrap in a [`RateLimit`]: one call per `interval`, bursts of `burst` (an `interval` of
    /// zero is no limit).
    pub fn rate(self, burst: u32, interval: Duration) -> Layers<RateLimit<S>> {
        Layers(RateLimit::new(self.0, burst, interval))
    }

    /// Wrap in any decorator: `wrap` gets what is built so far.
    pub fn layer<T: HttpGet>(self, wrap: impl FnOnce(S) -> T) -> Layers<T> {
        Layers(wrap(self.0))
    }

    /// Wrap in an [`Around`]: the closure `f` gets the inner client and the URL.
    pub fn around<F, Fut>(self, f: F) -> Layers<Around<F>>
    where
        S: 'static,
        F: Fn(Arc<dyn HttpGet>, String) -> Fut + Send + Sync,
        Fut: Future<Output = Result<String, HttpError>> + Send,
    {
        Layers(Around::new(Arc::new(self.0), f))
    }

    /// The stack, outermost layer first.
    pub fn build(self) -> S {
        self.0
    }
}

/// A decorator from a closure: `f(inner, url)` decides when and how to call `inner`.
///
/// The closure gets owned arguments (an `Arc` of the inner client, the URL as a `String`),
/// because a future that borrowed them could not be named as `Send`; the price is a reference
/// count and a copy of the URL per call. An async closure (`async |inner, url| { .. }`) works
/// when it captures nothing; one that captures a value (a limit, a counter) is written
/// `move |inner, url| async move { .. }`, since an async closure that captures does not
/// implement `Fn`.
pub struct Around<F> {
    inner: Arc<dyn HttpGet>,
    f: F,
}

impl<F> Around<F> {
    /// Decorate `inner` with `f`.
    pub fn new(inner: Arc<dyn HttpGet>, f: F) -> Self {
        Around { inner, f }
    }
}

impl<F> fmt::Debug for Around<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Around")
    }
}

#[async_trait]
impl<F, Fut> HttpGet for Around<F>
where
    F: Fn(Arc<dyn HttpGet>, String) -> Fut + Send + Sync,
    Fut: Future<Output = Result<String, HttpError>> + Send,
{
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        (self.f)(Arc::clone(&self.inner), url.to_owned()).await
    }
}

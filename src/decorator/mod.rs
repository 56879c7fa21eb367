//! Decorator: the same trait in and out, with one behaviour added around the call.
//!
//! # The concept
//! A *decorator* holds a component and *is* one: it implements the component's trait by
//! calling the component it holds, and adds one thing before, after or around the call. The
//! caller cannot tell a decorated client from a bare one, so behaviours stack (a retry around a
//! timeout around a client) and each stays small. Here the component is [`HttpGet`], and the
//! behaviours are the ones a client needs in production: time limits, retries, a circuit
//! breaker, hedging, and limits on concurrency and rate.
//!
//! # The two shapes, side by side
//! The classic sync shape on the left, the async shape on the right, both compiled (in
//! `shapes/`, with a test that they behave alike); what async changed is marked.
//!
#![doc = include_str!("shapes/side_by_side.html")]
//!
//! **What changed:** `async` on two `fn`s (under `#[async_trait]`), `.await` on two calls, and
//! `Send + Sync` on the trait, which the sync shape never needed. `#[async_trait]` turns each
//! call into a boxed future that is `Send`, so a runtime may move it between worker threads
//! (and `tokio::spawn` accepts it); that future holds `&self`, and a `&T` crosses threads only
//! if `T` is `Sync`. `Send` lets a decorator, with the `Box<dyn Http>` inside it, move to another
//! thread, and `Send + Sync` together let tasks share one in an `Arc`. [`HttpGet`] carries the
//! same two bounds, for the same reasons.
//!
//! <details><summary>The two shapes as code, to copy</summary>
//!
//! ```rust
#![doc = include_str!("shapes/sync_shape.rs")]
//! ```
//!
//! ```rust
#![doc = include_str!("shapes/async_shape.rs")]
//! ```
//!
//! </details>
//!
//! # What async adds
//! A sync decorator can only act before and after the call; an async one also acts *during*
//! it, because a call is now a value that can be raced, delayed and dropped:
//!
//! * **Time limits.** [`Timeout`] (below) races the call against a timer and *drops* the call
//!   at the deadline: the request is cancelled, nothing keeps running. A blocking call cannot be
//!   interrupted; a future can, at any `.await`.
//! * **Waits between retries.** [`Retry`] sleeps between attempts (exponential backoff, full
//!   jitter, `Retry-After` honoured, a total budget): a sleeping call is a parked future, not a
//!   blocked thread.
//! * **Requests that race.** [`Hedge`] sends a second request when the first is slow, and
//!   drops the loser.
//! * **Shared state over time.** [`Breaker`] stops calling a failing server for a cool-down;
//!   [`ConcurrencyLimit`] and [`RateLimit`] make calls wait their turn.
//!
//! [`Layers`] stacks them, says why their order matters, and takes a closure as a decorator
//! ([`Around`]); with feature `tower`, `HttpService` and `FromService` make them stack with
//! tower's layers both ways. The decorators are built for [`HttpGet`], but the shape fits any
//! async trait: a struct that holds an implementation and implements the trait by calling it.
//! Their policies ([`RetryPolicy::after_failure`], [`Circuit::admit`],
//! [`TokenBucket::take`]) do not know about HTTP calls, so a decorator of another trait can
//! reuse them in a few lines.
//!
//! # What it looks like
//! The schedules the decorators make, drawn from their own spans (each attempt, each request,
//! each cut call, each wait) on tokio's paused clock (`tests/pictures`); a blue diamond is an
//! event (hover it, or a bar, for its name and times).
//!
//! A [`Retry`] of 3 attempts (waits of 20, then 40 ms) around a 50 ms [`Timeout`], on a route
//! that hangs, then fails (a 503 after 15 ms), then answers in 15 ms. Each attempt is a row,
//! its timeout the row under it: the first is cut at 50 ms (timed out, which the retry counts
//! as a failure), the second fails at 85 ms, the third answers at 140 ms; the gaps are the
//! waits.
//!
#![doc = include_str!("pictures/retry.svg")]
//!
//! A [`Hedge`] after 30 ms, three calls. The first answers in 20 ms: nothing more is sent. The
//! second's request is still out at 90 ms, so the hedge is sent (the diamond); it answers at
//! 110 ms, and the first request is cancelled. The third's request answers at 185 ms, before
//! its hedge (sent at 170 ms), which is cancelled in turn.
//!
#![doc = include_str!("pictures/hedge.svg")]
//!
//! A [`Breaker`] that opens after 3 failures in a row and cools down for 100 ms, a call every
//! 20 ms, to a route that fails its first three requests. The third failure opens the circuit
//! at 50 ms (the diamond on call 3); calls 4 to 8 are refused at once, without a request (the
//! slivers); at 160 ms call 9 is the half-open probe (its first diamond), which succeeds and
//! closes the circuit at 170 ms (its second).
//!
#![doc = include_str!("pictures/breaker.svg")]
//!
//! Under overload: a [`Timeout`] of 50 ms outside a [`RateLimit`] of one call per 20 ms, a
//! call every 4 ms. Each call is its timeout's row, its wait for a token the row under it. The
//! first four get tokens at 0, 20, 40 and 60 ms; the next four give up while they queue (at 66
//! to 78 ms: their waits are cancelled, and take no token); the ninth, which came at 32 ms,
//! gets the token at 80 ms, on the limiter's beat. Callers that leave cost the others nothing.
//!
#![doc = include_str!("pictures/overload.svg")]
//!
//! # Extreme settings
//! Every setting takes its whole range, and none panics: a count of 0 is taken as 1, `MAX`
//! means "no limit" (or "for good"), every sum of times saturates, and the two windows that
//! would cost memory without end are capped. `tests/decorator/extremes.rs` drives them all.
//!
//! | setting | 0 | `MAX` |
//! |---|---|---|
//! | [`Timeout::new`] `limit` | only an answer ready at once gets through | no limit |
//! | [`RetryPolicy::attempts`] | taken as 1: no retry | no limit: the budget, or a failure not worth retrying, ends the loop |
//! | [`RetryPolicy::backoff`] `base` | retry at once | the first wait is already `max` |
//! | [`RetryPolicy::backoff`] `max` | retry at once; any `Retry-After` above 0 gives up | no limit on a wait: every `Retry-After` is honoured |
//! | [`RetryPolicy::budget`] | only an answer ready at once; nothing is retried | no budget |
//! | [`Trip::Consecutive`] | taken as 1: the first failure opens the circuit | in practice never opens |
//! | [`Trip::FailureRate`] `window` | taken as 1: the last call decides | lowered to [`Trip::MAX_WINDOW`] (65,536 calls) |
//! | [`Circuit::new`] `cool_down` | half-open at once: the next call probes | never half-open: the circuit is a fuse |
//! | [`HedgeDelay::Fixed`] | every call is sent twice at once | never hedged |
//! | [`HedgeDelay::Percentile`] `percentile` | the fastest recent latency (so are negatives and NaN) | 1.0 and above: the slowest |
//! | [`HedgeDelay::Percentile`] `window` | taken as 1: the last latency | lowered to [`HedgeDelay::MAX_WINDOW`] (1,000) |
//! | [`ConcurrencyLimit::new`] `n` | taken as 1 | lowered to [`Semaphore::MAX_PERMITS`](tokio::sync::Semaphore::MAX_PERMITS): no limit |
//! | [`RateLimit::new`] `burst` | taken as 1 | `u32::MAX` calls at once before the rate applies |
//! | [`RateLimit::new`] `interval` | no limit | after the burst, a call waits for good (or is refused, with a `max_wait`) |
//! | [`RateLimit::max_wait`] | every call that would wait is refused | as none: a call waits its turn |
//!
//! # What it costs
//! Per call, a layer costs its struct field, one boxed future (`#[async_trait]`, the 15 to 25 ns
//! of the bare call), its span's check, and its own work. Measured around a client that does
//! nothing (`benches/decorator.rs`'s method; best of 12 runs, before and after interleaved, on
//! a shared 2-core VM at a load of 8 to 11):
//!
//! | layer | its work per call | ns added | what it does to the traffic |
//! |---|---|---|---|
//! | [`Timeout`] | a timer set up (a clock read), never registered if the call is ready | 78 to 85 | none |
//! | [`Retry`] | a clock read | 56 to 62 | up to `attempts` requests for a failing call |
//! | [`Breaker`] | two uncontended locks | 67 to 71 | none while closed; while open, calls fail in 180 to 200 ns and send nothing |
//! | [`Hedge`] | a timer; a percentile delay also sorts its window | 79 to 91 | one more request for each slow one (about 10 % at p90) |
//! | [`ConcurrencyLimit`] | a free semaphore permit taken (`try_acquire`) | 53 to 56 | calls wait their turn |
//! | [`RateLimit`] | a lock and a clock read | 67 to 72 | calls wait their turn |
//!
//! tower's timeout, retry and concurrency limit cost the same order (35 to 150 ns), and going
//! through both adapters adds 110 to 180 ns. All of it is next to nothing beside a round trip
//! (50 µs on loopback, milliseconds on a network): what matters is what a layer does to the
//! traffic, which the `decorator` example measures (success rate, p99, requests sent).
//!
//! **Spans cost nothing when nobody listens.** With no subscriber (or one that does not record
//! this crate at DEBUG), `debug_span!` checks one atomic and hands back an empty span, and the
//! call goes on unwrapped: only a span someone records is boxed with its call. Counted with
//! callgrind (the same every run, whatever the load), a call took, before the spans and after:
//! 462 and 526 instructions through a timeout, 366 and 423 through a retry, 573 and 608
//! through a hedge, 502 and 490 through a breaker; the limits went down (498 to 409, 523 to
//! 496), since they now take a free permit or token without making a future to wait on. In
//! time, every difference was within 10 ns, either way. Recorded, a span costs what the
//! subscriber does with it.
//!
//! # Cancellation
//! Dropping a decorated call's future drops every future inside it, at its current `.await`:
//! the request in flight, the wait between retries, both sides of a hedge, the wait for a
//! permit or a token. Nothing is spawned, so nothing keeps running. Each decorator says what
//! it keeps: a breaker does not count a cancelled call (a cancelled probe gives its place back),
//! a concurrency limit gets its permit back, a call waiting for a token leaves the queue having
//! taken none (so callers that give up under overload cost the others nothing). The spans of
//! the dropped work close with it, no outcome recorded, and a timeline draws them cancelled.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use futures::future::{BoxFuture, Either};
use tracing::{Instrument, Span, debug_span, field};

use crate::http::{HttpError, HttpGet};

mod breaker;
mod errors;
mod hedge;
mod layers;
mod limits;
mod retry;
#[cfg(test)]
mod shapes;
#[cfg(feature = "tower")]
mod tower;
mod trip;

pub use breaker::{Breaker, BreakerState, Circuit, Permit, Transition};
pub use errors::{DecoratorError, GiveUp, is_transient};
pub use hedge::{Hedge, HedgeDelay};
pub use layers::{Around, Layers};
pub use limits::{ConcurrencyLimit, RateLimit, TokenBucket};
pub use retry::{FullJitter, Jitter, Next, NoJitter, Retry, RetryPolicy};
#[cfg(feature = "tower")]
pub use tower::{FromService, HttpFuture, HttpService, TowerRetry};
pub use trip::Trip;

/// Cuts the inner call off at a time limit: the simplest decorator, and the one async makes
/// possible.
///
/// At the deadline the inner call's future is *dropped*: its request is cancelled at whatever
/// `.await` it had reached (the connection closed or returned to the pool), and the caller gets
/// [`DecoratorError::TimedOut`] (as [`HttpError::Layer`]). Nothing is left running. A
/// blocking client on a thread is the exception: its thread cannot be stopped, only abandoned.
///
/// ```
/// use std::time::Duration;
/// use async_patterns::decorator::Timeout;
/// use async_patterns::http::{HttpError, HttpGet};
///
/// /// Answers after `self.0`.
/// struct Slow(Duration);
///
/// #[async_trait::async_trait]
/// impl HttpGet for Slow {
///     async fn get(&self, url: &str) -> Result<String, HttpError> {
///         tokio::time::sleep(self.0).await;
///         Ok(format!("page {url}"))
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let quick = Timeout::new(Slow(Duration::from_millis(10)), Duration::from_secs(1));
/// assert_eq!(quick.get("/a").await.unwrap(), "page /a");
///
/// let stuck = Timeout::new(Slow(Duration::from_secs(60)), Duration::from_secs(1));
/// let err = stuck.get("/b").await.unwrap_err();
/// // The error says that a layer stopped the call; its source, which layer and why.
/// assert_eq!(err.to_string(), "a layer around the client stopped the call to /b");
/// let why = std::error::Error::source(&err).unwrap().to_string();
/// assert_eq!(why, "/b took longer than the time limit of 1s; the call was cancelled");
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Timeout<S> {
    inner: S,
    limit: Duration,
}

impl<S> Timeout<S> {
    /// Cut calls to `inner` off after `limit`. A limit of zero lets through only an answer
    /// that is ready at once; `Duration::MAX` is no limit.
    pub fn new(inner: S, limit: Duration) -> Self {
        Timeout { inner, limit }
    }

    /// The time limit.
    pub fn limit(&self) -> Duration {
        self.limit
    }

    /// The decorated client.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

#[async_trait]
impl<S: HttpGet> HttpGet for Timeout<S> {
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        // The call's span, which a timeline draws: "timed out" if the limit cuts the call.
        let span = debug_span!("timeout", url, outcome = field::Empty);
        let call = traced(span.clone(), self.inner.get(url));
        // `timeout` polls the call and a timer together. If the timer fires first, it returns
        // and the call's future is dropped right here: that drop *is* the cancellation.
        match tokio::time::timeout(self.limit, call).await {
            Ok(result) => result,
            Err(_elapsed) => {
                span.record("outcome", "timed out");
                let (url, limit) = (url.to_owned(), self.limit);
                Err(DecoratorError::TimedOut { url, limit }.into())
            }
        }
    }
}

/// `call` in `span`, which records how the call ended, `"ok"` or `"failed"`: the spans a
/// timeline draws ([`timing::TimelineLayer`](crate::timing)). A call dropped before it ends
/// records nothing, which a timeline draws as cancelled.
///
/// Free when nobody listens. A span nobody records is disabled (`debug_span!` checks the
/// level against one atomic), and then `call` comes back as it is; only a span someone
/// records is boxed with the call. Wrapping every call in a span instead made each
/// decorator's future larger and cost 100 to 160 instructions a call (callgrind; the
/// module's "What it costs" has the figures).
fn traced<'a, F, T, E>(span: Span, call: F) -> Either<F, BoxFuture<'a, Result<T, E>>>
where
    F: Future<Output = Result<T, E>> + Send + 'a,
{
    if span.is_disabled() {
        return Either::Left(call);
    }
    Either::Right(Box::pin(async move {
        let result = call.instrument(span.clone()).await;
        span.record("outcome", if result.is_ok() { "ok" } else { "failed" });
        result
    }))
}

//! Hedging: when an answer is late, ask again, and take whichever answer comes first.
//!
//! Most requests are fast; a few are very slow (a cold cache, a pause for garbage collection,
//! one overloaded replica). Waiting for them sets the slowest percentiles of a service. A
//! *hedged* request does not wait: if the first request has not answered after a delay, a
//! second, identical one is sent, and the first answer wins. The delay is the price dial: at
//! the 95th percentile of recent latencies, about 5 % of requests are sent twice, and the slow
//! tail is cut to roughly that delay plus one fast answer ("The Tail at Scale", Dean and
//! Barroso, 2013).
//!
//! Only for requests that are safe to send twice: a GET is, by HTTP's rules.
//!
//! # Cancellation
//! The loser is dropped the moment the winner answers: its request is cancelled at its current
//! `.await` (the connection closed, or returned to the pool), so nothing keeps running for an
//! answer nobody will read. Dropping [`Hedge::get`]'s future drops both.

use std::collections::VecDeque;
use std::pin::pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::future::{Either, select};
use tokio::time::Instant;
use tracing::{debug, debug_span, field};

use super::traced;
use crate::http::{HttpError, HttpGet};
use crate::support::lock;
use crate::timing::nearest_rank;

/// How long to wait for the first answer before sending the second request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HedgeDelay {
    /// Always this long (zero: every call is sent twice; `Duration::MAX`: never hedged).
    Fixed(Duration),
    /// The `percentile` (0.0 to 1.0) of the latencies of the last `window` answers; `initial`
    /// until 10 answers (or `window`, if fewer) have been seen. A `window` of 0 is taken as 1,
    /// one above [`HedgeDelay::MAX_WINDOW`] as that.
    Percentile {
        /// Which percentile: 0.95 hedges about one request in twenty.
        percentile: f64,
        /// How many recent latencies it is taken over.
        window: usize,
        /// The delay used while too few latencies are known.
        initial: Duration,
    },
}

impl HedgeDelay {
    /// The most latencies a [`Percentile`](HedgeDelay::Percentile) delay remembers: 1,000.
    /// Each call copies them to select the percentile, so a larger window would cost memory
    /// without end and time on every call (16 bytes a latency; a window of 65,536 was
    /// measured at 165 µs a call); 1,000 recent answers already place a 99th percentile on ten
    /// of them.
    pub const MAX_WINDOW: usize = 1000;

    /// The window actually used: between 1 and [`MAX_WINDOW`](HedgeDelay::MAX_WINDOW).
    fn window(window: usize) -> usize {
        window.clamp(1, HedgeDelay::MAX_WINDOW)
    }
}

/// Sends a second request when the first is slow; the first answer wins.
///
/// An error does not trigger a hedge (that is a retry's job): a first request that fails before
/// the delay returns its error. Once both are in flight, the first *success* wins; an error
/// wins only if the other request has failed too (then the later error is returned).
#[derive(Debug)]
pub struct Hedge<S> {
    inner: S,
    delay: HedgeDelay,
    recent: Mutex<VecDeque<Duration>>,
    hedged: AtomicU64,
}

impl<S> Hedge<S> {
    /// Hedge calls to `inner` after `delay`.
    pub fn new(inner: S, delay: HedgeDelay) -> Self {
        Hedge {
            inner,
            delay,
            recent: Mutex::new(VecDeque::new()),
            hedged: AtomicU64::new(0),
        }
    }

    /// How many second requests have been sent so far.
    pub fn hedged(&self) -> u64 {
        self.hedged.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl<S: HttpGet> HttpGet for Hedge<S> {
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        // The clock is read only when latencies are learnt (a percentile delay).
        let learning = matches!(self.delay, HedgeDelay::Percentile { .. });
        let start = learning.then(Instant::now);
        // Each request in a span of its own, which ends "ok", "failed", or (the loser, dropped)
        // cancelled.
        let span = debug_span!("request", url, request = "first", outcome = field::Empty);
        let mut first = pin!(traced(span, self.inner.get(url)));
        // Phase one: the first request alone, until it answers or the delay runs out. The
        // request is borrowed (`as_mut`), so running out of time does not drop it.
        let result = match tokio::time::timeout(self.current_delay(), first.as_mut()).await {
            Ok(result) => result,
            Err(_) => {
                // Phase two: both race. The loser is dropped with this scope: cancelled.
                self.hedged.fetch_add(1, Ordering::Relaxed);
                let span = debug_span!("request", url, request = "hedge", outcome = field::Empty);
                debug!(parent: &span, "hedge sent");
                let second = pin!(traced(span, self.inner.get(url)));
                match select(first, second).await {
                    Either::Left((Ok(body), _)) | Either::Right((Ok(body), _)) => Ok(body),
                    // One failed: the other may still succeed.
                    Either::Left((Err(_), other)) => other.await,
                    Either::Right((Err(_), other)) => other.await,
                }
            }
        };
        if let (Ok(_), Some(start)) = (&result, start) {
            // From the first request's start: a slow first request cut short by the hedge still
            // counts as slow, so the percentile keeps seeing the tail.
            self.learn(start.elapsed());
        }
        result
    }
}

impl<S> Hedge<S> {
    /// The delay the next call would wait before hedging.
    pub fn current_delay(&self) -> Duration {
        match self.delay {
            HedgeDelay::Fixed(delay) => delay,
            HedgeDelay::Percentile {
                percentile,
                window,
                initial,
            } => {
                let mut seen: Vec<Duration> = lock(&self.recent).iter().copied().collect();
                // The nearest-rank percentile (as `timing::percentile`), selected in linear
                // time instead of sorting.
                match nearest_rank(seen.len(), percentile) {
                    Some(index) if seen.len() >= HedgeDelay::window(window).min(10) => {
                        *seen.select_nth_unstable(index).1
                    }
                    _ => initial,
                }
            }
        }
    }

    /// Remember how long a successful call took, for the percentile.
    fn learn(&self, took: Duration) {
        if let HedgeDelay::Percentile { window, .. } = self.delay {
            let mut recent = lock(&self.recent);
            recent.push_back(took);
            if recent.len() > HedgeDelay::window(window) {
                recent.pop_front();
            }
        }
    }
}

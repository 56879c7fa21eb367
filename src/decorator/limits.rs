//! Limits: how many calls at once (a semaphore), and how many per second (a token bucket).
//!
//! Both make a call *wait* rather than fail, which is what async makes cheap: a waiting call is
//! a parked future, not a blocked thread.
//!
//! * [`ConcurrencyLimit`] holds a permit of a [`Semaphore`] for the length of each call: at most
//!   `n` calls are in flight, the others queue in order (tokio's semaphore is fair).
//! * [`RateLimit`] takes a token from a [`TokenBucket`] before each call: on average at most one
//!   call per interval, with bursts up to the bucket's capacity.
//!
//! # Why a token bucket written here, and not `governor`
//! `governor` is the well-kept crate for this (GCRA, lock-free, keyed limiters), and a service
//! should use it. This one is a few dozen lines so it can be read: the whole algorithm is
//! [`TokenBucket::take`]. And it runs on tokio's clock, so a test on the paused clock sees
//! every wait exactly: `governor` reads its own clock and waits with `futures-timer` (a timer
//! thread of its own), so neither follows `tokio::time::pause`, and a test would wait for real.
//! One difference in behaviour too: `governor`'s waiters sleep and check again, so they race for
//! the next cell; this bucket's waiters queue on a fair lock, so they are served in the order
//! they came.
//!
//! # Under overload
//! When calls come faster than the rate, they queue. A caller that gives up while it queues (a
//! [`Timeout`](super::Timeout) around the limit, a dropped future) must not cost the callers
//! behind it anything, or overload turns into a standstill: with tokens *reserved* ahead of
//! time, each abandoned caller kept a token nobody used, the debt grew with every one of them,
//! and a limit of 100 calls a second let through 4. Here nothing is reserved: the caller at the
//! head of the queue waits for the next token and takes it only when it is there, so a caller
//! that leaves takes nothing, and the next in line is served at the same instant it would have
//! been. [`RateLimit::max_wait`] bounds the queue from the other side: a call that would wait
//! longer is refused at once.
//!
//! # Cancellation
//! A call cancelled while it waits for a permit or a token leaves the queue and takes nothing;
//! one cancelled while it runs returns its permit (a token, once taken, is spent: the call was
//! made).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{Semaphore, TryAcquireError};
use tokio::time::Instant;
use tracing::{debug_span, field};

use super::errors::DecoratorError;
use super::traced;
use crate::http::{HttpError, HttpGet};
use crate::support::{lock, times};

/// At most `n` calls to the inner client at once; the others wait their turn.
#[derive(Debug, Clone)]
pub struct ConcurrencyLimit<S> {
    inner: S,
    permits: Arc<Semaphore>,
}

impl<S> ConcurrencyLimit<S> {
    /// At most `n` calls to `inner` at once. 0 is taken as 1; more than tokio's
    /// [`Semaphore::MAX_PERMITS`] (about 2.3e18, as `usize::MAX` is meant: no limit) is lowered
    /// to it, since a semaphore cannot hold more.
    pub fn new(inner: S, n: usize) -> Self {
        let n = n.clamp(1, Semaphore::MAX_PERMITS);
        ConcurrencyLimit::shared(inner, Arc::new(Semaphore::new(n)))
    }

    /// Take permits from `permits`, shared with other clients: one limit for all of them.
    /// Closing the semaphore makes every later call fail with
    /// [`DecoratorError::LimitClosed`].
    pub fn shared(inner: S, permits: Arc<Semaphore>) -> Self {
        ConcurrencyLimit { inner, permits }
    }

    /// The semaphore, to see how many permits are free.
    pub fn permits(&self) -> &Arc<Semaphore> {
        &self.permits
    }
}

#[async_trait]
impl<S: HttpGet> HttpGet for ConcurrencyLimit<S> {
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        let closed = || DecoratorError::LimitClosed {
            url: url.to_owned(),
        };
        // The permit lives until the end of the call, whichever way it ends.
        let _permit = match self.permits.try_acquire() {
            Ok(permit) => permit,
            // None free: wait in turn (tokio's semaphore is fair: nobody takes a permit a
            // waiter is owed), in a span of its own, so a timeline draws the wait.
            Err(TryAcquireError::NoPermits) => {
                let span = debug_span!("permit", url, outcome = field::Empty);
                let waited = traced(span, self.permits.acquire()).await;
                waited.map_err(|_| closed())?
            }
            Err(TryAcquireError::Closed) => return Err(closed().into()),
        };
        self.inner.get(url).await
    }
}

/// At most one call per interval on average, bursts up to a capacity; a call waits its turn.
#[derive(Debug, Clone)]
pub struct RateLimit<S> {
    inner: S,
    bucket: Arc<TokenBucket>,
    max_wait: Option<Duration>,
}

impl<S> RateLimit<S> {
    /// Call `inner` at most once per `interval` on average, up to `burst` at once (0 is taken as
    /// 1). An `interval` of zero is no limit; `Duration::MAX` lets the burst through and then
    /// no call for good.
    pub fn new(inner: S, burst: u32, interval: Duration) -> Self {
        RateLimit::shared(inner, Arc::new(TokenBucket::new(burst, interval)))
    }

    /// Take tokens from `bucket`, shared with other clients: one rate for all of them.
    pub fn shared(inner: S, bucket: Arc<TokenBucket>) -> Self {
        RateLimit {
            inner,
            bucket,
            max_wait: None,
        }
    }

    /// Fail with [`DecoratorError::RateLimited`] rather than wait longer than `max_wait`
    /// (zero: refuse every call that would wait).
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = Some(max_wait);
        self
    }
}

#[async_trait]
impl<S: HttpGet> HttpGet for RateLimit<S> {
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        // A token at once, or else wait for one in turn (in a span of its own, so a timeline
        // draws the wait), or be refused at once if the wait would be too long.
        if !self.bucket.try_take() {
            let span = debug_span!("token", url, outcome = field::Empty);
            if let Err(wait) = traced(span, self.bucket.take(self.max_wait)).await {
                let (url, max_wait) = (url.to_owned(), self.max_wait.unwrap_or_default());
                let refused = DecoratorError::RateLimited {
                    url,
                    wait,
                    max_wait,
                };
                return Err(refused.into());
            }
        }
        self.inner.get(url).await
    }
}

/// A token bucket on tokio's clock: one token every `interval`, at most `capacity` kept.
///
/// Tokens are counted in whole numbers and time in whole nanoseconds, so waits are exact. A
/// caller that finds the bucket empty (or others already waiting) joins a queue, a fair
/// `tokio::sync::Mutex`: the caller holding it sleeps until the next token and takes it, then
/// lets the next one in. No lock is held across an `.await` but that queue's, which is what
/// it is for.
#[derive(Debug)]
pub struct TokenBucket {
    interval: Duration,
    capacity: u32,
    /// The tokens, and how many callers queue. A `std` mutex: held for a few lines, never
    /// across an `.await`.
    state: Mutex<Bucket>,
    /// The queue: first come, first served (tokio's mutex is fair).
    queue: tokio::sync::Mutex<()>,
}

#[derive(Debug)]
struct Bucket {
    /// Tokens in the bucket now (never more than the capacity).
    tokens: u32,
    /// The instant the last token was added (or the bucket created, or last found full).
    refilled: Instant,
    /// Callers in the queue, the one waiting for the next token included.
    queued: usize,
}

impl TokenBucket {
    /// A full bucket of `capacity` tokens (0 is taken as 1), refilled one every `interval`.
    pub fn new(capacity: u32, interval: Duration) -> Self {
        let capacity = capacity.max(1);
        let state = Mutex::new(Bucket {
            tokens: capacity,
            refilled: Instant::now(),
            queued: 0,
        });
        let queue = tokio::sync::Mutex::new(());
        TokenBucket {
            interval,
            capacity,
            state,
            queue,
        }
    }

    /// Take a token if one is there and nobody queues for it, without waiting: whether one was
    /// taken.
    pub fn try_take(&self) -> bool {
        if self.interval.is_zero() {
            return true;
        }
        self.take_free(&mut lock(&self.state), Instant::now())
    }

    /// Refill, then take a token if one is there and nobody queues for it: whether one was.
    fn take_free(&self, bucket: &mut Bucket, now: Instant) -> bool {
        self.refill(bucket, now);
        let free = bucket.queued == 0 && bucket.tokens > 0;
        bucket.tokens -= u32::from(free);
        free
    }

    /// Take a token, waiting in turn until there is one: `Ok(waited)`; or, without taking one
    /// or waiting, `Err(wait)` when `wait`, the time the callers already queued and this one
    /// would take, is longer than `max_wait`. Cancelled while it waits, it takes nothing.
    pub async fn take(&self, max_wait: Option<Duration>) -> Result<Duration, Duration> {
        // An interval of zero is no limit at all: a token every instant.
        if self.interval.is_zero() {
            return Ok(Duration::ZERO);
        }
        let start = Instant::now();
        {
            let mut bucket = lock(&self.state);
            // Nobody queues and a token is there: take it, no queue.
            if self.take_free(&mut bucket, start) {
                return Ok(Duration::ZERO);
            }
            // Everyone queued ahead takes a token first. (If one of them leaves, this one is
            // served sooner than said: the estimate errs on the side of refusing.)
            let ahead = u64::try_from(bucket.queued).unwrap_or(u64::MAX);
            let wait = self.wait_for(&bucket, ahead.saturating_add(1), start);
            if max_wait.is_some_and(|max| wait > max) {
                return Err(wait);
            }
            bucket.queued += 1;
        }
        let _counted = Queued(&self.state);
        let _turn = self.queue.lock().await;
        // At the head of the queue: take the next token when it is there. Cancelled during
        // this sleep, the caller leaves and the next in line waits for the same token.
        loop {
            let wait = {
                let mut bucket = lock(&self.state);
                let now = Instant::now();
                self.refill(&mut bucket, now);
                if bucket.tokens > 0 {
                    bucket.tokens -= 1;
                    return Ok(now.saturating_duration_since(start));
                }
                self.wait_for(&bucket, 1, now)
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Add one token per whole interval since the last refill, up to the capacity.
    fn refill(&self, bucket: &mut Bucket, now: Instant) {
        let step = self.interval.as_nanos().max(1);
        let earned = now.saturating_duration_since(bucket.refilled).as_nanos() / step;
        let room = self.capacity - bucket.tokens;
        match u32::try_from(earned) {
            Ok(0) => {}
            // Not yet full: keep the part of an interval already run.
            Ok(earned) if earned < room => {
                bucket.tokens += earned;
                let run = times(self.interval, earned.into());
                bucket.refilled = bucket.refilled.checked_add(run).unwrap_or(now);
            }
            // Full: the tokens and the time past it are lost.
            _ => {
                bucket.tokens = self.capacity;
                bucket.refilled = now;
            }
        }
    }

    /// How long from `now` until the bucket holds `n` tokens, with none taken meanwhile;
    /// `Duration::MAX` for a time past what the clock can say.
    fn wait_for(&self, bucket: &Bucket, n: u64, now: Instant) -> Duration {
        let missing = n.saturating_sub(bucket.tokens.into());
        if missing == 0 {
            return Duration::ZERO;
        }
        // The next token comes an interval after the last refill, each later one an interval
        // after that.
        let until = bucket
            .refilled
            .checked_add(times(self.interval, missing.into()));
        until.map_or(Duration::MAX, |until| until.saturating_duration_since(now))
    }
}

/// A caller counted in the queue until it leaves it, served or cancelled.
struct Queued<'a>(&'a Mutex<Bucket>);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        lock(self.0).queued -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wait for the (2^32 + 1)-th token of a one-an-hour bucket is 2^32 + 1 hours. The
    /// count of tokens owed used to go through a `u32`, where it became 0: a wait of nothing
    /// after 2^32 outstanding reservations.
    #[tokio::test(start_paused = true)]
    async fn a_wait_past_u32_max_tokens_does_not_wrap() {
        let hour = Duration::from_secs(3600);
        let bucket = TokenBucket::new(1, hour);
        let now = Instant::now();
        let empty = Bucket {
            tokens: 0,
            refilled: now,
            queued: 0,
        };
        let n = u64::from(u32::MAX) + 1;
        assert_eq!(
            bucket.wait_for(&empty, n, now),
            Duration::from_secs(3600 * n)
        );
        // Past what the clock can say: the longest wait there is.
        assert_eq!(bucket.wait_for(&empty, u64::MAX, now), Duration::MAX);
    }

    #[test]
    fn products_saturate() {
        assert_eq!(times(Duration::MAX, 2), Duration::MAX);
        assert_eq!(
            times(Duration::from_nanos(1), u64::MAX.into()),
            Duration::from_nanos(u64::MAX)
        );
        assert_eq!(
            times(Duration::from_millis(1500), 3),
            Duration::from_millis(4500)
        );
        assert_eq!(times(Duration::MAX, 0), Duration::ZERO);
    }
}

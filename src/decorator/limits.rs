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
//! should use it. This one is forty lines so it can be read: the whole algorithm is
//! [`TokenBucket::reserve`]. And it runs on tokio's clock, so a test on the paused clock sees
//! every wait exactly: `governor` reads its own clock and waits with `futures-timer` (a timer
//! thread of its own), so neither follows `tokio::time::pause`, and a test would wait for real.
//! One difference in behaviour too: `governor`'s waiters sleep and check again, so they race for
//! the next cell; this bucket reserves it, so waiters are served in the order they came.
//!
//! # Cancellation
//! A call cancelled while it waits for a permit leaves the queue; one cancelled while it runs
//! returns its permit. A call cancelled while it waits for its token does *not* give the token
//! back: the limiter stays on the safe side (never over the rate) at the price of a slot.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::errors::DecoratorError;
use crate::http::{HttpError, HttpGet};
use crate::support::lock;

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
        // The permit lives until the end of the call, whichever way it ends.
        let _permit = self.permits.acquire().await.map_err(|_| {
            let url = url.to_owned();
            DecoratorError::LimitClosed { url }
        })?;
        self.inner.get(url).await
    }
}

/// A token bucket on tokio's clock: one token every `interval`, at most `capacity` kept.
///
/// Tokens are counted in whole numbers and time in whole nanoseconds, so waits are exact.
/// A caller that finds the bucket empty *reserves* the next token (the count goes below zero)
/// and is told how long to wait for it, so callers queue in order with no lock held while
/// they wait.
#[derive(Debug)]
pub struct TokenBucket {
    interval: Duration,
    capacity: u32,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    /// Tokens in the bucket; below zero, tokens already promised to waiting callers.
    tokens: i64,
    /// The instant the last token was added (or the bucket created).
    refilled: Instant,
}

impl TokenBucket {
    /// A full bucket of `capacity` tokens (0 is taken as 1), refilled one every `interval`.
    pub fn new(capacity: u32, interval: Duration) -> Self {
        let capacity = capacity.max(1);
        let state = Mutex::new(Bucket {
            tokens: i64::from(capacity),
            refilled: Instant::now(),
        });
        TokenBucket {
            interval,
            capacity,
            state,
        }
    }

    /// Take a token: `Ok(wait)` with how long until it is ours (zero if one was there), or
    /// `Err(wait)` without taking it when `wait` would be longer than `max_wait`.
    pub fn reserve(&self, max_wait: Option<Duration>) -> Result<Duration, Duration> {
        let now = Instant::now();
        let mut bucket = lock(&self.state);
        // Refill: one token per whole interval since the last refill, up to the capacity.
        let step = self.interval.as_nanos().max(1);
        let earned = now.duration_since(bucket.refilled).as_nanos() / step;
        if earned > 0 {
            let earned = i64::try_from(earned).unwrap_or(i64::MAX);
            bucket.tokens = bucket
                .tokens
                .saturating_add(earned)
                .min(self.capacity.into());
            // Keep the part of an interval already run, unless the bucket is full.
            bucket.refilled = if bucket.tokens == i64::from(self.capacity) {
                now
            } else {
                bucket.refilled + self.interval * u32::try_from(earned).unwrap_or(u32::MAX)
            };
        }
        // The token we would take is the `-(tokens - 1)`-th still to come.
        let owed = u32::try_from(1 - bucket.tokens).unwrap_or(0);
        let wait = if owed == 0 {
            Duration::ZERO
        } else {
            (bucket.refilled + self.interval * owed).saturating_duration_since(now)
        };
        if max_wait.is_some_and(|max| wait > max) {
            return Err(wait);
        }
        bucket.tokens -= 1;
        Ok(wait)
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
    /// Call `inner` at most once per `interval` on average, up to `burst` at once.
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

    /// Fail with [`DecoratorError::RateLimited`] rather than wait longer than `max_wait`.
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = Some(max_wait);
        self
    }
}

#[async_trait]
impl<S: HttpGet> HttpGet for RateLimit<S> {
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        match self.bucket.reserve(self.max_wait) {
            Ok(wait) if wait.is_zero() => {}
            Ok(wait) => tokio::time::sleep(wait).await,
            Err(wait) => {
                let (url, max_wait) = (url.to_owned(), self.max_wait.unwrap_or_default());
                return Err(DecoratorError::RateLimited {
                    url,
                    wait,
                    max_wait,
                }
                .into());
            }
        }
        self.inner.get(url).await
    }
}

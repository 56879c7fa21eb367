//! Retry: try again after a transient failure, waiting longer each time, within a budget.
//!
//! A failed request is often worth another try: a connection refused while a server restarts,
//! a 503 while it sheds load. Trying again *at once* makes things worse (every client that
//! failed hits the server again in the same instant), so each wait doubles (exponential
//! backoff), and a random part of it is skipped (*full jitter*: a wait drawn between zero and
//! the doubled ceiling) so clients that failed together spread out. A server that says when to
//! come back (`Retry-After` on a 429 or 503) is taken at its word instead.
//!
//! Four things stop the loop, and the final error says which ([`GiveUp`]): the maximum number
//! of attempts, the total time budget, a failure that would only fail again (a 404, an invalid
//! URL: see [`is_transient`]), and a server that asks for a longer wait than the policy allows.
//!
//! # A server that asks for too long a wait
//! A `Retry-After` is the server's wish, not the policy's: `Retry-After: 86400` would park the
//! call for a day, past the policy's own longest wait (10 s by default). Such a call gives up at
//! once, with [`GiveUp::RetryAfter`] saying what the server asked for and what the policy
//! allows, and the server's error as the last failure. Giving up was chosen over capping the
//! wait, because a capped retry comes back *before* the server said it would be ready: it
//! would most likely be refused again, one more request to a server that asked for quiet. The
//! caller, who now knows when the server will be back, can schedule the call itself.
//!
//! # Cancellation
//! Dropping the future of [`Retry::get`] drops whatever it is doing: the attempt in flight (at
//! its current `.await`) or the wait between two attempts. No later attempt starts.

use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;
use tracing::{debug_span, field};

use super::errors::{DecoratorError, GiveUp, is_transient};
use super::traced;
use crate::http::{HttpError, HttpGet};
use crate::support::times;

/// Retries the inner client's transient failures, as its [`RetryPolicy`] says.
///
/// A failure that is not worth retrying on the first attempt comes back unchanged (a 404 stays
/// [`HttpError::Status`]); after more than one attempt, the error is
/// [`DecoratorError::GaveUp`], with the number of attempts, the reason and the last failure.
#[derive(Debug, Clone)]
pub struct Retry<S> {
    inner: S,
    policy: RetryPolicy,
}

impl<S> Retry<S> {
    /// Retry `inner`'s failures as `policy` says.
    pub fn new(inner: S, policy: RetryPolicy) -> Self {
        Retry { inner, policy }
    }

    /// The policy in use.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }
}

#[async_trait]
impl<S: HttpGet> HttpGet for Retry<S> {
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        let start = Instant::now();
        // The budget's deadline; none for a budget too large to add to the clock
        // (`Duration::MAX`, meant as "no budget").
        let deadline = (self.policy.budget).and_then(|b| Some((b, start.checked_add(b)?)));
        let mut attempt = 0;
        loop {
            attempt += 1; // at most `attempts`: `after_failure` stops the loop there
            // Each attempt in a span of its own: a timeline draws the attempts and, between
            // them, the waits.
            let span = debug_span!("attempt", url, attempt, outcome = field::Empty);
            let call = traced(span.clone(), self.inner.get(url));
            let result = match deadline {
                // The budget also cuts an attempt short: the call is dropped at the deadline.
                Some((budget, deadline)) => {
                    let left = budget.saturating_sub(start.elapsed());
                    match tokio::time::timeout_at(deadline, call).await {
                        Ok(result) => result,
                        Err(_) => {
                            span.record("outcome", "timed out");
                            let url = url.to_owned();
                            let cut = DecoratorError::TimedOut {
                                url: url.clone(),
                                limit: left,
                            };
                            let reason = GiveUp::Budget(budget);
                            return Err(gave_up(&url, attempt, budget, reason, cut.into()));
                        }
                    }
                }
                None => call.await,
            };
            drop(span); // the attempt's span ends with it, before any wait
            let error = match result {
                Ok(body) => return Ok(body),
                Err(error) => error,
            };
            match self.policy.after_failure(attempt, start.elapsed(), &error) {
                Next::RetryIn(wait) => tokio::time::sleep(wait).await,
                Next::GiveUp(reason) => {
                    return Err(gave_up(url, attempt, start.elapsed(), reason, error));
                }
            }
        }
    }
}

/// The error of a [`Retry`] that stops after `attempts`: the last failure itself
/// when there was only one attempt and it was not worth another (a 404 stays a 404 to the
/// caller), else [`DecoratorError::GaveUp`] around it.
pub(super) fn gave_up(
    url: &str,
    attempts: u32,
    elapsed: Duration,
    reason: GiveUp,
    last: HttpError,
) -> HttpError {
    if attempts == 1 && reason == GiveUp::NotRetryable {
        return last;
    }
    DecoratorError::GaveUp {
        url: url.to_owned(),
        attempts,
        elapsed,
        reason,
        last: Box::new(last),
    }
    .into()
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Wait this long, then try again.
    RetryIn(Duration),
    /// Stop, for this reason.
    GiveUp(GiveUp),
}

/// How many attempts, how long between them, how long in all, and which failures to retry.
///
/// The default: 3 attempts, waits drawn below 100 ms, 200 ms, 400 ms ... (at most 10 s each,
/// a server's `Retry-After` included), no total budget, [`FullJitter`], and [`is_transient`]
/// failures retried. A server that asks for a longer wait than the longest is not waited for:
/// the call gives up at once with [`GiveUp::RetryAfter`], which says what the server asked for
/// (a retry before the server's time would most likely be refused again; see the module's
/// source for the choice).
///
/// ```
/// use std::time::Duration;
/// use async_patterns::decorator::{Next, RetryPolicy};
/// use async_patterns::http::HttpError;
///
/// let ms = Duration::from_millis;
/// let policy = RetryPolicy::default().attempts(4).backoff(ms(100), ms(250)).jitter(|c| c / 2);
/// let busy = HttpError::Status { url: "http://x/".into(), status: 503 };
/// // Ceilings 100, 200, 250 (capped) ms; the jitter source halves them.
/// assert_eq!(policy.after_failure(1, ms(0), &busy), Next::RetryIn(ms(50)));
/// assert_eq!(policy.after_failure(3, ms(0), &busy), Next::RetryIn(ms(125)));
/// ```
#[derive(Clone)]
pub struct RetryPolicy {
    attempts: u32,
    base: Duration,
    max_wait: Duration,
    budget: Option<Duration>,
    jitter: Arc<dyn Jitter>,
    retryable: fn(&HttpError) -> bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            base: Duration::from_millis(100),
            max_wait: Duration::from_secs(10),
            budget: None,
            jitter: Arc::new(FullJitter),
            retryable: is_transient,
        }
    }
}

impl RetryPolicy {
    /// At most `attempts` attempts in all, the first included (0 is taken as 1: no retry;
    /// `u32::MAX` is no limit in practice).
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// The ceiling of the first wait is `base`, doubled for each later one, never above `max`.
    /// `max` also bounds a server's `Retry-After`: a longer one gives up at once
    /// ([`GiveUp::RetryAfter`]); `Duration::MAX` waits as long as any server asks.
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        (self.base, self.max_wait) = (base, max);
        self
    }

    /// Give up once `budget` has passed since the first attempt started: no wait that would end
    /// past it is begun, and an attempt still running at the budget is cancelled. A budget too
    /// long to add to the clock (`Duration::MAX`) is no budget.
    pub fn budget(mut self, budget: Duration) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Draw the waits with `jitter` ([`FullJitter`], [`NoJitter`], or a closure).
    pub fn jitter(mut self, jitter: impl Jitter + 'static) -> Self {
        self.jitter = Arc::new(jitter);
        self
    }

    /// Retry the failures for which `retryable` is true ([`is_transient`] by default).
    pub fn retry_if(mut self, retryable: fn(&HttpError) -> bool) -> Self {
        self.retryable = retryable;
        self
    }

    /// The maximum number of attempts.
    pub fn max_attempts(&self) -> u32 {
        self.attempts
    }

    /// The total time budget, if there is one.
    pub fn total_budget(&self) -> Option<Duration> {
        self.budget
    }

    /// The ceiling of the wait after failed attempt number `attempt` (from 1), before jitter:
    /// `base * 2^(attempt - 1)`, at most the maximum.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        // A saturating product, so that 1 ns doubled a hundred times neither overflows nor
        // stops short of a long maximum; past 100 doublings every base is past every maximum.
        let doublings = attempt.saturating_sub(1).min(100);
        times(self.base, 1 << doublings).min(self.max_wait)
    }

    /// What to do after attempt number `attempt` (from 1) failed with `error`, `elapsed` after
    /// the first attempt started. The whole policy is here, so the hand-made [`Retry`] and the
    /// tower policy (feature `tower`) decide alike.
    pub fn after_failure(&self, attempt: u32, elapsed: Duration, error: &HttpError) -> Next {
        if !(self.retryable)(error) {
            return Next::GiveUp(GiveUp::NotRetryable);
        }
        if attempt >= self.attempts {
            return Next::GiveUp(GiveUp::Attempts(self.attempts));
        }
        let wait = match error {
            // The server said when: neither earlier (it would refuse again) nor jittered, and
            // not at all if that is later than this policy ever waits.
            HttpError::RetryAfter { retry_after, .. } if *retry_after > self.max_wait => {
                let (asked, longest) = (*retry_after, self.max_wait);
                return Next::GiveUp(GiveUp::RetryAfter { asked, longest });
            }
            HttpError::RetryAfter { retry_after, .. } => *retry_after,
            _ => self.jitter.jitter(self.ceiling(attempt)),
        };
        match self.budget {
            // A wait that ends at or past the budget leaves no time for the attempt after it.
            // The sum saturates: a wait of `Duration::MAX` ends past any budget.
            Some(budget) if elapsed.saturating_add(wait) >= budget => {
                Next::GiveUp(GiveUp::Budget(budget))
            }
            _ => Next::RetryIn(wait),
        }
    }
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("attempts", &self.attempts)
            .field("base", &self.base)
            .field("max_wait", &self.max_wait)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

/// Chooses the wait before a retry, given the ceiling that exponential backoff reached.
///
/// Injectable, so a test can make the waits exact: a closure works (`|ceiling| ceiling / 2`).
pub trait Jitter: Send + Sync {
    /// A wait between zero and `ceiling`.
    fn jitter(&self, ceiling: Duration) -> Duration;
}

impl<F: Fn(Duration) -> Duration + Send + Sync> Jitter for F {
    fn jitter(&self, ceiling: Duration) -> Duration {
        self(ceiling).min(ceiling)
    }
}

/// Full jitter: a wait drawn uniformly between zero and the ceiling, the default.
///
/// The randomness comes from the standard library's `RandomState` (the random keys of its
/// `HashMap`s): spreading clients out needs no cryptographic randomness, nor a dependency.
#[derive(Debug, Clone, Copy, Default)]
pub struct FullJitter;

impl Jitter for FullJitter {
    fn jitter(&self, ceiling: Duration) -> Duration {
        let random = RandomState::new().hash_one(());
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        // The top 64 bits of random * (nanos + 1): uniform in 0..=nanos, with no modulo bias.
        let picked = (u128::from(random) * (u128::from(nanos) + 1)) >> 64;
        Duration::from_nanos(u64::try_from(picked).unwrap_or(nanos))
    }
}

/// No jitter: always the ceiling, plain exponential backoff.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoJitter;

impl Jitter for NoJitter {
    fn jitter(&self, ceiling: Duration) -> Duration {
        ceiling
    }
}

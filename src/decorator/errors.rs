//! What a decorator says when it gives up or refuses, and which failures are worth another try.
//!
//! A decorator implements [`HttpGet`](crate::http::HttpGet), so its errors travel as an
//! [`HttpError`]: the inner client's own errors pass through unchanged, and the decorator's
//! own reasons arrive as [`HttpError::Layer`], whose source is a [`DecoratorError`] (get it
//! back with [`DecoratorError::of`]). `HttpError` carries it boxed, as tower's `BoxError`
//! does, so the component's error knows nothing of the decorators built around it: the arrow
//! runs from the decorator down to the component, never back up. Each error names the URL and
//! keeps the failure that led to it as its `source()`, so "gave up after 3 attempts" still says
//! what the third attempt met, and a reporter that prints the chain shows each line once:
//!
//! ```text
//! a layer around the client stopped the call to http://test/a
//! gave up on http://test/a after 2 attempts in 150ms (the limit of 2 attempts)
//! http://test/a took longer than the time limit of 50ms; the call was cancelled
//! ```

use std::fmt;
use std::time::Duration;

use crate::http::{BoxError, HttpError};

/// Why a decorator gave up on a URL, or refused to call the client at all.
#[derive(Debug)]
#[non_exhaustive]
pub enum DecoratorError {
    /// The call took longer than a [`Timeout`](super::Timeout)'s limit, and was cancelled.
    TimedOut {
        /// The URL requested.
        url: String,
        /// The limit that ran out.
        limit: Duration,
    },
    /// A [`Retry`](super::Retry) made its last attempt: the attempts ran out, the time budget
    /// did, or the last failure was not worth another try.
    GaveUp {
        /// The URL requested.
        url: String,
        /// How many attempts were made, the first included.
        attempts: u32,
        /// The time from the first attempt's start to giving up.
        elapsed: Duration,
        /// Why there was no further attempt.
        reason: GiveUp,
        /// What the last attempt met.
        last: Box<HttpError>,
    },
    /// A [`Breaker`](super::Breaker)'s circuit is open: the client was not called.
    CircuitOpen {
        /// The URL requested.
        url: String,
        /// How long until a probe may go through (`Duration::MAX` for a circuit open for good);
        /// `None` while a probe is already in flight.
        retry_in: Option<Duration>,
        /// The failure that opened the circuit, as its message (it may be another URL's, on a
        /// shared circuit).
        cause: String,
    },
    /// A [`RateLimit`](super::RateLimit) would have made the call wait longer than allowed.
    RateLimited {
        /// The URL requested.
        url: String,
        /// How long the call would have waited for its slot.
        wait: Duration,
        /// The longest wait the limiter accepts.
        max_wait: Duration,
    },
    /// The semaphore of a [`ConcurrencyLimit`](super::ConcurrencyLimit) was closed by its owner.
    LimitClosed {
        /// The URL requested.
        url: String,
    },
    /// A `tower::Service` behind `FromService` (feature `tower`) failed with an error that
    /// is not an [`HttpError`] (one of tower's own, e.g. its timeout's `Elapsed`).
    Service {
        /// The URL requested.
        url: String,
        /// The service's error.
        source: BoxError,
    },
}

/// Why a [`Retry`](super::Retry) made no further attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GiveUp {
    /// The last failure is not worth another try (a 404, an invalid URL, an open circuit).
    NotRetryable,
    /// The policy's maximum number of attempts was reached.
    Attempts(u32),
    /// The next attempt could not start, or finish, within the policy's time budget.
    Budget(Duration),
    /// The server asked to be retried after `asked` (`Retry-After`), longer than the `longest`
    /// wait the policy allows: waiting would park the call, and an earlier retry would most
    /// likely be refused again.
    RetryAfter {
        /// What the server asked for.
        asked: Duration,
        /// The policy's longest wait ([`RetryPolicy::backoff`](super::RetryPolicy::backoff)'s
        /// `max`).
        longest: Duration,
    },
}

impl fmt::Display for GiveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GiveUp::NotRetryable => write!(f, "the last failure is not worth retrying"),
            GiveUp::Attempts(max) => write!(f, "the limit of {max} attempts"),
            GiveUp::Budget(budget) => write!(f, "the time budget of {budget:?} ran out"),
            GiveUp::RetryAfter { asked, longest } => write!(
                f,
                "the server asked to wait {asked:?}, longer than the longest wait of {longest:?}"
            ),
        }
    }
}

/// Each message says what the decorator did, and only that: the failure that led to it is the
/// [`source`](std::error::Error::source), so a reporter that prints the chain (anyhow's `{:#}`,
/// or a loop over `source()`) shows each line once.
impl fmt::Display for DecoratorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecoratorError::TimedOut { url, limit } => write!(
                f,
                "{url} took longer than the time limit of {limit:?}; the call was cancelled"
            ),
            DecoratorError::GaveUp {
                url,
                attempts,
                elapsed,
                reason,
                ..
            } => write!(
                f,
                "gave up on {url} after {attempts} attempts in {elapsed:?} ({reason})"
            ),
            DecoratorError::CircuitOpen {
                url,
                retry_in: Some(wait),
                cause,
            } => write!(
                f,
                "the circuit is open, {url} was not requested (a probe in {wait:?}); it opened \
                 on: {cause}"
            ),
            DecoratorError::CircuitOpen { url, cause, .. } => write!(
                f,
                "the circuit is half-open and its probe is in flight, {url} was not requested; \
                 it opened on: {cause}"
            ),
            DecoratorError::RateLimited {
                url,
                wait,
                max_wait,
            } => write!(
                f,
                "rate limit for {url}: the next slot is {wait:?} away, longer than the \
                 {max_wait:?} allowed"
            ),
            DecoratorError::LimitClosed { url } => write!(
                f,
                "the concurrency limit for {url} was closed: no more calls are let through"
            ),
            DecoratorError::Service { url, .. } => write!(f, "the service fetching {url} failed"),
        }
    }
}

impl std::error::Error for DecoratorError {
    /// The failure that led here: a retry's last one, a service's error.
    ///
    /// A last failure that is itself a layer's ([`HttpError::Layer`], say a timeout inside the
    /// retry) is passed over for the layer's own error, whose message says what happened: the
    /// `Layer` wrapper's line would only say again that a layer stopped the call. (The wrapper
    /// itself is still there, in [`GaveUp`](DecoratorError::GaveUp)'s `last`.)
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DecoratorError::GaveUp { last, .. } => match &**last {
                HttpError::Layer { source, .. } => Some(&**source),
                last => Some(last),
            },
            DecoratorError::Service { source, .. } => Some(&**source),
            _ => None,
        }
    }
}

/// `error`'s message and those of its sources, joined by `": "` on one line, without the
/// line of an [`HttpError::Layer`] (its source says what the layer did): what an open circuit
/// reports as the failure that opened it.
pub(super) fn one_line(error: &HttpError) -> String {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    let mut line = String::new();
    while let Some(e) = next {
        next = e.source();
        if matches!(e.downcast_ref(), Some(HttpError::Layer { .. })) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&e.to_string());
    }
    line
}

impl DecoratorError {
    /// The decorator's error inside `error`, if a decorator gave up or refused: `None` for
    /// the inner client's own errors (and for another layer's).
    ///
    /// ```
    /// use std::time::Duration;
    /// use async_patterns::decorator::{DecoratorError, Timeout};
    /// use async_patterns::http::{HttpError, HttpGet};
    ///
    /// struct Stuck;
    /// #[async_trait::async_trait]
    /// impl HttpGet for Stuck {
    ///     async fn get(&self, _url: &str) -> Result<String, HttpError> {
    ///         std::future::pending().await
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let e = Timeout::new(Stuck, Duration::from_secs(1)).get("/a").await.unwrap_err();
    /// assert!(matches!(DecoratorError::of(&e), Some(DecoratorError::TimedOut { .. })));
    /// let not_found = HttpError::Status { url: "/a".into(), status: 404 };
    /// assert!(DecoratorError::of(&not_found).is_none());
    /// # }
    /// ```
    pub fn of(error: &HttpError) -> Option<&DecoratorError> {
        match error {
            HttpError::Layer { source, .. } => source.downcast_ref(),
            _ => None,
        }
    }

    /// The URL this error is about.
    pub fn url(&self) -> &str {
        match self {
            DecoratorError::TimedOut { url, .. }
            | DecoratorError::GaveUp { url, .. }
            | DecoratorError::CircuitOpen { url, .. }
            | DecoratorError::RateLimited { url, .. }
            | DecoratorError::LimitClosed { url }
            | DecoratorError::Service { url, .. } => url,
        }
    }
}

/// Whether a failure is *transient*: worth another try later, and a sign that the server (or
/// the way to it) is unwell. [`Retry`](super::Retry) retries these and a
/// [`Breaker`](super::Breaker) counts them, unless told otherwise.
///
/// | transient | not transient |
/// |---|---|
/// | no connection, no valid answer, a body broken off, a client time limit | an invalid URL, a redirect loop, a body too large or not text |
/// | 5xx, 429, and either with `Retry-After` | every other 4xx (404, 401, ...), and 3xx |
/// | a [`Timeout`](super::Timeout)'s limit; tower's timeout | retries spent, an open circuit, a rate limit, a closed limit |
///
/// The right column would fail the same way again: a 404 stays a 404. A decorator's refusals are
/// not transient either, so a retry around a breaker stops as soon as the circuit opens.
///
/// ```
/// use async_patterns::decorator::is_transient;
/// use async_patterns::http::HttpError;
/// let status = |status| HttpError::Status { url: "http://x/".into(), status };
/// assert!(is_transient(&status(503)) && is_transient(&status(429)));
/// assert!(!is_transient(&status(404)));
/// ```
pub fn is_transient(error: &HttpError) -> bool {
    match error {
        HttpError::Connect { .. }
        | HttpError::Protocol { .. }
        | HttpError::Body { .. }
        | HttpError::Timeout { .. }
        | HttpError::RetryAfter { .. } => true,
        HttpError::Status { status, .. } => *status >= 500 || *status == 429,
        HttpError::Layer { .. } => match DecoratorError::of(error) {
            Some(DecoratorError::TimedOut { .. }) => true,
            Some(DecoratorError::Service { source, .. }) => is_tower_timeout(source),
            _ => false,
        },
        _ => false,
    }
}

/// A decorator's error as the [`HttpError`] its `get` returns: [`HttpError::Layer`], the URL
/// copied out, the error itself boxed as the source.
impl From<DecoratorError> for HttpError {
    fn from(e: DecoratorError) -> Self {
        let url = e.url().to_owned();
        HttpError::Layer {
            url,
            source: Box::new(e),
        }
    }
}

/// Whether a service's error is tower's timeout (`tower::timeout::error::Elapsed`).
#[cfg(feature = "tower")]
fn is_tower_timeout(error: &BoxError) -> bool {
    error.is::<::tower::timeout::error::Elapsed>()
}

#[cfg(not(feature = "tower"))]
fn is_tower_timeout(_: &BoxError) -> bool {
    false
}

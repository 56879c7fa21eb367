//! [`HttpError`]: what went wrong, for which URL, with the root cause said once.
//!
//! reqwest wraps a failure in layers ("error sending request for url (URL)", "client error
//! (Connect)", "tcp connect error") around the one line a reader needs ("Connection refused
//! (os error 111)"). [`from_reqwest`] walks that chain to its innermost cause and picks the
//! variant from where in the exchange the failure happened, so a message names the URL once and
//! the cause once.

use std::time::Duration;

/// A boxed error that can cross threads: the error type of the crate's user-implemented traits.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a GET failed. Every variant but [`Client`](HttpError::Client) names the URL it was for.
///
/// The real causes behind each variant, as the three clients report them:
///
/// | variant | produced by |
/// |---|---|
/// | [`InvalidUrl`](HttpError::InvalidUrl) | a URL that does not parse (`"not a url"`), a scheme other than http or https (`ftp://`) |
/// | [`Connect`](HttpError::Connect) | no connection: refused (nothing listens on the port), a host name that does not resolve, a network that is unreachable, a TLS handshake that fails |
/// | [`Protocol`](HttpError::Protocol) | connected, but no valid HTTP answer: the connection closed after the request, a status line that is not HTTP, a header section too large to accept |
/// | [`Timeout`](HttpError::Timeout) | the connect timeout (no connection in time: a server whose accept queue is full) or the total timeout (a server that never answers, or sends one byte a second) |
/// | [`Status`](HttpError::Status) | an answer with a status outside 200..=299 (404, 500, or a 3xx that was not followed) |
/// | [`RetryAfter`](HttpError::RetryAfter) | a 429 or 503 whose `Retry-After` header says when to come back (in seconds, or as a date) |
/// | [`TooManyRedirects`](HttpError::TooManyRedirects) | a redirect loop, or a chain longer than the client's redirect limit |
/// | [`UnsupportedRedirect`](HttpError::UnsupportedRedirect) | a redirect to a URL that is not http or https (`ftp://`, `file:`, `data:`), whether reqwest offered it to the redirect policy or handed the 3xx back |
/// | [`TooLarge`](HttpError::TooLarge) | a body over the client's limit: declared so by `Content-Length`, or found so while reading |
/// | [`Body`](HttpError::Body) | a body that breaks off: the connection closed or failed after the headers |
/// | [`NotText`](HttpError::NotText) | a body that is not text in its charset: invalid UTF-8, a charset the client does not decode, a compressed body (a coding other than `identity` on any `Content-Encoding` line) |
/// | [`Client`](HttpError::Client) | a blocking client built or used on an async runtime thread (or in a raw `spawn_blocking`); a client that could not be built |
/// | [`Task`](HttpError::Task) | the thread or task running the request panicked or was cancelled (the threaded client on a runtime that shut down) |
/// | [`Layer`](HttpError::Layer) | a layer around the client (a decorator, a middleware) gave up or refused: a time limit, retries spent, an open circuit, a rate limit |
///
/// [`status`](HttpError::status) reads the status of both [`Status`](HttpError::Status) and
/// [`RetryAfter`](HttpError::RetryAfter), so "was it a 503?" is one question whatever the
/// server said about coming back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The URL could not be parsed, or uses a scheme we cannot fetch.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No connection could be made: refused, unresolvable, unreachable, or a failed TLS handshake.
    #[error("could not connect to {url}: {cause}")]
    Connect {
        /// The URL requested.
        url: String,
        /// The innermost cause, e.g. "Connection refused (os error 111)".
        cause: String,
    },
    /// The connection was made but no valid HTTP answer came back: closed before the answer, a
    /// garbage status line, an oversized header.
    #[error("{url} gave no valid HTTP answer: {cause}")]
    Protocol {
        /// The URL requested.
        url: String,
        /// The innermost cause, e.g. "connection closed before message completed".
        cause: String,
    },
    /// One of the client's time limits ran out; [`TimeLimit`] says which, and how long it was.
    #[error("timed out fetching {url}: {limit}")]
    Timeout {
        /// The URL requested.
        url: String,
        /// The limit that fired.
        limit: TimeLimit,
    },
    /// The server answered with a status outside 200..=299.
    #[error("{url} answered HTTP {status}")]
    Status {
        /// The URL requested.
        url: String,
        /// The HTTP status code received.
        status: u16,
    },
    /// The server answered 429 (too many requests) or 503 (unavailable) and said when to come
    /// back, in a `Retry-After` header. The same answer without the header is
    /// [`Status`](HttpError::Status).
    #[error("{url} answered HTTP {status} and asked to be retried after {retry_after:?}")]
    RetryAfter {
        /// The URL requested.
        url: String,
        /// The HTTP status code received: 429 or 503.
        status: u16,
        /// How long the server asked us to wait (zero for a date already past).
        retry_after: Duration,
    },
    /// The server kept redirecting: a loop, or a chain longer than the client's limit.
    #[error("{url} was still redirecting after {count} redirects (a redirect loop?)")]
    TooManyRedirects {
        /// The URL requested.
        url: String,
        /// How many redirects were followed before giving up (the client's limit).
        count: usize,
    },
    /// A redirect pointed to a URL this client cannot fetch (a scheme other than http or https).
    #[error("{url} redirected to {target}, which is not an http or https URL")]
    UnsupportedRedirect {
        /// The URL requested.
        url: String,
        /// Where the redirect pointed.
        target: String,
    },
    /// The body is larger than the client's limit; nothing past the limit was read.
    #[error("the body of {url} is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The URL requested.
        url: String,
        /// The client's limit, in bytes.
        limit: usize,
    },
    /// The response started but its body could not be read to the end.
    #[error("could not read the body of {url}: {cause}")]
    Body {
        /// The URL requested.
        url: String,
        /// The innermost cause, e.g. "connection closed before message completed".
        cause: String,
    },
    /// The body arrived but is not text in the charset it was read as.
    #[error("the body of {url} is not {charset} text: {reason}")]
    NotText {
        /// The URL requested.
        url: String,
        /// The charset the body was declared in, or `utf-8` when none was declared.
        charset: String,
        /// Why it is not text: the first invalid byte, an unknown charset, a compression.
        reason: String,
    },
    /// The client could not be built, or was used where it cannot work (a blocking client on an
    /// async runtime thread). Not tied to one URL.
    #[error("HTTP client unusable: {reason}")]
    Client {
        /// What went wrong.
        reason: String,
    },
    /// The task that ran the request (a blocking one, or a spawned one) panicked or was
    /// cancelled.
    // The cause is the source, said once by whoever prints the chain, not repeated here.
    #[error("the task fetching {url} failed")]
    Task {
        /// The URL requested.
        url: String,
        /// What happened to the task.
        #[source]
        source: crate::support::TaskError,
    },
    /// A layer around the client (a decorator, a middleware) gave up on the call or refused
    /// it. The layer's own error is the source, boxed (as tower's `BoxError`), so this type
    /// knows nothing of the layers built above it. The message says only that a layer stopped
    /// the call; the source says how and why, so a reporter that prints the chain shows each
    /// line once. Get the layer's error back with `source.downcast_ref::<T>()`, or the helper
    /// its type offers.
    #[error("a layer around the client stopped the call to {url}")]
    Layer {
        /// The URL requested.
        url: String,
        /// The layer's own error.
        source: BoxError,
    },
}

/// Which time limit fired, and how long it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeLimit {
    /// No connection within this long.
    Connect(Duration),
    /// No complete answer (headers and body) within this long after the request started.
    Total(Duration),
}

impl std::fmt::Display for TimeLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimeLimit::Connect(d) => write!(f, "no connection within the connect timeout of {d:?}"),
            TimeLimit::Total(d) => {
                write!(f, "no complete answer within the total timeout of {d:?}")
            }
        }
    }
}

impl HttpError {
    /// The URL this error is about, if it is about one.
    pub fn url(&self) -> Option<&str> {
        match self {
            HttpError::InvalidUrl { url, .. }
            | HttpError::Connect { url, .. }
            | HttpError::Protocol { url, .. }
            | HttpError::Timeout { url, .. }
            | HttpError::Status { url, .. }
            | HttpError::RetryAfter { url, .. }
            | HttpError::TooManyRedirects { url, .. }
            | HttpError::UnsupportedRedirect { url, .. }
            | HttpError::TooLarge { url, .. }
            | HttpError::Body { url, .. }
            | HttpError::NotText { url, .. }
            | HttpError::Task { url, .. }
            | HttpError::Layer { url, .. } => Some(url),
            HttpError::Client { .. } => None,
        }
    }

    /// The HTTP status the server answered with, for [`Status`](HttpError::Status) and
    /// [`RetryAfter`](HttpError::RetryAfter); `None` for every failure that had no answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Status { status, .. } | HttpError::RetryAfter { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }
}

#[cfg(feature = "http")]
pub(crate) use mapping::{Phase, from_io, from_reqwest, parse_url};

#[cfg(feature = "http")]
mod mapping {
    use super::{HttpError, TimeLimit};
    use crate::http::config::{HttpConfig, RedirectRefused};

    /// The message of the innermost error in `err`'s source chain: the cause, without the layers.
    fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
        let mut inner = err;
        while let Some(next) = inner.source() {
            inner = next;
        }
        inner.to_string()
    }

    /// Where in the exchange a reqwest error happened: it decides between "no answer" and "a
    /// broken body" for the same broken connection.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum Phase {
        /// Connecting, sending, waiting for the status line and headers, following redirects.
        Send,
        /// Reading the body, once the headers have arrived.
        Body,
    }

    /// Map a reqwest error to the variant that names its real cause, once.
    pub(crate) fn from_reqwest(
        url: &str,
        err: &reqwest::Error,
        phase: Phase,
        config: &HttpConfig,
    ) -> HttpError {
        let url = url.to_owned();
        // Our own redirect policy refused: it left a typed reason in the chain.
        if let Some(refused) = find::<RedirectRefused>(err) {
            return match refused {
                RedirectRefused::Limit(count) => HttpError::TooManyRedirects { url, count: *count },
                RedirectRefused::Scheme(target) => HttpError::UnsupportedRedirect {
                    url,
                    target: target.clone(),
                },
            };
        }
        let cause = root_cause(err);
        if err.is_timeout() {
            // reqwest marks a connect timeout as a connect error too; anything else that timed
            // out is the total limit. Without the matching limit set, the timeout was the
            // operating system's, and its cause says so.
            let limit = if err.is_connect() {
                config.connect_timeout.map(TimeLimit::Connect)
            } else {
                config.timeout.map(TimeLimit::Total)
            };
            if let Some(limit) = limit {
                return HttpError::Timeout { url, limit };
            }
        }
        if err.is_builder() {
            HttpError::InvalidUrl { url, reason: cause }
        } else if err.is_connect() {
            HttpError::Connect { url, cause }
        } else if phase == Phase::Body || err.is_body() || err.is_decode() {
            HttpError::Body { url, cause }
        } else {
            // Connected, request sent, and then no valid answer: closed, reset, unparsable.
            HttpError::Protocol { url, cause }
        }
    }

    /// Map an error from reading a blocking body: reqwest wraps its own error in an `io::Error`.
    pub(crate) fn from_io(url: &str, err: &std::io::Error, config: &HttpConfig) -> HttpError {
        match err
            .get_ref()
            .and_then(|e| e.downcast_ref::<reqwest::Error>())
        {
            Some(inner) => from_reqwest(url, inner, Phase::Body, config),
            None => HttpError::Body {
                url: url.to_owned(),
                cause: root_cause(err),
            },
        }
    }

    /// Parse `url` up front so a bad one gets [`HttpError::InvalidUrl`] before any I/O.
    pub(crate) fn parse_url(url: &str) -> Result<reqwest::Url, HttpError> {
        let invalid = |reason: String| HttpError::InvalidUrl {
            url: url.to_owned(),
            reason,
        };
        let parsed = reqwest::Url::parse(url).map_err(|e| invalid(e.to_string()))?;
        match parsed.scheme() {
            "http" | "https" => Ok(parsed),
            other => Err(invalid(format!("scheme {other:?} is not http or https"))),
        }
    }

    /// The first error of type `T` in `err`'s source chain.
    fn find<T: std::error::Error + 'static>(err: &reqwest::Error) -> Option<&T> {
        let mut next = std::error::Error::source(err);
        while let Some(inner) = next {
            if let Some(found) = inner.downcast_ref::<T>() {
                return Some(found);
            }
            next = inner.source();
        }
        None
    }
}

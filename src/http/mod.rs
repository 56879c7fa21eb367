//! Three ways to GET a page, behind one async trait.
//!
//! The talk this crate retells fetched web pages three ways, and so does this module:
//!
//! | module       | the talk's name | how it waits                                   |
//! |--------------|-----------------|------------------------------------------------|
//! | [`blocking`] | plain `requests`| blocks the calling thread (not async at all)   |
//! | [`threaded`] | `req_http`      | blocking reqwest on tokio's blocking pool      |
//! | [`native`]   | `req_http_aio`  | the async `reqwest::Client`: no thread per call |
//!
//! [`HttpGet`] is the one trait every pattern in the crate fetches through, so a strategy, an
//! observer or a pipeline stage can be handed any of the three, or a mock.
//!
//! # Why a trait with one method
//! Like tower's `Service`, the smallest useful contract: a URL in, the body text or an
//! [`HttpError`] out. Everything else (timeouts, clients, pools) is the implementation's
//! business, so tests can swap in `MockHttpGet` (feature `testkit`) and examples can swap in the
//! real network.
//!
//! # The sync shape and the async shape
//! ```text
//! fn get(&self, url: &str) -> Result<String, HttpError>;          // sync
//! async fn get(&self, url: &str) -> Result<String, HttpError>;    // async: only `async` added
//! ```

use async_trait::async_trait;

#[cfg(feature = "http")]
pub mod blocking;
#[cfg(feature = "http")]
pub mod native;
#[cfg(feature = "http")]
pub mod threaded;

/// A boxed error that can cross threads, the cause carried by some [`HttpError`] variants.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a GET failed. Every variant names the URL it was for.
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
    /// The connection was refused, reset, or failed before a response arrived.
    #[error("could not connect to {url}: {source}")]
    Connect {
        /// The URL requested.
        url: String,
        /// The underlying cause.
        #[source]
        source: BoxError,
    },
    /// No complete response arrived within the client's timeout.
    #[error("timed out fetching {url}")]
    Timeout {
        /// The URL requested.
        url: String,
    },
    /// The server answered with a status outside 200..=299.
    #[error("{url} answered HTTP {status}")]
    Status {
        /// The URL requested.
        url: String,
        /// The HTTP status code received.
        status: u16,
    },
    /// The response started but its body could not be read (or was not text).
    #[error("could not read the body of {url}: {source}")]
    Body {
        /// The URL requested.
        url: String,
        /// The underlying cause.
        #[source]
        source: BoxError,
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
    #[error("the task fetching {url} failed: {source}")]
    Task {
        /// The URL requested.
        url: String,
        /// What happened to the task.
        #[source]
        source: crate::basics::blocking::TaskError,
    },
}

impl HttpError {
    /// The URL this error is about, if it is about one.
    pub fn url(&self) -> Option<&str> {
        match self {
            HttpError::InvalidUrl { url, .. }
            | HttpError::Connect { url, .. }
            | HttpError::Timeout { url }
            | HttpError::Status { url, .. }
            | HttpError::Body { url, .. }
            | HttpError::Task { url, .. } => Some(url),
            HttpError::Client { .. } => None,
        }
    }
}

/// Fetch the body of a URL as text.
///
/// One async method, so implementations are interchangeable and work behind `dyn HttpGet`.
/// `Send + Sync` because the patterns share a fetcher between concurrent tasks.
///
/// ```
/// use async_patterns::http::{HttpError, HttpGet};
///
/// /// A fetcher that answers every URL with its own length: enough for a unit test.
/// struct Echo;
///
/// #[async_trait::async_trait]
/// impl HttpGet for Echo {
///     async fn get(&self, url: &str) -> Result<String, HttpError> {
///         Ok(url.len().to_string())
///     }
/// }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// assert_eq!(Echo.get("http://x").await.unwrap(), "8");
/// # });
/// ```
#[async_trait]
pub trait HttpGet: Send + Sync {
    /// GET `url` and return its body as text, or say why that failed.
    async fn get(&self, url: &str) -> Result<String, HttpError>;
}

// Shared and borrowed fetchers are fetchers too, so callers can pass `Arc<dyn HttpGet>`,
// `&client` or `Box<dyn HttpGet>` wherever an `HttpGet` is expected.
crate::support::forward!(Arc, Box, Ref => [] HttpGet {
    async fn get(&self, url: &str) -> Result<String, HttpError>;
});

/// Map a reqwest error to the variant that names its real cause.
#[cfg(feature = "http")]
pub(crate) fn from_reqwest(url: &str, err: reqwest::Error) -> HttpError {
    let url = url.to_owned();
    if err.is_timeout() {
        HttpError::Timeout { url }
    } else if err.is_builder() {
        HttpError::InvalidUrl {
            reason: err.to_string(),
            url,
        }
    } else if let Some(status) = err.status() {
        HttpError::Status {
            url,
            status: status.as_u16(),
        }
    } else if err.is_body() || err.is_decode() {
        HttpError::Body {
            url,
            source: Box::new(err),
        }
    } else {
        // is_connect(), is_request() (connection closed mid-request) and the rest: the
        // exchange never produced a response.
        HttpError::Connect {
            url,
            source: Box::new(err),
        }
    }
}

/// A status outside 200..=299 is an error that names the URL and the code.
#[cfg(feature = "http")]
pub(crate) fn check_status(url: &str, status: reqwest::StatusCode) -> Result<(), HttpError> {
    if status.is_success() {
        Ok(())
    } else {
        Err(HttpError::Status {
            url: url.to_owned(),
            status: status.as_u16(),
        })
    }
}

/// A failure while reading the body: once the headers have arrived, a broken connection is a
/// body that could not be read, whatever reqwest calls it.
#[cfg(feature = "http")]
pub(crate) fn body_error(url: &str, err: reqwest::Error) -> HttpError {
    match from_reqwest(url, err) {
        HttpError::Connect { url, source } => HttpError::Body { url, source },
        other => other,
    }
}

/// Parse `url` up front so a bad one gets [`HttpError::InvalidUrl`] before any I/O.
#[cfg(feature = "http")]
pub(crate) fn parse_url(url: &str) -> Result<reqwest::Url, HttpError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| HttpError::InvalidUrl {
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    match parsed.scheme() {
        "http" | "https" => Ok(parsed),
        other => Err(HttpError::InvalidUrl {
            url: url.to_owned(),
            reason: format!("scheme {other:?} is not http or https"),
        }),
    }
}

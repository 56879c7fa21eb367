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
//! # Limits, on by default
//! A client that trusts the server can be held forever by one that accepts and never answers,
//! or exhausted by one that sends gigabytes. Every client here takes an [`HttpConfig`] whose
//! limits are finite by default:
//!
//! | limit | default | when it fires |
//! |---|---|---|
//! | connect timeout | 10 s | [`HttpError::Timeout`] with [`TimeLimit::Connect`] |
//! | total timeout, body included | 30 s | [`HttpError::Timeout`] with [`TimeLimit::Total`] |
//! | largest body | 8 MiB | [`HttpError::TooLarge`], before reading when `Content-Length` says so |
//! | redirects followed | 10 | [`HttpError::TooManyRedirects`] |
//!
//! Change them with the builder methods, and ask for "no timeout" by name:
//!
//! ```no_run
//! use std::time::Duration;
//! use async_patterns::http::HttpConfig;
//! use async_patterns::http::native::NativeHttp;
//!
//! let quick = NativeHttp::new(HttpConfig::default().timeout(Duration::from_secs(2)))?;
//! let big = NativeHttp::new(HttpConfig::default().max_body(256 * 1024 * 1024))?;
//! let patient = NativeHttp::new(HttpConfig::default().no_timeout())?;
//! # Ok::<(), async_patterns::http::HttpError>(())
//! ```
//!
//! The hardening is written once, for the three clients: [`HttpConfig`] (the limits and the
//! redirect policy), `body.rs` (the body read up to the limit and decoded), and `errors.rs`
//! ([`HttpError`], and reqwest's errors mapped to it with their root cause).
//!
//! # The sync shape and the async shape
//! ```text
//! fn get(&self, url: &str) -> Result<String, HttpError>;          // sync
//! async fn get(&self, url: &str) -> Result<String, HttpError>;    // async: only `async` added
//! ```

use async_trait::async_trait;

#[cfg(feature = "http")]
mod body;
#[cfg(feature = "http")]
mod config;
mod errors;
#[cfg(feature = "http")]
mod retry_after;

#[cfg(feature = "http")]
pub mod blocking;
#[cfg(feature = "http")]
pub mod native;
#[cfg(feature = "http")]
pub mod threaded;

// The clients where a user looks for them first: `http::NativeHttp`, not only
// `http::native::NativeHttp`.
#[cfg(feature = "http")]
pub use blocking::BlockingHttp;
#[cfg(feature = "http")]
pub use config::HttpConfig;
pub use errors::{BoxError, HttpError, TimeLimit};
#[cfg(feature = "http")]
pub use native::NativeHttp;
#[cfg(feature = "http")]
pub use threaded::ThreadedHttp;

/// Fetch the body of a URL as text.
///
/// One async method, so implementations are interchangeable and work behind `dyn HttpGet`.
/// `Send + Sync` because the patterns share a fetcher between concurrent tasks.
///
/// # What "text" means
/// The body is decoded by the charset its `Content-Type` declares, UTF-8 when none is declared
/// (a UTF-8 byte-order mark is dropped). The three clients decode UTF-8, US-ASCII and
/// ISO-8859-1; a body that is invalid in its charset, declared in another charset, or compressed
/// (any coding but `identity`, on any `Content-Encoding` line) is [`HttpError::NotText`], never
/// text with replacement characters. The media type itself is not judged: an
/// `application/octet-stream` body that happens to be valid UTF-8 is returned, one that is not
/// (an image, gzip bytes) is `NotText`. An implementation of your own should keep that promise:
/// text, or an error.
///
/// ```
/// use async_patterns::http::{HttpError, HttpGet};
///
/// /// A fetcher that answers every URL with its own length: enough for a unit test.
/// struct Echo;
///
/// #[async_patterns::async_trait]
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

// Shared, boxed and borrowed fetchers are fetchers too, so callers can pass
// `Arc<dyn HttpGet>`, `Box<dyn HttpGet>` or `&client` wherever an `HttpGet` is expected. Each
// impl only forwards to the fetcher it points to; `?Sized` lets that fetcher be a `dyn HttpGet`.
#[async_trait]
impl<T: HttpGet + ?Sized> HttpGet for std::sync::Arc<T> {
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        (**self).get(url).await
    }
}

#[async_trait]
impl<T: HttpGet + ?Sized> HttpGet for Box<T> {
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        (**self).get(url).await
    }
}

#[async_trait]
impl<T: HttpGet + ?Sized> HttpGet for &T {
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        (**self).get(url).await
    }
}

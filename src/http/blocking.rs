//! Plain blocking reqwest: the "non-async code" of the talk.
//!
//! [`BlockingHttp::get`] blocks the calling thread until the whole body has arrived. That is
//! fine in a script or a thread of its own, and wrong inside async code, where it would freeze
//! every task sharing the thread (see [`crate::basics::blocking`]).
//!
//! reqwest's blocking client runs a private runtime on a helper thread and panics (in debug
//! builds) when it is built, used or dropped on a thread that is running an async runtime. This
//! wrapper turns that misuse into [`HttpError::Client`] and moves a drop off such a thread, so it
//! never panics; [`crate::http::threaded`] is the way to call it from async code.

use std::time::Duration;

use crate::http::{HttpError, body_error, check_status, from_reqwest, parse_url};

use crate::basics::blocking::blocking_allowed_here;

/// A `reqwest::blocking::Client` that is never dropped on an async runtime thread.
///
/// Dropping it there makes reqwest join its helper thread from async code; when that would
/// happen, the drop is handed to a short-lived plain thread instead.
#[derive(Debug)]
pub(crate) struct SafeClient(Option<reqwest::blocking::Client>);

impl SafeClient {
    /// Build the client; must run on a plain (non-runtime) thread.
    pub(crate) fn build(timeout: Option<Duration>) -> Result<Self, HttpError> {
        if !blocking_allowed_here() {
            return Err(HttpError::Client {
                reason: "reqwest's blocking client cannot be built on an async runtime thread; \
                         use http::threaded::ThreadedHttp, basics::blocking::to_thread, or build it outside the runtime"
                    .into(),
            });
        }
        let mut builder = reqwest::blocking::Client::builder();
        // `None` would mean reqwest's default of 30 s; we want "no timeout" to mean none.
        builder = builder.timeout(timeout);
        builder
            .build()
            .map(|c| SafeClient(Some(c)))
            .map_err(|e| HttpError::Client {
                reason: format!("could not build the blocking client: {e}"),
            })
    }

    /// GET `url`, blocking this thread; must run on a plain (non-runtime) thread.
    pub(crate) fn get(&self, url: &str) -> Result<String, HttpError> {
        if !blocking_allowed_here() {
            return Err(HttpError::Client {
                reason: format!(
                    "blocking GET of {url} called on an async runtime thread; use \
                     http::threaded::ThreadedHttp or basics::blocking::to_thread"
                ),
            });
        }
        let Some(client) = &self.0 else {
            return Err(HttpError::Client {
                reason: "the blocking client was already released".into(),
            });
        };
        let parsed = parse_url(url)?;
        let response = client
            .get(parsed)
            .send()
            .map_err(|e| from_reqwest(url, e))?;
        check_status(url, response.status())?;
        response.text().map_err(|e| body_error(url, e))
    }
}

impl Drop for SafeClient {
    fn drop(&mut self) {
        let Some(client) = self.0.take() else { return };
        if !blocking_allowed_here() {
            // If even a thread cannot be started, leaking the client beats a panic.
            if let Err(e) = std::thread::Builder::new().spawn(move || drop(client)) {
                eprintln!("async-patterns: leaking a blocking reqwest client: {e}");
            }
        }
    }
}

/// The plain blocking fetcher: one thread, one request at a time.
///
/// ```no_run
/// use async_patterns::http::blocking::BlockingHttp;
/// let http = BlockingHttp::new(None)?;
/// let body = http.get("http://127.0.0.1:8080/")?;
/// # Ok::<(), async_patterns::http::HttpError>(())
/// ```
#[derive(Debug)]
pub struct BlockingHttp {
    client: SafeClient,
}

impl BlockingHttp {
    /// Build a blocking client with an optional whole-request timeout.
    ///
    /// Fails with [`HttpError::Client`] when called on an async runtime thread.
    pub fn new(timeout: Option<Duration>) -> Result<Self, HttpError> {
        Ok(BlockingHttp {
            client: SafeClient::build(timeout)?,
        })
    }

    /// GET `url` and return its body, blocking the calling thread until it has arrived.
    ///
    /// Fails with [`HttpError::Client`] when called on an async runtime thread, where it would
    /// freeze the runtime.
    pub fn get(&self, url: &str) -> Result<String, HttpError> {
        self.client.get(url)
    }
}

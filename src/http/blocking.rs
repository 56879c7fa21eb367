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
//!
//! # The total timeout, enforced between reads
//! reqwest's blocking `timeout` bounds each *wait* (for the headers, then for each read of the
//! body), not the request: a server sending one byte a second would never trip it. So `get`
//! keeps its own deadline and checks it after every read. A server that falls silent just
//! before the deadline holds the last read until its wait runs out, so a request ends at most
//! about twice the total timeout after it started, never later.

use std::io::Read;
use std::time::Instant;

use crate::http::body::TextBody;
use crate::http::errors::{Phase, from_io, from_reqwest, parse_url};
use crate::http::{HttpConfig, HttpError, TimeLimit};
use crate::support::blocking_allowed_here;

/// A `reqwest::blocking::Client` that is never dropped on an async runtime thread.
///
/// Dropping it there makes reqwest join its helper thread from async code; when that would
/// happen, the drop is handed to a short-lived plain thread instead.
#[derive(Debug)]
pub(crate) struct SafeClient {
    client: Option<reqwest::blocking::Client>,
    config: HttpConfig,
}

impl SafeClient {
    /// Build the client; must run on a plain (non-runtime) thread.
    pub(crate) fn build(config: HttpConfig) -> Result<Self, HttpError> {
        if !blocking_allowed_here() {
            return Err(HttpError::Client {
                reason: "reqwest's blocking client cannot be built on an async runtime thread \
                         (a raw spawn_blocking thread cannot be told apart from one); use \
                         http::threaded::ThreadedHttp, basics::blocking::to_thread, or build it \
                         outside the runtime"
                    .into(),
            });
        }
        // `timeout(None)` is spelled out: left unset, reqwest would wait 30 s, not forever.
        let builder = reqwest::blocking::Client::builder()
            .redirect(config.redirect_policy())
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout);
        builder
            .build()
            .map(|c| SafeClient {
                client: Some(c),
                config,
            })
            .map_err(|e| HttpError::Client {
                reason: format!("could not build the blocking client: {e}"),
            })
    }

    /// GET `url`, blocking this thread; must run on a plain (non-runtime) thread.
    pub(crate) fn get(&self, url: &str) -> Result<String, HttpError> {
        if !blocking_allowed_here() {
            return Err(HttpError::Client {
                reason: format!(
                    "blocking GET of {url} called on an async runtime thread (or a raw \
                     spawn_blocking thread, which cannot be told apart from one); use \
                     http::threaded::ThreadedHttp or basics::blocking::to_thread"
                ),
            });
        }
        let Some(client) = &self.client else {
            return Err(HttpError::Client {
                reason: "the blocking client was already released".into(),
            });
        };
        let config = &self.config;
        let started = Instant::now();
        let parsed = parse_url(url)?;
        let mut response = client
            .get(parsed)
            .send()
            .map_err(|e| from_reqwest(url, &e, Phase::Send, config))?;
        let (status, length) = (response.status(), response.content_length());
        let mut body = TextBody::start(url, status, response.headers(), length, config)?;
        // A scratch buffer for each read; the body itself grows in `body`, once.
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let read = match response.read(&mut chunk) {
                Ok(0) => return body.finish(),
                Ok(read) => read,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(from_io(url, &e, config)),
            };
            body.push(&chunk[..read])?;
            if let Some(limit) = config.timeout.filter(|&t| started.elapsed() > t) {
                return Err(HttpError::Timeout {
                    url: url.to_owned(),
                    limit: TimeLimit::Total(limit),
                });
            }
        }
    }
}

impl Drop for SafeClient {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
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
/// # Where it can be built and used
/// On any thread that runs no async runtime, and inside a
/// [`to_thread`](crate::basics::blocking::to_thread) closure. It refuses (with
/// [`HttpError::Client`]) on a runtime thread, where blocking would freeze every task sharing
/// the thread, and also inside a raw [`tokio::task::spawn_blocking`] closure, where blocking
/// would be fine: tokio gives no public way to tell a blocking-pool thread from a runtime worker
/// (both have a current `Handle`), so only the threads `to_thread` marks are known to be safe.
/// From async code, call it through `to_thread` rather than a raw `spawn_blocking`, or use
/// [`ThreadedHttp`](crate::http::threaded::ThreadedHttp), which does exactly that.
///
/// # What a request costs while it runs
/// Its thread, until the answer, an error or the total timeout: a blocking call cannot be
/// interrupted, so a request abandoned by an async caller (through `to_thread`) keeps its thread
/// busy until then. That is why the default total timeout is finite (30 s).
///
/// ```no_run
/// use async_patterns::http::HttpConfig;
/// use async_patterns::http::blocking::BlockingHttp;
/// let http = BlockingHttp::new(HttpConfig::default())?;
/// let body = http.get("http://127.0.0.1:8080/")?;
/// # Ok::<(), async_patterns::http::HttpError>(())
/// ```
#[derive(Debug)]
pub struct BlockingHttp {
    client: SafeClient,
}

impl BlockingHttp {
    /// A blocking client with `config`'s limits ([`HttpConfig::default`]: 10 s to connect, 30 s
    /// in all, 8 MiB of body, 10 redirects).
    ///
    /// Fails with [`HttpError::Client`] when called on an async runtime thread.
    pub fn new(config: HttpConfig) -> Result<Self, HttpError> {
        Ok(BlockingHttp {
            client: SafeClient::build(config)?,
        })
    }

    /// GET `url` and return its body, blocking the calling thread until it has arrived.
    ///
    /// Fails with [`HttpError::Client`] when called on an async runtime thread, where it would
    /// freeze the runtime.
    pub fn get(&self, url: &str) -> Result<String, HttpError> {
        self.client.get(url)
    }

    /// The limits this client applies.
    pub fn config(&self) -> &HttpConfig {
        &self.client.config
    }
}

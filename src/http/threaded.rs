//! `req_http`: blocking reqwest made awaitable with `spawn_blocking`.
//!
//! The talk's first step from blocking to async code: keep the blocking client, run each call on
//! a thread of its own, and await the result (what `basics::blocking::to_thread` does, written
//! out here with [`tokio::task::spawn_blocking`]).
//!
//! ```text
//! fn get(url) -> Result<String>         { client.get(url) }                          // blocking
//! async fn get(url) -> Result<String>   { to_thread(move || client.get(url)).await }  // threaded
//! ```
//!
//! It works and it scales to a few hundred concurrent requests, because tokio's blocking pool
//! grows to 512 threads; but every request in flight holds an OS thread. The native async client
//! ([`crate::http::native`]) waits for thousands of sockets with none.
//!
//! # Cancellation
//! Dropping the future stops the *waiting*, not the request: a blocking thread cannot be
//! interrupted, so the request runs to its end (or its total timeout, enforced as
//! [`crate::http::blocking`] explains) and the result is discarded. Until then it holds its blocking-pool thread, and a runtime being dropped waits
//! for that thread. So the total timeout is finite by default (30 s, [`HttpConfig`]), and a
//! program that may abandon requests should end its runtime with
//! [`Runtime::shutdown_timeout`](tokio::runtime::Runtime::shutdown_timeout), which stops waiting
//! for such threads after the time it is given.
//!
//! The blocking client is built lazily on the first blocking thread that needs it (reqwest
//! refuses to build it on a runtime thread) and is never dropped on a runtime thread.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;

use crate::http::blocking::SafeClient;
use crate::http::{HttpConfig, HttpError, HttpGet};
use crate::support::{TaskError, marked_blocking};

/// Blocking reqwest behind an async method, one blocking-pool thread per request in flight.
///
/// Cheap to clone: clones share one blocking client (and its connection pool).
#[derive(Debug, Clone)]
pub struct ThreadedHttp {
    config: HttpConfig,
    // The build's outcome is cached too, so a client that cannot be built fails every call the
    // same way rather than being retried per request.
    client: Arc<OnceLock<Result<SafeClient, String>>>,
}

impl ThreadedHttp {
    /// A fetcher with `config`'s limits ([`HttpConfig::default`]: 10 s to connect, 30 s in all,
    /// 8 MiB of body, 10 redirects).
    ///
    /// Cheap and infallible: the blocking client is built by the first request.
    pub fn new(config: HttpConfig) -> Self {
        ThreadedHttp {
            config,
            client: Arc::new(OnceLock::new()),
        }
    }

    /// The limits this client applies.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }
}

impl Default for ThreadedHttp {
    /// A fetcher with the default limits, [`HttpConfig::default`].
    fn default() -> Self {
        ThreadedHttp::new(HttpConfig::default())
    }
}

#[async_trait]
impl HttpGet for ThreadedHttp {
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        let client = Arc::clone(&self.client);
        let config = self.config;
        let owned = url.to_owned();
        // The blocking call goes to a thread of tokio's blocking pool, marked as one that may
        // block (the blocking client checks), and this task awaits it without holding a worker.
        let joined = tokio::task::spawn_blocking(move || {
            marked_blocking(|| {
                let client =
                    client.get_or_init(|| SafeClient::build(config).map_err(|e| e.to_string()));
                match client {
                    Ok(client) => client.get(&owned),
                    Err(reason) => Err(HttpError::Client {
                        reason: reason.clone(),
                    }),
                }
            })
        })
        .await;
        // A panic on that thread, or a runtime shut down under it, is this URL's error.
        joined.map_err(|e| HttpError::Task {
            url: url.to_owned(),
            source: TaskError::from_join(e),
        })?
    }
}

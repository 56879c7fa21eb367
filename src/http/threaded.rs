//! `req_http`: blocking reqwest made awaitable with `spawn_blocking`.
//!
//! The talk's first step from blocking to async code: keep the blocking client, run each call on
//! a thread of its own, and await the result ([`crate::basics::blocking::to_thread`]).
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
//! interrupted, so the request runs to its end (or its timeout) and the result is discarded.
//! Set a timeout so an abandoned request cannot hold its thread for long.
//!
//! The blocking client is built lazily on the first blocking thread that needs it (reqwest
//! refuses to build it on a runtime thread) and is never dropped on a runtime thread.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;

use crate::basics::blocking::to_thread;
use crate::http::blocking::SafeClient;
use crate::http::{HttpError, HttpGet};

/// Blocking reqwest behind an async method, one blocking-pool thread per request in flight.
///
/// Cheap to clone: clones share one blocking client (and its connection pool).
#[derive(Debug, Clone)]
pub struct ThreadedHttp {
    timeout: Option<Duration>,
    // The build's outcome is cached too, so a client that cannot be built fails every call the
    // same way rather than being retried per request.
    client: Arc<OnceLock<Result<SafeClient, String>>>,
}

impl ThreadedHttp {
    /// A fetcher whose requests time out after `timeout` (`None`: never).
    ///
    /// Cheap and infallible: the blocking client is built by the first request.
    pub fn new(timeout: Option<Duration>) -> Self {
        ThreadedHttp {
            timeout,
            client: Arc::new(OnceLock::new()),
        }
    }
}

impl Default for ThreadedHttp {
    /// A fetcher with a 30 s timeout, like reqwest's default.
    fn default() -> Self {
        ThreadedHttp::new(Some(Duration::from_secs(30)))
    }
}

#[async_trait]
impl HttpGet for ThreadedHttp {
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        let client = Arc::clone(&self.client);
        let timeout = self.timeout;
        let owned = url.to_owned();
        let joined = to_thread(move || {
            let client =
                client.get_or_init(|| SafeClient::build(timeout).map_err(|e| e.to_string()));
            match client {
                Ok(client) => client.get(&owned),
                Err(reason) => Err(HttpError::Client {
                    reason: reason.clone(),
                }),
            }
        })
        .await;
        joined.map_err(|source| HttpError::Task {
            url: url.to_owned(),
            source,
        })?
    }
}

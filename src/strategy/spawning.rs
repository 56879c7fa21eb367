//! The strategies that hand each request to someone else: a tokio task ([`InTasks`]) or a
//! thread of the blocking pool ([`InThreads`]).
//!
//! Both need a tokio runtime to spawn on; polled outside one (say, by
//! `futures::executor::block_on`), they answer every URL with an [`HttpError::Client`] that
//! names the strategy, rather than tokio's panic. Both get per-URL panic isolation for free:
//! the task or thread boundary catches a fetcher's panic, and only its URL gets
//! [`HttpError::Task`].

use std::sync::Arc;

use super::{Fetched, NativeFetch};
use crate::basics::blocking::to_thread;
use crate::basics::gather;
use crate::http::{HttpError, HttpGet};

/// For a strategy polled outside a tokio runtime: one [`HttpError::Client`] per URL that names
/// the strategy.
fn no_runtime(strategy: &impl NativeFetch, urls: &[String]) -> Fetched {
    urls.iter()
        .map(|_| {
            Err(HttpError::Client {
                reason: format!("the {:?} strategy needs a tokio runtime", strategy.name()),
            })
        })
        .collect()
}

/// Each request in its own tokio task (a `JoinSet`): concurrent like
/// [`AllAtOnce`](super::AllAtOnce), and on a multi-thread runtime the responses are also
/// *processed* in parallel. A fetcher that panics costs only its own URL ([`HttpError::Task`]):
/// the task boundary catches it.
///
/// Needs a tokio runtime (outside one, every URL gets [`HttpError::Client`]). Dropping the
/// future aborts the tasks.
#[derive(Debug, Clone, Copy, Default)]
pub struct InTasks;

impl NativeFetch for InTasks {
    fn name(&self) -> &str {
        "in tasks"
    }

    async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
        // Spawning outside a runtime would panic; say so per URL instead.
        if tokio::runtime::Handle::try_current().is_err() {
            return no_runtime(self, urls);
        }
        let jobs = urls.iter().map(|url| {
            // Tasks must own what they use: a clone of the Arc and of the URL.
            let http = Arc::clone(http);
            let url = url.clone();
            async move { http.get(&url).await }
        });
        let joined = gather::in_tasks(jobs).await;
        joined
            .into_iter()
            .zip(urls)
            .map(|(result, url)| {
                result.unwrap_or_else(|source| {
                    Err(HttpError::Task {
                        url: url.clone(),
                        source,
                    })
                })
            })
            .collect()
    }
}

/// Each request on a thread of tokio's blocking pool, as a blocking client would need: the
/// thread *blocks* on the request (`Handle::block_on`) until it is done.
///
/// This is Python's `to_thread` applied to a whole batch, and what
/// [`crate::http::threaded::ThreadedHttp`] does per call. It works with any `HttpGet`, and it
/// is honest about its price: one OS thread per request in flight (the pool grows to 512), a
/// context switch per response, and no cancellation (a blocking thread runs to the end even if
/// the batch is dropped). With `limit`, at most that many threads are used at once.
///
/// Needs a tokio runtime whose I/O and timers are being driven (any `#[tokio::main]`). Not for
/// tests on a paused clock: a blocking thread stops tokio from advancing virtual time.
#[derive(Debug, Clone, Copy, Default)]
pub struct InThreads {
    limit: Option<usize>,
}

impl InThreads {
    /// One blocking thread per URL, all at once.
    pub fn new() -> Self {
        InThreads { limit: None }
    }

    /// At most `limit` blocking threads at once (0 is taken as 1).
    pub fn bounded(limit: usize) -> Self {
        InThreads {
            limit: Some(limit.max(1)),
        }
    }
}

impl NativeFetch for InThreads {
    fn name(&self) -> &str {
        "in threads"
    }

    async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return no_runtime(self, urls);
        };
        let calls: Vec<_> = urls
            .iter()
            .map(|url| {
                let (http, handle, owned) = (Arc::clone(http), handle.clone(), url.clone());
                async move {
                    // `block_on` from a blocking-pool thread: this thread waits, the runtime's own
                    // threads drive the socket.
                    match to_thread(move || handle.block_on(http.get(&owned))).await {
                        Ok(result) => result,
                        Err(source) => Err(HttpError::Task {
                            url: url.clone(),
                            source,
                        }),
                    }
                }
            })
            .collect();
        match self.limit {
            None => gather::all_at_once(calls).await,
            Some(limit) => gather::bounded(calls, limit).await,
        }
    }
}

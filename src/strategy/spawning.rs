//! The strategies that hand each request to someone else: a tokio task ([`InTasks`]) or a
//! thread of the blocking pool ([`InThreads`]).
//!
//! Both need a tokio runtime to spawn on; polled outside one (say, by
//! `futures::executor::block_on`), they answer every URL with an [`HttpError::Client`] that
//! names the strategy, rather than tokio's panic. Both stop their work when the batch is
//! dropped: [`InTasks`] aborts its tasks, [`InThreads`] wakes its threads to drop their
//! requests. A fetcher's panic costs only its own URL ([`HttpError::Task`]): [`InTasks`]
//! catches it in the task, as every strategy here does, and a thread's boundary catches it for
//! [`InThreads`]. Each request is a `fetch` span inside the batch's, wherever it runs.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;
use tracing::instrument::WithSubscriber;

use super::spans::{fetch_span, fetched, traced};
use super::{FetchStrategy, Fetched, fetch};
use crate::basics::blocking::{TaskError, to_thread};
use crate::basics::gather;
use crate::http::{HttpError, HttpGet};

/// For a strategy polled outside a tokio runtime: one [`HttpError::Client`] per URL that names
/// the strategy.
fn no_runtime(strategy: &str, urls: &[String]) -> Fetched {
    urls.iter()
        .map(|_| {
            Err(HttpError::Client {
                reason: format!("the {strategy:?} strategy needs a tokio runtime"),
            })
        })
        .collect()
}

/// Each request in its own tokio task (a `JoinSet`): concurrent like
/// [`AllAtOnce`](super::AllAtOnce), and on a multi-thread runtime the responses are also
/// *processed* in parallel. A fetcher that panics costs only its own URL ([`HttpError::Task`]):
/// the task catches it (the task boundary would too, but then the request's span could not
/// record that it failed).
///
/// Needs a tokio runtime (outside one, every URL gets [`HttpError::Client`]). Dropping the
/// future aborts the tasks.
#[derive(Debug, Clone, Copy, Default)]
pub struct InTasks;

#[async_trait]
impl FetchStrategy for InTasks {
    fn name(&self) -> &str {
        "in tasks"
    }

    async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
        in_tasks(http, urls).await
    }
}

/// The algorithm of [`InTasks`], for its two impls (this file's and `static_dispatch.rs`'s).
pub(super) async fn in_tasks(http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
    // Spawning outside a runtime would panic; say so per URL instead.
    if Handle::try_current().is_err() {
        return no_runtime("in tasks", urls);
    }
    // Tasks must own what they use: a clone of the Arc and of the URL. Each fetch's span is
    // made here, inside the batch's, and travels with its task; so does the subscriber of this
    // thread, if it is a scoped one (`timing::record_spans`): a span closing where it is not the
    // default would never let its parent, the batch, close.
    let jobs = urls
        .iter()
        .map(|url| fetch(Arc::clone(http), url.clone()).with_current_subscriber());
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

/// Each request on a thread of tokio's blocking pool, as a blocking client would need: the
/// thread *blocks* on the request (`Handle::block_on`) until it is done.
///
/// This is Python's `to_thread` applied to a whole batch, and what
/// [`crate::http::threaded::ThreadedHttp`] does per call. It works with any `HttpGet`, and it
/// is honest about its price: one OS thread per request in flight (the pool grows to 512) and
/// a context switch per response. With `limit`, at most that many threads are used at once.
///
/// Dropping the batch lets its threads go: each one blocks on its request *or* the batch's
/// cancellation, whichever comes first, so it drops its request and returns at once, and one
/// that had not started yet returns without starting. That also keeps a runtime shutting down
/// quiet: the runtime drops the task holding the batch before it stops its timers and sockets,
/// so no thread is left polling a request on a runtime that is gone (tokio would panic with
/// "A Tokio 1.x context was found, but it is being shutdown"). A fetcher that blocks inside its
/// own code, with no `.await` to stop at, still runs to its end.
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

    /// The most blocking threads used at once, if bounded.
    pub fn limit(&self) -> Option<usize> {
        self.limit
    }
}

#[async_trait]
impl FetchStrategy for InThreads {
    fn name(&self) -> &str {
        "in threads"
    }

    async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
        in_threads(http, urls, self.limit).await
    }
}

/// The algorithm of [`InThreads`], for its two impls (this file's and `static_dispatch.rs`'s).
pub(super) async fn in_threads(
    http: &Arc<dyn HttpGet>,
    urls: &[String],
    limit: Option<usize>,
) -> Fetched {
    let Ok(handle) = Handle::try_current() else {
        return no_runtime("in threads", urls);
    };
    // Cancelled when this future is dropped (or ends): the threads still waiting give up.
    let batch = CancellationToken::new();
    let _cancel_on_drop = batch.clone().drop_guard();
    let calls: Vec<_> = urls
        .iter()
        .map(|url| {
            let (http, handle, owned) = (Arc::clone(http), handle.clone(), url.clone());
            let batch = batch.clone();
            // The span covers the wait for the thread, as seen from the batch.
            let fetch = async move {
                let on_thread = move || blocking_get(&handle, &batch, http.as_ref(), &owned);
                match to_thread(on_thread).await {
                    Ok(Some(result)) => result,
                    // Only once the batch is dropped: nobody reads this.
                    Ok(None) => Err(HttpError::Task {
                        url: url.clone(),
                        source: TaskError::Cancelled,
                    }),
                    Err(source) => Err(HttpError::Task {
                        url: url.clone(),
                        source,
                    }),
                }
            };
            traced(fetch_span(url), fetch, fetched)
        })
        .collect();
    match limit {
        None => gather::all_at_once(calls).await,
        Some(limit) => gather::bounded(calls, limit).await,
    }
}

/// On a blocking thread: fetch `url`, unless the batch is dropped first (`None`).
fn blocking_get(
    handle: &Handle,
    batch: &CancellationToken,
    http: &dyn HttpGet,
    url: &str,
) -> Option<Result<String, HttpError>> {
    // A thread that starts after the batch is gone (its runtime may be shutting down) does not
    // start the request at all.
    if batch.is_cancelled() {
        return None;
    }
    // `block_on` from a blocking-pool thread: this thread waits, the runtime's own threads drive
    // the socket. `biased`: once cancelled, the request is never polled again, only dropped.
    handle.block_on(async {
        tokio::select! {
            biased;
            () = batch.cancelled() => None,
            result = http.get(url) => Some(result),
        }
    })
}

//! Strategy: interchangeable ways of fetching a batch of URLs, chosen at run time.
//!
//! # The concept
//! A *strategy* is an algorithm behind a trait, so the code that uses it (the *context*) does
//! not care which one it holds, and the choice can change while the program runs. Here the
//! algorithm is **how a batch of URLs is fetched**: one by one (polite to the server), all at
//! once (fastest for a few URLs), at most `limit` at a time (fast and polite), as spawned tasks,
//! or on blocking threads. Fetching is waiting, so the awaiting is the point, not decoration.
//!
//! # The two shapes, side by side
//! The classic sync shape on the left, the async shape on the right, both compiled (in
//! `shapes/`, with a test that they behave alike); what async changed is marked.
//!
#![doc = include_str!("shapes/side_by_side.html")]
//!
//! **What changed:** `async` on three `fn`s (under `#[async_trait]`), `.await` on their calls,
//! and `Send + Sync` on both traits, which the sync shape never needed. `#[async_trait]` returns
//! a `Send` future, one that a multi-thread runtime may move to another thread while it waits;
//! `fetch_all`'s future holds `&self` and `&dyn Http` across its `.await`s, and a reference is
//! `Send` only if what it points to is `Sync`. `Send` lets the context (its `Box<dyn ..>`s)
//! move into a spawned task. A sync call ends on the thread that made it, so it needs neither.
//!
//! <details><summary>The two shapes as code, to copy</summary>
//!
//! ```rust
#![doc = include_str!("shapes/sync_shape.rs")]
//! ```
//!
//! ```rust
#![doc = include_str!("shapes/async_shape.rs")]
//! ```
//!
//! </details>
//!
//! # What async adds
//! The real [`FetchStrategy`] also has a `name`, and gets the fetcher as `&Arc<dyn HttpGet>`,
//! which a strategy can clone into tasks or threads.
//!
//! * **Swapping while running.** [`Downloader`] keeps an `RwLock<Arc<dyn FetchStrategy>>` and
//!   swaps through `&self`. It clones the `Arc` out before awaiting, so a swap never waits for
//!   a download, and a download in flight finishes with the strategy it started with.
//! * **Concurrency becomes a strategy.** [`OneByOne`], [`AllAtOnce`], [`Bounded`], [`InTasks`]:
//!   the four ways of [`crate::basics::gather`]. [`InThreads`]: `to_thread` per URL.
//! * **Failures stay per URL.** One result per URL, in input order: a failed URL, even one
//!   whose fetcher panics, gets its error in its own slot ([`HttpError::Task`] for a panic). A
//!   strategy that breaks the promise, or panics, fails its batch ([`StrategyError`]).
//! * **One-off strategies.** [`FnStrategy`] turns an async closure into a strategy.
//! * **Seen as it runs.** Each batch is a `batch` span named by its strategy, each request of a
//!   built-in strategy a `fetch` span named by its URL inside it, each with its outcome; a swap
//!   is an event. Nobody listening, they cost a check each; `timing::TimelineLayer` draws them.
//!
//! # What it looks like
//! A [`Downloader`] fetching the same four pages of 30 ms three times in a row, drawn from its
//! spans on tokio's paused clock (`tests/pictures`). The strategy is swapped to all at once at
//! 45 ms and to bounded (2) at 135 ms (the diamonds): the first batch runs one by one to the end
//! (120 ms), the second, started after the first swap, takes 30 ms, the third 60 ms.
//!
#![doc = include_str!("pictures/swapped.svg")]
//!
//! # What it costs
//! `#[async_trait]` boxes each call's future: an allocation and a call through the vtable,
//! about 20 ns more than a static call on a quiet machine, 35 to 50 ns while other builds run
//! (`benches/dispatch.rs`), nothing next to a network round trip of 50 µs or more. Where even
//! that matters, static dispatch is a variant beside this one: [`NativeFetch`] (a native
//! `async fn`, no box) and [`StaticDownloader`], generic over the strategy, fixed at compile
//! time. Every strategy here implements both traits, and both impls call the same plain async
//! function (`static_dispatch.rs`).
//!
//! The spans (`spans.rs`), with nobody listening, run their work bare: 57 to 86 instructions a
//! batch and none a URL; timed, some 10 to 20 ns a batch and 16 ns a URL (a larger future).
//!
//! # Cancellation
//! Dropping a `download` future drops every request still pending; for [`InTasks`] the tasks
//! are aborted (they live in a `JoinSet`); [`InThreads`] wakes its blocking threads, which drop
//! their requests and return (a fetcher that blocks in its own code runs to its end).

use std::fmt;
use std::future::Future;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use tracing::Instrument;
use tracing::field::Empty;

use crate::basics::blocking::TaskError;
use crate::basics::gather;
use crate::http::{HttpError, HttpGet};
use crate::support::{catch_panic, catch_panic_now, read, write};

use spans::{fetch_span, fetched, traced};

mod closures;
mod errors;
#[cfg(test)]
mod shapes;
mod spans;
mod spawning;
mod static_dispatch;

pub use closures::FnStrategy;
pub use errors::StrategyError;
pub use spawning::{InTasks, InThreads};
pub use static_dispatch::{NativeFetch, StaticDownloader};

/// One result per URL, in the order the URLs were given.
pub type Fetched = Vec<Result<String, HttpError>>;

/// How a batch of URLs is fetched: the async Strategy trait, usable behind `dyn`.
///
/// Implementations must return exactly one result per URL, in the order of `urls`. With the
/// `testkit` feature, mockall generates `MockFetchStrategy` for it.
///
/// ```
/// use std::sync::Arc;
/// use async_patterns::async_trait;
/// use async_patterns::http::HttpGet;
/// use async_patterns::strategy::{FetchStrategy, Fetched};
///
/// /// Fetches the URLs in reverse order (and still reports them in input order).
/// struct Backwards;
///
/// #[async_trait]
/// impl FetchStrategy for Backwards {
///     fn name(&self) -> &str { "backwards" }
///
///     async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
///         let mut out = Vec::with_capacity(urls.len());
///         for url in urls.iter().rev() {
///             out.push(http.get(url).await);
///         }
///         out.reverse();
///         out
///     }
/// }
/// ```
#[async_trait]
pub trait FetchStrategy: Send + Sync {
    /// A short name for tables and error messages ("one by one", "bounded").
    fn name(&self) -> &str;

    /// Fetch every URL through `http`; one result per URL, in input order.
    async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched;
}

/// The context: holds a swappable `Arc<dyn FetchStrategy>` and delegates each batch to it.
///
/// Shared by reference (`&self` everywhere), so one task can [`set_strategy`] while others
/// [`download`]. The lock is held only to clone or replace the `Arc`, never across an `.await`.
///
/// [`set_strategy`]: Downloader::set_strategy
/// [`download`]: Downloader::download
pub struct Downloader {
    http: Arc<dyn HttpGet>,
    strategy: RwLock<Arc<dyn FetchStrategy>>,
}

impl Downloader {
    /// A downloader that fetches through `http` with `strategy`.
    pub fn new(http: Arc<dyn HttpGet>, strategy: Arc<dyn FetchStrategy>) -> Self {
        let strategy = RwLock::new(strategy);
        Downloader { http, strategy }
    }

    /// The strategy in use now.
    pub fn strategy(&self) -> Arc<dyn FetchStrategy> {
        Arc::clone(&read(&self.strategy))
    }

    /// Use `strategy` from the next download on, and return the one it replaces. Downloads in
    /// flight finish with the strategy they started with.
    pub fn set_strategy(&self, strategy: Arc<dyn FetchStrategy>) -> Arc<dyn FetchStrategy> {
        // An instant, not a span: a marker on a timeline. Its message (the new strategy's
        // name) is made only when a subscriber listens.
        tracing::debug!("swapped to {}", guarded(|| strategy.name().to_owned()));
        std::mem::replace(&mut *write(&self.strategy), strategy)
    }

    /// The fetcher every strategy is given.
    pub fn http(&self) -> &Arc<dyn HttpGet> {
        &self.http
    }

    /// Fetch `urls` with the current strategy: one result per URL, in input order.
    ///
    /// The batch fails as a whole only if the strategy breaks its contract: a wrong number of
    /// results ([`StrategyError::WrongCount`]) or a panic ([`StrategyError::Panicked`]).
    ///
    /// Cost per call over a direct call: a read lock, an `Arc` clone, a boxed future and a
    /// vtable call.
    pub async fn download(&self, urls: &[String]) -> Result<Fetched, StrategyError> {
        // Clone the Arc out and drop the guard *before* awaiting: no lock across `.await`.
        let shared = self.strategy();
        // The strategy itself, not the `Arc`: the `Arc`'s forwarding impl (at the end of this
        // file) would box a second future around the strategy's own.
        let strategy: &dyn FetchStrategy = &*shared;
        let name = || strategy.name().to_owned();
        run_batch(name, urls.len(), || strategy.fetch_all(&self.http, urls)).await
    }
}

/// Run one batch through a strategy, for both contexts (this one and [`StaticDownloader`]):
/// its panic caught, the call that builds the future included, and its promise of one result
/// per URL checked before the results reach the caller. `name` is asked only on failure or
/// when a subscriber listens, so a strategy's `name` costs nothing on the happy path.
async fn run_batch<F: Future<Output = Fetched>>(
    name: impl Fn() -> String,
    expected: usize,
    batch: impl FnOnce() -> F,
) -> Result<Fetched, StrategyError> {
    let strategy = || guarded(&name);
    // The batch's span, named by its strategy; its fetches' spans are made inside it. A span's
    // fields are computed only when a subscriber listens: nobody listening, it costs a check.
    let span = tracing::debug_span!(
        "batch",
        strategy = strategy(),
        urls = expected,
        outcome = Empty
    );
    let checked = async {
        match catch_panic(async move { batch().await }).await {
            Ok(results) if results.len() == expected => Ok(results),
            Ok(results) => Err(StrategyError::WrongCount {
                strategy: strategy(),
                expected,
                got: results.len(),
            }),
            Err(message) => Err(StrategyError::Panicked {
                strategy: strategy(),
                message,
            }),
        }
    };
    // Nobody listening (the span is disabled), the batch runs bare: no wrapper to poll
    // through, nothing to record. Else it runs in its span, and says how it ended; dropped
    // before that, it says nothing and is drawn cancelled.
    if span.is_disabled() {
        return checked.await;
    }
    let out = checked.instrument(span.clone()).await;
    span.record("outcome", if out.is_ok() { "ok" } else { "failed" });
    out
}

/// A strategy's name, asked through `name`: its own code, so a panic in it is caught.
fn guarded(name: impl Fn() -> String) -> String {
    catch_panic_now(name).unwrap_or_else(|_| "<a strategy whose name panicked>".to_owned())
}

// ---- the simplest strategies: the ways of `basics::gather`, over one request per URL ---------

/// One request at a time, in order: the polite strategy, and the slowest (n x t).
#[derive(Debug, Clone, Copy, Default)]
pub struct OneByOne;

#[async_trait]
impl FetchStrategy for OneByOne {
    fn name(&self) -> &str {
        "one by one"
    }

    async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
        gather::one_by_one(calls(http, urls)).await
    }
}

/// The request futures of a batch, not started yet. A `Vec`, not a lazy `map`: a closure over
/// borrowed URLs across an `.await` fails the `Send` check.
fn calls<'a>(
    http: &'a Arc<dyn HttpGet>,
    urls: &'a [String],
) -> Vec<impl Future<Output = Result<String, HttpError>> + Send + 'a> {
    urls.iter().map(|url| fetch(http, url)).collect()
}

/// One URL's request, as every built-in strategy makes it (borrowed here, owned by a task in
/// [`InTasks`]): in its span, catching its own panic (else one panicking fetch would unwind
/// through `join_all` and lose every other URL's result).
fn fetch<H, U>(http: H, url: U) -> impl Future<Output = Result<String, HttpError>> + use<H, U>
where
    H: AsRef<dyn HttpGet>,
    U: AsRef<str>,
{
    let span = fetch_span(url.as_ref());
    let fetch = async move {
        let url = url.as_ref();
        // The user's code: `get` is called inside the block, so a panic before its future
        // exists is caught too.
        let caught = catch_panic(async { http.as_ref().get(url).await }).await;
        caught.unwrap_or_else(|message| {
            Err(HttpError::Task {
                url: url.to_owned(),
                source: TaskError::Panicked(message),
            })
        })
    };
    traced(span, fetch, fetched)
}

/// Every request at once on the calling task (`join_all`): about t for the whole batch, but a
/// thousand URLs mean a thousand open connections to the server.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllAtOnce;

#[async_trait]
impl FetchStrategy for AllAtOnce {
    fn name(&self) -> &str {
        "all at once"
    }

    async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
        gather::all_at_once(calls(http, urls)).await
    }
}

/// At most `limit` requests in flight: ceil(n / limit) x t, and the server never sees more
/// than `limit` connections from us. A limit of 0 is taken as 1.
#[derive(Debug, Clone, Copy)]
pub struct Bounded {
    limit: usize,
}

impl Bounded {
    /// At most `limit` requests at once (0 is taken as 1).
    pub fn new(limit: usize) -> Self {
        let limit = limit.max(1);
        Bounded { limit }
    }

    /// The limit in use.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

#[async_trait]
impl FetchStrategy for Bounded {
    fn name(&self) -> &str {
        "bounded"
    }

    async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
        gather::bounded(calls(http, urls), self.limit).await
    }
}

// ---- shared, boxed and borrowed strategies are strategies ------------------------------------

// So a caller can wrap `Downloader::strategy()` in a strategy of its own, or pass a strategy it
// keeps, wherever one is expected. Each delegates to the strategy it points to.

#[async_trait]
impl<T: FetchStrategy + ?Sized> FetchStrategy for Arc<T> {
    fn name(&self) -> &str {
        (**self).name()
    }

    async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
        (**self).fetch_all(http, urls).await
    }
}

#[async_trait]
impl<T: FetchStrategy + ?Sized> FetchStrategy for Box<T> {
    fn name(&self) -> &str {
        (**self).name()
    }

    async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
        (**self).fetch_all(http, urls).await
    }
}

#[async_trait]
impl<T: FetchStrategy + ?Sized> FetchStrategy for &T {
    fn name(&self) -> &str {
        (**self).name()
    }

    async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
        (**self).fetch_all(http, urls).await
    }
}

impl fmt::Debug for Downloader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Downloader")
            .field("strategy", &self.strategy().name())
            .finish_non_exhaustive()
    }
}

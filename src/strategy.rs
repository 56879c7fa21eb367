//! Strategy: interchangeable ways of fetching a batch of URLs, chosen at run time.
//!
//! # The concept
//! A *strategy* is an algorithm behind a trait, so the code that uses it (the *context*) does
//! not care which one it holds, and the choice can change while the program runs. Here the
//! algorithm is **how a batch of URLs is fetched**: one by one (polite to the server), all at
//! once (fastest for a few URLs), at most `limit` at a time (fast and polite), as spawned tasks,
//! or on blocking threads. Fetching is waiting, so the awaiting is the point, not decoration.
//!
//! # The classic sync shape
//! ```text
//! type Fetched = Vec<Result<String, HttpError>>;
//!
//! trait FetchStrategy {
//!     fn fetch_all(&self, http: &Http, urls: &[String]) -> Fetched;
//! }
//! struct Downloader { http: Http, strategy: Box<dyn FetchStrategy> }
//! impl Downloader {
//!     fn set_strategy(&mut self, s: Box<dyn FetchStrategy>) { self.strategy = s }
//!     fn download(&self, urls: &[String]) -> Fetched {
//!         self.strategy.fetch_all(&self.http, urls)
//!     }
//! }
//! ```
//!
//! # The async shape
//! ```text
//! #[async_trait]
//! trait FetchStrategy {
//!     async fn fetch_all(&self, http: &Http, urls: &[String]) -> Fetched;
//! }
//! struct Downloader { http: Http, strategy: Box<dyn FetchStrategy> }
//! impl Downloader {
//!     fn set_strategy(&mut self, s: Box<dyn FetchStrategy>) { self.strategy = s }
//!     async fn download(&self, urls: &[String]) -> Fetched {
//!         self.strategy.fetch_all(&self.http, urls).await
//!     }
//! }
//! ```
//!
//! # What changed, and what async adds
//! The shape is the same: a trait, several implementations, a context that holds one behind a
//! pointer and delegates to it. The method gained `async` (and `#[async_trait]`, so it works
//! behind `dyn`) and the call gained `.await`; nothing else. What awaiting adds, and what the
//! real [`Downloader`] and strategies below do about it:
//!
//! * **Swapping while running.** A download may be in flight (suspended at an `.await`) when
//!   another task swaps the strategy, so the real context keeps an `RwLock<Arc<dyn
//!   FetchStrategy>>` and swaps through `&self`. It clones the `Arc` out of the lock and
//!   releases the lock *before* awaiting, so a swap never waits for a download, and a download
//!   in flight finishes with the strategy it started with. The next call uses the new one.
//! * **Concurrency becomes a strategy.** The strategies differ only in how they await the same
//!   futures, so they reuse [`crate::basics::gather`]: [`OneByOne`] is
//!   [`gather::one_by_one`], [`AllAtOnce`] is [`gather::all_at_once`], [`Bounded`] is
//!   [`gather::bounded`], [`InTasks`] is [`gather::in_tasks`].
//! * **Failures stay per URL.** Every strategy returns one result per URL, in input order, so a
//!   failed URL never loses the others' pages; even a fetcher that *panics* on one URL gives
//!   [`HttpError::Task`] in that slot only. The contexts check the one-per-URL promise and
//!   report a strategy that breaks it ([`StrategyError::WrongCount`]).
//!
//! # Static or dynamic dispatch: what each costs
//! Two traits say the same thing:
//!
//! * [`FetchStrategy`] uses `#[async_trait]`: each call returns a `Pin<Box<dyn Future>>`, so it
//!   works behind `dyn` (and with mockall), and can be swapped at run time by [`Downloader`].
//!   Cost per call: one heap allocation for the future and one indirect (vtable) call.
//! * [`NativeFetch`] uses a native `async fn` in the trait (`-> impl Future + Send`). The future
//!   is a concrete type the compiler sees, so [`StaticDownloader<S>`] calls it with no box and no
//!   vtable, and can inline it; the price is that the strategy is fixed at compile time.
//!
//! Every `NativeFetch` is also a `FetchStrategy` (a blanket impl boxes its future), so each
//! strategy here is written once and works both ways. `benches/dispatch.rs` measures the
//! difference: about 20 ns per call (two thirds of it allocating and freeing the box, the rest
//! the call that cannot be inlined), nothing next to a network round trip of 50 µs or more.
//! If both traits are in scope, a direct call on a strategy is ambiguous; write
//! `FetchStrategy::fetch_all(&s, ..)`, or go through a context.
//!
//! # A one-off strategy from a closure
//! [`FnStrategy`] turns a closure returning a future (`async |http, urls| ...` or
//! `|http, urls| async move { .. }`) into a strategy, for the case that needs no type of its own.
//!
//! # Cancellation
//! Dropping a `download` future drops every request still pending; for [`InTasks`] the tasks
//! are aborted (they live in a `JoinSet`). [`InThreads`] is the exception: a blocking thread
//! cannot be interrupted, so its requests run to the end and their results are discarded.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use futures::FutureExt;

use crate::basics::blocking::{TaskError, to_thread};
use crate::basics::gather;
use crate::http::{HttpError, HttpGet};
use crate::support::{catch_panic, read, write};

/// One result per URL, in the order the URLs were given.
pub type Fetched = Vec<Result<String, HttpError>>;

/// Why a context could not hand back the results of a batch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StrategyError {
    /// The strategy broke its contract: it returned a number of results other than one per URL,
    /// so results can no longer be matched to their URLs.
    #[error("strategy {strategy:?} returned {got} results for {expected} URLs")]
    WrongCount {
        /// The strategy's name.
        strategy: String,
        /// How many URLs were given.
        expected: usize,
        /// How many results came back.
        got: usize,
    },
}

/// How a batch of URLs is fetched: the async Strategy trait, usable behind `dyn`.
///
/// Implementations must return exactly one result per URL, in the order of `urls`. The fetcher
/// comes as `&Arc<dyn HttpGet>` so a strategy can clone it into spawned tasks or threads.
/// With the `testkit` feature, mockall generates `MockFetchStrategy` for it.
///
/// ```
/// use std::sync::Arc;
/// use async_patterns::http::{HttpError, HttpGet};
/// use async_patterns::strategy::FetchStrategy;
///
/// /// Fetches the URLs in reverse order (and still reports them in input order).
/// struct Backwards;
///
/// #[async_trait::async_trait]
/// impl FetchStrategy for Backwards {
///     fn name(&self) -> &str {
///         "backwards"
///     }
///     async fn fetch_all(
///         &self,
///         http: &Arc<dyn HttpGet>,
///         urls: &[String],
///     ) -> Vec<Result<String, HttpError>> {
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

// A shared strategy is a strategy, so a caller can wrap `Downloader::strategy()` in its own.
// Only `Arc`: `Box<T>` and `&T` are types a downstream crate may implement `NativeFetch` for,
// and the blanket impl below would then give them two impls of `FetchStrategy`.
crate::support::forward!(Arc => [] FetchStrategy {
    fn name(&self) -> &str;
    async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched;
});

/// The same contract as [`FetchStrategy`], with a native `async fn` for static dispatch.
///
/// Implement it with `async fn fetch_all(..)` in the impl. The returned future is a concrete
/// type, so a generic caller ([`StaticDownloader`]) neither boxes it nor calls through a vtable.
/// It is not usable as `dyn NativeFetch`; every implementation is a [`FetchStrategy`] too,
/// through a blanket impl, for when `dyn` is needed.
pub trait NativeFetch: Send + Sync {
    /// A short name for tables and error messages.
    fn name(&self) -> &str;

    /// Fetch every URL through `http`; one result per URL, in input order.
    fn fetch_all(
        &self,
        http: &Arc<dyn HttpGet>,
        urls: &[String],
    ) -> impl Future<Output = Fetched> + Send;
}

// Written once as `NativeFetch`, usable as `dyn FetchStrategy`: this impl is exactly the box
// that `#[async_trait]` adds, and the only cost of the dynamic version.
#[async_trait]
impl<T: NativeFetch> FetchStrategy for T {
    fn name(&self) -> &str {
        NativeFetch::name(self)
    }

    async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
        NativeFetch::fetch_all(self, http, urls).await
    }
}

/// The request futures of a batch, not started yet (a future does nothing until awaited).
///
/// Each request catches its own panic: without that, a fetcher that panics on one URL would
/// unwind through `join_all` (or the loop) and lose every other URL's result, which
/// [`InTasks`] and [`InThreads`] get for free from their tasks and threads.
///
/// Collected into a `Vec` rather than passed as a lazy `map` iterator: a closure over borrowed
/// URLs held across an `.await` trips the compiler's `Send` check for `-> impl Future + Send`.
fn calls<'a>(
    http: &'a Arc<dyn HttpGet>,
    urls: &'a [String],
) -> Vec<impl Future<Output = Result<String, HttpError>> + Send + 'a> {
    urls.iter()
        .map(|url| {
            // `get` is called inside the block, so a panic before its future exists is caught too.
            catch_panic(async move { http.get(url).await }).map(|caught| {
                caught.unwrap_or_else(|message| {
                    Err(HttpError::Task {
                        url: url.clone(),
                        source: TaskError::Panicked(message),
                    })
                })
            })
        })
        .collect()
}

/// One request at a time, in order: the polite strategy, and the slowest (n x t).
#[derive(Debug, Clone, Copy, Default)]
pub struct OneByOne;

impl NativeFetch for OneByOne {
    fn name(&self) -> &str {
        "one by one"
    }

    async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
        gather::one_by_one(calls(http, urls)).await
    }
}

/// Every request at once on the calling task (`join_all`): about t for the whole batch, but a
/// thousand URLs mean a thousand open connections to the server.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllAtOnce;

impl NativeFetch for AllAtOnce {
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
        Bounded {
            limit: limit.max(1),
        }
    }

    /// The limit in use.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

impl NativeFetch for Bounded {
    fn name(&self) -> &str {
        "bounded"
    }

    async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
        gather::bounded(calls(http, urls), self.limit).await
    }
}

/// For a strategy polled outside a tokio runtime (say, by `futures::executor::block_on`): one
/// [`HttpError::Client`] per URL that names the strategy, rather than tokio's panic.
fn no_runtime(strategy: &impl NativeFetch, urls: &[String]) -> Fetched {
    urls.iter()
        .map(|_| {
            Err(HttpError::Client {
                reason: format!("the {:?} strategy needs a tokio runtime", strategy.name()),
            })
        })
        .collect()
}

/// Each request in its own tokio task (a `JoinSet`): concurrent like [`AllAtOnce`], and on a
/// multi-thread runtime the responses are also *processed* in parallel. A fetcher that panics
/// costs only its own URL ([`HttpError::Task`]): the task boundary catches it.
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

/// A one-off strategy from a closure that returns a `Send` future.
///
/// The closure gets owned arguments (`Arc<dyn HttpGet>`, `Vec<String>`), because a future that
/// borrowed them could not be named as `Send`; the price is one copy of the URL list per batch.
/// Both `async |http, urls| ..` (an async closure that captures nothing by reference) and
/// `move |http, urls| async move { .. }` work.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use async_patterns::http::{HttpError, HttpGet};
/// use async_patterns::strategy::{Downloader, FnStrategy, OneByOne};
///
/// struct Echo;
/// #[async_trait::async_trait]
/// impl HttpGet for Echo {
///     async fn get(&self, url: &str) -> Result<String, HttpError> {
///         Ok(format!("page {url}"))
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// // All at once, each URL given at most one second.
/// let patient = FnStrategy::new(
///     "all at once, 1 s each",
///     async |http: Arc<dyn HttpGet>, urls: Vec<String>| {
///         let calls = urls.iter().map(|url| async {
///             tokio::time::timeout(Duration::from_secs(1), http.get(url))
///                 .await
///                 .unwrap_or_else(|_| Err(HttpError::Timeout { url: url.clone() }))
///         });
///         futures::future::join_all(calls).await
///     },
/// );
/// let downloader = Downloader::new(Arc::new(Echo), Arc::new(OneByOne));
/// downloader.set_strategy(Arc::new(patient));
/// let pages = downloader.download(&["a".into(), "b".into()]).await.unwrap();
/// assert_eq!(pages[1].as_deref().unwrap(), "page b");
/// assert_eq!(downloader.strategy().name(), "all at once, 1 s each");
/// # }
/// ```
pub struct FnStrategy<F> {
    name: String,
    f: F,
}

impl<F> FnStrategy<F> {
    /// Name the closure `f` as a strategy.
    pub fn new(name: impl Into<String>, f: F) -> Self {
        FnStrategy {
            name: name.into(),
            f,
        }
    }
}

impl<F> fmt::Debug for FnStrategy<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnStrategy")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<F, Fut> NativeFetch for FnStrategy<F>
where
    F: Fn(Arc<dyn HttpGet>, Vec<String>) -> Fut + Send + Sync,
    Fut: Future<Output = Fetched> + Send,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn fetch_all(
        &self,
        http: &Arc<dyn HttpGet>,
        urls: &[String],
    ) -> impl Future<Output = Fetched> + Send {
        (self.f)(Arc::clone(http), urls.to_vec())
    }
}

/// Check the one-result-per-URL promise before handing results to the caller. The name is
/// asked for only on failure, so a strategy's `name` costs nothing on the happy path.
fn checked(
    name: impl FnOnce() -> String,
    expected: usize,
    results: Fetched,
) -> Result<Fetched, StrategyError> {
    if results.len() == expected {
        Ok(results)
    } else {
        Err(StrategyError::WrongCount {
            strategy: name(),
            expected,
            got: results.len(),
        })
    }
}

/// The context with dynamic dispatch: holds a swappable `Arc<dyn FetchStrategy>`.
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
        Downloader {
            http,
            strategy: RwLock::new(strategy),
        }
    }

    /// The strategy in use now.
    pub fn strategy(&self) -> Arc<dyn FetchStrategy> {
        // A poisoned lock only means a panic while swapping an Arc; the Arc inside is whole.
        let guard = read(&self.strategy);
        Arc::clone(&guard)
    }

    /// Use `strategy` from the next download on, and return the one it replaces. Downloads in
    /// flight finish with the strategy they started with.
    pub fn set_strategy(&self, strategy: Arc<dyn FetchStrategy>) -> Arc<dyn FetchStrategy> {
        let mut guard = write(&self.strategy);
        std::mem::replace(&mut *guard, strategy)
    }

    /// The fetcher every strategy is given.
    pub fn http(&self) -> &Arc<dyn HttpGet> {
        &self.http
    }

    /// Fetch `urls` with the current strategy: one result per URL, in input order.
    ///
    /// Cost per call over a direct call: a read lock, an `Arc` clone, a boxed future and a
    /// vtable call.
    pub async fn download(&self, urls: &[String]) -> Result<Fetched, StrategyError> {
        // Clone the Arc out and drop the guard *before* awaiting: no lock across `.await`.
        let strategy = self.strategy();
        let results = strategy.fetch_all(&self.http, urls).await;
        checked(|| strategy.name().to_owned(), urls.len(), results)
    }
}

impl fmt::Debug for Downloader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Downloader")
            .field("strategy", &self.strategy().name())
            .finish_non_exhaustive()
    }
}

/// The context with static dispatch: generic over `S`, which is fixed at compile time.
///
/// No lock, no `Arc`, no box: `download` calls `S::fetch_all` directly and can inline it.
pub struct StaticDownloader<S> {
    http: Arc<dyn HttpGet>,
    strategy: S,
}

impl<S: NativeFetch> StaticDownloader<S> {
    /// A downloader that fetches through `http` with `strategy`, for good.
    pub fn new(http: Arc<dyn HttpGet>, strategy: S) -> Self {
        StaticDownloader { http, strategy }
    }

    /// The strategy.
    pub fn strategy(&self) -> &S {
        &self.strategy
    }

    /// The fetcher the strategy is given.
    pub fn http(&self) -> &Arc<dyn HttpGet> {
        &self.http
    }

    /// Fetch `urls`: one result per URL, in input order.
    pub async fn download(&self, urls: &[String]) -> Result<Fetched, StrategyError> {
        let results = NativeFetch::fetch_all(&self.strategy, &self.http, urls).await;
        checked(
            || NativeFetch::name(&self.strategy).to_owned(),
            urls.len(),
            results,
        )
    }
}

impl<S: NativeFetch> fmt::Debug for StaticDownloader<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticDownloader")
            .field("strategy", &NativeFetch::name(&self.strategy))
            .finish_non_exhaustive()
    }
}

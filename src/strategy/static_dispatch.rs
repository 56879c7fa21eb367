//! Static dispatch, a variant beside [`FetchStrategy`]: [`NativeFetch`], the same contract with
//! a native `async fn`, and [`StaticDownloader`], the context that calls it with no box.
//!
//! Every strategy of this crate implements both traits; the two impls of each call the same
//! code (a function of [`crate::basics::gather`] over `calls`, or the plain async function
//! beside the strategy), so each algorithm is written once. What each dispatch costs, and which
//! to pick, is on [`NativeFetch`]; `benches/dispatch.rs` measures it.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use super::spawning::{in_tasks, in_threads};
use super::{
    AllAtOnce, Bounded, FetchStrategy, Fetched, FnStrategy, InTasks, InThreads, OneByOne,
    StrategyError, calls, run_batch,
};
use crate::basics::gather;
use crate::http::HttpGet;

/// The same contract as [`FetchStrategy`], with a native `async fn` for static dispatch.
///
/// Implement it with `async fn fetch_all(..)` in the impl. The returned future is a concrete
/// type, so a generic caller ([`StaticDownloader`]) neither boxes it nor calls through a vtable.
/// It is not usable as `dyn NativeFetch`. With the `testkit` feature,
/// `testkit::MockNativeFetch` is its mockall mock, to test a [`StaticDownloader`] with.
///
/// # Static or dynamic dispatch: what each costs
/// Two traits say the same thing:
///
/// * [`FetchStrategy`] uses `#[async_trait]`: each call returns a `Pin<Box<dyn Future>>`, so it
///   works behind `dyn` (and with mockall), and can be swapped at run time by
///   [`Downloader`](super::Downloader). Cost per call: one heap allocation for the future and
///   one indirect (vtable) call.
/// * `NativeFetch` uses a native `async fn` in the trait (`-> impl Future + Send`). The future
///   is a concrete type the compiler sees, so [`StaticDownloader<S>`] calls it with no box and
///   no vtable, and can inline it; the price is that the strategy is fixed at compile time.
///
/// `benches/dispatch.rs` measures the difference: about 20 ns per call on a quiet machine, 35
/// to 50 ns while other builds run (two thirds of it allocating and freeing the box, the rest
/// the call that cannot be inlined), nothing next to a network round trip of 50 µs or more.
///
/// # A strategy of your own, both ways
/// Implement both traits, and let both impls call one plain async function, as the strategies
/// here do. Import the trait you call: with both in scope, `OneByOne.fetch_all(..)` names two
/// methods, and the call must say which (`FetchStrategy::fetch_all(&OneByOne, ..)`). A call
/// through a context, or on a `dyn FetchStrategy`, is never ambiguous.
///
/// ```
/// use std::sync::Arc;
/// use async_patterns::async_trait;
/// use async_patterns::http::HttpGet;
/// use async_patterns::strategy::{FetchStrategy, Fetched, NativeFetch};
///
/// /// The algorithm, once.
/// async fn backwards(http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
///     let mut out = Vec::with_capacity(urls.len());
///     for url in urls.iter().rev() {
///         out.push(http.get(url).await);
///     }
///     out.reverse();
///     out
/// }
///
/// struct Backwards;
///
/// #[async_trait]
/// impl FetchStrategy for Backwards {
///     fn name(&self) -> &str { "backwards" }
///     async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
///         backwards(http, urls).await
///     }
/// }
///
/// impl NativeFetch for Backwards {
///     fn name(&self) -> &str { "backwards" }
///     async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
///         backwards(http, urls).await
///     }
/// }
/// ```
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

    /// Fetch `urls`: one result per URL, in input order. Fails as
    /// [`Downloader::download`](super::Downloader::download) does.
    pub async fn download(&self, urls: &[String]) -> Result<Fetched, StrategyError> {
        let name = || self.strategy.name().to_owned();
        let batch = || self.strategy.fetch_all(&self.http, urls);
        run_batch(name, urls.len(), batch).await
    }
}

impl<S: NativeFetch> fmt::Debug for StaticDownloader<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticDownloader")
            .field("strategy", &self.strategy.name())
            .finish_non_exhaustive()
    }
}

// ---- the strategies of this crate, statically: each name and algorithm as in its `FetchStrategy`
// impl, which says it first ----------------------------------------------------------------------

impl NativeFetch for OneByOne {
    fn name(&self) -> &str {
        FetchStrategy::name(self)
    }

    async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
        gather::one_by_one(calls(http, urls)).await
    }
}

impl NativeFetch for AllAtOnce {
    fn name(&self) -> &str {
        FetchStrategy::name(self)
    }

    async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
        gather::all_at_once(calls(http, urls)).await
    }
}

impl NativeFetch for Bounded {
    fn name(&self) -> &str {
        FetchStrategy::name(self)
    }

    async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
        gather::bounded(calls(http, urls), self.limit()).await
    }
}

impl NativeFetch for InTasks {
    fn name(&self) -> &str {
        FetchStrategy::name(self)
    }

    async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
        in_tasks(http, urls).await
    }
}

impl NativeFetch for InThreads {
    fn name(&self) -> &str {
        FetchStrategy::name(self)
    }

    async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
        in_threads(http, urls, self.limit()).await
    }
}

impl<F, Fut> NativeFetch for FnStrategy<F>
where
    F: Fn(Arc<dyn HttpGet>, Vec<String>) -> Fut + Send + Sync,
    Fut: Future<Output = Fetched> + Send,
{
    fn name(&self) -> &str {
        FetchStrategy::name(self)
    }

    fn fetch_all(
        &self,
        http: &Arc<dyn HttpGet>,
        urls: &[String],
    ) -> impl Future<Output = Fetched> + Send {
        // The closure's own future, unwrapped: no `async` block around it.
        self.call(http, urls)
    }
}

//! Static dispatch: [`NativeFetch`], the native-`async fn` twin of
//! [`FetchStrategy`](super::FetchStrategy), the blanket impl that makes every `NativeFetch` a
//! `FetchStrategy`, and [`StaticDownloader`], the context that calls it with no box.
//!
//! What each dispatch costs, and which to pick, is on [`NativeFetch`]; `benches/dispatch.rs`
//! measures it.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;

use super::errors::run_batch;
use super::{FetchStrategy, Fetched, StrategyError};
use crate::http::HttpGet;

/// The same contract as [`FetchStrategy`], with a native `async fn` for static dispatch.
///
/// Implement it with `async fn fetch_all(..)` in the impl. The returned future is a concrete
/// type, so a generic caller ([`StaticDownloader`]) neither boxes it nor calls through a vtable.
/// It is not usable as `dyn NativeFetch`; every implementation is a [`FetchStrategy`] too,
/// through a blanket impl, for when `dyn` is needed. With the `testkit` feature,
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
/// Every `NativeFetch` is also a `FetchStrategy` (the blanket impl below boxes its future), so
/// each strategy in this crate is written once and works both ways. `benches/dispatch.rs`
/// measures the difference: about 20 ns per call (two thirds of it allocating and freeing the
/// box, the rest the call that cannot be inlined), nothing next to a network round trip of
/// 50 µs or more.
///
/// If both traits are in scope, a direct call on a strategy is ambiguous; write
/// `FetchStrategy::fetch_all(&s, ..)`, or go through a context.
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
        let name = || NativeFetch::name(&self.strategy).to_owned();
        let batch = || NativeFetch::fetch_all(&self.strategy, &self.http, urls);
        run_batch(name, urls.len(), batch).await
    }
}

impl<S: NativeFetch> fmt::Debug for StaticDownloader<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticDownloader")
            .field("strategy", &NativeFetch::name(&self.strategy))
            .finish_non_exhaustive()
    }
}

//! A one-off strategy from a closure, for the case that needs no type of its own.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;

use super::{FetchStrategy, Fetched};
use crate::http::HttpGet;

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
/// use async_patterns::http::{HttpError, HttpGet, TimeLimit};
/// use async_patterns::strategy::{Downloader, FnStrategy, OneByOne};
///
/// struct Echo;
/// #[async_patterns::async_trait]
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
///                 .unwrap_or_else(|_| Err(HttpError::Timeout { url: url.clone(), limit: TimeLimit::Total(Duration::from_secs(1)) }))
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

#[async_trait]
impl<F, Fut> FetchStrategy for FnStrategy<F>
where
    F: Fn(Arc<dyn HttpGet>, Vec<String>) -> Fut + Send + Sync,
    Fut: Future<Output = Fetched> + Send,
{
    fn name(&self) -> &str {
        &self.name
    }

    async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
        self.call(http, urls).await
    }
}

impl<F, Fut> FnStrategy<F>
where
    F: Fn(Arc<dyn HttpGet>, Vec<String>) -> Fut,
{
    /// The closure's future for one batch, for both impls (this file's and
    /// `static_dispatch.rs`'s): owned copies, so the future borrows nothing and can be `Send`.
    pub(super) fn call(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fut {
        (self.f)(Arc::clone(http), urls.to_vec())
    }
}

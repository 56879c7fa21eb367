//! Shared, boxed and borrowed strategies are strategies: so a caller can wrap
//! [`Downloader::strategy`](super::Downloader::strategy) in a strategy of its own, or pass a
//! strategy it keeps, wherever one is expected. Each impl delegates to the strategy it points
//! to.

use std::sync::Arc;

use async_trait::async_trait;

use super::{FetchStrategy, Fetched};
use crate::http::HttpGet;

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

//! Static dispatch: `StaticDownloader` over `NativeFetch`, the variant beside `FetchStrategy`.
//! Every strategy of the crate implements both traits with one algorithm: through either
//! context it takes the same time, overlaps as much, and answers the same.

use std::sync::Arc;
use std::time::Duration;

use async_patterns::http::HttpGet;
use async_patterns::strategy::{
    AllAtOnce, Bounded, FetchStrategy, FnStrategy, InTasks, NativeFetch, OneByOne, StaticDownloader,
};
use async_patterns::testkit::Delayed;
use tokio::time::Instant;

use super::timing::timed;
use super::{mock_http_once_each, ms, pages, pages_of, urls};

/// `timed`, through a `StaticDownloader`: 10 URLs of 100 ms; the time taken and the peak.
async fn timed_static(strategy: impl NativeFetch) -> (Duration, usize) {
    let batch = urls(10);
    let slow = Arc::new(Delayed::new(mock_http_once_each(&batch), ms(100)));
    let downloader = StaticDownloader::new(Arc::clone(&slow) as Arc<dyn HttpGet>, strategy);
    let start = Instant::now();
    let results = downloader.download(&batch).await.unwrap();
    let took = start.elapsed();
    assert_eq!(pages(&results), pages_of(&batch));
    assert_eq!(slow.gauge().total(), 10);
    (took, slow.gauge().peak())
}

#[tokio::test(start_paused = true)]
async fn the_static_downloader_has_the_same_shape() {
    assert_eq!(timed_static(Bounded::new(5)).await, (ms(200), 5));
    let downloader = StaticDownloader::new(Arc::new(mock_http_once_each(&[])), Bounded::new(5));
    assert_eq!(downloader.strategy().limit(), 5);
}

/// The same strategy through both contexts: the same time and the same overlap.
async fn alike<S: FetchStrategy + NativeFetch + 'static>(make: impl Fn() -> S) {
    let (dynamic, fixed) = (timed(Arc::new(make())).await, timed_static(make()).await);
    assert_eq!(dynamic, fixed, "{}", FetchStrategy::name(&make()));
}

#[tokio::test(start_paused = true)]
async fn every_strategy_behaves_alike_through_both_traits() {
    alike(|| OneByOne).await;
    alike(|| AllAtOnce).await;
    alike(|| Bounded::new(3)).await;
    alike(|| InTasks).await;
    alike(|| {
        FnStrategy::new(
            "halves",
            async |http: Arc<dyn HttpGet>, urls: Vec<String>| {
                let mid = urls.len() / 2;
                let mut out = Vec::new();
                for half in [&urls[..mid], &urls[mid..]] {
                    out.extend(futures::future::join_all(half.iter().map(|u| http.get(u))).await);
                }
                out
            },
        )
    })
    .await;
    // The names too: each `NativeFetch` impl says the name its `FetchStrategy` impl gives.
    assert_eq!(NativeFetch::name(&OneByOne), "one by one");
    assert_eq!(NativeFetch::name(&InTasks), FetchStrategy::name(&InTasks));
}

//! Static dispatch: `StaticDownloader` over `NativeFetch`, the variant beside `FetchStrategy`.
//! Every strategy of the crate implements both traits with one algorithm: through either
//! context it takes the same time, overlaps as much, and answers the same.

use std::sync::Arc;
use std::time::Duration;

use async_patterns::strategy::{
    AllAtOnce, Bounded, FetchStrategy, FnStrategy, InTasks, NativeFetch, OneByOne, StaticDownloader,
};

use super::timing::{halves, timed, timed_by};
use super::{mock_http_once_each, ms};

/// `timed`, through a `StaticDownloader`: 10 URLs of 100 ms; the time taken and the peak.
async fn timed_static(strategy: impl NativeFetch) -> (Duration, usize) {
    timed_by(async |http, batch| StaticDownloader::new(http, strategy).download(batch).await).await
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
    alike(|| FnStrategy::new("halves", halves)).await;
    // The names too: each `NativeFetch` impl says the name its `FetchStrategy` impl gives.
    assert_eq!(NativeFetch::name(&OneByOne), "one by one");
    assert_eq!(NativeFetch::name(&InTasks), FetchStrategy::name(&InTasks));
}

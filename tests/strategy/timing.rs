//! Time, on tokio's paused clock: what dropping a download stops, and the shape of each
//! strategy over 10 URLs of 100 ms each (the sum, the longest, rounds of the limit).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_patterns::http::{HttpError, HttpGet};
use async_patterns::strategy::{
    AllAtOnce, Bounded, Downloader, FetchStrategy, Fetched, FnStrategy, InTasks, OneByOne,
    StrategyError,
};
use async_patterns::testkit::Delayed;
use tokio::time::Instant;

use super::{mock_http_once_each, ms, pages, pages_of, urls};

/// A fetcher that counts the requests started and the ones that ran to the end (100 ms each).
#[derive(Default)]
struct Counting {
    started: AtomicUsize,
    finished: AtomicUsize,
}

#[async_trait::async_trait]
impl HttpGet for Counting {
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        self.started.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(ms(100)).await;
        self.finished.fetch_add(1, Ordering::SeqCst);
        Ok(format!("page {url}"))
    }
}

#[tokio::test(start_paused = true)]
async fn dropping_a_download_stops_every_request_it_started() {
    // (strategy, requests in flight when the download is dropped at 50 ms)
    let all: Vec<(Arc<dyn FetchStrategy>, usize)> = vec![
        (Arc::new(OneByOne), 1),
        (Arc::new(AllAtOnce), 10),
        (Arc::new(Bounded::new(3)), 3),
        (Arc::new(InTasks), 10),
    ];
    for (strategy, in_flight) in all {
        let counting = Arc::new(Counting::default());
        let downloader = Downloader::new(counting.clone(), strategy);
        let dropped = tokio::time::timeout(ms(50), downloader.download(&urls(10))).await;
        assert!(dropped.is_err());
        // Long past the time the requests would have finished, had they been left running
        // (spawned tasks included: the `JoinSet` aborts them when the download is dropped).
        tokio::time::sleep(ms(500)).await;
        let name = downloader.strategy().name().to_owned();
        assert_eq!(counting.started.load(Ordering::SeqCst), in_flight, "{name}");
        assert_eq!(counting.finished.load(Ordering::SeqCst), 0, "{name}");
    }
}

// ---- the shape in virtual time: 10 URLs of 100 ms each --------------------------------------

/// Fetch 10 URLs of 100 ms through `strategy` in a `Downloader`; the virtual time taken and
/// the peak overlap.
pub(super) async fn timed(strategy: Arc<dyn FetchStrategy>) -> (Duration, usize) {
    timed_by(async |http, batch| Downloader::new(http, strategy).download(batch).await).await
}

/// Fetch 10 URLs of 100 ms through `download` (a context around the strategy under test); the
/// virtual time taken and the peak overlap.
///
/// The mock fetcher sits inside `Delayed`, which cannot hand it back for a `checkpoint()`: the
/// ten right pages, in order, from ten requests, say that each URL was requested once.
pub(super) async fn timed_by(
    download: impl AsyncFnOnce(Arc<dyn HttpGet>, &[String]) -> Result<Fetched, StrategyError>,
) -> (Duration, usize) {
    let batch = urls(10);
    let slow = Arc::new(Delayed::new(mock_http_once_each(&batch), ms(100)));
    let start = Instant::now();
    let results = download(Arc::clone(&slow) as Arc<dyn HttpGet>, &batch).await;
    let took = start.elapsed();
    assert_eq!(pages(&results.unwrap()), pages_of(&batch));
    assert_eq!(slow.gauge().total(), 10);
    (took, slow.gauge().peak())
}

#[tokio::test(start_paused = true)]
async fn one_by_one_takes_the_sum() {
    assert_eq!(timed(Arc::new(OneByOne)).await, (ms(1000), 1));
}

#[tokio::test(start_paused = true)]
async fn all_at_once_takes_the_longest() {
    assert_eq!(timed(Arc::new(AllAtOnce)).await, (ms(100), 10));
}

#[tokio::test(start_paused = true)]
async fn bounded_by_three_takes_four_rounds() {
    assert_eq!(timed(Arc::new(Bounded::new(3))).await, (ms(400), 3));
}

#[tokio::test(start_paused = true)]
async fn in_tasks_takes_the_longest() {
    assert_eq!(timed(Arc::new(InTasks)).await, (ms(100), 10));
}

/// A one-off strategy's algorithm: two halves, each half all at once.
pub(super) async fn halves(http: Arc<dyn HttpGet>, urls: Vec<String>) -> Fetched {
    let mid = urls.len() / 2;
    let mut out = Vec::new();
    for half in [&urls[..mid], &urls[mid..]] {
        out.extend(futures::future::join_all(half.iter().map(|u| http.get(u))).await);
    }
    out
}

#[tokio::test(start_paused = true)]
async fn an_async_function_is_a_one_off_strategy() {
    // Two halves, each half all at once: 2 x 100 ms.
    let strategy = FnStrategy::new("halves", halves);
    assert_eq!(timed(Arc::new(strategy)).await, (ms(200), 5));
}

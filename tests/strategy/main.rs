//! The strategy module, one test binary: the contexts against mock strategies, the strategies
//! against mock fetchers, `InThreads` letting its threads go, the timing shape of each strategy
//! on tokio's paused clock, the spans a download opens, static dispatch, and every strategy
//! over real HTTP.
//!
//! The contexts and the strategies catch panics by design, and mockall reports a violated
//! expectation by panicking: inside a download, that panic becomes a `StrategyError` or one
//! URL's `HttpError::Task`, not a failed test. So every test here asserts the outcome it gets,
//! counts the requests a mock fetcher received where a dropped result could hide one, and
//! verifies its mocks with `checkpoint()` on the test's own thread, once the code under test
//! has let go of them.

mod context;
mod in_threads;
mod real_http;
mod spans;
mod static_dispatch;
mod strategies;
mod timing;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_patterns::http::{HttpError, HttpGet};
use async_patterns::strategy::{AllAtOnce, Bounded, FetchStrategy, Fetched, InTasks, OneByOne};
use async_patterns::testkit::{MockFetchStrategy, MockHttpGet};

fn urls(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("http://test/{i}")).collect()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The longest a test that could deadlock may take before it fails (real time; it takes
/// milliseconds when it passes).
const HANG: Duration = Duration::from_secs(10);

/// A mock fetcher that expects each URL exactly once and answers `page <url>`.
fn mock_http_once_each(urls: &[String]) -> MockHttpGet {
    let mut mock = MockHttpGet::new();
    for url in urls {
        let expected = url.clone();
        mock.expect_get()
            .withf(move |u: &str| u == expected)
            .times(1)
            .returning(|u| Ok(format!("page {u}")));
    }
    mock
}

/// A mock fetcher behind a count of the requests made to it. A request beyond the mock's
/// expectations panics inside the strategy, which catches it: if the strategy then dropped that
/// result, neither the results nor `checkpoint()` would show it. The count does.
struct Counted {
    mock: MockHttpGet,
    asked: AtomicUsize,
}

impl Counted {
    fn new(mock: MockHttpGet) -> Arc<Self> {
        let asked = AtomicUsize::new(0);
        Arc::new(Counted { mock, asked })
    }

    /// As strategies are given a fetcher.
    fn shared(self: &Arc<Self>) -> Arc<dyn HttpGet> {
        Arc::clone(self) as Arc<dyn HttpGet>
    }

    /// The requests made; and the mock's expectations verified here, on the test's thread,
    /// once nothing else holds it.
    fn checkpoint(self: Arc<Self>) -> usize {
        let mut counted = Arc::into_inner(self).expect("nothing else holds the mock fetcher");
        counted.mock.checkpoint();
        counted.asked.into_inner()
    }
}

#[async_trait::async_trait]
impl HttpGet for Counted {
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        self.mock.get(url).await
    }
}

/// The pages `mock_http_once_each` answers for `urls`.
fn pages_of(urls: &[String]) -> Vec<String> {
    urls.iter().map(|u| format!("page {u}")).collect()
}

/// Each result as text: the page, or `error: <message>`.
fn pages(results: &Fetched) -> Vec<String> {
    results
        .iter()
        .map(|r| match r {
            Ok(body) => body.clone(),
            Err(e) => format!("error: {e}"),
        })
        .collect()
}

/// Verify a mock strategy's expectations here, once its downloader is gone.
fn checkpoint_strategy(mock: Arc<MockFetchStrategy>) {
    Arc::into_inner(mock)
        .expect("nothing else holds the mock strategy")
        .checkpoint();
}

/// The strategies that run on the calling task or in tasks (`InThreads` needs real threads).
fn strategies() -> Vec<Arc<dyn FetchStrategy>> {
    vec![
        Arc::new(OneByOne),
        Arc::new(AllAtOnce),
        Arc::new(Bounded::new(3)),
        Arc::new(InTasks),
    ]
}

//! The strategies against mock and hand-written fetchers: each URL requested once, input order
//! kept, a failure or a panic kept in its own slot, a panicking one-off strategy, no runtime.
//!
//! Every built-in strategy catches a fetcher's panic per URL, so a mock fetcher whose
//! expectation is violated answers that URL with `HttpError::Task`: each test compares every
//! slot, counts the requests made (`Counted`), and checkpoints the mock once the strategy has
//! let go of it.

use std::sync::Arc;

use async_patterns::basics::blocking::TaskError;
use async_patterns::http::{HttpError, HttpGet};
use async_patterns::strategy::{
    Bounded, Downloader, FetchStrategy, Fetched, FnStrategy, InTasks, InThreads, OneByOne,
    StaticDownloader, StrategyError,
};
use async_patterns::testkit::MockHttpGet;

use super::timing::timed;
use super::{Counted, mock_http_once_each, ms, pages, pages_of, strategies, urls};

#[tokio::test]
async fn every_strategy_requests_each_url_exactly_once_and_keeps_input_order() {
    let batch = urls(7);
    for strategy in strategies() {
        let http = Counted::new(mock_http_once_each(&batch));
        let results = strategy.fetch_all(&http.shared(), &batch).await;
        assert_eq!(pages(&results), pages_of(&batch), "{}", strategy.name());
        assert_eq!(http.checkpoint(), 7, "{}", strategy.name());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_threads_requests_each_url_exactly_once_and_keeps_input_order() {
    let batch = urls(5);
    let http = Counted::new(mock_http_once_each(&batch));
    let results = InThreads::bounded(2)
        .fetch_all(&http.shared(), &batch)
        .await;
    assert_eq!(pages(&results), pages_of(&batch));
    assert_eq!(http.checkpoint(), 5);
}

/// A fetcher whose later URLs answer sooner: `http://test/i` of `n` takes `(n - i) x 10 ms`,
/// so responses arrive in reverse order.
struct LastIsFastest(usize);

#[async_trait::async_trait]
impl HttpGet for LastIsFastest {
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        let i: usize = url.rsplit('/').next().and_then(|i| i.parse().ok()).unwrap();
        tokio::time::sleep(ms(10) * (self.0 - i) as u32).await;
        Ok(format!("page {url}"))
    }
}

#[tokio::test(start_paused = true)]
async fn results_keep_input_order_when_responses_arrive_in_reverse() {
    let batch = urls(6);
    let http: Arc<dyn HttpGet> = Arc::new(LastIsFastest(batch.len()));
    for strategy in strategies() {
        let results = strategy.fetch_all(&http, &batch).await;
        assert_eq!(pages(&results), pages_of(&batch), "{}", strategy.name());
    }
}

#[tokio::test]
async fn one_failed_url_never_loses_the_others() {
    let batch = urls(4);
    for strategy in strategies() {
        let mut mock = MockHttpGet::new();
        mock.expect_get().times(4).returning(|u| {
            if u.ends_with("/2") {
                Err(HttpError::Status {
                    url: u.to_owned(),
                    status: 503,
                })
            } else {
                Ok(format!("page {u}"))
            }
        });
        let http = Counted::new(mock);
        let results = strategy.fetch_all(&http.shared(), &batch).await;
        let name = strategy.name();
        assert_eq!(results.len(), 4, "{name}");
        for i in [0, 1, 3] {
            assert_eq!(
                results[i].as_deref().ok(),
                Some(&*format!("page {}", batch[i]))
            );
        }
        assert!(matches!(
            &results[2],
            Err(HttpError::Status { url, status: 503 }) if url == "http://test/2"
        ));
        assert_eq!(http.checkpoint(), 4, "{name}");
    }
}

/// A hand-written fetcher that panics on URLs ending in `/1` (a panic inside a mockall mock
/// would poison the mock itself).
struct Buggy;

#[async_trait::async_trait]
impl HttpGet for Buggy {
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        if url.ends_with("/1") {
            panic!("fetcher bug");
        }
        Ok("fine".into())
    }
}

fn assert_panic_costs_only_its_own_url(results: &Fetched, name: &str) {
    assert_eq!(results.len(), 3, "{name}");
    assert_eq!(results[0].as_deref().unwrap(), "fine", "{name}");
    assert_eq!(results[2].as_deref().unwrap(), "fine", "{name}");
    let err = results[1].as_ref().unwrap_err();
    assert!(
        matches!(
            err,
            HttpError::Task { url, source: TaskError::Panicked(message) }
                if url == "http://test/1" && message == "fetcher bug"
        ),
        "{name}: {err}"
    );
}

#[tokio::test]
async fn a_panicking_fetch_costs_only_its_own_url_under_every_strategy() {
    let http: Arc<dyn HttpGet> = Arc::new(Buggy);
    for strategy in strategies() {
        let results = strategy.fetch_all(&http, &urls(3)).await;
        assert_panic_costs_only_its_own_url(&results, strategy.name());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_threads_turns_a_panicking_fetch_into_an_error_for_that_url_only() {
    let http: Arc<dyn HttpGet> = Arc::new(Buggy);
    let results = InThreads::new().fetch_all(&http, &urls(3)).await;
    assert_panic_costs_only_its_own_url(&results, "in threads");
}

#[tokio::test]
async fn a_panicking_one_off_strategy_is_an_error_of_its_batch() {
    // Three ways for a closure strategy to panic: in the closure itself, in its future, and in a
    // fetcher it calls directly. The strategy has no per-URL slots to put it in, so the whole
    // batch fails, with the strategy's name and the panic's message.
    let in_closure = FnStrategy::new(
        "in the closure",
        |_: Arc<dyn HttpGet>, urls: Vec<String>| {
            assert!(urls.len() < 3, "{} URLs are too many", urls.len());
            async move { urls.into_iter().map(Ok).collect::<Fetched>() }
        },
    );
    let in_future = FnStrategy::new(
        "in its future",
        async |_: Arc<dyn HttpGet>, urls: Vec<String>| {
            tokio::task::yield_now().await;
            let first: &String = urls.get(7).expect("an eighth URL");
            vec![Ok(first.clone())]
        },
    );
    let in_fetcher = FnStrategy::new(
        "in a fetcher",
        async |http: Arc<dyn HttpGet>, urls: Vec<String>| {
            let mut out = Vec::new();
            for url in &urls {
                out.push(http.get(url).await);
            }
            out
        },
    );
    let http: Arc<dyn HttpGet> = Arc::new(Buggy);
    let expected = [
        ("in the closure", "3 URLs are too many"),
        ("in its future", "an eighth URL"),
        ("in a fetcher", "fetcher bug"),
    ];
    let strategies: [Arc<dyn FetchStrategy>; 3] = [
        Arc::new(in_closure),
        Arc::new(in_future),
        Arc::new(in_fetcher),
    ];
    for (strategy, (name, said)) in strategies.into_iter().zip(expected) {
        let downloader = Downloader::new(Arc::clone(&http), strategy);
        let err = downloader.download(&urls(3)).await.unwrap_err();
        let caught = matches!(&err, StrategyError::Panicked { strategy, message }
            if strategy == name && message == said);
        assert!(caught, "{err}");
        assert_eq!(
            err.to_string(),
            format!("strategy {name:?} panicked: {said}")
        );
        // The downloader is fine afterwards.
        downloader.set_strategy(Arc::new(OneByOne));
        assert!(downloader.download(&urls(1)).await.is_ok());
    }
    // The static context catches it too, a panic in the closure itself included (its
    // `NativeFetch` impl calls the closure before any future exists).
    let fixed = StaticDownloader::new(
        http,
        FnStrategy::new("fixed", |_: Arc<dyn HttpGet>, urls: Vec<String>| {
            assert!(urls.is_empty(), "static bug");
            async { Fetched::new() }
        }),
    );
    let err = fixed.download(&urls(1)).await.unwrap_err();
    assert_eq!(err.to_string(), "strategy \"fixed\" panicked: static bug");
}

#[test]
fn spawning_strategies_outside_a_runtime_report_an_error_per_url_instead_of_panicking() {
    // A mock with no expectation: a request would panic, and the strategy would report it as
    // `HttpError::Task`, not the `HttpError::Client` asserted here.
    let http = Counted::new(MockHttpGet::new());
    let spawning: [Arc<dyn FetchStrategy>; 2] = [Arc::new(InTasks), Arc::new(InThreads::new())];
    for strategy in spawning {
        let results = futures::executor::block_on(strategy.fetch_all(&http.shared(), &urls(2)));
        assert_eq!(results.len(), 2);
        let expected = format!(
            "HTTP client unusable: the {:?} strategy needs a tokio runtime",
            strategy.name()
        );
        for result in &results {
            assert!(
                matches!(result, Err(e @ HttpError::Client { .. }) if e.to_string() == expected),
                "{result:?}"
            );
        }
    }
    assert_eq!(http.checkpoint(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_zero_limit_is_taken_as_one() {
    assert_eq!(Bounded::new(0).limit(), 1);
    assert_eq!(Bounded::new(4).limit(), 4);
    assert_eq!(InThreads::bounded(0).limit(), Some(1));
    assert_eq!(InThreads::new().limit(), None);
    // A limit of zero would never make progress; as one, it fetches one by one.
    assert_eq!(timed(Arc::new(Bounded::new(0))).await, (ms(1000), 1));
}

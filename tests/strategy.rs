//! The strategy module: contexts against mock strategies, strategies against mock fetchers, the
//! timing shape of each strategy on tokio's paused clock, and every strategy over real HTTP.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_patterns::basics::blocking::TaskError;
use async_patterns::http::native::NativeHttp;
use async_patterns::http::{HttpConfig, HttpError, HttpGet};
use async_patterns::strategy::{
    AllAtOnce, Bounded, Downloader, FetchStrategy, Fetched, FnStrategy, InTasks, InThreads,
    OneByOne, StaticDownloader, StrategyError,
};
use async_patterns::testkit::MockHttpGet;
use async_patterns::testkit::{Delayed, MockFetchStrategy, TestServer, within, within_paused};
use mockall::Sequence;
use tokio::time::Instant;

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

fn pages(results: &Fetched) -> Vec<String> {
    results
        .iter()
        .map(|r| match r {
            Ok(body) => body.clone(),
            Err(e) => format!("error: {e}"),
        })
        .collect()
}

fn strategies() -> Vec<Arc<dyn FetchStrategy>> {
    vec![
        Arc::new(OneByOne),
        Arc::new(AllAtOnce),
        Arc::new(Bounded::new(3)),
        Arc::new(InTasks),
    ]
}

// ---- the context, with mock strategies -------------------------------------------------------

#[tokio::test]
async fn the_downloader_calls_its_strategy_once_per_batch_with_the_urls_given() {
    let batch = urls(3);
    let expected = batch.clone();
    let mut strategy = MockFetchStrategy::new();
    strategy
        .expect_fetch_all()
        .withf(move |_, urls: &[String]| urls == expected.as_slice())
        .times(1)
        .returning(|_, urls| urls.iter().map(|u| Ok(format!("got {u}"))).collect());
    let downloader = Downloader::new(Arc::new(MockHttpGet::new()), Arc::new(strategy));

    let results = downloader.download(&batch).await.unwrap();
    assert_eq!(
        pages(&results),
        [
            "got http://test/0",
            "got http://test/1",
            "got http://test/2"
        ]
    );
}

#[tokio::test]
async fn a_swapped_strategy_is_used_from_the_next_batch_on_in_order() {
    let mut seq = Sequence::new();
    let mut first = MockFetchStrategy::new();
    let mut second = MockFetchStrategy::new();
    first
        .expect_fetch_all()
        .withf(|_, urls: &[String]| urls == ["a"])
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| vec![Ok("first".into())]);
    second
        .expect_fetch_all()
        .withf(|_, urls: &[String]| urls == ["b", "c"])
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| vec![Ok("second".into()), Ok("second".into())]);
    second.expect_name().return_const("second".to_owned());
    first.expect_name().return_const("first".to_owned());

    let downloader = Downloader::new(Arc::new(MockHttpGet::new()), Arc::new(first));
    let a = downloader.download(&["a".into()]).await.unwrap();
    let old = downloader.set_strategy(Arc::new(second));
    let bc = downloader
        .download(&["b".into(), "c".into()])
        .await
        .unwrap();

    assert_eq!(old.name(), "first");
    assert_eq!(downloader.strategy().name(), "second");
    assert_eq!(pages(&a), ["first"]);
    assert_eq!(pages(&bc), ["second", "second"]);
}

#[tokio::test]
async fn a_strategy_that_loses_results_is_reported_by_name() {
    let mut liar = MockFetchStrategy::new();
    liar.expect_fetch_all()
        .times(1)
        .returning(|_, _| vec![Ok("only one".into())]);
    liar.expect_name().return_const("liar".to_owned());
    let downloader = Downloader::new(Arc::new(MockHttpGet::new()), Arc::new(liar));

    let err = downloader.download(&urls(3)).await.unwrap_err();
    assert!(matches!(
        &err,
        StrategyError::WrongCount { strategy, expected: 3, got: 1 } if strategy == "liar"
    ));
    assert_eq!(
        err.to_string(),
        r#"strategy "liar" returned 1 results for 3 URLs"#
    );
}

#[test]
fn a_download_in_flight_keeps_its_strategy_when_another_task_swaps() {
    // On a thread of its own: a lock held across an `.await` would hang this test;
    // `within_paused` makes it fail instead.
    within_paused(HANG, async {
        let mut slow = MockFetchStrategy::new();
        slow.expect_fetch_all()
            .times(1)
            .returning(|_, urls| urls.iter().map(|_| Ok("slow".into())).collect());
        slow.expect_name().return_const("slow".to_owned());
        let mut quick = MockFetchStrategy::new();
        quick
            .expect_fetch_all()
            .times(1)
            .returning(|_, urls| urls.iter().map(|_| Ok("quick".into())).collect());
        quick.expect_name().return_const("quick".to_owned());

        let downloader = Downloader::new(
            Arc::new(MockHttpGet::new()),
            Arc::new(Delayed::new(slow, ms(100))),
        );
        let two = urls(2);
        let start = Instant::now();
        let (in_flight, ()) = tokio::join!(downloader.download(&two), async {
            tokio::time::sleep(ms(10)).await;
            // The swap does not wait for the download (no lock is held across its await).
            downloader.set_strategy(Arc::new(quick));
            assert_eq!(start.elapsed(), ms(10));
        });
        assert_eq!(start.elapsed(), ms(100));
        let next = downloader.download(&urls(1)).await.unwrap();

        assert_eq!(pages(&in_flight.unwrap()), ["slow", "slow"]);
        assert_eq!(pages(&next), ["quick"]);
        assert_eq!(start.elapsed(), ms(100));
    });
}

// ---- the strategies, with mock fetchers ------------------------------------------------------

#[tokio::test]
async fn every_strategy_requests_each_url_exactly_once_and_keeps_input_order() {
    let batch = urls(7);
    for strategy in strategies() {
        let http: Arc<dyn HttpGet> = Arc::new(mock_http_once_each(&batch));
        let results = strategy.fetch_all(&http, &batch).await;
        let expected: Vec<String> = batch.iter().map(|u| format!("page {u}")).collect();
        assert_eq!(pages(&results), expected, "{}", strategy.name());
        // Dropping the mock checks the `times(1)` expectations.
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_threads_requests_each_url_exactly_once_and_keeps_input_order() {
    let batch = urls(5);
    let http: Arc<dyn HttpGet> = Arc::new(mock_http_once_each(&batch));
    let results = FetchStrategy::fetch_all(&InThreads::bounded(2), &http, &batch).await;
    let expected: Vec<String> = batch.iter().map(|u| format!("page {u}")).collect();
    assert_eq!(pages(&results), expected);
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
    let expected: Vec<String> = batch.iter().map(|u| format!("page {u}")).collect();
    let http: Arc<dyn HttpGet> = Arc::new(LastIsFastest(batch.len()));
    for strategy in strategies() {
        let results = strategy.fetch_all(&http, &batch).await;
        assert_eq!(pages(&results), expected, "{}", strategy.name());
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
        let http: Arc<dyn HttpGet> = Arc::new(mock);
        let results = strategy.fetch_all(&http, &batch).await;
        assert_eq!(results.len(), 4, "{}", strategy.name());
        assert!(results[0].is_ok() && results[1].is_ok() && results[3].is_ok());
        assert!(matches!(
            &results[2],
            Err(HttpError::Status { url, status: 503 }) if url == "http://test/2"
        ));
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
    let results = FetchStrategy::fetch_all(&InThreads::new(), &http, &urls(3)).await;
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
    // The static context catches it too.
    let fixed = StaticDownloader::new(
        http,
        FnStrategy::new("fixed", |_: Arc<dyn HttpGet>, _: Vec<String>| async {
            panic!("static bug");
            #[allow(unreachable_code)]
            Fetched::new()
        }),
    );
    let err = fixed.download(&urls(1)).await.unwrap_err();
    assert_eq!(err.to_string(), "strategy \"fixed\" panicked: static bug");
}

/// A fetcher that takes an hour, on tokio's timer, and counts its requests started and dropped.
#[derive(Default)]
struct Endless {
    started: AtomicUsize,
    dropped: Arc<AtomicUsize>,
}

/// Counts a dropped request.
struct CountDrop(Arc<AtomicUsize>);

impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl HttpGet for Endless {
    async fn get(&self, _url: &str) -> Result<String, HttpError> {
        let _counted = CountDrop(Arc::clone(&self.dropped));
        self.started.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok("an hour later".into())
    }
}

/// Panics on threads named `name`, counted by a panic hook installed once for this binary.
fn panics_on_threads_named(name: &'static str) -> Arc<AtomicUsize> {
    static HOOKED: std::sync::Mutex<Vec<(&'static str, Arc<AtomicUsize>)>> =
        std::sync::Mutex::new(Vec::new());
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            if let Ok(hooked) = HOOKED.lock() {
                for (name, count) in hooked.iter() {
                    if thread.name() == Some(name) {
                        count.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
            previous(info);
        }));
    });
    let count = Arc::new(AtomicUsize::new(0));
    HOOKED.lock().unwrap().push((name, Arc::clone(&count)));
    count
}

/// Wait (real time, with a deadline) until `count` reaches `n`.
fn wait_for(count: &AtomicUsize, n: usize) -> usize {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while count.load(Ordering::SeqCst) < n && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    count.load(Ordering::SeqCst)
}

/// A one-worker runtime whose threads are named `threads`, a counter of panics on them, and an
/// endless fetcher (shared, and as the `dyn HttpGet` a strategy is given).
fn watched_runtime(
    threads: &'static str,
) -> (
    Arc<AtomicUsize>,
    tokio::runtime::Runtime,
    Arc<Endless>,
    Arc<dyn HttpGet>,
) {
    let panics = panics_on_threads_named(threads);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(threads)
        .enable_all()
        .build()
        .unwrap();
    let endless = Arc::new(Endless::default());
    let http: Arc<dyn HttpGet> = endless.clone();
    (panics, runtime, endless, http)
}

#[test]
fn dropping_an_in_threads_batch_lets_its_threads_go_quietly() {
    const THREADS: &str = "in-threads-dropped";
    let (panics, runtime, endless, http) = watched_runtime(THREADS);
    runtime.block_on(async {
        let (strategy, batch) = (InThreads::new(), urls(4));
        let batch = FetchStrategy::fetch_all(&strategy, &http, &batch);
        // Run the batch until its four blocking threads are waiting on their requests, then
        // drop it.
        let started = async {
            while endless.started.load(Ordering::SeqCst) < 4 {
                tokio::time::sleep(ms(1)).await;
            }
        };
        tokio::select! {
            _ = batch => panic!("an hour went by"),
            () = started => {}
        }
    });
    // The batch is gone: its threads stop waiting at once, the runtime still running.
    assert_eq!(
        wait_for(&endless.dropped, 4),
        4,
        "the requests were dropped"
    );
    drop(runtime);
    assert_eq!(
        panics.load(Ordering::SeqCst),
        0,
        "nothing panicked on the runtime's threads"
    );
}

#[test]
fn shutting_the_runtime_down_under_an_in_threads_batch_is_quiet() {
    const THREADS: &str = "in-threads-shut-down";
    let (panics, runtime, endless, http) = watched_runtime(THREADS);
    runtime.spawn(async move {
        FetchStrategy::fetch_all(&InThreads::bounded(2), &http, &urls(4)).await
    });
    assert_eq!(wait_for(&endless.started, 2), 2);
    // Dropping the runtime drops the task (and the batch in it), then stops the timer its
    // threads' requests are waiting on: they must go without touching it.
    within(HANG, move || drop(runtime));
    assert_eq!(
        endless.dropped.load(Ordering::SeqCst),
        2,
        "the two requests were dropped"
    );
    assert_eq!(
        endless.started.load(Ordering::SeqCst),
        2,
        "no other request started"
    );
    assert_eq!(
        panics.load(Ordering::SeqCst),
        0,
        "nothing panicked on the runtime's threads"
    );
}

#[test]
fn spawning_strategies_outside_a_runtime_report_an_error_per_url_instead_of_panicking() {
    let http: Arc<dyn HttpGet> = Arc::new(MockHttpGet::new());
    let spawning: [Arc<dyn FetchStrategy>; 2] = [Arc::new(InTasks), Arc::new(InThreads::new())];
    for strategy in spawning {
        let results = futures::executor::block_on(strategy.fetch_all(&http, &urls(2)));
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
}

#[tokio::test(start_paused = true)]
async fn a_zero_limit_is_taken_as_one() {
    assert_eq!(Bounded::new(0).limit(), 1);
    assert_eq!(Bounded::new(4).limit(), 4);
    // A limit of zero would never make progress; as one, it fetches one by one.
    assert_eq!(timed(Arc::new(Bounded::new(0))).await, (ms(1000), 1));
}

// ---- cancellation ----------------------------------------------------------------------------

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

/// Fetch 10 URLs of 100 ms through `strategy`; the virtual time taken and the peak overlap.
async fn timed(strategy: Arc<dyn FetchStrategy>) -> (Duration, usize) {
    let batch = urls(10);
    let slow = Arc::new(Delayed::new(mock_http_once_each(&batch), ms(100)));
    let downloader = Downloader::new(slow.clone(), strategy);
    let start = Instant::now();
    let results = downloader.download(&batch).await.unwrap();
    assert!(results.iter().all(Result::is_ok));
    (start.elapsed(), slow.gauge().peak())
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

#[tokio::test(start_paused = true)]
async fn the_static_downloader_has_the_same_shape() {
    let batch = urls(10);
    let slow: Arc<dyn HttpGet> = Arc::new(Delayed::new(mock_http_once_each(&batch), ms(100)));
    let downloader = StaticDownloader::new(Arc::clone(&slow), Bounded::new(5));
    let start = Instant::now();
    let results = downloader.download(&batch).await.unwrap();
    assert_eq!(start.elapsed(), ms(200));
    assert_eq!(results.len(), 10);
    assert_eq!(downloader.strategy().limit(), 5);
}

#[tokio::test(start_paused = true)]
async fn an_async_closure_is_a_one_off_strategy() {
    // Two halves, each half all at once: 2 x 100 ms.
    let halves = FnStrategy::new(
        "halves",
        async |http: Arc<dyn HttpGet>, urls: Vec<String>| {
            let mid = urls.len() / 2;
            let mut out = Vec::new();
            for half in [&urls[..mid], &urls[mid..]] {
                out.extend(futures::future::join_all(half.iter().map(|u| http.get(u))).await);
            }
            out
        },
    );
    let (took, peak) = timed(Arc::new(halves)).await;
    assert_eq!((took, peak), (ms(200), 5));
}

// ---- real HTTP over the loopback server ------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_strategy_fetches_real_pages_and_keeps_a_failure_in_its_slot() {
    let server = TestServer::start().unwrap();
    let mut batch: Vec<String> = (0..4).map(|i| server.page_url(i, 300)).collect();
    batch.insert(2, server.status_url(500));
    let http: Arc<dyn HttpGet> =
        Arc::new(NativeHttp::new(HttpConfig::default().timeout(Duration::from_secs(10))).unwrap());

    // Each strategy with the least and the most requests it may have in flight at once.
    let all: Vec<(Arc<dyn FetchStrategy>, usize, usize)> = vec![
        (Arc::new(OneByOne), 1, 1),
        (Arc::new(AllAtOnce), 4, 5),
        (Arc::new(Bounded::new(2)), 2, 2),
        (Arc::new(InTasks), 4, 5),
        (Arc::new(InThreads::new()), 4, 5),
        (Arc::new(InThreads::bounded(2)), 2, 2),
    ];
    for (strategy, least, most) in all {
        server.reset_stats();
        let downloader = Downloader::new(Arc::clone(&http), Arc::clone(&strategy));
        let results = downloader.download(&batch).await.unwrap();
        let name = strategy.name();
        assert_eq!(results.len(), 5, "{name}");
        assert!(
            results[0].as_deref().unwrap().starts_with("title: item 0"),
            "{name}"
        );
        assert!(
            results[4].as_deref().unwrap().starts_with("title: item 3"),
            "{name}"
        );
        assert!(
            matches!(&results[2], Err(HttpError::Status { status: 500, .. })),
            "{name}"
        );
        assert_eq!(server.requests(), 5, "{name}");
        // The four slow pages (300 ms each) overlap, up to the strategy's limit.
        let peak = server.peak_in_flight();
        assert!((least..=most).contains(&peak), "{name}: peak {peak}");
    }
}

//! Every strategy over real HTTP, against the testkit's loopback server: real pages, a failure
//! kept in its slot, and as many requests in flight as the strategy allows.

use std::sync::Arc;
use std::time::Duration;

use async_patterns::http::native::NativeHttp;
use async_patterns::http::{HttpConfig, HttpError, HttpGet};
use async_patterns::strategy::{
    AllAtOnce, Bounded, Downloader, FetchStrategy, InTasks, InThreads, OneByOne, StaticDownloader,
};
use async_patterns::testkit::TestServer;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_threads_behaves_alike_through_both_traits() {
    // `InThreads` needs real threads, so the paused clock of `static_dispatch` cannot time it.
    let server = TestServer::start().unwrap();
    let batch: Vec<String> = (0..4).map(|i| server.page_url(i, 300)).collect();
    let http: Arc<dyn HttpGet> =
        Arc::new(NativeHttp::new(HttpConfig::default().timeout(Duration::from_secs(10))).unwrap());
    let dynamic = Downloader::new(Arc::clone(&http), Arc::new(InThreads::bounded(2)));
    let fixed = StaticDownloader::new(http, InThreads::bounded(2));
    for way in ["dyn", "static"] {
        server.reset_stats();
        let results = match way {
            "dyn" => dynamic.download(&batch).await,
            _ => fixed.download(&batch).await,
        };
        for (i, result) in results.unwrap().iter().enumerate() {
            let page = result.as_deref().unwrap();
            assert!(
                page.starts_with(&format!("title: item {i}")),
                "{way}: {page}"
            );
        }
        assert_eq!(
            server.peak_in_flight(),
            2,
            "{way}: two threads at once, no more"
        );
    }
}

//! The context, `Downloader`, against mock strategies: what it passes on, swapping, a broken
//! promise reported by name; and the pointers that are strategies too.
//!
//! The downloader calls its strategy inside a panic guard, so a mock strategy whose expectation
//! is violated makes `download` return `StrategyError::Panicked`: each test unwraps or matches
//! the result, and checkpoints its mocks once the downloader is gone.

use std::sync::Arc;

use async_patterns::http::HttpGet;
use async_patterns::strategy::{Downloader, FetchStrategy, Fetched, StrategyError};
use async_patterns::testkit::{Delayed, MockFetchStrategy, MockHttpGet, within_paused};
use mockall::Sequence;
use tokio::time::Instant;

use super::{HANG, checkpoint_strategy, ms, pages, urls};

/// A mock strategy that answers `<answer>` for each URL of a batch, `times` times.
fn answering(answer: &'static str, times: usize) -> MockFetchStrategy {
    let mut strategy = MockFetchStrategy::new();
    strategy
        .expect_fetch_all()
        .times(times)
        .returning(move |_, urls| urls.iter().map(|_| Ok(answer.into())).collect());
    strategy.expect_name().return_const(answer.to_owned());
    strategy
}

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
    let strategy = Arc::new(strategy);
    let downloader = Downloader::new(Arc::new(MockHttpGet::new()), strategy.clone());

    let results = downloader.download(&batch).await.unwrap();
    assert_eq!(
        pages(&results),
        [
            "got http://test/0",
            "got http://test/1",
            "got http://test/2"
        ]
    );
    drop(downloader);
    checkpoint_strategy(strategy);
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
    let (first, second) = (Arc::new(first), Arc::new(second));

    let downloader = Downloader::new(Arc::new(MockHttpGet::new()), first.clone());
    let a = downloader.download(&["a".into()]).await.unwrap();
    let old = downloader.set_strategy(second.clone());
    let bc = downloader
        .download(&["b".into(), "c".into()])
        .await
        .unwrap();

    assert_eq!(old.name(), "first");
    assert_eq!(downloader.strategy().name(), "second");
    assert_eq!(pages(&a), ["first"]);
    assert_eq!(pages(&bc), ["second", "second"]);
    drop((downloader, old));
    checkpoint_strategy(first);
    checkpoint_strategy(second);
}

#[tokio::test]
async fn a_strategy_that_loses_results_is_reported_by_name() {
    let mut liar = MockFetchStrategy::new();
    liar.expect_fetch_all()
        .times(1)
        .returning(|_, _| vec![Ok("only one".into())]);
    liar.expect_name().return_const("liar".to_owned());
    let liar = Arc::new(liar);
    let downloader = Downloader::new(Arc::new(MockHttpGet::new()), liar.clone());

    let err = downloader.download(&urls(3)).await.unwrap_err();
    assert!(matches!(
        &err,
        StrategyError::WrongCount { strategy, expected: 3, got: 1 } if strategy == "liar"
    ));
    assert_eq!(
        err.to_string(),
        r#"strategy "liar" returned 1 results for 3 URLs"#
    );
    drop(downloader);
    checkpoint_strategy(liar);
}

#[tokio::test]
async fn a_strategy_whose_name_panics_is_still_reported() {
    // No `expect_name`: asking the mock for its name panics, inside the downloader's guard.
    let mut nameless = MockFetchStrategy::new();
    nameless
        .expect_fetch_all()
        .times(1)
        .returning(|_, _| Vec::new());
    let downloader = Downloader::new(Arc::new(MockHttpGet::new()), Arc::new(nameless));

    let err = downloader.download(&urls(2)).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"strategy "<a strategy whose name panicked>" returned 0 results for 2 URLs"#
    );
}

#[test]
fn a_download_in_flight_keeps_its_strategy_when_another_task_swaps() {
    // On a thread of its own: a lock held across an `.await` would hang this test;
    // `within_paused` makes it fail instead.
    within_paused(HANG, async {
        // `slow` is wrapped in `Delayed`, so it is verified through the pages it answers.
        let slow = Delayed::new(answering("slow", 1), ms(100));
        let quick = Arc::new(answering("quick", 1));
        let downloader = Downloader::new(Arc::new(MockHttpGet::new()), Arc::new(slow));
        let two = urls(2);
        let start = Instant::now();
        let (in_flight, ()) = tokio::join!(downloader.download(&two), async {
            tokio::time::sleep(ms(10)).await;
            // The swap does not wait for the download (no lock is held across its await).
            downloader.set_strategy(quick.clone());
            assert_eq!(start.elapsed(), ms(10));
        });
        assert_eq!(start.elapsed(), ms(100));
        let next = downloader.download(&urls(1)).await.unwrap();

        assert_eq!(pages(&in_flight.unwrap()), ["slow", "slow"]);
        assert_eq!(pages(&next), ["quick"]);
        assert_eq!(start.elapsed(), ms(100));
        drop(downloader);
        checkpoint_strategy(quick);
    });
}

/// Generic over any strategy: takes it by value, as a user's function would.
async fn fetch_through(strategy: impl FetchStrategy, http: &Arc<dyn HttpGet>) -> Fetched {
    assert_eq!(strategy.name(), "mocked");
    strategy.fetch_all(http, &urls(1)).await
}

#[tokio::test]
async fn a_shared_boxed_or_borrowed_strategy_is_a_strategy() {
    // Called directly, not through a context: nothing catches the mock's panics here.
    let mut strategy = MockFetchStrategy::new();
    strategy.expect_name().return_const("mocked".to_owned());
    strategy
        .expect_fetch_all()
        .times(3)
        .returning(|_, urls| urls.iter().map(|u| Ok(u.clone())).collect());
    let strategy = Arc::new(strategy);
    let http: Arc<dyn HttpGet> = Arc::new(MockHttpGet::new());

    let boxed: Box<dyn FetchStrategy> = Box::new(Arc::clone(&strategy));
    for fetched in [
        fetch_through(Arc::clone(&strategy), &http).await,
        fetch_through(boxed, &http).await,
        fetch_through(&*strategy, &http).await,
    ] {
        assert_eq!(pages(&fetched), ["http://test/0"]);
    }
    checkpoint_strategy(strategy);
}

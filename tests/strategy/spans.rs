//! The spans a download opens, recorded on tokio's paused clock: the batch named by its
//! strategy, each fetch by its URL under it, how each ended, and the swap as a marker.

use std::sync::Arc;

use async_patterns::http::{HttpError, HttpGet, TimeLimit};
use async_patterns::strategy::{
    AllAtOnce, Bounded, Downloader, FetchStrategy, FnStrategy, InTasks, OneByOne, StaticDownloader,
};
use async_patterns::timing::{Bar, BarOutcome, Timeline, record_spans};

use super::ms;

const TARGET: &str = "async_patterns::strategy";

/// A fetcher whose answer is in the URL: `/bad` fails, `/boom` panics, `/late` times out,
/// anything else is a page; each takes 30 ms (`/slow`: 100 ms).
struct Scripted;

#[async_trait::async_trait]
impl HttpGet for Scripted {
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        tokio::time::sleep(ms(if url == "/slow" { 100 } else { 30 })).await;
        match url {
            "/bad" => Err(HttpError::Status {
                url: url.into(),
                status: 500,
            }),
            "/boom" => panic!("a fetcher's bug"),
            "/late" => Err(HttpError::Timeout {
                url: url.into(),
                limit: TimeLimit::Total(ms(30)),
            }),
            _ => Ok(format!("page {url}")),
        }
    }
}

fn urls(paths: &[&str]) -> Vec<String> {
    paths.iter().map(|p| (*p).to_owned()).collect()
}

/// Each bar as (label, depth, start ms, end ms, outcome).
fn shape(timeline: &Timeline) -> Vec<(String, usize, u128, u128, BarOutcome)> {
    let bars = timeline.bars_by_start();
    bars.into_iter()
        .map(
            |Bar {
                 label,
                 depth,
                 start,
                 end,
                 outcome,
                 ..
             }| { (label, depth, start.as_millis(), end.as_millis(), outcome) },
        )
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_batch_is_a_span_named_by_its_strategy_and_each_fetch_one_named_by_its_url() {
    let timeline = Arc::new(Timeline::new());
    let downloader = Downloader::new(Arc::new(Scripted), Arc::new(AllAtOnce));
    let batch = urls(&["/ok", "/bad", "/boom", "/late"]);
    let results = record_spans(&timeline, TARGET, downloader.download(&batch)).await;
    assert_eq!(results.unwrap().iter().filter(|r| r.is_ok()).count(), 1);
    let (ok, failed, timed_out) = (BarOutcome::Ok, BarOutcome::Failed, BarOutcome::TimedOut);
    assert_eq!(
        shape(&timeline),
        [
            ("all at once".into(), 0, 0, 30, ok),
            ("/ok".into(), 1, 0, 30, ok),
            ("/bad".into(), 1, 0, 30, failed),
            ("/boom".into(), 1, 0, 30, failed),
            ("/late".into(), 1, 0, 30, timed_out),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn every_built_in_strategy_draws_its_fetches_under_its_batch() {
    // (strategy, when each of four 30 ms fetches starts)
    let all: [(Arc<dyn FetchStrategy>, [u128; 4]); 3] = [
        (Arc::new(OneByOne), [0, 30, 60, 90]),
        (Arc::new(Bounded::new(2)), [0, 0, 30, 30]),
        (Arc::new(InTasks), [0, 0, 0, 0]),
    ];
    for (strategy, starts) in all {
        let name = strategy.name().to_owned();
        let timeline = Arc::new(Timeline::new());
        let downloader = Downloader::new(Arc::new(Scripted), strategy);
        let batch = urls(&["/1", "/2", "/3", "/4"]);
        record_spans(&timeline, TARGET, downloader.download(&batch))
            .await
            .unwrap();
        let bars = shape(&timeline);
        assert_eq!((bars[0].0.as_str(), bars[0].1), (name.as_str(), 0));
        let fetches: Vec<(&str, usize, u128)> =
            bars[1..].iter().map(|b| (b.0.as_str(), b.1, b.2)).collect();
        let expected: Vec<(&str, usize, u128)> = batch
            .iter()
            .zip(starts)
            .map(|(u, s)| (u.as_str(), 1, s))
            .collect();
        assert_eq!(fetches, expected, "{name}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_dropped_batch_is_drawn_cancelled_and_a_broken_promise_failed() {
    let timeline = Arc::new(Timeline::new());
    let downloader = Downloader::new(Arc::new(Scripted), Arc::new(OneByOne));
    let batch = urls(&["/1", "/slow"]);
    // Dropped inside the recording (a `timeout` awaited in the block): a span that closes
    // where the recording is not the subscriber cannot close its parent.
    let dropped = async { tokio::time::timeout(ms(50), downloader.download(&batch)).await };
    assert!(record_spans(&timeline, TARGET, dropped).await.is_err());
    let cancelled = BarOutcome::Cancelled;
    let expected = [
        ("one by one".into(), 0, 0, 50, cancelled),
        ("/1".into(), 1, 0, 30, BarOutcome::Ok),
        ("/slow".into(), 1, 30, 50, cancelled),
    ];
    assert_eq!(shape(&timeline), expected);

    // A one-off strategy that loses a result fails its batch, on either context.
    let lossy = FnStrategy::new("lossy", async |_: Arc<dyn HttpGet>, _: Vec<String>| {
        Vec::new()
    });
    let timeline = Arc::new(Timeline::new());
    let fixed = StaticDownloader::new(Arc::new(Scripted), lossy);
    assert!(
        record_spans(&timeline, TARGET, fixed.download(&batch))
            .await
            .is_err()
    );
    assert_eq!(
        shape(&timeline),
        [("lossy".into(), 0, 0, 0, BarOutcome::Failed)]
    );
}

#[tokio::test(start_paused = true)]
async fn a_swap_is_a_marker_at_its_instant() {
    let timeline = Arc::new(Timeline::new());
    let downloader = Downloader::new(Arc::new(Scripted), Arc::new(OneByOne));
    let swap = async {
        tokio::time::sleep(ms(45)).await;
        downloader.set_strategy(Arc::new(Bounded::new(2)));
    };
    record_spans(&timeline, TARGET, swap).await;
    let markers = timeline.markers();
    let marked: Vec<(&str, u128, Option<&str>)> = markers
        .iter()
        .map(|m| (m.label.as_str(), m.at.as_millis(), m.lane.as_deref()))
        .collect();
    assert_eq!(marked, [("swapped to bounded", 45, None)]);
}

#[tokio::test(start_paused = true)]
async fn bounded_gives_a_finished_requests_slot_to_the_next_at_once() {
    // A slow page first, then four quick ones: they take turns in the other slot, each as the
    // one before it ends, 120 ms in all. Kept in order (`buffered`), the quick pages that are
    // done would hold their slots until the slow one is: 160 ms.
    let timeline = Arc::new(Timeline::new());
    let downloader = Downloader::new(Arc::new(Scripted), Arc::new(Bounded::new(2)));
    let batch = urls(&["/slow", "/1", "/2", "/3", "/4"]);
    let pages = record_spans(&timeline, TARGET, downloader.download(&batch)).await;
    assert_eq!(pages.unwrap().len(), 5);
    let bars = shape(&timeline);
    let starts: Vec<(&str, u128)> = bars.iter().map(|b| (b.0.as_str(), b.2)).collect();
    let expected = [("/slow", 0), ("/1", 0), ("/2", 30), ("/3", 60), ("/4", 90)];
    assert_eq!(starts, [&[("bounded", 0)][..], &expected].concat());
    assert_eq!(bars[0].3, 120);
}

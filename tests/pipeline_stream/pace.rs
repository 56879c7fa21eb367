//! Pace: a pipeline is as fast as its slowest stage, a stage runs at most its limit, order is
//! kept or not as asked, a slow consumer holds back the source, and a waiting source is
//! followed item by item.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_patterns::pipeline::stream::{Pipeline, StageOptions};
use async_patterns::testkit::{Delayed, Gauge, MockStage};
use futures::StreamExt;
use tokio::time::{Instant, sleep};

use super::{ms, sleepy, verify};

#[tokio::test(start_paused = true)]
async fn the_pipeline_is_as_fast_as_its_slowest_stage() {
    // Stage a: 10 ms per item, one at a time (100 items/s). Stage b: 50 ms, ten at a time
    // (200 items/s). So a sets the pace: 20 items leave a by 200 ms, the last is done at 250.
    let (a, a_gauge) = sleepy(|_| 10);
    let (b, b_gauge) = sleepy(|_| 50);
    let start = Instant::now();
    let out: Vec<u64> = Pipeline::from_iter(0..20u64)
        .stage("a", StageOptions::ordered(1), a)
        .stage("b", StageOptions::ordered(10), b)
        .into_stream()
        .map(|r| r.unwrap_or(u64::MAX))
        .collect()
        .await;
    assert_eq!(start.elapsed(), ms(250));
    assert_eq!(out, (0..20).collect::<Vec<_>>());
    assert_eq!((a_gauge.peak(), b_gauge.peak()), (1, 5));
}

#[tokio::test(start_paused = true)]
async fn a_stage_never_runs_more_than_its_limit() {
    let gauge = Gauge::new();
    let mut mock = MockStage::new();
    mock.expect_process()
        .times(20)
        .returning(|s| Ok(s.to_uppercase()));
    let mock = Arc::new(mock);
    let stage = Delayed::with_gauge(Arc::clone(&mock), ms(100), gauge.clone());
    let start = Instant::now();
    let (out, errors) = Pipeline::from_iter((0..20).map(|i| format!("item{i}")))
        .stage("upper", StageOptions::unordered(5), stage)
        .into_stream()
        .partition()
        .await;
    // A 21st call would panic inside the stage: it shows here as an item's error.
    let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors, Vec::<String>::new());
    assert_eq!(out.len(), 20);
    assert!(out.iter().all(|s| s.starts_with("ITEM")));
    assert_eq!(gauge.peak(), 5);
    assert_eq!(
        start.elapsed(),
        ms(400),
        "20 items, 5 at a time, 100 ms each"
    );
    verify(mock);
}

#[tokio::test(start_paused = true)]
async fn unordered_yields_as_ready_and_ordered_keeps_input_order() {
    let waits = |x: u64| [30, 10, 20][x as usize % 3];
    let run = |options: StageOptions| async move {
        Pipeline::from_iter(0..3u64)
            .stage("s", options, sleepy(waits).0)
            .into_stream()
            .map(|r| r.unwrap_or(u64::MAX))
            .collect::<Vec<_>>()
            .await
    };
    assert_eq!(run(StageOptions::unordered(3)).await, [1, 2, 0]);
    assert_eq!(run(StageOptions::ordered(3)).await, [0, 1, 2]);
}

#[tokio::test(start_paused = true)]
async fn a_slow_consumer_keeps_the_items_in_flight_bounded() {
    let produced = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&produced);
    // An endless source: only back-pressure keeps it from being drained.
    let source = (0u64..).inspect(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let (fetch, fetch_gauge) = sleepy(|_| 5);
    let (parse, parse_gauge) = sleepy(|_| 1);
    let pipeline = Pipeline::from_iter(source)
        .stage("fetch", StageOptions::unordered(8).buffer(4), fetch)
        .stage("parse", StageOptions::ordered(2).buffer(1), parse);
    let capacity = pipeline.capacity();
    assert_eq!(capacity, 8 + 4 + 2 + 1);
    let mut stream = pipeline.into_stream();
    let mut worst = 0;
    for consumed in 1..=50 {
        assert!(stream.next().await.is_some());
        sleep(ms(100)).await; // the consumer is much slower than the stages
        worst = worst.max(produced.load(Ordering::SeqCst) - consumed);
    }
    assert!(
        worst <= capacity,
        "{worst} items in flight, capacity {capacity}"
    );
    // Measured right after a hand-over: each of the two stages has just passed one item on and
    // refills that slot on the next poll. Everything else is full: upstream ran ahead.
    assert_eq!(worst, capacity - 2, "the buffers did fill up");
    assert!(fetch_gauge.peak() <= 8 && parse_gauge.peak() <= 2);
    assert!(produced.load(Ordering::SeqCst) <= 50 + capacity);
}

#[tokio::test(start_paused = true)]
async fn a_source_stream_that_waits_is_followed_item_by_item() {
    // One input every 10 ms, from an async source; each takes 25 ms in the stage. Item i is
    // ready at 10 (i + 1) + 25 ms, so the last of five is done at 75 ms, if the stage is
    // woken by the source as each input arrives.
    let source = futures::stream::unfold(0u64, |i| async move {
        if i == 5 {
            return None;
        }
        sleep(ms(10)).await;
        Some((i, i + 1))
    });
    let (stage, gauge) = sleepy(|_| 25);
    let start = Instant::now();
    let run = Pipeline::from_stream(source)
        .stage("s", StageOptions::ordered(3), stage)
        .into_stream()
        .map(|r| r.unwrap_or(u64::MAX))
        .collect::<Vec<_>>();
    // A lost wake-up would hang: the timeout turns that into a failure.
    let out = tokio::time::timeout(ms(1_000), run).await;
    assert_eq!(out.ok(), Some(vec![0, 1, 2, 3, 4]));
    assert_eq!(start.elapsed(), ms(75));
    assert_eq!(gauge.peak(), 3, "items 0, 1 and 2 overlap from 30 to 35 ms");
}

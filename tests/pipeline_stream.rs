//! Streaming stages: every item exactly once, order, back-pressure, errors, cancellation.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_patterns::http::BoxError;
use async_patterns::pipeline::stream::{
    ErrorPolicy, MAX_BUFFER, MAX_CONCURRENCY, MAX_STAGES, Pipeline, Stage, StageError, StageOptions,
};
use async_patterns::testkit::{
    Delayed, Gauge, MockStage, alive_tasks_once_settled, within, within_paused,
};
use futures::StreamExt;
use proptest::prelude::*;
use tokio::time::{Instant, sleep};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A stage that waits `wait(x)` ms then passes `x` on, counting calls on a gauge.
struct Sleepy {
    gauge: Gauge,
    wait: fn(u64) -> u64,
}

#[async_trait::async_trait]
impl Stage<u64, u64> for Sleepy {
    async fn process(&self, x: u64) -> Result<u64, BoxError> {
        let _call = self.gauge.enter();
        sleep(ms((self.wait)(x))).await;
        Ok(x)
    }
}

fn sleepy(wait: fn(u64) -> u64) -> (Sleepy, Gauge) {
    let gauge = Gauge::new();
    (
        Sleepy {
            gauge: gauge.clone(),
            wait,
        },
        gauge,
    )
}

#[derive(Debug, Clone)]
struct StageSpec {
    limit: usize,
    buffer: usize,
    ordered: bool,
    spawned: bool,
}

fn stage_spec() -> impl Strategy<Value = StageSpec> {
    (1usize..8, 0usize..4, any::<bool>(), any::<bool>()).prop_map(
        |(limit, buffer, ordered, spawned)| StageSpec {
            limit,
            buffer,
            ordered,
            spawned,
        },
    )
}

fn options(spec: &StageSpec) -> StageOptions {
    let o = if spec.ordered {
        StageOptions::ordered(spec.limit)
    } else {
        StageOptions::unordered(spec.limit)
    };
    let o = o.buffer(spec.buffer);
    if spec.spawned { o.spawned() } else { o }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the inputs, limits, buffers and modes: every input comes out exactly once, in
    /// input order when every stage keeps order, and never more than `capacity` items are
    /// between the source and the consumer.
    #[test]
    fn every_input_comes_out_exactly_once(
        inputs in proptest::collection::vec(0u64..1000, 0..150),
        specs in proptest::collection::vec(stage_spec(), 1..4),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()?;
        let produced = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&produced);
        let source = inputs.clone().into_iter().inspect(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let mut pipeline = Pipeline::from_iter(source);
        for (i, spec) in specs.iter().enumerate() {
            // Different waits per stage and per item, so completion order is scrambled.
            let wait = [|x: u64| x % 7, |x: u64| (x * 3) % 5, |x: u64| (x + 2) % 4][i % 3];
            pipeline = pipeline.stage(format!("s{i}"), options(spec), sleepy(wait).0);
        }
        let capacity = pipeline.capacity();
        let (outputs, worst) = rt.block_on(async {
            let mut stream = pipeline.into_stream();
            let mut outputs = Vec::new();
            let mut worst = 0;
            while let Some(item) = stream.next().await {
                outputs.push(item.map_err(|e| e.to_string()));
                let consumed = outputs.len();
                worst = worst.max(produced.load(Ordering::SeqCst) - consumed);
            }
            (outputs, worst)
        });
        let mut outputs: Vec<u64> = outputs.into_iter().collect::<Result<_, String>>()
            .map_err(TestCaseError::fail)?;
        prop_assert!(worst <= capacity, "{worst} in flight, capacity {capacity}");
        if specs.iter().all(|s| s.ordered) {
            prop_assert_eq!(&outputs, &inputs);
        }
        let mut expected = inputs;
        expected.sort_unstable();
        outputs.sort_unstable();
        prop_assert_eq!(outputs, expected);
    }
}

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
    let stage = Delayed::with_gauge(mock, ms(100), gauge.clone());
    let start = Instant::now();
    let (out, errors) = Pipeline::from_iter((0..20).map(|i| format!("item{i}")))
        .stage("upper", StageOptions::unordered(5), stage)
        .into_stream()
        .partition()
        .await;
    assert!(errors.is_empty());
    assert_eq!(out.len(), 20);
    assert!(out.iter().all(|s| s.starts_with("ITEM")));
    assert_eq!(gauge.peak(), 5);
    assert_eq!(
        start.elapsed(),
        ms(400),
        "20 items, 5 at a time, 100 ms each"
    );
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
async fn skip_and_report_names_the_stage_and_index_of_each_failed_item() {
    let (out, errors) = Pipeline::from_iter(0..10u64)
        .stage_fn("fetch", StageOptions::ordered(3), |x| async move {
            if x == 4 {
                Err(format!("no page {x}"))
            } else {
                Ok(x)
            }
        })
        .stage_fn("parse", StageOptions::unordered(2), |x: u64| async move {
            if x.is_multiple_of(3) {
                return Err(BoxError::from("multiples of 3 are rejected"));
            }
            if x == 7 {
                panic!("parser bug on {x}");
            }
            Ok(x * 10)
        })
        .on_error(ErrorPolicy::SkipAndReport)
        .into_stream()
        .partition()
        .await;
    let mut out = out;
    out.sort_unstable();
    assert_eq!(out, [10, 20, 50, 80]);
    let mut report: Vec<(String, usize)> = errors
        .iter()
        .map(|e| (e.stage().to_owned(), e.index()))
        .collect();
    report.sort();
    let expected = [
        ("fetch", 4),
        ("parse", 0),
        ("parse", 3),
        ("parse", 6),
        ("parse", 7),
        ("parse", 9),
    ];
    let expected: Vec<(String, usize)> = expected
        .iter()
        .map(|(s, i)| ((*s).to_owned(), *i))
        .collect();
    assert_eq!(report, expected);
    let fetch_error = errors
        .iter()
        .find(|e| e.index() == 4)
        .map(ToString::to_string);
    assert_eq!(
        fetch_error.as_deref(),
        Some("stage \"fetch\" failed on input #4: no page 4")
    );
    assert!(errors.iter().any(|e| matches!(e,
        StageError::Panicked { index: 7, message, .. } if message == "parser bug on 7")));
}

#[tokio::test]
async fn stop_at_first_ends_the_stream_and_starts_nothing_after_the_failure() {
    let mut mock = MockStage::new();
    for (input, ok) in [("a", true), ("b", true), ("c", false)] {
        mock.expect_process()
            .withf(move |s: &String| s == input)
            .times(1)
            .returning(move |s| if ok { Ok(s) } else { Err("bad c".into()) });
    }
    mock.expect_process()
        .withf(|s: &String| s == "d" || s == "e")
        .times(0)
        .returning(Ok);
    let items: Vec<_> = Pipeline::from_iter(["a", "b", "c", "d", "e"].map(String::from))
        .stage("check", StageOptions::ordered(1).buffer(0), mock)
        .into_stream()
        .map(|r| r.map_err(|e| e.to_string()))
        .collect()
        .await;
    assert_eq!(
        items,
        [
            Ok("a".to_owned()),
            Ok("b".to_owned()),
            Err("stage \"check\" failed on input #2: bad c".to_owned())
        ]
    );
    // The mock verifies on drop that d and e never reached the stage.
}

#[tokio::test(start_paused = true)]
async fn dropping_the_output_stream_cancels_everything_and_leaves_no_task_alive() {
    let metrics = tokio::runtime::Handle::current().metrics();
    let before = metrics.num_alive_tasks();
    let (slow, slow_gauge) = sleepy(|x| if x == 0 { 1 } else { 60_000 });
    let (inline, inline_gauge) = sleepy(|_| 60_000);
    let mut stream = Pipeline::from_iter(0u64..1000)
        // Item 0 is quick; every other item would take a minute.
        .stage("spawned", StageOptions::unordered(6).spawned(), slow)
        .stage_fn("pass", StageOptions::ordered(1), |x| async move {
            Ok::<_, String>(x)
        })
        .into_stream();
    // A second, in-task pipeline that is dropped mid-flight too.
    let mut other = Pipeline::from_iter(0u64..1000)
        .stage("inline", StageOptions::unordered(4), inline)
        .into_stream();
    let first = stream.next().await;
    assert_eq!(first.map(|r| r.ok()), Some(Some(0)));
    let none = tokio::time::timeout(ms(10), other.next()).await;
    assert!(none.is_err(), "nothing finishes in 10 ms");
    assert_eq!(slow_gauge.current(), 6, "six spawned items in flight");
    assert_eq!(inline_gauge.current(), 4, "four in-task items in flight");
    assert_eq!(metrics.num_alive_tasks(), before + 6);

    drop(stream);
    drop(other);
    assert_eq!(alive_tasks_once_settled(before).await, before);
    assert_eq!(slow_gauge.current(), 0, "the spawned work was dropped");
    assert_eq!(inline_gauge.current(), 0, "the in-task work was dropped");
    assert_eq!(
        slow_gauge.total(),
        7,
        "item 0 and six slow ones, nothing more started"
    );
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

#[tokio::test]
async fn huge_limits_and_buffers_are_capped_and_allocate_nothing_up_front() {
    let pipeline = Pipeline::from_iter(0..100u64)
        .stage_fn(
            "any",
            StageOptions::unordered(usize::MAX).buffer(usize::MAX),
            |x| async move { Ok::<_, String>(x) },
        )
        .stage_fn("more", StageOptions::ordered(usize::MAX), |x| async move {
            Ok::<_, String>(x + 1)
        });
    // "No limit" is the cap: the first stage's limit and buffer, the second's limit and its
    // buffer (which defaults to its limit).
    assert_eq!(
        pipeline.capacity(),
        MAX_CONCURRENCY + MAX_BUFFER + 2 * MAX_CONCURRENCY,
        "capped, so a real bound"
    );
    let (mut out, errors) = pipeline.into_stream().partition().await;
    out.sort_unstable();
    assert!(errors.is_empty());
    assert_eq!(out, (1..=100).collect::<Vec<_>>());
}

/// A stage written without `async_trait`'s sugar, whose `process` panics before it returns a
/// future.
struct PanicsEarly;

impl Stage<u64, u64> for PanicsEarly {
    fn process<'a, 'f>(
        &'a self,
        x: u64,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<u64, BoxError>> + Send + 'f>>
    where
        'a: 'f,
    {
        if x == 2 {
            panic!("no future for {x}");
        }
        Box::pin(async move { Ok(x) })
    }
}

#[tokio::test]
async fn a_stage_that_panics_before_returning_its_future_fails_that_item_only() {
    let (out, errors) = Pipeline::from_iter(0..4u64)
        .stage("early", StageOptions::ordered(2), PanicsEarly)
        .on_error(ErrorPolicy::SkipAndReport)
        .into_stream()
        .partition()
        .await;
    assert_eq!(out, [0, 1, 3]);
    let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        ["stage \"early\" panicked on input #2: no future for 2"]
    );
}

#[tokio::test(start_paused = true)]
async fn stop_at_first_aborts_the_spawned_items_still_in_flight() {
    let metrics = tokio::runtime::Handle::current().metrics();
    let before = metrics.num_alive_tasks();
    let gauge = Gauge::new();
    let counted = gauge.clone();
    let mut stream = Pipeline::from_iter(0u64..100)
        .stage_fn("check", StageOptions::unordered(4).spawned(), move |x| {
            let gauge = counted.clone();
            async move {
                let _call = gauge.enter();
                if x == 1 {
                    sleep(ms(5)).await;
                    return Err(format!("item {x} is bad"));
                }
                sleep(ms(60_000)).await;
                Ok(x)
            }
        })
        .into_stream();
    let first = stream.next().await.map(|r| r.map_err(|e| e.to_string()));
    assert_eq!(
        first,
        Some(Err(
            "stage \"check\" failed on input #1: item 1 is bad".to_owned()
        ))
    );
    assert_eq!(
        metrics.num_alive_tasks(),
        before + 3,
        "items 0, 2, 3 still run"
    );
    // Ended at once: had the stream not let go of its stages, this would wait a minute for
    // item 0 and yield it.
    assert!(stream.next().await.is_none());
    assert_eq!(
        alive_tasks_once_settled(before).await,
        before,
        "the three were aborted"
    );
    assert_eq!(gauge.current(), 0);
    assert_eq!(gauge.total(), 4, "nothing started after the failure");
}

// ---- limits that hold for any input: yielding, bounds, timeouts, depth, panics ---------------

/// The longest a test that could hang may take before it fails (real time; these take
/// milliseconds when they pass).
const HANG: Duration = Duration::from_secs(10);

/// A current-thread runtime on the real clock.
fn real_clock_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a test runtime")
}

#[test]
fn an_unlimited_stage_on_an_endless_source_yields_and_keeps_the_in_flight_bound() {
    within_paused(HANG, async {
        let pulled = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&pulled);
        let source = (0u64..).inspect(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        // "No limit", and every item hangs: only the cap stops the pulling.
        let pipeline = Pipeline::from_iter(source).stage_fn(
            "hangs",
            StageOptions::unordered(usize::MAX).buffer(usize::MAX),
            |_: u64| std::future::pending::<Result<u64, String>>(),
        );
        let capacity = pipeline.capacity();
        let mut out = pipeline.into_stream();
        // The stage yields between bounded slices of work, so an outer timeout can fire.
        let first = tokio::time::timeout(ms(10), out.next()).await;
        assert!(first.is_err(), "nothing can come out");
        assert_eq!(capacity, MAX_CONCURRENCY + MAX_BUFFER);
        assert_eq!(pulled.load(Ordering::SeqCst), capacity, "the bound held");
    });
}

#[test]
fn a_consumer_loop_over_an_endless_pipeline_can_be_timed_out() {
    // Every item is ready at once, so the loop never waits: the output stream must still give
    // the runtime a turn now and then (tokio's task budget), or the timeout could never fire.
    // A real clock: on a paused one, time only moves while the runtime is idle.
    within(HANG, || {
        real_clock_runtime().block_on(async {
            let mut out = Pipeline::from_iter(0u64..)
                .stage_fn("quick", StageOptions::unordered(4), |x| async move {
                    Ok::<_, String>(x)
                })
                .into_stream();
            let mut seen = 0_u64;
            let looped = tokio::time::timeout(ms(20), async {
                while out.next().await.is_some() {
                    seen += 1;
                }
            })
            .await;
            assert!(looped.is_err(), "the endless loop was stopped");
            assert!(seen > 0);
        })
    });
}

#[tokio::test(start_paused = true)]
async fn a_hung_item_times_out_alone_and_its_ordered_stage_goes_on() {
    let start = Instant::now();
    let (out, errors) = Pipeline::from_iter(0u64..4)
        .stage_fn(
            "fetch",
            StageOptions::ordered(2).timeout(ms(100)),
            |x| async move {
                if x == 1 {
                    std::future::pending::<()>().await;
                }
                sleep(ms(10)).await;
                Ok::<_, String>(x)
            },
        )
        .on_error(ErrorPolicy::SkipAndReport)
        .into_stream()
        .partition()
        .await;
    assert_eq!(out, [0, 2, 3]);
    let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        ["stage \"fetch\" timed out on input #1 after 100ms"]
    );
    // Item 2 waited behind item 1 in its slot; item 3 started when item 1 gave up.
    assert_eq!(start.elapsed(), ms(110));
    assert_eq!(
        StageOptions::ordered(1).timeout(ms(5)).item_timeout(),
        Some(ms(5))
    );
}

#[tokio::test]
async fn a_panicking_source_is_an_error_of_the_pipeline() {
    let source = (0u64..).inspect(|i| assert!(*i < 3, "the source broke at {i}"));
    let (out, errors) = Pipeline::from_iter(source)
        .stage_fn("double", StageOptions::ordered(2), |x| async move {
            Ok::<_, String>(x * 2)
        })
        .on_error(ErrorPolicy::SkipAndReport)
        .into_stream()
        .partition()
        .await;
    // The source is not polled again after its panic: the pipeline ends there.
    assert_eq!(out, [0, 2, 4]);
    let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        ["the source panicked producing input #3: the source broke at 3"]
    );
}

fn chain(stages: usize) -> Pipeline<u64> {
    let mut pipeline = Pipeline::from_iter(0u64..3);
    for i in 0..stages {
        pipeline = pipeline.stage_fn(format!("s{i}"), StageOptions::ordered(1), |x| async move {
            Ok::<_, String>(x + 1)
        });
    }
    pipeline
}

#[tokio::test]
async fn the_most_stages_run_and_one_more_is_an_error() {
    // Inside a spawned task, whose stack (2 MiB) is the smallest a pipeline usually gets.
    let (at_max, past_max) = tokio::spawn(async {
        let at_max = chain(MAX_STAGES).into_stream().partition().await;
        let past_max = chain(MAX_STAGES + 1).into_stream().partition().await;
        (at_max, past_max)
    })
    .await
    .unwrap();
    let n = MAX_STAGES as u64;
    assert_eq!(at_max.0, [n, n + 1, n + 2]);
    assert!(at_max.1.is_empty());
    assert!(past_max.0.is_empty());
    let errors: Vec<String> = past_max.1.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        [format!(
            "stage \"s{MAX_STAGES}\" was refused: a pipeline has at most {MAX_STAGES} stages, \
             so no input went through"
        )]
    );
}

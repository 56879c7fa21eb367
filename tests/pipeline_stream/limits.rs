//! Bounds that hold for any input: limits and buffers capped, an endless source pulled only as
//! far as the cap, a consumer loop that can still be timed out, and a chain too long refused.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_patterns::pipeline::stream::{
    MAX_BUFFER, MAX_CONCURRENCY, MAX_STAGES, Pipeline, StageOptions,
};
use async_patterns::testkit::{within, within_paused};
use futures::StreamExt;

use super::ms;

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

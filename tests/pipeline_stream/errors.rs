//! Failed items: each error names its stage and input, `SkipAndReport` goes on and
//! `StopAtFirst` stops, and a panic (even before a future exists), a hung item or a panicking
//! source is an error of its own.

use std::sync::Arc;
use std::time::Duration;

use async_patterns::http::BoxError;
use async_patterns::pipeline::stream::{ErrorPolicy, Pipeline, Stage, StageError, StageOptions};
use async_patterns::testkit::{Delayed, Gauge, MockStage};
use futures::StreamExt;
use tokio::time::{Instant, sleep};

use super::{ms, verify};

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

#[tokio::test(start_paused = true)]
async fn stop_at_first_ends_the_stream_and_starts_nothing_after_the_failure() {
    let mut mock = MockStage::new();
    for (input, ok) in [("a", true), ("b", true), ("c", false)] {
        mock.expect_process()
            .withf(move |s: &String| s == input)
            .times(1)
            .returning(move |s| if ok { Ok(s) } else { Err("bad c".into()) });
    }
    // No expectation accepts d or e: a call with either would panic inside the stage, counted
    // by no expectation, and its error would never be yielded (the stream stops at c). So the
    // calls are also counted before the mock, on a gauge (a `Delayed` that waits no time).
    let mock = Arc::new(mock);
    let gauge = Gauge::new();
    let stage = Delayed::with_gauge(Arc::clone(&mock), Duration::ZERO, gauge.clone());
    let items: Vec<_> = Pipeline::from_iter(["a", "b", "c", "d", "e"].map(String::from))
        .stage("check", StageOptions::ordered(1).buffer(0), stage)
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
    assert_eq!(gauge.total(), 3, "d and e never reached the stage");
    verify(mock);
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

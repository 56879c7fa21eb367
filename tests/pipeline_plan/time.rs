//! Time on tokio's paused clock: a plan takes its critical path, and a timeout fires at its
//! set time and not before.

use async_patterns::pipeline::plan::{StepError, StepExt, StepOutcome, run_traced, sequence};
use tokio::time::Instant;

use super::{light_ok, message, morning, ms};

#[tokio::test(start_paused = true)]
async fn the_smart_home_plan_takes_its_critical_path() {
    let start = Instant::now();
    let (result, trace) = run_traced(&morning(light_ok())).await;
    assert!(result.is_ok(), "{result:?}");
    // connect: max(50, 80, 30) = 80; routines: max(50, 130, 70) = 130.
    assert_eq!(start.elapsed(), ms(210));
    assert_eq!(trace.total(), ms(210));
    assert_eq!(trace.one_by_one(), ms(50 + 80 + 30 + 50 + 130 + 70));

    let at = |path: &str| trace.span(path).map(|s| (s.start, s.end, s.outcome));
    let ok = |start, end| Some((ms(start), ms(end), StepOutcome::Ok));
    assert_eq!(at("morning"), ok(0, 210));
    assert_eq!(at("morning/connect"), ok(0, 80));
    assert_eq!(at("morning/connect/toilet"), ok(0, 30));
    assert_eq!(at("morning/routines/light/dim"), ok(90, 110));
    assert_eq!(at("morning/routines/speaker/news"), ok(90, 210));
    assert_eq!(at("morning/routines/toilet/flush"), ok(120, 150));
    // morning, connect + 3, routines, light + 3, speaker + 2, toilet + 2.
    assert_eq!(trace.spans().len(), 16);
}

#[tokio::test(start_paused = true)]
async fn a_timeout_fires_at_the_set_time() {
    let plan = sequence(
        "morning",
        vec![
            message("connect", 20),
            message("stuck", 10_000).with_timeout(ms(100)).boxed(),
            message("never", 1),
        ],
    );
    let start = Instant::now();
    let (result, trace) = run_traced(&plan).await;
    assert_eq!(
        start.elapsed(),
        ms(120),
        "20 ms connect + the 100 ms timeout"
    );
    let err = result.expect_err("the stuck step times out");
    assert!(
        matches!(err, StepError::TimedOut { ref path, after } if path == "morning/stuck" && after == ms(100))
    );
    assert_eq!(
        err.to_string(),
        "step \"morning/stuck\" timed out after 100ms"
    );
    assert_eq!(
        trace.span("morning/stuck").map(|s| s.outcome),
        Some(StepOutcome::TimedOut)
    );
    assert!(trace.span("morning/never").is_none());
}

#[tokio::test(start_paused = true)]
async fn a_step_that_finishes_in_time_is_not_affected_by_its_timeout() {
    let quick = message("quick", 99).with_timeout(ms(100)).boxed();
    let start = Instant::now();
    let (result, _) = run_traced(&sequence("p", vec![quick])).await;
    assert!(result.is_ok());
    assert_eq!(start.elapsed(), ms(99));
}

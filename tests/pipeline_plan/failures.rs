//! What a failure reports: the failed step's path, a panic as an error of its step (even one
//! before the step returns its future), and a plan too deep refused before it overflows.

use async_patterns::pipeline::Step;
use async_patterns::pipeline::plan::{
    BoxStep, MAX_DEPTH, StepContext, StepError, StepExt, StepOutcome, Trace, parallel, run_traced,
    sequence, step,
};
use tokio::time::Instant;

use super::{failing, message, morning, ms};

#[tokio::test(start_paused = true)]
async fn the_error_names_the_failed_step_by_its_path() {
    let light = vec![
        message("on", 10),
        failing("dim", 20, "bulb unreachable"),
        message("warm", 20),
    ];
    let start = Instant::now();
    let (result, trace) = run_traced(&morning(light)).await;
    let err = result.expect_err("dim fails");
    assert_eq!(err.path(), Some("morning/routines/light/dim"));
    assert_eq!(
        err.to_string(),
        "step \"morning/routines/light/dim\" failed: bulb unreachable"
    );
    // Failed at 80 + 10 + 20 = 110 ms; the other devices' routines were cancelled then.
    assert_eq!(start.elapsed(), ms(110));
    assert!(trace.span("morning/routines/light/warm").is_none());
    let news = trace
        .span("morning/routines/speaker/news")
        .map(|s| (s.end, s.outcome));
    assert_eq!(news, Some((ms(110), StepOutcome::Cancelled)));
    let outcome = |p: &str| trace.span(p).map(|s| s.outcome);
    assert_eq!(outcome("morning/routines/light"), Some(StepOutcome::Failed));
    assert_eq!(outcome("morning"), Some(StepOutcome::Failed));
}

/// The plan failed with exactly one panic, of the step at `at`, recorded as such in the trace.
fn assert_panicked(result: Result<(), StepError>, trace: &Trace, at: &str, said: &str) {
    let err = result.expect_err("a step panics");
    assert!(
        matches!(err, StepError::Panicked { ref path, ref message } if path == at && message == said),
        "{err:?}"
    );
    assert_eq!(
        trace.span(at).map(|s| s.outcome),
        Some(StepOutcome::Panicked)
    );
}

#[tokio::test]
async fn a_panicking_step_is_an_error_not_a_crash() {
    let toilet = step("toilet", || async { panic!("water everywhere") });
    let plan = parallel("devices", vec![message("light", 0), toilet.boxed()]).collect_all();
    let (result, trace) = run_traced(&plan).await;
    assert_panicked(result, &trace, "devices/toilet", "water everywhere");
    assert_eq!(
        trace.span("devices/light").map(|s| s.outcome),
        Some(StepOutcome::Ok)
    );
}

/// A step written without `async_trait`'s sugar, whose `run` panics before it returns a future.
struct PanicsEarly;

impl Step for PanicsEarly {
    fn name(&self) -> &str {
        "early"
    }

    fn run<'a, 'b, 'f>(
        &'a self,
        _cx: &'b StepContext,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), StepError>> + Send + 'f>>
    where
        'a: 'f,
        'b: 'f,
    {
        panic!("no future for you")
    }
}

#[tokio::test]
async fn a_step_that_panics_before_returning_its_future_is_an_error_too() {
    let plan = sequence("p", vec![message("before", 0), Box::new(PanicsEarly)]);
    let (result, trace) = run_traced(&plan).await;
    assert_panicked(result, &trace, "p/early", "no future for you");
}

/// A plan nested `levels` deep: `n{levels-1}/.../n0/leaf`, the leaf at depth `levels`.
fn nested(levels: usize) -> BoxStep {
    let mut plan = step("leaf", || async { Ok(()) }).boxed();
    for i in 0..levels {
        plan = sequence(format!("n{i}"), vec![plan]).boxed();
    }
    plan
}

#[tokio::test]
async fn a_plan_at_the_maximum_depth_runs_and_one_level_more_is_an_error() {
    // Inside a spawned task, whose stack (2 MiB) is the smallest a plan usually gets.
    let (at_max, past_max) = tokio::spawn(async {
        let at_max = run_traced(&*nested(MAX_DEPTH)).await;
        let past_max = run_traced(&*nested(MAX_DEPTH + 1)).await;
        (at_max, past_max)
    })
    .await
    .unwrap();
    assert!(at_max.0.is_ok());
    assert_eq!(at_max.1.spans().len(), MAX_DEPTH + 1);
    let leaf = at_max
        .1
        .spans()
        .last()
        .map(|s| (s.depth, s.name().to_owned()));
    assert_eq!(leaf, Some((MAX_DEPTH, "leaf".to_owned())));

    // One level more: the leaf is refused before it runs, and the error names it by its path.
    let err = past_max.0.unwrap_err();
    assert!(
        matches!(err, StepError::TooDeep { max, .. } if max == MAX_DEPTH),
        "{err}"
    );
    let path = err.path().unwrap_or_default();
    assert!(path.starts_with(&format!("n{MAX_DEPTH}/")) && path.ends_with("/n0/leaf"));
    assert_eq!(path.split('/').count(), MAX_DEPTH + 2);
    assert!(err.to_string().ends_with(&format!(
        "/n0/leaf\" was not run: a plan nests at most {MAX_DEPTH} levels below its root"
    )));
    // Every level above it ran, and failed because of it; the leaf never started.
    let spans = past_max.1.spans();
    assert_eq!(spans.len(), MAX_DEPTH + 1);
    assert!(spans.iter().all(|s| s.outcome == StepOutcome::Failed));
}

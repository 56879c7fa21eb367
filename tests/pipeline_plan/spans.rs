//! The `tracing` spans a plan emits: one per step, named by its path, nested as the plan nests,
//! timed and ended as the plan's own [`Trace`] says; the instants (a deadline, a fail-fast, the
//! child a parallel waited for last) as events on their step's row.

use std::sync::Arc;

use async_patterns::pipeline::plan::{
    Step, StepExt, StepOutcome, Trace, parallel, run_traced, sequence, step,
};
use async_patterns::timing::{Bar, BarOutcome, Timeline, record_spans};

use super::{failing, light_ok, message, morning, ms};

/// Run `plan` with its spans recorded: its trace, and the timeline drawn from the spans.
async fn recorded(plan: &dyn Step) -> (Trace, Arc<Timeline>) {
    let timeline = Arc::new(Timeline::new());
    let run = async { run_traced(plan).await };
    let (_, trace) = record_spans(&timeline, "async_patterns::pipeline", run).await;
    (trace, timeline)
}

/// Every span of the trace, as (path, depth, start ms, end ms, outcome as drawn), sorted.
fn from_trace(trace: &Trace) -> Vec<(String, usize, u128, u128, &'static str)> {
    let outcome = |o: StepOutcome| match o {
        StepOutcome::Ok => BarOutcome::Ok,
        StepOutcome::Failed | StepOutcome::Panicked => BarOutcome::Failed,
        StepOutcome::TimedOut => BarOutcome::TimedOut,
        _ => BarOutcome::Cancelled,
    };
    let mut spans: Vec<_> = trace
        .spans()
        .iter()
        .map(|s| {
            let (start, end) = (s.start.as_millis(), s.end.as_millis());
            (
                s.path.clone(),
                s.depth,
                start,
                end,
                outcome(s.outcome).word(),
            )
        })
        .collect();
    spans.sort();
    spans
}

/// The same, from the bars the spans drew.
fn from_spans(timeline: &Timeline) -> Vec<(String, usize, u128, u128, &'static str)> {
    let bar = |b: Bar| {
        let (start, end) = (b.start.as_millis(), b.end.as_millis());
        (b.label, b.depth, start, end, b.outcome.word())
    };
    let mut bars: Vec<_> = timeline.bars().into_iter().map(bar).collect();
    bars.sort();
    bars
}

/// The markers' labels, each with its row and time.
fn markers(timeline: &Timeline) -> Vec<(String, Option<String>, u128)> {
    let marks = timeline.markers().into_iter();
    marks.map(|m| (m.label, m.lane, m.at.as_millis())).collect()
}

#[tokio::test(start_paused = true)]
async fn each_step_is_a_span_named_by_its_path_as_the_trace_records_it() {
    let (trace, timeline) = recorded(&morning(light_ok())).await;
    assert_eq!(trace.spans().len(), 16);
    assert_eq!(from_spans(&timeline), from_trace(&trace));
    let speaker = timeline
        .bars()
        .into_iter()
        .find(|b| b.label.ends_with("/news"));
    let speaker = speaker.map(|b| (b.label, b.depth, b.start, b.end));
    let news = (
        "morning/routines/speaker/news".to_owned(),
        3,
        ms(90),
        ms(210),
    );
    assert_eq!(speaker, Some(news));
    // Each parallel marks the child it waited for last: the critical path, speaker twice.
    let last = |at: &str, lane: &str, ms: u128| (at.to_owned(), Some(lane.to_owned()), ms);
    assert_eq!(
        markers(&timeline),
        [
            last(
                "speaker ended last: the critical path",
                "morning/connect",
                80
            ),
            last(
                "speaker ended last: the critical path",
                "morning/routines",
                210
            ),
        ]
    );
}

/// How the bar labelled `label` ended, and when.
fn ended(timeline: &Timeline, label: &str) -> Option<(BarOutcome, u128)> {
    let bar = timeline.bars().into_iter().find(|b| b.label == label);
    bar.map(|b| (b.outcome, b.end.as_millis()))
}

#[tokio::test(start_paused = true)]
async fn failures_timeouts_panics_and_cancelled_siblings_end_their_spans_that_way() {
    let panics = step("panics", || async { panic!("boom") }).boxed();
    let all = vec![failing("fails", 20, "no"), message("slow", 100), panics];
    let plan = sequence("p", vec![parallel("all", all).collect_all().boxed()]);
    let (trace, timeline) = recorded(&plan).await;
    assert_eq!(from_spans(&timeline), from_trace(&trace));
    assert_eq!(
        ended(&timeline, "p/all/fails"),
        Some((BarOutcome::Failed, 20))
    );
    assert_eq!(
        ended(&timeline, "p/all/panics"),
        Some((BarOutcome::Failed, 0))
    );
    assert_eq!(ended(&timeline, "p/all/slow"), Some((BarOutcome::Ok, 100)));
    let lane = |s: &str| Some(s.to_owned());
    let panicked = ("panicked".to_owned(), lane("p/all/panics"), 0);
    let last = (
        "slow ended last: the critical path".to_owned(),
        lane("p/all"),
        100,
    );
    assert_eq!(markers(&timeline), [panicked, last]);

    // A fail-fast parallel: the failure cancels the sibling still running, and is marked.
    let devices = parallel(
        "devices",
        vec![failing("light", 30, "off"), message("hue", 90)],
    );
    let plan = sequence("q", vec![devices.boxed(), message("never", 10)]);
    let (trace, timeline) = recorded(&plan).await;
    assert_eq!(from_spans(&timeline), from_trace(&trace));
    assert_eq!(
        ended(&timeline, "q/devices/hue"),
        Some((BarOutcome::Cancelled, 30))
    );
    assert_eq!(ended(&timeline, "q/never"), None);
    let fail_fast = "failing fast: the rest cancelled".to_owned();
    assert_eq!(markers(&timeline), [(fail_fast, lane("q/devices"), 30)]);

    // A timeout: the step timed out, its deadline marked on its row.
    let plan = sequence(
        "r",
        vec![message("stuck", 500).with_timeout(ms(50)).boxed()],
    );
    let (trace, timeline) = recorded(&plan).await;
    assert_eq!(from_spans(&timeline), from_trace(&trace));
    assert_eq!(
        ended(&timeline, "r/stuck"),
        Some((BarOutcome::TimedOut, 50))
    );
    let deadline = "deadline: 50ms passed".to_owned();
    assert_eq!(markers(&timeline), [(deadline, lane("r/stuck"), 50)]);
}

#[tokio::test(start_paused = true)]
async fn without_a_subscriber_the_trace_is_still_recorded() {
    // No `record_spans` here: nobody listens, and `run_traced` needs nobody.
    let (result, trace) = run_traced(&morning(light_ok())).await;
    assert!(result.is_ok());
    assert_eq!((trace.spans().len(), trace.total()), (16, ms(210)));
}

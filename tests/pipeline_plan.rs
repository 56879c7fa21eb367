//! Plans of steps: order, cancellation, timeouts, panics, paths and the trace.

use std::time::Duration;

use async_patterns::pipeline::plan::{
    BoxStep, MAX_DEPTH, StepContext, StepError, StepExt, StepOutcome, Trace, parallel, run_traced,
    sequence, step,
};
use async_patterns::pipeline::{Sequence, Step};
use async_patterns::testkit::{Delayed, MockStep, alive_tasks_once_settled};
use async_patterns::timing::MAX_WIDTH;
use mockall::Sequence as MockSequence;
use tokio::time::{Instant, sleep};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A step that takes `n` ms of (virtual) time: one message to a device.
fn message(name: &str, n: u64) -> BoxStep {
    step(name, move || async move {
        sleep(ms(n)).await;
        Ok(())
    })
    .boxed()
}

fn failing(name: &str, n: u64, reason: &'static str) -> BoxStep {
    step(name, move || async move {
        sleep(ms(n)).await;
        Err(StepError::failed(reason))
    })
    .boxed()
}

/// The smart-home morning: connect the three devices, then one sequence of messages per device,
/// the three sequences in parallel. Critical path: connect (80, the speaker) + speaker (130).
fn morning(light: Vec<BoxStep>) -> Sequence {
    sequence(
        "morning",
        vec![
            parallel(
                "connect",
                vec![
                    message("light", 50),
                    message("speaker", 80),
                    message("toilet", 30),
                ],
            )
            .boxed(),
            parallel(
                "routines",
                vec![
                    sequence("light", light).boxed(),
                    sequence("speaker", vec![message("volume", 10), message("news", 120)]).boxed(),
                    sequence(
                        "toilet",
                        vec![message("seat-heat", 40), message("flush", 30)],
                    )
                    .boxed(),
                ],
            )
            .boxed(),
        ],
    )
}

fn light_ok() -> Vec<BoxStep> {
    vec![message("on", 10), message("dim", 20), message("warm", 20)]
}

fn mock(name: &str, times: usize, result: fn() -> Result<(), StepError>) -> MockStep {
    let mut m = MockStep::new();
    m.expect_name().return_const(name.to_owned());
    m.expect_run().times(times).returning(move |_| result());
    m
}

#[tokio::test]
async fn a_sequence_runs_its_children_in_order_each_once() {
    let mut order = MockSequence::new();
    let mut steps: Vec<BoxStep> = Vec::new();
    for name in ["a", "b", "c"] {
        let mut m = MockStep::new();
        m.expect_name().return_const(name.to_owned());
        m.expect_run()
            .times(1)
            .in_sequence(&mut order)
            .withf(move |cx: &StepContext| cx.path() == format!("seq/{name}"))
            .returning(|_| Ok(()));
        steps.push(Box::new(m));
    }
    let (result, trace) = run_traced(&sequence("seq", steps)).await;
    assert!(result.is_ok());
    let paths: Vec<&str> = trace.spans().iter().map(|s| s.path.as_str()).collect();
    assert_eq!(paths, ["seq", "seq/a", "seq/b", "seq/c"]);
}

#[tokio::test]
async fn a_failing_step_stops_the_rest_of_its_sequence() {
    let plan = sequence(
        "seq",
        vec![
            Box::new(mock("a", 1, || Ok(()))),
            Box::new(mock("b", 1, || Err(StepError::failed("broken")))),
            Box::new(mock("c", 0, || Ok(()))),
        ],
    );
    let (result, trace) = run_traced(&plan).await;
    let err = result.expect_err("b fails");
    assert_eq!(err.path(), Some("seq/b"));
    assert_eq!(err.to_string(), "step \"seq/b\" failed: broken");
    assert!(trace.span("seq/c").is_none(), "c never started");
    // The mocks verify on drop: c ran zero times.
}

#[tokio::test(start_paused = true)]
async fn fail_fast_parallel_cancels_the_running_siblings() {
    let slow_a = Delayed::new(mock("slow-a", 0, || Ok(())), ms(100));
    let slow_b = Delayed::new(mock("slow-b", 0, || Ok(())), ms(300));
    let gauges = [slow_a.gauge().clone(), slow_b.gauge().clone()];
    let quick_failure = Delayed::new(mock("quick", 1, || Err(StepError::failed("no"))), ms(10));
    let plan = parallel(
        "all",
        vec![Box::new(slow_a), Box::new(quick_failure), Box::new(slow_b)],
    );

    let start = Instant::now();
    let (result, trace) = run_traced(&plan).await;
    assert_eq!(start.elapsed(), ms(10), "returned at the first failure");
    assert_eq!(result.expect_err("quick fails").path(), Some("all/quick"));
    for gauge in &gauges {
        assert_eq!(gauge.total(), 1, "the sibling had started");
        assert_eq!(gauge.current(), 0, "and was dropped mid-wait");
    }
    let cancelled = trace.span("all/slow-b").map(|s| (s.end, s.outcome));
    assert_eq!(cancelled, Some((ms(10), StepOutcome::Cancelled)));
    // The slow mocks verify on drop that their `run` was never reached (times(0)).
}

#[tokio::test(start_paused = true)]
async fn collect_all_runs_every_child_and_gathers_every_error() {
    let ok = Delayed::new(mock("ok", 1, || Ok(())), ms(200));
    let plan = sequence(
        "home",
        vec![
            parallel(
                "checks",
                vec![
                    // The door fails after the window, yet is reported first: child order.
                    failing("door", 100, "door open"),
                    Box::new(ok),
                    failing("window", 50, "window open"),
                ],
            )
            .collect_all()
            .boxed(),
        ],
    );
    let start = Instant::now();
    let (result, _) = run_traced(&plan).await;
    assert_eq!(start.elapsed(), ms(200), "waited for the slowest child");
    let err = result.expect_err("two checks fail");
    let paths: Vec<_> = err.leaves().iter().filter_map(|e| e.path()).collect();
    assert_eq!(paths, ["home/checks/door", "home/checks/window"]);
    assert!(matches!(err, StepError::Several(ref v) if v.len() == 2));
    assert!(err.to_string().starts_with("2 steps failed: "), "{err}");
}

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
    assert_eq!(at("morning"), Some((ms(0), ms(210), StepOutcome::Ok)));
    assert_eq!(
        at("morning/connect"),
        Some((ms(0), ms(80), StepOutcome::Ok))
    );
    assert_eq!(
        at("morning/connect/toilet"),
        Some((ms(0), ms(30), StepOutcome::Ok))
    );
    assert_eq!(
        at("morning/routines/light/dim"),
        Some((ms(90), ms(110), StepOutcome::Ok))
    );
    assert_eq!(
        at("morning/routines/speaker/news"),
        Some((ms(90), ms(210), StepOutcome::Ok))
    );
    assert_eq!(
        at("morning/routines/toilet/flush"),
        Some((ms(120), ms(150), StepOutcome::Ok))
    );
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
    let plan = sequence(
        "p",
        vec![message("quick", 99).with_timeout(ms(100)).boxed()],
    );
    let start = Instant::now();
    let (result, _) = run_traced(&plan).await;
    assert!(result.is_ok());
    assert_eq!(start.elapsed(), ms(99));
}

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
    let plan = parallel(
        "devices",
        vec![
            message("light", 0),
            step("toilet", || async { panic!("water everywhere") }).boxed(),
        ],
    )
    .collect_all();
    let (result, trace) = run_traced(&plan).await;
    assert_panicked(result, &trace, "devices/toilet", "water everywhere");
    assert_eq!(
        trace.span("devices/light").map(|s| s.outcome),
        Some(StepOutcome::Ok)
    );
}

/// A hand-written step, the trait-based counterpart of the closure adapter.
struct Speaker {
    volume: u8,
}

#[async_trait::async_trait]
impl Step for Speaker {
    fn name(&self) -> &str {
        "speaker"
    }
    async fn run(&self, _cx: &StepContext) -> Result<(), StepError> {
        if self.volume > 10 {
            return Err(StepError::failed(format!(
                "volume {} is above 10",
                self.volume
            )));
        }
        Ok(())
    }
}

#[tokio::test]
async fn structs_async_closures_and_shared_steps_are_all_steps() {
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = std::sync::Arc::clone(&counter);
    let shared: std::sync::Arc<dyn Step> = std::sync::Arc::new(Speaker { volume: 5 });
    let plan = sequence(
        "p",
        vec![
            step("async-closure", async || Ok(())).boxed(),
            step("counting", move || {
                let seen = std::sync::Arc::clone(&seen);
                async move {
                    seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    Ok(())
                }
            })
            .boxed(),
            Box::new(std::sync::Arc::clone(&shared)),
            Box::new(Speaker { volume: 11 }),
        ],
    );
    let (result, _) = run_traced(&plan).await;
    assert_eq!(counter.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(
        result.map_err(|e| e.to_string()),
        Err("step \"p/speaker\" failed: volume 11 is above 10".to_owned())
    );
}

#[tokio::test(start_paused = true)]
async fn the_timeline_draws_one_bar_per_step_and_shows_overlap() {
    let (_, trace) = run_traced(&morning(light_ok())).await;
    let text = trace.timeline(42);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), trace.spans().len());
    let bar = |name: &str| -> Vec<usize> {
        let line = lines
            .iter()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no line for {name} in\n{text}"));
        let inner = line.split('|').nth(1).unwrap_or_default();
        inner
            .char_indices()
            .filter(|(_, c)| *c == '#')
            .map(|(i, _)| i)
            .collect()
    };
    // 42 columns for 210 ms: 5 ms per column.
    assert_eq!(bar("morning"), (0..42).collect::<Vec<_>>());
    assert_eq!(bar("news"), (18..42).collect::<Vec<_>>());
    assert_eq!(bar("seat-heat"), (16..24).collect::<Vec<_>>());
    // The devices' routines overlap: news (from 90 ms) and seat-heat (80-120 ms) share columns.
    assert!(bar("news").contains(&19) && bar("seat-heat").contains(&19));
    assert!(
        !text.contains("morning/"),
        "labels are names, indented by depth"
    );
}

#[tokio::test(start_paused = true)]
async fn one_by_one_sums_the_leaves_even_when_a_leaf_and_a_composite_share_a_name() {
    // "p/x" is a leaf and, beside it, "p/x" is also a sequence holding "p/x/y".
    let plan = sequence(
        "p",
        vec![
            message("x", 10),
            sequence("x", vec![message("y", 20)]).boxed(),
        ],
    );
    let (result, trace) = run_traced(&plan).await;
    assert!(result.is_ok());
    assert_eq!(trace.total(), ms(30));
    assert_eq!(trace.one_by_one(), ms(10 + 20));

    // An unnamed root is still a level of its own, not a leaf beside its children.
    let (_, trace) = run_traced(&sequence("", vec![message("x", 10)])).await;
    let levels: Vec<_> = trace
        .spans()
        .iter()
        .map(|s| (s.path.as_str(), s.depth))
        .collect();
    assert_eq!(levels, [("", 0), ("/x", 1)]);
    assert_eq!(trace.one_by_one(), ms(10));
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

#[tokio::test(start_paused = true)]
async fn fail_fast_also_aborts_what_a_cancelled_sibling_spawned_into_its_join_set() {
    let before = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    // A step that spawns its work keeps it in a JoinSet: dropping the step's future (when a
    // sibling fails) drops the set, which aborts the tasks.
    let spawner = step("spawner", || async {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..3 {
            tasks.spawn(sleep(ms(60_000)));
        }
        while tasks.join_next().await.is_some() {}
        Ok(())
    });
    let alive_at_failure = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = std::sync::Arc::clone(&alive_at_failure);
    let quick = step("quick", move || {
        let seen = std::sync::Arc::clone(&seen);
        async move {
            sleep(ms(10)).await;
            let alive = tokio::runtime::Handle::current()
                .metrics()
                .num_alive_tasks();
            seen.store(alive, std::sync::atomic::Ordering::SeqCst);
            Err(StepError::failed("no"))
        }
    });
    let plan = parallel("all", vec![spawner.boxed(), quick.boxed()]);
    let (result, trace) = run_traced(&plan).await;
    assert_eq!(
        result.map_err(|e| e.to_string()),
        Err("step \"all/quick\" failed: no".to_owned())
    );
    assert_eq!(
        alive_at_failure.load(std::sync::atomic::Ordering::SeqCst),
        before + 3,
        "the spawned work was running when the sibling failed"
    );
    assert_eq!(
        alive_tasks_once_settled(before).await,
        before,
        "no task outlives the plan"
    );
    assert_eq!(
        trace.span("all/spawner").map(|s| (s.end, s.outcome)),
        Some((ms(10), StepOutcome::Cancelled))
    );
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
    assert_eq!(past_max.1.spans().len(), MAX_DEPTH + 1);
    assert!(
        past_max
            .1
            .spans()
            .iter()
            .all(|s| s.outcome == StepOutcome::Failed)
    );
}

#[tokio::test(start_paused = true)]
async fn a_timeline_of_any_width_is_drawn_without_panicking() {
    let (_, trace) = run_traced(&morning(light_ok())).await;
    let widest = trace.timeline(usize::MAX);
    let bar = widest.lines().next().and_then(|l| l.split('|').nth(1));
    assert_eq!(bar.map(|b| b.chars().count()), Some(MAX_WIDTH));
    assert_eq!(trace.timeline(0).lines().count(), trace.spans().len());
}

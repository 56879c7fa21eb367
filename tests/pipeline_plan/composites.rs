//! Sequences and parallels: order, the first failure, fail-fast cancellation, collect-all,
//! and the kinds of step a plan holds.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_patterns::pipeline::Step;
use async_patterns::pipeline::plan::{
    BoxStep, StepContext, StepError, StepExt, StepOutcome, parallel, run_traced, sequence, step,
};
use async_patterns::testkit::{Delayed, MockStep, alive_tasks_once_settled};
use mockall::Sequence as MockSequence;
use tokio::time::{Instant, sleep};

use super::{failing, mock, ms, verify};

#[tokio::test]
async fn a_sequence_runs_its_children_in_order_each_once() {
    let mut order = MockSequence::new();
    let mut mocks = Vec::new();
    for name in ["a", "b", "c"] {
        let mut m = MockStep::new();
        m.expect_name().return_const(name.to_owned());
        m.expect_run()
            .times(1)
            .in_sequence(&mut order)
            .withf(move |cx: &StepContext| cx.path() == format!("seq/{name}"))
            .returning(|_| Ok(()));
        mocks.push(Arc::new(m));
    }
    let steps: Vec<BoxStep> = mocks
        .iter()
        .map(|m| Box::new(Arc::clone(m)) as BoxStep)
        .collect();
    let plan = sequence("seq", steps);
    let (result, trace) = run_traced(&plan).await;
    // A call out of order, or with another path, panics inside the plan: it shows here as an
    // error of that step.
    assert_eq!(result.map_err(|e| e.to_string()), Ok(()));
    let paths: Vec<&str> = trace.spans().iter().map(|s| s.path.as_str()).collect();
    assert_eq!(paths, ["seq", "seq/a", "seq/b", "seq/c"]);
    drop(plan);
    mocks.into_iter().for_each(verify);
}

#[tokio::test]
async fn a_failing_step_stops_the_rest_of_its_sequence() {
    let (a, b) = (
        mock("a", 1, || Ok(())),
        mock("b", 1, || Err(StepError::failed("broken"))),
    );
    let c = mock("c", 0, || Ok(()));
    let steps: Vec<BoxStep> = vec![
        Box::new(Arc::clone(&a)),
        Box::new(Arc::clone(&b)),
        Box::new(Arc::clone(&c)),
    ];
    let plan = sequence("seq", steps);
    let (result, trace) = run_traced(&plan).await;
    let err = result.expect_err("b fails");
    assert_eq!(err.path(), Some("seq/b"));
    assert_eq!(err.to_string(), "step \"seq/b\" failed: broken");
    assert!(trace.span("seq/c").is_none(), "c never started");
    drop(plan);
    // c ran zero times: a call would have been counted, even though its panic was caught.
    [a, b, c].into_iter().for_each(verify);
}

#[tokio::test(start_paused = true)]
async fn fail_fast_parallel_cancels_the_running_siblings() {
    let (slow_a, slow_b) = (mock("slow-a", 0, || Ok(())), mock("slow-b", 0, || Ok(())));
    let quick = mock("quick", 1, || Err(StepError::failed("no")));
    // The wait comes before the mock is called: a step cancelled while waiting never calls it.
    let waiting_a = Delayed::new(Arc::clone(&slow_a), ms(100));
    let waiting_b = Delayed::new(Arc::clone(&slow_b), ms(300));
    let gauges = [waiting_a.gauge().clone(), waiting_b.gauge().clone()];
    let quick_failure = Delayed::new(Arc::clone(&quick), ms(10));
    let steps: Vec<BoxStep> = vec![
        Box::new(waiting_a),
        Box::new(quick_failure),
        Box::new(waiting_b),
    ];
    let plan = parallel("all", steps);

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
    drop(plan);
    // The slow ones were cancelled before their `run` was reached.
    [slow_a, slow_b, quick].into_iter().for_each(verify);
}

#[tokio::test(start_paused = true)]
async fn collect_all_runs_every_child_and_gathers_every_error() {
    let ok = mock("ok", 1, || Ok(()));
    let checks = vec![
        // The door fails after the window, yet is reported first: child order.
        failing("door", 100, "door open"),
        Box::new(Delayed::new(Arc::clone(&ok), ms(200))),
        failing("window", 50, "window open"),
    ];
    let plan = sequence(
        "home",
        vec![parallel("checks", checks).collect_all().boxed()],
    );
    let start = Instant::now();
    let (result, _) = run_traced(&plan).await;
    assert_eq!(start.elapsed(), ms(200), "waited for the slowest child");
    let err = result.expect_err("two checks fail");
    let paths: Vec<_> = err.leaves().iter().filter_map(|e| e.path()).collect();
    assert_eq!(paths, ["home/checks/door", "home/checks/window"]);
    assert!(matches!(err, StepError::Several(ref v) if v.len() == 2));
    assert!(err.to_string().starts_with("2 steps failed: "), "{err}");
    drop(plan);
    verify(ok);
}

#[tokio::test(start_paused = true)]
async fn fail_fast_also_aborts_what_a_cancelled_sibling_spawned_into_its_join_set() {
    let alive = || {
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
    };
    let before = alive();
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
    let alive_at_failure = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&alive_at_failure);
    let quick = step("quick", move || {
        let seen = Arc::clone(&seen);
        async move {
            sleep(ms(10)).await;
            seen.store(alive(), Ordering::SeqCst);
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
        alive_at_failure.load(Ordering::SeqCst),
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

/// A hand-written step, the trait-based counterpart of the closure adapter.
struct Speaker {
    volume: u8,
}

#[async_patterns::async_trait]
impl Step for Speaker {
    fn name(&self) -> &str {
        "speaker"
    }
    async fn run(&self, _cx: &StepContext) -> Result<(), StepError> {
        if self.volume > 10 {
            let reason = format!("volume {} is above 10", self.volume);
            return Err(StepError::failed(reason));
        }
        Ok(())
    }
}

#[tokio::test]
async fn structs_async_closures_and_shared_steps_are_all_steps() {
    let counter = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&counter);
    let shared: Arc<dyn Step> = Arc::new(Speaker { volume: 5 });
    let counting = step("counting", move || {
        let seen = Arc::clone(&seen);
        async move {
            seen.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    });
    let plan = sequence(
        "p",
        vec![
            step("async-closure", async || Ok(())).boxed(),
            counting.boxed(),
            Box::new(Arc::clone(&shared)),
            Box::new(Speaker { volume: 11 }),
        ],
    );
    let (result, _) = run_traced(&plan).await;
    assert_eq!(counter.load(Ordering::SeqCst), 1);
    assert_eq!(
        result.map_err(|e| e.to_string()),
        Err("step \"p/speaker\" failed: volume 11 is above 10".to_owned())
    );
}

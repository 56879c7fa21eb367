//! The pipeline's pictures: a plan's critical path, a stage under back-pressure, an ordered
//! stage holding its slots for a slow head, and the inline stage's stall against a spawned one.

use async_patterns::pipeline::plan::{BoxStep, StepExt, parallel, run_traced, sequence, step};
use async_patterns::pipeline::stream::{Pipeline, StageOptions, stall};
use futures::StreamExt;
use tokio::time::sleep;
use tracing::{Instrument, info_span};

use super::check::{committed, ms, recorded};

/// A step that takes `n` ms: one message to a device.
fn message(name: &str, n: u64) -> BoxStep {
    step(name, move || async move {
        sleep(ms(n)).await;
        Ok(())
    })
    .boxed()
}

#[test]
fn the_plan_takes_its_critical_path() {
    // The smart-home morning of `tests/pipeline_plan`: connect the three devices at once, then
    // one sequence of messages per device, the three at once.
    let connect = ["light", "speaker", "toilet"].into_iter().zip([50, 80, 30]);
    let connect = connect.map(|(name, n)| message(name, n)).collect();
    let routine = |name: &str, steps: &[(&str, u64)]| {
        let steps = steps.iter().map(|&(name, n)| message(name, n)).collect();
        sequence(name, steps).boxed()
    };
    let routines = vec![
        routine("light", &[("on", 10), ("dim", 20), ("warm", 20)]),
        routine("speaker", &[("volume", 10), ("news", 120)]),
        routine("toilet", &[("seat-heat", 40), ("flush", 30)]),
    ];
    let connect = parallel("connect", connect).boxed();
    let morning = sequence(
        "morning",
        vec![connect, parallel("routines", routines).boxed()],
    );
    let timeline = recorded("async_patterns::pipeline::plan", || async move {
        let (result, trace) = run_traced(&morning).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!((trace.total(), trace.one_by_one()), (ms(210), ms(410)));
    });
    let title = "the morning: 210 ms, its critical path (connect the speaker, then its routine)";
    let svg = timeline.to_svg(title);
    committed("src/pipeline/plan/pictures/critical_path.svg", &svg);
}

#[test]
fn a_fast_stage_waits_for_a_slow_one_when_its_buffer_is_full() {
    let timeline = recorded("async_patterns::pipeline::stream", || async {
        let out: Vec<_> = Pipeline::from_iter(0..6u32)
            // 10 ms an item, one at a time: 100 items a second.
            .stage_fn("fast", StageOptions::ordered(1), |x| async move {
                sleep(ms(10)).await;
                Ok::<_, String>(x)
            })
            // 40 ms an item, one at a time, one more waiting: 25 items a second.
            .stage_fn("slow", StageOptions::ordered(1).buffer(1), |x| async move {
                sleep(ms(40)).await;
                Ok::<_, String>(x)
            })
            .into_stream()
            .collect()
            .await;
        assert_eq!(out.len(), 6);
    });
    let title = "a fast stage (10 ms an item) feeding a slow one (40 ms), buffer 1";
    let svg = timeline.to_svg(title);
    committed("src/pipeline/stream/pictures/back_pressure.svg", &svg);
}

#[test]
fn an_ordered_stage_holds_finished_items_behind_a_slow_one() {
    const HERE: &str = "async_patterns::pipeline::stream";
    // Item 0 takes 60 ms, the others 10 ms; two at a time.
    let run = |options: StageOptions| async move {
        Pipeline::from_iter(0..6u64)
            .stage_fn("fetch", options, |x| async move {
                sleep(ms(if x == 0 { 60 } else { 10 })).await;
                Ok::<_, String>(x)
            })
            .into_stream()
            .count()
            .await
    };
    let timeline = recorded(HERE, || async move {
        let ordered = info_span!(target: HERE, "run", run = "ordered(2)");
        assert_eq!(run(StageOptions::ordered(2)).instrument(ordered).await, 6);
        let unordered = info_span!(target: HERE, "run", run = "unordered(2)");
        assert_eq!(
            run(StageOptions::unordered(2)).instrument(unordered).await,
            6
        );
    });
    let title = "a slow first item, two at a time: ordered holds a finished item's slot";
    let svg = timeline.to_svg(title);
    committed("src/pipeline/stream/pictures/head_of_line.svg", &svg);
}

#[test]
fn an_inline_stage_stalls_like_buffered_and_a_spawned_one_does_not() {
    const PITFALLS: &str = "async_patterns::basics::pitfalls";
    // The load of the pitfall's own picture, so the two compare one to one.
    let load = super::basics::STALL_LOAD;
    // The requests' and the consumer's spans are the pitfall's (its target), not the stage's.
    let timeline = recorded(PITFALLS, || async move {
        let inline = info_span!(target: PITFALLS, "run", run = "inline stage");
        let stalled = stall::inline(load).instrument(inline).await;
        assert!(stalled.timed_out > 0, "{stalled:?}");
        let spawned = info_span!(target: PITFALLS, "run", run = "spawned stage");
        let spawned = stall::spawned(load).instrument(spawned).await;
        assert_eq!(spawned.timed_out, 0, "{spawned:?}");
    });
    let title = "six requests of 1 to 3 round trips of 10 ms under a 45 ms deadline, 3 at a time";
    committed(
        "src/pipeline/stream/pictures/stall.svg",
        &timeline.to_svg(title),
    );
}

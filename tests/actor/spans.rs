//! Spans: a panicking command is drawn failed, with its supervisor's restart (or giving up) as
//! an event in it; a drain in time ends ok; and a recording made for one future draws the
//! actors it spawns, wherever their tasks run.

use std::sync::Arc;
use std::time::Duration;

use async_patterns::actor::{self, ActorError, ActorSystem, RestartPolicy, StopReason};
use async_patterns::testkit::{within, within_paused};
use async_patterns::timing::{BarOutcome, Timeline, record_spans};

use crate::{Entry, LIMIT, Ledger, ms, record};

const TARGET: &str = "async_patterns::actor";

/// The bars of `timeline` by start: label, depth, start, end, outcome.
fn bars(timeline: &Timeline) -> Vec<(String, usize, Duration, Duration, BarOutcome)> {
    let bars = timeline.bars_by_start().into_iter();
    bars.map(|b| (b.label, b.depth, b.start, b.end, b.outcome))
        .collect()
}

/// The markers of `timeline`: label, time, row.
fn markers(timeline: &Timeline) -> Vec<(String, Duration, Option<String>)> {
    let markers = timeline.markers().into_iter();
    markers.map(|m| (m.label, m.at, m.lane)).collect()
}

fn bar(
    label: &str,
    depth: usize,
    from: u64,
    to: u64,
    outcome: BarOutcome,
) -> (String, usize, Duration, Duration, BarOutcome) {
    (label.to_owned(), depth, ms(from), ms(to), outcome)
}

#[test]
fn a_panic_is_drawn_failed_and_the_restart_and_giving_up_are_events_in_it() {
    within_paused(LIMIT, async {
        let timeline = Arc::new(Timeline::new());
        record_spans(&timeline, TARGET, async {
            let policy = RestartPolicy::at_most(1).within(Duration::from_secs(1));
            let handle = actor::supervise("ledger", 8, policy, || Ledger::new(ms(10)).0);
            assert_eq!(handle.call(record(1)).await, Ok(1));
            let first = handle.call(Entry::Boom).await;
            assert!(
                matches!(first, Err(ActorError::Panicked { .. })),
                "{first:?}"
            );
            assert_eq!(handle.call(record(2)).await, Ok(2));
            let second = handle.call(Entry::Boom).await;
            assert!(
                matches!(second, Err(ActorError::Panicked { .. })),
                "{second:?}"
            );
            assert!(matches!(handle.stopped().await, StopReason::GaveUp { .. }));
        })
        .await;
        assert_eq!(
            bars(&timeline),
            [
                bar("ledger #1", 0, 0, 10, BarOutcome::Ok),
                bar("ledger #2", 0, 10, 10, BarOutcome::Failed),
                bar("ledger #3", 0, 10, 20, BarOutcome::Ok),
                bar("ledger #4", 0, 20, 20, BarOutcome::Failed),
            ]
        );
        let on = |label: &str, at, row: &str| (label.to_owned(), ms(at), Some(row.to_owned()));
        assert_eq!(
            markers(&timeline),
            [
                on("restarted (1 of 1 within 1s)", 10, "ledger #2"),
                on("gave up: 1 restarts within 1s", 20, "ledger #4"),
            ]
        );
    });
}

#[test]
fn a_drain_in_time_ends_ok_with_the_drained_commands_inside_it() {
    within_paused(LIMIT, async {
        let timeline = Arc::new(Timeline::new());
        record_spans(&timeline, TARGET, async {
            let (ledger, _) = Ledger::new(ms(10));
            let handle = actor::spawn("ledger", 8, ledger);
            let pending = crate::queue(&handle, 0..3);
            tokio::time::sleep(ms(5)).await;
            handle.shut_down();
            assert_eq!(handle.stopped().await, StopReason::ShutDown);
            for answer in pending {
                assert!(answer.await.is_ok());
            }
        })
        .await;
        assert_eq!(
            bars(&timeline),
            [
                bar("ledger #1", 0, 0, 10, BarOutcome::Ok),
                bar("ledger draining", 0, 5, 30, BarOutcome::Ok),
                bar("ledger #2", 1, 10, 20, BarOutcome::Ok),
                bar("ledger #3", 1, 20, 30, BarOutcome::Ok),
            ]
        );
        let begun = (
            "shutdown begun".to_owned(),
            ms(5),
            Some("ledger draining".to_owned()),
        );
        assert_eq!(markers(&timeline), [begun]);
    });
}

#[test]
fn a_recording_of_one_future_draws_the_actors_it_spawns_and_their_drains_events() {
    within(LIMIT, || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let timeline = Arc::new(Timeline::new());
        // Only this future is recorded: the actor's task, spawned inside it, runs on a worker
        // thread where nobody listens, and must carry the recording with it.
        runtime.block_on(record_spans(&timeline, TARGET, async {
            let system = ActorSystem::new();
            let (ledger, _) = Ledger::new(Duration::ZERO);
            let handle = system.spawn("ledger", 8, ledger);
            for id in 0..2 {
                assert_eq!(handle.call(record(id)).await, Ok(id));
            }
            // A command that would take an hour; the drain begins while it runs.
            let (slow, _) = Ledger::new(Duration::from_secs(3600));
            let slow = system.spawn("slow", 8, slow);
            let abandoned = slow.try_send(record(2)).expect("room");
            slow.shut_down();
            // Refused at the closed door by a task the recording does not follow: its event
            // still lands on the drain, under the drain span's own subscriber.
            let late = slow.clone();
            let refused = tokio::spawn(async move { late.try_send(record(3)).map(drop) });
            let refused = refused.await.expect("no panic");
            assert!(matches!(refused, Err(ActorError::ShuttingDown { .. })));
            // Its task has ended once the shutdown returns: so has every span it held.
            assert!(!system.shutdown(ms(50)).await.in_time);
            assert!(matches!(abandoned.await, Err(ActorError::Abandoned { .. })));
        }));
        // (The slow actor's task takes its command before or after the drain begins.)
        let mut labels: Vec<String> = timeline.bars().into_iter().map(|b| b.label).collect();
        labels.sort();
        let drawn = [
            "ledger #1",
            "ledger #2",
            "ledger draining",
            "slow #1",
            "slow draining",
        ];
        assert_eq!(labels, drawn);
        let on_slow: Vec<String> = timeline
            .markers()
            .into_iter()
            .filter(|m| m.lane.as_deref() == Some("slow draining"))
            .map(|m| m.label)
            .collect();
        let events = [
            "shutdown begun",
            "refused a new command",
            "the 50ms deadline passed",
            "1 command abandoned",
        ];
        assert_eq!(on_slow, events);
    });
}

//! The mailbox: one command at a time in arrival order, back-pressure (`try_send` refuses,
//! `send` waits), a capacity out of range, a call dropped after acceptance, no runtime.

use std::time::Duration;

use async_patterns::actor::{self, ActorError, ActorSystem, Status, StopReason};
use async_patterns::testkit::within_paused;
use tokio::time::{Instant, sleep};

use crate::{LIMIT, Ledger, ms, queue, record};

#[test]
fn commands_are_handled_one_at_a_time_in_arrival_order() {
    within_paused(LIMIT, async {
        let (ledger, done) = Ledger::new(ms(10));
        let handle = actor::spawn("ledger", 64, ledger);
        let start = Instant::now();
        // Fifty commands in flight at once, from one caller: the actor takes them in order.
        let pending = queue(&handle, 0..50);
        let answers = futures::future::join_all(pending).await;
        assert_eq!(answers, (0..50).map(Ok).collect::<Vec<_>>());
        assert_eq!(*done.lock().unwrap(), (0..50).collect::<Vec<_>>());
        // One at a time: 50 x 10 ms, never overlapped.
        assert_eq!(start.elapsed(), ms(500));
        let stats = handle.stats();
        assert_eq!(
            (stats.accepted, stats.handled, stats.high_water),
            (50, 50, 50)
        );
    });
}

#[test]
fn a_full_mailbox_refuses_try_send_and_send_waits_for_room() {
    within_paused(LIMIT, async {
        let (ledger, _) = Ledger::new(ms(100));
        let handle = actor::spawn("ledger", 1, ledger);
        let first = handle.try_send(record(1)).expect("empty mailbox");
        tokio::task::yield_now().await; // the actor takes #1 and works on it until 100 ms
        let second = handle.try_send(record(2)).expect("one place free");
        let full = handle.try_send(record(3)).expect_err("no place left");
        assert_eq!(
            full,
            ActorError::Full {
                actor: "ledger".into(),
                capacity: 1
            }
        );
        assert_eq!((handle.queued(), handle.stats().capacity), (1, 1));

        // `send` waits for room: #2 leaves the mailbox when #1 is done, at 100 ms.
        let start = Instant::now();
        let third = handle.send(record(3)).await.expect("room after #1");
        assert_eq!(start.elapsed(), ms(100));
        assert_eq!(
            (first.await, second.await, third.await),
            (Ok(1), Ok(2), Ok(3))
        );
        assert_eq!(start.elapsed(), ms(300));
        assert_eq!(handle.stats().high_water, 1);
    });
}

#[test]
fn a_sender_waiting_for_room_is_refused_when_shutdown_begins() {
    within_paused(LIMIT, async {
        let (ledger, done) = Ledger::new(ms(100));
        let handle = actor::spawn("ledger", 1, ledger);
        let first = handle.try_send(record(1)).expect("empty");
        tokio::task::yield_now().await;
        let queued = handle.try_send(record(2)).expect("one place");
        let waiting = {
            let handle = handle.clone();
            tokio::spawn(async move { handle.send(record(3)).await.map(drop) })
        };
        sleep(ms(10)).await;
        handle.shut_down();
        assert_eq!(
            waiting.await.expect("no panic"),
            Err(ActorError::ShuttingDown {
                actor: "ledger".into()
            })
        );
        // Accepted before the shutdown: both still answered, and then the actor stops.
        assert_eq!((first.await, queued.await), (Ok(1), Ok(2)));
        assert_eq!(handle.stopped().await, StopReason::ShutDown);
        assert_eq!(*done.lock().unwrap(), [1, 2]);
        assert_eq!(handle.stats().drained, 1);
    });
}

#[test]
fn a_call_dropped_after_acceptance_still_runs_its_command() {
    within_paused(LIMIT, async {
        let (ledger, done) = Ledger::new(ms(100));
        let handle = actor::spawn("ledger", 8, ledger);
        let call = handle.call(record(1));
        // Accepted at once, then abandoned by its caller at 10 ms.
        assert!(tokio::time::timeout(ms(10), call).await.is_err());
        assert_eq!(handle.call(record(2)).await, Ok(2));
        assert_eq!(*done.lock().unwrap(), [1, 2]);
    });
}

#[test]
fn a_capacity_of_zero_is_taken_as_one_and_a_huge_one_is_capped() {
    within_paused(LIMIT, async {
        let zero = actor::spawn("zero", 0, Ledger::new(Duration::ZERO).0);
        assert_eq!(zero.stats().capacity, 1);
        assert_eq!(zero.call(record(1)).await, Ok(1));
        let huge = actor::spawn("huge", usize::MAX, Ledger::new(Duration::ZERO).0);
        assert_eq!(huge.stats().capacity, actor::MAX_CAPACITY);
    });
}

#[test]
fn an_actor_spawned_outside_a_runtime_refuses_every_command_instead_of_panicking() {
    let never = StopReason::NoRuntime;
    let refused = Err(ActorError::Stopped {
        actor: "ledger".into(),
        reason: never.clone(),
    });
    let plain = actor::spawn("ledger", 4, Ledger::new(Duration::ZERO).0);
    assert_eq!(plain.try_send(record(1)).map(drop), refused);
    assert_eq!(plain.status(), Status::Stopped(never.clone()));
    let system = ActorSystem::new();
    let in_system = system.spawn("ledger", 4, Ledger::new(Duration::ZERO).0);
    assert_eq!(in_system.try_send(record(1)).map(drop), refused);
    assert!(!system.spawn_task(async {}), "no runtime: not spawned");
}

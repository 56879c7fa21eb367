//! Shutdown: the drain, the deadline and its report, and nothing left alive afterwards.

use std::time::Duration;

use async_patterns::actor::{self, ActorError, ActorSystem, Status, StopReason};
use async_patterns::testkit::{alive_tasks_once_settled, within_paused};
use tokio::time::sleep;

use crate::{LIMIT, Ledger, ms, queue, record};

#[test]
fn shutdown_drains_every_accepted_command_and_refuses_new_ones() {
    within_paused(LIMIT, async {
        let system = ActorSystem::new();
        let (ledger, done) = Ledger::new(ms(10));
        let handle = system.spawn("ledger", 8, ledger);
        let pending = queue(&handle, 0..5);
        let report = system.shutdown(ms(1000)).await;
        assert_eq!(
            handle.try_send(record(9)).map(drop),
            Err(ActorError::ShuttingDown {
                actor: "ledger".into()
            })
        );
        let answers = futures::future::join_all(pending).await;
        assert_eq!(answers, (0..5).map(Ok).collect::<Vec<_>>());
        assert_eq!(done.lock().unwrap().len(), 5);
        assert!(report.in_time, "{report}");
        assert_eq!(report.took, ms(50));
        let stats = report.actors[0].stats;
        assert_eq!((stats.handled, stats.drained, stats.refused), (5, 5, 0));
        assert_eq!(
            report.actors[0].status,
            Status::Stopped(StopReason::ShutDown)
        );
    });
}

#[test]
fn the_deadline_abandons_what_is_left_aborts_stuck_tasks_and_reports_it() {
    within_paused(LIMIT, async {
        let system = ActorSystem::new();
        let (ledger, done) = Ledger::new(ms(100));
        let handle = system.spawn("ledger", 8, ledger);
        let pending = queue(&handle, 0..5);
        // A task that never looks at the token: it is aborted at the deadline.
        system.spawn_task(sleep(Duration::from_secs(3600)));
        let report = system.shutdown(ms(250)).await;

        let answers = futures::future::join_all(pending).await;
        let abandoned = Err(ActorError::Abandoned {
            actor: "ledger".into(),
            deadline: ms(250),
        });
        // #0 and #1 done by 200 ms; #2 was cut off at 250 ms; #3 and #4 never started.
        assert_eq!(answers[..2], [Ok(0), Ok(1)]);
        assert!(answers[2..].iter().all(|a| *a == abandoned), "{answers:?}");
        assert_eq!(*done.lock().unwrap(), [0, 1]);
        assert!(!report.in_time);
        assert_eq!((report.took, report.tasks, report.aborted), (ms(250), 1, 1));
        let stats = report.actors[0].stats;
        assert_eq!((stats.accepted, stats.handled, stats.refused), (5, 2, 3));
        assert!(
            report.to_string().contains("past its 250.0 ms deadline"),
            "{report}"
        );
    });
}

#[test]
fn no_task_is_alive_after_shutdown() {
    within_paused(LIMIT, async {
        let system = ActorSystem::new();
        let handles: Vec<_> = (0..3)
            .map(|i| system.spawn(format!("ledger {i}"), 4, Ledger::new(ms(1)).0))
            .collect();
        for handle in &handles {
            let (handle, token) = (handle.clone(), system.token());
            system.spawn_task(async move {
                let mut id = 0;
                while !token.is_cancelled() && handle.call(record(id)).await.is_ok() {
                    id += 1;
                }
            });
        }
        sleep(ms(20)).await;
        assert_eq!(alive_tasks_once_settled(6).await, 6);
        let report = system.shutdown(ms(1000)).await;
        assert!(report.in_time, "{report}");
        assert_eq!(alive_tasks_once_settled(0).await, 0);

        // A plain actor ends when its last handle is dropped; a dropped system aborts its own.
        let plain = actor::spawn("plain", 4, Ledger::new(ms(1)).0);
        let dropped = ActorSystem::new();
        let _orphan = dropped.spawn("orphan", 4, Ledger::new(ms(1)).0);
        dropped.spawn_task(sleep(Duration::from_secs(3600)));
        assert_eq!(alive_tasks_once_settled(3).await, 3);
        drop((plain, dropped));
        assert_eq!(alive_tasks_once_settled(0).await, 0);
    });
}

#[test]
fn a_dropped_system_abandons_what_its_actors_hold_and_says_so() {
    within_paused(LIMIT, async {
        let system = ActorSystem::new();
        let (ledger, done) = Ledger::new(ms(100));
        let handle = system.spawn("ledger", 8, ledger);
        let in_hand = handle.try_send(record(1)).expect("room");
        let queued = handle.try_send(record(2)).expect("room");
        sleep(ms(10)).await; // #1 is in its handler
        drop(system);
        // Refused at once, before the actor has even looked up from #1.
        let refused = Err(ActorError::ShuttingDown {
            actor: "ledger".into(),
        });
        assert_eq!(handle.try_send(record(3)).map(drop), refused);
        let abandoning = Status::Abandoning {
            deadline: Duration::ZERO,
        };
        assert_eq!(handle.status(), abandoning);
        // Neither was answered, and neither is blamed on the handler: both were abandoned,
        // with no time given to finish.
        let abandoned = Err(ActorError::Abandoned {
            actor: "ledger".into(),
            deadline: Duration::ZERO,
        });
        assert_eq!(
            (in_hand.await, queued.await),
            (abandoned.clone(), abandoned)
        );
        assert_eq!(handle.stopped().await, StopReason::ShutDown);
        assert!(done.lock().expect("ledger lock").is_empty());
        let stats = handle.stats();
        assert_eq!((stats.accepted, stats.handled, stats.refused), (2, 0, 2));
    });
}

#[test]
fn once_shutdown_begins_the_status_says_draining_while_the_handler_finishes() {
    within_paused(LIMIT, async {
        let (ledger, _) = Ledger::new(ms(100));
        let handle = actor::spawn("ledger", 8, ledger);
        let in_hand = handle.try_send(record(1)).expect("room");
        let queued = handle.try_send(record(2)).expect("room");
        sleep(ms(10)).await; // #1 is in its handler
        handle.shut_down();
        assert_eq!(handle.status(), Status::Draining);
        let refused = ActorError::ShuttingDown {
            actor: "ledger".into(),
        };
        assert_eq!(handle.try_send(record(3)).map(drop), Err(refused));
        assert_eq!((in_hand.await, queued.await), (Ok(1), Ok(2)));
        assert_eq!(handle.stopped().await, StopReason::ShutDown);

        // The same through a system: draining from the moment its shutdown begins.
        let system = ActorSystem::new();
        let handle = system.spawn("ledger", 8, Ledger::new(ms(100)).0);
        let in_hand = handle.try_send(record(1)).expect("room");
        sleep(ms(10)).await;
        let mut shutdown = std::pin::pin!(system.shutdown(ms(1000)));
        assert!(futures::poll!(&mut shutdown).is_pending());
        assert_eq!(handle.status(), Status::Draining);
        assert_eq!(in_hand.await, Ok(1));
        assert!(shutdown.await.in_time);
    });
}

#[test]
fn an_idle_actor_hears_its_shutdown_at_once() {
    // The task waiting for commands reads nothing: the shutdown must wake it (a knock in its
    // mailbox), or `stopped()` would wait for ever.
    within_paused(LIMIT, async {
        let handle = actor::spawn("ledger", 1, Ledger::new(ms(1)).0);
        assert_eq!(handle.call(record(1)).await, Ok(1));
        handle.shut_down();
        assert_eq!(handle.stopped().await, StopReason::ShutDown);
        assert_eq!(handle.stats().handled, 1);

        // Also from a system, also with no command ever sent, and at a deadline of zero.
        let system = ActorSystem::new();
        let handles: Vec<_> = (0..3)
            .map(|i| system.spawn(format!("ledger {i}"), 1, Ledger::new(ms(1)).0))
            .collect();
        let report = system.shutdown(Duration::ZERO).await;
        for handle in &handles {
            assert_eq!(handle.stopped().await, StopReason::ShutDown);
        }
        assert_eq!(report.actors.len(), 3);
    });
}

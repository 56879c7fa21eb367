//! Shutdown: the drain, the deadline and its report, and nothing left alive afterwards.

use std::time::Duration;

use async_patterns::actor::{self, ActorError, ActorSystem, Status, StopReason};
use async_patterns::testkit::alive_tasks_once_settled;
use tokio::time::sleep;

use crate::{Ledger, ms, record};

#[tokio::test(start_paused = true)]
async fn shutdown_drains_every_accepted_command_and_refuses_new_ones() {
    let system = ActorSystem::new();
    let (ledger, done) = Ledger::new(ms(10));
    let handle = system.spawn("ledger", 8, ledger);
    let pending: Vec<_> = (0..5)
        .map(|id| handle.try_send(record(id)).expect("room"))
        .collect();
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
}

#[tokio::test(start_paused = true)]
async fn the_deadline_abandons_what_is_left_aborts_stuck_tasks_and_reports_it() {
    let system = ActorSystem::new();
    let (ledger, done) = Ledger::new(ms(100));
    let handle = system.spawn("ledger", 8, ledger);
    let pending: Vec<_> = (0..5)
        .map(|id| handle.try_send(record(id)).expect("room"))
        .collect();
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
}

#[tokio::test(start_paused = true)]
async fn no_task_is_alive_after_shutdown() {
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
}

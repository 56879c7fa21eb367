//! Failure: a panic answers its caller and every queued and later caller with a typed error; a
//! reply dropped unanswered; the supervisor restarts within its policy, then gives up.

use std::time::Duration;

use async_patterns::actor::{self, ActorError, RestartPolicy, Status, StopReason};
use async_patterns::testkit::within_paused;
use tokio::time::sleep;

use crate::{Entry, LIMIT, Ledger, ms, record};

#[test]
fn a_panic_answers_its_caller_and_every_queued_and_later_caller_with_a_typed_error() {
    within_paused(LIMIT, async {
        let (ledger, _) = Ledger::new(Duration::ZERO);
        let handle = actor::spawn("ledger", 8, ledger);
        let boom = handle.try_send(Entry::Boom).expect("room");
        let queued = handle.try_send(record(7)).expect("room");
        assert_eq!(
            boom.await,
            Err(ActorError::Panicked {
                actor: "ledger".into(),
                message: "boom in the ledger".into()
            })
        );
        let stopped = StopReason::Panicked {
            message: "boom in the ledger".into(),
        };
        let as_error = ActorError::Stopped {
            actor: "ledger".into(),
            reason: stopped.clone(),
        };
        assert_eq!(queued.await, Err(as_error.clone()));
        assert_eq!(handle.call(record(8)).await, Err(as_error));
        assert_eq!(handle.status(), Status::Stopped(stopped));
        let stats = handle.stats();
        assert_eq!((stats.panicked, stats.refused, stats.handled), (1, 1, 0));
    });
}

#[test]
fn a_reply_dropped_unanswered_reaches_its_caller_as_no_reply() {
    within_paused(LIMIT, async {
        let (ledger, _) = Ledger::new(Duration::ZERO);
        let handle = actor::spawn("ledger", 8, ledger);
        let forgotten = handle.call(Entry::Forget).await;
        assert_eq!(
            forgotten,
            Err(ActorError::NoReply {
                actor: "ledger".into()
            })
        );
        assert_eq!(handle.call(record(1)).await, Ok(1), "the actor goes on");
    });
}

#[test]
fn the_supervisor_restarts_within_its_policy_then_gives_up() {
    within_paused(LIMIT, async {
        let policy = RestartPolicy::at_most(2).within(ms(1000));
        let handle = actor::supervise("ledger", 8, policy, || Ledger::new(Duration::ZERO).0);
        let count = || handle.call(Entry::Count);
        let boom = || handle.call(Entry::Boom);

        assert_eq!(handle.call(record(1)).await, Ok(1));
        assert_eq!(count().await, Ok(1));
        assert!(matches!(boom().await, Err(ActorError::Panicked { .. })));
        // A fresh state: the restarted ledger has recorded nothing.
        assert_eq!(count().await, Ok(0));
        assert_eq!(handle.status(), Status::Running { restarts: 1 });

        // Restarts leave the window as time passes: a panic a window later is restarted again.
        sleep(ms(1000)).await;
        assert!(matches!(boom().await, Err(ActorError::Panicked { .. })));
        assert!(matches!(boom().await, Err(ActorError::Panicked { .. })));
        assert_eq!(handle.status(), Status::Running { restarts: 3 });

        // A third panic within the window: the policy gives up, and says so.
        let queued = handle.try_send(record(2)).expect("room");
        assert!(matches!(boom().await, Err(ActorError::Panicked { .. })));
        let gave_up = StopReason::GaveUp {
            restarts: 2,
            within: ms(1000),
            last_panic: "boom in the ledger".into(),
        };
        assert_eq!(handle.stopped().await, gave_up);
        let refused = Err(ActorError::Stopped {
            actor: "ledger".into(),
            reason: gave_up,
        });
        // `queued` was sent before the last boom, so the restarted ledger answered it.
        assert_eq!(queued.await, Ok(2));
        assert_eq!(handle.call(record(3)).await, refused);
        assert_eq!(handle.stats().restarts, 3);
    });
}

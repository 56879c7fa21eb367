//! No caller ever hangs, and every error says what really happened: a handler that panics
//! before it returns its future, a reply moved into a task that panics, a runtime dropped
//! under an actor. Each test runs under `within_paused`, so a hang fails it.

use std::future::Future;
use std::time::Duration;

use async_patterns::actor::{self, Actor, ActorError, Reply, RestartPolicy, Status, StopReason};
use async_patterns::testkit::within_paused;

use crate::{LIMIT, Ledger, record};

/// An actor whose `handle` is written by hand, not as an `async fn`: it checks its command
/// before building the future, and that check can panic.
struct Checker;

enum Check {
    /// Answers `n`; panics on 0 while building the future, before any `.await`.
    Positive(u64, Reply<u64>),
}

impl Actor for Checker {
    type Command = Check;

    fn handle(&mut self, command: Check) -> impl Future<Output = ()> + Send {
        let Check::Positive(n, reply) = command;
        assert!(n > 0, "zero is refused before the future is built");
        async move {
            reply.send(n);
        }
    }
}

fn positive(n: u64) -> impl FnOnce(Reply<u64>) -> Check {
    move |reply| Check::Positive(n, reply)
}

#[test]
fn a_handler_that_panics_before_returning_its_future_answers_every_caller() {
    within_paused(LIMIT, async {
        let checker = actor::spawn("checker", 8, Checker);
        let zero = checker.try_send(positive(0)).expect("room");
        let queued = checker.try_send(positive(1)).expect("room");
        let message = "zero is refused before the future is built".to_owned();
        let panicked = ActorError::Panicked {
            actor: "checker".into(),
            message: message.clone(),
        };
        assert_eq!(zero.await, Err(panicked.clone()));
        let reason = StopReason::Panicked { message };
        let stopped = ActorError::Stopped {
            actor: "checker".into(),
            reason: reason.clone(),
        };
        assert_eq!(queued.await, Err(stopped.clone()));
        assert_eq!(checker.stopped().await, reason);
        assert_eq!(checker.status(), Status::Stopped(reason));
        assert_eq!(checker.call(positive(2)).await, Err(stopped));

        // Supervised, it is restarted like any other panic, and the queue goes on.
        let policy = RestartPolicy::at_most(1);
        let checker = actor::supervise("checker", 8, policy, || Checker);
        let zero = checker.try_send(positive(0)).expect("room");
        let queued = checker.try_send(positive(1)).expect("room");
        assert_eq!(zero.await, Err(panicked));
        assert_eq!(queued.await, Ok(1));
        assert_eq!(checker.status(), Status::Running { restarts: 1 });
    });
}

/// An actor that hands some replies to tasks of their own.
struct Delegator;

enum Job {
    /// Hands its reply to a spawned task, which panics before answering.
    Handoff(Reply<u64>),
    /// Drops its reply inside a panic that the handler catches itself.
    Swallow(Reply<u64>),
    /// Panics in the handler itself.
    Boom(Reply<u64>),
}

impl Actor for Delegator {
    type Command = Job;

    async fn handle(&mut self, command: Job) {
        match command {
            Job::Handoff(reply) => drop(tokio::spawn(async move {
                let _reply = reply;
                panic!("the helper task failed");
            })),
            Job::Swallow(reply) => {
                let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                    let _reply = reply;
                    panic!("caught by the handler");
                }));
                assert!(caught.is_err());
            }
            Job::Boom(_reply) => panic!("boom in the delegator"),
        }
    }
}

#[test]
fn a_reply_dropped_by_a_panic_in_another_task_is_answered_at_once_and_only_for_itself() {
    within_paused(LIMIT, async {
        let delegator = actor::spawn("delegator", 8, Delegator);
        let handoff = delegator.try_send(Job::Handoff).expect("room");
        // The helper task runs (and panics) before the next command panics in the handler.
        tokio::time::sleep(Duration::from_millis(1)).await;
        let boom = delegator.try_send(Job::Boom).expect("room");
        let lost = Err(ActorError::LostInPanic {
            actor: "delegator".into(),
        });
        // Its own answer, not the later command's panic message.
        assert_eq!(handoff.await, lost);
        let panicked = Err(ActorError::Panicked {
            actor: "delegator".into(),
            message: "boom in the delegator".into(),
        });
        assert_eq!(boom.await, panicked);

        // And without any later command: the caller is answered all the same, and the actor
        // (whose handler did not panic) goes on.
        let delegator = actor::spawn("delegator", 8, Delegator);
        assert_eq!(delegator.call(Job::Handoff).await, lost);
        assert_eq!(delegator.status(), Status::Running { restarts: 0 });
        assert_eq!(delegator.stats().handled, 1);

        // A reply dropped inside a panic the handler caught itself: the handler lost it.
        let swallowed = delegator.try_send(Job::Swallow).expect("room");
        let boom = delegator.try_send(Job::Boom).expect("room");
        let no_reply = Err(ActorError::NoReply {
            actor: "delegator".into(),
        });
        assert_eq!((swallowed.await, boom.await), (no_reply, panicked));
    });
}

#[test]
fn a_runtime_dropped_under_an_actor_stops_it_as_gone_and_answers_every_caller_so() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a runtime");
    let (ledger, done) = Ledger::new(Duration::from_secs(3600));
    let (handle, in_hand, queued) = runtime.block_on(async {
        let handle = actor::spawn("ledger", 8, ledger);
        let in_hand = handle.try_send(record(1)).expect("room");
        let queued = handle.try_send(record(2)).expect("room");
        // The actor takes #1 and waits in its handler.
        tokio::task::yield_now().await;
        (handle, in_hand, queued)
    });
    drop(runtime);

    within_paused(LIMIT, async move {
        let gone = StopReason::Gone;
        assert_eq!(handle.stopped().await, gone);
        assert_eq!(handle.status(), Status::Stopped(gone.clone()));
        // Neither command is blamed on the handler: the runtime went away under both.
        let stopped = Err(ActorError::Stopped {
            actor: "ledger".into(),
            reason: gone,
        });
        assert_eq!(
            (in_hand.await, queued.await),
            (stopped.clone(), stopped.clone())
        );
        assert_eq!(handle.call(record(3)).await, stopped);
        assert!(done.lock().expect("ledger lock").is_empty());
    });
}

/// A command whose own `Drop` panics: the task drops it outside any handler (refusing it as
/// the actor stops), and unwinds.
struct Fuse {
    _reply: Reply<u64>,
}

impl Drop for Fuse {
    fn drop(&mut self) {
        panic!("the fuse blew as it was dropped");
    }
}

enum Wire {
    Boom(Reply<u64>),
    Fuse(Fuse),
}

struct Board;

impl Actor for Board {
    type Command = Wire;

    async fn handle(&mut self, command: Wire) {
        match command {
            Wire::Boom(_reply) => panic!("boom on the board"),
            Wire::Fuse(_fuse) => {}
        }
    }
}

#[test]
fn a_command_whose_drop_panics_in_the_task_still_leaves_every_caller_an_answer() {
    within_paused(LIMIT, async {
        let board = actor::spawn("board", 8, Board);
        let boom = board.try_send(Wire::Boom).expect("room");
        let fuse = board
            .try_send(|reply| Wire::Fuse(Fuse { _reply: reply }))
            .expect("room");
        assert!(matches!(boom.await, Err(ActorError::Panicked { .. })));
        // Refused as the actor stopped, the fuse blew inside the task: its reply, dropped by
        // that panic, still answers, and the status says the task died of a panic.
        let lost = Err(ActorError::LostInPanic {
            actor: "board".into(),
        });
        assert_eq!(fuse.await, lost);
        let stopped = board.stopped().await;
        assert!(
            matches!(stopped, StopReason::Panicked { .. }),
            "{stopped:?}"
        );
    });
}

//! Actor: replies exactly once, back-pressure on the paused clock, panics and supervision,
//! graceful shutdown with its deadline, no task left behind, the hub, the bridges, and the
//! property that every accepted command is answered exactly once.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_patterns::actor::{
    self, Actor, ActorError, ActorSystem, Hub, HubCommand, HubError, HubHandle, Reply,
    RestartPolicy, Status, StopReason, ToActor,
};
use async_patterns::factory::{Config, Device, DeviceError, Registry};
use async_patterns::observer::{Outcome, Subject};
use async_patterns::pipeline::stream::{Pipeline, StageOptions};
use async_patterns::testkit::{MockDevice, alive_tasks_once_settled};
use futures::StreamExt;
use proptest::prelude::*;
use tokio::time::{Instant, sleep};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A test actor: records each id it handles, after `work` of (virtual) time; panics on `Boom`.
struct Ledger {
    work: Duration,
    done: Arc<Mutex<Vec<u64>>>,
}

enum Entry {
    Record(u64, Reply<u64>),
    Boom(Reply<u64>),
    /// Answers with how many ids this instance recorded: a fresh one after a restart says 0.
    Count(Reply<usize>),
    /// Drops its reply without answering: a handler's bug.
    Forget(Reply<u64>),
}

impl Ledger {
    fn new(work: Duration) -> (Self, Arc<Mutex<Vec<u64>>>) {
        let done = Arc::new(Mutex::new(Vec::new()));
        let done_too = Arc::clone(&done);
        (Ledger { work, done }, done_too)
    }

    fn recorded(&self) -> Vec<u64> {
        self.done.lock().map(|d| d.clone()).unwrap_or_default()
    }
}

impl Actor for Ledger {
    type Command = Entry;

    async fn handle(&mut self, command: Entry) {
        match command {
            Entry::Record(id, reply) => {
                sleep(self.work).await;
                // Recorded and answered with no `.await` between: a cut-off command is neither.
                self.done.lock().expect("ledger lock").push(id);
                reply.send(id);
            }
            Entry::Boom(_reply) => panic!("boom in the ledger"),
            Entry::Count(reply) => {
                reply.send(self.recorded().len());
            }
            Entry::Forget(reply) => drop(reply),
        }
    }
}

fn record(id: u64) -> impl FnOnce(Reply<u64>) -> Entry {
    move |reply| Entry::Record(id, reply)
}

#[tokio::test(start_paused = true)]
async fn commands_are_handled_one_at_a_time_in_arrival_order() {
    let (ledger, done) = Ledger::new(ms(10));
    let handle = actor::spawn("ledger", 64, ledger);
    let start = Instant::now();
    // Fifty commands in flight at once, from one caller: the actor takes them in order.
    let pending: Vec<_> = (0..50)
        .map(|id| handle.try_send(record(id)).expect("room for 50"))
        .collect();
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
}

#[tokio::test(start_paused = true)]
async fn a_full_mailbox_refuses_try_send_and_send_waits_for_room() {
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
}

#[tokio::test(start_paused = true)]
async fn a_sender_waiting_for_room_is_refused_when_shutdown_begins() {
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
}

#[tokio::test]
async fn a_panic_answers_its_caller_and_every_queued_and_later_caller_with_a_typed_error() {
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
}

#[tokio::test]
async fn a_reply_dropped_unanswered_reaches_its_caller_as_no_reply() {
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
}

#[tokio::test(start_paused = true)]
async fn the_supervisor_restarts_within_its_policy_then_gives_up() {
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
}

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

#[tokio::test(start_paused = true)]
async fn a_call_dropped_after_acceptance_still_runs_its_command() {
    let (ledger, done) = Ledger::new(ms(100));
    let handle = actor::spawn("ledger", 8, ledger);
    let call = handle.call(record(1));
    // Accepted at once, then abandoned by its caller at 10 ms.
    assert!(tokio::time::timeout(ms(10), call).await.is_err());
    assert_eq!(handle.call(record(2)).await, Ok(2));
    assert_eq!(*done.lock().unwrap(), [1, 2]);
}

/// A registry with one kind, "mock": a device that answers `ok <message>` and panics on
/// `explode`. Counts its constructions.
fn mock_registry(made: &Arc<AtomicUsize>) -> Arc<Registry<dyn Device>> {
    let registry = Registry::new();
    let made = Arc::clone(made);
    let registered = registry.register("mock", move |config: Config| {
        made.fetch_add(1, Ordering::SeqCst);
        async move {
            let mut device = MockDevice::new();
            device.expect_name().return_const(config.name);
            device.expect_kind().return_const("mock".to_owned());
            device
                .expect_send()
                .withf(|m| m == "explode")
                .returning(|_| panic!("the device exploded"));
            device.expect_send().returning(|m| Ok(format!("ok {m}")));
            Ok::<_, DeviceError>(device)
        }
    });
    assert!(registered.is_ok());
    Arc::new(registry)
}

#[tokio::test]
async fn the_hub_connects_once_counts_and_names_what_is_missing() {
    let made = Arc::new(AtomicUsize::new(0));
    let hub = Hub::new(mock_registry(&made)).with("mock", Config::new("gadget"));
    let hub = HubHandle::from(actor::spawn("hub", 8, hub));
    assert_eq!(hub.send("gadget", "ping").await.unwrap(), "ok ping");
    assert_eq!(hub.send("gadget", "pong").await.unwrap(), "ok pong");
    assert_eq!(made.load(Ordering::SeqCst), 1, "connected once");
    let devices = hub.devices().await.unwrap();
    assert_eq!((devices[0].connected, devices[0].sent), (true, 2));

    let unknown = hub.send("toaster", "on").await.unwrap_err();
    assert!(matches!(unknown, HubError::UnknownDevice { ref known, .. } if known == &["gadget"]));
    hub.add("mock", Config::new("widget")).await.unwrap();
    let twice = hub.add("mock", Config::new("widget")).await.unwrap_err();
    assert!(matches!(twice, HubError::Duplicate { ref name } if name == "widget"));
    assert_eq!(hub.devices().await.unwrap().len(), 2);
    assert_eq!(
        made.load(Ordering::SeqCst),
        1,
        "the widget connects when first used"
    );
}

#[tokio::test]
async fn a_supervised_hub_restarts_after_a_device_panics_and_reconnects() {
    let made = Arc::new(AtomicUsize::new(0));
    let registry = mock_registry(&made);
    let policy = RestartPolicy::at_most(1).within(Duration::from_secs(60));
    let hub = actor::supervise("hub", 8, policy, move || {
        Hub::new(Arc::clone(&registry)).with("mock", Config::new("gadget"))
    });
    let hub = HubHandle::from(hub);
    assert!(hub.send("gadget", "ping").await.is_ok());
    let exploded = hub.send("gadget", "explode").await.unwrap_err();
    assert!(
        exploded
            .to_string()
            .contains("panicked handling this command: the device exploded"),
        "{exploded}"
    );
    assert_eq!(hub.actor().status(), Status::Running { restarts: 1 });
    assert!(hub.send("gadget", "ping").await.is_ok());
    assert_eq!(made.load(Ordering::SeqCst), 2, "the fresh hub reconnected");
    assert_eq!(
        hub.devices().await.unwrap()[0].sent,
        1,
        "its counts start afresh"
    );

    assert!(hub.send("gadget", "explode").await.is_err());
    let refused = hub.send("gadget", "ping").await.unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("its supervisor gave up: 1 restarts"),
        "{refused}"
    );
}

#[tokio::test]
async fn an_observer_and_a_stage_reach_the_hub_and_report_its_refusals() {
    let made = Arc::new(AtomicUsize::new(0));
    let hub = Hub::new(mock_registry(&made)).with("mock", Config::new("gadget"));
    let hub = actor::spawn("hub", 8, hub);

    let subject = Subject::<String>::new();
    let _forward = subject.subscribe(ToActor::new(hub.clone(), |event: &String, reply| {
        HubCommand::Send {
            device: "gadget".into(),
            message: event.clone(),
            reply,
        }
    }));
    assert!(subject.notify(&"motion".to_owned()).await.all_delivered());

    let stage = ToActor::new(hub.clone(), |message: String, reply| HubCommand::Send {
        device: "gadget".into(),
        message,
        reply,
    });
    let out: Vec<_> = Pipeline::from_iter(["a", "b"].map(String::from))
        .stage("hub", StageOptions::ordered(2), stage)
        .into_stream()
        .collect()
        .await;
    let out: Vec<String> = out.into_iter().flatten().collect();
    assert_eq!(out, ["ok a", "ok b"]);

    hub.shut_down();
    let report = subject.notify(&"late".to_owned()).await;
    let outcome = &report.deliveries()[0].outcome;
    assert!(
        matches!(outcome, Outcome::Failed(e) if e.to_string().contains("is shutting down")),
        "{report}"
    );
}

/// One run of the property: `senders` tasks each send `per_sender` commands (every
/// `try_every`-th with `try_send`), the system is shut down at `shutdown_at` with `deadline`.
#[derive(Debug, Clone)]
struct Script {
    senders: u64,
    per_sender: u64,
    capacity: usize,
    work: Duration,
    try_every: u64,
    shutdown_at: Duration,
    deadline: Duration,
}

/// What each sender saw: accepted ids with their answers, refused ids with their errors.
type Seen = (Vec<(u64, Result<u64, ActorError>)>, Vec<(u64, ActorError)>);

async fn play(script: Script) {
    let system = ActorSystem::new();
    let (ledger, done) = Ledger::new(script.work);
    let handle = system.spawn("ledger", script.capacity, ledger);
    let senders: Vec<_> = (0..script.senders)
        .map(|sender| {
            let handle = handle.clone();
            let script = script.clone();
            tokio::spawn(async move {
                let (mut accepted, mut refused) = (Vec::new(), Vec::new());
                for i in 0..script.per_sender {
                    let id = sender * 1000 + i;
                    let sent = if i % script.try_every == 0 {
                        handle.try_send(record(id))
                    } else {
                        handle.send(record(id)).await
                    };
                    match sent {
                        Ok(pending) => accepted.push((id, pending)),
                        Err(error) => refused.push((id, error)),
                    }
                }
                let mut answered = Vec::new();
                for (id, pending) in accepted {
                    answered.push((id, pending.await));
                }
                (answered, refused) as Seen
            })
        })
        .collect();
    sleep(script.shutdown_at).await;
    let report = system.shutdown(script.deadline).await;
    // Every sender finishes: no answer is ever lost (a hang would hit this timeout instead).
    let all = tokio::time::timeout(
        Duration::from_secs(3600),
        futures::future::join_all(senders),
    );
    let seen = all.await.expect("every accepted command is answered");

    let done: Vec<u64> = done.lock().unwrap().clone();
    let handled: BTreeSet<u64> = done.iter().copied().collect();
    assert_eq!(
        handled.len(),
        done.len(),
        "a command was handled twice: {done:?}"
    );
    let (mut answered_ok, mut abandoned, mut accepted) = (BTreeSet::new(), 0, 0);
    for seen in seen {
        let (answers, refusals) = seen.expect("no sender panics");
        for (id, answer) in answers {
            accepted += 1;
            match answer {
                Ok(got) => {
                    assert_eq!(got, id, "an answer reached the wrong caller");
                    answered_ok.insert(id);
                }
                Err(ActorError::Abandoned { .. }) => abandoned += 1,
                Err(other) => panic!("accepted command {id} got {other}"),
            }
        }
        for (id, refusal) in refusals {
            assert!(!handled.contains(&id), "refused command {id} was handled");
            assert!(
                matches!(
                    refusal,
                    ActorError::ShuttingDown { .. } | ActorError::Full { .. }
                ),
                "command {id} refused with {refusal}"
            );
        }
    }
    assert_eq!(
        answered_ok, handled,
        "handled exactly the commands answered Ok"
    );
    let stats = report.actors[0].stats;
    assert_eq!(stats.accepted, accepted);
    assert_eq!(
        (stats.handled, stats.refused),
        (done.len() as u64, abandoned)
    );
    assert!(stats.high_water <= script.capacity);
    assert_eq!(alive_tasks_once_settled(0).await, 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn every_accepted_command_is_answered_exactly_once(
        senders in 1u64..8,
        per_sender in 0u64..25,
        capacity in 1usize..6,
        work in 0u64..5,
        try_every in 1u64..4,
        shutdown_at in 0u64..150,
        deadline in 0u64..60,
    ) {
        let script = Script {
            senders,
            per_sender,
            capacity,
            work: ms(work),
            try_every,
            shutdown_at: ms(shutdown_at),
            deadline: ms(deadline),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("a runtime");
        runtime.block_on(play(script));
    }
}

#[tokio::test]
async fn a_capacity_of_zero_is_taken_as_one_and_a_huge_one_is_capped() {
    let zero = actor::spawn("zero", 0, Ledger::new(Duration::ZERO).0);
    assert_eq!(zero.stats().capacity, 1);
    assert_eq!(zero.call(record(1)).await, Ok(1));
    let huge = actor::spawn("huge", usize::MAX, Ledger::new(Duration::ZERO).0);
    assert_eq!(huge.stats().capacity, actor::MAX_CAPACITY);
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

//! Graceful shutdown of several actors and the tasks that use them, as tokio's shutdown guide
//! does it: *detect* (Ctrl-C, a deadline, an admin command: the caller's business), *tell*
//! (each actor, as [`Handle::shut_down`](super::Handle::shut_down) does; the tasks, by one
//! `CancellationToken`), *wait* (a `TaskTracker`, up to a deadline).
//!
//! Told to stop, each actor of an [`ActorSystem`] closes its door (new commands get
//! [`ActorError::ShuttingDown`](super::ActorError::ShuttingDown)) and drains its mailbox,
//! answering every command it had accepted; each task sees the token and winds down. If the
//! deadline passes first, each actor drops the command in hand and refuses the rest
//! ([`ActorError::Abandoned`](super::ActorError::Abandoned)), and each task still running is
//! aborted. The [`ShutdownReport`] says what happened to each.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::AbortHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::status::Shared;
use super::supervisor::Restarts;
use super::{Actor, ActorStats, Handle, RestartPolicy, Status, StopReason, launch, start};
use crate::support::lock;
use crate::timing::human;

/// Actors and tasks that shut down together.
///
/// Dropping it without [`shutdown`](ActorSystem::shutdown) is a shutdown with no time given:
/// every actor abandons the command in hand and those queued
/// ([`ActorError::Abandoned`](super::ActorError::Abandoned) with a zero deadline) and stops,
/// and its tasks are aborted: nothing it spawned outlives it.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use async_patterns::actor::{ActorSystem, Hub, HubHandle};
/// use async_patterns::factory::{Config, device_registry};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let system = ActorSystem::new();
/// let hub = Hub::new(Arc::new(device_registry())).with("light", Config::new("porch"));
/// let hub = HubHandle::from(system.spawn("hub", 32, hub));
/// let token = system.token();
/// let blinker = hub.clone();
/// system.spawn_task(async move {
///     // A task that uses the hub until it is told to stop.
///     while !token.is_cancelled() && blinker.send("porch", "on").await.is_ok() {}
/// });
/// tokio::time::sleep(Duration::from_secs(1)).await;
/// let report = system.shutdown(Duration::from_secs(1)).await;
/// assert!(report.in_time);
/// assert_eq!(report.actors[0].stats.refused, 0); // every accepted command was answered
/// assert!(hub.send("porch", "off").await.is_err()); // ShuttingDown
/// # }
/// ```
#[derive(Default)]
pub struct ActorSystem {
    token: CancellationToken,
    tracker: TaskTracker,
    actors: Mutex<Vec<Arc<Shared>>>,
    tasks: Mutex<Vec<AbortHandle>>,
}

impl ActorSystem {
    /// A system with no actors and no tasks.
    pub fn new() -> Self {
        ActorSystem::default()
    }

    /// Spawn `actor` in this system; otherwise as [`spawn`](super::spawn).
    pub fn spawn<A: Actor>(&self, name: impl Into<String>, capacity: usize, actor: A) -> Handle<A> {
        self.start(name.into(), capacity, (actor, Restarts::none()))
    }

    /// Spawn a supervised actor in this system; otherwise as [`supervise`](super::supervise).
    pub fn supervise<A: Actor>(
        &self,
        name: impl Into<String>,
        capacity: usize,
        policy: RestartPolicy,
        make: impl FnMut() -> A + Send + 'static,
    ) -> Handle<A> {
        self.start(name.into(), capacity, Restarts::first(policy, make))
    }

    /// Spawn an actor (and its supervision) on this system's tracker, and list it.
    fn start<A: Actor>(
        &self,
        name: String,
        capacity: usize,
        (actor, restarts): (A, Restarts<A>),
    ) -> Handle<A> {
        let (handle, task) = start(name, capacity, actor, restarts);
        lock(&self.actors).push(Arc::clone(&handle.shared));
        launch(&handle, task, Some(&self.tracker));
        handle
    }

    /// Spawn a task that uses the actors. It should watch [`token`](ActorSystem::token) and
    /// wind down when told; if it is still running at the deadline, it is aborted.
    ///
    /// Returns whether it was spawned: `false` outside a tokio runtime, where it is dropped
    /// unstarted rather than panicking.
    pub fn spawn_task(&self, task: impl Future<Output = ()> + Send + 'static) -> bool {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        let spawned = self.tracker.spawn_on(task, &runtime);
        lock(&self.tasks).push(spawned.abort_handle());
        true
    }

    /// The token cancelled when shutdown begins: the "tell" for the tasks that use the actors.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Shut everything down: tell every actor and task, wait until all have finished or
    /// `deadline` has passed, then abandon and abort what is left, and report.
    ///
    /// If a handler or a task *blocks* its thread instead of awaiting, nothing can interrupt
    /// it, and this waits for it past the deadline.
    pub async fn shutdown(&self, deadline: Duration) -> ShutdownReport {
        let began = Instant::now();
        // Tell: actors close their doors and drain; tasks see the token.
        for actor in lock(&self.actors).iter() {
            actor.draining();
        }
        self.token.cancel();
        self.tracker.close();
        // Wait, up to the deadline.
        let in_time = tokio::time::timeout(deadline, self.tracker.wait())
            .await
            .is_ok();
        let mut aborted = 0;
        if !in_time {
            // Abandon: every actor still running drops what it holds and refuses the rest.
            for actor in lock(&self.actors).iter() {
                actor.abandon(deadline);
            }
            for task in lock(&self.tasks).iter().filter(|t| !t.is_finished()) {
                task.abort();
                aborted += 1;
            }
            self.tracker.wait().await;
        }
        let actors = lock(&self.actors)
            .iter()
            .map(|a| ActorReport::of(a))
            .collect();
        ShutdownReport {
            took: began.elapsed(),
            deadline,
            in_time,
            tasks: lock(&self.tasks).len(),
            aborted,
            actors,
        }
    }
}

impl fmt::Debug for ActorSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let actors: Vec<String> = lock(&self.actors).iter().map(|a| a.name.clone()).collect();
        f.debug_struct("ActorSystem")
            .field("actors", &actors)
            .field("tasks", &lock(&self.tasks).len())
            .field("shutting_down", &self.token.is_cancelled())
            .finish()
    }
}

impl Drop for ActorSystem {
    fn drop(&mut self) {
        // A shutdown with no time given: each actor abandons what it holds and has queued
        // (its callers get `Abandoned` with a zero deadline), and every task is aborted.
        for actor in lock(&self.actors).iter() {
            actor.abandon(Duration::ZERO);
        }
        self.token.cancel();
        for task in lock(&self.tasks).iter() {
            task.abort();
        }
    }
}

/// What one actor did, as the shutdown found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorReport {
    /// The actor.
    pub name: String,
    /// Its counters: accepted, handled (and drained), refused, high-water mark.
    pub stats: ActorStats,
    /// How it ended.
    pub status: Status,
}

impl ActorReport {
    fn of(actor: &Shared) -> Self {
        ActorReport {
            name: actor.name.clone(),
            // Reported once every actor has stopped: nothing is left in a mailbox.
            stats: actor.stats(0),
            status: actor.status(),
        }
    }
}

impl fmt::Display for ActorReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.stats;
        write!(
            f,
            "{}: accepted {}, handled {} ({} draining), refused {}, panicked {}, \
             high water {}/{}: ",
            self.name,
            s.accepted,
            s.handled,
            s.drained,
            s.refused,
            s.panicked,
            s.high_water,
            s.capacity
        )?;
        match &self.status {
            Status::Stopped(StopReason::ShutDown) => write!(f, "shut down"),
            Status::Stopped(reason) => write!(f, "stopped: {reason}"),
            other => write!(f, "still {other:?}"),
        }
    }
}

/// What a shutdown did: how long it took, and what became of each actor and task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShutdownReport {
    /// From the "tell" to the end of the wait.
    pub took: Duration,
    /// The deadline it was given.
    pub deadline: Duration,
    /// Whether everything had finished by the deadline: nothing abandoned, no task aborted.
    pub in_time: bool,
    /// The tasks spawned with [`ActorSystem::spawn_task`].
    pub tasks: usize,
    /// Of those, the tasks still running at the deadline, and aborted.
    pub aborted: usize,
    /// Every actor, in the order they were spawned.
    pub actors: Vec<ActorReport>,
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.in_time { "within" } else { "past" };
        writeln!(
            f,
            "shutdown took {}, {verdict} its {} deadline; {} tasks, {} aborted at the deadline",
            human(self.took),
            human(self.deadline),
            self.tasks,
            self.aborted
        )?;
        for actor in &self.actors {
            writeln!(f, "  {actor}")?;
        }
        Ok(())
    }
}

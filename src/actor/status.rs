//! What a handle and its task share: the actor's name, its [`Status`], the door, the task's
//! counters, the knock that wakes it, and where a panicking handler's replies wait; and the
//! handle's methods that read it or change it: its life (shut it down, wait for it) and what
//! it shows (its counters, its status).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};

use super::reply::Orphan;
use super::spans::Drain;
use super::{Actor, ActorError, Handle, StopReason};

/// Where an actor is in its life. Read it with [`Handle::status`](super::Handle::status).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// Taking commands. `restarts` counts the times its supervisor restarted it.
    Running {
        /// Restarts so far.
        restarts: u32,
    },
    /// Shutting down: new commands are refused, the ones accepted are still being answered.
    Draining,
    /// The shutdown deadline passed: what was left is being refused with
    /// [`ActorError::Abandoned`].
    Abandoning {
        /// The deadline that passed.
        deadline: Duration,
    },
    /// Stopped for good; its task has ended or is ending.
    Stopped(StopReason),
}

/// An actor's counters, as [`Handle::stats`](super::Handle::stats) reads them.
///
/// Every accepted command ends in exactly one of `handled`, `panicked` and `refused`, or is
/// still in the mailbox, or in hand: `accepted = handled + panicked + refused + queued`, plus
/// one while a handler runs. The task alone counts, so senders never contend for a counter:
/// `accepted` is what it has taken from the mailbox plus what waits there now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ActorStats {
    /// The mailbox's capacity: commands that can wait at once.
    pub capacity: usize,
    /// The most commands ever waiting at once, as the task found them each time it took one
    /// (during a shutdown, its wake-up call may count as one).
    pub high_water: usize,
    /// Commands let into the mailbox.
    pub accepted: u64,
    /// Commands whose handler ran to the end.
    pub handled: u64,
    /// Of `handled`, those handled after shutdown began (the drain).
    pub drained: u64,
    /// Commands whose handler panicked.
    pub panicked: u64,
    /// Commands accepted and then refused: abandoned at the shutdown deadline, or still queued
    /// when the actor stopped.
    pub refused: u64,
    /// Times the supervisor restarted the actor.
    pub restarts: u32,
}

/// Its life and what it shows: shut it down, wait for it, read its counters and status.
impl<A: Actor> Handle<A> {
    /// Begin a graceful shutdown of this actor alone: refuse new commands, answer the
    /// accepted ones, stop. Returns at once; await [`stopped`](Handle::stopped) to wait.
    pub fn shut_down(&self) {
        self.shared.draining();
    }

    /// Wait until the actor has stopped, and say why.
    pub async fn stopped(&self) -> StopReason {
        let mut status = self.shared.watch();
        let stopped = status.wait_for(|s| matches!(s, Status::Stopped(_))).await;
        match stopped.as_deref() {
            Ok(Status::Stopped(reason)) => reason.clone(),
            _ => StopReason::Gone,
        }
    }

    /// Commands waiting in the mailbox now.
    pub fn queued(&self) -> usize {
        self.mailbox.max_capacity() - self.mailbox.capacity()
    }

    /// The actor's name, as its errors give it.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Its counters: capacity, high-water mark, commands accepted, handled, refused.
    pub fn stats(&self) -> ActorStats {
        self.shared.stats(self.queued())
    }

    /// Where it is in its life: running (with its restarts), draining, stopped and why.
    pub fn status(&self) -> Status {
        self.shared.status()
    }
}

impl<A: Actor> std::fmt::Debug for Handle<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("actor", &self.shared.name)
            .field("status", &self.shared.status())
            .field("queued", &self.queued())
            .finish()
    }
}

/// What a handle and its task share. The handles read it to refuse a command with the right
/// reason; the task writes it as it drains, restarts or stops; a reply dropped unanswered
/// reads it to tell its caller why; whoever begins a shutdown sets it, then knocks.
pub(super) struct Shared {
    pub(super) name: String,
    pub(super) capacity: usize,
    /// The truth about its life, and why a command is refused.
    status: watch::Sender<Status>,
    /// The door: a semaphore with no permits, closed once when a shutdown begins. A sender
    /// with room checks it (`is_closed`, one atomic load, where reading the status takes a read
    /// lock); a sender waiting for room waits on `acquire`, which fails the moment it closes.
    door: Semaphore,
    /// Wakes a task waiting for commands after a shutdown changed the status.
    knock: Box<dyn Fn() + Send + Sync>,
    /// The actor's task, once it runs: a reply dropped by a panic there is its handler's.
    task: OnceLock<tokio::task::Id>,
    /// Where such a reply waits until the task has caught the panic.
    parked: std_mpsc::Sender<Orphan>,
    /// The drain's span, from a shutdown's beginning to the stop (`spans.rs`).
    pub(super) drain: Drain,
    taken: AtomicU64,
    high_water: AtomicUsize,
    handled: AtomicU64,
    drained: AtomicU64,
    panicked: AtomicU64,
    refused: AtomicU64,
    restarts: AtomicU32,
}

impl Shared {
    pub(super) fn new(
        name: String,
        capacity: usize,
        knock: Box<dyn Fn() + Send + Sync>,
        parked: std_mpsc::Sender<Orphan>,
    ) -> Self {
        Shared {
            name,
            capacity,
            status: watch::Sender::new(Status::Running { restarts: 0 }),
            door: Semaphore::new(0),
            knock,
            task: OnceLock::new(),
            parked,
            drain: Drain::default(),
            taken: AtomicU64::new(0),
            high_water: AtomicUsize::new(0),
            handled: AtomicU64::new(0),
            drained: AtomicU64::new(0),
            panicked: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            restarts: AtomicU32::new(0),
        }
    }

    // The status: read by everyone, changed by the task and by whoever shuts it down.

    pub(super) fn status(&self) -> Status {
        self.status.borrow().clone()
    }

    pub(super) fn watch(&self) -> watch::Receiver<Status> {
        self.status.subscribe()
    }

    pub(super) fn set_status(&self, status: Status) {
        self.status.send_replace(status);
    }

    /// Whether a new command may come in: until a shutdown begins.
    pub(super) fn is_open(&self) -> bool {
        !self.door.is_closed()
    }

    /// Wait until the door closes (a shutdown began); forever, if it never does.
    pub(super) async fn closed(&self) {
        // Nobody holds or adds a permit: `acquire` can only end by failing, when it closes.
        let _closed = self.door.acquire().await;
    }

    /// Wait until the shutdown deadline has passed.
    pub(super) async fn abandoning(&self) {
        let mut status = self.watch();
        let abandoning = status.wait_for(|s| matches!(s, Status::Abandoning { .. }));
        if abandoning.await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Shutdown has begun: close the door (say `Draining`, unless already past it), and knock:
    /// the task closes its mailbox and drains it.
    pub(super) fn draining(&self) {
        let running = |now: &Status| matches!(now, Status::Running { .. });
        let changed = || self.replace_if(running, Status::Draining);
        self.drain.begin(&self.name, changed);
        self.door.close();
        (self.knock)();
    }

    /// The shutdown deadline passed: say `Abandoning` (unless stopped), and knock: the task
    /// drops the command in hand and refuses the rest.
    pub(super) fn abandon(&self, deadline: Duration) {
        let changed = || self.set_unless_stopped(Status::Abandoning { deadline });
        self.drain.deadline(&self.name, deadline, changed);
        self.door.close();
        (self.knock)();
    }

    /// Say `status` (abandoning, or gone), unless the actor has already stopped.
    pub(super) fn set_unless_stopped(&self, status: Status) -> bool {
        self.replace_if(|now| !matches!(now, Status::Stopped(_)), status)
    }

    /// The task is stopping for `reason`: say so, unless the deadline's `Abandoning` says more.
    pub(super) fn stopping(&self, reason: &StopReason) {
        let stopped = Status::Stopped(reason.clone());
        self.replace_if(|now| !matches!(now, Status::Abandoning { .. }), stopped);
    }

    /// The task is about to stop for `reason`: the drain's span, if a shutdown began, ends
    /// saying what was refused.
    pub(super) fn drained(&self, reason: &StopReason) {
        let refused = self.refused.load(Ordering::Relaxed);
        self.drain.end(&self.status(), reason, refused);
    }

    /// The supervisor restarted the actor: count it, and say so in the status (unless a
    /// shutdown has begun meanwhile: the door stays closed).
    pub(super) fn restarted(&self) {
        let restarts = self.restarts.fetch_add(1, Ordering::Relaxed) + 1;
        let running = |now: &Status| matches!(now, Status::Running { .. });
        self.replace_if(running, Status::Running { restarts });
    }

    /// Replace the status with `status` if `when` the one now; whether it did.
    fn replace_if(&self, when: impl Fn(&Status) -> bool, status: Status) -> bool {
        self.status.send_if_modified(|now| {
            let replace = when(now);
            if replace {
                *now = status;
            }
            replace
        })
    }

    /// Why a new command is refused at a closed door.
    pub(super) fn refusal(&self) -> ActorError {
        self.drain.refused();
        let actor = self.name.clone();
        match self.status() {
            Status::Stopped(StopReason::ShutDown) => ActorError::ShuttingDown { actor },
            Status::Stopped(reason) => ActorError::Stopped { actor, reason },
            // The door closes only when shutting down or stopping (a task dropped with its
            // runtime says `Stopped(Gone)` first).
            _ => ActorError::ShuttingDown { actor },
        }
    }

    /// Why an accepted command's reply was dropped unanswered (not by a panic).
    pub(super) fn unanswered(&self) -> ActorError {
        let actor = self.name.clone();
        match self.status() {
            Status::Abandoning { deadline } => ActorError::Abandoned { actor, deadline },
            Status::Stopped(reason) => ActorError::Stopped { actor, reason },
            Status::Running { .. } | Status::Draining => ActorError::NoReply { actor },
        }
    }

    // Replies dropped by a panic.

    /// Remember the actor's task: the one this is called on.
    pub(super) fn runs_here(&self) {
        let _first = self.task.set(tokio::task::id());
    }

    /// Whether this is the actor's own task.
    pub(super) fn on_its_task(&self) -> bool {
        self.task
            .get()
            .is_some_and(|task| Some(*task) == tokio::task::try_id())
    }

    /// Leave `orphan` for the task to answer, and mark the status watch, which the task asks
    /// between commands. If the task is gone, the orphan is dropped: it answers itself.
    pub(super) fn park(&self, orphan: Orphan) {
        if self.parked.send(orphan).is_ok() {
            self.status.send_modify(|_unchanged| ());
        }
    }

    // The counters. The task alone writes them, so senders never contend for them, and a
    // load and a store count one more: a `fetch_add` would lock the bus for a number no one
    // else changes (3 % of an ask with 50 callers, measured). `Relaxed` is enough for numbers
    // nothing else is ordered by.

    /// The commands the task has taken: the number of the one in hand.
    pub(super) fn taken(&self) -> u64 {
        self.taken.load(Ordering::Relaxed)
    }

    /// The task took a command, leaving `queued` behind it: with the one it took, that many
    /// were waiting, but never more than the capacity (a sender may already have taken the
    /// place it freed, and be counted in `queued`).
    pub(super) fn took(&self, queued: usize) {
        bump(&self.taken);
        let waiting = (queued + 1).min(self.capacity);
        if waiting > self.high_water.load(Ordering::Relaxed) {
            self.high_water.store(waiting, Ordering::Relaxed);
        }
    }

    pub(super) fn handled(&self, draining: bool) {
        bump(&self.handled);
        if draining {
            bump(&self.drained);
        }
    }

    pub(super) fn panicked(&self) {
        bump(&self.panicked);
    }

    pub(super) fn refused(&self) {
        bump(&self.refused);
    }

    /// The counters, with `queued` commands waiting in the mailbox now.
    pub(super) fn stats(&self, queued: usize) -> ActorStats {
        let load = |n: &AtomicU64| n.load(Ordering::Relaxed);
        ActorStats {
            capacity: self.capacity,
            high_water: self.high_water.load(Ordering::Relaxed).max(queued),
            accepted: load(&self.taken) + queued as u64,
            handled: load(&self.handled),
            drained: load(&self.drained),
            panicked: load(&self.panicked),
            refused: load(&self.refused),
            restarts: self.restarts.load(Ordering::Relaxed),
        }
    }
}

/// One more, on a counter only the task writes.
fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

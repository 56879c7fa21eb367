//! What a handle and its task share: the actor's name, its mailbox's counters, its [`Status`],
//! the two signals that shut it down, and the replies a panic left unanswered.
//!
//! The handles read it to refuse a command with the right reason; the task writes it as it
//! drains, restarts or stops; a [`Reply`](super::Reply) dropped unanswered reads it to tell
//! its caller why.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

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
/// Every accepted command ends in exactly one of `handled`, `panicked` and `refused` (or is
/// still in the mailbox): `accepted = handled + panicked + refused + queued`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ActorStats {
    /// The mailbox's capacity: commands that can wait at once.
    pub capacity: usize,
    /// The most commands ever waiting at once, counted as each was accepted.
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

/// What a handle can see of its actor.
impl<A: Actor> Handle<A> {
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
        self.shared.stats()
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

pub(super) struct Shared {
    pub(super) name: String,
    pub(super) capacity: usize,
    /// Cancelled: stop accepting, drain the mailbox, stop.
    pub(super) token: CancellationToken,
    /// Cancelled: the shutdown deadline passed; drop the command in hand and refuse the rest.
    pub(super) cut: CancellationToken,
    status: watch::Sender<Status>,
    high_water: AtomicUsize,
    accepted: AtomicU64,
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
        token: CancellationToken,
        cut: CancellationToken,
    ) -> Self {
        Shared {
            name,
            capacity,
            token,
            cut,
            status: watch::Sender::new(Status::Running { restarts: 0 }),
            high_water: AtomicUsize::new(0),
            accepted: AtomicU64::new(0),
            handled: AtomicU64::new(0),
            drained: AtomicU64::new(0),
            panicked: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            restarts: AtomicU32::new(0),
        }
    }

    pub(super) fn status(&self) -> Status {
        self.status.borrow().clone()
    }

    pub(super) fn set_status(&self, status: Status) {
        self.status.send_replace(status);
    }

    /// Shutdown has begun: say so, unless the actor is already past draining.
    pub(super) fn draining(&self) {
        self.status.send_if_modified(|now| {
            let running = matches!(now, Status::Running { .. });
            if running {
                *now = Status::Draining;
            }
            running
        });
    }

    /// Say `status` (abandoning, or gone), unless the actor has already stopped.
    pub(super) fn set_unless_stopped(&self, status: Status) {
        self.status.send_if_modified(|now| {
            let running = !matches!(now, Status::Stopped(_));
            if running {
                *now = status;
            }
            running
        });
    }

    pub(super) fn watch(&self) -> watch::Receiver<Status> {
        self.status.subscribe()
    }

    pub(super) fn stats(&self) -> ActorStats {
        let load = |n: &AtomicU64| n.load(Ordering::SeqCst);
        ActorStats {
            capacity: self.capacity,
            high_water: self.high_water.load(Ordering::SeqCst),
            accepted: load(&self.accepted),
            handled: load(&self.handled),
            drained: load(&self.drained),
            panicked: load(&self.panicked),
            refused: load(&self.refused),
            restarts: self.restarts.load(Ordering::SeqCst),
        }
    }

    /// A command was accepted, leaving `queued` in the mailbox.
    pub(super) fn accepted(&self, queued: usize) {
        self.accepted.fetch_add(1, Ordering::SeqCst);
        self.high_water.fetch_max(queued, Ordering::SeqCst);
    }

    pub(super) fn handled(&self, draining: bool) {
        self.handled.fetch_add(1, Ordering::SeqCst);
        if draining {
            self.drained.fetch_add(1, Ordering::SeqCst);
        }
    }

    pub(super) fn panicked(&self) {
        self.panicked.fetch_add(1, Ordering::SeqCst);
    }

    pub(super) fn refused(&self) {
        self.refused.fetch_add(1, Ordering::SeqCst);
    }

    /// The supervisor restarted the actor: count it, and say so in the status.
    pub(super) fn restarted(&self) {
        let restarts = self.restarts.fetch_add(1, Ordering::SeqCst) + 1;
        self.set_status(Status::Running { restarts });
    }

    /// The task is stopping for `reason`: say so, unless the deadline's `Abandoning` says more.
    pub(super) fn stopping(&self, reason: &StopReason) {
        self.status.send_if_modified(|status| {
            let abandoning = matches!(status, Status::Abandoning { .. });
            if !abandoning {
                *status = Status::Stopped(reason.clone());
            }
            !abandoning
        });
    }

    /// Why a new command is refused at a closed door.
    pub(super) fn refusal(&self) -> ActorError {
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
}

//! How an actor's task starts: its mailbox, its shared status and the knock that connects
//! them, made together; then spawned on the current runtime (or, outside one, never
//! started, and saying so), wrapped so that a runtime dropping it leaves the truth behind.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::mpsc;
use tokio_util::task::TaskTracker;
use tracing::instrument::WithSubscriber;

use super::status::Shared;
use super::supervisor::Restarts;
use super::{Actor, Handle, Letter, MAX_CAPACITY, Status, StopReason, run};

/// A handle and the task to spawn.
pub(super) fn start<A: Actor>(
    name: String,
    capacity: usize,
    actor: A,
    restarts: Restarts<A>,
) -> (Handle<A>, impl Future<Output = ()> + Send + 'static) {
    let capacity = capacity.clamp(1, MAX_CAPACITY);
    let (mailbox, inbox) = mpsc::channel(capacity);
    // A knock needs a place: with none free the task has commands to take, and it reads the
    // status before each. It must not keep the mailbox open, so it holds a weak sender.
    let weak = mailbox.downgrade();
    let knock = move || {
        if let Some(mailbox) = weak.upgrade() {
            let _full_or_closed = mailbox.try_send(Letter::Knock);
        }
    };
    let (park, parked) = std::sync::mpsc::channel();
    let shared = Arc::new(Shared::new(name, capacity, Box::new(knock), park));
    // Subscribed now, before any handle exists: the task sees every change from the first.
    let status = shared.watch();
    let task = run(actor, inbox, status, parked, Arc::clone(&shared), restarts);
    let task = Spawned {
        task: Box::pin(task),
        shared: Arc::clone(&shared),
        ended: false,
    };
    (Handle { mailbox, shared }, task)
}

/// Spawn an actor's task on the current runtime (tracked by `tracker`, if given). Outside a
/// runtime the task is dropped unstarted, closing the mailbox, and the status says why.
pub(super) fn launch<A: Actor>(
    handle: &Handle<A>,
    task: impl Future<Output = ()> + Send + 'static,
    tracker: Option<&TaskTracker>,
) {
    match tokio::runtime::Handle::try_current() {
        // If someone listens here, the task carries the subscriber in place, so that a
        // recording made for one future sees the actor's spans; nobody listening, it runs bare.
        Ok(runtime) if tracing::enabled!(tracing::Level::DEBUG) => {
            spawn_on(&runtime, task.with_current_subscriber(), tracker);
        }
        Ok(runtime) => spawn_on(&runtime, task, tracker),
        Err(_) => {
            let reason = StopReason::NoRuntime;
            handle.shared.set_status(Status::Stopped(reason));
            drop(task);
        }
    }
}

/// Spawn `task` on `runtime`, tracked by `tracker` if given.
fn spawn_on(
    runtime: &tokio::runtime::Handle,
    task: impl Future<Output = ()> + Send + 'static,
    tracker: Option<&TaskTracker>,
) {
    match tracker {
        Some(tracker) => drop(tracker.spawn_on(task, runtime)),
        None => drop(runtime.spawn(task)),
    }
}

/// The actor's task as it is spawned: `run`, and what to say if it is dropped unfinished.
///
/// A runtime that shuts down drops its tasks where they stand. Dropping this one first sets
/// the status, and only then drops `run` with the command in hand and the mailbox: so each
/// reply dropped with them, and [`Handle::stopped`], say what happened ([`StopReason::Gone`]).
struct Spawned<F> {
    task: Pin<Box<F>>,
    shared: Arc<Shared>,
    ended: bool,
}

impl<F: Future<Output = ()>> Future for Spawned<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let polled = self.task.as_mut().poll(cx);
        self.ended = polled.is_ready();
        polled
    }
}

impl<F> Drop for Spawned<F> {
    fn drop(&mut self) {
        // `drop` runs before the fields are dropped: the status is set before any reply reads it.
        if !self.ended {
            let reason = if std::thread::panicking() {
                // Not the runtime: the loop itself unwound (a command's own `Drop` panicked).
                StopReason::Panicked {
                    message: "a panic outside its handler (dropping a command)".to_owned(),
                }
            } else {
                StopReason::Gone
            };
            self.shared.set_unless_stopped(Status::Stopped(reason));
            // A drain under way ends here, cut short (drawn cancelled).
            drop(self.shared.drain.take());
        }
    }
}

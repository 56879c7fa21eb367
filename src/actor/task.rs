//! The actor's task: started with its mailbox and its shared status, spawned on the current
//! runtime (or, outside one, never started, and saying so), then its loop: one command at a
//! time until the mailbox is closed and empty, a panic stops it, or the deadline cuts it off.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::reply::Parked;
use super::status::Shared;
use super::supervisor::Restarts;
use super::{Actor, ActorError, Handle, MAX_CAPACITY, Status, StopReason};
use crate::support::catch_panic;

/// A handle and the task to spawn; `tokens` are (shutdown, deadline), fresh if `None`.
pub(super) fn start<A: Actor>(
    name: String,
    capacity: usize,
    actor: A,
    restarts: Restarts<A>,
    tokens: Option<(CancellationToken, CancellationToken)>,
) -> (Handle<A>, impl Future<Output = ()> + Send + 'static) {
    let capacity = capacity.clamp(1, MAX_CAPACITY);
    let (token, cut) = tokens.unwrap_or_default();
    let shared = Arc::new(Shared::new(name, capacity, token, cut));
    let (mailbox, inbox) = mpsc::channel(capacity);
    let task = run(actor, inbox, Arc::clone(&shared), restarts);
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
    match (tokio::runtime::Handle::try_current(), tracker) {
        (Ok(runtime), Some(tracker)) => drop(tracker.spawn_on(task, &runtime)),
        (Ok(runtime), None) => drop(runtime.spawn(task)),
        (Err(_), _) => {
            let reason = StopReason::NoRuntime;
            handle.shared.set_status(Status::Stopped(reason));
            drop(task);
        }
    }
}

/// The actor's task as it is spawned: `run`, and what to say if it is dropped unfinished.
///
/// A runtime that shuts down drops its tasks where they stand. Dropping this one first sets
/// the status, and only then drops `run` with the command in hand and the mailbox: so each
/// reply dropped with them, and [`Handle::stopped`], say what happened ([`StopReason::Gone`]).
struct Spawned<F> {
    task: std::pin::Pin<Box<F>>,
    shared: Arc<Shared>,
    ended: bool,
}

impl<F: Future<Output = ()>> Future for Spawned<F> {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
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
        }
    }
}

/// The actor's task: take commands one at a time until the mailbox is closed and empty.
async fn run<A: Actor>(
    mut actor: A,
    mut inbox: mpsc::Receiver<A::Command>,
    shared: Arc<Shared>,
    mut restarts: Restarts<A>,
) {
    let mut draining = false;
    // Made once, not per command: each registers with its token when first polled.
    let mut cut = std::pin::pin!(shared.cut.cancelled());
    let mut told = std::pin::pin!(shared.token.cancelled());
    let reason = loop {
        let next = tokio::select! {
            biased;
            () = &mut cut => break StopReason::ShutDown,
            () = &mut told, if !draining => {
                // Shutdown: close the door (senders are refused from now on) and drain.
                draining = true;
                inbox.close();
                shared.draining();
                continue;
            }
            next = inbox.recv() => next,
        };
        // `None`: the door is closed (shutdown, or no handle left) and the mailbox is empty.
        let Some(command) = next else {
            break StopReason::ShutDown;
        };
        // One command, the state all to itself. A panic is caught, even one in the code that
        // builds the handler's future (called inside the `async` block, so inside the catch);
        // the replies it drops wait in `parked` for its message. The shutdown deadline drops
        // the command where it stands, and its reply answers `Abandoned`.
        let (handled, parked) = {
            let handler = Parked::scope(&shared, async { actor.handle(command).await });
            let mut handler = std::pin::pin!(handler);
            let handled = tokio::select! {
                biased;
                () = &mut cut => None,
                caught = catch_panic(handler.as_mut()) => Some(caught),
            };
            (handled, handler.as_mut().take_value())
        };
        match handled {
            None => {
                shared.refused();
                break StopReason::ShutDown;
            }
            Some(Ok(())) => {
                shared.handled(draining);
                // Replies dropped by a panic that the handler caught itself: answer them now.
                if let Some(parked) = parked {
                    parked.answer(|| shared.unanswered());
                }
            }
            Some(Err(message)) => {
                // The caller of the command that panicked learns why; then restart, or stop.
                shared.panicked();
                if let Some(parked) = parked {
                    parked.answer(|| ActorError::Panicked {
                        actor: shared.name.clone(),
                        message: message.clone(),
                    });
                }
                match restarts.after_panic(message) {
                    Ok(fresh) => actor = fresh,
                    Err(reason) => break reason,
                }
                shared.restarted();
            }
        }
    };
    // Whatever is still queued is refused: each command's reply reads the status set here
    // (or `Abandoning`, set by the deadline) and answers with it as it is dropped.
    shared.stopping(&reason);
    inbox.close();
    while let Some(command) = inbox.recv().await {
        shared.refused();
        drop(command);
    }
    shared.set_status(Status::Stopped(reason));
}

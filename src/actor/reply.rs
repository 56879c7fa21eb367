//! The two ends of a command's answer: [`Reply`], which travels inside the command to the
//! actor, and [`Pending`], which the caller awaits. Together they keep the actor's promise:
//! **every accepted command gets exactly one answer**.
//!
//! *At most one* comes from `oneshot`: [`Reply::send`] consumes the reply. *At least one* comes
//! from `Drop`: a reply dropped unanswered answers on its own, with the reason it can read from
//! the actor's status (the deadline passed, the actor stopped, or its handler forgot).
//!
//! A reply dropped by a panic cannot know the panic's message yet. If the panic is on its
//! actor's own task (tokio gives each task an id), it is its handler's, and the task is about
//! to catch it: the reply leaves its sender with the actor, and the task answers it with the
//! message it caught (an `Orphan`, until then). A reply dropped by a panic on any other task
//! (one it was moved into) answers at once: nothing else will.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::task::{Context, Poll};

use tokio::sync::oneshot;

use super::ActorError;
use super::status::Shared;

/// Where a command's answer goes.
///
/// The error travels boxed, and `Pending` unboxes it: errors are rare, and unboxed (72 bytes)
/// it would make every answer's channel three cache lines instead of one, measured as a fifth
/// of an ask with 50 callers.
type Answer<T> = oneshot::Sender<Result<T, Box<ActorError>>>;

/// The reply half of a command: the handler answers its caller through it, exactly once.
///
/// Created by [`Handle::send`](super::Handle::send) and friends, which give it to the closure
/// that builds the command. A handler that drops it unanswered does not leave the caller
/// waiting: the caller gets [`ActorError::NoReply`] (or, if the actor was stopping, the reason;
/// if its handler panicked, [`ActorError::Panicked`]). Moved out of the handler (into a task of
/// its own) and dropped there by a panic, it answers [`ActorError::LostInPanic`] at once.
pub struct Reply<T: Send + 'static> {
    answer: Option<Answer<T>>,
    shared: Arc<Shared>,
}

impl<T: Send + 'static> Reply<T> {
    /// Answer the caller with `value`. Returns `false` if nobody waits any more (the caller
    /// dropped its call); the value is then dropped.
    pub fn send(mut self, value: T) -> bool {
        match self.answer.take() {
            Some(answer) => answer.send(Ok(value)).is_ok(),
            None => false,
        }
    }

    /// Whether the caller has stopped waiting (it dropped its call's future). A handler may
    /// skip work that nobody will see; the command was accepted all the same.
    pub fn is_closed(&self) -> bool {
        self.answer.as_ref().is_none_or(oneshot::Sender::is_closed)
    }
}

impl<T: Send + 'static> Drop for Reply<T> {
    fn drop(&mut self) {
        let Some(answer) = self.answer.take() else {
            return;
        };
        let (answer, error) = if std::thread::panicking() {
            // Dropped by a panic: on the actor's own task it is its handler unwinding, so leave
            // the sender with the actor; the task catches the panic next and answers with its
            // message.
            if self.shared.on_its_task() {
                let orphan = move |error| drop(answer.send(Err(Box::new(error))));
                self.shared
                    .park(Orphan::new(self.shared.name.clone(), orphan));
                return;
            }
            let actor = self.shared.name.clone();
            (answer, ActorError::LostInPanic { actor })
        } else {
            (answer, self.shared.unanswered())
        };
        let _ = answer.send(Err(Box::new(error)));
    }
}

impl<T: Send + 'static> std::fmt::Debug for Reply<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply")
            .field("actor", &self.shared.name)
            .field("answered", &self.answer.is_none())
            .finish()
    }
}

/// An accepted command's answer, to await: the value its handler sent, or why there is none.
///
/// Dropping it does not withdraw the command (it was accepted, so it runs); only its answer is
/// discarded.
#[must_use = "the command was accepted and will run; await this to get its answer"]
pub struct Pending<T> {
    answer: oneshot::Receiver<Result<T, Box<ActorError>>>,
}

impl<T> Future for Pending<T> {
    type Output = Result<T, ActorError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let answered = Pin::new(&mut self.answer).poll(cx);
        // Every way a reply can go answers through its sender: `Reply::send`, its `Drop`, or,
        // for a reply parked by a panic, the task or the orphan's own `Drop`. So the channel
        // cannot close unanswered (a leaked reply never closes it at all), and `Pending` need
        // not hold the actor (a second reference count to change per ask, measured at 7 % of
        // one). Were it to close, the error could not name the actor.
        answered.map(|answer| match answer {
            Ok(answer) => answer.map_err(|error| *error),
            Err(_closed) => Err(ActorError::NoReply {
                actor: String::new(),
            }),
        })
    }
}

impl<T> std::fmt::Debug for Pending<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").finish_non_exhaustive()
    }
}

/// A new reply and the pending answer it feeds.
pub(super) fn pair<T: Send + 'static>(shared: &Arc<Shared>) -> (Reply<T>, Pending<T>) {
    let (answer, receive) = oneshot::channel();
    let reply = Reply {
        answer: Some(answer),
        shared: Arc::clone(shared),
    };
    let pending = Pending { answer: receive };
    (reply, pending)
}

/// An answer the task owes: the reply of a command whose handler panicked, parked until the
/// task has caught the panic and knows its message. Dropped unanswered (its task unwound
/// before it could answer), it answers [`ActorError::LostInPanic`] itself.
pub(super) struct Orphan {
    answer: Option<Box<dyn FnOnce(ActorError) + Send>>,
    actor: String,
}

impl Orphan {
    pub(super) fn new(actor: String, answer: impl FnOnce(ActorError) + Send + 'static) -> Self {
        let answer = Some(Box::new(answer) as Box<dyn FnOnce(ActorError) + Send>);
        Orphan { answer, actor }
    }

    fn answer(mut self, error: ActorError) {
        if let Some(answer) = self.answer.take() {
            answer(error);
        }
    }
}

impl Drop for Orphan {
    fn drop(&mut self) {
        if let Some(answer) = self.answer.take() {
            let actor = std::mem::take(&mut self.actor);
            answer(ActorError::LostInPanic { actor });
        }
    }
}

/// Answer every reply waiting in `parked` with `error`.
pub(super) fn answer(parked: &std_mpsc::Receiver<Orphan>, error: impl Fn() -> ActorError) {
    while let Ok(orphan) = parked.try_recv() {
        orphan.answer(error());
    }
}

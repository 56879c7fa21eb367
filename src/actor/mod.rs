//! Actor: a task that owns its state and takes commands, one at a time, from a bounded mailbox.
//!
//! # The concept
//! State that many tasks use usually sits behind a lock, and every task takes turns holding
//! it. An *actor* turns this around: one task owns the state, and the others send it
//! *commands* through a channel, each command carrying a `oneshot` sender for its answer. A
//! *handle* is the cheap, cloneable sending end; its methods send a command and await the
//! answer. It is the classic Command pattern, with the invoker (the handle) and the receiver
//! (the task) split by a channel; the state needs no lock, because only one task touches it.
//!
//! # The two shapes, side by side
//! The classic sync shape on the left, the async shape on the right, both compiled (in
//! `shapes/`, with a test that they answer the same calls alike); what async changed is marked.
//!
#![doc = include_str!("shapes/side_by_side.html")]
//!
//! **What changed:** the lock became a task. Each method became a command (an enum variant
//! with its reply channel) that the handle sends and awaits; the state's own methods, and the
//! callers' code, are the same. One bound is new: the task may run on any worker thread and
//! outlive the call that spawned it, so its future is `Send + 'static`, and with it the state
//! and every command (their replies included). [`Actor`] asks the same: `Actor: Send +
//! 'static`, `Command: Send + 'static`, and a `Send` future from `handle`.
//!
//! <details><summary>The two shapes as code, to copy</summary>
//!
//! ```rust
#![doc = include_str!("shapes/sync_shape.rs")]
//! ```
//!
//! ```rust
#![doc = include_str!("shapes/async_shape.rs")]
//! ```
//!
//! </details>
//!
//! # What async adds
//! [`Handle<A>`] is that handle for any [`Actor`], and [`Reply`] the reply channel, made so
//! that **every accepted command gets exactly one answer**: its value, or a typed reason.
//! * **Back-pressure.** The mailbox is bounded: [`Handle::send`] waits for room,
//!   [`Handle::try_send`] refuses at once with [`ActorError::Full`]. [`Handle::stats`] shows the
//!   capacity and the high-water mark.
//! * **Failure.** A panic in a command is caught: its caller gets [`ActorError::Panicked`], and
//!   the actor stops ([`StopReason::Panicked`]) unless [`supervise`] restarts it, within a
//!   [`RestartPolicy`] (then [`StopReason::GaveUp`]). No caller ever hangs or panics.
//! * **Graceful shutdown.** [`ActorSystem`] (a `CancellationToken` and a `TaskTracker`, as in
//!   tokio's shutdown guide) stops several actors and the tasks that use them: new commands get
//!   [`ActorError::ShuttingDown`], the mailboxes drain, and at a deadline what is left is
//!   abandoned ([`ActorError::Abandoned`]) and counted in a [`ShutdownReport`].
//! * **On something real.** [`Hub`] owns devices made by the factory's
//!   [`Registry`](crate::factory::Registry); [`ToActor`] lets an observer or a pipeline stage
//!   talk to an actor.
//!
//! Each promise rests on a primitive a tokio reader knows:
//! * *At most one answer*: a `oneshot` channel per command, which [`Reply::send`] consumes.
//!   *At least one*: `Reply`'s `Drop`, which answers with the reason the status gives; a reply
//!   dropped by its own handler's panic (it knows its actor's task by tokio's task id) waits
//!   for the task to catch the panic and answer with its message.
//! * *Refusal once shutdown begins*: the door, a tokio `Semaphore` with no permits, closed
//!   once. A send checks it with one atomic load; a sender waiting for room waits on it too.
//! * *The drain*: the task closes its `mpsc` receiver, which still takes in the senders that
//!   already had a place, and ends when the mailbox is empty.
//! * *The deadline*: the status is a `watch`. The task asks it between commands whether
//!   anything changed (one atomic load) and watches it while a handler awaits; a task waiting
//!   for commands is woken by a knock, a letter in its own mailbox.
//! * *A runtime dropped under an actor*: the spawned task's `Drop` sets the status before the
//!   command in hand and the mailbox are dropped, so their callers and
//!   [`stopped`](Handle::stopped) hear [`StopReason::Gone`].
//!
//! # What it looks like
//! Each command is a `tracing` span, and so is each shutdown's drain, with its instants as
//! events (`spans.rs`). A [`Hub`] at shutdown, drawn from them on tokio's paused clock
//! (`tests/pictures`): six commands of 20 ms queued at once, and at 30 ms a shutdown with 60 ms
//! to drain (the first diamond). The command in hand, #2, ends at 40 ms; the drain handles #3
//! and #4; a caller at 50 ms is refused at the closed door (the second diamond); at 90 ms the
//! deadline cuts #5 off (grey) and abandons #6, which never started (the last two diamonds).
//! Every caller got an answer: four values, two `Abandoned`, one `ShuttingDown`.
//!
#![doc = include_str!("pictures/drain.svg")]
//!
//! # What it costs
//! An ask ([`Handle::call`]) is a channel send, a wake-up, the handler, a `oneshot` answer and
//! a second wake-up, as in the actor any tokio program can write by hand: a task, an `mpsc`
//! of commands each carrying a `oneshot::Sender`. Against that floor it costs 1.1 to 1.3x in
//! most runs, on a current-thread runtime and on two workers, with one caller and with fifty
//! (`benches/actor.rs` on a shared 2-core VM; two workers with fifty callers varied most, 1.0
//! to 1.6x), and 1.15x and 1.22x by instructions, counted with callgrind. The gap buys what
//! the floor does not do: a caught panic, a typed answer for every command that could not be
//! handled, refusal from the moment a shutdown begins, the drain and its deadline,
//! supervision, and the counters. It was 2x while the task polled two `CancellationToken`s
//! per command, each poll taking two locks.
//!
//! Against an uncontended `tokio::sync::Mutex`, a call to the [`Hub`] with no work costs 0.6
//! to 1.8 µs against 0.1 to 0.2 µs: two task switches against one lock. Once each command
//! awaits real work (10 µs there) the two are within 1.0 to 1.2x, with one caller or fifty.
//! Choose an actor for what it guarantees, not for speed. And one slow command holds up all
//! behind it, as a lock held across an `.await` would.
//!
//! # Cancellation
//! Dropping a call while it waits for room withdraws the command: it was never accepted.
//! Dropping it after acceptance does not: the command runs, and only its answer is discarded
//! ([`Reply::is_closed`] lets a handler notice). When every handle is dropped the mailbox
//! closes, and the task answers what is queued and ends: nothing outlives its handles.
//!
//! # Where the rest is
//! Here, in order: the trait, [`spawn`], [`Handle`] and how it sends, then the task's loop
//! (`run`), which calls the handler in the command's span. One file away: starting the task
//! (`task.rs`), [`Reply`], [`Pending`] and the replies a panic leaves (`reply.rs`), [`Status`],
//! [`ActorStats`], what a handle shares with its task and the handle's life (`status.rs`), the
//! spans (`spans.rs`), the errors, [`supervise`], [`ActorSystem`] (`shutdown.rs`), the [`Hub`]
//! and [`ToActor`] (`bridges.rs`).

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tracing::Instrument;

mod bridges;
mod errors;
mod hub;
mod reply;
#[cfg(test)]
mod shapes;
mod shutdown;
mod spans;
mod status;
mod supervisor;
mod task;

pub use bridges::ToActor;
pub use errors::{ActorError, StopReason};
pub use hub::{DeviceInfo, Hub, HubCommand, HubError, HubHandle};
pub use reply::{Pending, Reply};
pub use shutdown::{ActorReport, ActorSystem, ShutdownReport};
pub use status::{ActorStats, Status};
pub use supervisor::{RestartPolicy, supervise};

use reply::{Orphan, answer};
use status::Shared;
use supervisor::Restarts;
use task::{launch, start};

use crate::support::catch_panic;

/// The largest mailbox: a larger capacity is taken as this one (and 0 as 1).
pub const MAX_CAPACITY: usize = 1 << 20;

/// State owned by one task, changed only by the commands it is sent.
///
/// `handle` is a native `async fn` (an actor is a generic task, never a `dyn`, so nothing is
/// boxed): the task calls it for one command at a time, in arrival order, with the state all
/// to itself.
///
/// ```
/// use async_patterns::actor::{self, Actor, Reply};
///
/// struct Counter(u64);
///
/// enum Command {
///     Add(u64, Reply<u64>),
/// }
///
/// impl Actor for Counter {
///     type Command = Command;
///
///     async fn handle(&mut self, command: Command) {
///         match command {
///             Command::Add(n, reply) => {
///                 self.0 += n;
///                 reply.send(self.0);
///             }
///         }
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let counter = actor::spawn("counter", 16, Counter(0));
/// assert_eq!(counter.call(|reply| Command::Add(2, reply)).await, Ok(2));
/// assert_eq!(counter.call(|reply| Command::Add(3, reply)).await, Ok(5));
/// # }
/// ```
pub trait Actor: Send + 'static {
    /// What it is sent: usually an enum with a variant per operation, each carrying the
    /// [`Reply`] its caller awaits.
    type Command: Send + 'static;

    /// Handle one command and answer it through its [`Reply`].
    fn handle(&mut self, command: Self::Command) -> impl Future<Output = ()> + Send;
}

/// Spawn `actor` on the current tokio runtime, with a mailbox of `capacity` commands (1 to
/// [`MAX_CAPACITY`]), and return its handle. It runs until every handle is dropped, it is
/// shut down ([`Handle::shut_down`]), or a command panics. Outside a runtime it never starts,
/// and its handle refuses every command ([`StopReason::NoRuntime`]) instead of panicking.
pub fn spawn<A: Actor>(name: impl Into<String>, capacity: usize, actor: A) -> Handle<A> {
    let (handle, task) = start(name.into(), capacity, actor, Restarts::none());
    launch(&handle, task, None);
    handle
}

/// The sending end of an actor's mailbox: clone it freely; every clone reaches the same actor.
pub struct Handle<A: Actor> {
    mailbox: mpsc::Sender<Letter<A::Command>>,
    shared: Arc<Shared>,
}

/// What a mailbox carries: commands, and knocks. A knock wakes a task that waits for commands
/// to look at its status, because a shutdown began or its deadline passed.
enum Letter<C> {
    Command(C),
    Knock,
}

/// Sending: the way in, from a caller to the actor's task.
impl<A: Actor> Handle<A> {
    /// Send the command that `command` builds around its reply, waiting for room in the
    /// mailbox, and await the answer.
    pub async fn call<T: Send + 'static>(
        &self,
        command: impl FnOnce(Reply<T>) -> A::Command,
    ) -> Result<T, ActorError> {
        self.send(command).await?.await
    }

    /// Send a command, waiting for room in the mailbox; once it is accepted, the returned
    /// [`Pending`] is its answer. Refused with [`ActorError::ShuttingDown`] (also while
    /// waiting, if shutdown begins) or [`ActorError::Stopped`].
    pub async fn send<T: Send + 'static>(
        &self,
        command: impl FnOnce(Reply<T>) -> A::Command,
    ) -> Result<Pending<T>, ActorError> {
        // Room first, then the command: a command is built only once it has its place.
        let room = match self.room_now() {
            // Full: wait for room, unless the door closes first.
            Err(ActorError::Full { .. }) => tokio::select! {
                biased;
                () = self.shared.closed() => return Err(self.shared.refusal()),
                room = self.mailbox.reserve() => room.map_err(|_closed| self.shared.refusal())?,
            },
            room => room?,
        };
        Ok(self.post(room, command))
    }

    /// Send a command if the mailbox has room now; else [`ActorError::Full`]. Otherwise as
    /// [`send`](Handle::send).
    pub fn try_send<T: Send + 'static>(
        &self,
        command: impl FnOnce(Reply<T>) -> A::Command,
    ) -> Result<Pending<T>, ActorError> {
        let room = self.room_now()?;
        Ok(self.post(room, command))
    }

    /// A place in the mailbox now, or why not.
    fn room_now(&self) -> Result<mpsc::Permit<'_, Letter<A::Command>>, ActorError> {
        // The door closes once, when a shutdown begins (the status then says why).
        if !self.shared.is_open() {
            return Err(self.shared.refusal());
        }
        self.mailbox.try_reserve().map_err(|refused| match refused {
            mpsc::error::TrySendError::Full(()) => ActorError::Full {
                actor: self.shared.name.clone(),
                capacity: self.shared.capacity,
            },
            mpsc::error::TrySendError::Closed(()) => self.shared.refusal(),
        })
    }

    /// Build the command around a new reply, and put it in its place.
    fn post<T: Send + 'static>(
        &self,
        room: mpsc::Permit<'_, Letter<A::Command>>,
        command: impl FnOnce(Reply<T>) -> A::Command,
    ) -> Pending<T> {
        let (reply, pending) = reply::pair(&self.shared);
        room.send(Letter::Command(command(reply)));
        pending
    }
}

/// The actor's task: one command at a time, until the mailbox is closed and empty, a panic
/// stops it, or the shutdown deadline cuts it off.
///
/// Between commands it asks its `status` watch one question, at the cost of one atomic load:
/// has anything changed? A shutdown changes the status; a reply parked by a panic marks it
/// too. While it waits for a command it asks nothing, so whoever changes the status also knocks
/// on its mailbox; while a handler awaits, the task watches the status for the deadline.
async fn run<A: Actor>(
    mut actor: A,
    mut inbox: mpsc::Receiver<Letter<A::Command>>,
    mut status: watch::Receiver<Status>,
    parked: std::sync::mpsc::Receiver<Orphan>,
    shared: Arc<Shared>,
    mut restarts: Restarts<A>,
) {
    // A reply dropped by a panic on this task is its handler's: it waits in `parked`.
    shared.runs_here();
    // Told (`Some`, with the drain's span): shutdown has begun. The mailbox is closed and
    // drains; the deadline may cut it off.
    let mut told = None;
    // The deadline's watch, made once and not per command: it is polled only while a handler
    // awaits, and subscribing to the status each time would cost a lock and an `Arc` a command.
    let mut cut = std::pin::pin!(shared.abandoning());
    let reason = loop {
        if status.has_changed().unwrap_or(false) {
            // Replies parked by a panic that the handler caught itself: it lost them.
            answer(&parked, || shared.unanswered());
            let now = status.borrow_and_update().clone();
            match now {
                Status::Abandoning { .. } => break StopReason::ShutDown,
                Status::Draining if told.is_none() => {
                    // Close the mailbox: waiting senders are refused; those with a place
                    // still get in, and are handled.
                    told = Some(shared.drain.span());
                    inbox.close();
                }
                _ => {}
            }
        }
        // `None`: the mailbox is closed (shutdown, or no handle left) and empty.
        let command = match inbox.recv().await {
            Some(Letter::Command(command)) => command,
            Some(Letter::Knock) => continue,
            None => break StopReason::ShutDown,
        };
        shared.took(inbox.len());
        // Its span (`spans.rs`): nothing to make, enter or record when nobody listens.
        let span = spans::command(&shared, told.as_ref());
        // One command, the state all to itself. A panic is caught, even one in the code that
        // builds the handler's future (called inside the `async` block, so inside the catch).
        // The deadline drops the command where it stands, and its reply answers `Abandoned`.
        let handled = tokio::select! {
            biased;
            caught = catch_panic(async {
                // In its span if anybody listens (boxed, so that the future stays as small as
                // when nobody does); else bare, not even wrapped.
                if span.is_disabled() {
                    actor.handle(command).await;
                } else {
                    Box::pin(actor.handle(command).instrument(span.clone())).await;
                }
            }) => Some(caught),
            () = &mut cut => None,
        };
        spans::ended(&span, &handled);
        match handled {
            None => {
                shared.refused();
                break StopReason::ShutDown;
            }
            Some(Ok(())) => shared.handled(told.is_some()),
            Some(Err(message)) => {
                // The replies the handler dropped as it panicked learn why; then restart (in
                // the command's span, which shows it), or stop.
                answer(&parked, || ActorError::Panicked {
                    actor: shared.name.clone(),
                    message: message.clone(),
                });
                shared.panicked();
                match span.in_scope(|| restarts.after_panic(message)) {
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
    answer(&parked, || shared.unanswered());
    inbox.close();
    while let Some(letter) = inbox.recv().await {
        if let Letter::Command(command) = letter {
            shared.took(inbox.len());
            shared.refused();
            drop(command);
        }
    }
    // The drain ends (both its copies dropped), and the actor stops.
    shared.drained(&reason);
    drop(told);
    shared.set_status(Status::Stopped(reason));
}

impl<A: Actor> Clone for Handle<A> {
    fn clone(&self) -> Self {
        let mailbox = self.mailbox.clone();
        let shared = Arc::clone(&self.shared);
        Handle { mailbox, shared }
    }
}

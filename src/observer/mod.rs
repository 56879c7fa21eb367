//! Observer: a subject that notifies async observers, concurrently, without losing anyone.
//!
//! # The concept
//! A *subject* keeps a list of *observers* and tells each of them when something happens. It
//! does not know what they do with the news (log it, count it, call a webhook); it only knows
//! they all want it. Observers come and go while the subject lives.
//!
//! # The two shapes, side by side
//! The classic sync shape on the left, the async shape on the right, both compiled (in
//! `shapes/`, with a test that they behave alike); what async changed is marked.
//!
#![doc = include_str!("shapes/side_by_side.html")]
//!
//! What changed: `#[async_trait]` and its `use`, `async` on both `notify`s, `.await` in the loop,
//! and bounds the loop never needed. `#[async_trait]` makes each call a boxed `Send` future (a
//! runtime may move it between threads) holding `&self` and `&E` across `.await`, which is
//! `Send` only if the observer and the event are `Sync`: hence `Send + Sync` on the trait and
//! `E: Sync`. A subject handed to `tokio::spawn` must be `Send` and borrow nothing: hence
//! `E: Send + 'static`, and observers that are `Send`.
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
//! Observers now *wait* (write to a store, call a webhook), so they can wait **together**:
//! [`Subject::notify`] turns the loop's calls into one [`futures::future::join_all`], and a
//! notification takes the slowest observer's time instead of the sum of all of them. The loop
//! stays, as [`Subject::notify_in_order`], for when order matters. Running observers together
//! forces decisions the loop never had to make; [`Subject`] makes them, and reports each
//! observer's [`Outcome`] in a [`Report`], in subscription order:
//! * **failure is isolated**: an observer's `Err` is [`Outcome::Failed`]; the others still get
//!   the event;
//! * **panics are isolated**: a panicking observer is caught and reported
//!   [`Outcome::Panicked`] (this needs `panic = "unwind"`, Rust's default);
//! * **slowness is bounded**: with [`SubjectBuilder::timeout`], an observer still running is
//!   cancelled and reported [`Outcome::TimedOut`];
//! * **unsubscribing is final**: once [`Subscription::unsubscribe`] (or the guard's drop) has
//!   returned, no call of that observer *begins*, even from a notification under way. A call
//!   begins when the subject first polls the future the observer's `notify` returned, so the
//!   observer's own code may run (for an `#[async_trait]` method, the start of its body); a
//!   call that began before may run to its end.
//!
//! # What it looks like
//! The same five observers notified with [`Subject::notify_in_order`], then with
//! [`Subject::notify`], drawn from the subject's spans on tokio's paused clock
//! (`tests/pictures`). In order, each call starts when the last one ended, and the notification
//! takes the sum: 5 + 40 + 70 + 20 + 90 = 225 ms. Concurrently, all five start at once and it
//! takes the longest, 90 ms, where the subject's timeout cut the archive off (orange). The alarm
//! gateway's failure (red) stops nobody, either way.
//!
#![doc = include_str!("pictures/in_order_vs_concurrent.svg")]
//!
//! Each delivery policy on one burst: three events 10 ms apart to a stream subscriber with room
//! for two, whose reader reads one every 25 ms (a diamond on the policy's row per read; the
//! label says what it got). Under each policy, a row per delivery (the `notify` around it lasts
//! as long, and is left out). *Drop oldest* pushes event 1 out to make room for event 3 (a
//! diamond on that delivery), and its reader is told it missed one; *wait* holds the third
//! `notify` for 5 ms, until the reader makes room, and loses nothing; *latest* keeps one event,
//! so 1 and 2 are pushed out; *refuse* turns event 3 away (red, under its diamond) and its
//! reader is told so after reading 1 and 2. Only *wait* ever made `notify` wait.
//!
#![doc = include_str!("pictures/delivery_policies.svg")]
//!
//! # What it costs
//! * **Time**: a few hundred nanoseconds per observer, about twice the loop's (a boxed future
//!   that `join_all` also tracks), repaid as soon as observers wait (the measurements are under
//!   [`Subject::notify_in_order`]).
//! * **Memory**: the calls of one notification, and nothing more: an observer that yields
//!   (`tokio::task::yield_now`) makes `notify` yield too, so 10,000 of them notified in a loop
//!   keep the memory flat (`cargo bench --bench observer`).
//! * **Order**: observers of one event no longer run in subscription order, and two `notify`
//!   calls from two tasks may reach an observer in either order (the report keeps subscription
//!   order).
//! * **One task**: every observer of one `notify` runs on the caller's task, so one that
//!   *blocks* holds up all of them, and no timeout can interrupt it (only an `.await` can be
//!   cancelled). An observer that panicked is called again on the next event, in whatever
//!   state the panic left it.
//!
//! # Cancellation
//! Dropping the future returned by [`Subject::notify`] or [`Subject::notify_in_order`] drops
//! every observer call still in flight, at its current `.await`: some observers may have
//! received the event, others not. Nothing is spawned, so nothing keeps running afterwards.
//!
//! # Around the core
//! Subscribing, the list of observers and the [`Subscription`] guards live in
//! `subscription.rs`, [`Subject::new`] and the [`SubjectBuilder`] in `builder.rs`, closures as
//! observers ([`FnObserver`], [`OwnedFnObserver`]) in `closures.rs`, stream subscribers
//! ([`EventStream`]) in `stream.rs` and their delivery policies ([`StreamPolicy`]) in
//! `policy.rs`, the [`Report`] in `report.rs`, the [`ObserverError`]s in `errors.rs`, and what
//! the `tracing` spans of a notification say in `spans.rs`.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, TryLockError};
use std::task::Poll;
use std::time::Duration;

use async_trait::async_trait;
use futures::future::BoxFuture;
use tracing::{Span, debug_span, field::Empty};

mod builder;
mod closures;
mod errors;
mod policy;
#[cfg(feature = "redis")]
pub mod redis;
mod report;
#[cfg(test)]
mod shapes;
mod spans;
mod stream;
mod subscription;

pub use builder::SubjectBuilder;
pub use closures::{FnObserver, OwnedFnObserver};
pub use errors::ObserverError;
pub use policy::StreamPolicy;
pub use report::{Delivery, ObserverId, Outcome, Report};
pub use stream::{EventStream, MAX_STREAM_CAPACITY, Received};
pub use subscription::Subscription;

use subscription::Registry;

/// A boxed error that can cross threads: what an observer returns when it fails.
pub use crate::http::BoxError;

/// React to an event.
///
/// One async method, taking the event by reference (every observer of one notification shares
/// the same event) and returning a `Result`, so an observer can say it failed without
/// panicking. `Send + Sync` because a [`Subject`] is shared between tasks and calls its
/// observers concurrently.
///
/// `#[async_trait]` rather than a native `async fn`, because a subject keeps observers of
/// different types in one list of `dyn Observer<E>`, and a trait with a native `async fn` is
/// not dyn-compatible; the price is one boxed future per call.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use async_patterns::observer::{BoxError, Observer};
///
/// /// Counts the bytes of every message it sees.
/// #[derive(Default)]
/// struct ByteCounter(AtomicU64);
///
/// #[async_patterns::async_trait]
/// impl Observer<String> for ByteCounter {
///     async fn notify(&self, event: &String) -> Result<(), BoxError> {
///         self.0.fetch_add(event.len() as u64, Ordering::Relaxed);
///         Ok(())
///     }
/// }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let counter = ByteCounter::default();
/// counter.notify(&"hello".to_owned()).await.unwrap();
/// assert_eq!(counter.0.load(Ordering::Relaxed), 5);
/// # });
/// ```
#[async_trait]
pub trait Observer<E: Send + Sync + 'static>: Send + Sync {
    /// Handle `event`; an `Err` is reported as [`Outcome::Failed`] and stops nobody else.
    async fn notify(&self, event: &E) -> Result<(), BoxError>;
}

// Shared, boxed and borrowed observers are observers too, so a caller can keep an `Arc` to
// read an observer's state after subscribing it, or subscribe an `Arc<dyn Observer<E>>`.

#[async_trait]
impl<E: Send + Sync + 'static, T: Observer<E> + ?Sized> Observer<E> for Arc<T> {
    async fn notify(&self, event: &E) -> Result<(), BoxError> {
        (**self).notify(event).await
    }
}

#[async_trait]
impl<E: Send + Sync + 'static, T: Observer<E> + ?Sized> Observer<E> for Box<T> {
    async fn notify(&self, event: &E) -> Result<(), BoxError> {
        (**self).notify(event).await
    }
}

#[async_trait]
impl<E: Send + Sync + 'static, T: Observer<E> + ?Sized> Observer<E> for &T {
    async fn notify(&self, event: &E) -> Result<(), BoxError> {
        (**self).notify(event).await
    }
}

/// A subject: observers subscribe to it, and it notifies them of events of type `E`.
///
/// `Send + Sync`: share it through an `Arc` and notify from as many tasks as you like.
/// [`Report`] shows one notified, with a timeout and an observer that fails.
pub struct Subject<E> {
    registry: Arc<Registry<E>>,
    timeout: Option<Duration>,
}

impl<E: Send + Sync + 'static> Subject<E> {
    /// Notify every observer concurrently and report what each did.
    ///
    /// Takes the time of the slowest observer (or the timeout). An observer that fails,
    /// panics or times out is reported so, and never stops the others. The report lists the
    /// observers in subscription order, whatever order they finished in.
    ///
    /// It notifies the observers subscribed when it starts, minus any unsubscribed before
    /// their call began (those are left out of the report). Dropping the returned future
    /// cancels the calls still in flight.
    pub async fn notify(&self, event: &E) -> Report {
        // The list is copied (one `Arc`) and its lock released before any `.await`, so an
        // observer may subscribe or unsubscribe, even on this subject, without deadlocking.
        let observers = self.registry.snapshot();
        // Its span, each call's inside it: next to free when nobody listens (`spans.rs`).
        let span = spans::begun(debug_span!("notify", outcome = Empty));
        // The loop of the sync shape, made concurrent: every call is polled from this task.
        let calls = observers
            .iter()
            .map(|entry| self.deliver(entry, event, &span));
        let deliveries = futures::future::join_all(calls).await;
        spans::completed(&span);
        // `None` marks an observer unsubscribed before its call began: it is left out.
        Report {
            deliveries: deliveries.into_iter().flatten().collect(),
        }
    }

    /// Notify every observer one after another, in subscription order, and report as
    /// [`Subject::notify`] does.
    ///
    /// Takes the sum of the observers' times (the timeout is per observer, so up to the timeout
    /// times the number of observers): use it when an observer must see the event only after
    /// the ones subscribed before it have. An observer unsubscribed while an earlier one runs
    /// is skipped, and left out of the report.
    ///
    /// What each costs, measured by `cargo bench --bench observer` (release build) on a 2-core
    /// machine shared with other builds (load average 10 to 13), spans in place and nobody
    /// listening: the lowest and the median of six runs (`spans.rs` compares them with six runs
    /// of the code before the spans, interleaved).
    ///
    /// | one event to           | `notify` (concurrent)           | `notify_in_order`             |
    /// |------------------------|---------------------------------|-------------------------------|
    /// | 1 no-op observer       | 0.26-0.27 µs                    | 0.22 µs                       |
    /// | 100 no-op observers    | 33 µs (325-328 ns each)         | 16 µs (156-157 ns each)       |
    /// | 10,000 no-op observers | 7.7-13.8 ms (770-1,380 ns each) | 1.8-2.0 ms (180-200 ns each)  |
    /// | 100 observers of 10 ms | 11.2 ms (1.12x the ideal 10 ms) | 1.15 s (the sum, 100 x 10 ms) |
    pub async fn notify_in_order(&self, event: &E) -> Report {
        let observers = self.registry.snapshot();
        // The sync shape's loop, with `.await`: each observer starts when the last one ended.
        let span = spans::begun(debug_span!("notify_in_order", outcome = Empty));
        let mut deliveries = Vec::with_capacity(observers.len());
        for entry in observers.iter() {
            deliveries.extend(self.deliver(entry, event, &span).await);
        }
        spans::completed(&span);
        Report { deliveries }
    }

    /// Call one observer: its panic caught, its timeout enforced, its time measured. `None` if
    /// it was unsubscribed before the call began.
    async fn deliver(&self, entry: &Entry<E>, event: &E, notification: &Span) -> Option<Delivery> {
        // The call's span, named as reports name the observer; it ends with this function.
        let span =
            debug_span!(parent: notification, "call", observer = &*entry.name, outcome = Empty);
        let start = tokio::time::Instant::now();
        // The whole call, its start included, happens inside the caught future, so a panic
        // while building the observer's future is caught as well as one while polling it.
        let call = crate::support::catch_panic(entry.call(event, &span));
        let outcome = match self.timeout {
            Some(after) => match tokio::time::timeout(after, call).await {
                Ok(caught) => Outcome::of_call(caught)?,
                // The call was dropped at its current `.await`: cancelled, not left running.
                Err(_elapsed) => Outcome::TimedOut(after),
            },
            None => Outcome::of_call(call.await)?,
        };
        spans::ended(&span, &outcome);
        Some(Delivery {
            id: entry.id,
            name: Arc::clone(&entry.name),
            outcome,
            elapsed: start.elapsed(),
        })
    }
}

/// One subscribed observer, shared (`Arc`) by the list and the notifications that copied it.
/// A flag checked before a call cannot keep the unsubscribe promise alone (an unsubscribe on
/// another thread could clear it and return between the check and the call), so each call
/// checks it and runs its first poll under a read lock, which [`Entry::close`] waits for.
struct Entry<E> {
    id: ObserverId,
    name: Arc<str>,
    observer: Box<dyn Observer<E>>,
    /// Cleared once, by the unsubscribe; a call begins only while it is set.
    subscribed: AtomicBool,
    /// Read by each call while it begins (its check and first poll), written by an unsubscribe
    /// to wait for them. Guards no data: the lock is the wait.
    beginning: RwLock<()>,
}

tokio::task_local! {
    /// Set while this thread runs an observer's first poll, which holds a read lock: an
    /// unsubscribe made from there must not wait for the write lock (it could wait for itself).
    static BEGINNING: ();
}

impl<E: Send + Sync + 'static> Entry<E> {
    /// Call the observer with `event`, unless it was unsubscribed before the call began
    /// (`None`).
    fn call<'a>(
        &'a self,
        event: &'a E,
        span: &'a Span,
    ) -> impl Future<Output = Option<Result<(), BoxError>>> + Send + 'a {
        let mut call: Option<BoxFuture<'a, Result<(), BoxError>>> = None;
        std::future::poll_fn(move |cx| {
            // Every poll runs in the call's span, so the observer's own spans nest in it.
            let _in_span = span.enter();
            // After the first poll the call has begun: poll it like any future, so whatever
            // it returns (`Pending` after a `yield_now`, too) goes straight back to `notify`.
            if let Some(call) = call.as_mut() {
                return call.as_mut().poll(cx).map(Some);
            }
            // The first poll begins the call under the read lock, taken without waiting: a write
            // lock held or awaited means an unsubscribe has started, and the observer is skipped
            // (waiting could deadlock a call nested in this observer's own first poll).
            let _beginning = match self.beginning.try_read() {
                Ok(read) => read,
                Err(TryLockError::Poisoned(read)) => read.into_inner(),
                Err(TryLockError::WouldBlock) => return Poll::Ready(None),
            };
            if !self.subscribed.load(Ordering::Acquire) {
                return Poll::Ready(None);
            }
            // `notify` itself runs here too: a hand-written one may do work before it returns
            // its future. The read lock is released as this poll returns.
            let first = BEGINNING.sync_scope((), || {
                call.insert(self.observer.notify(event)).as_mut().poll(cx)
            });
            first.map(Some)
        })
    }
}

impl<E> Entry<E> {
    /// Unsubscribe: no call begins after this returns. Why it holds: a call that takes the
    /// read lock after the write lock below sees the flag cleared (the lock orders the store
    /// before it), and one that took it before holds it until its first poll ends, which the
    /// write lock waits for. A lock's wait, as long as one first poll on another thread.
    fn close(&self) {
        self.subscribed.store(false, Ordering::Release);
        // From inside a first poll, waiting could wait for itself (or for a thread that waits
        // for this one): there the flag alone stops the calls that check it from now on.
        if BEGINNING.try_with(|()| ()).is_err() {
            drop(crate::support::write(&self.beginning));
        }
    }
}

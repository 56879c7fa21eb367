//! Observer: a subject that notifies async observers, concurrently, without losing anyone.
//!
//! # The concept
//! A *subject* keeps a list of *observers* and tells each of them when something happens. It
//! does not know what they do with the news (log it, count it, call a webhook); it only knows
//! they all want it. Observers come and go while the subject lives.
//!
//! # The classic sync shape
//! ```rust
#![doc = include_str!("shapes/sync_shape.rs")]
//! ```
//!
//! # The async shape
//! ```rust
#![doc = include_str!("shapes/async_shape.rs")]
//! ```
//!
//! What changed: `#[async_trait]` and its `use`, `async` on both `notify`s, `.await` in the loop.
//!
//! # What async adds
//! Observers now *wait* (write to a store, call a webhook), so they can wait **together**:
//! [`Subject::notify`] turns the loop's calls into one [`futures::future::join_all`], and a
//! notification takes the slowest observer's time instead of the sum of all of them. The loop
//! stays, as [`Subject::notify_in_order`], for when order matters. Running observers together
//! forces three decisions the loop never had to make; [`Subject`] makes them, and reports each
//! observer's [`Outcome`] in a [`Report`]:
//! * **failure is isolated**: an observer's `Err` is [`Outcome::Failed`]; the others still get
//!   the event;
//! * **panics are isolated**: a panicking observer is caught and reported
//!   [`Outcome::Panicked`] (this needs `panic = "unwind"`, Rust's default);
//! * **slowness is bounded**: with [`SubjectBuilder::timeout`], an observer still running is
//!   cancelled and reported [`Outcome::TimedOut`].
//!
//! # What it costs
//! * **Time**: a few hundred nanoseconds per observer, about twice the loop's (a boxed future
//!   that `join_all` also tracks), repaid as soon as observers wait (the measurements are under
//!   [`Subject::notify_in_order`]).
//! * **Order**: observers of one event no longer run in subscription order, and two `notify`
//!   calls from two tasks may reach an observer in either order (the report keeps subscription
//!   order).
//! * **One task**: every observer of one `notify` runs on the caller's task, so one that
//!   *blocks* holds up all of them, and no timeout can interrupt it (only an `.await` can be
//!   cancelled). Without a timeout, the slowest observer sets the pace.
//!
//! # Cancellation
//! Dropping the future returned by [`Subject::notify`] or [`Subject::notify_in_order`] drops
//! every observer call still in flight, at its current `.await`: some observers may have
//! received the event, others not. Nothing is spawned, so nothing keeps running afterwards.
//!
//! # Around the core
//! [`Subscription`]s (subscribing while notifying never deadlocks), closures as observers
//! ([`FnObserver`], [`OwnedFnObserver`]), stream subscribers ([`Subject::subscribe_stream`],
//! each with a delivery policy: [`StreamPolicy`]), and the [`Report`] with its
//! [`ObserverError`]s each live in a file of their own.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

mod closures;
mod delivery;
mod errors;
mod policy;
mod report;
#[cfg(test)]
mod shapes;
mod stream;
mod subscription;

pub use closures::{FnObserver, OwnedFnObserver};
pub use delivery::SubjectBuilder;
pub use errors::ObserverError;
pub use policy::StreamPolicy;
pub use report::{Delivery, ObserverId, Outcome, Report};
pub use stream::{EventStream, MAX_STREAM_CAPACITY, Received};
pub use subscription::Subscription;

use subscription::{Name, Registry};

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
/// #[async_trait::async_trait]
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
crate::support::forward!(Arc, Box, Ref => [E: Send + Sync + 'static] Observer<E> {
    async fn notify(&self, event: &E) -> Result<(), BoxError>;
});

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
    /// their call (those are left out of the report). Dropping the returned future cancels
    /// the calls still in flight.
    pub async fn notify(&self, event: &E) -> Report {
        // The list is copied (one `Arc`) and the lock released before any `.await`, so an
        // observer may subscribe or unsubscribe, even on this subject, without deadlocking.
        let observers = self.snapshot();
        // The loop of the sync shape, made concurrent: every call is polled from this task.
        let calls = observers.iter().map(|entry| self.deliver(entry, event));
        let deliveries = futures::future::join_all(calls).await;
        // `None` marks an observer unsubscribed before its call: it is left out.
        Report {
            deliveries: deliveries.into_iter().flatten().collect(),
        }
    }

    /// Notify every observer one after another, in subscription order, and report as
    /// [`Subject::notify`] does.
    ///
    /// Takes the sum of the observers' times: use it when an observer must see the event only
    /// after the ones subscribed before it have. An observer unsubscribed while an earlier one
    /// runs is skipped, and left out of the report.
    ///
    /// What each costs, measured by `cargo bench --bench observer` on a shared 2-core machine
    /// (release build):
    ///
    /// | one event to           | `notify` (concurrent)           | `notify_in_order`             |
    /// |------------------------|---------------------------------|-------------------------------|
    /// | 1 no-op observer       | 0.2 µs                          | 0.18 µs                       |
    /// | 100 no-op observers    | 27 µs (270 ns each)             | 13 µs (130 ns each)           |
    /// | 10,000 no-op observers | 2.9-4.1 ms (300-400 ns each)    | 1.4-1.6 ms (140-165 ns each)  |
    /// | 100 observers of 10 ms | 11.2 ms (1.12x the ideal 10 ms) | 1.12 s (the sum, 100 x 10 ms) |
    ///
    /// Concurrency costs about twice as much per observer when observers do nothing (each call
    /// is a boxed future that `join_all` also has to track and wake), and pays back as soon as
    /// observers wait: 100 observers of 10 ms take 10 ms instead of a second.
    pub async fn notify_in_order(&self, event: &E) -> Report {
        let observers = self.snapshot();
        // The sync shape's loop, with `.await`: each observer starts when the last one ended.
        let mut deliveries = Vec::with_capacity(observers.len());
        for entry in observers.iter() {
            deliveries.extend(self.deliver(entry, event).await);
        }
        Report { deliveries }
    }

    /// A subject with no observers and no timeout: `notify` waits for the slowest observer.
    pub fn new() -> Self {
        SubjectBuilder::default().build()
    }

    /// Subscribe `observer`, named `observer #{id}` in reports, until the guard is dropped.
    ///
    /// Pass an `Arc<YourObserver>` to keep a handle on it for yourself.
    pub fn subscribe(&self, observer: impl Observer<E> + 'static) -> Subscription {
        self.insert(Name::Default("observer"), Box::new(observer))
    }

    /// Subscribe `observer` under `name` (shown in reports), until the guard is dropped.
    pub fn subscribe_named(
        &self,
        name: impl Into<String>,
        observer: impl Observer<E> + 'static,
    ) -> Subscription {
        self.insert(Name::Given(name.into()), Box::new(observer))
    }
}

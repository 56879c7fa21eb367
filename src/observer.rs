//! Observer: a subject that notifies async observers, concurrently, without losing anyone.
//!
//! # The concept
//! A *subject* keeps a list of *observers* and tells each of them when something happens. The
//! subject does not know what the observers do with the news (log it, count it, e-mail it); it
//! only knows they all want it. Observers come and go while the subject lives.
//!
//! # The classic sync shape
//! ```text
//! trait Observer<E> { fn notify(&self, event: &E) -> Result<(), Error>; }
//!
//! struct Subject<E> { observers: Vec<Box<dyn Observer<E>>> }
//! impl<E> Subject<E> {
//!     fn notify(&self, event: &E) {
//!         for o in &self.observers { o.notify(event); }   // one after another
//!     }
//! }
//! ```
//!
//! # The async shape
//! ```text
//! trait Observer<E> { async fn notify(&self, event: &E) -> Result<(), BoxError>; }
//!
//! impl<E> Subject<E> {
//!     async fn notify(&self, event: &E) -> Report {
//!         let observers = self.snapshot();                         // clone the list, unlock
//!         join_all(observers.iter().map(|o| o.notify(event))).await // all at once
//!     }
//! }
//! ```
//!
//! # What changed, and what async adds
//! The shape is the same: one trait with one method, a subject with a list. `notify` gained
//! `async`, and the loop became [`futures::future::join_all`]. Because observers now *wait*
//! (send an e-mail, write to a store, call a webhook), the subject can let them wait
//! **together**: a notification takes the time of the slowest observer instead of the sum of
//! all of them. [`Subject::notify_in_order`] keeps the old loop for when order matters.
//!
//! Running observers together forces three decisions the sync loop never had to make, and
//! [`Subject`] makes them explicitly, reporting each in a [`Report`]:
//! * **Failure is isolated.** An observer that returns an error is reported
//!   [`Outcome::Failed`]; the others still get the event.
//! * **Panics are isolated.** An observer that panics is caught
//!   ([`futures::FutureExt::catch_unwind`]) and reported [`Outcome::Panicked`]; the others still
//!   get the event. (This needs `panic = "unwind"`, Rust's default.)
//! * **Slowness is bounded.** With [`SubjectBuilder::timeout`], an observer that takes longer is
//!   cancelled and reported [`Outcome::TimedOut`]; without it, `notify` waits for the slowest.
//!
//! # Why `#[async_trait]` and not a native `async fn` in the trait
//! A subject keeps observers of *different* types in one list, so it needs
//! `dyn Observer<E>`, and a trait with a native `async fn` is not dyn-compatible. `#[async_trait]`
//! makes the method return a boxed future instead: one allocation per call, part of the few
//! hundred nanoseconds per observer measured below. Where every observer has the same type, a
//! native `async fn` and a `Vec<O>` would avoid the box; the subject's shape would not change.
//!
//! # Subscribing while notifying
//! Observers live in a copy-on-write list behind a [`std::sync::Mutex`]. `notify` takes the
//! lock only to clone one `Arc` (the current list), releases it, and then awaits: **no lock is
//! ever held across an `.await`**, so an observer may subscribe or unsubscribe, even on the
//! subject it is being notified by, without deadlocking. An observer subscribed during a
//! notification gets the next event, not this one. An observer unsubscribed during one is not
//! called from then on, even by that notification (each entry carries a flag that
//! unsubscribing clears and each call checks); a call already under way runs to its end.
//!
//! # Stream subscribers
//! [`Subject::subscribe_stream`] hands out an [`EventStream`], a [`futures::Stream`] over a
//! bounded channel ([`tokio::sync::broadcast`]), for consumers that prefer to pull events in
//! their own loop. Delivering into the channel never waits, so a slow consumer cannot slow the
//! subject down; when it falls behind by more than the channel holds, the oldest events are
//! dropped and the consumer is told how many with [`Received::Missed`]: never a silent loss.
//! Stream subscribers get their own copy of each event, so they need `E: Clone`.
//!
//! # Cancellation
//! Dropping the future returned by [`Subject::notify`] or [`Subject::notify_in_order`] drops
//! every observer call still in flight, at its current `.await`: some observers may have
//! received the event, others not. Nothing is spawned, so nothing keeps running afterwards.
//!
//! # Closures as observers
//! [`FnObserver`] turns a closure returning a future into an observer, for one-off observers
//! that do not deserve a type; [`OwnedFnObserver`] hands the closure its own copy of the event,
//! which is what lets an `async |e| ..` closure be an observer (see both for what fits).
//!
//! # What it costs
//! Measured by `cargo bench --bench observer` on a shared 2-core machine (release build):
//!
//! | one event to           | `notify` (concurrent)           | `notify_in_order`               |
//! |------------------------|---------------------------------|---------------------------------|
//! | 1 no-op observer       | 0.2 µs                          | 0.18 µs                         |
//! | 100 no-op observers    | 27 µs (about 270 ns each)       | 13 µs (about 130 ns each)       |
//! | 10,000 no-op observers | 2.9 to 4.1 ms (300-400 ns each) | 1.4 to 1.6 ms (140-165 ns each) |
//! | 100 observers of 10 ms | 11.2 ms (1.12x the ideal 10 ms) | 1.12 s (the sum: 100 x 10 ms)   |
//!
//! Concurrency costs about twice as much per observer when observers do nothing (each call is
//! a boxed future that [`futures::future::join_all`] also has to track and wake), a few
//! hundred nanoseconds, and pays back as soon as observers wait: 100 observers of 10 ms take
//! 10 ms instead of a second.
//!
//! What it costs in semantics:
//! * **Ordering.** Observers of one event no longer run one after the other in subscription
//!   order, and two `notify` calls from two tasks may reach an observer in either order. The
//!   report is still in subscription order.
//! * **Isolation has limits.** All observers of one `notify` run on the caller's task: one
//!   that *blocks* (heavy computation, a blocking call) holds up every other one, and a timeout
//!   cannot interrupt it (only an `.await` can be cancelled). An observer that panicked is
//!   called again on the next event, in whatever state the panic left it.
//! * **The slowest sets the pace.** Without a timeout, `notify` lasts as long as the slowest
//!   observer; a subject notifying in a loop goes only as fast as that one.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::{BoxStream, Stream, StreamExt};
use tokio::sync::broadcast;

use crate::support::catch_panic;

/// A boxed error that can cross threads: what an observer returns when it fails.
pub use crate::http::BoxError;

/// The most events a stream subscriber's channel holds; larger capacities are lowered to it.
pub const MAX_STREAM_CAPACITY: usize = 1 << 16;

/// React to an event.
///
/// One async method, taking the event by reference (every observer of one notification shares
/// the same event) and returning a `Result`, so an observer can say it failed without
/// panicking. `Send + Sync` because a [`Subject`] is shared between tasks and calls its
/// observers concurrently.
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

/// A closure returning a future, used as an [`Observer`].
///
/// The closure gets the event by reference and returns a `Send` future that owns what it
/// needs, so the usual form clones the parts of the event it keeps:
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use async_patterns::observer::{BoxError, FnObserver, Subject};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let subject = Subject::<u64>::new();
/// let total = Arc::new(AtomicU64::new(0));
/// let sum = Arc::clone(&total);
/// let _sub = subject.subscribe(FnObserver::new(move |n: &u64| {
///     let (n, sum) = (*n, Arc::clone(&sum)); // own what the future needs
///     async move {
///         sum.fetch_add(n, Ordering::Relaxed);
///         Ok::<(), BoxError>(())
///     }
/// }));
/// subject.notify(&40).await;
/// subject.notify(&2).await;
/// assert_eq!(total.load(Ordering::Relaxed), 42);
/// # }
/// ```
///
/// `async` closures (`async |e| { .. }`, stable since Rust 1.85) do *not* fit here. Their
/// future keeps their argument, so with a `&E` argument the future's type depends on the
/// borrow, which `Fn(&E) -> Fut` cannot express; and one that uses what it captures only
/// implements `AsyncFn`, whose futures cannot be named as `Send` on stable Rust, while a
/// subject shared between tasks needs `Send` futures. Those that capture nothing fit
/// [`OwnedFnObserver`], which hands them their own copy of the event. For everything else,
/// write `move |e| { let x = x.clone(); async move { .. } }`, as above: one clone per call.
#[derive(Clone)]
pub struct FnObserver<F>(F);

impl<F> FnObserver<F> {
    /// Wrap `f`, a closure from `&E` to a future of `Result<(), BoxError>`.
    pub fn new<E, Fut>(f: F) -> Self
    where
        F: Fn(&E) -> Fut + Send + Sync,
        Fut: Future<Output = Result<(), BoxError>> + Send,
    {
        FnObserver(f)
    }
}

impl<F> fmt::Debug for FnObserver<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnObserver(..)")
    }
}

#[async_trait]
impl<E, F, Fut> Observer<E> for FnObserver<F>
where
    E: Send + Sync + 'static,
    F: Fn(&E) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), BoxError>> + Send,
{
    async fn notify(&self, event: &E) -> Result<(), BoxError> {
        (self.0)(event).await
    }
}

/// A closure taking its own copy of the event (`E: Clone`) and returning a future, used as
/// an [`Observer`].
///
/// Use it when the future should own the event, and for `async` closures that capture
/// nothing, which implement `Fn(E) -> impl Future + Send` and so fit as they are:
///
/// ```
/// use async_patterns::observer::{BoxError, OwnedFnObserver, Subject};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let subject = Subject::<u64>::new();
/// let _sub = subject.subscribe(OwnedFnObserver::new(async |n: u64| {
///     tokio::task::yield_now().await; // the event is owned: no borrow across this `.await`
///     if n > 100 { Err::<(), BoxError>(format!("{n} is too big").into()) } else { Ok(()) }
/// }));
/// assert!(subject.notify(&42).await.all_delivered());
/// assert_eq!(subject.notify(&420).await.failed(), 1);
/// # }
/// ```
///
/// An `async` closure that *captures* something (`async move |n| counter.add(n)`) only
/// implements `AsyncFn` and does not fit; use [`FnObserver`] with a closure returning
/// `async move { .. }` instead.
#[derive(Clone)]
pub struct OwnedFnObserver<F>(F);

impl<F> OwnedFnObserver<F> {
    /// Wrap `f`, a closure from an owned `E` to a future of `Result<(), BoxError>`.
    pub fn new<E, Fut>(f: F) -> Self
    where
        F: Fn(E) -> Fut + Send + Sync,
        Fut: Future<Output = Result<(), BoxError>> + Send,
    {
        OwnedFnObserver(f)
    }
}

impl<F> fmt::Debug for OwnedFnObserver<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OwnedFnObserver(..)")
    }
}

#[async_trait]
impl<E, F, Fut> Observer<E> for OwnedFnObserver<F>
where
    E: Clone + Send + Sync + 'static,
    F: Fn(E) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), BoxError>> + Send,
{
    async fn notify(&self, event: &E) -> Result<(), BoxError> {
        (self.0)(event.clone()).await
    }
}

/// Why an observer did not receive an event, naming the observer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ObserverError {
    /// The observer returned an error.
    #[error("observer {name:?} ({id}) failed: {source}")]
    Failed {
        /// The observer's subscription id.
        id: ObserverId,
        /// The observer's name.
        name: String,
        /// The error it returned.
        #[source]
        source: BoxError,
    },
    /// The observer did not finish within the subject's timeout, and was cancelled.
    #[error("observer {name:?} ({id}) did not finish within {after:?} and was cancelled")]
    TimedOut {
        /// The observer's subscription id.
        id: ObserverId,
        /// The observer's name.
        name: String,
        /// The timeout it exceeded.
        after: Duration,
    },
    /// The observer panicked.
    #[error("observer {name:?} ({id}) panicked: {message}")]
    Panicked {
        /// The observer's subscription id.
        id: ObserverId,
        /// The observer's name.
        name: String,
        /// The panic message, when it had one.
        message: String,
    },
    /// A stream subscriber was dropped while an event was on its way to it.
    #[error("the stream subscriber was dropped before the event reached it")]
    StreamClosed,
}

/// The id a [`Subject`] gives each subscription, unique per subject and increasing, so ids
/// sort in subscription order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObserverId(u64);

impl ObserverId {
    /// The id as a number.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ObserverId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// What happened when one observer was notified.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// The observer returned `Ok`.
    Delivered,
    /// The observer returned this error.
    Failed(BoxError),
    /// The observer was still running after the subject's timeout, and was cancelled.
    TimedOut(Duration),
    /// The observer panicked with this message.
    Panicked(String),
}

impl Outcome {
    /// Whether the observer returned `Ok`.
    pub fn is_delivered(&self) -> bool {
        matches!(self, Outcome::Delivered)
    }

    /// A short label: `delivered`, `failed`, `timed out` or `panicked`.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Failed(_) => "failed",
            Outcome::TimedOut(_) => "timed out",
            Outcome::Panicked(_) => "panicked",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Delivered => f.write_str("delivered"),
            Outcome::Failed(e) => write!(f, "failed: {e}"),
            Outcome::TimedOut(after) => write!(f, "timed out after {after:?}"),
            Outcome::Panicked(msg) => write!(f, "panicked: {msg}"),
        }
    }
}

/// One observer's part of a [`Report`].
#[derive(Debug)]
pub struct Delivery {
    /// The observer's subscription id.
    pub id: ObserverId,
    /// The observer's name ([`Subject::subscribe_named`]), or `observer #id` / `stream #id`.
    pub name: Arc<str>,
    /// What happened.
    pub outcome: Outcome,
    /// How long the call took ([`tokio::time::Instant`], so virtual time on a paused clock).
    pub elapsed: Duration,
}

impl Delivery {
    /// `Ok(())` if delivered, otherwise the error naming this observer.
    pub fn into_result(self) -> Result<(), ObserverError> {
        let (id, name) = (self.id, self.name.to_string());
        match self.outcome {
            Outcome::Delivered => Ok(()),
            Outcome::Failed(source) => Err(ObserverError::Failed { id, name, source }),
            Outcome::TimedOut(after) => Err(ObserverError::TimedOut { id, name, after }),
            Outcome::Panicked(message) => Err(ObserverError::Panicked { id, name, message }),
        }
    }
}

/// What one notification did, per observer, in subscription order.
#[derive(Debug, Default)]
pub struct Report {
    deliveries: Vec<Delivery>,
}

impl Report {
    /// Every observer's delivery, in subscription order.
    pub fn deliveries(&self) -> &[Delivery] {
        &self.deliveries
    }

    /// Iterate over the deliveries, in subscription order.
    pub fn iter(&self) -> std::slice::Iter<'_, Delivery> {
        self.deliveries.iter()
    }

    /// How many observers were notified.
    pub fn len(&self) -> usize {
        self.deliveries.len()
    }

    /// Whether there was nobody to notify.
    pub fn is_empty(&self) -> bool {
        self.deliveries.is_empty()
    }

    /// Whether every observer returned `Ok` (true when there were none).
    pub fn all_delivered(&self) -> bool {
        self.deliveries.iter().all(|d| d.outcome.is_delivered())
    }

    /// How many observers returned `Ok`.
    pub fn delivered(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Delivered))
    }

    /// How many observers returned an error.
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Failed(_)))
    }

    /// How many observers timed out.
    pub fn timed_out(&self) -> usize {
        self.count(|o| matches!(o, Outcome::TimedOut(_)))
    }

    /// How many observers panicked.
    pub fn panicked(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Panicked(_)))
    }

    fn count(&self, pred: impl Fn(&Outcome) -> bool) -> usize {
        self.deliveries.iter().filter(|d| pred(&d.outcome)).count()
    }

    /// The delivery to the observer with this id.
    pub fn get(&self, id: ObserverId) -> Option<&Delivery> {
        // Deliveries are in subscription order, which is id order.
        let index = self.deliveries.binary_search_by_key(&id, |d| d.id).ok()?;
        self.deliveries.get(index)
    }

    /// The first delivery to an observer with this name.
    pub fn by_name(&self, name: &str) -> Option<&Delivery> {
        self.deliveries.iter().find(|d| &*d.name == name)
    }

    /// The observers that did not receive the event, as errors naming each of them.
    pub fn into_errors(self) -> Vec<ObserverError> {
        self.deliveries
            .into_iter()
            .filter_map(|d| d.into_result().err())
            .collect()
    }
}

impl<'a> IntoIterator for &'a Report {
    type Item = &'a Delivery;
    type IntoIter = std::slice::Iter<'a, Delivery>;
    fn into_iter(self) -> Self::IntoIter {
        self.deliveries.iter()
    }
}

impl fmt::Display for Report {
    /// One line per observer: id, name, time, outcome.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .deliveries
            .iter()
            .map(|d| d.name.chars().count())
            .max()
            .unwrap_or(0);
        for d in &self.deliveries {
            writeln!(
                f,
                "  {:>4}  {:<width$}  {:>10}  {}",
                d.id.to_string(),
                d.name,
                crate::timing::human(d.elapsed),
                d.outcome
            )?;
        }
        Ok(())
    }
}

/// Keeps an observer subscribed; dropping it unsubscribes.
///
/// Holds only a weak reference to the subject's list, so it may outlive the subject: dropping
/// it then does nothing. Not tied to the event type, so subscriptions to different subjects
/// can live in one `Vec<Subscription>`.
#[must_use = "dropping a Subscription unsubscribes at once; keep it, or call `detach`"]
pub struct Subscription {
    id: ObserverId,
    registry: Option<Weak<dyn Unsubscribe>>,
}

impl Subscription {
    /// The subscription's id, as it appears in a [`Report`].
    pub fn id(&self) -> ObserverId {
        self.id
    }

    /// Whether the observer is still subscribed (the subject is alive and has not removed it).
    pub fn is_subscribed(&self) -> bool {
        self.registry
            .as_ref()
            .and_then(Weak::upgrade)
            .is_some_and(|r| r.contains(self.id))
    }

    /// Unsubscribe now; returns whether the observer was still subscribed.
    pub fn unsubscribe(mut self) -> bool {
        self.remove()
    }

    /// Keep the observer subscribed for as long as the subject lives, and drop the guard.
    pub fn detach(mut self) {
        self.registry = None;
    }

    fn remove(&mut self) -> bool {
        match self.registry.take().and_then(|w| w.upgrade()) {
            Some(registry) => registry.remove(self.id),
            None => false,
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.remove();
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("subscribed", &self.is_subscribed())
            .finish()
    }
}

/// What a [`Subscription`] needs from the subject's list, without knowing the event type.
trait Unsubscribe: Send + Sync {
    fn remove(&self, id: ObserverId) -> bool;
    fn contains(&self, id: ObserverId) -> bool;
}

/// One subscribed observer. Shared (`Arc`) between the list and the snapshots of the
/// notifications under way, so copying the list copies pointers only.
struct Entry<E> {
    id: ObserverId,
    name: Arc<str>,
    /// Cleared on unsubscribe, so a notification that took its snapshot earlier skips this
    /// observer if it has not called it yet.
    live: AtomicBool,
    observer: Box<dyn Observer<E>>,
}

/// The observers, in subscription order (ids only grow, so pushing keeps the list sorted).
///
/// Copy-on-write: `notify` clones the outer `Arc` under the lock and iterates it unlocked; a
/// change copies the list only if a notification is still holding the old one
/// (`Arc::make_mut`), so subscribing many observers up front costs one push each.
struct Registry<E> {
    next_id: AtomicU64,
    entries: Mutex<Arc<Vec<Arc<Entry<E>>>>>,
}

impl<E> Registry<E> {
    fn lock(&self) -> MutexGuard<'_, Arc<Vec<Arc<Entry<E>>>>> {
        // Nothing panics while the lock is held, so a poisoned list is still consistent.
        crate::support::lock(&self.entries)
    }
}

impl<E: Send + Sync + 'static> Unsubscribe for Registry<E> {
    fn remove(&self, id: ObserverId) -> bool {
        let mut entries = self.lock();
        match entries.binary_search_by_key(&id, |e| e.id) {
            Ok(index) => {
                let removed = Arc::make_mut(&mut entries).remove(index);
                // Release pairs with the Acquire in `deliver`: a notification that reaches this
                // observer from now on skips it, even one that took its snapshot earlier. (One
                // on another thread that checked just before this store still calls it.)
                removed.live.store(false, Ordering::Release);
                // Drop the removed observer after unlocking: its `Drop` may touch this subject.
                drop(entries);
                drop(removed);
                true
            }
            Err(_) => false,
        }
    }

    fn contains(&self, id: ObserverId) -> bool {
        self.lock().binary_search_by_key(&id, |e| e.id).is_ok()
    }
}

/// A subscription's name in reports: the one given, or `{kind} #{id}`.
enum Name {
    Given(String),
    Default(&'static str),
}

/// Builds a [`Subject`] with a per-observer timeout.
#[derive(Debug, Clone, Default)]
pub struct SubjectBuilder {
    timeout: Option<Duration>,
}

impl SubjectBuilder {
    /// Cancel any observer still running `timeout` after it was called, and report it
    /// [`Outcome::TimedOut`]. Notifying then needs a tokio runtime with its timer enabled.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The subject.
    pub fn build<E: Send + Sync + 'static>(self) -> Subject<E> {
        Subject {
            registry: Arc::new(Registry {
                next_id: AtomicU64::new(1),
                entries: Mutex::new(Arc::new(Vec::new())),
            }),
            timeout: self.timeout,
        }
    }
}

/// A subject: observers subscribe to it, and it notifies them of events of type `E`.
///
/// `Send + Sync`: share it through an `Arc` and notify from as many tasks as you like. See the
/// [module docs](self) for the concurrency, isolation and cancellation rules.
///
/// ```
/// use std::time::Duration;
/// use async_patterns::observer::{BoxError, FnObserver, Outcome, Subject};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let subject = Subject::<String>::builder().timeout(Duration::from_secs(1)).build();
/// let _ok = subject.subscribe_named("ok", FnObserver::new(|_: &String| async { Ok(()) }));
/// let _bad = subject.subscribe_named(
///     "bad",
///     FnObserver::new(|e: &String| {
///         let e = e.clone();
///         async move { Err::<(), BoxError>(format!("cannot handle {e}").into()) }
///     }),
/// );
///
/// let report = subject.notify(&"door opened".to_owned()).await;
/// assert_eq!((report.delivered(), report.failed()), (1, 1));
/// assert!(matches!(report.by_name("bad").unwrap().outcome, Outcome::Failed(_)));
/// # }
/// ```
pub struct Subject<E> {
    registry: Arc<Registry<E>>,
    timeout: Option<Duration>,
}

impl<E: Send + Sync + 'static> Default for Subject<E> {
    fn default() -> Self {
        Subject::new()
    }
}

impl<E> fmt::Debug for Subject<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subject")
            .field("observers", &self.registry.lock().len())
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl<E: Send + Sync + 'static> Subject<E> {
    /// A subject with no observers and no timeout: `notify` waits for the slowest observer.
    pub fn new() -> Self {
        SubjectBuilder::default().build()
    }

    /// A builder, to set a per-observer timeout.
    pub fn builder() -> SubjectBuilder {
        SubjectBuilder::default()
    }

    /// The per-observer timeout, if any.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// How many observers are subscribed (stream subscribers included).
    pub fn len(&self) -> usize {
        self.registry.lock().len()
    }

    /// Whether nobody is subscribed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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

    fn insert(&self, name: Name, observer: Box<dyn Observer<E>>) -> Subscription {
        let mut entries = self.registry.lock();
        // Ids are taken under the lock, so they are pushed in increasing order.
        let id = ObserverId(self.registry.next_id.fetch_add(1, Ordering::Relaxed));
        let name = match name {
            Name::Given(name) => name,
            Name::Default(kind) => format!("{kind} {id}"),
        };
        Arc::make_mut(&mut entries).push(Arc::new(Entry {
            id,
            name: name.into(),
            live: AtomicBool::new(true),
            observer,
        }));
        drop(entries);
        let registry: Weak<dyn Unsubscribe> = Arc::downgrade(&self.registry) as Weak<_>;
        Subscription {
            id,
            registry: Some(registry),
        }
    }

    /// The observers subscribed now; the lock is held only for one `Arc` clone.
    fn snapshot(&self) -> Arc<Vec<Arc<Entry<E>>>> {
        Arc::clone(&self.registry.lock())
    }

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
        let observers = self.snapshot();
        let deliveries =
            futures::future::join_all(observers.iter().map(|entry| self.deliver(entry, event)))
                .await;
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
    pub async fn notify_in_order(&self, event: &E) -> Report {
        let observers = self.snapshot();
        let mut deliveries = Vec::with_capacity(observers.len());
        for entry in observers.iter() {
            deliveries.extend(self.deliver(entry, event).await);
        }
        Report { deliveries }
    }

    /// Call one observer, catching its panic and enforcing the timeout; `None` if it was
    /// unsubscribed since the snapshot was taken.
    async fn deliver(&self, entry: &Entry<E>, event: &E) -> Option<Delivery> {
        if !entry.live.load(Ordering::Acquire) {
            return None;
        }
        let start = tokio::time::Instant::now();
        // The call itself happens inside the caught future, so a panic while building the
        // observer's future is caught as well as one while polling it.
        let call = catch_panic(async { entry.observer.notify(event).await });
        let outcome = match self.timeout {
            Some(after) => match tokio::time::timeout(after, call).await {
                Ok(result) => outcome_of(result),
                Err(_elapsed) => Outcome::TimedOut(after),
            },
            None => outcome_of(call.await),
        };
        Some(Delivery {
            id: entry.id,
            name: Arc::clone(&entry.name),
            outcome,
            elapsed: start.elapsed(),
        })
    }
}

fn outcome_of(result: Result<Result<(), BoxError>, String>) -> Outcome {
    match result {
        Ok(Ok(())) => Outcome::Delivered,
        Ok(Err(e)) => Outcome::Failed(e),
        Err(message) => Outcome::Panicked(message),
    }
}

impl<E: Clone + Send + Sync + 'static> Subject<E> {
    /// Subscribe a stream: every event notified from now on arrives as
    /// [`Received::Event`] through a channel holding up to `capacity` events.
    ///
    /// Needs `E: Clone`: each stream gets its own copy of every event. Delivery into the
    /// channel never waits; a consumer that falls more than `capacity` events behind loses the
    /// oldest ones and receives [`Received::Missed`] with how many, then the events that
    /// follow. The stream ends after the last buffered event once the subject is dropped, and
    /// dropping the stream unsubscribes it.
    ///
    /// `capacity` is rounded up to a power of two (a property of [`tokio::sync::broadcast`]),
    /// raised to 1 if zero, and lowered to [`MAX_STREAM_CAPACITY`] if larger.
    ///
    /// ```
    /// use futures::StreamExt;
    /// use async_patterns::observer::{Received, Subject};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let subject = Subject::<u32>::new();
    /// let mut events = subject.subscribe_stream(2);
    /// for n in 1..=5 {
    ///     subject.notify(&n).await; // nobody reads yet: 1, 2 and 3 are pushed out
    /// }
    /// drop(subject);
    /// let got: Vec<Received<u32>> = events.collect().await;
    /// assert_eq!(got, [Received::Missed(3), Received::Event(4), Received::Event(5)]);
    /// # }
    /// ```
    pub fn subscribe_stream(&self, capacity: usize) -> EventStream<E> {
        let capacity = capacity.clamp(1, MAX_STREAM_CAPACITY);
        let (sender, receiver) = broadcast::channel(capacity);
        let subscription =
            self.insert(Name::Default("stream"), Box::new(StreamObserver { sender }));
        let inner = futures::stream::unfold(receiver, |mut receiver| async move {
            match receiver.recv().await {
                Ok(event) => Some((Received::Event(event), receiver)),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    Some((Received::Missed(missed), receiver))
                }
                // Every sender is gone: the subject was dropped.
                Err(broadcast::error::RecvError::Closed) => None,
            }
        })
        .boxed();
        EventStream {
            subscription,
            inner,
        }
    }
}

/// The observer behind a stream subscription: it copies each event into the channel.
struct StreamObserver<E> {
    sender: broadcast::Sender<E>,
}

#[async_trait]
impl<E: Clone + Send + Sync + 'static> Observer<E> for StreamObserver<E> {
    async fn notify(&self, event: &E) -> Result<(), BoxError> {
        // `send` never waits: when the channel is full it overwrites the oldest event, and the
        // receiver learns how many it lost. It fails only when the stream is gone.
        self.sender
            .send(event.clone())
            .map(|_receivers| ())
            .map_err(|_| ObserverError::StreamClosed.into())
    }
}

/// What an [`EventStream`] yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received<E> {
    /// The next event.
    Event(E),
    /// The consumer fell behind and this many events were dropped before the next one.
    Missed(u64),
}

/// A stream subscription ([`Subject::subscribe_stream`]): a [`futures::Stream`] of
/// [`Received`] items that ends when the subject is dropped. Dropping it unsubscribes.
pub struct EventStream<E> {
    // Declared first so it is dropped first: unsubscribe before the receiver goes, so that
    // notifications from then on skip this stream instead of reporting it closed.
    subscription: Subscription,
    inner: BoxStream<'static, Received<E>>,
}

impl<E> EventStream<E> {
    /// The subscription's id, as it appears in a [`Report`].
    pub fn id(&self) -> ObserverId {
        self.subscription.id()
    }
}

impl<E> Stream for EventStream<E> {
    type Item = Received<E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

impl<E> fmt::Debug for EventStream<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStream")
            .field("id", &self.subscription.id())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_guard_dropped_after_its_subject_does_nothing() {
        let subject = Subject::<u8>::new();
        let sub = subject.subscribe(FnObserver::new(|_: &u8| async { Ok(()) }));
        assert!(sub.is_subscribed());
        drop(subject);
        assert!(!sub.is_subscribed());
        assert!(!sub.unsubscribe());
    }

    #[tokio::test]
    async fn ids_grow_and_reports_keep_subscription_order() {
        let subject = Subject::<u8>::new();
        let a = subject.subscribe_named("a", FnObserver::new(|_: &u8| async { Ok(()) }));
        let b = subject.subscribe(FnObserver::new(|_: &u8| async { Ok(()) }));
        assert!(a.id() < b.id());
        let report = subject.notify(&1).await;
        let names: Vec<&str> = report.iter().map(|d| &*d.name).collect();
        assert_eq!(names, ["a", &format!("observer {}", b.id())]);
        b.detach();
        assert_eq!(subject.len(), 2);
    }

    #[test]
    fn errors_name_the_observer() {
        let d = Delivery {
            id: ObserverId(7),
            name: "webhook".into(),
            outcome: Outcome::TimedOut(Duration::from_secs(1)),
            elapsed: Duration::from_secs(1),
        };
        let text = d.into_result().unwrap_err().to_string();
        assert!(text.contains("\"webhook\" (#7)"), "{text}");
        assert!(text.contains("1s"), "{text}");
    }
}

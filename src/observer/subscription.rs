//! Subscriptions: the list of observers, and the guards that take them off it.
//!
//! # Subscribing while notifying
//! Observers live in a copy-on-write list behind a [`std::sync::Mutex`]. `notify` takes the
//! lock only to clone one `Arc` (the current list), releases it, and then awaits: **no lock is
//! ever held across an `.await`**, so an observer may subscribe or unsubscribe, even on the
//! subject it is being notified by, without deadlocking. An observer subscribed during a
//! notification gets the next event, not this one.
//!
//! # Unsubscribing while notifying
//! The promise: **once `unsubscribe` (or the guard's drop) has returned, no call of that
//! observer begins**; a call that began before may run to its end. A notification that copied
//! the list before the unsubscribe still holds the entry, so something must stop it.
//!
//! Re-checking a flag just before the call is not enough, whatever the memory ordering: between
//! the check and the observer's first instruction there is always a gap, and on a multi-thread
//! runtime the unsubscribe can clear the flag and return inside it (the check saw "subscribed",
//! the call begins after the return). So the unsubscribe **waits**, but only for the calls that
//! are *starting*: each entry counts the notifications that have checked it and are running the
//! observer up to its first `.await` (one synchronous poll, microseconds for an observer that
//! does its work after awaiting). The flag and the count share one atomic word, so a
//! notification either counts itself in before the unsubscribe marks the entry (and the
//! unsubscribe waits for that poll to end) or sees the mark (and skips the observer). It never
//! waits for a call that is under way past its first `.await`. The price is two atomic
//! read-modify-writes per call: `cargo bench --bench observer` measured a no-op observer
//! notified in order at about 130 ns, against 96 ns with the flag alone.
//!
//! Two consequences, both rare: an unsubscribe made *from inside* an observer's first poll does
//! not wait (the poll it would wait for might be its own, or be waiting for it), so there the
//! old gap remains; and dropping a guard while holding a lock that an observer takes before its
//! first `.await` can deadlock, as any wait can.

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::Poll;

use super::{BoxError, Observer, ObserverId, Subject};

/// Keeps an observer subscribed; dropping it unsubscribes.
///
/// An observer subscribed during a notification gets the next event, not this one. Once
/// [`unsubscribe`](Subscription::unsubscribe) or the drop has returned, no call of the observer
/// begins, even from a notification under way; a call that began before runs to its end. To
/// keep that promise on a multi-thread runtime, unsubscribing waits for the calls of this
/// observer that other threads are starting (polling it up to its first `.await`).
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
    /// The subscription's id, as it appears in a [`Report`](super::Report).
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
pub(super) trait Unsubscribe: Send + Sync {
    fn remove(&self, id: ObserverId) -> bool;
    fn contains(&self, id: ObserverId) -> bool;
}

/// One subscribed observer. Shared (`Arc`) between the list and the snapshots of the
/// notifications under way, so copying the list copies pointers only.
pub(super) struct Entry<E> {
    pub(super) id: ObserverId,
    pub(super) name: Arc<str>,
    /// [`UNSUBSCRIBED`] once removed, plus the number of calls being started right now.
    state: AtomicUsize,
    pub(super) observer: Box<dyn Observer<E>>,
}

/// The top bit of [`Entry::state`]: the observer was unsubscribed. The other bits count the
/// calls being started.
const UNSUBSCRIBED: usize = 1 << (usize::BITS - 1);

thread_local! {
    /// How many calls this thread is starting (nested when an observer's first poll notifies).
    static STARTING: Cell<usize> = const { Cell::new(0) };
}

impl<E> Entry<E> {
    fn new(id: ObserverId, name: Arc<str>, observer: Box<dyn Observer<E>>) -> Self {
        let state = AtomicUsize::new(0);
        Entry {
            id,
            name,
            state,
            observer,
        }
    }

    /// Start a call: `None` if the observer was unsubscribed, else a guard to hold while the
    /// call's first poll runs, so that an unsubscribe waits for it.
    fn begin(&self) -> Option<Starting<'_>> {
        // One read-modify-write: it comes before the unsubscribe's mark (which then waits for
        // this start) or after it (and sees the mark). AcqRel pairs with the mark's.
        let before = self.state.fetch_add(1, Ordering::AcqRel);
        if before & UNSUBSCRIBED != 0 {
            self.state.fetch_sub(1, Ordering::Release);
            return None;
        }
        STARTING.with(|n| n.set(n.get() + 1));
        Some(Starting(&self.state))
    }

    /// Mark the observer unsubscribed, then wait for the calls other threads are starting.
    fn close(&self) {
        self.state.fetch_or(UNSUBSCRIBED, Ordering::AcqRel);
        // From inside a first poll, waiting could wait for itself, or for a thread that waits
        // for this one: skip the wait (the documented exception).
        if STARTING.with(Cell::get) > 0 {
            return;
        }
        let mut spins = 0_u32;
        // Acquire pairs with `Starting::drop`: what those first polls did happens before the
        // unsubscribe returns.
        while self.state.load(Ordering::Acquire) & !UNSUBSCRIBED != 0 {
            // A first poll takes microseconds: spin briefly, then give the core away.
            if spins < 64 {
                std::hint::spin_loop();
                spins += 1;
            } else {
                std::thread::yield_now();
            }
        }
    }
}

impl<E: Send + Sync + 'static> Entry<E> {
    /// Call the observer with `event`, unless it is unsubscribed by then (`None`). The call is
    /// made, and polled once, while it counts as starting: an unsubscribe on another thread
    /// waits for that first poll, so the call either begins before the unsubscribe returns or
    /// not at all.
    pub(super) async fn call(&self, event: &E) -> Option<Result<(), BoxError>> {
        let starting = self.begin()?;
        // A hand-written `notify` may run code before it returns its future: inside, too.
        let mut call = self.observer.notify(event);
        // One poll, on the spot (no `.await` between `begin` and here, so no other task runs).
        let first = futures::poll!(call.as_mut());
        drop(starting);
        Some(match first {
            Poll::Ready(result) => result,
            Poll::Pending => call.await,
        })
    }
}

/// A call being started: held across the call's first poll (see [`Entry::call`]).
struct Starting<'a>(&'a AtomicUsize);

impl Drop for Starting<'_> {
    fn drop(&mut self) {
        // Release pairs with the Acquire in `Entry::close`.
        self.0.fetch_sub(1, Ordering::Release);
        STARTING.with(|n| n.set(n.get().saturating_sub(1)));
    }
}

/// The observers, in subscription order (ids only grow, so pushing keeps the list sorted).
///
/// Copy-on-write: `notify` clones the outer `Arc` under the lock and iterates it unlocked; a
/// change copies the list only if a notification is still holding the old one
/// (`Arc::make_mut`), so subscribing many observers up front costs one push each.
pub(super) struct Registry<E> {
    next_id: AtomicU64,
    entries: Mutex<Arc<Vec<Arc<Entry<E>>>>>,
}

impl<E> Registry<E> {
    /// An empty list; the first id is 1.
    pub(super) fn new() -> Self {
        Registry {
            next_id: AtomicU64::new(1),
            entries: Mutex::new(Arc::new(Vec::new())),
        }
    }

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
                // Unlock first: a first poll being waited for may subscribe to this subject.
                drop(entries);
                // New snapshots no longer hold the entry; older ones see the mark and skip it,
                // and the calls they are starting now end their first poll before this returns.
                removed.close();
                // Drop the removed observer after unlocking: its `Drop` may touch this subject.
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
pub(super) enum Name {
    Given(String),
    Default(&'static str),
}

impl<E: Send + Sync + 'static> Subject<E> {
    /// How many observers are subscribed (stream subscribers included).
    pub fn len(&self) -> usize {
        self.registry.lock().len()
    }

    /// Whether nobody is subscribed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Add `observer` to the list and hand out the guard that removes it.
    pub(super) fn insert(&self, name: Name, observer: Box<dyn Observer<E>>) -> Subscription {
        let mut entries = self.registry.lock();
        // Ids are taken under the lock, so they are pushed in increasing order.
        let id = ObserverId(self.registry.next_id.fetch_add(1, Ordering::Relaxed));
        let name = match name {
            Name::Given(name) => name,
            Name::Default(kind) => format!("{kind} {id}"),
        };
        let entry = Entry::new(id, name.into(), observer);
        Arc::make_mut(&mut entries).push(Arc::new(entry));
        drop(entries);
        let registry: Weak<dyn Unsubscribe> = Arc::downgrade(&self.registry) as Weak<_>;
        Subscription {
            id,
            registry: Some(registry),
        }
    }

    /// The observers subscribed now; the lock is held only for one `Arc` clone.
    pub(super) fn snapshot(&self) -> Arc<Vec<Arc<Entry<E>>>> {
        Arc::clone(&self.registry.lock())
    }
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

#[cfg(test)]
mod tests {
    use super::super::FnObserver;
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
}

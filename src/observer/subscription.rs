//! Subscriptions: `subscribe`, the list of observers, and the guards that take them off it.
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
//! observer begins**; a call begins when the subject first polls the observer's future, and
//! one that began before may run to its end. A notification that copied the list before the
//! unsubscribe still holds the entry, so removing it from the list is not enough: `Entry::close`
//! (in `mod.rs`, beside the call it stops) clears the entry's flag, then takes the write side
//! of the lock that each call holds for reading while it checks the flag and runs its first
//! poll. So an unsubscribe on one thread waits for the calls other threads are beginning right
//! then, for as long as one first poll of that observer (its code up to its first `.await`),
//! and never for a call under way past it.
//!
//! Two exceptions, both rare: an unsubscribe made *from inside* an observer's first poll does
//! not wait (the poll it would wait for might be its own, or be waiting for it), so a call
//! that another thread is beginning at that instant may still begin; and dropping a guard while
//! holding a lock that an observer takes before its first `.await` can deadlock, as any wait
//! can.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};

use super::{Entry, Observer, ObserverId, Subject};

impl<E: Send + Sync + 'static> Subject<E> {
    /// Subscribe `observer`, named `observer #{id}` in reports, until the guard is dropped.
    ///
    /// Pass an `Arc<YourObserver>` to keep a handle on it for yourself.
    pub fn subscribe(&self, observer: impl Observer<E> + 'static) -> Subscription {
        self.registry
            .insert(Name::Default("observer"), Box::new(observer))
    }

    /// Subscribe `observer` under `name` (shown in reports), until the guard is dropped.
    pub fn subscribe_named(
        &self,
        name: impl Into<String>,
        observer: impl Observer<E> + 'static,
    ) -> Subscription {
        self.registry
            .insert(Name::Given(name.into()), Box::new(observer))
    }

    /// How many observers are subscribed (stream subscribers included).
    pub fn len(&self) -> usize {
        self.registry.len()
    }

    /// Whether nobody is subscribed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Keeps an observer subscribed; dropping it unsubscribes.
///
/// An observer subscribed during a notification gets the next event, not this one. Once
/// [`unsubscribe`](Subscription::unsubscribe) or the drop has returned, no call of the observer
/// begins, even from a notification under way; a call that began (was first polled) before
/// runs to its end. To keep that promise on a multi-thread runtime, unsubscribing waits for the
/// calls of this observer that other threads are beginning (polling it up to its first
/// `.await`): a lock's wait, never a spin.
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

    /// The observers subscribed now; the lock is held only for one `Arc` clone.
    pub(super) fn snapshot(&self) -> Arc<Vec<Arc<Entry<E>>>> {
        Arc::clone(&self.lock())
    }

    /// How many observers are subscribed.
    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }
}

impl<E: Send + Sync + 'static> Registry<E> {
    /// Add `observer` to the list and hand out the guard that removes it.
    pub(super) fn insert(
        self: &Arc<Self>,
        name: Name,
        observer: Box<dyn Observer<E>>,
    ) -> Subscription {
        let mut entries = self.lock();
        // Ids are taken under the lock, so they are pushed in increasing order.
        let id = ObserverId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let name = match name {
            Name::Given(name) => name,
            Name::Default(kind) => format!("{kind} {id}"),
        };
        let entry = Entry {
            id,
            name: name.into(),
            observer,
            subscribed: AtomicBool::new(true),
            beginning: RwLock::new(()),
        };
        Arc::make_mut(&mut entries).push(Arc::new(entry));
        drop(entries);
        let registry: Weak<dyn Unsubscribe> = Arc::downgrade(self) as Weak<_>;
        Subscription {
            id,
            registry: Some(registry),
        }
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
                // New snapshots no longer hold the entry; older ones see its flag cleared and
                // skip it, and the calls they are beginning now end their first poll before
                // this returns.
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

#[cfg(test)]
mod tests {
    use super::super::{FnObserver, Subject};

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

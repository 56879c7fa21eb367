//! Pitfall 4: futurelock (Oxide's RFD 609): a future that holds a resource, owned but no longer
//! polled, and another future on the same task that needs the resource.
//!
//! ```text
//! let mut update = pin!(add(&lock, 1));        // queues for the lock
//! tokio::select! {
//!     _ = &mut update => {}
//!     _ = sleep(patience) => {
//!         *lock.lock().await += 100;           // hangs forever
//!     }
//! }
//! ```
//!
//! Someone else holds the lock, so `update` queues for it. Patience runs out first, and the
//! second branch's body runs. `select!` dropped its `&mut update`, a borrow, not the future:
//! `update` is still alive, still first in the lock's queue, and **no longer polled**, since the
//! task is now busy in the branch's body. When the holder lets go, tokio's fair mutex hands the
//! lock to the first in its queue: `update`, which will never run to take it and release it.
//! The body's `lock().await` queues behind it, forever. No thread is blocked and no lock is held
//! by anything running: a deadlock made of futures ([`select_on_a_borrowed_future`]). A fair
//! lock makes it certain; an unfair one only makes it rarer.
//!
//! **The fix**: never leave a future that may own a resource alive but unpolled while the task
//! awaits something else. Either give `select!` the future itself, so it is dropped (and its
//! place in the queue given up) before the branch's body runs
//! ([`select_on_the_future_itself`]: the update is cancelled, the fallback runs); or spawn it,
//! so the runtime keeps polling it whatever this task does ([`select_on_a_spawned_task`]: the
//! update runs to its end, then the fallback). Watch for the same shape in `&mut fut` passed to
//! `select!` in a loop, in a `FuturesUnordered` that is not polled while its owner awaits
//! something else, and in a `buffered` stream (pitfall 3).
//!
//! # Cancellation
//! The wrong way never returns: run it under a watchdog ([`tokio::time::timeout`]). Dropping it
//! drops the stuck futures and aborts the task holding the lock (an [`AbortOnDropHandle`]).

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, OwnedMutexGuard};
use tokio::time::sleep;
use tokio_util::task::AbortOnDropHandle;

/// How long the lock is busy, how long we wait for our update, how long an update holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Someone else holds the lock this long before our update gets a turn.
    pub busy: Duration,
    /// How long we wait for our update before falling back (shorter than `busy`).
    pub patience: Duration,
    /// How long an update holds the lock (a write that is flushed before the guard goes).
    pub flush: Duration,
}

/// Add `n` under the lock, keeping it while the write is flushed.
async fn add(lock: &Mutex<u64>, n: u64, flush: Duration) {
    let mut value = lock.lock().await;
    *value += n;
    sleep(flush).await;
}

/// The fallback when the update is late: record 100 instead, under the same lock.
async fn fall_back(lock: &Mutex<u64>) {
    *lock.lock().await += 100;
}

/// The counter's final value.
async fn read(lock: &Mutex<u64>) -> u64 {
    *lock.lock().await
}

/// A counter whose lock someone else holds for `busy`: the holder is a task that lets go then.
async fn busy_counter(busy: Duration) -> (Arc<Mutex<u64>>, AbortOnDropHandle<()>) {
    let lock = Arc::new(Mutex::new(0));
    // Taken here, before anything else can queue, so our update has to wait for it.
    let held: OwnedMutexGuard<u64> = Arc::clone(&lock).lock_owned().await;
    let holder = tokio::spawn(async move {
        sleep(busy).await;
        drop(held);
    });
    (lock, AbortOnDropHandle::new(holder))
}

/// The wrong way: `select!` over `&mut update`, and the fallback branch takes the same lock.
/// **Never returns**: the update is handed the lock but never polled again.
pub async fn select_on_a_borrowed_future(t: Timing) -> u64 {
    let (lock, _holder) = busy_counter(t.busy).await;
    let mut update = pin!(add(&lock, 1, t.flush));
    tokio::select! {
        biased;
        () = &mut update => {}
        // `update` stays alive (only its borrow is dropped), first in the lock's queue.
        () = sleep(t.patience) => fall_back(&lock).await,
    }
    read(&lock).await
}

/// Fix 1: `select!` owns the update, so it is dropped, and leaves the lock's queue, before the
/// fallback runs. The update is cancelled: the counter ends at 100.
pub async fn select_on_the_future_itself(t: Timing) -> u64 {
    let (lock, _holder) = busy_counter(t.busy).await;
    tokio::select! {
        biased;
        () = add(&lock, 1, t.flush) => {}
        () = sleep(t.patience) => fall_back(&lock).await,
    }
    read(&lock).await
}

/// Fix 2: the update is a task, polled by the runtime while this task awaits the fallback; it
/// gets the lock first, flushes, lets go, then the fallback runs. The counter ends at 101.
pub async fn select_on_a_spawned_task(t: Timing) -> u64 {
    let (lock, _holder) = busy_counter(t.busy).await;
    let shared = Arc::clone(&lock);
    let flush = t.flush;
    let mut update = AbortOnDropHandle::new(tokio::spawn(async move {
        add(&shared, 1, flush).await;
    }));
    tokio::select! {
        biased;
        _ = &mut update => {}
        () = sleep(t.patience) => fall_back(&lock).await,
    }
    read(&lock).await
}

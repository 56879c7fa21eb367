//! Hardening, written once: panics to errors, locks that survive poisoning, threads that may
//! block.
//!
//! Every pattern needs the same guards, and none of them is the pattern. They live here
//! so that a pattern's `mod.rs` shows the idea, and a reader who wants the guards finds them in
//! one place:
//!
//! * [`catch_panic`], [`catch_panic_now`] and [`catch_stream_panics`]: a user's code (an
//!   observer, a step, a constructor, a fetcher) that panics becomes an error of *its* call, with the panic's message, instead of
//!   unwinding through `join_all` and losing every other call's result.
//! * [`lock`], [`read`] and [`write`]: a `std::sync` lock whose holder panicked is *poisoned*;
//!   every lock here guards a value that a panic cannot leave half-written (an `Arc` swapped
//!   whole, a map entry inserted whole, a number), so the guard is taken anyway.
//! * [`TaskError`], [`marked_blocking`] and [`blocking_allowed_here`]: what a task that did not
//!   return became, and the mark that tells a thread made for blocking (a
//!   [`to_thread`](crate::basics::blocking::to_thread) closure, a threaded HTTP call) from a
//!   runtime worker. They are public through [`basics::blocking`](crate::basics::blocking).
//!
//! What is *not* here: the `Arc<T>`, `Box<T>` and `&T` impls of each user-implemented trait.
//! A downstream implementer looks for them beside the trait, so each pattern writes them out.

use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use futures::{FutureExt, Stream, StreamExt};

/// The text of a panic payload, when it has one (`panic!("...")` carries a `&str` or a `String`).
///
/// Takes the `Box` itself, as `catch_unwind` and `JoinError::into_panic` return it: a
/// `&Box<dyn Any>` passed where a `&dyn Any` is expected would coerce to the box, not its
/// content, and the message would be lost.
pub fn panic_message(payload: Box<dyn Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// What happened to a task that did not return a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    /// The closure panicked; the panic message is kept when it was a string.
    #[error("the task panicked: {0}")]
    Panicked(String),
    /// The task was cancelled (aborted, or its runtime shut down) before it finished.
    #[error("the task was cancelled before it finished")]
    Cancelled,
}

impl TaskError {
    /// Convert a failed [`tokio::task::JoinError`] (a panic or a cancellation) into a `TaskError`.
    pub fn from_join(err: tokio::task::JoinError) -> Self {
        if err.is_panic() {
            TaskError::Panicked(panic_message(err.into_panic()))
        } else {
            TaskError::Cancelled
        }
    }
}

thread_local! {
    // Set while a closure handed to a blocking thread by this crate runs. Tokio offers no public
    // way to tell a blocking-pool thread from a runtime worker (both have a current `Handle`),
    // and only the second must not block, so we mark the threads we hand blocking work to.
    static MAY_BLOCK: Cell<bool> = const { Cell::new(false) };
}

/// Run `f` on this thread marked as one that may block; the mark is taken off when `f`
/// returns or panics. Called first thing on a thread of tokio's blocking pool.
pub(crate) fn marked_blocking<T>(f: impl FnOnce() -> T) -> T {
    /// Puts the previous mark back on drop, so a panic in `f` unmarks the thread too.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            MAY_BLOCK.with(|m| m.set(self.0));
        }
    }
    let _restore = Restore(MAY_BLOCK.with(|m| m.replace(true)));
    f()
}

/// Whether this thread may block: it runs no async runtime, or it runs a
/// [`to_thread`](crate::basics::blocking::to_thread) closure (or a threaded HTTP call).
///
/// Conservative: a closure given to a raw `spawn_blocking` is reported as not allowed, because
/// it cannot be told apart from a runtime worker.
pub fn blocking_allowed_here() -> bool {
    tokio::runtime::Handle::try_current().is_err() || MAY_BLOCK.with(Cell::get)
}

/// Await `fut`; a panic while polling it becomes `Err(message)`.
///
/// `AssertUnwindSafe` is sound here because nothing the future touched is used after a panic
/// except through the error: the caller reports it and moves on.
pub(crate) async fn catch_panic<F: Future>(fut: F) -> Result<F::Output, String> {
    AssertUnwindSafe(fut)
        .catch_unwind()
        .await
        .map_err(panic_message)
}

/// Poll `stream`; a panic while polling it becomes one last `Err(message)`, and the stream ends
/// there (the state a panic left it in is unknown, so it is not polled again).
pub(crate) fn catch_stream_panics<S: Stream>(
    stream: S,
) -> impl Stream<Item = Result<S::Item, String>> {
    AssertUnwindSafe(stream)
        .catch_unwind()
        .map(|polled| polled.map_err(panic_message))
}

/// Call `f`; a panic inside it becomes `Err(message)`. For the synchronous half of an async
/// call: the code that *builds* a future runs before the future is polled, and can panic too.
pub(crate) fn catch_panic_now<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).map_err(panic_message)
}

/// Lock `mutex`, whatever a panicking holder left: every mutex in this crate guards a value a
/// panic cannot leave half-written.
pub(crate) fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Read-lock `lock`, whatever a panicking writer left (see [`lock`]).
pub(crate) fn read<T: ?Sized>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

/// Write-lock `lock`, whatever a panicking holder left (see [`lock`]).
pub(crate) fn write<T: ?Sized>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

/// `d * n`, saturating at `Duration::MAX` (`Duration`'s own product takes a `u32`, and panics
/// past the maximum): in nanoseconds as a `u128`, where no product of a `Duration` by a `u64`,
/// nor by 2^100, can overflow unnoticed.
pub(crate) fn times(d: Duration, n: u128) -> Duration {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    let nanos = d.as_nanos().saturating_mul(n);
    let below_a_second = u32::try_from(nanos % NANOS_PER_SEC).unwrap_or(0);
    match u64::try_from(nanos / NANOS_PER_SEC) {
        Ok(secs) => Duration::new(secs, below_a_second),
        Err(_) => Duration::MAX,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_its_message() {
        let caught = catch_panic(async { panic!("boom {}", 7) }).await;
        assert_eq!(caught, Err::<(), _>("boom 7".to_owned()));
        assert_eq!(catch_panic(async { 5 }).await, Ok(5));
        let items =
            futures::stream::iter([1, 2, 3]).map(|n| if n == 2 { panic!("two") } else { n });
        let caught: Vec<_> = catch_stream_panics(items).collect().await;
        assert_eq!(caught, [Ok(1), Err("two".to_owned())]);
        assert_eq!(
            catch_panic_now(|| -> u8 { std::panic::panic_any(3_u32) }),
            Err("a panic without a message".to_owned())
        );
    }

    #[test]
    fn a_poisoned_lock_is_taken_anyway() {
        let shared = Arc::new((Mutex::new(1), RwLock::new(2)));
        let inside = Arc::clone(&shared);
        let poisoner = std::thread::spawn(move || {
            let _m = inside.0.lock();
            let _w = inside.1.write();
            panic!("while holding both");
        });
        assert!(poisoner.join().is_err());
        assert!(shared.0.is_poisoned() && shared.1.is_poisoned());
        *lock(&shared.0) += 1;
        *write(&shared.1) += 1;
        assert_eq!((*lock(&shared.0), *read(&shared.1)), (2, 3));
    }
}

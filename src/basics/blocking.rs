//! Blocking work in async code: the wrong way, and [`to_thread`], the right way.
//!
//! An async runtime runs many tasks on a few threads. A task gives its thread back only at an
//! `.await` that is not ready. A call that blocks (`std::thread::sleep`, a blocking HTTP client,
//! heavy computation) holds the thread: every other task scheduled there waits too.
//!
//! ```text
//! // wrong: blocks a runtime worker; on a current-thread runtime it blocks everything
//! async fn fetch() -> String { blocking_client.get(url) }
//!
//! // right: hand the blocking call to a thread made for blocking, await its result
//! async fn fetch() -> Result<String, TaskError> { to_thread(move || blocking_client.get(url)).await }
//! ```
//!
//! [`to_thread`] is Python's `asyncio.to_thread`: a thin wrapper over
//! [`tokio::task::spawn_blocking`] that turns a panic or a cancelled task into a [`TaskError`]
//! instead of re-raising it.
//!
//! # What it looks like
//! A heartbeat beats every 10 ms (the markers) on a one-thread runtime. Three 40 ms blocking
//! calls in async tasks run one after another and silence it for 120 ms; the same three through
//! `to_thread` overlap, and it beats on. Drawn on tokio's paused clock (`tests/pictures`), where
//! a blocking call is played by a jump of the clock while its task keeps the thread, and a call
//! on a blocking thread by a timer, since the runtime's own thread stays free meanwhile.
//!
#![doc = include_str!("pictures/blocking.svg")]
//!
//! # Why tokio's blocking pool beats Python's default executor
//! `asyncio.to_thread` uses a `ThreadPoolExecutor` of `min(32, cores + 4)` threads: 6 threads on
//! two cores, so 20 blocking requests of 100 ms run in four waves (about 4.6x, not 20x, when the
//! talk's Python code is run on a 2-core machine). Tokio's
//! blocking pool grows on demand up to 512 threads by default
//! ([`tokio::runtime::Builder::max_blocking_threads`]), so all 20 run at once. The cost: one OS
//! thread per blocked call (a stack of 2 MiB reserved each, a context switch per wake-up), threads
//! that linger 10 s after use, and no back-pressure: 10,000 blocking calls ask for 512 threads
//! and queue the rest. For I/O, the native async client ([`crate::http::native`]) needs no thread
//! per request at all.

use std::future::Future;
use std::time::{Duration, Instant};

// Written once in `support`, because the HTTP clients need them too and sit beside this module,
// not above it: what a failed task became, and the mark that tells a thread that may block.
pub use crate::support::{TaskError, blocking_allowed_here, panic_message};

/// Run a blocking closure on tokio's blocking thread pool and await its result.
///
/// The closure runs to the end even if the returned future is dropped: a blocking thread cannot
/// be interrupted. A panic inside it becomes [`TaskError::Panicked`] rather than unwinding into
/// the caller.
///
/// Must be called from within a tokio runtime (like [`tokio::task::spawn_blocking`]).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use async_patterns::basics::blocking::{to_thread, TaskError};
/// let sum = to_thread(|| (1..=10u64).sum::<u64>()).await;
/// assert_eq!(sum, Ok(55));
/// let boom = to_thread(|| -> u64 { panic!("boom") }).await;
/// assert_eq!(boom, Err(TaskError::Panicked("boom".into())));
/// # }
/// ```
pub async fn to_thread<F, T>(f: F) -> Result<T, TaskError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    // The mark lets the blocking HTTP client tell this thread from a runtime worker (see
    // [`blocking_allowed_here`]); it is taken off when `f` returns or panics.
    tokio::task::spawn_blocking(move || crate::support::marked_blocking(f))
        .await
        .map_err(TaskError::from_join)
}

/// Await `work` while a heartbeat task on the same runtime beats every `period`, and return
/// its output with the number of beats that happened meanwhile: how a frozen runtime shows.
///
/// A runtime whose threads are all blocked cannot run the heartbeat, so a blocking `work`
/// counts few beats (none on a current-thread runtime); one that waits counts about
/// `elapsed / period`. Must be called from within a tokio runtime; the heartbeat task is
/// aborted before this returns.
pub async fn with_heartbeat<F: Future>(period: Duration, work: F) -> (F::Output, u32) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    let beats = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&beats);
    let heart = tokio_util::task::AbortOnDropHandle::new(tokio::spawn(async move {
        let mut tick = tokio::time::interval(period.max(Duration::from_millis(1)));
        loop {
            tick.tick().await;
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }));
    // Let the heartbeat take its first beat (at once) before the work starts: not counted.
    tokio::task::yield_now().await;
    let start = beats.load(Ordering::Relaxed);
    let out = work.await;
    let during = beats.load(Ordering::Relaxed).saturating_sub(start);
    drop(heart);
    (out, during)
}

/// The wrong way, on purpose: `tasks` async tasks that each *block* their thread for `each`.
///
/// They are spawned concurrently, yet on a runtime with `W` worker threads they can only make
/// progress `W` at a time, because `std::thread::sleep` never yields to the scheduler. On a
/// current-thread runtime the total is `tasks * each`, exactly as if run one by one; and while it
/// runs, every other task on the runtime (timers, servers, heartbeats) is frozen as well.
///
/// Returns the wall-clock time the batch took. Compare it with [`right_way`].
pub async fn wrong_way(tasks: usize, each: Duration) -> Duration {
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| tokio::spawn(async move { std::thread::sleep(each) }))
        .collect();
    for handle in handles {
        // A panic here would only mean the sleep panicked; the timing is still what we report.
        let _ = handle.await;
    }
    start.elapsed()
}

/// The same blocking work as [`wrong_way`], moved to the blocking pool with [`to_thread`].
///
/// Every call gets its own blocking thread, so the batch takes about `each`, and the runtime's
/// own threads stay free for other tasks meanwhile.
pub async fn right_way(tasks: usize, each: Duration) -> Duration {
    let start = Instant::now();
    let calls = (0..tasks).map(|_| to_thread(move || std::thread::sleep(each)));
    let _ = futures::future::join_all(calls).await;
    start.elapsed()
}

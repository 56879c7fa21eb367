//! Checking that nothing spawned outlives its owner, and that a test cannot hang.

use std::time::{Duration, Instant};

use tokio::runtime::RuntimeFlavor;

/// How long [`alive_tasks_once_settled`] waits on a multi-thread runtime before it gives up and
/// returns the count it sees (real time: the workers reap tasks whatever tokio's clock says).
pub const SETTLE_DEADLINE: Duration = Duration::from_secs(5);

/// The current runtime's count of live tasks once it has settled on `expected`, or the count at
/// the deadline if it never does.
///
/// An aborted task is reaped on a later turn of the runtime, not at the moment of the abort, so
/// a test that drops a pipeline (or any owner of a `JoinSet`) and reads
/// [`tokio::runtime::RuntimeMetrics::num_alive_tasks`] at once can see tasks that are already
/// doomed. This waits until the count reaches `expected`, then returns the count it saw: the
/// test asserts on that, so a task that really leaked still fails it (after the deadline).
///
/// * On a current-thread runtime the reaping happens on this very thread, when this task
///   yields: it yields up to 1,000 times (on tokio's paused clock too, since no time passes).
/// * On a multi-thread runtime the workers reap tasks on their own threads, in their own time:
///   yielding alone can return before they have (the cause of false leaks). It waits up to
///   [`SETTLE_DEADLINE`] of real time, giving the thread away between two looks.
///
/// Must be called from within a tokio runtime.
pub async fn alive_tasks_once_settled(expected: usize) -> usize {
    let handle = tokio::runtime::Handle::current();
    let metrics = handle.metrics();
    let on_workers = handle.runtime_flavor() != RuntimeFlavor::CurrentThread;
    let deadline = Instant::now() + SETTLE_DEADLINE;
    let mut turns = 0_u32;
    while metrics.num_alive_tasks() != expected {
        if on_workers {
            if Instant::now() >= deadline {
                break;
            }
            // Let the workers run: this thread may be one of them, or compete with them for a
            // core. (Not a tokio sleep: the runtime may have no timer, or a paused one.)
            std::thread::yield_now();
        } else if turns >= 1_000 {
            break;
        }
        turns += 1;
        tokio::task::yield_now().await;
    }
    metrics.num_alive_tasks()
}

/// Run `test` on a thread of its own and return what it returns; panic if it has not returned
/// within `limit` of real time, so a test that would hang fails instead.
///
/// A lock held across an `.await` shows up as a hang, not an error: the second task to take a
/// `std::sync` lock blocks its thread for good, and no timeout on that thread can fire (nor on
/// tokio's paused clock, which stands still while the thread is blocked). Watching from another
/// thread turns the hang into a failure that says what happened. `test` usually builds the
/// runtime it needs and blocks on the test's body:
///
/// ```
/// use std::time::Duration;
/// use async_patterns::testkit::within;
///
/// let answer = within(Duration::from_secs(10), || {
///     let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
///     runtime.map(|rt| rt.block_on(async { 6 * 7 })).ok()
/// });
/// assert_eq!(answer, Some(42));
/// ```
///
/// A panic inside `test` is passed on as it was. A test that times out leaves its thread
/// behind, blocked: the test binary ends with the test run anyway.
pub fn within<T, F>(limit: Duration, test: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (done, finished) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("testkit-within".into())
        .spawn(move || {
            // `catch_unwind` so the result (or the panic) goes back through the channel even
            // when the test fails, and the watcher never waits for the limit on a failure.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(test));
            let _ = done.send(outcome);
        });
    if let Err(e) = thread {
        panic!("within: could not start the test's thread: {e}");
    }
    match finished.recv_timeout(limit) {
        Ok(Ok(value)) => value,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!(
            "the test did not finish within {limit:?}: it hangs (a lock held across an .await, \
             a poll that never returns?)"
        ),
    }
}

/// Run `test` on a current-thread runtime on tokio's paused clock (what
/// `#[tokio::test(start_paused = true)]` gives), on its own thread, failing it if it has not
/// finished within `limit` of real time: for a paused-clock test that would hang if a lock
/// were held across an `.await`.
///
/// ```
/// use std::time::Duration;
/// use async_patterns::testkit::within_paused;
///
/// let slept = within_paused(Duration::from_secs(10), async {
///     let start = tokio::time::Instant::now();
///     tokio::time::sleep(Duration::from_secs(3600)).await; // virtual: no real hour
///     start.elapsed()
/// });
/// assert_eq!(slept, Duration::from_secs(3600));
/// ```
pub fn within_paused<T, F>(limit: Duration, test: F) -> T
where
    T: Send + 'static,
    F: std::future::Future<Output = T> + Send + 'static,
{
    within(limit, move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build();
        match runtime {
            Ok(runtime) => runtime.block_on(test),
            Err(e) => panic!("within_paused: could not build the test's runtime: {e}"),
        }
    })
}

//! Checking that nothing spawned outlives its owner.

/// The current runtime's count of live tasks once it has settled on `expected`, or after 100
/// scheduler turns if it never does.
///
/// An aborted task is reaped on a later turn of the runtime, not at the moment of the abort, so
/// a test that drops a pipeline (or any owner of a `JoinSet`) and reads
/// [`tokio::runtime::RuntimeMetrics::num_alive_tasks`] at once can see tasks that are already
/// doomed. This yields until the count reaches `expected`, then returns the count it saw: the
/// test asserts on that, so a task that really leaked still fails it.
///
/// Must be called from within a tokio runtime.
pub async fn alive_tasks_once_settled(expected: usize) -> usize {
    let metrics = tokio::runtime::Handle::current().metrics();
    for _ in 0..100 {
        if metrics.num_alive_tasks() == expected {
            break;
        }
        tokio::task::yield_now().await;
    }
    metrics.num_alive_tasks()
}

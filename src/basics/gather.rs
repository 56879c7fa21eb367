//! Running a batch of futures: one after another, all at once, bounded, or as tasks.
//!
//! The same `Vec` of futures, four ways. All four return the outputs **in input order**, so only
//! the elapsed time tells them apart.
//!
//! | function        | runs                                         | time for n jobs of t  |
//! |-----------------|----------------------------------------------|-----------------------|
//! | [`one_by_one`]  | `for f in futs { f.await }`                  | n * t                 |
//! | [`all_at_once`] | [`futures::future::join_all`]: all, one task | t                     |
//! | [`bounded`]     | at most `limit` at once (`buffered`)         | ceil(n / limit) * t   |
//! | [`in_tasks`]    | each in its own task ([`tokio::task::JoinSet`]) | t, and in parallel on a multi-thread runtime |
//!
//! `join_all` and `bounded` poll every future from the one task that awaits them: concurrency
//! without parallelism. `in_tasks` spawns, so the futures may run on several worker threads, must
//! be `Send + 'static`, and a panic in one is caught and reported per job.
//!
//! Python's `asyncio.gather(*coros)` is `all_at_once`; an `asyncio.Semaphore` around each
//! coroutine is `bounded`; `asyncio.TaskGroup` is `in_tasks`.
//!
//! # Cancellation
//! Dropping the future returned by any of these drops every job still pending. For `in_tasks`,
//! dropping the `JoinSet` aborts the spawned tasks, so nothing outlives the call.

use std::future::Future;

use futures::StreamExt;
use tokio::task::JoinSet;

use crate::basics::blocking::TaskError;

/// Await each future in turn: the next one starts only when the previous one has finished.
pub async fn one_by_one<F>(futs: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: Future,
{
    let mut out = Vec::new();
    for fut in futs {
        out.push(fut.await);
    }
    out
}

/// Run all futures concurrently on the current task ([`futures::future::join_all`]).
pub async fn all_at_once<F>(futs: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: Future,
{
    futures::future::join_all(futs).await
}

/// Run at most `limit` futures at a time, keeping input order; a `limit` of 0 is taken as 1.
///
/// `buffered` (not `buffer_unordered`) so the output lines up with the input; the price is that
/// a slow early future holds back later finished ones from being *yielded* (not from running).
pub async fn bounded<F>(futs: impl IntoIterator<Item = F>, limit: usize) -> Vec<F::Output>
where
    F: Future,
{
    futures::stream::iter(futs)
        .buffered(limit.max(1))
        .collect()
        .await
}

/// Spawn each future as a task in a [`JoinSet`] and collect the outputs in input order.
///
/// A job that panics gives `Err(TaskError::Panicked)` in its slot; the others are unaffected.
/// Must be called from within a tokio runtime.
pub async fn in_tasks<F>(futs: impl IntoIterator<Item = F>) -> Vec<Result<F::Output, TaskError>>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let mut set = JoinSet::new();
    let mut ids = std::collections::HashMap::new();
    let mut count = 0;
    for (index, fut) in futs.into_iter().enumerate() {
        let handle = set.spawn(fut);
        ids.insert(handle.id(), index);
        count += 1;
    }
    // Every slot starts as "cancelled": a task the set never reports back really was lost.
    let mut out: Vec<Result<F::Output, TaskError>> =
        (0..count).map(|_| Err(TaskError::Cancelled)).collect();
    while let Some(joined) = set.join_next_with_id().await {
        let (id, result) = match joined {
            Ok((id, value)) => (id, Ok(value)),
            Err(err) => (err.id(), Err(TaskError::from_join(err))),
        };
        if let Some(slot) = ids.get(&id).and_then(|&i| out.get_mut(i)) {
            *slot = result;
        }
    }
    out
}

//! Running a batch of futures: one after another, all at once, bounded, or as tasks.
//!
//! The same `Vec` of futures, four ways. All four return the outputs **in input order**, so only
//! the elapsed time tells them apart.
//!
//! | function        | runs                                         | time for n jobs of t  |
//! |-----------------|----------------------------------------------|-----------------------|
//! | [`one_by_one`]  | `for f in futs { f.await }`                  | n * t                 |
//! | [`all_at_once`] | [`futures::future::join_all`]: all, one task | t                     |
//! | [`bounded`]     | at most `limit` at once (`buffer_unordered`) | ceil(n / limit) * t   |
//! | [`in_tasks`]    | each in its own task ([`JoinSet`]) | t, and in parallel on a multi-thread runtime |
//!
//! `join_all` and `bounded` poll every future from the one task that awaits them: concurrency
//! without parallelism. `in_tasks` spawns, so the futures may run on several worker threads, must
//! be `Send + 'static`, and a panic in one is caught and reported per job.
//!
//! Python's `asyncio.gather(*coros)` is `all_at_once`; an `asyncio.Semaphore` around each
//! coroutine is `bounded`; `asyncio.TaskGroup` is `in_tasks`.
//!
//! # What it looks like
//! Six jobs of 40, 70, 30, 50, 20 and 60 ms, the three ways, drawn from their spans on tokio's
//! paused clock (`tests/pictures`): one by one takes the sum (270 ms); `join_all` the longest
//! (70 ms); two at a time, a slot freed by a finished job is taken by the next one at once
//! (150 ms, the greedy schedule).
//!
#![doc = include_str!("pictures/gather.svg")]
//!
//! # Cancellation
//! Dropping the future returned by any of these drops every job still pending. For `in_tasks`,
//! dropping the `JoinSet` aborts the spawned tasks, so nothing outlives the call.

use std::future::Future;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
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

/// Run at most `limit` futures at a time and return their outputs in input order; a `limit` of
/// 0 is taken as 1.
///
/// A slot is freed the moment its future finishes, and the next future starts in it: `n` jobs
/// take the time of a greedy schedule (each job, in input order, on the first slot to free),
/// `ceil(n / limit) * t` when all take `t`. Only the *outputs* wait for their turn, at the end.
///
/// Why not `stream.buffered(limit)`, which keeps input order by itself? Because it counts an
/// output that is finished but not yet yielded as a slot in use: a finished job keeps its slot
/// until every job before it is done, so one slow job at the head holds up the jobs behind it
/// (head-of-line holding). Jobs of 100, 10, 10, 10, 10, 30 and 20 ms, two at a time, take
/// 140 ms that way, and 100 ms here (`tests/basics.rs` pins both numbers' schedule).
pub async fn bounded<F>(futs: impl IntoIterator<Item = F>, limit: usize) -> Vec<F::Output>
where
    F: Future,
{
    let limit = limit.max(1);
    let mut jobs = futs.into_iter().enumerate();
    // The jobs in flight, polled together; each one yields its output as soon as it is ready,
    // tagged with its index so it can finish in any order and still be put back in place.
    let mut running = FuturesUnordered::new();
    for (index, job) in jobs.by_ref().take(limit) {
        running.push(indexed(index, job));
    }
    let mut done = Vec::new();
    while let Some(finished) = running.next().await {
        done.push(finished);
        // Its slot is free: the next job starts in it now, not when the jobs before it end.
        if let Some((index, job)) = jobs.next() {
            running.push(indexed(index, job));
        }
    }
    // The outputs are small next to the waiting: sorting them back costs nothing that matters.
    done.sort_unstable_by_key(|(index, _)| *index);
    done.into_iter().map(|(_, output)| output).collect()
}

/// `job`'s output, with the index it had in the batch.
async fn indexed<F: Future>(index: usize, job: F) -> (usize, F::Output) {
    (index, job.await)
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

//! Pitfall 6: a concurrency limit of zero.
//!
//! A limit usually comes from a configuration file or a computation (`cores - 2`, `budget /
//! cost`), and one day it is zero. What zero means depends on who reads it:
//!
//! | API | a limit of 0 |
//! |-----|--------------|
//! | `futures`' [`buffered`](futures::StreamExt::buffered) / [`buffer_unordered`](futures::StreamExt::buffer_unordered) | starts nothing and never wakes: **hangs forever**, silently |
//! | `futures`' [`for_each_concurrent`](futures::StreamExt::for_each_concurrent) | ignored: **no limit at all** |
//! | tokio's [`Semaphore::new(0)`](tokio::sync::Semaphore::new) | every `acquire` waits forever (until permits are added) |
//! | tokio's [`mpsc::channel(0)`](tokio::sync::mpsc::channel) | **panics** |
//!
//! The same number, three meanings: a hang, no limit, a panic. The hang is the worst, since
//! nothing says anything: [`buffer_unordered_as_given`] shows it (run it under a watchdog).
//!
//! **The fix**: decide what zero means where the limit enters, and say it in the doc; taking it
//! as one (still correct, only slow) is the usual choice ([`buffer_unordered_clamped`]).
//!
//! # What this crate does with a zero
//! Every bounded helper and stage here **clamps** it to one; none refuses it (a limit is not
//! worth an error path, and one at a time is still the right answer, only slower), and none
//! hangs. `tests/pitfalls.rs` runs each with a zero under a watchdog:
//!
//! | helper | a limit of 0 |
//! |--------|--------------|
//! | [`gather::bounded`](crate::basics::gather::bounded) | one at a time |
//! | [`strategy::Bounded::new`](crate::strategy::Bounded::new) | one at a time (`limit()` says 1) |
//! | [`Registry::create_many`](crate::factory::Registry::create_many), `Some(0)` | one at a time (`None`: no limit) |
//! | [`StageOptions::ordered`] and [`unordered`] | concurrency 1 (`concurrency()` says 1) |
//! | [`Subject::subscribe_stream`] and `_with` | a channel of one event |
//!
//! A stage's [`buffer`] of 0 is not a limit and is kept: the stage pulls
//! from upstream only when a slot is free.
//!
//! [`StageOptions::ordered`]: crate::pipeline::stream::StageOptions::ordered
//! [`unordered`]: crate::pipeline::stream::StageOptions::unordered
//! [`buffer`]: crate::pipeline::stream::StageOptions::buffer
//! [`Subject::subscribe_stream`]: crate::observer::Subject::subscribe_stream

use std::future::Future;

use futures::StreamExt;

/// The wrong way: `buffer_unordered(limit)` with the limit as given. With 0 it never polls a
/// job and never registers a waker: **the returned future never completes**.
pub async fn buffer_unordered_as_given<F: Future>(
    jobs: impl IntoIterator<Item = F>,
    limit: usize,
) -> Vec<F::Output> {
    futures::stream::iter(jobs)
        .buffer_unordered(limit)
        .collect()
        .await
}

/// The fix: a zero is taken as one, as every helper of this crate does.
pub async fn buffer_unordered_clamped<F: Future>(
    jobs: impl IntoIterator<Item = F>,
    limit: usize,
) -> Vec<F::Output> {
    // Decided where the limit enters: zero means "one at a time", not "never".
    buffer_unordered_as_given(jobs, limit.max(1)).await
}

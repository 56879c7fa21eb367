//! Pitfall 3 again, in a pipeline: an inline stage stalls like `buffered`, a spawned one does
//! not.
//!
//! The pitfalls chapter ([`buffered_stall`](crate::basics::pitfalls::buffered_stall)) showed `stream.map(request).buffered(n)` stalling
//! while its consumer awaits between two items: the requests are polled only when the consumer
//! polls the stream. A [`Pipeline`] stage is polled the same way. An inline stage (the default)
//! advances only while the consumer polls the output, so a slow consumer stalls it exactly as it
//! stalls `buffered` ([`inline`]: the same 12 of 20 requests time out, on the paused clock). A
//! [`StageOptions::spawned`] stage runs each item as a task and does not stall ([`spawned`]:
//! none). And the consumer's work, made a stage of its own, runs while the requests do
//! ([`work_as_a_stage`]: none, in 250 ms instead of about a second). [`StageOptions`]'
//! documentation says so where the choice is made.
//!
//! The requests, the load and the consumer are the pitfall's own ([`request`], [`Load`],
//! [`drain`]), so the numbers compare one to one.
//!
//! # What it looks like
//! The pitfall's picture again, the requests now a pipeline stage: six requests of 1 to 3
//! round trips of 10 ms under a 45 ms deadline, three at a time, read by a consumer that works
//! 30 ms on each answer, drawn from their spans on the paused clock (`tests/pictures`). Inline,
//! requests 2, 3 and 6 wait unpolled while the consumer works, and time out, exactly as with
//! `buffered`; spawned, every request runs while the consumer works, and none does.
//!
#![doc = include_str!("pictures/stall.svg")]
//!
//! # Cancellation
//! Dropping any of these futures drops the pipeline, which drops the requests in flight and
//! aborts the tasks of a spawned stage.

use std::time::Duration;

use futures::StreamExt;

use super::{ErrorPolicy, Pipeline, StageOptions};
use crate::basics::pitfalls::buffered_stall::{Load, Tally, drain, request};

/// The requests as an inline stage (the default), read by a consumer that awaits its work
/// between two items: it stalls like `buffered`.
pub async fn inline(load: Load) -> Tally {
    run(load, StageOptions::ordered(load.limit), load.work, false).await
}

/// The same stage, [`StageOptions::spawned`]: each item a task, polled by the runtime whatever
/// the consumer does, so no stall.
pub async fn spawned(load: Load) -> Tally {
    let options = StageOptions::ordered(load.limit).spawned();
    run(load, options, load.work, false).await
}

/// The inline stage again, with the consumer's work as a second inline stage: no stall, and
/// the work overlaps the requests.
pub async fn work_as_a_stage(load: Load) -> Tally {
    run(
        load,
        StageOptions::ordered(load.limit),
        Duration::ZERO,
        true,
    )
    .await
}

/// A pipeline of the requests (`options`), with the work as a stage if `work_stage`, consumed
/// by a consumer that spends `work` per item.
async fn run(load: Load, options: StageOptions, work: Duration, work_stage: bool) -> Tally {
    let requests = Pipeline::from_iter(0..load.requests)
        .stage_fn("request", options, move |i| request(load, i))
        .on_error(ErrorPolicy::SkipAndReport);
    let answers = if work_stage {
        let stage = StageOptions::ordered(load.limit);
        let store = requests.stage_fn("store", stage, move |answer| async move {
            tokio::time::sleep(load.work).await;
            Ok::<bool, String>(answer)
        });
        store.into_stream().boxed()
    } else {
        requests.into_stream().boxed()
    };
    // A failed item (a panic) is a lost request.
    drain(answers.map(|r| r.map_err(|e| e.to_string())), work).await
}

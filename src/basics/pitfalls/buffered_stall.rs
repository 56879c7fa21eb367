//! Pitfall 3: the buffered-stream stall (futures-rs issue 2387; "Barbara battles buffered
//! streams" in the Rust async working group's vision document).
//!
//! `stream.map(request).buffered(n)` looks like "n requests always in flight". It is "n
//! requests polled **whenever the consumer polls the stream**". A consumer that awaits its own
//! work between two `next()` calls stops polling the buffered requests for that long:
//!
//! ```text
//! let mut answers = stream::iter(ids).map(|id| timeout(deadline, request(id))).buffered(5);
//! while let Some(answer) = answers.next().await {
//!     store(answer).await;   // while this waits, the other four requests are not polled
//! }
//! ```
//!
//! A request that needs several round trips (connect, send, read) starts its next round trip
//! only when it is polled, so it advances one round trip per poll, and none while the consumer
//! is busy; its deadline keeps running. The symptom: requests time out although the server
//! answered each round trip in time ([`consumer_awaits`] counts them). On the paused clock,
//! twenty requests of 1 to 6 round trips of 10 ms (60 ms at most), each with a 100 ms deadline,
//! five at a time, read by a consumer that spends 50 ms per answer: **12 of the 20 time out**.
//!
//! **The fixes.** Spawn each request as a task, so it is polled by the runtime whatever the
//! consumer does ([`spawned`]; `buffered` then only bounds how many run at once); or move the
//! consumer's work into the buffered closure, so it runs concurrently with the requests instead
//! of between two polls ([`work_in_the_closure`]; it is also faster, 390 ms instead of 1.08 s,
//! since the work now overlaps). Both: no timeout.
//!
//! # What it looks like
//! Six requests, three at a time, read by a consumer that works 30 ms on each answer, drawn
//! from their spans on tokio's paused clock (`tests/pictures`). Buffered, requests 2, 3 and 6
//! wait unpolled while the consumer works, and time out; spawned, every request runs while the
//! consumer works, and none does.
//!
#![doc = include_str!("../pictures/buffered_stall.svg")]
//!
//! # And `pipeline::stream`?
//! A pipeline stage is polled the same way; the reading order reaches pipelines later, and
//! `pipeline::stream::stall` shows the same requests there, with the same [`request`] and
//! [`drain`].
//!
//! # Cancellation
//! Dropping any of these futures drops the requests in flight; the spawned ones are behind an
//! [`AbortOnDropHandle`], so their tasks are aborted too.

use std::time::Duration;

use futures::stream::{self, Stream, StreamExt};
use tokio::time::Instant;
use tokio_util::task::AbortOnDropHandle;
use tracing::{Instrument, info_span};

/// The work: how many requests, how many at once, what each needs, what the consumer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    /// How many requests.
    pub requests: usize,
    /// How many in flight at once (0 is taken as 1).
    pub limit: usize,
    /// The most round trips a request needs (connect, send, read...), one after another:
    /// request `i` needs `1 + i % round_trips`, so answers come back at different times, as
    /// real ones do (0 is taken as 1).
    pub round_trips: u32,
    /// The time of one round trip.
    pub round_trip: Duration,
    /// Each request's deadline, counted from its start.
    pub deadline: Duration,
    /// What the consumer spends on each answer (an `.await`, e.g. a write to a store).
    pub work: Duration,
}

impl Load {
    /// What the longest request needs when polled as it should be: its round trips, one after
    /// another.
    pub fn needs(&self) -> Duration {
        self.round_trip * self.round_trips.max(1)
    }

    /// How many round trips request `i` needs.
    fn round_trips_of(&self, i: usize) -> u32 {
        let most = self.round_trips.max(1) as usize;
        1 + (i % most) as u32
    }
}

/// What the consumer got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// Requests answered within their deadline.
    pub answered: usize,
    /// Requests that hit their deadline.
    pub timed_out: usize,
    /// Requests lost otherwise (a task that panicked or was cancelled).
    pub lost: usize,
    /// How long the whole batch took, the consumer's work included.
    pub elapsed: Duration,
}

/// Request `i`: its round trips, each one started only when the request is polled after the
/// previous one ended, all under one deadline that starts with the request.
/// `Ok(true)` answered, `Ok(false)` timed out (never `Err`: the type is a stage's).
pub async fn request(load: Load, i: usize) -> Result<bool, String> {
    // A span, so a timeline shows when each request ran and how it ended (free when nobody
    // records: the module's picture is drawn from these spans).
    let span = info_span!(
        "request",
        request = %format_args!("request {}", i + 1),
        outcome = tracing::field::Empty
    );
    let round_trips = async {
        for _ in 0..load.round_trips_of(i) {
            tokio::time::sleep(load.round_trip).await;
        }
    };
    let answered = tokio::time::timeout(load.deadline, round_trips)
        .instrument(span.clone())
        .await
        .is_ok();
    span.record("outcome", if answered { "ok" } else { "timed out" });
    Ok(answered)
}

/// The wrong way: `buffered(limit)`, and the consumer awaits its work between two `next()`s.
pub async fn consumer_awaits(load: Load) -> Tally {
    let answers = stream::iter(0..load.requests)
        .map(|i| request(load, i))
        .buffered(load.limit.max(1));
    drain(answers, load.work).await
}

/// Fix 1: each request is a task; `buffered` only bounds how many run, and awaits their ends.
pub async fn spawned(load: Load) -> Tally {
    let answers = stream::iter(0..load.requests)
        // `in_current_span`: the task's spans nest under the caller's, as if it had not moved.
        .map(|i| AbortOnDropHandle::new(tokio::spawn(request(load, i).in_current_span())))
        .buffered(load.limit.max(1))
        // A task that panicked or was aborted is a lost request, not a timeout.
        .map(|joined| joined.unwrap_or_else(|e| Err(e.to_string())));
    drain(answers, load.work).await
}

/// Fix 2: the consumer's work goes inside the buffered closure, so it is polled with the
/// requests; the consumer itself only counts.
pub async fn work_in_the_closure(load: Load) -> Tally {
    let answers = stream::iter(0..load.requests)
        .map(|i| async move {
            let answer = request(load, i).await;
            tokio::time::sleep(load.work).await; // the work, now concurrent with the requests
            answer
        })
        .buffered(load.limit.max(1));
    drain(answers, Duration::ZERO).await
}

/// The consumer: counts each answer, then spends `work` on it before asking for the next.
pub async fn drain<S>(answers: S, work: Duration) -> Tally
where
    S: Stream<Item = Result<bool, String>>,
{
    let start = Instant::now();
    let mut tally = Tally::default();
    let mut answers = std::pin::pin!(answers);
    let mut read = 0;
    while let Some(answer) = answers.next().await {
        read += 1;
        match answer {
            Ok(true) => tally.answered += 1,
            Ok(false) => tally.timed_out += 1,
            Err(_) => tally.lost += 1,
        }
        if !work.is_zero() {
            // The stream is not polled while this waits: that is the whole pitfall.
            let span = info_span!("work", work = %format_args!("work on answer {read}"));
            tokio::time::sleep(work).instrument(span).await;
        }
    }
    tally.elapsed = start.elapsed();
    tally
}

//! Pitfall 5: cancellation safety, or what a `select!` loop loses on every turn.
//!
//! `select!` polls its branches and runs the first to finish; **the others are dropped**, at
//! whatever `.await` they had reached. In a loop, they are built again on the next turn. That
//! is harmless for an operation that keeps nothing in the future itself, and loses data for one
//! that does:
//!
//! ```text
//! loop {
//!     tokio::select! {
//!         record = read_record(&mut rx) => handle(record),  // header, then body: two awaits
//!         _ = heartbeat.tick() => beat(),                   // wins between the two: header lost
//!     }
//! }
//! ```
//!
//! A record here is two messages, a header then its body. When the heartbeat fires after
//! `read_record` took the header and while it waits for the body, the header is dropped with
//! the future that held it, and the next turn pairs the body with the next header: messages
//! lost, and records garbled from then on ([`select_in_a_loop`] counts both).
//!
//! # Which operations are cancel-safe
//! An operation is cancel-safe when dropping it before it completes and starting it again
//! loses nothing (tokio's `select!` documentation lists these):
//! * **safe**: `mpsc::Receiver::recv` (and the unbounded one's), `broadcast::Receiver::recv`,
//!   `watch::Receiver::changed`, `TcpListener::accept`, `AsyncReadExt::read` and `read_buf`,
//!   `AsyncWriteExt::write` and `write_buf`, `StreamExt::next` on any stream,
//!   `Interval::tick` (a `sleep` built anew on each turn is safe too, but restarts its delay);
//! * **not safe, data lost**: `AsyncReadExt::read_exact`, `read_to_end`, `read_to_string`,
//!   `AsyncWriteExt::write_all` (each keeps what it has read or written so far in the future),
//!   and any `async fn` of yours that awaits twice with something in hand between, like
//!   `read_record`;
//! * **not safe, place lost**: `Mutex::lock`, `RwLock::read` and `write`,
//!   `Semaphore::acquire`, `Notify::notified`: nothing is lost but your place in a fair queue.
//!
//! **The fixes.** Keep the unsafe future *outside* the loop, so a turn that loses only
//! pauses it ([`future_outside_the_loop`]: the records become a stream, and `next()` on a
//! stream is cancel-safe, since the half-read record lives in the stream); or use only
//! cancel-safe operations in the `select!` and keep the partial state in the loop's own
//! variables ([`state_outside_the_select`]).
//!
//! # Cancellation
//! The reader and the producer run on the calling task (`join!`); nothing is spawned.

use std::pin::pin;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::time::{Interval, MissedTickBehavior, sleep};

/// The feed: `records` records, each a header then its body `gap` later, one every `every`;
/// the reader also keeps a heartbeat every `heartbeat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feed {
    /// How many records (two messages each).
    pub records: u32,
    /// Between a record's header and its body.
    pub gap: Duration,
    /// Between two records' headers (at least `gap`).
    pub every: Duration,
    /// The reader's heartbeat period (not zero).
    pub heartbeat: Duration,
}

/// What the reader counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// Messages the producer sent (two per record).
    pub sent: u32,
    /// Messages that reached the reader's hands (in a record, or a record's lone header).
    pub received: u32,
    /// Records read whole and well paired (a header with its own body).
    pub records: u32,
    /// Records read with a body that was not their header's.
    pub garbled: u32,
    /// Heartbeats the reader kept while reading.
    pub heartbeats: u32,
}

impl Tally {
    /// Messages sent and never handed to the reader: dropped inside a cancelled future.
    pub fn lost(&self) -> u32 {
        self.sent.saturating_sub(self.received)
    }

    /// Count a record read: its header, and its body unless the feed ended first.
    fn record(&mut self, (header, body): (u32, Option<u32>)) {
        self.received += 1 + u32::from(body.is_some());
        // Record k is the header 2k and the body 2k + 1.
        if header % 2 == 0 && body == Some(header + 1) {
            self.records += 1;
        } else {
            self.garbled += 1;
        }
    }
}

/// Read one record: a header, then its body. Two awaits, the header held between them: **not
/// cancel-safe**. `None` when the feed has ended; a body of `None` when it ended after a header.
async fn read_record(rx: &mut mpsc::Receiver<u32>) -> Option<(u32, Option<u32>)> {
    let header = rx.recv().await?;
    let body = rx.recv().await;
    Some((header, body))
}

/// The wrong way: `read_record` raced against the heartbeat, built anew on every turn.
pub async fn select_in_a_loop(feed: Feed) -> Tally {
    run(feed, async |mut rx, mut heartbeat, tally: &mut Tally| {
        loop {
            tokio::select! {
                biased;
                record = read_record(&mut rx) => match record {
                    Some(record) => tally.record(record),
                    None => break,
                },
                // Wins while `read_record` waits for a body: the header in its hands is dropped.
                _ = heartbeat.tick() => tally.heartbeats += 1,
            }
        }
    })
    .await
}

/// Fix 1: the unsafe future lives outside the loop, in a stream; `select!` races the
/// stream's `next()`, which is cancel-safe: a lost turn pauses the half-read record.
pub async fn future_outside_the_loop(feed: Feed) -> Tally {
    run(feed, async |rx, mut heartbeat, tally: &mut Tally| {
        let records = futures::stream::unfold(rx, async |mut rx| {
            let record = read_record(&mut rx).await?;
            Some((record, rx))
        });
        let mut records = pin!(records);
        loop {
            tokio::select! {
                biased;
                record = records.next() => match record {
                    Some(record) => tally.record(record),
                    None => break,
                },
                _ = heartbeat.tick() => tally.heartbeats += 1,
            }
        }
    })
    .await
}

/// Fix 2: `select!` races only `recv`, which is cancel-safe, and the half-read record (a
/// header waiting for its body) is a variable of the loop, not of a future.
pub async fn state_outside_the_select(feed: Feed) -> Tally {
    run(feed, async |mut rx, mut heartbeat, tally: &mut Tally| {
        let mut header = None;
        loop {
            tokio::select! {
                biased;
                message = rx.recv() => match (message, header.take()) {
                    (Some(body), Some(first)) => tally.record((first, Some(body))),
                    (Some(first), None) => header = Some(first),
                    (None, lone) => {
                        if let Some(first) = lone {
                            tally.record((first, None));
                        }
                        break;
                    }
                },
                _ = heartbeat.tick() => tally.heartbeats += 1,
            }
        }
    })
    .await
}

/// Run the producer and `reader` together on this task, and count what the reader got.
async fn run<R>(feed: Feed, reader: R) -> Tally
where
    R: AsyncFnOnce(mpsc::Receiver<u32>, Interval, &mut Tally),
{
    let (tx, rx) = mpsc::channel(16);
    let produce = async move {
        let mut sent = 0;
        for k in 0..feed.records {
            let rest = feed.every.saturating_sub(feed.gap);
            for (message, pause) in [(2 * k, feed.gap), (2 * k + 1, rest)] {
                if tx.send(message).await.is_ok() {
                    sent += 1;
                }
                sleep(pause).await;
            }
        }
        sent // `tx` is dropped here: the reader sees the end of the feed
    };
    let mut heartbeat = tokio::time::interval(feed.heartbeat.max(Duration::from_millis(1)));
    heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut tally = Tally::default();
    let (sent, ()) = tokio::join!(produce, reader(rx, heartbeat, &mut tally));
    tally.sent = sent;
    tally
}

//! The Observer across processes (feature `redis`): a subject's events sent through Redis, and
//! delivered on the other side to ordinary local [`Observer`](super::Observer)s, with the same
//! [`Report`](super::Report).
//!
//! # The concept
//! In one process, [`Subject::notify`](super::Subject::notify) calls every observer and knows
//! what each did. Across processes the subject becomes a [`RedisPublisher`], the observers live
//! in other processes behind a [`RedisSubscriber`], and Redis carries the events between them.
//! The trait does not change: a subscriber holds a local [`Subject`](super::Subject), and its
//! observers are the same `Observer`s, reported the same way. What changes is the promise.
//!
//! # The two guarantees
//! Named the way [`StreamPolicy`](super::StreamPolicy) names what a slow stream subscriber
//! does, and with the same rule: nothing is lost silently.
//!
//! | [`Guarantee`]   | Redis                                  | a subscriber down or slow...             | an observer that fails...          | each event reaches a subscriber |
//! |-----------------|----------------------------------------|------------------------------------------|------------------------------------|---------------------------------|
//! | [`AtMostOnce`]  | pub/sub: `PUBLISH`, `SUBSCRIBE`        | misses events; the gap in the publisher's sequence is reported ([`Notice::Missed`]) | is reported, and that is all | once, or never (and counted)    |
//! | [`AtLeastOnce`] | Streams: `XADD`, a consumer group      | gets them later: entries wait in the stream, and a dead consumer's are claimed (`XAUTOCLAIM`) by another | leaves the entry unacknowledged: it is delivered again after the idle time, up to the attempts, then dead-lettered | once or more: an idempotent observer (one that skips an [`EventId`] it has seen) gets exactly-once effects |
//!
//! Beside the in-process subject: *exactly once*, but only while the process lives.
//!
//! ```no_run
//! use async_patterns::observer::redis::{Guarantee, RedisOptions, RedisPublisher, RedisSubscriber};
//! use async_patterns::observer::{FnObserver, Subject};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = redis::Client::open("unix:///tmp/r.sock")?;
//! let options = RedisOptions::default();
//! // One process: the subscriber, a consumer of the group "mailers".
//! let mut subscriber = RedisSubscriber::<String>::at_least_once(
//!     client.clone(), "signups", "mailers", "mailer-1", Subject::new(), options.clone(),
//! ).await?;
//! let _mail = subscriber.subscribe_named("mail", FnObserver::new(|who: &String| {
//!     let who = who.clone();
//!     async move { println!("welcome, {who}"); Ok(()) }
//! }));
//! // Another process: the publisher.
//! let mut publisher = RedisPublisher::new(client, "signups", Guarantee::AtLeastOnce, &options);
//! publisher.publish(&"ada".to_owned()).await?;
//! // Back in the first: deliver, then acknowledge.
//! while let Some(notice) = subscriber.next().await? {
//!     println!("{notice:?}");
//! }
//! # Ok(()) }
//! ```
//!
//! # What changes when the part is remote
//! * **Serialisation.** An observer got `&E`; now `E` becomes JSON and back (serde), in an
//!   [`Envelope`] with its [`EventId`] (`envelope.rs`). An entry that is not an event is a
//!   [`DecodeError`] and goes to the dead-letter stream `{topic}:dead` with its bytes, never a
//!   crash loop, never a silent drop; an event over [`RedisOptions::max_entry_bytes`] is refused
//!   at publish time ([`RemoteError::TooLarge`]).
//! * **At most once against at least once.** Pub/sub forgets an event once sent; a stream keeps
//!   it until every group has acknowledged it. The price of not losing is seeing twice.
//! * **Idempotence.** At least once, an observer must tolerate a repeat: keep the ids it has
//!   handled (or make its effect idempotent: a `SET`, an upsert keyed by the id).
//! * **Order per stream.** One publisher's events reach a subscriber in the order published
//!   (its `publish` takes `&mut self`); events of several publishers interleave; a redelivered
//!   event arrives after later ones.
//! * **Back-pressure through `COUNT`.** A subscriber reads [`RedisOptions::batch`] entries at a
//!   time and holds no more; the rest wait in Redis, not in memory. A pipeline worker
//!   ([`pipeline::stream::redis`](crate::pipeline::stream::redis)) holds at most
//!   [`RedisOptions::max_unacked`] entries, counted by a semaphore.
//! * **Failure is typed.** Every call is bounded by [`RedisOptions::timeout`]; a server that
//!   went away is a [`RemoteError`] whose [`is_transient`](RemoteError::is_transient) says to
//!   try again, and the next call reconnects (`link.rs`).
//!
//! # What it costs
//! A socket and JSON per event instead of a function call: measured by `cargo bench --bench
//! redis` (20,000 events from eight publishers at once, publish to observer, release build, one
//! run on a 2-core machine shared with other builds, load average 8 to 9):
//!
//! | way, 1 subscriber              | events/s | p50       | p99      |
//! |--------------------------------|----------|-----------|----------|
//! | in-process [`Subject`](super::Subject) | 141,000 | 0.7 µs | 1.2 µs |
//! | pub/sub (at most once)         | 70,000   | 107 µs    | 240 µs   |
//! | Streams, batch 1               | 12,800   | 0.5 s     | 1.25 s   |
//! | Streams, batch 16              | 74,000   | 15 ms     | 37 ms    |
//! | Streams, batch 128             | 36,000   | 0.25 ms   | 4.7 ms   |
//! | `redis-benchmark`, 50 clients  | `PUBLISH` 89,000, `XADD` 85,000 (the ceiling) | | |
//!
//! Batching is what makes at least once affordable: one `XREADGROUP` and one `XACK` per batch
//! instead of per event (batch 1 is seven times slower than batch 16, and its events queue up
//! behind the reads). Each of ten subscribers reads its own copy, so ten cost about ten times
//! one. The latencies of the Streams rows are those of a backlog drained, not of an idle
//! system: eight publishers outran one consumer.
//!
//! # Cancellation and crashes
//! Dropping a [`RedisSubscriber::next`] future drops its command at its `.await`: a read entry
//! that was not delivered stays pending and is claimed again after the idle time; an event being
//! delivered is cancelled as [`Subject::notify`](super::Subject::notify)'s docs say, and not
//! acknowledged. A process that dies holding entries loses nothing either: they stay in the
//! group's pending list until another consumer claims them ([`RedisOptions::claim_idle`]). What
//! was acknowledged is never delivered again.
//!
//! # Where to go next
//! Redis keeps a stream in memory, on one server (replicas and persistence aside), and trims it
//! only when told. When the log must outlive memory, be replicated by the broker itself, or be
//! replayed from any point by many groups, Kafka (a partitioned, replicated log, consumer offsets
//! instead of acknowledgements) and NATS JetStream (acknowledgements, redelivery and
//! deduplication windows built in) make the same promises at a larger scale; the traits and the
//! conformance suite here are how to check that a new backend keeps them.
//!
//! # Reading it
//! `subscriber.rs` reads from [`RedisSubscriber::next`] down to your observer, and
//! `source.rs` where its events come from (a channel, or a consumer group); `publisher.rs`
//! holds the publisher; `group.rs` the consumer-group commands (shared with the pipeline
//! worker); `link.rs` the connection that reconnects; `envelope.rs` what travels; `errors.rs`
//! and `options.rs` the rest.
//!
//! [`AtMostOnce`]: Guarantee::AtMostOnce
//! [`AtLeastOnce`]: Guarantee::AtLeastOnce

mod envelope;
mod errors;
pub(crate) mod group;
pub(crate) mod link;
mod options;
mod publisher;
mod source;
mod subscriber;

pub use envelope::{Envelope, EventId};
pub use errors::{DecodeError, Rejection, RemoteError};
pub use options::{MAX_BATCH, MAX_ENTRY_BYTES, MAX_UNACKED, RedisOptions};
pub use publisher::{Published, RedisPublisher};
pub use subscriber::{Notice, RedisSubscriber, Totals};

pub(crate) use envelope::decode;

/// What a remote subscriber is promised: the two ways Redis carries events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Guarantee {
    /// Pub/sub: each event reaches the subscribers listening when it is published, once, or
    /// never; a gap in a publisher's sequence is reported as [`Notice::Missed`].
    AtMostOnce,
    /// Streams with a consumer group: each event reaches one consumer of each group, and again
    /// until its observers have all succeeded and it is acknowledged.
    AtLeastOnce,
}

impl Guarantee {
    /// Both, at most once first.
    pub const ALL: [Guarantee; 2] = [Guarantee::AtMostOnce, Guarantee::AtLeastOnce];

    /// A short name: `at most once` or `at least once`.
    pub fn name(self) -> &'static str {
        match self {
            Guarantee::AtMostOnce => "at most once",
            Guarantee::AtLeastOnce => "at least once",
        }
    }
}

//! [`RedisSubscriber`]: events read from Redis and delivered to ordinary local observers, through
//! a [`Subject`], with the same [`Report`].
//!
//! From [`RedisSubscriber::next`] to your observer, top to bottom: take the next entry (the
//! source), give up on it if it cannot be an event (dead letter), report a gap before it (at
//! most once), deliver it with [`Subject::notify`], and keep its acknowledgement for the end of
//! the batch (at least once) if every observer succeeded.

use std::collections::{HashMap, VecDeque};
use std::fmt;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use super::envelope::{self, Envelope, EventId};
use super::group::{Group, Incoming};
use super::link::Link;
use super::source::{Source, subscribe};
use super::{Guarantee, RedisOptions, Rejection, RemoteError};
use crate::observer::{BoxError, Observer, Report, Subject, Subscription};

/// What one [`RedisSubscriber::next`] did.
#[derive(Debug)]
#[non_exhaustive]
pub enum Notice {
    /// An event went to the local observers: what each did. `redelivered` when another
    /// delivery of it came before (its observers failed, or a consumer died holding it).
    Delivered {
        /// The event's id.
        id: EventId,
        /// Each local observer's outcome, as [`Subject::notify`] reports it.
        report: Report,
        /// Whether it had been delivered before.
        redelivered: bool,
    },
    /// At most once: this many events of `publisher` never arrived (a gap in its sequence).
    /// The event after the gap is delivered by the next call.
    Missed {
        /// The publisher's id.
        publisher: String,
        /// How many of its events were lost.
        count: u64,
    },
    /// At least once: these events' entries are acknowledged; the group will not deliver them
    /// again, to anyone.
    Acked {
        /// The events acknowledged, in the order they were delivered.
        ids: Vec<EventId>,
    },
    /// An entry was moved to the dead-letter stream (`{topic}:dead`), with why.
    DeadLettered {
        /// The entry's id (or `message on {topic}` for a pub/sub message).
        entry: String,
        /// Why.
        reason: Rejection,
    },
}

/// What a subscriber has done so far.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    /// Events delivered to the observers (redeliveries included).
    pub delivered: u64,
    /// Of those, the ones delivered before.
    pub redelivered: u64,
    /// Events reported missed (at most once).
    pub missed: u64,
    /// Entries acknowledged (at least once).
    pub acked: u64,
    /// Entries dead-lettered.
    pub dead_lettered: u64,
}

/// Reads a topic from Redis and delivers each event to the observers of a local [`Subject`],
/// under a [`Guarantee`]. [`RedisSubscriber::next`] shows the loop.
pub struct RedisSubscriber<E> {
    subject: Subject<Envelope<E>>,
    topic: String,
    source: Source,
    options: RedisOptions,
    /// An event held back while the gap before it is reported (at most once).
    held: Option<Envelope<E>>,
    /// The highest sequence number seen from each publisher (at most once).
    last_seq: HashMap<String, u64>,
    totals: Totals,
}

impl<E: DeserializeOwned + Send + Sync + 'static> RedisSubscriber<E> {
    /// The next thing that happened: an event delivered (or missed, acknowledged,
    /// dead-lettered), or `None` if nothing arrived within the options' block time.
    ///
    /// ```no_run
    /// # use async_patterns::observer::redis::*;
    /// # async fn run(mut subscriber: RedisSubscriber<String>) -> Result<(), RemoteError> {
    /// loop {
    ///     match subscriber.next().await {
    ///         Ok(Some(Notice::Delivered { id, report, .. })) => println!("{id}:\n{report}"),
    ///         Ok(Some(other)) => println!("{other:?}"),
    ///         Ok(None) => {}                               // nothing new within the block time
    ///         Err(e) if e.is_transient() => eprintln!("{e}"), // redis is away: try again
    ///         Err(e) => return Err(e),
    ///     }
    /// }
    /// # }
    /// ```
    pub async fn next(&mut self) -> Result<Option<Notice>, RemoteError> {
        // An event held back while its gap was reported goes first.
        if let Some(envelope) = self.held.take() {
            return Ok(Some(self.deliver(envelope, false, None).await));
        }
        // At least once: the acknowledgements of the last batch, in one XACK, before reading on.
        if let Some(ids) = self.source.flush_acks().await? {
            self.totals.acked += ids.len() as u64;
            return Ok(Some(Notice::Acked { ids }));
        }
        let Some(incoming) = self.source.next(&self.topic, &self.options).await? else {
            return Ok(None);
        };
        self.handle(incoming).await.map(Some)
    }

    /// Deliver one entry or message, or dead-letter it.
    async fn handle(&mut self, incoming: Incoming) -> Result<Notice, RemoteError> {
        // Delivered too often (its observers kept failing, or consumers kept dying): given up.
        let attempts = incoming.deliveries.saturating_sub(1);
        if attempts >= self.options.attempts() {
            let entry = incoming.entry.clone();
            let last_error = "its observers did not all succeed".to_owned();
            let reason = Rejection::Exhausted {
                entry,
                attempts,
                last_error,
            };
            return self.dead_letter(incoming, reason).await;
        }
        let max = self.options.entry_bytes();
        let bytes = incoming.bytes.as_deref();
        let envelope = match envelope::decode(&incoming.entry, bytes, max) {
            Ok(envelope) => envelope,
            // Not an event: a typed error, and the entry kept aside, never a crash loop.
            Err(error) => return self.dead_letter(incoming, error.into()).await,
        };
        // At most once: a jump in the publisher's sequence is a loss, reported before the event.
        if self.guarantee() == Guarantee::AtMostOnce
            && let Some(count) = self.gap(&envelope.id)
        {
            let publisher = envelope.id.publisher.clone();
            self.held = Some(envelope);
            self.totals.missed += count;
            return Ok(Notice::Missed { publisher, count });
        }
        let redelivered = incoming.deliveries > 1;
        Ok(self
            .deliver(envelope, redelivered, Some(incoming.entry))
            .await)
    }

    /// Notify every local observer of `envelope`; at least once, its `entry` is acknowledged
    /// (at the end of the batch) only if they all succeeded.
    async fn deliver(
        &mut self,
        envelope: Envelope<E>,
        again: bool,
        entry: Option<String>,
    ) -> Notice {
        let span = tracing::debug_span!(
            "deliver",
            event = %envelope.id,
            outcome = tracing::field::Empty
        );
        // The local subject, unchanged: concurrent observers, each isolated, one report.
        let report = self
            .subject
            .notify(&envelope)
            .instrument(span.clone())
            .await;
        let ok = report.all_delivered();
        span.record("outcome", if ok { "ok" } else { "failed" });
        if ok && let (Some(entry), Source::Group { acks, .. }) = (entry, &mut self.source) {
            acks.push((entry, envelope.id.clone()));
        }
        self.totals.delivered += 1;
        self.totals.redelivered += u64::from(again);
        Notice::Delivered {
            id: envelope.id,
            report,
            redelivered: again,
        }
    }

    async fn dead_letter(
        &mut self,
        incoming: Incoming,
        reason: Rejection,
    ) -> Result<Notice, RemoteError> {
        self.source
            .dead_letter(&self.topic, &incoming, &reason)
            .await?;
        self.totals.dead_lettered += 1;
        let entry = incoming.entry;
        Ok(Notice::DeadLettered { entry, reason })
    }

    /// How many events of `id`'s publisher were skipped just before it; `None` for its first
    /// event (what came before the subscription is not a loss) or when none were.
    fn gap(&mut self, id: &EventId) -> Option<u64> {
        let last = self.last_seq.get(&id.publisher).copied();
        if last.is_none_or(|last| id.seq > last) {
            self.last_seq.insert(id.publisher.clone(), id.seq);
        }
        let last = last?;
        (id.seq > last.saturating_add(1)).then(|| id.seq - last - 1)
    }

    /// Stop gracefully: deliver the entries already read (at least once), acknowledge what
    /// succeeded, and return the totals. Dropping the subscriber instead leaves them pending:
    /// another consumer of the group claims them after the idle time, so nothing is lost.
    pub async fn close(mut self) -> Result<Totals, RemoteError> {
        while let Some(incoming) = self.source.take_ready() {
            self.handle(incoming).await?;
        }
        if let Some(ids) = self.source.flush_acks().await? {
            self.totals.acked += ids.len() as u64;
        }
        Ok(self.totals)
    }
}

impl<E: Send + Sync + 'static> RedisSubscriber<E> {
    /// At most once: subscribe to the channel `topic` now (events published from now on reach
    /// `subject`'s observers; a subscriber that is down or too slow misses events, and counts
    /// them when a later event shows the gap).
    pub async fn at_most_once(
        client: redis::Client,
        topic: impl Into<String>,
        subject: Subject<Envelope<E>>,
        options: RedisOptions,
    ) -> Result<Self, RemoteError> {
        let topic = topic.into();
        let messages = subscribe(&client, &topic, &options).await?;
        let link = Link::new(client.clone(), options.timeout_len());
        let source = Source::Channel {
            client,
            messages: Some(messages),
            link,
        };
        Ok(RedisSubscriber::with(subject, topic, source, options))
    }

    /// At least once: join the consumer group `group` on the stream `topic` as `consumer`
    /// (creating the group at the stream's end if it is new). Every event added from then on
    /// reaches one consumer of the group, and again after a failure, until acknowledged.
    pub async fn at_least_once(
        client: redis::Client,
        topic: impl Into<String>,
        group: impl Into<String>,
        consumer: impl Into<String>,
        subject: Subject<Envelope<E>>,
        options: RedisOptions,
    ) -> Result<Self, RemoteError> {
        let topic = topic.into();
        let group = Group {
            stream: topic.clone(),
            group: group.into(),
            consumer: consumer.into(),
        };
        let mut link = Link::new(client, options.timeout_len());
        group.create(&mut link, "$").await?;
        let source = Source::Group {
            group,
            link,
            ready: VecDeque::new(),
            acks: Vec::new(),
            last_claim: None,
        };
        Ok(RedisSubscriber::with(subject, topic, source, options))
    }

    fn with(
        subject: Subject<Envelope<E>>,
        topic: String,
        source: Source,
        options: RedisOptions,
    ) -> Self {
        RedisSubscriber {
            subject,
            topic,
            source,
            options,
            held: None,
            last_seq: HashMap::new(),
            totals: Totals::default(),
        }
    }

    /// The local subject: subscribe observers of [`Envelope`]s here (an idempotent observer
    /// reads the id).
    pub fn subject(&self) -> &Subject<Envelope<E>> {
        &self.subject
    }

    /// Subscribe an ordinary observer of `E`, named `name` in reports, until the guard drops.
    pub fn subscribe_named(
        &self,
        name: impl Into<String>,
        observer: impl Observer<E> + 'static,
    ) -> Subscription {
        self.subject.subscribe_named(name, EventsOf(observer))
    }

    /// The guarantee it delivers under.
    pub fn guarantee(&self) -> Guarantee {
        match self.source {
            Source::Channel { .. } => Guarantee::AtMostOnce,
            Source::Group { .. } => Guarantee::AtLeastOnce,
        }
    }

    /// What it has done so far.
    pub fn totals(&self) -> Totals {
        self.totals
    }
}

/// An observer of `E` as an observer of envelopes: it gets the event, not the id.
struct EventsOf<O>(O);

#[async_trait]
impl<E: Send + Sync + 'static, O: Observer<E>> Observer<Envelope<E>> for EventsOf<O> {
    async fn notify(&self, envelope: &Envelope<E>) -> Result<(), BoxError> {
        self.0.notify(&envelope.event).await
    }
}

impl<E> fmt::Debug for RedisSubscriber<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSubscriber")
            .field("topic", &self.topic)
            .field("totals", &self.totals)
            .finish_non_exhaustive()
    }
}

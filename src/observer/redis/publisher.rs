//! [`RedisPublisher`]: a subject's `notify`, sent to Redis instead of called in place.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::Serialize;
use tracing::Instrument;

use super::envelope::{self, EventId, FIELD};
use super::link::{Call, Link, Request};
use super::{Guarantee, RedisOptions, RemoteError};

/// What one [`RedisPublisher::publish`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The event's id: the publisher's, and its number in the publisher's sequence.
    pub id: EventId,
    /// At most once: how many subscribers were listening (`PUBLISH`'s answer). Nobody hears an
    /// event published to nobody, and nothing keeps it.
    pub receivers: Option<u64>,
    /// At least once: the stream entry's id (`XADD`'s answer). The entry stays in the stream
    /// for every consumer group, until trimmed.
    pub entry: Option<String>,
}

/// Sends events to Redis, on a topic, under a [`Guarantee`]: `PUBLISH` to the channel named
/// after the topic (at most once), or `XADD` to the stream named after it (at least once).
///
/// Each event goes in an [`Envelope`](super::Envelope) with this publisher's id and the next
/// number in its sequence. `publish` takes `&mut self`, so one publisher's events leave one
/// after another, in sequence order: order per publisher is the order a subscriber sees.
/// Connecting is lazy (at the first `publish`), and again after the connection breaks.
pub struct RedisPublisher<E> {
    link: Link,
    topic: String,
    guarantee: Guarantee,
    publisher: String,
    /// The last sequence number spent (0 before the first event).
    seq: u64,
    max_bytes: usize,
    _events: PhantomData<fn(&E)>,
}

impl<E: Serialize> RedisPublisher<E> {
    /// A publisher of events on `topic` through `client`'s server, under `guarantee`, with
    /// `options`' command timeout and largest event.
    pub fn new(
        client: redis::Client,
        topic: impl Into<String>,
        guarantee: Guarantee,
        options: &RedisOptions,
    ) -> Self {
        RedisPublisher {
            link: Link::new(client, options.timeout_len()),
            topic: topic.into(),
            guarantee,
            publisher: envelope::new_publisher_id(),
            seq: 0,
            max_bytes: options.entry_bytes(),
            _events: PhantomData,
        }
    }

    /// Send `event`.
    ///
    /// Refused before anything is sent, with no sequence number spent, when its JSON is larger
    /// than the options' limit ([`RemoteError::TooLarge`]). A failed send ([`RemoteError`]) has
    /// spent its number: the event may or may not have gone out, and a subscriber at most once
    /// counts it as missed if it did not.
    pub async fn publish(&mut self, event: &E) -> Result<Published, RemoteError> {
        let id = EventId {
            publisher: self.publisher.clone(),
            seq: self.seq.saturating_add(1),
        };
        let topic = || self.topic.clone();
        let bytes = envelope::encode(&id, event).map_err(|source| RemoteError::Encode {
            topic: topic(),
            source,
        })?;
        if bytes.len() > self.max_bytes {
            let (bytes, max) = (bytes.len(), self.max_bytes);
            return Err(RemoteError::TooLarge {
                topic: topic(),
                bytes,
                max,
            });
        }
        self.seq = id.seq;
        let span = tracing::debug_span!("publish", event = %id, outcome = tracing::field::Empty);
        let sent = self.send(&bytes).instrument(span.clone()).await;
        span.record("outcome", if sent.is_ok() { "ok" } else { "failed" });
        let (receivers, entry) = sent?;
        Ok(Published {
            id,
            receivers,
            entry,
        })
    }

    /// `PUBLISH` or `XADD` the envelope's `bytes`: the receivers, or the entry's id.
    async fn send(&mut self, bytes: &[u8]) -> Result<(Option<u64>, Option<String>), RemoteError> {
        let key = self.topic.as_str();
        let mut cmd;
        match self.guarantee {
            Guarantee::AtMostOnce => {
                cmd = redis::cmd("PUBLISH");
                cmd.arg(key).arg(bytes);
                let call = Call {
                    command: "PUBLISH",
                    key,
                    group: None,
                };
                let receivers = self.link.run(Request::One(&cmd), call, Duration::ZERO);
                Ok((Some(receivers.await?), None))
            }
            Guarantee::AtLeastOnce => {
                cmd = redis::cmd("XADD");
                cmd.arg(key).arg("*").arg(FIELD).arg(bytes);
                let call = Call {
                    command: "XADD",
                    key,
                    group: None,
                };
                let entry = self.link.run(Request::One(&cmd), call, Duration::ZERO);
                Ok((None, Some(entry.await?)))
            }
        }
    }
}

impl<E> RedisPublisher<E> {
    /// This publisher's id, in every [`EventId`] it sends.
    pub fn id(&self) -> &str {
        &self.publisher
    }

    /// The topic: the pub/sub channel or the stream's key.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The guarantee it publishes under.
    pub fn guarantee(&self) -> Guarantee {
        self.guarantee
    }

    /// How many sequence numbers it has spent (events sent, or tried).
    pub fn sent(&self) -> u64 {
        self.seq
    }
}

impl<E> fmt::Debug for RedisPublisher<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisPublisher")
            .field("topic", &self.topic)
            .field("guarantee", &self.guarantee)
            .field("id", &self.publisher)
            .field("sent", &self.seq)
            .finish_non_exhaustive()
    }
}

//! Where a [`RedisSubscriber`](super::RedisSubscriber)'s events come from: a pub/sub channel
//! (at most once) or a consumer group (at least once), behind one `next`, with what each does
//! at the end of a batch (acknowledge) and with an entry it gives up on (dead letter).

use std::collections::VecDeque;
use std::time::Duration;

use futures::StreamExt;
use redis::aio::PubSubStream;
use tokio::time::Instant;

use super::envelope::EventId;
use super::group::{Group, Incoming, append_dead_letter};
use super::link::{Call, Link, Request};
use super::{RedisOptions, Rejection, RemoteError};

/// Where the events come from.
pub(super) enum Source {
    /// At most once: the channel's messages (`None` after the connection broke, until the
    /// next call subscribes again); the link writes dead letters.
    Channel {
        client: redis::Client,
        messages: Option<PubSubStream>,
        link: Link,
    },
    /// At least once: this consumer of the group, the entries read and not yet delivered, and
    /// the delivered ones waiting for the end of the batch to be acknowledged.
    Group {
        group: Group,
        link: Link,
        ready: VecDeque<Incoming>,
        acks: Vec<(String, EventId)>,
        last_claim: Option<Instant>,
    },
}

impl Source {
    /// The next entry or message, waiting up to the block time.
    pub(super) async fn next(
        &mut self,
        topic: &str,
        options: &RedisOptions,
    ) -> Result<Option<Incoming>, RemoteError> {
        match self {
            Source::Channel {
                client, messages, ..
            } => {
                let stream = match messages {
                    Some(stream) => stream,
                    None => messages.insert(subscribe(client, topic, options).await?),
                };
                let message = match tokio::time::timeout(options.block_len(), stream.next()).await {
                    Err(_elapsed) => return Ok(None),
                    Ok(message) => message,
                };
                let Some(message) = message else {
                    // The connection broke: resubscribe at the next call.
                    *messages = None;
                    let topic = topic.to_owned();
                    return Err(RemoteError::Disconnected { topic });
                };
                let bytes = Some(message.get_payload_bytes().to_vec());
                let entry = format!("message on {topic}");
                Ok(Some(Incoming {
                    entry,
                    bytes,
                    deliveries: 1,
                }))
            }
            Source::Group {
                group,
                link,
                ready,
                last_claim,
                ..
            } => {
                if let Some(incoming) = ready.pop_front() {
                    return Ok(Some(incoming));
                }
                // The entries a dead consumer (or a failed delivery) left idle come first;
                // looked for every half idle time, since each look is a round trip.
                let idle = options.claim_idle_len();
                if last_claim.is_none_or(|at| at.elapsed() >= idle / 2) {
                    *last_claim = Some(Instant::now());
                    ready.extend(group.claim(link, idle, options.batch_len()).await?);
                }
                if ready.is_empty() {
                    let (count, block) = (options.batch_len(), options.block_len());
                    ready.extend(group.read(link, count, block).await?);
                }
                Ok(ready.pop_front())
            }
        }
    }

    /// An entry read and not delivered yet (at least once), for a graceful close.
    pub(super) fn take_ready(&mut self) -> Option<Incoming> {
        match self {
            Source::Channel { .. } => None,
            Source::Group { ready, .. } => ready.pop_front(),
        }
    }

    /// Acknowledge the delivered entries once the batch read is through (`None` if not yet, or
    /// nothing to acknowledge). On failure they stay queued for the next call.
    pub(super) async fn flush_acks(&mut self) -> Result<Option<Vec<EventId>>, RemoteError> {
        let Source::Group {
            group,
            link,
            ready,
            acks,
            ..
        } = self
        else {
            return Ok(None);
        };
        if acks.is_empty() || !ready.is_empty() {
            return Ok(None);
        }
        let entries: Vec<String> = acks.iter().map(|(entry, _)| entry.clone()).collect();
        group.ack(link, &entries).await?;
        Ok(Some(acks.drain(..).map(|(_, id)| id).collect()))
    }

    /// Move `incoming` to the topic's dead-letter stream (and acknowledge it, at least once).
    pub(super) async fn dead_letter(
        &mut self,
        topic: &str,
        incoming: &Incoming,
        reason: &Rejection,
    ) -> Result<(), RemoteError> {
        match self {
            Source::Group { group, link, .. } => group.dead_letter(link, incoming, reason).await,
            Source::Channel { link, .. } => {
                let mut pipe = redis::pipe();
                append_dead_letter(&mut pipe, topic, &incoming.entry, incoming, reason);
                let call = Call {
                    command: "XADD dead letter",
                    key: topic,
                    group: None,
                };
                let key = Request::Many(&pipe);
                link.run::<()>(key, call, Duration::ZERO).await?;
                tracing::debug!(entry = %incoming.entry, reason = %reason, "dead-letter");
                Ok(())
            }
        }
    }
}

/// A subscription to the channel `topic`, made within the options' timeout.
pub(super) async fn subscribe(
    client: &redis::Client,
    topic: &str,
    options: &RedisOptions,
) -> Result<PubSubStream, RemoteError> {
    let subscribing = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(topic).await?;
        Ok(pubsub.into_on_message())
    };
    match tokio::time::timeout(options.timeout_len(), subscribing).await {
        Ok(Ok(messages)) => Ok(messages),
        Ok(Err(source)) => Err(RemoteError::of("SUBSCRIBE", topic, None, source)),
        Err(_elapsed) => Err(RemoteError::TimedOut {
            command: "SUBSCRIBE",
            key: topic.to_owned(),
            after: options.timeout_len(),
        }),
    }
}

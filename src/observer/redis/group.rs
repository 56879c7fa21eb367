//! [`Group`]: one consumer of a consumer group on a Redis stream, in the commands Redis
//! documents, for the at-least-once subscriber and the pipeline worker alike.
//!
//! | what                          | command                                             |
//! |-------------------------------|-----------------------------------------------------|
//! | join (create the group)       | `XGROUP CREATE stream group $ MKSTREAM`             |
//! | read new entries              | `XREADGROUP GROUP group me COUNT n BLOCK ms STREAMS stream >` |
//! | done with entries             | `XACK stream group id...`                           |
//! | take a dead consumer's        | `XAUTOCLAIM stream group me min-idle 0-0 COUNT n`, then `XPENDING` for their delivery counts |
//! | give up on one                | `MULTI`, `XADD stream:dead * ...`, `XACK`, `EXEC`   |
//! | hand entries back             | `XCLAIM stream group me 0 id... IDLE 86400000 JUSTID` |
//!
//! An entry read is *pending* (in the group's pending entries list, owned by this consumer)
//! until it is acknowledged: that list is what makes a crash lose nothing. Its length per
//! consumer is the bound on what one holds, and `COUNT` is how back-pressure reaches Redis.

use std::time::Duration;

use redis::Value;
use redis::streams::{StreamAutoClaimReply, StreamId, StreamPendingCountReply, StreamReadReply};

use super::envelope::FIELD;
use super::link::{Call, Link, Request};
use super::options::millis;
use super::{Rejection, RemoteError};

/// One consumer of a group on a stream, and the stream its dead letters go to.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub(crate) stream: String,
    pub(crate) group: String,
    pub(crate) consumer: String,
}

/// An entry as read: its id, its `event` field's bytes (if it had one), how many times the
/// group has delivered it (1 for a first read).
#[derive(Debug, Clone)]
pub(crate) struct Incoming {
    pub(crate) entry: String,
    pub(crate) bytes: Option<Vec<u8>>,
    pub(crate) deliveries: u64,
}

impl Incoming {
    fn of(id: StreamId, deliveries: u64) -> Incoming {
        let bytes = match id.map.get(FIELD) {
            Some(Value::BulkString(bytes)) => Some(bytes.clone()),
            _ => None,
        };
        Incoming {
            entry: id.id,
            bytes,
            deliveries,
        }
    }
}

/// The stream a topic's dead letters go to.
pub(crate) fn dead_letters(topic: &str) -> String {
    format!("{topic}:dead")
}

impl Group {
    fn call(&self, command: &'static str) -> Call<'_> {
        let (key, group) = (self.stream.as_str(), Some(self.group.as_str()));
        Call {
            command,
            key,
            group,
        }
    }

    /// Create the group (and the stream, if missing) starting at `start` (`$`: entries added
    /// from now on; `0`: every entry already there too). A group that exists already is kept.
    pub(crate) async fn create(&self, link: &mut Link, start: &str) -> Result<(), RemoteError> {
        let mut cmd = redis::cmd("XGROUP");
        cmd.arg("CREATE").arg(&self.stream).arg(&self.group);
        cmd.arg(start).arg("MKSTREAM");
        let created = link.run::<()>(
            Request::One(&cmd),
            self.call("XGROUP CREATE"),
            Duration::ZERO,
        );
        match created.await {
            Err(RemoteError::Refused { source, .. }) if source.code() == Some("BUSYGROUP") => {
                Ok(())
            }
            other => other,
        }
    }

    /// Up to `count` entries never delivered to the group, waiting up to `block` for some.
    pub(crate) async fn read(
        &self,
        link: &mut Link,
        count: usize,
        block: Duration,
    ) -> Result<Vec<Incoming>, RemoteError> {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP").arg(&self.group).arg(&self.consumer);
        cmd.arg("COUNT").arg(count).arg("BLOCK").arg(millis(block));
        cmd.arg("STREAMS").arg(&self.stream).arg(">");
        // Nil when the block time passed with nothing new.
        let reply: Option<StreamReadReply> = link
            .run(Request::One(&cmd), self.call("XREADGROUP"), block)
            .await?;
        let entries = reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids);
        Ok(entries.map(|id| Incoming::of(id, 1)).collect())
    }

    /// Up to `count` entries of any consumer left unacknowledged for at least `idle`, now this
    /// consumer's, each with how many times it has been delivered (this claim included).
    pub(crate) async fn claim(
        &self,
        link: &mut Link,
        idle: Duration,
        count: usize,
    ) -> Result<Vec<Incoming>, RemoteError> {
        let mut cmd = redis::cmd("XAUTOCLAIM");
        cmd.arg(&self.stream).arg(&self.group).arg(&self.consumer);
        cmd.arg(millis(idle)).arg("0-0").arg("COUNT").arg(count);
        let reply: StreamAutoClaimReply = link
            .run(Request::One(&cmd), self.call("XAUTOCLAIM"), Duration::ZERO)
            .await?;
        if reply.claimed.is_empty() {
            return Ok(Vec::new());
        }
        // How often each was delivered: one XPENDING per entry, sent together in one trip.
        let mut pipe = redis::pipe();
        for id in &reply.claimed {
            pipe.cmd("XPENDING").arg(&self.stream).arg(&self.group);
            pipe.arg(&id.id).arg(&id.id).arg(1);
        }
        let counts: Vec<StreamPendingCountReply> = link
            .run(Request::Many(&pipe), self.call("XPENDING"), Duration::ZERO)
            .await?;
        let claimed = reply.claimed.into_iter().zip(counts);
        let incoming = claimed.map(|(id, pending)| {
            let deliveries = pending.ids.first().map_or(1, |p| p.times_delivered as u64);
            Incoming::of(id, deliveries)
        });
        let incoming: Vec<Incoming> = incoming.collect();
        tracing::debug!(entries = incoming.len(), stream = %self.stream, "claim");
        Ok(incoming)
    }

    /// Acknowledge `entries`: the group forgets them, nobody will get them again.
    pub(crate) async fn ack(&self, link: &mut Link, entries: &[String]) -> Result<(), RemoteError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut cmd = redis::cmd("XACK");
        cmd.arg(&self.stream).arg(&self.group).arg(entries);
        link.run::<u64>(Request::One(&cmd), self.call("XACK"), Duration::ZERO)
            .await?;
        tracing::debug!(entries = entries.len(), stream = %self.stream, "ack");
        Ok(())
    }

    /// Move `incoming` to the dead-letter stream with `reason`, and acknowledge it, in one
    /// transaction: it is either still pending or dead-lettered, never lost, never both.
    pub(crate) async fn dead_letter(
        &self,
        link: &mut Link,
        incoming: &Incoming,
        reason: &Rejection,
    ) -> Result<(), RemoteError> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        append_dead_letter(&mut pipe, &self.stream, &incoming.entry, incoming, reason);
        pipe.cmd("XACK")
            .arg(&self.stream)
            .arg(&self.group)
            .arg(&incoming.entry)
            .ignore();
        let call = self.call("XADD dead letter");
        link.run::<()>(Request::Many(&pipe), call, Duration::ZERO)
            .await?;
        tracing::debug!(entry = %incoming.entry, reason = %reason, "dead-letter");
        Ok(())
    }

    /// Give `entries` back to the group: still pending, but marked idle for a day, so the next
    /// `XAUTOCLAIM` of any consumer (whatever its own idle time, up to a day) takes them at once.
    pub(crate) async fn hand_back(
        &self,
        link: &mut Link,
        entries: &[String],
    ) -> Result<(), RemoteError> {
        let idle = Duration::from_secs(24 * 60 * 60);
        if entries.is_empty() {
            return Ok(());
        }
        let mut cmd = redis::cmd("XCLAIM");
        cmd.arg(&self.stream)
            .arg(&self.group)
            .arg(&self.consumer)
            .arg(0);
        cmd.arg(entries).arg("IDLE").arg(millis(idle)).arg("JUSTID");
        link.run::<Vec<String>>(Request::One(&cmd), self.call("XCLAIM"), Duration::ZERO)
            .await?;
        tracing::debug!(entries = entries.len(), stream = %self.stream, "hand back");
        Ok(())
    }
}

/// Add to `pipe` the `XADD` of a dead letter for entry `entry` of `topic`: the entry's id, the
/// reason, its delivery count, and its bytes as they were (so nothing is lost by dead-lettering).
pub(crate) fn append_dead_letter(
    pipe: &mut redis::Pipeline,
    topic: &str,
    entry: &str,
    incoming: &Incoming,
    reason: &Rejection,
) {
    pipe.cmd("XADD").arg(dead_letters(topic)).arg("*");
    pipe.arg("entry")
        .arg(entry)
        .arg("reason")
        .arg(reason.to_string());
    pipe.arg("deliveries").arg(incoming.deliveries);
    if let Some(bytes) = &incoming.bytes {
        pipe.arg(FIELD).arg(bytes.as_slice());
    }
    pipe.ignore();
}

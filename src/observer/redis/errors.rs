//! What can go wrong between a process and Redis: [`RemoteError`] (a command, a connection, a
//! limit), [`DecodeError`] (an entry that is not an event) and [`Rejection`] (why an entry went
//! to the dead-letter stream).
//!
//! Every error names what failed and where (the command, the stream or topic, the entry id) and
//! keeps its root cause; none of them ends a subscriber or a worker on its own. A caller decides
//! what to do: an [`Unavailable`](RemoteError::Unavailable) or
//! [`TimedOut`](RemoteError::TimedOut) server usually comes back (the next call reconnects), a
//! [`StreamGone`](RemoteError::StreamGone) stream does not.

use std::time::Duration;

/// Why a call to Redis failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// The connection to Redis failed or broke: the server is down, restarting, or unreachable.
    /// The next call connects again.
    #[error("redis is unavailable ({command}): {source}")]
    Unavailable {
        /// The command (or `connect`) that found it so.
        command: &'static str,
        /// What the client said.
        #[source]
        source: redis::RedisError,
    },
    /// A pub/sub subscription ended because its connection broke; the next call subscribes
    /// again, and a gap in the publishers' sequence numbers reports what was missed meanwhile.
    #[error(
        "the subscription to {topic:?} was cut off (redis went away); it resubscribes at the next call"
    )]
    Disconnected {
        /// The channel.
        topic: String,
    },
    /// Redis did not answer within the configured timeout; the connection is dropped and the
    /// next call connects again.
    #[error("redis did not answer {command} on {key:?} within {after:?}")]
    TimedOut {
        /// The command.
        command: &'static str,
        /// The key it was about.
        key: String,
        /// The timeout it exceeded.
        after: Duration,
    },
    /// Redis answered with an error.
    #[error("redis refused {command} on {key:?}: {source}")]
    Refused {
        /// The command.
        command: &'static str,
        /// The key it was about.
        key: String,
        /// Redis's error.
        #[source]
        source: redis::RedisError,
    },
    /// The stream, or the consumer group on it, no longer exists: it was deleted under the
    /// reader (`DEL`, `XGROUP DESTROY`, a `FLUSHALL`). Reading again gives the same error.
    #[error(
        "the stream {stream:?} or its consumer group {group:?} is gone (deleted under the reader)"
    )]
    StreamGone {
        /// The stream.
        stream: String,
        /// The consumer group.
        group: String,
    },
    /// The event, encoded, is larger than the configured limit: refused before anything was
    /// sent, and no sequence number was spent on it.
    #[error(
        "an event for {topic:?} is {bytes} bytes encoded, over the limit of {max}: not published"
    )]
    TooLarge {
        /// The topic.
        topic: String,
        /// Its encoded size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The event could not be encoded as JSON (a map with non-string keys, a failing
    /// `Serialize`).
    #[error("an event for {topic:?} could not be encoded: {source}")]
    Encode {
        /// The topic.
        topic: String,
        /// What serde_json said.
        #[source]
        source: serde_json::Error,
    },
}

impl RemoteError {
    /// The error of `command` on `key` that failed with `source`: the connection's failures are
    /// [`Unavailable`](RemoteError::Unavailable), a missing stream or group is
    /// [`StreamGone`](RemoteError::StreamGone) (when `group` is known), any other answer
    /// [`Refused`](RemoteError::Refused).
    pub(crate) fn of(
        command: &'static str,
        key: &str,
        group: Option<&str>,
        source: redis::RedisError,
    ) -> RemoteError {
        let broken = source.is_io_error()
            || source.is_connection_dropped()
            || source.is_connection_refusal()
            || source.is_timeout();
        match (source.code(), group) {
            _ if broken => RemoteError::Unavailable { command, source },
            (Some("NOGROUP"), Some(group)) => RemoteError::StreamGone {
                stream: key.to_owned(),
                group: group.to_owned(),
            },
            _ => RemoteError::Refused {
                command,
                key: key.to_owned(),
                source,
            },
        }
    }

    /// Whether the server may come back: a later call can succeed without anyone changing
    /// anything ([`Unavailable`](RemoteError::Unavailable), [`Disconnected`](RemoteError::Disconnected),
    /// [`TimedOut`](RemoteError::TimedOut)).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            RemoteError::Unavailable { .. }
                | RemoteError::Disconnected { .. }
                | RemoteError::TimedOut { .. }
        )
    }
}

/// Why an entry read from Redis is not an event: it goes to the dead-letter stream.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The entry has no `event` field (it was not written by a publisher of this crate).
    #[error("entry {entry} has no {field:?} field")]
    MissingField {
        /// The entry's id.
        entry: String,
        /// The field it lacks.
        field: &'static str,
    },
    /// The entry is larger than the configured limit: not decoded.
    #[error("entry {entry} is {bytes} bytes, over the limit of {max}: not decoded")]
    TooLarge {
        /// The entry's id.
        entry: String,
        /// Its size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The entry is not the JSON of an event of the expected type.
    #[error("entry {entry} is not a valid event: {source}")]
    Json {
        /// The entry's id.
        entry: String,
        /// What serde_json said.
        #[source]
        source: serde_json::Error,
    },
}

/// Why an entry was moved to the dead-letter stream (the `reason` field of its dead letter).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// It could not be decoded.
    #[error("undecodable: {0}")]
    Undecodable(#[from] DecodeError),
    /// It was tried `attempts` times without success.
    #[error("gave up on entry {entry} after {attempts} attempts: {last_error}")]
    Exhausted {
        /// The entry's id.
        entry: String,
        /// How many times it was delivered or tried.
        attempts: u64,
        /// The last error, when this process saw it (another process's attempt leaves none).
        last_error: String,
    },
}

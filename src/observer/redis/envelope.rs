//! What travels: an event in an [`Envelope`], with an [`EventId`] (its publisher and its number
//! in that publisher's sequence), as JSON.
//!
//! In one process a subject hands its observers a reference to the event; across processes the
//! event must become bytes and back (serde, as JSON: readable in `redis-cli`, and any language
//! can publish or consume it). The envelope adds what a remote observer needs and a local one
//! never did: an id, so an observer that may see an event twice (at least once) can tell, and a
//! per-publisher sequence number, so a subscriber that may miss events (at most once) can count
//! what it missed.
//!
//! On the wire: `{"publisher":"1f2e-3a4b-0","seq":7,"event":...}`, in the `event` field of a
//! stream entry, or as the whole message on a pub/sub channel.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::DecodeError;

/// The field of a stream entry that holds the envelope's JSON.
pub(crate) const FIELD: &str = "event";

/// Who published an event, and its number in that publisher's sequence (from 1, no gaps).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EventId {
    /// The publisher's id, unique per publisher (process id, time, counter).
    pub publisher: String,
    /// The event's number in its publisher's sequence, from 1.
    pub seq: u64,
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.publisher, self.seq)
    }
}

/// An event as a remote subscriber delivers it: its [`EventId`] and the event.
///
/// A subscriber's observers are `Observer<Envelope<E>>`: an idempotent one keeps the ids it has
/// handled and skips a redelivered event (`tests/conformance` has one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<E> {
    /// The event's id.
    pub id: EventId,
    /// The event.
    pub event: E,
}

/// The wire form, borrowing the event (publishing copies nothing but the bytes).
#[derive(Serialize)]
struct Outgoing<'a, E> {
    publisher: &'a str,
    seq: u64,
    event: &'a E,
}

/// The wire form, owning what it read.
#[derive(Deserialize)]
struct Incoming<E> {
    publisher: String,
    seq: u64,
    event: E,
}

/// The JSON of `event` with its id.
pub(crate) fn encode<E: Serialize>(id: &EventId, event: &E) -> serde_json::Result<Vec<u8>> {
    let publisher = &id.publisher;
    serde_json::to_vec(&Outgoing {
        publisher,
        seq: id.seq,
        event,
    })
}

/// The envelope in `bytes` (the field of entry `entry`, `None` if it had none), refusing more
/// than `max` bytes without reading them.
pub(crate) fn decode<E: DeserializeOwned>(
    entry: &str,
    bytes: Option<&[u8]>,
    max: usize,
) -> Result<Envelope<E>, DecodeError> {
    let entry = || entry.to_owned();
    let bytes = bytes.ok_or_else(|| DecodeError::MissingField {
        entry: entry(),
        field: FIELD,
    })?;
    if bytes.len() > max {
        let (bytes, entry) = (bytes.len(), entry());
        return Err(DecodeError::TooLarge { entry, bytes, max });
    }
    let incoming: Incoming<E> = serde_json::from_slice(bytes).map_err(|source| {
        let entry = entry();
        DecodeError::Json { entry, source }
    })?;
    let id = EventId {
        publisher: incoming.publisher,
        seq: incoming.seq,
    };
    Ok(Envelope {
        id,
        event: incoming.event,
    })
}

/// A publisher id no other publisher has: this process's id, the time, and a counter.
pub(crate) fn new_publisher_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    // Short enough for a timeline label: about 15 characters.
    format!("{:x}-{:x}-{n}", std::process::id(), nanos & 0xffff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_envelope_goes_and_comes_back_and_a_bad_one_is_named() {
        let id = EventId {
            publisher: "p".into(),
            seq: 3,
        };
        let bytes = encode(&id, &vec![1u8, 2]).unwrap();
        let back: Envelope<Vec<u8>> = decode("1-0", Some(&bytes), 1024).unwrap();
        assert_eq!((back.id, back.event), (id, vec![1, 2]));
        let big = decode::<Vec<u8>>("1-1", Some(&bytes), 4).unwrap_err();
        assert!(matches!(big, DecodeError::TooLarge { max: 4, .. }), "{big}");
        let bad = decode::<u8>("1-2", Some(b"{\"nope\":1}"), 1024).unwrap_err();
        assert!(bad.to_string().contains("entry 1-2"), "{bad}");
        let none = decode::<u8>("1-3", None, 1024).unwrap_err();
        assert!(matches!(none, DecodeError::MissingField { .. }), "{none}");
        assert_ne!(new_publisher_id(), new_publisher_id());
    }
}

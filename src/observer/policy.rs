//! Delivery policies: what a stream subscriber does with an event when its consumer is behind.
//!
//! A stream subscriber stands between two clocks: the subject's, which notifies when events
//! happen, and its consumer's, which reads when it can. When the consumer falls behind and its
//! channel is full, something has to give. Each choice is one [`StreamPolicy`], picked at
//! subscribe time ([`Subject::subscribe_stream_with`](super::Subject::subscribe_stream_with)):
//!
//! | policy         | a full channel...                      | `notify` waits | the consumer is told    | the [`Report`](super::Report) says |
//! |----------------|----------------------------------------|----------------|-------------------------|------------------------------------|
//! | [`DropOldest`] | drops its oldest event for the new one | never          | [`Received::Missed`]    | delivered                          |
//! | [`Wait`]       | makes `notify` wait for room           | until room, or the subject's timeout | `Missed` for each timed-out event | delivered, or timed out |
//! | [`Latest`]     | holds only the newest event            | never          | `Missed` (the skipped)  | delivered                          |
//! | [`Refuse`]     | keeps what it has, refuses the new one | never          | `Missed` (the refused)  | [`Outcome::Refused`](super::Outcome::Refused) |
//!
//! Whatever the policy, nothing is lost silently: a consumer that loses events reads a
//! [`Received::Missed`] with how many, just before the next event it does get (or at the end
//! of the stream, when the last ones were lost).
//!
//! `DropOldest` and `Latest` are [`tokio::sync::broadcast`] channels: `Latest` is a channel of
//! one slot. tokio's `watch` channel also keeps only the newest value, but it cannot say how
//! many values its reader skipped; a one-slot broadcast can. `Wait` and `Refuse` are
//! [`tokio::sync::mpsc`] channels: `Wait` awaits [`reserve`](tokio::sync::mpsc::Sender::reserve)
//! (dropped by a timeout, it has sent nothing and only gives up its place in the queue),
//! `Refuse` calls [`try_reserve`](tokio::sync::mpsc::Sender::try_reserve), which never waits.
//!
//! # Cancellation
//! A `Wait` subscriber still waiting for room when the subject's timeout fires (or when the
//! notification is dropped) sends nothing and counts the event as missed, so its consumer hears
//! of it. Beware a consumer that reads on the task that notifies: with `Wait` and a full
//! channel, `notify` waits for a read that cannot happen until `notify` returns. Without a
//! timeout, that is a deadlock (the futurelock of
//! [`basics::pitfalls`](crate::basics::pitfalls) in another guise).
//!
//! [`DropOldest`]: StreamPolicy::DropOldest
//! [`Wait`]: StreamPolicy::Wait
//! [`Latest`]: StreamPolicy::Latest
//! [`Refuse`]: StreamPolicy::Refuse

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use super::{BoxError, Observer, ObserverError, Received};

/// What a stream subscriber does with an event when its consumer has not made room for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum StreamPolicy {
    /// Drop the oldest buffered event to make room; the consumer is told how many it missed
    /// (tokio's `broadcast`). `notify` never waits. The default.
    #[default]
    DropOldest,
    /// Make `notify` wait until the consumer makes room: no loss, but a slow consumer slows the
    /// subject down, up to the subject's timeout, after which this subscriber is reported
    /// [`Outcome::TimedOut`](super::Outcome::TimedOut) and its consumer told it missed the event.
    Wait,
    /// Keep only the newest event (watch-like): a consumer that falls behind skips to the
    /// latest, and is told how many it skipped. The capacity is always one.
    Latest,
    /// Keep what is buffered and refuse the new event: the report says
    /// [`Outcome::Refused`](super::Outcome::Refused) for this subscriber, and the consumer is
    /// told how many were refused before the next event it gets. `notify` never waits.
    Refuse,
}

impl StreamPolicy {
    /// The four policies, in the order of the table above.
    pub const ALL: [StreamPolicy; 4] = [
        StreamPolicy::DropOldest,
        StreamPolicy::Wait,
        StreamPolicy::Latest,
        StreamPolicy::Refuse,
    ];

    /// A short name: `drop oldest`, `wait`, `latest` or `refuse`.
    pub fn name(self) -> &'static str {
        match self {
            StreamPolicy::DropOldest => "drop oldest",
            StreamPolicy::Wait => "wait",
            StreamPolicy::Latest => "latest",
            StreamPolicy::Refuse => "refuse",
        }
    }
}

/// Why a [`StreamPolicy::Refuse`] subscriber did not take an event; the subject turns it into
/// [`Outcome::Refused`](super::Outcome::Refused).
#[derive(Debug, thiserror::Error)]
#[error("its channel of {capacity} events was full")]
pub(super) struct Refusal {
    pub(super) capacity: usize,
}

/// An event in a `Wait` or `Refuse` channel, with how many events were lost just before it.
type Slot<E> = (u64, E);

/// The observer behind a `Wait` or `Refuse` subscription: it queues each event in an `mpsc`
/// channel, waiting for room or refusing the event when the channel is full.
pub(super) struct QueueObserver<E> {
    sender: mpsc::Sender<Slot<E>>,
    /// Events lost since the last one queued; the next queued event carries the count.
    missed: Arc<AtomicU64>,
    wait: bool,
    capacity: usize,
}

/// A `Wait` (`wait`) or `Refuse` queue of `capacity` events: its observer and its stream.
pub(super) fn queue<E: Send + 'static>(
    capacity: usize,
    wait: bool,
) -> (QueueObserver<E>, BoxStream<'static, Received<E>>) {
    let (sender, receiver) = mpsc::channel(capacity);
    let missed = Arc::new(AtomicU64::new(0));
    let observer = QueueObserver {
        sender,
        missed: Arc::clone(&missed),
        wait,
        capacity,
    };
    (observer, received(receiver, missed))
}

#[async_trait]
impl<E: Clone + Send + Sync + 'static> Observer<E> for QueueObserver<E> {
    async fn notify(&self, event: &E) -> Result<(), BoxError> {
        // First a place in the channel, then the event: nothing is cloned for an event that
        // does not go in, and once a permit is held, sending cannot fail.
        let permit = if self.wait {
            // Dropped unsent (the subject's timeout fired, or the notification was dropped)
            // while still waiting: the event counts as missed.
            let unsent = CountIfDropped(Some(&self.missed));
            let permit = self.sender.reserve().await;
            unsent.disarm();
            permit.map_err(|_closed| ObserverError::StreamClosed)?
        } else {
            match self.sender.try_reserve() {
                Ok(permit) => permit,
                Err(TrySendError::Full(())) => {
                    tracing::debug!("refused: the channel is full");
                    self.missed.fetch_add(1, Ordering::AcqRel);
                    let capacity = self.capacity;
                    return Err(Refusal { capacity }.into());
                }
                Err(TrySendError::Closed(())) => return Err(ObserverError::StreamClosed.into()),
            }
        };
        // Taken after the permit, so a count is never taken for an event that then fails.
        let missed = self.missed.swap(0, Ordering::AcqRel);
        permit.send((missed, event.clone()));
        Ok(())
    }
}

/// Counts one missed event when dropped, unless disarmed.
struct CountIfDropped<'a>(Option<&'a AtomicU64>);

impl CountIfDropped<'_> {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for CountIfDropped<'_> {
    fn drop(&mut self) {
        if let Some(missed) = self.0 {
            missed.fetch_add(1, Ordering::AcqRel);
        }
    }
}

/// The consumer's side of a queue: `Missed(n)` before an event that had `n` lost before it,
/// and once the subject is gone, `Missed` for the events lost after the last one queued.
fn received<E: Send + 'static>(
    receiver: mpsc::Receiver<Slot<E>>,
    missed: Arc<AtomicU64>,
) -> BoxStream<'static, Received<E>> {
    let state = (receiver, missed, None::<E>);
    futures::stream::unfold(state, |(mut receiver, missed, held)| async move {
        // An event held back while its `Missed` was yielded goes out first.
        if let Some(event) = held {
            return Some((Received::Event(event), (receiver, missed, None)));
        }
        match receiver.recv().await {
            Some((0, event)) => Some((Received::Event(event), (receiver, missed, None))),
            Some((lost, event)) => Some((Received::Missed(lost), (receiver, missed, Some(event)))),
            // Every sender is gone: the subject was dropped. Report what was lost after the
            // last event queued, once (the swap leaves zero for the next call).
            None => match missed.swap(0, Ordering::AcqRel) {
                0 => None,
                lost => Some((Received::Missed(lost), (receiver, missed, None))),
            },
        }
    })
    .boxed()
}

//! Stream subscribers: events pulled through a channel instead of pushed through a call.
//!
//! [`Subject::subscribe_stream`] hands out an [`EventStream`], a [`futures::Stream`] over a
//! bounded channel, for consumers that prefer to pull events in their own loop. Behind it, an
//! ordinary observer copies each event into the channel, so a stream shows up in reports like
//! any other subscriber, named `stream #id`. Stream subscribers get their own copy of each
//! event, so they need `E: Clone`.
//!
//! # Delivery into the channel
//! What a stream subscriber does when its consumer falls behind is its delivery policy, a
//! [`StreamPolicy`] chosen with [`Subject::subscribe_stream_with`] (`policy.rs` compares the
//! four). [`Subject::subscribe_stream`] uses the default, [`StreamPolicy::DropOldest`]:
//! delivering never waits, so a slow consumer cannot slow the subject down; when it falls
//! behind by more than the channel holds, the oldest events are dropped and the consumer is
//! told how many with [`Received::Missed`]: never a silent loss.
//!
//! # Capacity
//! The channel holds `capacity` events, rounded up to a power of two (a property of
//! [`tokio::sync::broadcast`], kept for every policy so one number means the same room under
//! each), raised to 1 if zero, and lowered to [`MAX_STREAM_CAPACITY`] if larger, so a caller's
//! number never allocates more than that. [`StreamPolicy::Latest`] always holds one.
//!
//! [`Subject::subscribe_stream`]: super::Subject::subscribe_stream
//! [`Subject::subscribe_stream_with`]: super::Subject::subscribe_stream_with

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_trait::async_trait;
use futures::stream::{BoxStream, Stream, StreamExt};
use tokio::sync::broadcast;

use super::policy::{self, StreamPolicy};
use super::subscription::Name;
use super::{BoxError, Observer, ObserverError, ObserverId, Subject, Subscription};

/// The most events a stream subscriber's channel holds; larger capacities are lowered to it.
pub const MAX_STREAM_CAPACITY: usize = 1 << 16;

impl<E: Clone + Send + Sync + 'static> Subject<E> {
    /// Subscribe a stream: every event notified from now on arrives as [`Received::Event`]
    /// through a channel of `capacity` events (each stream gets its own copy: `E: Clone`). With
    /// the default policy, [`StreamPolicy::DropOldest`], `notify` never waits, and a consumer
    /// that falls behind loses the oldest events and reads [`Received::Missed`] with how many.
    /// [`EventStream`] shows one read; `capacity` is normalised as its docs say.
    pub fn subscribe_stream(&self, capacity: usize) -> EventStream<E> {
        self.subscribe_stream_with(StreamPolicy::DropOldest, capacity)
    }

    /// Subscribe a stream whose channel holds up to `capacity` events and, when full, does
    /// what `policy` says: drop the oldest, make `notify` wait, keep only the latest, or refuse
    /// the new event ([`StreamPolicy`] compares them).
    pub fn subscribe_stream_with(&self, policy: StreamPolicy, capacity: usize) -> EventStream<E> {
        let capacity = match policy {
            StreamPolicy::Latest => 1,
            _ => capacity.clamp(1, MAX_STREAM_CAPACITY).next_power_of_two(),
        };
        let (observer, inner): (Box<dyn Observer<E>>, _) = match policy {
            StreamPolicy::DropOldest | StreamPolicy::Latest => {
                let (sender, receiver) = broadcast::channel(capacity);
                let observer = StreamObserver { sender, capacity };
                (Box::new(observer), ring(receiver))
            }
            StreamPolicy::Wait | StreamPolicy::Refuse => {
                let (observer, inner) = policy::queue(capacity, policy == StreamPolicy::Wait);
                (Box::new(observer), inner)
            }
        };
        EventStream {
            subscription: self.registry.insert(Name::Default("stream"), observer),
            inner,
            policy,
            capacity,
        }
    }
}

/// The consumer's side of a broadcast channel: its events, and `Missed` when it lagged.
fn ring<E: Clone + Send + 'static>(
    receiver: broadcast::Receiver<E>,
) -> BoxStream<'static, Received<E>> {
    futures::stream::unfold(receiver, |mut receiver| async move {
        match receiver.recv().await {
            Ok(event) => Some((Received::Event(event), receiver)),
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                Some((Received::Missed(missed), receiver))
            }
            // Every sender is gone: the subject was dropped.
            Err(broadcast::error::RecvError::Closed) => None,
        }
    })
    .boxed()
}

/// The observer behind a `DropOldest` or `Latest` subscription: it copies each event into a
/// broadcast channel.
struct StreamObserver<E> {
    sender: broadcast::Sender<E>,
    capacity: usize,
}

#[async_trait]
impl<E: Clone + Send + Sync + 'static> Observer<E> for StreamObserver<E> {
    async fn notify(&self, event: &E) -> Result<(), BoxError> {
        // A full channel holds an event its consumer has not read, which this send pushes out.
        // Said only to a listener: `len` takes the channel's lock.
        if tracing::enabled!(tracing::Level::DEBUG) && self.sender.len() >= self.capacity {
            tracing::debug!("dropped an unread event");
        }
        // `send` never waits: when the channel is full it overwrites the oldest event, and the
        // receiver learns how many it lost. It fails only when the stream is gone.
        self.sender
            .send(event.clone())
            .map(|_receivers| ())
            .map_err(|_| ObserverError::StreamClosed.into())
    }
}

/// What an [`EventStream`] yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received<E> {
    /// The next event.
    Event(E),
    /// The consumer fell behind and this many events were dropped before the next one.
    Missed(u64),
}

/// A stream subscription ([`Subject::subscribe_stream`]): a [`futures::Stream`] of
/// [`Received`] items that ends after its last buffered event once the subject is dropped.
/// Dropping it unsubscribes.
///
/// Its channel holds `capacity` events, rounded up to a power of two, raised to 1 if zero, and
/// lowered to [`MAX_STREAM_CAPACITY`] if larger; [`StreamPolicy::Latest`] holds one.
///
/// With the default policy, a consumer that reads nothing while five events arrive through a
/// channel of two is told it missed three:
///
/// ```
/// use futures::StreamExt;
/// use async_patterns::observer::{Received, Subject};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let subject = Subject::<u32>::new();
/// let mut events = subject.subscribe_stream(2);
/// for n in 1..=5 {
///     subject.notify(&n).await; // nobody reads yet: 1, 2 and 3 are pushed out
/// }
/// drop(subject);
/// let got: Vec<Received<u32>> = events.collect().await;
/// assert_eq!(got, [Received::Missed(3), Received::Event(4), Received::Event(5)]);
/// # }
/// ```
///
/// With [`StreamPolicy::Latest`] and [`StreamPolicy::Refuse`], the same burst leaves the newest
/// event in one and the oldest in the other, and the report names each refused event:
///
/// ```
/// use futures::StreamExt;
/// use async_patterns::observer::{Outcome, Received, StreamPolicy, Subject};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let subject = Subject::<u32>::new();
/// let mut latest = subject.subscribe_stream_with(StreamPolicy::Latest, 8);
/// let mut refuse = subject.subscribe_stream_with(StreamPolicy::Refuse, 2);
/// let mut last = None;
/// for n in 1..=5 {
///     last = Some(subject.notify(&n).await); // nobody reads yet
/// }
/// // The report says the refusing stream did not get event 5 (nor 3 and 4 before it).
/// let report = last.unwrap();
/// assert!(matches!(report.get(refuse.id()).unwrap().outcome, Outcome::Refused(2)));
/// drop(subject);
/// let got: Vec<Received<u32>> = latest.collect().await;
/// assert_eq!(got, [Received::Missed(4), Received::Event(5)]);
/// let got: Vec<Received<u32>> = refuse.collect().await;
/// assert_eq!(got, [Received::Event(1), Received::Event(2), Received::Missed(3)]);
/// # }
/// ```
///
/// [`Subject::subscribe_stream`]: super::Subject::subscribe_stream
pub struct EventStream<E> {
    // Declared first so it is dropped first: unsubscribe before the receiver goes, so that
    // notifications from then on skip this stream instead of reporting it closed.
    subscription: Subscription,
    inner: BoxStream<'static, Received<E>>,
    policy: StreamPolicy,
    capacity: usize,
}

impl<E> EventStream<E> {
    /// The subscription's id, as it appears in a [`Report`](super::Report).
    pub fn id(&self) -> ObserverId {
        self.subscription.id()
    }

    /// What this stream does when its channel is full.
    pub fn policy(&self) -> StreamPolicy {
        self.policy
    }

    /// How many events its channel holds (after rounding, capping, or `Latest`'s one).
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

impl<E> Stream for EventStream<E> {
    type Item = Received<E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

impl<E> fmt::Debug for EventStream<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStream")
            .field("id", &self.subscription.id())
            .field("policy", &self.policy)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

//! The worker's source: a stream of [`Job`]s read from a consumer group, never holding more
//! than its permits allow, and what it shares with the worker's loop ([`Shared`], [`Held`]).
//!
//! Each poll, in this order: a job to try again (its permit already held); nothing more once the
//! worker is stopping; an entry already read; else take permits (waiting for at least one: the
//! back-pressure) and claim or read that many entries (`COUNT`). An entry that cannot be a job
//! (undecodable, or tried too often already) is handed to the worker's loop to dead-letter, and
//! never enters the pipeline.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::stream::{BoxStream, StreamExt};
use serde::de::DeserializeOwned;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::observer::redis::group::{Group, Incoming};
use crate::observer::redis::link::Link;
use crate::observer::redis::{Envelope, RedisOptions, Rejection, RemoteError, decode};

/// An item on its way through the worker's pipeline: its input index (the key of its entry in
/// [`Shared::held`]) and its value.
#[derive(Debug)]
pub(super) struct Job<T> {
    pub(super) index: usize,
    pub(super) value: T,
}

/// An entry the worker holds unacknowledged: its id and bytes (to run it again), how many times
/// it was tried, and its permit (given back when it is dropped).
pub(super) struct Held {
    pub(super) incoming: Incoming,
    pub(super) attempt: u64,
    _permit: OwnedSemaphorePermit,
}

impl Held {
    fn new(incoming: Incoming, attempt: u64, permit: OwnedSemaphorePermit) -> Held {
        Held {
            incoming,
            attempt,
            _permit: permit,
        }
    }
}

/// What the source tells the worker's loop.
pub(super) enum Event {
    /// Dead-letter this entry (its permit is released once it is sent).
    Reject(Incoming, Rejection),
    /// Reading failed; fatal unless transient (then the source pauses and reads again).
    Failed(RemoteError),
}

/// What the source and the worker's loop share: the entries held, keyed by input index, and the
/// ones waiting to be tried again. A `std` mutex: held for a map operation, never across `.await`.
#[derive(Default)]
pub(super) struct Shared {
    pub(super) held: HashMap<usize, Held>,
    pub(super) retries: VecDeque<Held>,
    pub(super) read: u64,
    pub(super) claimed: u64,
}

/// The source's state between polls.
pub(super) struct Source {
    pub(super) group: Group,
    /// Its own connection: a blocking read holds a connection, and acknowledgements must not
    /// wait behind it.
    pub(super) link: Link,
    pub(super) options: RedisOptions,
    pub(super) shared: Arc<Mutex<Shared>>,
    /// One permit per entry held: at most `max_unacked` are out at once.
    pub(super) permits: Arc<Semaphore>,
    /// Woken when a job is queued to be tried again.
    pub(super) retry: Arc<Notify>,
    pub(super) events: mpsc::UnboundedSender<Event>,
    pub(super) stopping: CancellationToken,
    pub(super) ready: VecDeque<(Incoming, OwnedSemaphorePermit)>,
    pub(super) next_index: usize,
    pub(super) last_claim: Option<Instant>,
}

/// The jobs `source` yields, decoded as envelopes of `T`.
pub(super) fn jobs<T>(source: Source) -> BoxStream<'static, Job<Envelope<T>>>
where
    T: DeserializeOwned + Send + 'static,
{
    futures::stream::unfold(source, |mut source| async move {
        let job = source.next_job().await?;
        Some((job, source))
    })
    .boxed()
}

impl Source {
    /// The next job, or `None` once stopping (or after a fatal error).
    async fn next_job<T: DeserializeOwned>(&mut self) -> Option<Job<Envelope<T>>> {
        loop {
            // 1. A job to try again first: it holds its permit already.
            let retry = crate::support::lock(&self.shared).retries.pop_front();
            if let Some(held) = retry {
                match self.admit(held.incoming, held.attempt + 1, held._permit) {
                    Some(job) => return Some(job),
                    None => continue,
                }
            }
            // 2. Stopping: start nothing more. What is in flight finishes; what was read and not
            // started joins the retries, which the worker hands back to the group.
            if self.stopping.is_cancelled() {
                let mut shared = crate::support::lock(&self.shared);
                for (incoming, permit) in self.ready.drain(..) {
                    let attempt = incoming.deliveries;
                    shared
                        .retries
                        .push_back(Held::new(incoming, attempt, permit));
                }
                return None;
            }
            // 3. An entry already read.
            if let Some((incoming, permit)) = self.ready.pop_front() {
                let attempt = incoming.deliveries;
                match self.admit(incoming, attempt, permit) {
                    Some(job) => return Some(job),
                    None => continue,
                }
            }
            // 4. Read more, as many as there are permits (at least one: wait for it).
            if !self.fill().await {
                return None;
            }
        }
    }

    /// The job for `incoming` on its `attempt`, now held; `None` if it went to the worker's
    /// loop to be dead-lettered instead.
    fn admit<T: DeserializeOwned>(
        &mut self,
        incoming: Incoming,
        attempt: u64,
        permit: OwnedSemaphorePermit,
    ) -> Option<Job<Envelope<T>>> {
        let tried = attempt.saturating_sub(1);
        let rejection = if tried >= self.options.attempts() {
            Some(Rejection::Exhausted {
                entry: incoming.entry.clone(),
                attempts: tried,
                last_error: "delivered to consumers that never acknowledged it".to_owned(),
            })
        } else {
            None
        };
        let max = self.options.entry_bytes();
        let decoded = match rejection {
            Some(rejection) => Err(rejection),
            None => decode(&incoming.entry, incoming.bytes.as_deref(), max).map_err(Into::into),
        };
        let value = match decoded {
            Ok(value) => value,
            Err(rejection) => {
                // The loop dead-letters it; the permit is released here, as it is not held.
                let _ = self.events.send(Event::Reject(incoming, rejection));
                return None;
            }
        };
        let index = self.next_index;
        self.next_index += 1;
        let held = Held::new(incoming, attempt, permit);
        crate::support::lock(&self.shared).held.insert(index, held);
        Some(Job { index, value })
    }

    /// Take permits and claim or read that many entries; `false` once stopping or after a
    /// fatal error.
    async fn fill(&mut self) -> bool {
        let first = tokio::select! {
            // Stopping first: a permit free at the same moment must not start another read.
            biased;
            () = self.stopping.cancelled() => return false,
            permit = Arc::clone(&self.permits).acquire_owned() => permit,
            // A job to try again holds its own permit: go back and take it.
            () = self.retry.notified() => return true,
        };
        let Ok(first) = first else {
            return false; // The semaphore is never closed; treat it as stopping.
        };
        let mut permits = vec![first];
        while permits.len() < self.options.batch_len() {
            match Arc::clone(&self.permits).try_acquire_owned() {
                Ok(permit) => permits.push(permit),
                Err(_) => break,
            }
        }
        match self.claim_or_read(permits.len()).await {
            Ok(entries) => {
                // Each entry takes a permit; the ones left over are dropped, so given back.
                self.ready.extend(entries.into_iter().zip(permits));
                true
            }
            Err(error) => {
                let transient = error.is_transient();
                let _ = self.events.send(Event::Failed(error));
                if transient {
                    // Redis is away: wait a little (or for the stop) and read again.
                    let pause = self.options.block_len().max(Duration::from_millis(50));
                    tokio::select! {
                        () = tokio::time::sleep(pause) => {}
                        () = self.stopping.cancelled() => {}
                    }
                }
                transient
            }
        }
    }

    /// Up to `count` entries: a dead consumer's first (looked for every half idle time), new
    /// ones otherwise.
    async fn claim_or_read(&mut self, count: usize) -> Result<Vec<Incoming>, RemoteError> {
        let idle = self.options.claim_idle_len();
        if self.last_claim.is_none_or(|at| at.elapsed() >= idle / 2) {
            self.last_claim = Some(Instant::now());
            let claimed = self.group.claim(&mut self.link, idle, count).await?;
            if !claimed.is_empty() {
                crate::support::lock(&self.shared).claimed += claimed.len() as u64;
                return Ok(claimed);
            }
        }
        let block = self.options.block_len();
        let read = self.group.read(&mut self.link, count, block).await?;
        crate::support::lock(&self.shared).read += read.len() as u64;
        Ok(read)
    }
}

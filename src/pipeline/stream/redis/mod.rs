//! A Redis stream as the source of a [`Pipeline`] shared by several workers (feature `redis`):
//! each entry is acknowledged after its last stage succeeds, retried a bounded number of times,
//! then dead-lettered with its last error; nothing is lost when a worker dies.
//!
//! # The concept
//! In one process, a pipeline's source is an iterator or a stream it owns. Across processes the
//! source is a Redis stream read through a consumer group: N workers (in one process or many)
//! join the group, and Redis gives each entry to one of them. The stages are the same
//! [`Stage`]s, chained with the same [`StageOptions`]; a [`RedisWorker`] adds what a shared,
//! crash-prone source needs around them:
//!
//! * **Acknowledged after the last stage.** An entry stays in the group's pending list, owned
//!   by this worker, until the item it became has gone through every stage; then `XACK`. A
//!   worker that dies holding entries loses none: another worker claims them (`XAUTOCLAIM`)
//!   once they have been idle for [`RedisOptions::claim_idle`].
//! * **Bounded, with back-pressure reaching Redis.** A worker holds at most
//!   [`RedisOptions::max_unacked`] entries, one permit each of a semaphore; it asks Redis for
//!   as many entries as it has free permits (`COUNT`), and for none while it has none. The rest
//!   wait in the stream, where any other worker can take them.
//! * **Bounded retries, then a dead letter.** An item that fails a stage is run again from the
//!   first stage, up to [`RedisOptions::max_attempts`] tries in all (a claimed entry counts the
//!   deliveries before it); then it goes to the stream `{topic}:dead` with its last error, and
//!   is acknowledged. An entry that is not a job goes there at once.
//! * **Graceful shutdown, as the [actor](crate::actor) chapter does it.** When the token given
//!   to [`RedisWorker::run`] is cancelled: stop reading, let the items in flight finish (for up
//!   to [`RedisOptions::drain`]), hand back what is still held (`XCLAIM ... IDLE`, so another
//!   worker's next claim takes it at once), then stop.
//!
//! ```no_run
//! use async_patterns::observer::redis::{Envelope, RedisOptions};
//! use async_patterns::pipeline::stream::StageOptions;
//! use async_patterns::pipeline::stream::redis::RedisWorker;
//! use tokio_util::sync::CancellationToken;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = redis::Client::open("unix:///tmp/r.sock")?;
//! let options = RedisOptions::default().max_unacked(32);
//! let worker = RedisWorker::join::<u64>(client, "orders", "billing", "worker-1", options)
//!     .await?
//!     .stage_fn("price", StageOptions::unordered(8), |order: Envelope<u64>| async move {
//!         Ok::<_, String>(order.event * 100)
//!     })
//!     .stage_fn("charge", StageOptions::unordered(8), |cents: u64| async move {
//!         Ok::<_, String>(println!("charged {cents}"))
//!     });
//! let shutdown = CancellationToken::new();
//! let report = worker.run(shutdown).await?; // until the token is cancelled
//! println!("{report:?}");
//! # Ok(()) }
//! ```
//!
//! # What changes when the source is remote
//! An item is an entry with an owner and a delivery count, not a value: a stage may see it
//! twice (after a crash, or a failed acknowledgement), so a stage with effects keys them by the
//! entry's [`EventId`](crate::observer::redis::EventId) (the first stage gets the whole
//! [`Envelope`]). Order holds per worker and stage as [`StageOptions`] says, never across
//! workers. The module docs of [`observer::redis`](crate::observer::redis) say the rest (JSON,
//! timeouts, what a crash does), and the cost is measured there.
//!
//! # Cancellation
//! Dropping the future of [`RedisWorker::run`] drops the pipeline (every item in flight stops
//! at its `.await`) and acknowledges nothing more: what it held stays pending and is claimed by
//! another worker after the idle time, as after a crash.

use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::{FutureExt, StreamExt};
use serde::de::DeserializeOwned;
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{ErrorPolicy, FnStage, Pipeline, Stage, StageError, StageOptions};
use crate::http::BoxError;
use crate::observer::redis::group::Group;
use crate::observer::redis::link::Link;
use crate::observer::redis::{Envelope, RedisOptions, Rejection, RemoteError};

mod source;

use source::{Event, Held, Job, Shared, Source};

/// What a worker did, from joining to stopping.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WorkerReport {
    /// Entries read new from the stream.
    pub read: u64,
    /// Entries claimed from consumers that left them idle (a dead worker's).
    pub claimed: u64,
    /// Entries acknowledged after their last stage succeeded.
    pub acked: u64,
    /// Items run again after a stage failed.
    pub retried: u64,
    /// Entries moved to the dead-letter stream.
    pub dead_lettered: u64,
    /// Entries handed back to the group at shutdown, unfinished.
    pub handed_back: u64,
    /// Redis errors met (reads, acknowledgements), the worker going on after each.
    pub errors: u64,
}

/// One worker of a consumer group: a [`Pipeline`] whose source is the group's stream, whose
/// items end in an acknowledgement. Chain stages as on a pipeline, then [`run`](Self::run) it.
pub struct RedisWorker<O> {
    pipeline: Pipeline<Job<O>>,
    group: Group,
    control: Link,
    options: RedisOptions,
    shared: Arc<Mutex<Shared>>,
    retry: Arc<Notify>,
    events: mpsc::UnboundedReceiver<Event>,
    stopping: CancellationToken,
}

impl RedisWorker<()> {
    /// Join the consumer group `group` on the stream `topic` as `consumer` (creating the group
    /// at the stream's start, so entries already there are work too), for jobs of type `T`:
    /// `RedisWorker::join::<Order>(..)`. Its first stage gets each job's [`Envelope`]. Nothing
    /// is read until [`run`](Self::run).
    pub async fn join<T: DeserializeOwned + Send + 'static>(
        client: redis::Client,
        topic: impl Into<String>,
        group: impl Into<String>,
        consumer: impl Into<String>,
        options: RedisOptions,
    ) -> Result<RedisWorker<Envelope<T>>, RemoteError> {
        let topic = topic.into();
        let group = Group {
            stream: topic,
            group: group.into(),
            consumer: consumer.into(),
        };
        let mut control = Link::new(client.clone(), options.timeout_len());
        group.create(&mut control, "0").await?;
        let shared = Arc::new(Mutex::new(Shared::default()));
        let (retry, stopping) = (Arc::new(Notify::new()), CancellationToken::new());
        let (sender, events) = mpsc::unbounded_channel();
        let source = Source {
            group: group.clone(),
            link: Link::new(client, options.timeout_len()),
            options: options.clone(),
            shared: Arc::clone(&shared),
            permits: Arc::new(Semaphore::new(options.unacked())),
            retry: Arc::clone(&retry),
            events: sender,
            stopping: stopping.clone(),
            ready: Default::default(),
            next_index: 0,
            last_claim: None,
        };
        // Errors are the worker's to handle (retry, dead letter): the output must go on.
        let pipeline =
            Pipeline::from_stream(source::jobs(source)).on_error(ErrorPolicy::SkipAndReport);
        Ok(RedisWorker {
            pipeline,
            group,
            control,
            options,
            shared,
            retry,
            events,
            stopping,
        })
    }
}

impl<O: Send + 'static> RedisWorker<O> {
    /// Chain `stage`, named `name`, run as `options` say: [`Pipeline::stage`], with the item's
    /// entry carried along beside it.
    pub fn stage<P, S>(
        self,
        name: impl Into<String>,
        options: StageOptions,
        stage: S,
    ) -> RedisWorker<P>
    where
        P: Send + 'static,
        S: Stage<O, P> + 'static,
    {
        RedisWorker {
            pipeline: self.pipeline.stage(name, options, Carried(stage)),
            group: self.group,
            control: self.control,
            options: self.options,
            shared: self.shared,
            retry: self.retry,
            events: self.events,
            stopping: self.stopping,
        }
    }

    /// Chain a stage made from a closure ([`Pipeline::stage_fn`]).
    pub fn stage_fn<P, E, F, Fut>(
        self,
        name: impl Into<String>,
        options: StageOptions,
        f: F,
    ) -> RedisWorker<P>
    where
        P: Send + 'static,
        E: Into<BoxError>,
        F: Fn(O) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<P, E>> + Send + 'static,
    {
        self.stage(name, options, FnStage(f))
    }

    /// The most items its stages hold at once ([`Pipeline::capacity`]); the entries it holds
    /// unacknowledged are bounded by [`RedisOptions::max_unacked`] whatever this is.
    pub fn capacity(&self) -> usize {
        self.pipeline.capacity()
    }

    /// Read, run and acknowledge until `shutdown` is cancelled (then drain and hand back, as
    /// the module docs say) or the stream is gone ([`RemoteError::StreamGone`]).
    pub async fn run(self, shutdown: CancellationToken) -> Result<WorkerReport, RemoteError> {
        let consumer = self.group.consumer.clone();
        let span =
            tracing::debug_span!("worker", consumer = %consumer, outcome = tracing::field::Empty);
        let ran = self.work(shutdown).instrument(span.clone()).await;
        span.record("outcome", if ran.is_ok() { "ok" } else { "failed" });
        ran
    }

    /// [`run`](Self::run)'s loop: outputs settled, the source's events handled, the shutdown
    /// and its drain deadline watched, all from one task.
    async fn work(mut self, shutdown: CancellationToken) -> Result<WorkerReport, RemoteError> {
        let mut report = WorkerReport::default();
        let mut fatal = None;
        let empty = Pipeline::from_iter(Vec::new());
        let mut outputs = std::mem::replace(&mut self.pipeline, empty).into_stream();
        let mut deadline = None;
        loop {
            let drain_over = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                output = outputs.next() => {
                    let Some(first) = output else { break };
                    // Every output ready now, so one XACK covers them all.
                    let mut finished = vec![first];
                    while let Some(Some(more)) = outputs.next().now_or_never() {
                        finished.push(more);
                    }
                    self.settle(finished, &mut report).await;
                }
                Some(event) = self.events.recv() => self.handle(event, &mut report, &mut fatal).await,
                () = shutdown.cancelled(), if deadline.is_none() => {
                    // Stop reading; what is in flight has until the deadline to finish.
                    tracing::debug!("drain");
                    self.stopping.cancel();
                    deadline = Some(tokio::time::Instant::now() + self.options.drain_len());
                }
                () = drain_over => break,
            }
        }
        // Whatever is still held (in flight at the deadline, or waiting for a retry) goes back,
        // after what the source said last (it may have ended the stream with a fatal error).
        drop(outputs);
        while let Ok(event) = self.events.try_recv() {
            self.handle(event, &mut report, &mut fatal).await;
        }
        let left: Vec<Held> = {
            let mut shared = crate::support::lock(&self.shared);
            let mut left: Vec<Held> = shared.held.drain().map(|(_, held)| held).collect();
            left.extend(shared.retries.drain(..));
            report.read = shared.read;
            report.claimed = shared.claimed;
            left
        };
        let entries: Vec<String> = left.iter().map(|h| h.incoming.entry.clone()).collect();
        match self.group.hand_back(&mut self.control, &entries).await {
            Ok(()) => report.handed_back = entries.len() as u64,
            Err(_) => report.errors += 1,
        }
        match fatal {
            Some(error) => Err(error),
            None => Ok(report),
        }
    }

    /// Dead-letter what the source rejected; count a failed read, and stop at a fatal one.
    async fn handle(
        &mut self,
        event: Event,
        report: &mut WorkerReport,
        fatal: &mut Option<RemoteError>,
    ) {
        match event {
            Event::Reject(incoming, reason) => {
                match self
                    .group
                    .dead_letter(&mut self.control, &incoming, &reason)
                    .await
                {
                    Ok(()) => report.dead_lettered += 1,
                    Err(_) => report.errors += 1,
                }
            }
            Event::Failed(error) => {
                report.errors += 1;
                tracing::debug!(error = %error, "read failed");
                if !error.is_transient() {
                    *fatal = Some(error);
                    self.stopping.cancel();
                }
            }
        }
    }

    /// Acknowledge the items that came out, retry or dead-letter the ones that failed.
    async fn settle(
        &mut self,
        finished: Vec<Result<Job<O>, StageError>>,
        report: &mut WorkerReport,
    ) {
        let mut done = Vec::new();
        for output in finished {
            let index = match &output {
                Ok(job) => job.index,
                Err(error) => error.index(),
            };
            let Some(held) = crate::support::lock(&self.shared).held.remove(&index) else {
                continue;
            };
            match output {
                Ok(_) => done.push(held),
                Err(error) if held.attempt < self.options.attempts() => {
                    // Run it again from the first stage; it keeps its permit meanwhile.
                    tracing::debug!(entry = %held.incoming.entry, attempt = held.attempt, error = %error, "retry");
                    crate::support::lock(&self.shared).retries.push_back(held);
                    self.retry.notify_one();
                    report.retried += 1;
                }
                Err(error) => {
                    let reason = Rejection::Exhausted {
                        entry: held.incoming.entry.clone(),
                        attempts: held.attempt,
                        last_error: error.to_string(),
                    };
                    // On failure it stays pending, and is claimed (and given up on) again later.
                    match self
                        .group
                        .dead_letter(&mut self.control, &held.incoming, &reason)
                        .await
                    {
                        Ok(()) => report.dead_lettered += 1,
                        Err(_) => report.errors += 1,
                    }
                }
            }
        }
        let entries: Vec<String> = done.iter().map(|h| h.incoming.entry.clone()).collect();
        // On failure they stay pending, and are delivered again after the idle time: at least
        // once allows it, and an idempotent stage absorbs it.
        match self.group.ack(&mut self.control, &entries).await {
            Ok(()) => report.acked += entries.len() as u64,
            Err(_) => report.errors += 1,
        }
        // `done` drops here: the permits go back, and the source may read that many more.
    }
}

/// A user's stage on an item carried with its entry: the stage sees only the value.
struct Carried<S>(S);

#[async_trait]
impl<I, O, S> Stage<Job<I>, Job<O>> for Carried<S>
where
    I: Send + 'static,
    O: Send + 'static,
    S: Stage<I, O>,
{
    async fn process(&self, job: Job<I>) -> Result<Job<O>, BoxError> {
        let value = self.0.process(job.value).await?;
        Ok(Job {
            index: job.index,
            value,
        })
    }
}

impl<O: Send + 'static> fmt::Debug for RedisWorker<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisWorker")
            .field("stream", &self.group.stream)
            .field("group", &self.group.group)
            .field("consumer", &self.group.consumer)
            .field("stages", &self.pipeline.stages())
            .finish_non_exhaustive()
    }
}

//! Streaming stages: items flow through a chain of async stages, each with its own concurrency
//! limit, with bounded buffers between them.
//!
//! # The concept
//! A pipeline for *data*: an unbounded sequence of inputs (URLs, records, messages) goes through
//! stages (fetch, parse, summarise), each turning one item into one output. Unlike a [plan]
//! (a fixed tree of steps), a pipeline never holds all items at once: items stream through.
//!
//! # The classic sync shape
//! ```text
//! let summaries = urls.into_iter()
//!     .map(|u| fetch(u))          // one at a time: the next fetch waits for this one
//!     .map(|page| parse(page?))
//!     .map(|doc| summarise(doc?));
//! ```
//!
//! # The async shape
//! ```text
//! let summaries = Pipeline::from_iter(urls)
//!     .stage("fetch", StageOptions::ordered(8), Fetch(client))      // 8 fetches at once
//!     .stage("parse", StageOptions::ordered(2), Parse)
//!     .stage("summarise", StageOptions::unordered(4), Summarise)
//!     .into_stream();                                               // a Stream of Results
//! ```
//!
//! # What changed, and what async adds
//! The chain is the same chain; `map` became a stage whose function is `async`, and the result
//! is a [`Stream`] (an async iterator) instead of an [`Iterator`]. What async adds:
//!
//! * **Concurrency per stage.** Each stage runs up to `concurrency` items at once, so a fetch
//!   stage of 10 ms items at concurrency 100 moves 10,000 items a second. The whole pipeline is
//!   as fast as its slowest stage (its time per item divided by its concurrency).
//! * **Order, or not.** [`StageOptions::ordered`] yields outputs in the order the stage took
//!   its inputs ([`futures::stream::FuturesOrdered`]; a slow item holds back finished later
//!   ones, and they count against the limit while they wait). [`StageOptions::unordered`] yields
//!   each output as soon as it is ready ([`futures::stream::FuturesUnordered`]). The output
//!   keeps the pipeline's input order only when every stage is ordered; an error's input index
//!   always says which input it was.
//! * **Back-pressure.** Between stages sits a bounded buffer ([`StageOptions::buffer`]). A stage
//!   pulls from upstream only while it has a free slot or room in its buffer, so when the
//!   consumer (or a slow stage) falls behind, everything upstream stops pulling. At most
//!   [`Pipeline::capacity`] items (the sum of every stage's limit and buffer) are ever in flight,
//!   however long the input.
//! * **Errors.** A stage returns `Result`; a failed item becomes a [`StageError`] naming the
//!   stage and the item's input index. With [`ErrorPolicy::StopAtFirst`] (the default) the
//!   output stream yields that error and ends, cancelling everything in flight; with
//!   [`ErrorPolicy::SkipAndReport`] it yields the error in the failed item's place and goes on.
//!   A panic inside a stage becomes [`StageError::Panicked`] for that item.
//! * **Cancellation.** The pipeline is one value: dropping the output stream drops every
//!   in-flight future (each stops at its current `.await`) and aborts every task it spawned
//!   (an aborted task stops at its next `.await`, and the runtime reaps it). No task outlives
//!   the pipeline.
//!
//! # Concurrency, not parallelism (unless asked)
//! By default nothing is spawned: every stage's futures are polled by the one task that polls
//! the output stream. That is concurrency (plenty for I/O-bound stages) and it needs no `'static`
//! borrow gymnastics, but CPU-bound stage work runs on one thread, and nothing advances while the
//! consumer is busy between two `next()` calls. [`StageOptions::spawned`] runs each item of a
//! stage as its own tokio task (parallel on a multi-thread runtime); the pipeline keeps each
//! task's handle and aborts it when dropped.
//!
//! # Cost
//! Per item per stage: two small boxed futures (the stage's `async_trait` future and the
//! wrapper that tags it with its index) and a slot in a `FuturesOrdered`/`FuturesUnordered`;
//! `benches/pipeline.rs` measured 0.2 to 0.3 µs per item per stage for no-op stages, against a
//! hand-written loop of the same calls. A spawned stage adds a task spawn per item. The stage
//! trait uses `#[async_trait]` (a boxed future per call) so stages can be mocked and boxed; the
//! box is one of those two allocations.
//!
//! ```
//! use async_patterns::pipeline::stream::{Pipeline, StageOptions};
//! use futures::StreamExt;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let out: Vec<_> = Pipeline::from_iter(1..=5u32)
//!     .stage_fn("double", StageOptions::ordered(3), |x| async move { Ok::<_, String>(x * 2) })
//!     .stage_fn("show", StageOptions::ordered(1), |x| async move { Ok::<_, String>(x.to_string()) })
//!     .into_stream()
//!     .collect()
//!     .await;
//! let out: Vec<String> = out.into_iter().flatten().collect();
//! assert_eq!(out, ["2", "4", "6", "8", "10"]);
//! # }
//! ```
//!
//! [plan]: crate::pipeline::plan

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use async_trait::async_trait;
use futures::future::{BoxFuture, FutureExt};
use futures::stream::{
    BoxStream, FusedStream, FuturesOrdered, FuturesUnordered, Stream, StreamExt,
};

use crate::http::BoxError;
use crate::support::catch_panic;

/// Why one item did not come out of the pipeline. Every variant names the stage and the input
/// index (0-based position in the input) of the item.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StageError {
    /// The stage returned an error for this item.
    #[error("stage {stage:?} failed on input #{index}: {source}")]
    Failed {
        /// The stage's name.
        stage: String,
        /// The item's position in the input.
        index: usize,
        /// What the stage reported.
        #[source]
        source: BoxError,
    },
    /// The stage panicked on this item; the panic was caught.
    #[error("stage {stage:?} panicked on input #{index}: {message}")]
    Panicked {
        /// The stage's name.
        stage: String,
        /// The item's position in the input.
        index: usize,
        /// The panic's message, when it had one.
        message: String,
    },
    /// The task running this item (a [`StageOptions::spawned`] stage) was cancelled from
    /// outside the pipeline, for example by its runtime shutting down.
    #[error("the task running stage {stage:?} on input #{index} was cancelled")]
    Cancelled {
        /// The stage's name.
        stage: String,
        /// The item's position in the input.
        index: usize,
    },
}

impl StageError {
    /// The name of the stage that failed.
    pub fn stage(&self) -> &str {
        match self {
            StageError::Failed { stage, .. }
            | StageError::Panicked { stage, .. }
            | StageError::Cancelled { stage, .. } => stage,
        }
    }

    /// The input index of the item that failed.
    pub fn index(&self) -> usize {
        match self {
            StageError::Failed { index, .. }
            | StageError::Panicked { index, .. }
            | StageError::Cancelled { index, .. } => *index,
        }
    }
}

/// One async transformation of a pipeline: an input in, an output or an error out.
///
/// Implement it for a type that holds what the stage needs (a client, a parser), or use
/// [`Pipeline::stage_fn`] / [`FnStage`] for a closure. The stage is shared by all the items it
/// processes concurrently, hence `&self` and `Send + Sync`.
///
/// ```
/// use async_patterns::http::{BoxError, HttpGet};
/// use async_patterns::pipeline::stream::Stage;
///
/// struct Fetch<H>(H);
///
/// #[async_trait::async_trait]
/// impl<H: HttpGet> Stage<String, String> for Fetch<H> {
///     async fn process(&self, url: String) -> Result<String, BoxError> {
///         Ok(self.0.get(&url).await?)
///     }
/// }
/// ```
///
/// # Mocking
/// `#[automock]` cannot be used on a generic trait without demanding `Sync` items (the mock
/// holds a `PhantomData<I>`), so the testkit ships `MockStage`, a mock of the most common
/// shape, `Stage<String, String>` (a URL to a body, a body to a summary). For other types,
/// write the same few lines of `mockall::mock!` with your types.
#[async_trait]
pub trait Stage<I: Send + 'static, O: Send + 'static>: Send + Sync {
    /// Turn one input into one output, or say why not.
    async fn process(&self, input: I) -> Result<O, BoxError>;
}

// Shared, boxed and borrowed stages are stages, so one stage can serve several pipelines.
crate::support::forward!(Arc, Box, Ref => [I: Send + 'static, O: Send + 'static] Stage<I, O> {
    async fn process(&self, input: I) -> Result<O, BoxError>;
});

/// A stage made from a closure `Fn(I) -> impl Future<Output = Result<O, E>>`.
///
/// `|x| async move { .. }` closures work; so do no-capture `async |x| { .. }` closures. The
/// future must be `Send` (it may run on any worker thread), which is why the bound is a plain
/// `Fn` returning a future rather than `AsyncFn`.
///
/// ```
/// use async_patterns::pipeline::stream::{FnStage, Pipeline, StageOptions};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (out, _errors) = Pipeline::from_iter(1..=3u32)
///     .stage("double", StageOptions::ordered(2), FnStage(async |x: u32| Ok::<_, String>(x * 2)))
///     .stage_fn("show", StageOptions::ordered(2), |x| async move { Ok::<_, String>(format!("<{x}>")) })
///     .into_stream()
///     .partition()
///     .await;
/// assert_eq!(out, ["<2>", "<4>", "<6>"]);
/// # }
/// ```
pub struct FnStage<F>(pub F);

impl<F> fmt::Debug for FnStage<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnStage(..)")
    }
}

#[async_trait]
impl<F, Fut, I, O, E> Stage<I, O> for FnStage<F>
where
    F: Fn(I) -> Fut + Send + Sync,
    Fut: Future<Output = Result<O, E>> + Send,
    E: Into<BoxError>,
    I: Send + 'static,
    O: Send + 'static,
{
    async fn process(&self, input: I) -> Result<O, BoxError> {
        (self.0)(input).await.map_err(Into::into)
    }
}

/// How one stage runs: its concurrency limit, whether it keeps input order, its input buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageOptions {
    concurrency: usize,
    ordered: bool,
    buffer: Option<usize>,
    spawned: bool,
}

impl StageOptions {
    /// At most `concurrency` items at once (0 is taken as 1), outputs in the order this stage
    /// took its inputs (the pipeline's input order if every stage before it is ordered too).
    pub fn ordered(concurrency: usize) -> Self {
        StageOptions {
            concurrency: concurrency.max(1),
            ordered: true,
            buffer: None,
            spawned: false,
        }
    }

    /// At most `concurrency` items at once (0 is taken as 1), outputs as soon as they are ready.
    pub fn unordered(concurrency: usize) -> Self {
        StageOptions {
            ordered: false,
            ..StageOptions::ordered(concurrency)
        }
    }

    /// Hold up to `items` inputs pulled from upstream but not started yet (default: the
    /// concurrency limit). A bigger buffer lets upstream run further ahead; 0 means upstream
    /// is pulled only when a slot is free.
    pub fn buffer(mut self, items: usize) -> Self {
        self.buffer = Some(items);
        self
    }

    /// Run each item as its own tokio task, so CPU work in this stage runs in parallel on a
    /// multi-thread runtime. The tasks are aborted when the pipeline is dropped. Outside a
    /// tokio runtime the items run in place instead.
    pub fn spawned(mut self) -> Self {
        self.spawned = true;
        self
    }

    /// The concurrency limit.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// Whether outputs keep the order this stage took its inputs in.
    pub fn is_ordered(&self) -> bool {
        self.ordered
    }

    /// The input buffer's capacity.
    pub fn buffer_len(&self) -> usize {
        self.buffer.unwrap_or(self.concurrency)
    }

    /// Whether items run as spawned tasks.
    pub fn is_spawned(&self) -> bool {
        self.spawned
    }
}

/// What the output stream does when an item fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorPolicy {
    /// Yield the first error, then end, cancelling everything in flight (the default).
    #[default]
    StopAtFirst,
    /// Yield each error in the failed item's place and keep going.
    SkipAndReport,
}

/// An item on its way through the pipeline: its input index, and its value or its error. A
/// failed item travels on (untouched) so ordered stages keep their order.
type Tagged<T> = (usize, Result<T, StageError>);

/// A pipeline under construction: a source of items and the stages chained so far.
///
/// Build it with [`Pipeline::from_iter`] or [`Pipeline::from_stream`], add stages with
/// [`Pipeline::stage`] or [`Pipeline::stage_fn`], then turn it into a [`PipelineStream`]. Nothing
/// runs until the stream is polled.
pub struct Pipeline<T> {
    stream: BoxStream<'static, Tagged<T>>,
    policy: ErrorPolicy,
    capacity: usize,
    stages: Vec<String>,
}

impl<T> fmt::Debug for Pipeline<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("stages", &self.stages)
            .field("policy", &self.policy)
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl<T: Send + 'static> Pipeline<T> {
    /// A pipeline over any stream of inputs. The stream is pulled lazily, only as fast as the
    /// first stage takes items.
    pub fn from_stream<S>(source: S) -> Self
    where
        S: Stream<Item = T> + Send + 'static,
    {
        Pipeline {
            stream: source.enumerate().map(|(i, x)| (i, Ok(x))).boxed(),
            policy: ErrorPolicy::default(),
            capacity: 0,
            stages: Vec::new(),
        }
    }

    /// A pipeline over any iterator of inputs (possibly endless).
    #[allow(clippy::should_implement_trait)] // Not FromIterator: this one is lazy and streaming.
    pub fn from_iter<I>(source: I) -> Self
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: Send + 'static,
    {
        Pipeline::from_stream(futures::stream::iter(source))
    }

    /// Chain a stage named `name` that runs `stage` on every item, as `options` say.
    pub fn stage<O, S>(
        mut self,
        name: impl Into<String>,
        options: StageOptions,
        stage: S,
    ) -> Pipeline<O>
    where
        O: Send + 'static,
        S: Stage<T, O> + 'static,
    {
        let name: String = name.into();
        self.stages.push(name.clone());
        let running = if options.ordered {
            Running::Ordered(FuturesOrdered::new())
        } else {
            Running::Unordered(FuturesUnordered::new())
        };
        let stream = StageStream {
            upstream: self.stream,
            upstream_done: false,
            // Not preallocated: a huge limit or buffer ("no limit") must not allocate up front.
            input: VecDeque::new(),
            running,
            stage: Arc::new(stage),
            name: Arc::from(name),
            limit: options.concurrency,
            buffer: options.buffer_len(),
            spawned: options.spawned,
        };
        Pipeline {
            stream: stream.boxed(),
            policy: self.policy,
            capacity: self
                .capacity
                .saturating_add(options.concurrency)
                .saturating_add(options.buffer_len()),
            stages: self.stages,
        }
    }

    /// Chain a stage made from a closure (see [`FnStage`]).
    pub fn stage_fn<O, E, F, Fut>(
        self,
        name: impl Into<String>,
        options: StageOptions,
        f: F,
    ) -> Pipeline<O>
    where
        O: Send + 'static,
        E: Into<BoxError>,
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, E>> + Send + 'static,
    {
        self.stage(name, options, FnStage(f))
    }

    /// Choose what a failed item does to the output stream (default: stop at the first).
    pub fn on_error(mut self, policy: ErrorPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The most items that can be between the source and the consumer at any moment: the sum of
    /// every stage's concurrency limit and buffer.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The stages' names, in order.
    pub fn stages(&self) -> &[String] {
        &self.stages
    }

    /// The output: a stream of each item's result. Dropping it cancels all in-flight work.
    pub fn into_stream(self) -> PipelineStream<T> {
        PipelineStream {
            inner: Some(self.stream),
            policy: self.policy,
        }
    }
}

/// The output of a [`Pipeline`]: a [`Stream`] of `Result<T, StageError>`.
///
/// With [`ErrorPolicy::StopAtFirst`] it ends right after the first error, dropping (cancelling)
/// the work still in flight. Dropping the stream at any time does the same.
pub struct PipelineStream<T> {
    inner: Option<BoxStream<'static, Tagged<T>>>,
    policy: ErrorPolicy,
}

impl<T> fmt::Debug for PipelineStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineStream")
            .field("finished", &self.inner.is_none())
            .field("policy", &self.policy)
            .finish()
    }
}

impl<T> PipelineStream<T> {
    /// Drain the stream into the outputs and the errors.
    pub async fn partition(mut self) -> (Vec<T>, Vec<StageError>) {
        let mut outputs = Vec::new();
        let mut errors = Vec::new();
        while let Some(item) = self.next().await {
            match item {
                Ok(value) => outputs.push(value),
                Err(error) => errors.push(error),
            }
        }
        (outputs, errors)
    }
}

impl<T> Stream for PipelineStream<T> {
    type Item = Result<T, StageError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        match inner.poll_next_unpin(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some((_, Ok(value)))) => Poll::Ready(Some(Ok(value))),
            Poll::Ready(Some((_, Err(error)))) => {
                if this.policy == ErrorPolicy::StopAtFirst {
                    // Dropping the stages now cancels every item still in flight.
                    this.inner = None;
                }
                Poll::Ready(Some(Err(error)))
            }
            Poll::Ready(None) => {
                this.inner = None;
                Poll::Ready(None)
            }
        }
    }
}

// Once it has ended (input done, or stopped at an error) it stays ended, so `select!` loops
// can use it without `.fuse()`.
impl<T> FusedStream for PipelineStream<T> {
    fn is_terminated(&self) -> bool {
        self.inner.is_none()
    }
}

/// The futures a stage is running, in input order or in completion order.
enum Running<O> {
    Ordered(FuturesOrdered<BoxFuture<'static, Tagged<O>>>),
    Unordered(FuturesUnordered<BoxFuture<'static, Tagged<O>>>),
}

impl<O> Running<O> {
    /// Items started and not yet yielded (in ordered mode, including finished ones waiting for
    /// an earlier item).
    fn len(&self) -> usize {
        match self {
            Running::Ordered(f) => f.len(),
            Running::Unordered(f) => f.len(),
        }
    }

    fn push(&mut self, fut: BoxFuture<'static, Tagged<O>>) {
        match self {
            Running::Ordered(f) => f.push_back(fut),
            Running::Unordered(f) => f.push(fut),
        }
    }

    fn poll_next(&mut self, cx: &mut TaskContext<'_>) -> Poll<Option<Tagged<O>>> {
        match self {
            Running::Ordered(f) => f.poll_next_unpin(cx),
            Running::Unordered(f) => f.poll_next_unpin(cx),
        }
    }
}

/// One stage as a stream: pulls tagged items from upstream into a bounded buffer, runs up to
/// `limit` of them at once, yields their results.
struct StageStream<I, O, S> {
    upstream: BoxStream<'static, Tagged<I>>,
    upstream_done: bool,
    input: VecDeque<Tagged<I>>,
    running: Running<O>,
    stage: Arc<S>,
    name: Arc<str>,
    limit: usize,
    buffer: usize,
    spawned: bool,
}

// No field is ever pinned in place: upstream and the running futures are boxed.
impl<I, O, S> Unpin for StageStream<I, O, S> {}

impl<I, O, S> StageStream<I, O, S>
where
    I: Send + 'static,
    O: Send + 'static,
    S: Stage<I, O> + 'static,
{
    /// The future for one item: an error passes through; a value runs the stage (in a task,
    /// if spawned), with a panic caught and turned into an error.
    fn start(&self, (index, item): Tagged<I>) -> BoxFuture<'static, Tagged<O>> {
        let input = match item {
            Ok(input) => input,
            Err(error) => return futures::future::ready((index, Err(error))).boxed(),
        };
        let stage = Arc::clone(&self.stage);
        let name = Arc::clone(&self.name);
        let work = async move {
            // S's own `process`, not the `Arc<S>` impl's (one boxed future less per item), and
            // called inside the caught future: a hand-written `process` may panic before it
            // returns its future.
            let process = async move { S::process(&stage, input).await };
            let result = match catch_panic(process).await {
                Ok(Ok(output)) => Ok(output),
                Ok(Err(source)) => Err(StageError::Failed {
                    stage: name.to_string(),
                    index,
                    source,
                }),
                Err(message) => Err(StageError::Panicked {
                    stage: name.to_string(),
                    index,
                    message,
                }),
            };
            (index, result)
        };
        if self.spawned
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let task = AbortOnDrop(runtime.spawn(work));
            let name = Arc::clone(&self.name);
            return async move {
                task.await.unwrap_or_else(|_| {
                    let stage = name.to_string();
                    (index, Err(StageError::Cancelled { stage, index }))
                })
            }
            .boxed();
        }
        work.boxed()
    }
}

impl<I, O, S> Stream for StageStream<I, O, S>
where
    I: Send + 'static,
    O: Send + 'static,
    S: Stage<I, O> + 'static,
{
    type Item = Tagged<O>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Tagged<O>>> {
        let this = self.get_mut();
        loop {
            // Start buffered items while a slot is free.
            while this.running.len() < this.limit {
                let Some(item) = this.input.pop_front() else {
                    break;
                };
                let fut = this.start(item);
                this.running.push(fut);
            }
            // Back-pressure: pull from upstream only while a slot or the buffer has room.
            let full = this.running.len() >= this.limit && this.input.len() >= this.buffer;
            if this.upstream_done || full {
                break;
            }
            match this.upstream.poll_next_unpin(cx) {
                Poll::Ready(Some(item)) => this.input.push_back(item),
                Poll::Ready(None) => this.upstream_done = true,
                // Upstream will wake this task when it has more.
                Poll::Pending => break,
            }
        }
        match this.running.poll_next(cx) {
            Poll::Ready(Some(item)) => Poll::Ready(Some(item)),
            // Nothing running means nothing buffered either (a slot was free): done if upstream
            // is, otherwise upstream returned `Pending` above and will wake us.
            Poll::Ready(None) if this.upstream_done => Poll::Ready(None),
            Poll::Ready(None) | Poll::Pending => Poll::Pending,
        }
    }
}

/// A task handle that aborts its task when dropped, so a dropped pipeline leaves no task behind.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_empty_input_gives_an_empty_output() {
        let (out, errors) = Pipeline::from_iter(Vec::<u8>::new())
            .stage_fn("id", StageOptions::unordered(4), |x| async move {
                Ok::<_, String>(x)
            })
            .into_stream()
            .partition()
            .await;
        assert!(out.is_empty() && errors.is_empty());
    }

    #[tokio::test]
    async fn the_stream_is_terminated_after_its_first_error_when_stopping_at_it() {
        let mut out = Pipeline::from_iter(0..5u8)
            .stage_fn("odd", StageOptions::ordered(1), |x| async move {
                if x == 1 { Err("one") } else { Ok(x) }
            })
            .into_stream();
        assert_eq!(out.next().await.map(|r| r.ok()), Some(Some(0)));
        assert!(!out.is_terminated());
        assert!(matches!(
            out.next().await,
            Some(Err(StageError::Failed { index: 1, .. }))
        ));
        assert!(out.is_terminated());
        assert!(out.next().await.is_none());
    }

    #[tokio::test]
    async fn options_report_what_they_hold() {
        let o = StageOptions::unordered(0).buffer(3).spawned();
        assert_eq!(
            (
                o.concurrency(),
                o.is_ordered(),
                o.buffer_len(),
                o.is_spawned()
            ),
            (1, false, 3, true)
        );
        let p = Pipeline::from_iter(0..3u8)
            .stage(
                "a",
                StageOptions::ordered(2),
                FnStage(|x: u8| async move { Ok::<_, String>(x) }),
            )
            .stage_fn("b", o, |x| async move { Ok::<_, String>(x) });
        assert_eq!(p.capacity(), 2 + 2 + 1 + 3);
        assert_eq!(p.stages(), ["a", "b"]);
    }

    #[test]
    fn a_spawned_stage_outside_a_runtime_runs_in_place() {
        let out = futures::executor::block_on(
            Pipeline::from_iter(0..4u8)
                .stage_fn("s", StageOptions::ordered(2).spawned(), |x| async move {
                    Ok::<_, String>(x + 1)
                })
                .into_stream()
                .partition(),
        );
        assert_eq!(out.0, [1, 2, 3, 4]);
    }
}

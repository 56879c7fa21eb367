//! Streaming stages (pipes and filters): items flow through a chain of async stages, each with
//! its own concurrency limit, with bounded buffers between them.
//!
//! # The concept
//! A pipeline for *data*: a sequence of inputs (URLs, records, messages), possibly endless, goes
//! through filters (fetch, parse, summarise), each turning one item into one output or an error.
//! Unlike a [plan] (a fixed tree of steps), a pipeline never holds all its items at once: they
//! stream through.
//!
//! # The two shapes, side by side
//! The classic sync shape on the left, the async shape on the right, both compiled (in
//! `shapes/`, with a test that they behave alike); what async changed is marked.
//!
#![doc = include_str!("shapes/side_by_side.html")]
//!
//! **What changed:** `async` on each `fn`, `.await` after each call, `#[async_trait]` with its
//! `use` line, and the bounds the real [`Stage`] carries: `Send + Sync` on the stage, `Send +
//! 'static` on its input and output. A [`Pipeline`] keeps each stage in an `Arc` shared by every
//! item in flight, and may run an item as a spawned task ([`StageOptions::spawned`]) on another
//! worker thread: the stage is then used from several threads at once (`Sync`) and moved to
//! them (`Send`), and an item moves into a task that may outlive the caller's borrows (`Send +
//! 'static`). The sync shape calls each stage on the caller's thread and needs none of them.
//!
//! <details><summary>The two shapes as code, to copy</summary>
//!
//! ```rust
#![doc = include_str!("shapes/sync_shape.rs")]
//! ```
//!
//! ```rust
#![doc = include_str!("shapes/async_shape.rs")]
//! ```
//!
//! </details>
//!
//! # What async adds
//! The async shape still runs one item at a time. [`Pipeline`] keeps the chain of stages and
//! adds per-stage concurrency and bounded buffers, which awaiting makes cheap:
//!
//! * **Concurrency per stage.** Each stage runs up to its limit of items at once, so a fetch
//!   stage of 10 ms items at concurrency 100 moves 10,000 items a second. The whole pipeline is
//!   as fast as its slowest stage (its time per item divided by its concurrency).
//! * **Back-pressure.** A stage pulls from upstream only while it has a free slot or room in its
//!   buffer, so at most [`Pipeline::capacity`] items are ever in flight, however long the input
//!   ([`Pipeline::into_stream`] says how a stage pulls, runs and yields).
//! * **Order, or not.** [`StageOptions::ordered`] keeps input order, [`StageOptions::unordered`]
//!   yields as ready; nothing is spawned unless a stage asks ([`StageOptions::spawned`]).
//!   [`StageOptions`] says what each choice costs.
//! * **Errors per item.** A failed, panicking or timed-out item ([`StageOptions::timeout`])
//!   becomes a [`StageError`] naming the stage and its input index; [`ErrorPolicy`] says
//!   whether the output stops there or goes on. A panicking source is an error too.
//! * **Spans.** Each item in each stage is a `tracing` span (`item`, labelled `fetch #3`, with
//!   `stage`, `index` and `outcome` fields), made where the item starts: it nests under the
//!   span that polls the pipeline, and goes with a spawned item into its task. Nobody
//!   listening, it is disabled and costs next to nothing (`running.rs`).
//! * **Bounded, whatever the numbers.** Limits and buffers are capped ([`MAX_CONCURRENCY`],
//!   [`MAX_BUFFER`]), every stage yields to the runtime after a bounded slice of work, and a
//!   pipeline has at most [`MAX_STAGES`] stages (each stage polls the one before it, so a
//!   longer chain could overflow a task's stack).
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
//! # What it looks like
//! Six items through a fast stage (10 ms an item) feeding a slow one (40 ms), each one item at
//! a time, the slow one with a buffer of one, drawn from the items' spans on tokio's paused
//! clock (`tests/pictures`). The slow stage sets the pace: an item leaves it every 40 ms, the
//! last at 250 ms. The fast stage runs only while the slow one has room: its first two items
//! run back to back (the first into the slow stage, the second into its buffer); after that,
//! each of its items starts when the slow stage takes one from its buffer, and the fast stage
//! waits 30 ms of every 40 (the gaps on its rows). That is back-pressure: nothing is pulled into a full stage,
//! so nothing piles up in front of it.
//!
#![doc = include_str!("pictures/back_pressure.svg")]
//!
//! # What it costs
//! Two small boxed futures and a queue slot per item per stage: 0.2 to 0.3 µs per item per stage
//! in `benches/pipeline.rs`, next to a hand-written loop; the item's span, nobody listening,
//! 28 instructions more (details in `running.rs`).
//!
//! # Cancellation
//! The pipeline is one value: dropping the output stream drops every in-flight future (each
//! stops at its current `.await`) and aborts every task it spawned. No task outlives the
//! pipeline. [`ErrorPolicy::StopAtFirst`] does the same right after yielding the first error.
//!
//!
//! # Reading it
//! This file holds the trait and the [`Pipeline`] that chains stages. From the output stream
//! down to your [`Stage::process`], the path is one file, `output.rs`, read top to bottom: the
//! [`PipelineStream`] polls the last stage; each stage pulls from the one before it, starts
//! items and yields their results; each item runs in `run_item`, which calls `process`. Beside
//! them: the options and limits (`options.rs`), the errors (`errors.rs`), what holds the
//! running items (`running.rs`), closures as stages (`closures.rs`).
//!
//! [plan]: crate::pipeline::plan

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::{BoxStream, Stream, StreamExt};

/// A boxed error that can cross threads: what a [`Stage`] returns when it fails.
pub use crate::http::BoxError;
use crate::support::catch_stream_panics;

mod closures;
mod errors;
mod options;
mod output;
#[cfg(feature = "redis")]
pub mod redis;
mod running;
#[cfg(test)]
mod shapes;
pub mod stall;

pub use closures::FnStage;
pub use errors::StageError;
pub use options::{ErrorPolicy, MAX_BUFFER, MAX_CONCURRENCY, MAX_STAGES, StageOptions};
pub use output::PipelineStream;

/// One async transformation of a pipeline: an input in, an output or an error out.
///
/// Implement it for a type that holds what the stage needs (a client, a parser), or use
/// [`Pipeline::stage_fn`] / [`FnStage`] for a closure. The stage is shared by all the items it
/// processes concurrently, hence `&self` and `Send + Sync`.
///
/// ```
/// use async_patterns::async_trait;
/// use async_patterns::http::{BoxError, HttpGet};
/// use async_patterns::pipeline::stream::Stage;
///
/// struct Fetch<H>(H);
///
/// #[async_trait]
/// impl<H: HttpGet> Stage<String, String> for Fetch<H> {
///     async fn process(&self, url: String) -> Result<String, BoxError> {
///         Ok(self.0.get(&url).await?)
///     }
/// }
/// ```
///
/// The testkit's `MockStage` mocks `Stage<String, String>`; for other types, write the few
/// lines of `mockall::mock!` with yours (`#[automock]` would demand `Sync` items).
#[async_trait]
pub trait Stage<I: Send + 'static, O: Send + 'static>: Send + Sync {
    /// Turn one input into one output, or say why not.
    async fn process(&self, input: I) -> Result<O, BoxError>;
}

// Shared, boxed and borrowed stages are stages too, so one stage can serve several pipelines.
// Each impl only forwards to the stage it points to; `?Sized` lets that stage be a `dyn Stage`.
#[async_trait]
impl<I: Send + 'static, O: Send + 'static, T: Stage<I, O> + ?Sized> Stage<I, O> for Arc<T> {
    async fn process(&self, input: I) -> Result<O, BoxError> {
        (**self).process(input).await
    }
}

#[async_trait]
impl<I: Send + 'static, O: Send + 'static, T: Stage<I, O> + ?Sized> Stage<I, O> for Box<T> {
    async fn process(&self, input: I) -> Result<O, BoxError> {
        (**self).process(input).await
    }
}

#[async_trait]
impl<I: Send + 'static, O: Send + 'static, T: Stage<I, O> + ?Sized> Stage<I, O> for &T {
    async fn process(&self, input: I) -> Result<O, BoxError> {
        (**self).process(input).await
    }
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
    /// The first stage refused for being past [`MAX_STAGES`], if any.
    refused: Option<String>,
}

impl<T: Send + 'static> Pipeline<T> {
    /// A pipeline over any stream of inputs. The stream is pulled lazily, only as fast as the
    /// first stage takes items. A panic while polling it becomes
    /// [`StageError::SourcePanicked`], and the source is not polled again.
    pub fn from_stream<S>(source: S) -> Self
    where
        S: Stream<Item = T> + Send + 'static,
    {
        // The stream ends after a panic: the source's state is unknown.
        let caught = catch_stream_panics(source).enumerate();
        let stream = caught.map(|(index, polled)| match polled {
            Ok(input) => (index, Ok(input)),
            Err(message) => (index, Err(StageError::SourcePanicked { index, message })),
        });
        Pipeline {
            stream: stream.boxed(),
            policy: ErrorPolicy::default(),
            capacity: 0,
            stages: Vec::new(),
            refused: None,
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
    ///
    /// Past [`MAX_STAGES`] the stage is refused: the output is then one
    /// [`StageError::TooManyStages`] naming the first refused stage, and nothing runs.
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
        if self.refused.is_none() && self.stages.len() >= MAX_STAGES {
            self.refused = Some(name.clone());
        }
        let stream = match &self.refused {
            // Not chained on top (that would nest one level deeper each time): the whole
            // output is replaced by the error, and the source is dropped unpolled.
            Some(refused) => options::too_many_stages(refused),
            None => {
                self.stages.push(name.clone());
                // Each stage holds at most its limit running and its buffer waiting.
                self.capacity = self
                    .capacity
                    .saturating_add(options.concurrency())
                    .saturating_add(options.buffer_len());
                // The new last stage, pulling from the one before it (`output.rs`).
                output::StageStream::after(self.stream, name, options, stage).boxed()
            }
        };
        Pipeline {
            stream,
            policy: self.policy,
            capacity: self.capacity,
            stages: self.stages,
            refused: self.refused,
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
    /// every stage's concurrency limit and buffer (each capped, so this is a real bound).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The stages' names, in order (a refused stage is not among them).
    pub fn stages(&self) -> &[String] {
        &self.stages
    }

    /// The output: a stream of each item's result. Dropping it cancels all in-flight work.
    ///
    /// Polling it polls the last stage, which polls the one before it, and so on up to the
    /// source; `output.rs` reads, top to bottom, from this stream to your [`Stage::process`].
    pub fn into_stream(self) -> PipelineStream<T> {
        PipelineStream::new(self.stream, self.policy)
    }
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

//! The output of a pipeline, and the stages it polls: the path from [`PipelineStream`] to your
//! [`Stage::process`](super::Stage::process), top to bottom.
//!
//! The output stream polls the last stage; each stage is a stream (`StageStream`) over the
//! stage before it, so one poll of the output goes up the chain to the source. On every poll a
//! stage repeats the first two of these until it can do neither (or has pulled
//! [`PULLS_PER_POLL`] items), then does the third:
//!
//! 1. **Starts what it can.** Buffered items start while fewer than the concurrency limit run.
//!    An item that already failed upstream passes through untouched, so it keeps its place in an
//!    ordered stage and its error reaches the output.
//! 2. **Pulls, bounded (back-pressure).** It pulls from upstream only while a slot or its buffer
//!    ([`StageOptions::buffer`]) has room, so when the consumer (or a slow stage) falls behind,
//!    everything upstream stops pulling. At most
//!    [`Pipeline::capacity`](super::Pipeline::capacity) items (the sum of every stage's limit and
//!    buffer, each capped) are ever in flight, however long the input.
//! 3. **Yields in order, or as ready**, from its running items ([`Running`]).
//!
//! **Yielding.** A source that is always ready (an iterator) and a big limit would keep step 2
//! going for as long as there is room: tens of thousands of items in one poll, during which
//! nothing else on the thread runs and no timeout can fire. So a stage pulls at most
//! [`PULLS_PER_POLL`] items per poll; with room left, it wakes its task and returns `Pending`
//! (after yielding a finished item, if it has one), and carries on at the next poll. The output
//! stream also spends tokio's per-task budget, one unit per item, so a consumer loop whose items
//! are all ready at once still gives the runtime a turn every so often.
//!
//! Each item runs in `run_item`: the stage's `process` (within its timeout, if it has one),
//! with its error, its timeout or its panic turned into a [`StageError`] that names the stage
//! and the item's input index. A spawned stage runs that future as a tokio task behind
//! tokio-util's `AbortOnDropHandle`. What that costs, and what dropping does, `running.rs` says.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt};
use futures::stream::{BoxStream, FusedStream, Stream, StreamExt};
use tokio_util::task::AbortOnDropHandle;
use tracing::Instrument;
use tracing::instrument::WithSubscriber;

use super::options::PULLS_PER_POLL;
use super::running::Running;
use super::{ErrorPolicy, Stage, StageError, StageOptions, Tagged};
use crate::support::catch_panic;

/// The output of a [`Pipeline`](super::Pipeline): a [`Stream`] of `Result<T, StageError>`.
///
/// With [`ErrorPolicy::StopAtFirst`] it ends right after the first error, dropping (cancelling)
/// the work still in flight. Dropping the stream at any time does the same.
pub struct PipelineStream<T> {
    /// The last stage; `None` once the stream has ended.
    inner: Option<BoxStream<'static, Tagged<T>>>,
    policy: ErrorPolicy,
}

impl<T> Stream for PipelineStream<T> {
    type Item = Result<T, StageError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        // One unit of tokio's task budget per item: a consumer whose items are all ready at once
        // still yields to the runtime every so often (outside tokio the budget is unlimited).
        let budget = std::task::ready!(tokio::task::coop::poll_proceed(cx));
        let polled = inner.poll_next_unpin(cx);
        if polled.is_ready() {
            budget.made_progress();
        }
        match polled {
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

/// One stage as a stream over the stage before it: pulls tagged items from `upstream` into a
/// bounded buffer, runs up to its limit of them at once, yields their results (the module's
/// doc says how, step by step).
pub(super) struct StageStream<I, O, S> {
    upstream: BoxStream<'static, Tagged<I>>,
    upstream_done: bool,
    input: VecDeque<Tagged<I>>,
    running: Running<O>,
    stage: Arc<S>,
    name: Arc<str>,
    options: StageOptions,
}

// No field is ever pinned in place: upstream and the running futures are boxed.
impl<I, O, S> Unpin for StageStream<I, O, S> {}

impl<I: Send + 'static, O: Send + 'static, S: Stage<I, O> + 'static> Stream
    for StageStream<I, O, S>
{
    type Item = Tagged<O>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Tagged<O>>> {
        let this = self.get_mut();
        let limit = this.options.concurrency();
        let mut pulls = 0;
        // Set when the pull budget ran out with room left: more to do at the next poll.
        let mut more = false;
        loop {
            // 1. Start buffered items while a slot is free.
            while this.running.len() < limit {
                let Some(item) = this.input.pop_front() else {
                    break;
                };
                let fut = this.start(item);
                this.running.push(fut);
            }
            // 2. Back-pressure: pull from upstream only while a slot or the buffer has room.
            let full = this.running.len() >= limit && this.input.len() >= this.options.buffer_len();
            if this.upstream_done || full {
                break;
            }
            // A bounded slice of work per poll, however much room there is.
            if pulls == PULLS_PER_POLL {
                more = true;
                break;
            }
            pulls += 1;
            match this.upstream.poll_next_unpin(cx) {
                Poll::Ready(Some(item)) => this.input.push_back(item),
                Poll::Ready(None) => this.upstream_done = true,
                // Upstream will wake this task when it has more.
                Poll::Pending => break,
            }
        }
        // 3. Yield a finished item, in the order the options say.
        match this.running.poll_next(cx) {
            Poll::Ready(Some(item)) => Poll::Ready(Some(item)),
            // Nothing running means nothing buffered either (a slot was free): done if upstream
            // is, otherwise upstream returned `Pending` above and will wake us.
            Poll::Ready(None) if this.upstream_done => Poll::Ready(None),
            Poll::Ready(None) | Poll::Pending => {
                if more {
                    // Nobody else will wake us for the pulling left to do: ask to be polled
                    // again, after the runtime has run whatever else is waiting.
                    cx.waker().wake_by_ref();
                }
                Poll::Pending
            }
        }
    }
}

impl<I: Send + 'static, O: Send + 'static, S: Stage<I, O> + 'static> StageStream<I, O, S> {
    /// The future for one item: an error passes through; a value runs the stage (in a task,
    /// if spawned and inside a tokio runtime; in place otherwise).
    fn start(&self, (index, item): Tagged<I>) -> BoxFuture<'static, Tagged<O>> {
        let input = match item {
            Ok(input) => input,
            Err(error) => return futures::future::ready((index, Err(error))).boxed(),
        };
        let (stage, name) = (Arc::clone(&self.stage), Arc::clone(&self.name));
        // The item's `tracing` span in this stage (DEBUG; its fields are evaluated only if
        // someone listens). Made here, where its work starts: it nests under whatever span
        // polls the pipeline, and a spawned item carries it into its task. Nobody listening,
        // it is disabled, and the item runs bare, not even wrapped.
        let span = tracing::debug_span!(
            "item",
            item = %format_args!("{name} #{index}"),
            stage = &*name,
            index,
            outcome = tracing::field::Empty,
        );
        let work = run_item(stage, name, (index, input), self.options.item_timeout());
        if self.options.is_spawned()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            // Aborted if dropped: a dropped pipeline leaves no task behind. If someone listens,
            // the task runs under the subscriber in place here, so the span ends where it began
            // (a subscriber installed for one future only would otherwise never see it end).
            let task = AbortOnDropHandle::new(if span.is_disabled() {
                runtime.spawn(work)
            } else {
                runtime.spawn(in_span(work, span).with_current_subscriber())
            });
            let name = Arc::clone(&self.name);
            return async move {
                task.await.unwrap_or_else(|_| {
                    let stage = name.to_string();
                    (index, Err(StageError::Cancelled { stage, index }))
                })
            }
            .boxed();
        }
        if span.is_disabled() {
            work.boxed()
        } else {
            in_span(work, span).boxed()
        }
    }
}

/// Run an item's `work` inside its `span`, and record how it ended: the span ends in the poll
/// that finishes the item. (A span dropped before, its item cancelled, records nothing, and is
/// drawn cancelled.)
async fn in_span<O>(work: impl Future<Output = Tagged<O>>, span: tracing::Span) -> Tagged<O> {
    let (index, result) = work.instrument(span.clone()).await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(StageError::TimedOut { .. }) => "timed out",
        Err(_) => "failed",
    };
    span.record("outcome", outcome);
    (index, result)
}

/// Run `stage` on the item at `index`, within `timeout` if any: its output, or its error, its
/// timeout or its panic as a [`StageError`].
async fn run_item<I, O, S>(
    stage: Arc<S>,
    name: Arc<str>,
    (index, input): (usize, I),
    timeout: Option<Duration>,
) -> Tagged<O>
where
    I: Send + 'static,
    O: Send + 'static,
    S: Stage<I, O> + 'static,
{
    // Your stage runs here: S's own `process`, not the `Arc<S>` impl's (one boxed future less
    // per item), called inside the caught future: a hand-written `process` may panic before it
    // returns its future, and that panic must be this item's error too.
    let process = async move { S::process(&stage, input).await };
    // `None` when the timeout fired (and dropped the item's future). The timer is made inside
    // the caught future too: outside a runtime, tokio's panic becomes this item's error.
    let limited = async move {
        match timeout {
            None => Some(process.await),
            Some(after) => tokio::time::timeout(after, process).await.ok(),
        }
    };
    let stage = || name.to_string();
    let result = match catch_panic(limited).await {
        Ok(Some(Ok(output))) => Ok(output),
        Ok(Some(Err(source))) => Err(StageError::Failed {
            stage: stage(),
            index,
            source,
        }),
        Ok(None) => Err(StageError::TimedOut {
            stage: stage(),
            index,
            after: timeout.unwrap_or_default(),
        }),
        Err(message) => Err(StageError::Panicked {
            stage: stage(),
            index,
            message,
        }),
    };
    (index, result)
}

impl<I: Send + 'static, O: Send + 'static, S: Stage<I, O> + 'static> StageStream<I, O, S> {
    /// `stage`, named `name` and run as `options` say, chained after `upstream`.
    pub(super) fn after(
        upstream: BoxStream<'static, Tagged<I>>,
        name: String,
        options: StageOptions,
        stage: S,
    ) -> Self {
        StageStream {
            upstream,
            upstream_done: false,
            // Not preallocated: a huge limit or buffer ("no limit") must not allocate up front.
            input: VecDeque::new(),
            running: Running::new(options.is_ordered()),
            stage: Arc::new(stage),
            name: Arc::from(name),
            options,
        }
    }
}

impl<T> PipelineStream<T> {
    /// The output of the stages chained in `inner`, applying `policy`.
    pub(super) fn new(inner: BoxStream<'static, Tagged<T>>, policy: ErrorPolicy) -> Self {
        let inner = Some(inner);
        PipelineStream { inner, policy }
    }

    /// Drain the stream into the outputs and the errors.
    pub async fn partition(mut self) -> (Vec<T>, Vec<StageError>) {
        let (mut outputs, mut errors) = (Vec::new(), Vec::new());
        while let Some(item) = self.next().await {
            match item {
                Ok(value) => outputs.push(value),
                Err(error) => errors.push(error),
            }
        }
        (outputs, errors)
    }
}

// Once it has ended (input done, or stopped at an error) it stays ended, so `select!` loops
// can use it without `.fuse()`.
impl<T> FusedStream for PipelineStream<T> {
    fn is_terminated(&self) -> bool {
        self.inner.is_none()
    }
}

impl<T> fmt::Debug for PipelineStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineStream")
            .field("finished", &self.inner.is_none())
            .field("policy", &self.policy)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::stream::Pipeline;

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

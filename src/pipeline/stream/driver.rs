//! The stage driver: how one stage runs.
//!
//! Each stage is a [`Stream`] over the stage before it ([`StageStream`]), and the output stream
//! polls the last one. On every poll a stage repeats the first two of these until it can do
//! neither (or has pulled [`PULLS_PER_POLL`] items), then does the third:
//!
//! 1. **Starts what it can.** Buffered items start while fewer than the concurrency limit run.
//!    An item that already failed upstream passes through untouched, so it keeps its place in an
//!    ordered stage and its error reaches the output.
//! 2. **Pulls, bounded (back-pressure).** It pulls from upstream only while a slot or its buffer
//!    ([`StageOptions::buffer`]) has room, so when the consumer (or a slow stage) falls behind,
//!    everything upstream stops pulling. At most
//!    [`Pipeline::capacity`](super::Pipeline::capacity) items (the sum of every stage's limit and
//!    buffer, each capped) are ever in flight, however long the input.
//! 3. **Yields in order, or as ready.** The running items sit in a
//!    [`FuturesOrdered`] or a [`FuturesUnordered`] ([`Running`]), as the options say.
//!
//! **Yielding.** A source that is always ready (an iterator) and a big limit would keep step 2
//! going for as long as there is room: tens of thousands of items in one poll, during which
//! nothing else on the thread runs and no timeout can fire. So a stage pulls at most
//! [`PULLS_PER_POLL`] items per poll; with room left, it wakes its task and returns `Pending`
//! (after yielding a finished item, if it has one), and carries on at the next poll. The output
//! stream also spends tokio's per-task budget, one unit per item, so a consumer loop whose items
//! are all ready at once still gives the runtime a turn every so often.
//!
//! Each item runs in [`run_item`]: the stage's `process` (within its timeout, if it has one),
//! with its error, its timeout or its panic turned into a [`StageError`] that names the stage
//! and the item's input index. A spawned stage runs that future as a tokio task behind
//! [`AbortOnDrop`].
//!
//! # Cost
//! Per item per stage: two small boxed futures (the stage's `async_trait` future and the
//! wrapper that tags it with its index) and a slot in a `FuturesOrdered`/`FuturesUnordered`;
//! `benches/pipeline.rs` measured 0.2 to 0.3 µs per item per stage for no-op stages, against a
//! hand-written loop of the same calls. A spawned stage adds a task spawn per item. The stage
//! trait uses `#[async_trait]` (a boxed future per call) so stages can be mocked and boxed; the
//! box is one of those two allocations.
//!
//! # Cancellation
//! A stage owns its upstream and its running items, and the output stream owns the last stage,
//! so dropping the output drops every in-flight future (each stops at its current `.await`) and
//! every [`AbortOnDrop`], which aborts its task (it stops at its next `.await`, and the runtime
//! reaps it).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt};
use futures::stream::{BoxStream, FuturesOrdered, FuturesUnordered, Stream, StreamExt};

use super::{Stage, StageError, StageOptions, Tagged};
use crate::support::catch_panic;

/// The most items a stage pulls from upstream in one poll before it yields to the runtime.
pub(super) const PULLS_PER_POLL: usize = 64;

/// Chain `stage`, named `name` and run as `options` say, after `upstream`.
pub(super) fn run_stage<I, O, S>(
    upstream: BoxStream<'static, Tagged<I>>,
    name: String,
    options: StageOptions,
    stage: S,
) -> BoxStream<'static, Tagged<O>>
where
    I: Send + 'static,
    O: Send + 'static,
    S: Stage<I, O> + 'static,
{
    let running = if options.is_ordered() {
        Running::Ordered(FuturesOrdered::new())
    } else {
        Running::Unordered(FuturesUnordered::new())
    };
    StageStream {
        upstream,
        upstream_done: false,
        // Not preallocated: a huge limit or buffer ("no limit") must not allocate up front.
        input: VecDeque::new(),
        running,
        stage: Arc::new(stage),
        name: Arc::from(name),
        options,
    }
    .boxed()
}

/// One stage as a stream: pulls tagged items from upstream into a bounded buffer, runs up to
/// its limit of them at once, yields their results.
struct StageStream<I, O, S> {
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

impl<I, O, S> Stream for StageStream<I, O, S>
where
    I: Send + 'static,
    O: Send + 'static,
    S: Stage<I, O> + 'static,
{
    type Item = Tagged<O>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Tagged<O>>> {
        let this = self.get_mut();
        let limit = this.options.concurrency();
        let mut pulls = 0;
        // Set when the pull budget ran out with room left: more to do at the next poll.
        let mut more = false;
        loop {
            // Start buffered items while a slot is free.
            while this.running.len() < limit {
                let Some(item) = this.input.pop_front() else {
                    break;
                };
                let fut = this.start(item);
                this.running.push(fut);
            }
            // Back-pressure: pull from upstream only while a slot or the buffer has room.
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

impl<I, O, S> StageStream<I, O, S>
where
    I: Send + 'static,
    O: Send + 'static,
    S: Stage<I, O> + 'static,
{
    /// The future for one item: an error passes through; a value runs the stage (in a task,
    /// if spawned and inside a tokio runtime; in place otherwise).
    fn start(&self, (index, item): Tagged<I>) -> BoxFuture<'static, Tagged<O>> {
        let input = match item {
            Ok(input) => input,
            Err(error) => return futures::future::ready((index, Err(error))).boxed(),
        };
        let work = run_item(
            Arc::clone(&self.stage),
            Arc::clone(&self.name),
            (index, input),
            self.options.item_timeout(),
        );
        if self.options.is_spawned()
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
    // S's own `process`, not the `Arc<S>` impl's (one boxed future less per item), and called
    // inside the caught future: a hand-written `process` may panic before it returns its future.
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
    use crate::pipeline::stream::Pipeline;

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

//! What a stage holds while its items run: [`Running`], the items' futures, in input order or
//! as ready (a spawned item's future is its task's `AbortOnDropHandle`, from tokio-util).
//!
//! # Cost
//! Per item per stage: two small boxed futures (the stage's `async_trait` future and the
//! wrapper that tags it with its index) and a slot in a `FuturesOrdered`/`FuturesUnordered`;
//! `benches/pipeline.rs` measured 0.2 to 0.3 µs per item per stage for no-op stages, against a
//! hand-written loop of the same calls. A spawned stage adds a task spawn per item. The stage
//! trait uses `#[async_trait]` (a boxed future per call) so stages can be mocked and boxed; the
//! box is one of those two allocations.
//!
//! Each item's `tracing` span, nobody listening, is a check of the level and a branch: the
//! item then runs bare, not even wrapped (`output.rs`). Callgrind counts 28 instructions more
//! per item per stage than before the spans (+1.8 %, about 1,580 in all, in the bench's three
//! no-op stages), and ten interleaved rounds on a loaded 2-core machine tie (median ratio 0.98).
//!
//! # Cancellation
//! A stage owns its upstream and its running items, and the output stream owns the last stage,
//! so dropping the output drops every in-flight future (each stops at its current `.await`) and
//! every spawned item's `AbortOnDropHandle`, which aborts its task (it stops at its next `.await`, and the runtime
//! reaps it).

use std::task::{Context as TaskContext, Poll};

use futures::future::BoxFuture;
use futures::stream::{FuturesOrdered, FuturesUnordered, StreamExt};

use super::Tagged;

/// The futures a stage is running, in input order or in completion order.
pub(super) enum Running<O> {
    Ordered(FuturesOrdered<BoxFuture<'static, Tagged<O>>>),
    Unordered(FuturesUnordered<BoxFuture<'static, Tagged<O>>>),
}

impl<O> Running<O> {
    /// None yet, to be yielded in the order they were pushed if `ordered`, as ready otherwise.
    pub(super) fn new(ordered: bool) -> Self {
        if ordered {
            Running::Ordered(FuturesOrdered::new())
        } else {
            Running::Unordered(FuturesUnordered::new())
        }
    }

    /// Items started and not yet yielded (in ordered mode, including finished ones waiting for
    /// an earlier item).
    pub(super) fn len(&self) -> usize {
        match self {
            Running::Ordered(f) => f.len(),
            Running::Unordered(f) => f.len(),
        }
    }

    pub(super) fn push(&mut self, fut: BoxFuture<'static, Tagged<O>>) {
        match self {
            Running::Ordered(f) => f.push_back(fut),
            Running::Unordered(f) => f.push(fut),
        }
    }

    pub(super) fn poll_next(&mut self, cx: &mut TaskContext<'_>) -> Poll<Option<Tagged<O>>> {
        match self {
            Running::Ordered(f) => f.poll_next_unpin(cx),
            Running::Unordered(f) => f.poll_next_unpin(cx),
        }
    }
}

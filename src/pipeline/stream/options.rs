//! How one stage runs ([`StageOptions`]) and what a failed item does to the output
//! ([`ErrorPolicy`]), and the caps that keep any pipeline bounded ([`MAX_CONCURRENCY`],
//! [`MAX_BUFFER`], [`MAX_STAGES`], and how much one poll of a stage may pull).

use std::time::Duration;

use futures::stream::{BoxStream, StreamExt};

use super::{StageError, Tagged};

/// The most stages a pipeline has: one more is refused ([`StageError::TooManyStages`]).
///
/// Each stage polls the stage before it, so a poll goes as deep as the chain is long: about
/// 0.7 KiB of stack per stage in a debug build, less in release. A thousand stages fit in the
/// 2 MiB of a spawned task's stack with room to spare; far more would overflow it, which aborts
/// the process. Real pipelines have a handful.
pub const MAX_STAGES: usize = 1_000;

/// The output of a pipeline that refused its stage `refused` for being past [`MAX_STAGES`]:
/// that one error, nothing run.
pub(super) fn too_many_stages<T: Send + 'static>(refused: &str) -> BoxStream<'static, Tagged<T>> {
    let stage = refused.to_owned();
    let error = StageError::TooManyStages {
        stage,
        max: MAX_STAGES,
    };
    futures::stream::once(async move { (0, Err(error)) }).boxed()
}

/// The most items a stage pulls from upstream in one poll before it yields to the runtime
/// (`output.rs` says why).
pub(super) const PULLS_PER_POLL: usize = 64;

/// The most items one stage runs at once: a larger concurrency limit (`usize::MAX` for "no
/// limit") is lowered to it, so [`Pipeline::capacity`](super::Pipeline::capacity) is a real
/// bound on memory even over an endless source.
pub const MAX_CONCURRENCY: usize = 1 << 16;

/// The most items one stage's input buffer holds: a larger buffer is lowered to it.
pub const MAX_BUFFER: usize = 1 << 16;

/// How one stage runs: its concurrency limit, whether it keeps input order, its input buffer,
/// whether its items run as tasks.
///
/// # Order, or not
/// [`StageOptions::ordered`] yields outputs in the order the stage took its inputs
/// ([`futures::stream::FuturesOrdered`]): a slow item holds back finished later ones, and they
/// count against the limit while they wait. [`StageOptions::unordered`] yields each output as
/// soon as it is ready ([`futures::stream::FuturesUnordered`]). The output keeps the pipeline's
/// input order only when every stage is ordered; an error's input index always says which input
/// it was.
///
/// **An ordered stage holds a finished item's slot, on purpose.** Six items two at a time, the
/// first one 60 ms and the others 10 ms, take 80 ms ordered (item 1 is done at 10 ms but keeps
/// its slot until item 0 ends at 60) and 60 ms unordered, as drawn below from the items' spans
/// on the paused clock. [`gather::bounded`](crate::basics::gather::bounded) frees a slot the
/// moment its job ends, and is right to: it returns every output at the end anyway, so the
/// finished ones cost it nothing extra. A stage streams over a source that may never end:
/// freeing the slot would start another item while the finished one waits in memory for the
/// slow head, and behind one slow (or hung) item the finished outputs would pile up without
/// bound. Counting them as slots keeps what a stage holds within its limit and buffer, which
/// is what [`Pipeline::capacity`](super::Pipeline::capacity) promises. Where slots matter more
/// than order, choose `unordered` (the `pipeline_stream` example's fetch stage does), or bound
/// the slow item with [`StageOptions::timeout`].
///
#[doc = include_str!("pictures/head_of_line.svg")]
///
/// # Concurrency, not parallelism (unless asked)
/// By default nothing is spawned: every stage's futures are polled by the one task that polls
/// the output stream. That is concurrency (plenty for I/O-bound stages) and it needs no
/// `'static` borrow gymnastics, but CPU-bound stage work runs on one thread, and nothing
/// advances while the consumer is busy between two `next()` calls. [`StageOptions::spawned`]
/// runs each item of a stage as its own tokio task (parallel on a multi-thread runtime); the
/// pipeline keeps each task's handle and aborts it when dropped.
///
/// # A slow consumer stalls an inline stage
/// Inline, an item advances only while the output is polled. A consumer that awaits its own
/// work between two `next()` calls pauses every item in flight for that long, as futures'
/// `buffered` does (futures-rs issue 2387): an item that needs several round trips does one
/// per poll, and misses a deadline it would have met. Measured on the paused clock by
/// [`stall`](super::stall), with the load of
/// [`basics::pitfalls::buffered_stall`](crate::basics::pitfalls::buffered_stall): twenty
/// requests of 1 to 6 round trips of 10 ms under a 100 ms deadline, five at a time, read by a
/// consumer that spends 50 ms on each answer:
///
/// | the request stage                          | timed out | took    |
/// |--------------------------------------------|-----------|---------|
/// | inline (`ordered(5)`)                      | 12 of 20, as `buffered(5)` | 1.08 s |
/// | `ordered(5).spawned()`                     | none      | 1.01 s  |
/// | inline, the consumer's work a second stage | none      | 250 ms  |
///
/// So: spawn a stage whose items must keep moving while the consumer is busy, or give the
/// consumer's work to a stage and keep the consumer's loop empty.
///
/// # Bounded, whatever the numbers
/// A limit above [`MAX_CONCURRENCY`] or a buffer above [`MAX_BUFFER`] is lowered to it, so
/// "no limit" (`usize::MAX`) still bounds memory. A slow item in an ordered stage holds back
/// the ones after it; [`StageOptions::timeout`] bounds how long one item may take, so a hung
/// item becomes an error of its own ([`StageError::TimedOut`](super::StageError::TimedOut))
/// instead of stalling the stage for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageOptions {
    concurrency: usize,
    ordered: bool,
    buffer: Option<usize>,
    spawned: bool,
    timeout: Option<Duration>,
}

impl StageOptions {
    /// At most `concurrency` items at once (0 is taken as 1, more than [`MAX_CONCURRENCY`] as
    /// that), outputs in the order this stage took its inputs (the pipeline's input order if
    /// every stage before it is ordered too).
    pub fn ordered(concurrency: usize) -> Self {
        StageOptions {
            concurrency: concurrency.clamp(1, MAX_CONCURRENCY),
            ordered: true,
            buffer: None,
            spawned: false,
            timeout: None,
        }
    }

    /// At most `concurrency` items at once (0 is taken as 1, more than [`MAX_CONCURRENCY`] as
    /// that), outputs as soon as they are ready.
    pub fn unordered(concurrency: usize) -> Self {
        StageOptions {
            ordered: false,
            ..StageOptions::ordered(concurrency)
        }
    }

    /// Hold up to `items` inputs pulled from upstream but not started yet (default: the
    /// concurrency limit; at most [`MAX_BUFFER`]). A bigger buffer lets upstream run further
    /// ahead; 0 means upstream is pulled only when a slot is free.
    pub fn buffer(mut self, items: usize) -> Self {
        self.buffer = Some(items.min(MAX_BUFFER));
        self
    }

    /// Give each item at most `after` in this stage: one still running then is cancelled and
    /// becomes [`StageError::TimedOut`](super::StageError::TimedOut), and the stage goes on.
    /// The timer is tokio's, so the stage then needs a tokio runtime with its timer enabled
    /// (outside one, each item fails with [`StageError::Panicked`](super::StageError::Panicked)
    /// carrying tokio's message).
    pub fn timeout(mut self, after: Duration) -> Self {
        self.timeout = Some(after);
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

    /// How long one item may take in this stage, if limited.
    pub fn item_timeout(&self) -> Option<Duration> {
        self.timeout
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::stream::{FnStage, Pipeline};

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
}

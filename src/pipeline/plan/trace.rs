//! The trace of a plan: when each step started and ended, and how ([`Span`], [`Trace`],
//! [`StepOutcome`]), and the `tracing` span of each step beside it.
//!
//! Every step a plan runs goes through [`run_child`](super::run_child), which opens a span in
//! the plan's shared list when the step starts (`context.rs`) and closes it when the step
//! ends. The closing is done by a guard: if the step's future is dropped first (a fail-fast
//! sibling failed, or a timeout above it fired), the guard's `Drop` closes the span as
//! [`StepOutcome::Cancelled`], at the time of the drop. Times come from
//! [`tokio::time::Instant`], so on tokio's paused clock a test can assert them exactly.
//!
//! # A `Trace`, and `tracing` spans beside it: why both
//! Each step is also a `tracing` span (`step`, fields `path` and `outcome`: `ok`, `failed`,
//! `timed out` or `cancelled`, a panic being `failed`), run inside it, so its children's spans
//! nest under it; a deadline, a fail-fast and the child a parallel waited for last are events
//! in it. [`run_child`](super::run_child) ends both at the same point, with the same outcome,
//! so they cannot disagree (`tests/pipeline_plan/spans.rs` checks the bars drawn from the
//! spans against the trace); a span dropped before it records an outcome reads as cancelled.
//!
//! The trace is not built from the spans, because spans reach only the subscriber installed
//! where they are made, and [`run_traced`](super::run_traced) must work with none: a `Trace` is
//! a value the plan returns, for the program itself (a test asserts on it, the example finds
//! the critical path in it), whoever listens or not. To build it from spans, `run_traced`
//! would have to install a subscriber of its own for the plan's run, and a scoped subscriber
//! *replaces* the one in place: the user's log or tokio-console would lose the plan's steps
//! while it runs. Forwarding to the user's subscriber instead would be a subscriber written
//! here, machinery a reader should not need. So the trace stays the plan's own record, and the
//! spans are for whoever listens: a log, tokio-console, a Chrome trace, or
//! [`timing::TimelineLayer`](crate::timing) (feature `timeline`), which draws the same timeline.
//!
//! # What it costs
//! Each step run costs a boxed future (`async_trait`), its name (`path.rs`), a span pushed to the
//! trace under a `std::sync::Mutex` held for a few instructions (never across an `.await`), and
//! a `catch_unwind` frame: small next to any step that does I/O. `#[async_trait]` (one boxed
//! future per call) is what makes `Box<dyn Step>` and `MockStep` possible; a native `async fn`
//! in the trait would save the box but could not be stored as `dyn Step`, and a plan is exactly
//! a list of different step types.
//!
//! With nobody listening, the `tracing` span is disabled: its fields (the path's text) are
//! never evaluated; what is left is a check of the level at its creation and one per poll, and
//! a future bigger by the span, to move. Measured in `benches/pipeline.rs` (a plan of 1,011
//! no-op steps, no subscriber): 4,037 instructions per step before the spans and 4,239 after
//! (+5 %, callgrind), most of it the bigger future; in time, ten interleaved rounds on a
//! 2-core machine loaded 10 to 11 measured 1.0 to 2.3 µs per step before and 1.3 to 1.9 µs
//! after, a median ratio of 1.03: within the noise.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::path::Path;
use super::{StepContext, StepError};
use crate::timing::{self, Bar, BarOutcome};

/// The old name of [`StepOutcome`], which clashed with [`observer::Outcome`] in one `use`.
///
/// [`observer::Outcome`]: crate::observer::Outcome
#[deprecated(since = "0.1.0", note = "renamed `StepOutcome`")]
pub type Outcome = StepOutcome;

/// How a step's run ended, as recorded in the [`Trace`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// It completed.
    Ok,
    /// It returned an error (or, for a composite, a child failed).
    Failed,
    /// Its timeout fired.
    TimedOut,
    /// It panicked.
    Panicked,
    /// Its future was dropped before it ended: a sibling failed, or a timeout above it fired.
    Cancelled,
}

impl StepOutcome {
    /// The outcome of the step at `path`: a timeout or panic counts as its own only when the
    /// error is its own; when a descendant's, the step simply failed.
    pub(super) fn of<'p>(result: &Result<(), StepError>, path: impl FnOnce() -> &'p str) -> Self {
        match result {
            Ok(()) => StepOutcome::Ok,
            Err(e) if e.path() != Some(path()) => StepOutcome::Failed,
            Err(StepError::TimedOut { .. }) => StepOutcome::TimedOut,
            Err(StepError::Panicked { .. }) => StepOutcome::Panicked,
            Err(_) => StepOutcome::Failed,
        }
    }

    /// How a timeline draws it: a panic is a failure, as its `tracing` span records it.
    pub(super) fn bar(self) -> BarOutcome {
        match self {
            StepOutcome::Ok => BarOutcome::Ok,
            StepOutcome::Failed | StepOutcome::Panicked => BarOutcome::Failed,
            StepOutcome::TimedOut => BarOutcome::TimedOut,
            StepOutcome::Cancelled => BarOutcome::Cancelled,
        }
    }

    fn mark(self) -> char {
        match self {
            StepOutcome::Ok => '#',
            StepOutcome::Failed => 'x',
            StepOutcome::TimedOut => 't',
            StepOutcome::Panicked => '!',
            StepOutcome::Cancelled => '-',
        }
    }
}

impl fmt::Display for StepOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = match self {
            StepOutcome::Ok => "ok",
            StepOutcome::Failed => "failed",
            StepOutcome::TimedOut => "timed out",
            StepOutcome::Panicked => "panicked",
            StepOutcome::Cancelled => "cancelled",
        };
        f.write_str(word)
    }
}

/// One step's run: where it sits, when it started and ended (from the plan's start), how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// The step's path in the plan (`morning/lights/hue`).
    pub path: String,
    /// How deep it is nested; the root is 0.
    pub depth: usize,
    /// When it started, from the plan's start.
    pub start: Duration,
    /// When it ended (or was cancelled), from the plan's start.
    pub end: Duration,
    /// How it ended.
    pub outcome: StepOutcome,
}

impl Span {
    /// The step's own name: the last part of its path.
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }

    /// How long it ran.
    pub fn duration(&self) -> Duration {
        self.end.saturating_sub(self.start)
    }
}

/// Every step's [`Span`], in tree order (as the plan nests).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    spans: Vec<Span>,
}

impl Trace {
    /// The spans in tree order: a parent, then each of its children's subtrees in the order
    /// the children started.
    pub fn spans(&self) -> &[Span] {
        &self.spans
    }

    /// The span of the step at `path`, if it ran (the first one, should two siblings share a
    /// name: give siblings distinct names to keep paths unique).
    pub fn span(&self, path: &str) -> Option<&Span> {
        self.spans.iter().find(|s| s.path == path)
    }

    /// From the plan's start to the end of the last step.
    pub fn total(&self) -> Duration {
        self.spans
            .iter()
            .map(|s| s.end)
            .max()
            .unwrap_or(Duration::ZERO)
    }

    /// The spans of the leaf steps (the ones with no children that ran), in tree order.
    pub fn leaves(&self) -> Vec<&Span> {
        // In tree order a span is a leaf when the next span is not nested under it. (Comparing
        // paths would miscount a leaf that shares its name with a sibling composite.)
        let next_depths = self.spans.iter().skip(1).map(|s| Some(s.depth));
        self.spans
            .iter()
            .zip(next_depths.chain([None]))
            .filter(|(span, next)| next.is_none_or(|d| d <= span.depth))
            .map(|(span, _)| span)
            .collect()
    }

    /// Sum of the leaf steps' durations: what running them one by one would take.
    pub fn one_by_one(&self) -> Duration {
        let leaves = self.leaves().into_iter();
        leaves.fold(Duration::ZERO, |sum, span| {
            sum.saturating_add(span.duration())
        })
    }

    /// A text timeline, one bar per step, `width` characters for the plan's whole duration.
    ///
    /// The bar is drawn with `#` (ok), `x` (failed), `t` (timed out), `!` (panicked) or `-`
    /// (cancelled); bars that overlap in time ran concurrently.
    pub fn timeline(&self, width: usize) -> String {
        let bars: Vec<Bar> = self
            .spans
            .iter()
            .map(|span| Bar {
                label: span.name().to_owned(),
                depth: span.depth,
                start: span.start,
                end: span.end,
                mark: span.outcome.mark(),
                note: span.outcome.to_string(),
                outcome: span.outcome.bar(),
            })
            .collect();
        timing::draw(&bars, width)
    }
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.timeline(40))
    }
}

/// A span as recorded while the plan runs: `end` is `None` until the step ends.
#[derive(Debug)]
pub(super) struct Open {
    path: Path,
    parent: Option<usize>,
    depth: usize,
    start: Duration,
    end: Option<(Duration, StepOutcome)>,
}

impl Open {
    /// The span of a step at `path`, under the span `parent`, starting at `start`.
    pub(super) fn new(path: Path, parent: Option<usize>, depth: usize, start: Duration) -> Self {
        Open {
            path,
            parent,
            depth,
            start,
            end: None,
        }
    }

    /// Record the step's end, and how it ended.
    pub(super) fn close(&mut self, end: Duration, outcome: StepOutcome) {
        self.end = Some((end, outcome));
    }
}

/// The spans of one plan run, shared by every context of that run.
pub(super) type Spans = Arc<Mutex<Vec<Open>>>;

impl Trace {
    /// The trace of the spans `open`, the ones still running as if they ended at `now`.
    pub(super) fn from_open(open: &[Open], now: Duration) -> Trace {
        // Tree order: a depth-first walk, siblings in the order they started.
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); open.len()];
        let mut roots = Vec::new();
        for (i, o) in open.iter().enumerate() {
            match o.parent.and_then(|p| children.get_mut(p)) {
                Some(siblings) => siblings.push(i),
                None => roots.push(i),
            }
        }
        let mut spans = Vec::with_capacity(open.len());
        let mut stack: Vec<usize> = roots.into_iter().rev().collect();
        while let Some(i) = stack.pop() {
            if let Some(o) = open.get(i) {
                let (end, outcome) = o.end.unwrap_or((now, StepOutcome::Cancelled));
                spans.push(Span {
                    // The path's text, built from the shared names once per span.
                    path: o.path.to_string(),
                    depth: o.depth,
                    start: o.start,
                    end,
                    outcome,
                });
            }
            if let Some(kids) = children.get(i) {
                stack.extend(kids.iter().rev());
            }
        }
        Trace { spans }
    }
}

/// Closes a step's span when the step ends; if the step's future is dropped first, its `Drop`
/// marks the span cancelled.
pub(super) struct SpanGuard<'a> {
    cx: &'a StepContext,
    closed: bool,
}

impl<'a> SpanGuard<'a> {
    /// A guard for the span of the step `cx` was made for.
    pub(super) fn new(cx: &'a StepContext) -> Self {
        SpanGuard { cx, closed: false }
    }

    /// Record the step's end, and how it ended.
    pub(super) fn close(&mut self, outcome: StepOutcome) {
        self.cx.close_span(outcome);
        self.closed = true;
    }
}

impl Drop for SpanGuard<'_> {
    fn drop(&mut self) {
        if !self.closed {
            self.close(StepOutcome::Cancelled);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn every_bar_has_the_same_width_and_at_least_one_mark() {
        let span = |path: &str, start, end| Span {
            path: path.to_owned(),
            depth: 0,
            start: ms(start),
            end: ms(end),
            outcome: StepOutcome::Ok,
        };
        let trace = Trace {
            spans: vec![span("a", 0, 100), span("b", 100, 100), span("c", 0, 0)],
        };
        let text = trace.timeline(10);
        let bars: Vec<&str> = text.lines().filter_map(|l| l.split('|').nth(1)).collect();
        assert_eq!(bars, ["##########", "         #", "#         "]);
    }

    #[test]
    fn an_empty_trace_draws_nothing() {
        let trace = Trace::default();
        assert_eq!(trace.timeline(10), "");
        assert_eq!(trace.total(), Duration::ZERO);
    }
}

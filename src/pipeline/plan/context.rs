//! What a running step is given: [`StepContext`], its place in the plan and the plan's trace.
//!
//! [`run_child`](super::run_child) makes each child's context from its parent's
//! ([`StepContext::child`]): one name more on the path (shared with its siblings, `path.rs`),
//! one level deeper, and a span opened in the trace that every context of the run shares.
//! [`run_traced`](super::run_traced) makes the first one and reads the trace back from it
//! ([`StepContext::trace`]).

use std::sync::{Arc, MutexGuard, OnceLock};
use std::time::Duration;

use tokio::time::Instant;

use super::path::Path;
use super::trace::{Open, Spans, StepOutcome, Trace};
use crate::support::lock;

/// What a running step knows about its place in the plan: its path and the shared trace.
///
/// Composites hand each child a context one level deeper; leaves may ignore theirs, or read
/// [`StepContext::path`] and [`StepContext::elapsed`] for logging.
#[derive(Debug, Clone)]
pub struct StepContext {
    path: Path,
    /// The path as text, built the first time [`StepContext::path`] is asked.
    path_text: OnceLock<String>,
    depth: usize,
    /// This step's span in the trace; `None` at the top, above the root step.
    span: Option<usize>,
    origin: Instant,
    spans: Spans,
}

impl Default for StepContext {
    fn default() -> Self {
        StepContext::new()
    }
}

impl StepContext {
    /// A fresh context: empty path, a new trace, the clock starting now.
    pub fn new() -> Self {
        StepContext {
            path: Path::default(),
            path_text: OnceLock::new(),
            depth: 0,
            span: None,
            origin: Instant::now(),
            spans: Spans::default(),
        }
    }

    /// The path of the step this context was made for (empty at the top). Built from the
    /// shared names on first use, then kept.
    pub fn path(&self) -> &str {
        self.path_text.get_or_init(|| self.path.to_string())
    }

    /// Time since the plan started (tokio's clock, so it can be paused in tests).
    pub fn elapsed(&self) -> Duration {
        self.origin.elapsed()
    }

    /// The trace recorded so far: finished steps, and running ones as if they ended now.
    pub fn trace(&self) -> Trace {
        Trace::from_open(&self.spans(), self.elapsed())
    }

    /// How deep a child of this context's step sits.
    pub(super) fn child_depth(&self) -> usize {
        // A context with no span of its own is the top, above the root step (a root named ""
        // is still a level of its own: its children are "/a", depth 1).
        match self.span {
            None => 0,
            Some(_) => self.depth + 1,
        }
    }

    /// The path of a child named `name`, as text: for the error of a child refused before it
    /// has a context of its own.
    pub(super) fn child_path(&self, name: &str) -> String {
        self.path.child(name).to_string()
    }

    /// The context for a child named `name`, its span opened in the trace as it starts now.
    pub(super) fn child(&self, name: &str) -> StepContext {
        // One new name linked to this path: no copy of the prefix.
        let (path, depth) = (self.path.child(name), self.child_depth());
        let span = {
            let mut spans = self.spans();
            spans.push(Open::new(path.clone(), self.span, depth, self.elapsed()));
            spans.len() - 1
        };
        StepContext {
            path,
            path_text: OnceLock::new(),
            depth,
            span: Some(span),
            origin: self.origin,
            spans: Arc::clone(&self.spans),
        }
    }

    /// Record the end of this context's step, and how it ended.
    pub(super) fn close_span(&self, outcome: StepOutcome) {
        let now = self.elapsed();
        let mut spans = self.spans();
        if let Some(open) = self.span.and_then(|i| spans.get_mut(i)) {
            open.close(now, outcome);
        }
    }

    /// The shared spans, under their lock (held for a few instructions, never across an
    /// `.await`).
    fn spans(&self) -> MutexGuard<'_, Vec<Open>> {
        lock(&self.spans)
    }
}

//! Plans: steps run in sequence or concurrently, nested to any depth, with a trace.
//!
//! # The concept
//! A program is often a *shape* of calls: connect the devices, then, at once, one routine per
//! device, each routine a few messages in order. The composite pattern makes that shape a
//! value: a [`Step`] is anything that can run, and [`sequence`] and [`parallel`] are steps made
//! of steps, so they nest to any depth.
//!
//! The earlier IoT talk (the one with the smart toilet) wrote such programs with two helpers,
//! `run_sequence(*steps)` and `run_parallel(*steps)`, nested into a tree. The first is
//! [`gather::one_by_one`](crate::basics::gather::one_by_one); the second is `join_all`,
//! [`gather::all_at_once`](crate::basics::gather::all_at_once). And as that talk says, at the
//! level of the architecture async changes the *data structure*: a sync program is a list of
//! steps run in order, an async one a tree of sequences and parallels. The classic patterns
//! (strategy, factory, observer) keep theirs; so does the Composite that holds the tree.
//!
//! # The classic sync shape
//! ```rust
#![doc = include_str!("shapes/sync_shape.rs")]
//! ```
//!
//! # The async shape
//! ```rust
#![doc = include_str!("shapes/async_shape.rs")]
//! ```
//!
//! **What changed:** `run` became an `async fn` under `#[async_trait]` and each call got an
//! `.await`; the tree gained the one node only async makes cheap, `Parallel` (`join_all`).
//!
//! # What async adds
//! The real [`Step::run`] also takes `cx: &`[`StepContext`]: the step's path and the plan's
//! trace travel down the nesting with the call. [`Parallel`] is concurrency on one task (its
//! children are futures polled together, no threads), and with it come:
//!
//! * **Failure policies.** The shape's `join_all` waits for every child; the real [`Parallel`]
//!   fails fast by default: the first failure returns and cancels the running siblings. With
//!   [`Parallel::collect_all`], every child finishes and every error is kept
//!   ([`StepError::Several`]).
//! * **Timeouts.** [`StepExt::with_timeout`] wraps any step, composites included.
//! * **A trace.** [`run_traced`] returns a [`Trace`] of when each step ran;
//!   [`Trace::timeline`] draws it, so overlap is seen. Times come from tokio's clock, so a test
//!   on the paused clock can assert them exactly.
//! * **Errors that say where.** Every error names its step by its path, `morning/light/dim`;
//!   a panic in a step becomes [`StepError::Panicked`] of that step.
//! * **A bounded depth.** A step deeper than [`MAX_DEPTH`] is refused ([`StepError::TooDeep`])
//!   rather than overflow the stack; paths share their prefixes (`path.rs`).
//!
//! ```
//! use std::time::Duration;
//! use async_patterns::pipeline::plan::{parallel, run_traced, sequence, step, StepExt};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
//! let wait = |name: &str, ms: u64| step(name, move || async move {
//!     tokio::time::sleep(Duration::from_millis(ms)).await;
//!     Ok(())
//! }).boxed();
//! let plan = sequence("morning", vec![
//!     wait("connect", 50),
//!     parallel("devices", vec![
//!         sequence("light", vec![wait("on", 10), wait("dim", 30)]).boxed(),
//!         wait("speaker", 100),
//!     ]).boxed(),
//! ]);
//! let (result, trace) = run_traced(&plan).await;
//! assert!(result.is_ok());
//! // The critical path: connect (50) + the slowest branch (speaker, 100).
//! assert_eq!(trace.total(), Duration::from_millis(150));
//! println!("{}", trace.timeline(40));
//! # }
//! ```
//!
//! # What it costs
//! Per step: one boxed future, its path, a span pushed under a short lock, a `catch_unwind`
//! frame; small next to any I/O (details in `trace.rs`). [`Parallel`] polls its children on
//! the task that awaits it: CPU-heavy steps belong in [`crate::basics::blocking::to_thread`].
//!
//! # Cancellation
//! Dropping a plan's future drops every step running under it, and nothing keeps running (the
//! composites spawn nothing). A sequence stops at its first error: its later steps never
//! start. A fail-fast parallel drops its running siblings at their current `.await`; their
//! spans read "cancelled". A timeout drops everything under it (`composite.rs`, `timeout.rs`).

use std::fmt;
use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::support::catch_panic;

mod closures;
mod composite;
mod errors;
mod path;
#[cfg(test)]
mod shapes;
mod timeout;
mod trace;

pub use closures::FnStep;
pub use composite::{OnFailure, Parallel, Sequence};
pub use errors::StepError;
pub use path::MAX_DEPTH;
pub use timeout::{StepExt, Timeout};
#[allow(deprecated)]
pub use trace::Outcome;
pub use trace::{Span, StepOutcome, Trace, run_traced};

/// A boxed error that can cross threads: the cause a failed step carries.
pub use crate::http::BoxError;

/// Something that can run as part of a plan: a leaf, or a composite of steps.
///
/// One async method and a name. Implement it for your own types, or turn a closure into a step
/// with [`step`]. The context tells the step where it is; leaves usually ignore it, composites
/// pass a child context down with [`run_child`].
///
/// ```
/// use async_patterns::pipeline::plan::{Step, StepContext, StepError};
///
/// struct Light { name: String, reachable: bool }
///
/// #[async_trait::async_trait]
/// impl Step for Light {
///     fn name(&self) -> &str { &self.name }
///     async fn run(&self, _cx: &StepContext) -> Result<(), StepError> {
///         if self.reachable { Ok(()) } else { Err(StepError::failed("bulb unreachable")) }
///     }
/// }
/// ```
#[async_trait]
pub trait Step: Send + Sync {
    /// The step's name, one part of its path in the plan.
    fn name(&self) -> &str;

    /// Run the step to the end, or say why it could not.
    async fn run(&self, cx: &StepContext) -> Result<(), StepError>;
}

// Boxed, shared and borrowed steps are steps, so plans can hold any of them.
crate::support::forward!(Arc, Box, Ref => [] Step {
    fn name(&self) -> &str;
    async fn run(&self, cx: &StepContext) -> Result<(), StepError>;
});

/// A step behind a box, the element type of [`sequence`] and [`parallel`].
pub type BoxStep = Box<dyn Step>;

/// What a running step knows about its place in the plan: its path and the shared trace.
///
/// Composites hand each child a context one level deeper; leaves may ignore theirs, or read
/// [`StepContext::path`] and [`StepContext::elapsed`] for logging.
#[derive(Debug, Clone)]
pub struct StepContext {
    path: path::Path,
    /// The path as text, built the first time [`StepContext::path`] is asked.
    path_text: OnceLock<String>,
    depth: usize,
    /// This step's span in the trace; `None` at the top, above the root step.
    span: Option<usize>,
    origin: Instant,
    spans: trace::Spans,
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
            path: path::Path::default(),
            path_text: OnceLock::new(),
            depth: 0,
            span: None,
            origin: Instant::now(),
            spans: trace::Spans::default(),
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
}

/// Run `child` as a child of the step that owns `parent`: record its span, catch its panic,
/// and give its error the child's path. Composites (yours too) call this for every child; it
/// is also where depth is counted, and a child deeper than [`MAX_DEPTH`] refused.
pub async fn run_child(child: &dyn Step, parent: &StepContext) -> Result<(), StepError> {
    // Refused before it starts (no span): one more level could overflow the task's stack.
    if parent.child_depth() > MAX_DEPTH {
        let path = parent.path.child(child.name()).to_string();
        let max = MAX_DEPTH;
        return Err(StepError::TooDeep { path, max });
    }
    // The child's context, one level deeper, its span opened in the trace.
    let cx = parent.child(child.name());
    // Closes the span; if this future is dropped first, as cancelled.
    let mut span = trace::SpanGuard::new(&cx);
    // The call sits inside the caught future too: a hand-written `run` may panic before it
    // returns its future.
    let run = async { child.run(&cx).await };
    let result = match catch_panic(run).await {
        Ok(result) => result,
        Err(message) => Err(StepError::Panicked {
            path: String::new(),
            message,
        }),
    }
    // The path's text is built only here, on failure.
    .map_err(|e| e.at(cx.path()));
    span.close(StepOutcome::of(&result, || cx.path()));
    result
}

/// A [`Sequence`] named `name` of `steps`: one after another, the first failure stops it.
pub fn sequence(name: impl Into<String>, steps: Vec<BoxStep>) -> Sequence {
    let name = name.into();
    Sequence { name, steps }
}

/// A fail-fast [`Parallel`] named `name` of `steps`: all at once, on the awaiting task.
pub fn parallel(name: impl Into<String>, steps: Vec<BoxStep>) -> Parallel {
    let (name, on_failure) = (name.into(), OnFailure::FailFast);
    Parallel {
        name,
        steps,
        on_failure,
    }
}

/// A step named `name` that runs `f().await`: a closure as a leaf (more in `closures.rs`).
///
/// ```
/// use async_patterns::pipeline::plan::{step, Step, StepContext, StepError};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let hello = step("hello", async || Ok(()));
/// let fails = step("fails", || async { Err(StepError::failed("no")) });
/// assert!(hello.run(&StepContext::new()).await.is_ok());
/// assert!(fails.run(&StepContext::new()).await.is_err());
/// # }
/// ```
pub fn step<F, Fut>(name: impl Into<String>, f: F) -> FnStep<F>
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), StepError>> + Send,
{
    let name = name.into();
    FnStep { name, f }
}

// A plan prints as its steps' names (`Sequence` and `Parallel` derive `Debug` through this).
impl fmt::Debug for dyn Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Step({:?})", self.name())
    }
}

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
//! # The two shapes, side by side
//! The classic sync shape on the left, the async shape on the right, both compiled (in
//! `shapes/`, with a test that they behave alike); what async changed is marked.
//!
#![doc = include_str!("shapes/side_by_side.html")]
//!
//! **What changed:** `run` became an `async fn` under `#[async_trait]` and each call got an
//! `.await`; the tree gained the one node only async makes cheap, `Parallel` (`join_all`). And
//! the trait gained `Send + Sync`, so the leaves' shared log went from `Rc<RefCell<..>>` to
//! `Arc<Mutex<..>>`: a plan is awaited in tasks that tokio moves between worker threads at an
//! `.await`, so `#[async_trait]` makes `run`'s future `Send`; that future holds `&self`, which
//! is `Send` only if the step is `Sync`, and a `Box<dyn Step>` moves into a task only if the
//! step is `Send`. The sync shape runs on the thread that calls it and needs neither.
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
//! The real [`Step::run`] also takes `cx: &`[`StepContext`]: the step's path and the plan's
//! trace travel down the nesting with the call. [`Parallel`] is concurrency on one task (its
//! children are futures polled together, no threads), and with it come:
//!
//! * **Failure policies.** The shape's `join_all` waits for every child; the real [`Parallel`]
//!   fails fast by default: the first failure returns and cancels the running siblings. With
//!   [`Parallel::collect_all`], every child finishes and every error is kept
//!   ([`StepError::Several`]).
//! * **Timeouts.** [`StepExt::with_timeout`] wraps any step, composites included.
//! * **A trace, and spans.** [`run_traced`] returns a [`Trace`] of when each step ran;
//!   [`Trace::timeline`] draws it, so overlap is seen. Times come from tokio's clock, so a test
//!   on the paused clock can assert them exactly. Each step is also a `tracing` span named by
//!   its path, for any subscriber (`trace.rs` says why both, and what a span costs).
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
//! # What it looks like
//! The morning of `tests/pipeline_plan`, drawn from its steps' spans on the paused clock
//! (`tests/pictures`): 210 ms, its critical path (connect the speaker, 80 ms, then its volume and
//! news, 10 + 120 ms), not the 410 ms of one by one. A diamond marks the child each parallel
//! waited for last (hover it): the speaker, twice.
//!
#![doc = include_str!("pictures/critical_path.svg")]
//!
//! # What it costs
//! Per step: one boxed future, its path, a span pushed under a short lock, a `tracing` span
//! (disabled when nobody listens), a `catch_unwind` frame; small next to any I/O (figures in
//! `trace.rs`). [`Parallel`] polls its children on the task that awaits it: CPU-heavy steps
//! belong in [`crate::basics::blocking::to_thread`].
//!
//! # Cancellation
//! Dropping a plan's future drops every step running under it, and nothing keeps running (the
//! composites spawn nothing). A sequence stops at its first error: its later steps never
//! start (they have no span in the trace). A fail-fast parallel returns at its first failure
//! and drops its running siblings: each stops at its current `.await`, its destructors run (a
//! `JoinSet` it owns aborts its tasks), and its span reads [`StepOutcome::Cancelled`]. A
//! collect-all parallel cancels nothing. A timeout drops everything under it (`timeout.rs`).
//!
//! # Reading it
//! From [`run_traced`] down to your [`Step::run`], the path is this file, in order:
//! [`run_traced`], [`run_child`] (the one place a step is called), then the two composites,
//! [`Sequence`] and [`Parallel`], which call [`run_child`] for each child. Beside it: the
//! context a step is given (`context.rs`), the trace it records (`trace.rs`), its errors
//! (`errors.rs`), paths and the depth limit (`path.rs`), timeouts (`timeout.rs`), closures as
//! steps (`closures.rs`).

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;

use async_trait::async_trait;
use futures::{FutureExt, StreamExt, stream::FuturesUnordered};
use tracing::Instrument;

use crate::support::catch_panic;

mod closures;
mod context;
mod errors;
mod path;
#[cfg(test)]
mod shapes;
mod timeout;
mod trace;

pub use closures::FnStep;
pub use context::StepContext;
pub use errors::StepError;
pub use path::MAX_DEPTH;
pub use timeout::{StepExt, Timeout};
#[allow(deprecated)]
pub use trace::Outcome;
pub use trace::{Span, StepOutcome, Trace};

/// A boxed error that can cross threads: the cause a failed step carries.
pub use crate::http::BoxError;

/// Something that can run as part of a plan: a leaf, or a composite of steps.
///
/// One async method and a name. Implement it for your own types, or turn a closure into a step
/// with [`step`]. The context tells the step where it is; leaves usually ignore it, composites
/// pass a child context down with [`run_child`].
///
/// ```
/// use async_patterns::async_trait;
/// use async_patterns::pipeline::plan::{Step, StepContext, StepError};
///
/// struct Light { name: String, reachable: bool }
///
/// #[async_trait]
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

// Shared, boxed and borrowed steps are steps too, so a plan can hold an `Arc<dyn Step>` it
// shares with other plans, a `Box<dyn Step>`, or a `&step` that outlives it. Each impl only
// forwards to the step it points to; `?Sized` lets that step be a `dyn Step`.
#[async_trait]
impl<T: Step + ?Sized> Step for Arc<T> {
    fn name(&self) -> &str {
        (**self).name()
    }
    async fn run(&self, cx: &StepContext) -> Result<(), StepError> {
        (**self).run(cx).await
    }
}

#[async_trait]
impl<T: Step + ?Sized> Step for Box<T> {
    fn name(&self) -> &str {
        (**self).name()
    }
    async fn run(&self, cx: &StepContext) -> Result<(), StepError> {
        (**self).run(cx).await
    }
}

#[async_trait]
impl<T: Step + ?Sized> Step for &T {
    fn name(&self) -> &str {
        (**self).name()
    }
    async fn run(&self, cx: &StepContext) -> Result<(), StepError> {
        (**self).run(cx).await
    }
}

/// A step behind a box, the element type of [`sequence`] and [`parallel`].
pub type BoxStep = Box<dyn Step>;

/// Run a whole plan from its root and return its result with the [`Trace`] of every step.
///
/// Paths start at the root's name. Dropping the returned future cancels the plan; nothing it
/// started keeps running (the composites spawn nothing).
pub async fn run_traced(root: &dyn Step) -> (Result<(), StepError>, Trace) {
    // A fresh context: no path yet, an empty trace, the plan's clock starting now.
    let cx = StepContext::new();
    let result = run_child(root, &cx).await;
    (result, cx.trace())
}

/// Run `child` as a child of the step that owns `parent`: record its span, catch its panic,
/// and give its error the child's path. Composites (yours too) call this for every child; it
/// is also where depth is counted, and a child deeper than [`MAX_DEPTH`] refused.
pub async fn run_child(child: &dyn Step, parent: &StepContext) -> Result<(), StepError> {
    // Refused before it starts (no span): one more level could overflow the task's stack.
    if parent.child_depth() > MAX_DEPTH {
        let (path, max) = (parent.child_path(child.name()), MAX_DEPTH);
        return Err(StepError::TooDeep { path, max });
    }
    // The child's context, one level deeper, its span opened in the trace.
    let cx = parent.child(child.name());
    // Closes that span; if this future is dropped first, as cancelled.
    let mut guard = trace::SpanGuard::new(&cx);
    // The same step as a `tracing` span (DEBUG), its fields evaluated only if someone listens.
    let span = tracing::debug_span!("step", path = cx.path(), outcome = tracing::field::Empty);
    // Your step runs here, in its span, called inside the caught future: a hand-written `run`
    // may panic before it returns its future, and that is this step's error too.
    let mut run = pin!(catch_panic(async { child.run(&cx).await }).instrument(span));
    let result = match run.as_mut().await {
        Ok(result) => result,
        Err(message) => {
            let panicked = || tracing::debug!(panic = %message, "panicked");
            run.span().in_scope(panicked);
            let path = String::new();
            Err(StepError::Panicked { path, message })
        }
    }
    // The path's text is built only here, on failure.
    .map_err(|e| e.at(cx.path()));
    let outcome = StepOutcome::of(&result, || cx.path());
    guard.close(outcome);
    // Nobody listening: no lookup of the field. (Dropped before here: no outcome, cancelled.)
    if !run.span().is_disabled() {
        run.span().record("outcome", outcome.bar().word());
    }
    result
}

/// Children run one after another; the first failure stops the sequence. Made by [`sequence`].
#[derive(Debug)]
pub struct Sequence {
    name: String,
    steps: Vec<BoxStep>,
}

#[async_trait]
impl Step for Sequence {
    fn name(&self) -> &str {
        &self.name
    }

    async fn run(&self, cx: &StepContext) -> Result<(), StepError> {
        // `?` returns at the first error: the later children never start.
        for step in &self.steps {
            run_child(step.as_ref(), cx).await?;
        }
        Ok(())
    }
}

/// Children run concurrently on the awaiting task; see [`OnFailure`] for what a failure does.
/// Made by [`parallel`].
#[derive(Debug)]
pub struct Parallel {
    name: String,
    steps: Vec<BoxStep>,
    on_failure: OnFailure,
}

/// What a [`Parallel`] does when a child fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnFailure {
    /// Return the first error at once and cancel the siblings still running (the default).
    #[default]
    FailFast,
    /// Let every child finish, then return every error ([`StepError::Several`] if more than
    /// one, in the children's order).
    CollectAll,
}

#[async_trait]
impl Step for Parallel {
    fn name(&self) -> &str {
        &self.name
    }

    async fn run(&self, cx: &StepContext) -> Result<(), StepError> {
        // `FuturesUnordered` rather than `join_all`: it yields each child as it ends, so a
        // failure is seen the moment it happens, not when the slowest sibling is done.
        let children = self.steps.iter().enumerate();
        let mut running: FuturesUnordered<_> = children
            .map(|(i, step)| run_child(step.as_ref(), cx).map(move |result| (i, result)))
            .collect();
        let (mut errors, mut last) = (Vec::new(), None);
        while let Some((i, result)) = running.next().await {
            last = self.steps.get(i);
            if let Err(error) = result {
                if self.on_failure == OnFailure::FailFast {
                    // Returning drops `running`: every sibling still pending is cancelled at
                    // its current `.await`, and its span is marked cancelled.
                    tracing::debug!("failing fast: the rest cancelled");
                    return Err(error);
                }
                errors.push((i, error));
            }
        }
        // The child that ended last is on the plan's critical path: an instant worth marking.
        if let Some(last) = last {
            tracing::debug!("{} ended last: the critical path", last.name());
        }
        // In the children's order, not the order they failed in: the same plan reports the
        // same list however the timings fall.
        errors.sort_by_key(|(i, _)| *i);
        let mut errors: Vec<StepError> = errors.into_iter().map(|(_, e)| e).collect();
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(StepError::Several(errors)),
        }
    }
}

impl Parallel {
    /// Let every child finish and collect every error, instead of failing fast.
    pub fn collect_all(mut self) -> Self {
        self.on_failure = OnFailure::CollectAll;
        self
    }

    /// What this composite does when a child fails.
    pub fn on_failure(&self) -> OnFailure {
        self.on_failure
    }
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

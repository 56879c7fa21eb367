//! Plans: steps run in sequence or concurrently, nested to any depth, with a trace.
//!
//! # The concept
//! A program is often a *shape* of calls: do this, then that; meanwhile do those three at
//! once; inside each of them, do these in order. The composite pattern makes that shape a value:
//! a [`Step`] is anything that can run, and [`sequence`] and [`parallel`] are steps made of
//! steps, so they nest freely.
//!
//! # The classic sync shape
//! ```text
//! trait Step { fn name(&self) -> &str; fn run(&self) -> Result<(), StepError>; }
//! struct Sequence { steps: Vec<Box<dyn Step>> }
//! impl Step for Sequence {
//!     fn run(&self) -> Result<(), StepError> { for s in &self.steps { s.run()?; } Ok(()) }
//! }
//! ```
//! Without threads, a sync "parallel" composite can only be a sequence in disguise.
//!
//! # The async shape
//! ```text
//! #[async_trait] trait Step { fn name(&self) -> &str; async fn run(&self, cx: &StepContext) -> Result<(), StepError>; }
//! impl Step for Sequence { async fn run(..) { for s in &self.steps { s.run(cx).await?; } Ok(()) } }
//! impl Step for Parallel { async fn run(..) { try_join_all(self.steps.iter().map(|s| s.run(cx))).await } }
//! ```
//!
//! # What changed, and what async adds
//! The shape did not change: `run` became `async`, each call got an `.await`. One argument was
//! added, `cx: &`[`StepContext`]: the step's path and the shared trace travel down the nesting
//! with the call, instead of living in global state. What async adds
//! is that [`Parallel`] is now real concurrency on one task (its children are futures polled
//! together, no threads), and with it three things a sync composite cannot offer cheaply:
//!
//! * **Cancellation.** In fail-fast mode (the default), the first failure in a [`Parallel`]
//!   drops the futures of its running siblings: they stop at their current `.await` and their
//!   destructors run. [`Parallel::collect_all`] instead lets every child finish and gathers every
//!   error into [`StepError::Several`]. A failure in a [`Sequence`] stops it: later children
//!   never start.
//! * **Timeouts.** [`StepExt::with_timeout`] wraps any step, composites included; when the time is
//!   up, the step's future (and everything under it) is dropped.
//! * **A trace.** The composites record when each step started and ended relative to the plan's
//!   start ([`run_traced`] returns a [`Trace`]); [`Trace::timeline`] draws it, one bar per step,
//!   so overlap is visible. Times come from [`tokio::time::Instant`], so on tokio's paused clock
//!   a test can assert them exactly.
//!
//! Every error names the step that failed by its path in the nesting, `morning/lights/hue`, and
//! a panic inside a step becomes [`StepError::Panicked`] for that step instead of unwinding
//! through the plan (the panic hook still prints the panic to stderr, as for any panic).
//!
//! Leaf steps are usually closures: [`step`] turns `|| async { .. }` (or a no-capture
//! `async || { .. }`) into a named [`Step`].
//!
//! ```
//! use std::time::Duration;
//! use async_patterns::pipeline::plan::{parallel, run_traced, sequence, step, StepExt};
//! use tokio::time::sleep;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
//! let wait = |name: &str, ms: u64| step(name, move || async move {
//!     sleep(Duration::from_millis(ms)).await;
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
//! # Cost
//! Each step run costs a boxed future (`async_trait`), its path string, a span pushed to the
//! trace under a `std::sync::Mutex` held for a few instructions (never across an `.await`),
//! and a `catch_unwind` frame: small next to any step that does I/O. `#[async_trait]` (one
//! boxed future per call) is what makes `Box<dyn Step>` and `MockStep` possible; a native
//! `async fn` in the trait would save the box but could not be stored as `dyn Step`, and a
//! plan is exactly a list of different step types.
//! [`Parallel`] polls its children on the one task that awaits it: concurrency, not parallelism.
//! CPU-heavy steps should hand their work to [`crate::basics::blocking::to_thread`].

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use futures::{FutureExt, StreamExt, stream::FuturesUnordered};
use tokio::time::Instant;

use crate::http::BoxError;
use crate::support::catch_panic;
use crate::timing::{self, Bar};

/// Why a step, or a composite of steps, did not complete.
///
/// Every variant carries the failed step's `path`: the names from the plan's root down to it,
/// joined by `/` (`morning/lights/hue`). A leaf step creates its error with an empty path
/// ([`StepError::failed`]); the composite that ran it fills the path in.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StepError {
    /// The step returned an error.
    #[error("step {path:?} failed: {source}")]
    Failed {
        /// Where the step sits in the plan.
        path: String,
        /// What the step reported.
        #[source]
        source: BoxError,
    },
    /// The step did not finish within its timeout and was cancelled.
    #[error("step {path:?} timed out after {after:?}")]
    TimedOut {
        /// Where the step sits in the plan.
        path: String,
        /// The timeout that fired.
        after: Duration,
    },
    /// The step panicked; the panic was caught at the step and unwinds no further.
    #[error("step {path:?} panicked: {message}")]
    Panicked {
        /// Where the step sits in the plan.
        path: String,
        /// The panic's message, when it had one.
        message: String,
    },
    /// Several children of a collect-all [`Parallel`] failed; each error names its own step.
    #[error("{} steps failed: {}", .0.len(), list(.0))]
    Several(Vec<StepError>),
}

fn list(errors: &[StepError]) -> String {
    let texts: Vec<String> = errors.iter().map(ToString::to_string).collect();
    texts.join("; ")
}

impl StepError {
    /// A leaf step's failure, with the path left for the plan to fill in.
    ///
    /// Accepts anything that converts to a boxed error: a `&str`, a `String`, or any
    /// `std::error::Error + Send + Sync`.
    pub fn failed(reason: impl Into<BoxError>) -> Self {
        StepError::Failed {
            path: String::new(),
            source: reason.into(),
        }
    }

    /// The path of the failed step; `None` for [`StepError::Several`], which has one per error.
    pub fn path(&self) -> Option<&str> {
        match self {
            StepError::Failed { path, .. }
            | StepError::TimedOut { path, .. }
            | StepError::Panicked { path, .. } => Some(path),
            StepError::Several(_) => None,
        }
    }

    /// The single errors inside: itself, or every error of a [`StepError::Several`], flattened.
    pub fn leaves(&self) -> Vec<&StepError> {
        match self {
            StepError::Several(errors) => errors.iter().flat_map(StepError::leaves).collect(),
            single => vec![single],
        }
    }

    /// Give an error that has no path yet (a leaf's) the path of the step that returned it.
    fn at(mut self, at: &str) -> Self {
        match &mut self {
            StepError::Failed { path, .. }
            | StepError::TimedOut { path, .. }
            | StepError::Panicked { path, .. } => {
                if path.is_empty() {
                    at.clone_into(path);
                }
            }
            StepError::Several(errors) => {
                let errors = std::mem::take(errors);
                return StepError::Several(errors.into_iter().map(|e| e.at(at)).collect());
            }
        }
        self
    }
}

/// How a step's run ended, as recorded in the [`Trace`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
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

impl Outcome {
    /// The outcome of the step at `path`: a timeout or panic counts as its own only when the
    /// error is its own; when a descendant's, the step simply failed.
    fn of(result: &Result<(), StepError>, path: &str) -> Self {
        match result {
            Ok(()) => Outcome::Ok,
            Err(e) if e.path() != Some(path) => Outcome::Failed,
            Err(StepError::TimedOut { .. }) => Outcome::TimedOut,
            Err(StepError::Panicked { .. }) => Outcome::Panicked,
            Err(_) => Outcome::Failed,
        }
    }

    fn mark(self) -> char {
        match self {
            Outcome::Ok => '#',
            Outcome::Failed => 'x',
            Outcome::TimedOut => 't',
            Outcome::Panicked => '!',
            Outcome::Cancelled => '-',
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::TimedOut => "timed out",
            Outcome::Panicked => "panicked",
            Outcome::Cancelled => "cancelled",
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
    pub outcome: Outcome,
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

    /// Sum of the leaf steps' durations: what running them one by one would take.
    pub fn one_by_one(&self) -> Duration {
        // In tree order a span is a leaf when the next span is not nested under it. (Comparing
        // paths would miscount a leaf that shares its name with a sibling composite.)
        let next_depths = self.spans.iter().skip(1).map(|s| Some(s.depth));
        self.spans
            .iter()
            .zip(next_depths.chain([None]))
            .filter(|(span, next)| next.is_none_or(|d| d <= span.depth))
            .fold(Duration::ZERO, |sum, (span, _)| {
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

#[derive(Debug)]
struct Open {
    path: String,
    parent: Option<usize>,
    depth: usize,
    start: Duration,
    end: Option<(Duration, Outcome)>,
}

/// What a running step knows about its place in the plan: its path and the shared trace.
///
/// Composites hand each child a context one level deeper; leaves may ignore theirs, or read
/// [`StepContext::path`] and [`StepContext::elapsed`] for logging.
#[derive(Debug, Clone)]
pub struct StepContext {
    path: String,
    depth: usize,
    /// This step's span in the trace, once opened.
    span: Option<usize>,
    /// The span of the step that runs this one.
    parent: Option<usize>,
    origin: Instant,
    spans: Arc<Mutex<Vec<Open>>>,
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
            path: String::new(),
            depth: 0,
            span: None,
            parent: None,
            origin: Instant::now(),
            spans: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// The path of the step this context was made for (empty at the top).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Time since the plan started (tokio's clock, so it can be paused in tests).
    pub fn elapsed(&self) -> Duration {
        self.origin.elapsed()
    }

    /// The trace recorded so far: finished steps, and running ones as if they ended now.
    pub fn trace(&self) -> Trace {
        let now = self.elapsed();
        let open = self.lock();
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
                let (end, outcome) = o.end.unwrap_or((now, Outcome::Cancelled));
                spans.push(Span {
                    path: o.path.clone(),
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

    /// The context for a child named `name`.
    fn child(&self, name: &str) -> StepContext {
        // A context with no span of its own is the top, above the root step (a root named ""
        // is still a level of its own: its children are "/a", depth 1).
        let (path, depth) = match self.span {
            None => (name.to_owned(), 0),
            Some(_) => (format!("{}/{name}", self.path), self.depth + 1),
        };
        StepContext {
            path,
            depth,
            span: None,
            parent: self.span,
            origin: self.origin,
            spans: Arc::clone(&self.spans),
        }
    }

    // A poisoned lock only means another step panicked while pushing a span; the data is fine.
    fn lock(&self) -> MutexGuard<'_, Vec<Open>> {
        self.spans.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Record this step's start, returning its span's index for a [`SpanGuard`].
    fn open(&mut self) -> usize {
        let index = {
            let mut spans = self.lock();
            spans.push(Open {
                path: self.path.clone(),
                parent: self.parent,
                depth: self.depth,
                start: self.elapsed(),
                end: None,
            });
            spans.len() - 1
        };
        self.span = Some(index);
        index
    }
}

/// Closes a span when the step ends; if the step's future is dropped first, marks it cancelled.
struct SpanGuard<'a> {
    cx: &'a StepContext,
    index: usize,
    closed: bool,
}

impl SpanGuard<'_> {
    fn close(&mut self, outcome: Outcome) {
        let now = self.cx.elapsed();
        if let Some(open) = self.cx.lock().get_mut(self.index) {
            open.end = Some((now, outcome));
        }
        self.closed = true;
    }
}

impl Drop for SpanGuard<'_> {
    fn drop(&mut self) {
        if !self.closed {
            self.close(Outcome::Cancelled);
        }
    }
}

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

/// A step behind a box, the element type of [`sequence`] and [`parallel`].
pub type BoxStep = Box<dyn Step>;

// Boxed, shared and borrowed steps are steps, so plans can hold any of them.
crate::support::forward!(Arc, Box, Ref => [] Step {
    fn name(&self) -> &str;
    async fn run(&self, cx: &StepContext) -> Result<(), StepError>;
});

/// Run `child` as a child of the step that owns `parent`: record its span, catch its panic,
/// and give its error the child's path. Composites (yours too) call this for every child.
pub async fn run_child(child: &dyn Step, parent: &StepContext) -> Result<(), StepError> {
    let mut cx = parent.child(child.name());
    let index = cx.open();
    let mut span = SpanGuard {
        cx: &cx,
        index,
        closed: false,
    };
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
    .map_err(|e| e.at(cx.path()));
    span.close(Outcome::of(&result, cx.path()));
    result
}

/// Run a whole plan from its root and return its result with the [`Trace`] of every step.
///
/// Paths start at the root's name. Dropping the returned future cancels the plan; nothing it
/// started keeps running (the composites spawn nothing).
pub async fn run_traced(root: &dyn Step) -> (Result<(), StepError>, Trace) {
    let cx = StepContext::new();
    let result = run_child(root, &cx).await;
    (result, cx.trace())
}

/// Children run one after another; the first failure stops the sequence.
#[derive(Debug)]
pub struct Sequence {
    name: String,
    steps: Vec<BoxStep>,
}

/// A [`Sequence`] named `name` of `steps`.
pub fn sequence(name: impl Into<String>, steps: Vec<BoxStep>) -> Sequence {
    Sequence {
        name: name.into(),
        steps,
    }
}

#[async_trait]
impl Step for Sequence {
    fn name(&self) -> &str {
        &self.name
    }

    async fn run(&self, cx: &StepContext) -> Result<(), StepError> {
        for step in &self.steps {
            run_child(step.as_ref(), cx).await?;
        }
        Ok(())
    }
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

/// Children run concurrently on the awaiting task; see [`OnFailure`] for what a failure does.
#[derive(Debug)]
pub struct Parallel {
    name: String,
    steps: Vec<BoxStep>,
    on_failure: OnFailure,
}

/// A fail-fast [`Parallel`] named `name` of `steps`.
pub fn parallel(name: impl Into<String>, steps: Vec<BoxStep>) -> Parallel {
    Parallel {
        name: name.into(),
        steps,
        on_failure: OnFailure::FailFast,
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

#[async_trait]
impl Step for Parallel {
    fn name(&self) -> &str {
        &self.name
    }

    async fn run(&self, cx: &StepContext) -> Result<(), StepError> {
        let mut running: FuturesUnordered<_> = self
            .steps
            .iter()
            .enumerate()
            .map(|(i, step)| run_child(step.as_ref(), cx).map(move |result| (i, result)))
            .collect();
        let mut errors = Vec::new();
        while let Some((i, result)) = running.next().await {
            if let Err(error) = result {
                if self.on_failure == OnFailure::FailFast {
                    // Returning drops `running`: every sibling still pending is cancelled at
                    // its current `.await`, and its span is marked cancelled.
                    return Err(error);
                }
                errors.push((i, error));
            }
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

/// A step that fails with [`StepError::TimedOut`] if its inner step runs longer than `after`.
#[derive(Debug)]
pub struct Timeout<S> {
    inner: S,
    after: Duration,
}

#[async_trait]
impl<S: Step> Step for Timeout<S> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn run(&self, cx: &StepContext) -> Result<(), StepError> {
        match tokio::time::timeout(self.after, self.inner.run(cx)).await {
            Ok(result) => result,
            // The inner future was dropped by `timeout`: its work stops, its children's spans
            // are marked cancelled.
            Err(_) => Err(StepError::TimedOut {
                path: String::new(),
                after: self.after,
            }),
        }
    }
}

/// A named step made from a closure that returns a future: see [`step`].
pub struct FnStep<F> {
    name: String,
    f: F,
}

impl<F> fmt::Debug for FnStep<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnStep").field("name", &self.name).finish()
    }
}

/// A step named `name` that runs `f().await`.
///
/// `f` is `Fn() -> impl Future + Send`: an `async move` block returned by a closure
/// (`move || async move { .. }`), or an async closure `async || { .. }` whose future does not
/// borrow from the closure (no captures, or only ones it clones). `AsyncFn` bounds are not
/// used because their futures cannot be required to be `Send`, and plans run on multi-thread
/// runtimes.
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
    FnStep {
        name: name.into(),
        f,
    }
}

#[async_trait]
impl<F, Fut> Step for FnStep<F>
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), StepError>> + Send,
{
    fn name(&self) -> &str {
        &self.name
    }

    async fn run(&self, _cx: &StepContext) -> Result<(), StepError> {
        (self.f)().await
    }
}

/// Conveniences for every step.
pub trait StepExt: Step + Sized {
    /// Fail with [`StepError::TimedOut`] (and cancel the step) if it runs longer than `after`.
    fn with_timeout(self, after: Duration) -> Timeout<Self> {
        Timeout { inner: self, after }
    }

    /// Box the step, for the `Vec<BoxStep>` of [`sequence`] and [`parallel`].
    fn boxed(self) -> BoxStep
    where
        Self: 'static,
    {
        Box::new(self)
    }
}

impl<S: Step + Sized> StepExt for S {}

impl fmt::Debug for dyn Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Step({:?})", self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn wait(name: &str, n: u64) -> BoxStep {
        step(name, move || async move {
            tokio::time::sleep(ms(n)).await;
            Ok(())
        })
        .boxed()
    }

    #[tokio::test(start_paused = true)]
    async fn a_timeout_around_a_composite_cancels_its_children() {
        let plan = sequence(
            "root",
            vec![
                parallel("both", vec![wait("a", 50), wait("b", 500)])
                    .with_timeout(ms(100))
                    .boxed(),
            ],
        );
        let (result, trace) = run_traced(&plan).await;
        let err = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(err, "step \"root/both\" timed out after 100ms");
        let b = trace.span("root/both/b").map(|s| (s.end, s.outcome));
        assert_eq!(b, Some((ms(100), Outcome::Cancelled)));
        let a = trace.span("root/both/a").map(|s| (s.end, s.outcome));
        assert_eq!(a, Some((ms(50), Outcome::Ok)));
    }

    #[test]
    fn errors_get_their_path_once() {
        let e = StepError::failed("x").at("a/b").at("a");
        assert_eq!(e.path(), Some("a/b"));
        let several = StepError::Several(vec![StepError::failed("x"), StepError::failed("y")]);
        let several = several.at("p");
        assert!(several.leaves().iter().all(|e| e.path() == Some("p")));
        assert_eq!(
            several.to_string(),
            "2 steps failed: step \"p\" failed: x; step \"p\" failed: y"
        );
    }

    #[test]
    fn every_bar_has_the_same_width_and_at_least_one_mark() {
        let span = |path: &str, start, end| Span {
            path: path.to_owned(),
            depth: 0,
            start: ms(start),
            end: ms(end),
            outcome: Outcome::Ok,
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

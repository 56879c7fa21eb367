//! Pipelines: nested plans of steps, and streaming stages with bounded concurrency.
//!
//! Two shapes of "do these things, some in order, some at once":
//!
//! * [`plan`]: a fixed *program* as a tree of [`Step`]s. [`sequence`] runs its children one
//!   after another, [`parallel`] runs them concurrently, and both are steps, so they nest to any
//!   depth. Failures carry the failed step's path (`morning/lights/hue`), timeouts and panics are
//!   errors of their step, and [`run_traced`] returns a [`Trace`] that draws as a timeline.
//! * [`stream`]: a flow of *data* through a chain of [`Stage`]s, each with its own concurrency
//!   limit and ordering, with bounded buffers between them so memory stays bounded however long
//!   the input.
//!
//! The composite pattern and the pipes-and-filters pattern keep their sync shape; `run` and
//! `process` became `async`, and that is what buys concurrency, timeouts and cancellation.
//!
//! Examples: `cargo run --release --example pipeline_plan` (the smart-home morning, with its
//! timeline) and `cargo run --release --example pipeline_stream` (fetch, parse, summarise pages
//! from the loopback server).

pub mod plan;
pub mod stream;

pub use plan::{
    BoxStep, OnFailure, Outcome, Parallel, Sequence, Span, Step, StepContext, StepError, StepExt,
    Trace, parallel, run_child, run_traced, sequence, step,
};
pub use stream::{ErrorPolicy, FnStage, Pipeline, PipelineStream, Stage, StageError, StageOptions};

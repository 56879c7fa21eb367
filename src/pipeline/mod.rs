//! Pipelines: nested plans of steps, and streaming stages with bounded concurrency.
//!
//! Two shapes of "do these things, some in order, some at once":
//!
//! * [`plan`]: a fixed *program* as a tree of [`Step`]s. It starts from the earlier IoT talk's
//!   `run_sequence(*steps)` (that is [`basics::gather::one_by_one`]) and `run_parallel(*steps)`
//!   (that is `join_all`, [`basics::gather::all_at_once`]), nested into a tree: [`sequence`] runs
//!   its children one after another, [`parallel`] runs them concurrently, and both are steps, so
//!   they nest to any depth. Failures carry the failed step's path (`morning/lights/hue`),
//!   timeouts and panics are errors of their step, and [`run_traced`] returns a [`Trace`] that
//!   draws as a timeline.
//! * [`stream`]: a flow of *data* through a chain of [`Stage`]s, each with its own concurrency
//!   limit and ordering, with bounded buffers between them so memory stays bounded however long
//!   the input.
//!
//! # What async changes here
//! The classic patterns of the other modules keep their shape: a trait, implementations, a
//! context, with `async` and `.await` added. At the level of the *architecture* it is the other
//! way round, as the IoT talk says: async changes the data structure. A sync program is a list
//! of steps run in order; an async one is a **tree of sequences and parallels**, because "these
//! at once" became a node of its own, as cheap to write as "these in order". The Composite
//! pattern that holds the tree, and the pipes-and-filters pattern of [`stream`], keep their
//! shapes; what they hold is new.
//!
//! Examples: `cargo run --release --example pipeline_plan` (the smart-home morning, with its
//! timeline) and `cargo run --release --example pipeline_stream` (fetch, parse, summarise pages
//! from the loopback server).
//!
//! [`basics::gather::one_by_one`]: crate::basics::gather::one_by_one
//! [`basics::gather::all_at_once`]: crate::basics::gather::all_at_once

pub mod plan;
pub mod stream;

// Everything a user names, from both halves, at `pipeline::` too: the traits and what
// implementing them takes (`BoxError`), the adapters (`FnStep`, `Timeout`, `FnStage`), the
// errors and the limits.
#[allow(deprecated)]
pub use plan::Outcome;
pub use plan::{
    BoxStep, FnStep, MAX_DEPTH, OnFailure, Parallel, Sequence, Span, Step, StepContext, StepError,
    StepExt, StepOutcome, Timeout, Trace, parallel, run_child, run_traced, sequence, step,
};
pub use stream::{
    ErrorPolicy, FnStage, MAX_BUFFER, MAX_CONCURRENCY, MAX_STAGES, Pipeline, PipelineStream, Stage,
    StageError, StageOptions,
};

/// A boxed error that can cross threads: what a [`Stage`] returns, and what a failed [`Step`]
/// carries.
pub use crate::http::BoxError;

//! Pipelines: nested plans of steps, and streaming stages with bounded concurrency.
pub mod plan;

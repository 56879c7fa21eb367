//! Pipelines: nested plans and streaming stages (in progress).

//! Why an item did not come out of the pipeline: [`StageError`].

use std::time::Duration;

use crate::http::BoxError;

/// Why one item did not come out of the pipeline. Every variant names the stage and the input
/// index (0-based position in the input) of the item.
///
/// A stage returns `Result`; a failed item becomes a `StageError`, so a report says which input
/// failed where, whatever order the outputs came out in. A panic inside a stage becomes
/// [`StageError::Panicked`] for that item only. What the output stream does next is the
/// pipeline's [`ErrorPolicy`](super::ErrorPolicy): stop at the first error, or yield each error
/// in its item's place and go on.
///
/// Two errors are the pipeline's rather than one stage's, and nothing comes after them but the
/// items already in flight: [`StageError::SourcePanicked`] (the source is not polled again)
/// and [`StageError::TooManyStages`] (nothing ran).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StageError {
    /// The stage returned an error for this item.
    #[error("stage {stage:?} failed on input #{index}: {source}")]
    Failed {
        /// The stage's name.
        stage: String,
        /// The item's position in the input.
        index: usize,
        /// What the stage reported.
        #[source]
        source: BoxError,
    },
    /// The stage panicked on this item; the panic was caught.
    #[error("stage {stage:?} panicked on input #{index}: {message}")]
    Panicked {
        /// The stage's name.
        stage: String,
        /// The item's position in the input.
        index: usize,
        /// The panic's message, when it had one.
        message: String,
    },
    /// The task running this item (a [`StageOptions::spawned`](super::StageOptions::spawned)
    /// stage) was cancelled from outside the pipeline, for example by its runtime shutting down.
    #[error("the task running stage {stage:?} on input #{index} was cancelled")]
    Cancelled {
        /// The stage's name.
        stage: String,
        /// The item's position in the input.
        index: usize,
    },
    /// The item was still in the stage after its
    /// [`StageOptions::timeout`](super::StageOptions::timeout), and was cancelled.
    #[error("stage {stage:?} timed out on input #{index} after {after:?}")]
    TimedOut {
        /// The stage's name.
        stage: String,
        /// The item's position in the input.
        index: usize,
        /// The timeout it exceeded.
        after: Duration,
    },
    /// The source (the pipeline's iterator or stream) panicked while producing this input. It
    /// is not polled again, so the pipeline ends after the items already in flight. Its
    /// [`stage`](StageError::stage) is `"source"`.
    #[error("the source panicked producing input #{index}: {message}")]
    SourcePanicked {
        /// The position the input would have had.
        index: usize,
        /// The panic's message, when it had one.
        message: String,
    },
    /// The pipeline already had [`MAX_STAGES`](super::MAX_STAGES) stages when this one was
    /// chained: it was refused, and the output is this one error (index 0), with nothing run.
    #[error(
        "stage {stage:?} was refused: a pipeline has at most {max} stages, so no input went through"
    )]
    TooManyStages {
        /// The refused stage's name (the first one past the maximum).
        stage: String,
        /// The maximum, [`MAX_STAGES`](super::MAX_STAGES).
        max: usize,
    },
}

impl StageError {
    /// The name of the stage that failed (`"source"` for [`StageError::SourcePanicked`]).
    pub fn stage(&self) -> &str {
        self.place().0
    }

    /// The input index of the item that failed (0 for [`StageError::TooManyStages`]).
    pub fn index(&self) -> usize {
        self.place().1
    }

    /// Where the item failed: the stage's name and the item's input index.
    fn place(&self) -> (&str, usize) {
        match self {
            StageError::Failed { stage, index, .. }
            | StageError::Panicked { stage, index, .. }
            | StageError::Cancelled { stage, index }
            | StageError::TimedOut { stage, index, .. } => (stage, *index),
            StageError::SourcePanicked { index, .. } => ("source", *index),
            StageError::TooManyStages { stage, .. } => (stage, 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_says_its_stage_and_input() {
        let cancelled = StageError::Cancelled {
            stage: "fetch".to_owned(),
            index: 3,
        };
        assert_eq!((cancelled.stage(), cancelled.index()), ("fetch", 3));
        let failed = StageError::Failed {
            stage: "parse".to_owned(),
            index: 7,
            source: "not a number".into(),
        };
        assert_eq!(
            failed.to_string(),
            "stage \"parse\" failed on input #7: not a number"
        );
    }
}

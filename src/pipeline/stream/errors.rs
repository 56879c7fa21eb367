//! Why an item did not come out of the pipeline: [`StageError`].

use crate::http::BoxError;

/// Why one item did not come out of the pipeline. Every variant names the stage and the input
/// index (0-based position in the input) of the item.
///
/// A stage returns `Result`; a failed item becomes a `StageError`, so a report says which input
/// failed where, whatever order the outputs came out in. A panic inside a stage becomes
/// [`StageError::Panicked`] for that item only. What the output stream does next is the
/// pipeline's [`ErrorPolicy`](super::ErrorPolicy): stop at the first error, or yield each error
/// in its item's place and go on.
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
}

impl StageError {
    /// The name of the stage that failed.
    pub fn stage(&self) -> &str {
        self.place().0
    }

    /// The input index of the item that failed.
    pub fn index(&self) -> usize {
        self.place().1
    }

    /// Where the item failed: the stage's name and the item's input index.
    fn place(&self) -> (&str, usize) {
        match self {
            StageError::Failed { stage, index, .. }
            | StageError::Panicked { stage, index, .. }
            | StageError::Cancelled { stage, index } => (stage, *index),
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

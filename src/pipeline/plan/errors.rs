//! Why a step did not complete: [`StepError`], with the failed step's path.
//!
//! A leaf knows why it failed but not where it sits in the plan, so it creates its error with an
//! empty path ([`StepError::failed`]); [`run_child`](super::run_child), which knows the path,
//! fills it in on the way out. An error that already has a path (a descendant's) keeps it, so
//! the error a plan returns names the step that failed, not the composite that passed it on.

use std::time::Duration;

use crate::http::BoxError;

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
    /// The step sits deeper than [`MAX_DEPTH`](super::MAX_DEPTH) below its plan's root, and
    /// was not run.
    #[error("step {path:?} was not run: a plan nests at most {max} levels below its root")]
    TooDeep {
        /// Where the step sits in the plan.
        path: String,
        /// The deepest a step may sit, [`MAX_DEPTH`](super::MAX_DEPTH).
        max: usize,
    },
    /// Several children of a collect-all [`Parallel`](super::Parallel) failed; each error names
    /// its own step.
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
            | StepError::Panicked { path, .. }
            | StepError::TooDeep { path, .. } => Some(path),
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
    pub(super) fn at(mut self, at: &str) -> Self {
        match &mut self {
            StepError::Failed { path, .. }
            | StepError::TimedOut { path, .. }
            | StepError::Panicked { path, .. }
            | StepError::TooDeep { path, .. } => {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}

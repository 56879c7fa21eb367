//! The two composites: [`Sequence`] (one child after another) and [`Parallel`] (every child at
//! once on the awaiting task), and what a [`Parallel`] does when a child fails ([`OnFailure`]).
//!
//! Both run each child through [`run_child`], which records its span, catches its panic and
//! gives its error the child's path; a composite of your own should do the same.
//!
//! # Cancellation
//! A failure in a [`Sequence`] returns at once: its later children never start (they have no
//! span in the trace). A fail-fast [`Parallel`] returns at its first failure and drops the
//! futures of the siblings still running: each stops at its current `.await`, its destructors
//! run (a `JoinSet` it owns aborts its tasks), and its span is closed as
//! [`StepOutcome::Cancelled`](super::StepOutcome::Cancelled). A collect-all [`Parallel`]
//! cancels nothing.

use async_trait::async_trait;
use futures::{FutureExt, StreamExt, stream::FuturesUnordered};

use super::{BoxStep, Step, StepContext, StepError, run_child};

/// Children run one after another; the first failure stops the sequence.
#[derive(Debug)]
pub struct Sequence {
    pub(super) name: String,
    pub(super) steps: Vec<BoxStep>,
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
    pub(super) name: String,
    pub(super) steps: Vec<BoxStep>,
    pub(super) on_failure: OnFailure,
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
        // `FuturesUnordered` rather than `join_all`: it yields each child as it ends, so a
        // failure is seen the moment it happens, not when the slowest sibling is done.
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

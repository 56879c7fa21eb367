//! Timeouts, and the conveniences every step gets: [`StepExt`], [`Timeout`].
//!
//! # Cancellation
//! When the time is up, [`tokio::time::timeout`] drops the inner step's future, and with it
//! everything running under it: a timeout around a composite cancels all its children, whose
//! spans are closed as [`StepOutcome::Cancelled`](super::StepOutcome::Cancelled).

use std::time::Duration;

use async_trait::async_trait;

use super::{BoxStep, Step, StepContext, StepError};

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
            // are marked cancelled. The deadline is an instant on this step's span.
            Err(_) => {
                tracing::debug!("deadline: {:?} passed", self.after);
                let (path, after) = (String::new(), self.after);
                Err(StepError::TimedOut { path, after })
            }
        }
    }
}

/// Conveniences for every step.
pub trait StepExt: Step + Sized {
    /// Fail with [`StepError::TimedOut`] (and cancel the step) if it runs longer than `after`.
    fn with_timeout(self, after: Duration) -> Timeout<Self> {
        Timeout { inner: self, after }
    }

    /// Box the step, for the `Vec<BoxStep>` of [`sequence`](super::sequence) and
    /// [`parallel`](super::parallel).
    fn boxed(self) -> BoxStep
    where
        Self: 'static,
    {
        Box::new(self)
    }
}

impl<S: Step + Sized> StepExt for S {}

#[cfg(test)]
mod tests {
    use super::super::{StepOutcome, parallel, run_traced, sequence, step};
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
        assert_eq!(b, Some((ms(100), StepOutcome::Cancelled)));
        let a = trace.span("root/both/a").map(|s| (s.end, s.outcome));
        assert_eq!(a, Some((ms(50), StepOutcome::Ok)));
    }
}

//! The output of a pipeline: [`PipelineStream`], a [`Stream`] of each item's result that
//! applies the pipeline's [`ErrorPolicy`].

use std::fmt;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use futures::stream::{BoxStream, FusedStream, Stream, StreamExt};

use super::{ErrorPolicy, StageError, Tagged};

/// The output of a [`Pipeline`](super::Pipeline): a [`Stream`] of `Result<T, StageError>`.
///
/// With [`ErrorPolicy::StopAtFirst`] it ends right after the first error, dropping (cancelling)
/// the work still in flight. Dropping the stream at any time does the same.
pub struct PipelineStream<T> {
    inner: Option<BoxStream<'static, Tagged<T>>>,
    policy: ErrorPolicy,
}

impl<T> fmt::Debug for PipelineStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineStream")
            .field("finished", &self.inner.is_none())
            .field("policy", &self.policy)
            .finish()
    }
}

impl<T> PipelineStream<T> {
    /// The output of the stages chained in `inner`, applying `policy`.
    pub(super) fn new(inner: BoxStream<'static, Tagged<T>>, policy: ErrorPolicy) -> Self {
        PipelineStream {
            inner: Some(inner),
            policy,
        }
    }

    /// Drain the stream into the outputs and the errors.
    pub async fn partition(mut self) -> (Vec<T>, Vec<StageError>) {
        let mut outputs = Vec::new();
        let mut errors = Vec::new();
        while let Some(item) = self.next().await {
            match item {
                Ok(value) => outputs.push(value),
                Err(error) => errors.push(error),
            }
        }
        (outputs, errors)
    }
}

impl<T> Stream for PipelineStream<T> {
    type Item = Result<T, StageError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        // One unit of tokio's task budget per item: a consumer whose items are all ready at once
        // still yields to the runtime every so often (outside tokio the budget is unlimited).
        let budget = std::task::ready!(tokio::task::coop::poll_proceed(cx));
        let polled = inner.poll_next_unpin(cx);
        if polled.is_ready() {
            budget.made_progress();
        }
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some((_, Ok(value)))) => Poll::Ready(Some(Ok(value))),
            Poll::Ready(Some((_, Err(error)))) => {
                if this.policy == ErrorPolicy::StopAtFirst {
                    // Dropping the stages now cancels every item still in flight.
                    this.inner = None;
                }
                Poll::Ready(Some(Err(error)))
            }
            Poll::Ready(None) => {
                this.inner = None;
                Poll::Ready(None)
            }
        }
    }
}

// Once it has ended (input done, or stopped at an error) it stays ended, so `select!` loops
// can use it without `.fuse()`.
impl<T> FusedStream for PipelineStream<T> {
    fn is_terminated(&self) -> bool {
        self.inner.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::stream::{Pipeline, StageOptions};

    #[tokio::test]
    async fn the_stream_is_terminated_after_its_first_error_when_stopping_at_it() {
        let mut out = Pipeline::from_iter(0..5u8)
            .stage_fn("odd", StageOptions::ordered(1), |x| async move {
                if x == 1 { Err("one") } else { Ok(x) }
            })
            .into_stream();
        assert_eq!(out.next().await.map(|r| r.ok()), Some(Some(0)));
        assert!(!out.is_terminated());
        assert!(matches!(
            out.next().await,
            Some(Err(StageError::Failed { index: 1, .. }))
        ));
        assert!(out.is_terminated());
        assert!(out.next().await.is_none());
    }
}

//! Closures as steps: [`FnStep`], made by [`step`](super::step).
//!
//! `f` is `Fn() -> impl Future + Send`: an `async move` block returned by a closure
//! (`move || async move { .. }`), or an async closure `async || { .. }` whose future does not
//! borrow from the closure (no captures, or only ones it clones). `AsyncFn` bounds are not
//! used because their futures cannot be required to be `Send`, and plans run on multi-thread
//! runtimes.

use std::fmt;
use std::future::Future;

use async_trait::async_trait;

use super::{Step, StepContext, StepError};

/// A named step made from a closure that returns a future: see [`step`](super::step).
pub struct FnStep<F> {
    pub(super) name: String,
    pub(super) f: F,
}

impl<F> fmt::Debug for FnStep<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnStep").field("name", &self.name).finish()
    }
}

#[async_trait]
impl<F, Fut> Step for FnStep<F>
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), StepError>> + Send,
{
    fn name(&self) -> &str {
        &self.name
    }

    async fn run(&self, _cx: &StepContext) -> Result<(), StepError> {
        (self.f)().await
    }
}

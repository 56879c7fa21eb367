//! Closures as stages: [`FnStage`], and [`Pipeline::stage_fn`] that chains one.

use std::fmt;
use std::future::Future;

use async_trait::async_trait;

use super::{Pipeline, Stage, StageOptions};
use crate::http::BoxError;

/// A stage made from a closure `Fn(I) -> impl Future<Output = Result<O, E>>`.
///
/// `|x| async move { .. }` closures work; so do no-capture `async |x| { .. }` closures. The
/// future must be `Send` (it may run on any worker thread), which is why the bound is a plain
/// `Fn` returning a future rather than `AsyncFn`.
///
/// ```
/// use async_patterns::pipeline::stream::{FnStage, Pipeline, StageOptions};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (out, _errors) = Pipeline::from_iter(1..=3u32)
///     .stage("double", StageOptions::ordered(2), FnStage(async |x: u32| Ok::<_, String>(x * 2)))
///     .stage_fn("show", StageOptions::ordered(2), |x| async move { Ok::<_, String>(format!("<{x}>")) })
///     .into_stream()
///     .partition()
///     .await;
/// assert_eq!(out, ["<2>", "<4>", "<6>"]);
/// # }
/// ```
pub struct FnStage<F>(pub F);

impl<F> fmt::Debug for FnStage<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnStage(..)")
    }
}

#[async_trait]
impl<F, Fut, I, O, E> Stage<I, O> for FnStage<F>
where
    F: Fn(I) -> Fut + Send + Sync,
    Fut: Future<Output = Result<O, E>> + Send,
    E: Into<BoxError>,
    I: Send + 'static,
    O: Send + 'static,
{
    async fn process(&self, input: I) -> Result<O, BoxError> {
        (self.0)(input).await.map_err(Into::into)
    }
}

impl<T: Send + 'static> Pipeline<T> {
    /// Chain a stage made from a closure (see [`FnStage`]).
    pub fn stage_fn<O, E, F, Fut>(
        self,
        name: impl Into<String>,
        options: StageOptions,
        f: F,
    ) -> Pipeline<O>
    where
        O: Send + 'static,
        E: Into<BoxError>,
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, E>> + Send + 'static,
    {
        self.stage(name, options, FnStage(f))
    }
}

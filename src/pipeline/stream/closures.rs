//! Closures as stages: [`FnStage`], which [`Pipeline::stage_fn`](super::Pipeline::stage_fn)
//! chains.

use std::fmt;
use std::future::Future;

use async_trait::async_trait;

use super::Stage;
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

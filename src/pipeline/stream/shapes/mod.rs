//! The two shapes of pipes and filters, compiled: [`sync_shape`] and [`async_shape`] are the
//! same stages and the same loop, and `diff` between the files shows `async`, `.await`,
//! `#[async_trait]`, and the bounds the real trait needs (`Send + Sync` on a stage, `Send +
//! 'static` on its items: the module's doc says why). The test runs both, and the real
//! [`Pipeline`](super::Pipeline), on the same inputs and checks that they agree, outputs and
//! errors alike.

mod async_shape;
mod sync_shape;

use futures::StreamExt;

use super::{ErrorPolicy, Pipeline, StageError, StageOptions};

/// Good numbers, a word, an odd number: outputs and errors, in input order.
fn inputs() -> Vec<String> {
    ["8", "x", "7", " 10"].map(String::from).to_vec()
}

#[tokio::test]
async fn the_sync_and_async_shapes_agree() {
    let sync = sync_shape::run(inputs());
    let r#async = async_shape::run(inputs()).await;
    assert_eq!(sync, r#async);
    assert_eq!(
        sync,
        [
            Ok(4),
            Err("not a number: \"x\"".to_owned()),
            Err("7 is odd".to_owned()),
            Ok(5)
        ]
    );
}

// The real pipeline runs the async shape's stages four items at a time, and still gives what
// the one-at-a-time loop gave (every stage is ordered, and each error stays in its item's place).
#[tokio::test]
async fn the_pipeline_agrees_with_the_shapes() {
    use async_shape::Stage as _;
    let piped: Vec<Result<u64, String>> = Pipeline::from_iter(inputs())
        .stage_fn("parse", StageOptions::ordered(4), |x| {
            async_shape::Parse.process(x)
        })
        .stage_fn("halve", StageOptions::ordered(4), |x| {
            async_shape::Halve.process(x)
        })
        .on_error(ErrorPolicy::SkipAndReport)
        .into_stream()
        .map(|item| {
            item.map_err(|error| match error {
                StageError::Failed { source, .. } => source.to_string(),
                other => other.to_string(),
            })
        })
        .collect()
        .await;
    let sync = sync_shape::run(inputs());
    assert_eq!(piped, sync);
}

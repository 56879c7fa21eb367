//! The `tracing` spans a pipeline emits: one per item per stage, labelled by the stage and the
//! item's input index, nested under the span that polls the output (a spawned item's too),
//! ended as the item was: ok, failed (a panic too), timed out, or cancelled when dropped.

use std::sync::Arc;

use async_patterns::pipeline::stream::{ErrorPolicy, Pipeline, StageOptions};
use async_patterns::timing::{Timeline, record_spans};
use futures::StreamExt;
use tokio::time::sleep;
use tracing::Instrument;

use super::ms;

const HERE: &str = "async_patterns::pipeline";

/// Await `fut` inside a span of the consumer, recording the pipeline's spans; every bar as
/// (label, depth, start ms, end ms, outcome), sorted.
async fn bars<F: Future>(fut: F) -> Vec<(String, usize, u128, u128, &'static str)> {
    let timeline = Arc::new(Timeline::new());
    let consumer = async {
        fut.instrument(tracing::info_span!(target: HERE, "consumer"))
            .await
    };
    record_spans(&timeline, HERE, consumer).await;
    eprintln!(
        "before yield: {:?}",
        timeline
            .bars()
            .iter()
            .map(|b| b.label.clone())
            .collect::<Vec<_>>()
    );
    tokio::task::yield_now().await;
    eprintln!(
        "after yield: {:?}",
        timeline
            .bars()
            .iter()
            .map(|b| b.label.clone())
            .collect::<Vec<_>>()
    );
    let mut bars: Vec<_> = timeline
        .bars()
        .into_iter()
        .map(|b| {
            let (start, end) = (b.start.as_millis(), b.end.as_millis());
            (b.label, b.depth, start, end, b.outcome.word())
        })
        .collect();
    bars.sort();
    bars
}

#[tokio::test(start_paused = true)]
async fn each_item_in_each_stage_is_a_span_that_ends_as_the_item_did() {
    let pipeline = Pipeline::from_iter(0..5u64)
        .stage_fn(
            "a",
            StageOptions::ordered(5).timeout(ms(50)),
            |x| async move {
                match x {
                    1 => Err("no".to_owned()),
                    2 => panic!("boom"),
                    _ => {
                        sleep(ms(if x == 3 { 100 } else { 10 * x })).await;
                        Ok(x)
                    }
                }
            },
        )
        .stage_fn("b", StageOptions::unordered(2).spawned(), |x| async move {
            sleep(ms(5)).await;
            Ok::<_, String>(x)
        })
        .on_error(ErrorPolicy::SkipAndReport);
    let drawn = bars(pipeline.into_stream().partition()).await;
    let bar = |label: &str, start, end, outcome| (label.to_owned(), 1, start, end, outcome);
    assert_eq!(
        drawn,
        [
            bar("a #0", 0, 0, "ok"),
            bar("a #1", 0, 0, "failed"),
            bar("a #2", 0, 0, "failed"),
            bar("a #3", 0, 50, "timed out"),
            bar("a #4", 0, 40, "ok"),
            // Only the items that reached it; #4 waited for #3, ahead of it in order.
            bar("b #0", 0, 5, "ok"),
            bar("b #4", 50, 55, "ok"),
            ("consumer".to_owned(), 0, 0, 55, "ok"),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn items_dropped_in_flight_are_drawn_cancelled() {
    // Inline, so the items are dropped in the consumer's poll. (A spawned item's task is
    // aborted, and dropped by the runtime later, outside a subscriber installed for one future
    // only, as `record_spans` does: its span still ends cancelled, but the consumer's span,
    // its parent, is then never told, and never drawn.)
    let pipeline =
        Pipeline::from_iter(0..3u64).stage_fn("s", StageOptions::unordered(3), |x| async move {
            sleep(ms(if x == 0 { 10 } else { 100 })).await;
            if x == 0 { Err("first") } else { Ok(x) }
        });
    // Stop at the first error: the two items still running are dropped then.
    let drawn = bars(pipeline.into_stream().collect::<Vec<_>>()).await;
    let bar = |label: &str, end, outcome| (label.to_owned(), 1, 0, end, outcome);
    assert_eq!(
        drawn,
        [
            ("consumer".to_owned(), 0, 0, 10, "ok"),
            bar("s #0", 10, "failed"),
            bar("s #1", 10, "cancelled"),
            bar("s #2", 10, "cancelled"),
        ]
    );
}

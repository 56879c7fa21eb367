//! The tests of `timing::layer`, in a file of their own so the module reads without them.

use std::time::Duration;

use tracing::Instrument;

use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

async fn nap(n: u64) {
    tokio::time::sleep(ms(n)).await;
}

/// A call's span, as the patterns make them: named by a field, its outcome declared.
fn call(url: &'static str) -> tracing::Span {
    tracing::info_span!("call", url, outcome = tracing::field::Empty)
}

/// Record `module_path!()` while `body` runs on this thread.
async fn recorded<F: std::future::Future>(body: F) -> (Arc<Timeline>, F::Output) {
    let timeline = Arc::new(Timeline::new());
    let layer = TimelineLayer::new(Arc::clone(&timeline)).record(module_path!());
    let _guard = tracing::dispatcher::set_default(&layer.into_dispatch());
    let out = body.await;
    (timeline, out)
}

#[tokio::test(start_paused = true)]
async fn spans_become_bars_with_their_outcome_depth_and_markers() {
    let (timeline, ()) = recorded(async {
        // The calls' spans are made inside the batch's future, so the batch is their parent.
        let batch = async {
            let ok = async {
                nap(10).await;
                tracing::Span::current().record("outcome", "ok");
            }
            .instrument(call("/ok"));
            let failed = async {
                nap(20).await;
                tracing::info!("retrying");
                tracing::Span::current().record("outcome", "failed");
            }
            .instrument(call("/bad"));
            // Dropped at 15 ms, before it records an outcome: cancelled.
            let cut = tokio::time::timeout(ms(15), nap(100).instrument(call("/slow")));
            let (_, _, elapsed) = tokio::join!(ok, failed, cut);
            assert!(elapsed.is_err());
        };
        batch.instrument(tracing::info_span!("batch")).await;
        // No outcome field, but an error inside: failed.
        async { tracing::error!("boom") }
            .instrument(tracing::info_span!("plain"))
            .await;
    })
    .await;
    let bars = timeline.bars_by_start();
    let seen: Vec<_> = bars
        .iter()
        .map(|b| (b.label.as_str(), b.depth, b.start, b.end, b.outcome))
        .collect();
    assert_eq!(
        seen,
        [
            ("batch", 0, ms(0), ms(20), BarOutcome::Ok),
            ("/ok", 1, ms(0), ms(10), BarOutcome::Ok),
            ("/bad", 1, ms(0), ms(20), BarOutcome::Failed),
            ("/slow", 1, ms(0), ms(15), BarOutcome::Cancelled),
            ("plain", 0, ms(20), ms(20), BarOutcome::Failed),
        ]
    );
    let markers: Vec<_> = timeline
        .markers()
        .into_iter()
        .map(|m| (m.label, m.at, m.lane))
        .collect();
    assert_eq!(
        markers,
        [
            ("retrying".to_owned(), ms(20), Some("/bad".to_owned())),
            ("boom".to_owned(), ms(20), Some("plain".to_owned())),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn only_the_chosen_spans_are_recorded() {
    let timeline = Arc::new(Timeline::new());
    let layer = TimelineLayer::new(Arc::clone(&timeline))
        .record_span(module_path!(), "wanted")
        .record("elsewhere::entirely");
    let _guard = tracing::dispatcher::set_default(&layer.into_dispatch());
    nap(5).instrument(tracing::info_span!("wanted")).await;
    nap(5).instrument(tracing::info_span!("other")).await;
    nap(5)
        .instrument(tracing::info_span!(target: "elsewhere::entirely_not", "x"))
        .await;
    nap(5)
        .instrument(tracing::info_span!(target: "elsewhere::entirely::inner", "y"))
        .await;
    let labels: Vec<_> = timeline.bars().into_iter().map(|b| b.label).collect();
    assert_eq!(labels, ["wanted", "y"]);
    assert!(within("a::b", "a") && within("a", "a") && !within("ab", "a"));
}

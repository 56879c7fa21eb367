//! The observer's pictures: the same observers notified in order then concurrently, and each
//! delivery policy on one burst of events.

use async_patterns::observer::{BoxError, FnObserver, Observer, Received, StreamPolicy, Subject};
use async_patterns::timing::{Bar, svg};
use futures::StreamExt;
use tokio::time::sleep;
use tracing::Instrument;

use super::check::{committed, ms, recorded};

/// The subject's spans, and the picture's own (a run, a reader), under one target.
const TARGET: &str = "async_patterns::observer";

/// An observer that answers after `ms` milliseconds, `Ok` or `Err`.
fn observer(ms_taken: u64, ok: bool) -> impl Observer<&'static str> {
    FnObserver::new(move |_: &&'static str| async move {
        sleep(ms(ms_taken)).await;
        if ok {
            Ok(())
        } else {
            Err::<(), BoxError>("the gateway is down".into())
        }
    })
}

#[test]
fn observers_in_order_then_concurrently() {
    let timeline = recorded(TARGET, || async {
        let subject = Subject::<&str>::builder().timeout(ms(90)).build();
        let _guards = [
            subject.subscribe_named("logger", observer(5, true)),
            subject.subscribe_named("metrics store", observer(40, true)),
            subject.subscribe_named("webhook", observer(70, true)),
            subject.subscribe_named("alarm gateway (down)", observer(20, false)),
            subject.subscribe_named("archive (slow)", observer(150, true)),
        ];
        let in_order = subject.notify_in_order(&"front door opened").await;
        let concurrent = subject.notify(&"front door opened").await;
        for report in [in_order, concurrent] {
            assert_eq!(
                (report.delivered(), report.failed(), report.timed_out()),
                (3, 1, 1)
            );
        }
    });
    let title = "one event to five observers (timeout 90 ms): notify_in_order, then notify";
    committed(
        "src/observer/pictures/in_order_vs_concurrent.svg",
        &timeline.to_svg(title),
    );
}

/// Three events 10 ms apart to a stream with room for two, read every 25 ms, under each policy
/// in turn (each on a subject of its own). The policy's row is labelled with what its reader got
/// (asserted, so the label cannot lie) and carries a marker per read; under it, a row per
/// delivery. Each delivery's `notify` span, as long as the delivery it holds, is left out, which
/// halves the rows.
#[test]
fn each_delivery_policy_on_one_burst() {
    use Received::{Event, Missed};
    let expected = [
        (
            StreamPolicy::DropOldest,
            "drop oldest: got 2 3, missed 1",
            vec![Missed(1), Event(2), Event(3)],
        ),
        (
            StreamPolicy::Wait,
            "wait: got 1 2 3",
            vec![Event(1), Event(2), Event(3)],
        ),
        (
            StreamPolicy::Latest,
            "latest: got 3, missed 2",
            vec![Missed(2), Event(3)],
        ),
        (
            StreamPolicy::Refuse,
            "refuse: got 1 2, missed 1",
            vec![Event(1), Event(2), Missed(1)],
        ),
    ];
    let timeline = recorded(TARGET, || async {
        for (policy, label, want) in expected {
            let subject = Subject::<u32>::new();
            let mut stream = subject.subscribe_stream_with(policy, 2);
            let publish = async move {
                for n in 1..=3 {
                    subject.notify(&n).await;
                    sleep(ms(10)).await;
                }
                // The subject goes: the stream ends after what it holds.
            };
            let read = async move {
                let mut got = Vec::new();
                loop {
                    sleep(ms(25)).await;
                    let Some(item) = stream.next().await else {
                        break got;
                    };
                    tracing::debug!(target: TARGET, "{item:?}");
                    got.push(item);
                }
            };
            let span = tracing::debug_span!(target: TARGET, "policy", policy = label);
            let ((), got) = async { tokio::join!(publish, read) }.instrument(span).await;
            assert_eq!(got, want, "{label}");
        }
    });
    let bars: Vec<Bar> = timeline
        .bars_by_start()
        .into_iter()
        .filter(|b| b.label != "notify")
        .collect();
    let title = "three events 10 ms apart to a stream with room for two, read every 25 ms";
    let svg = svg::render(title, &bars, &timeline.markers());
    committed("src/observer/pictures/delivery_policies.svg", &svg);
}

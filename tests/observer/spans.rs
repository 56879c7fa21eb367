//! Spans: each notification is a span, each observer call a span inside it named as reports
//! name the observer, with its outcome; stream subscribers mark the events they drop or refuse.
//! Recorded with the timeline layer on the paused clock, so every time is exact.

use std::sync::Arc;
use std::time::Duration;

use async_patterns::observer::{BoxError, FnObserver, StreamPolicy, Subject};
use async_patterns::testkit::within_paused;
use async_patterns::timing::{BarOutcome, Timeline, record_spans};
use tracing::Instrument;

use super::{DOOR, HANG, Home, ms, slow_ok};

const TARGET: &str = "async_patterns::observer";

/// Each bar as (label, depth, start ms, end ms, outcome).
fn bars(timeline: &Timeline) -> Vec<(String, usize, u128, u128, BarOutcome)> {
    let ms = |d: Duration| d.as_millis();
    let bars = timeline.bars_by_start().into_iter();
    bars.map(|b| (b.label, b.depth, ms(b.start), ms(b.end), b.outcome))
        .collect()
}

/// Run `body` on the paused clock, the subject's spans recorded: the timeline and its output.
fn recorded<T: Send + 'static>(
    body: impl Future<Output = T> + Send + 'static,
) -> (Arc<Timeline>, T) {
    within_paused(HANG, async {
        let timeline = Arc::new(Timeline::new());
        let out = record_spans(&timeline, TARGET, body).await;
        (timeline, out)
    })
}

fn bar(
    label: &str,
    depth: usize,
    start: u128,
    end: u128,
    outcome: BarOutcome,
) -> (String, usize, u128, u128, BarOutcome) {
    (label.to_owned(), depth, start, end, outcome)
}

/// A subject with a 50 ms timeout and four observers: one answers after 10 ms, one fails,
/// one panics, one would take 100 ms.
fn four_observers() -> (Subject<Home>, Vec<async_patterns::observer::Subscription>) {
    let subject = Subject::<Home>::builder().timeout(ms(50)).build();
    let failing = FnObserver::new(|_: &Home| async { Err::<(), BoxError>("store down".into()) });
    let panicking = FnObserver::new(|_: &Home| async { panic!("bug") });
    let guards = vec![
        subject.subscribe_named("fast", slow_ok(ms(10))),
        subject.subscribe_named("failing", failing),
        subject.subscribe_named("panicking", panicking),
        subject.subscribe_named("slow", slow_ok(ms(100))),
    ];
    (subject, guards)
}

#[test]
fn a_notification_is_a_span_and_each_call_a_span_inside_it_with_its_outcome() {
    use BarOutcome::{Failed, Ok, TimedOut};
    let (timeline, ()) = recorded(async {
        let (subject, _guards) = four_observers();
        assert_eq!(subject.notify_in_order(&DOOR).await.delivered(), 1);
        assert_eq!(subject.notify(&DOOR).await.delivered(), 1);
    });
    // In order, each call starts when the last ended (10 + 0 + 0 + 50 ms); concurrently, all
    // start at once and the notification takes the longest (the timeout).
    assert_eq!(
        bars(&timeline),
        [
            bar("notify_in_order", 0, 0, 60, Ok),
            bar("fast", 1, 0, 10, Ok),
            bar("failing", 1, 10, 10, Failed),
            bar("panicking", 1, 10, 10, Failed),
            bar("slow", 1, 10, 60, TimedOut),
            bar("notify", 0, 60, 110, Ok),
            bar("fast", 1, 60, 70, Ok),
            bar("failing", 1, 60, 60, Failed),
            bar("panicking", 1, 60, 60, Failed),
            bar("slow", 1, 60, 110, TimedOut),
        ]
    );
}

#[test]
fn a_notification_dropped_midway_is_drawn_cancelled_with_its_unfinished_calls() {
    let (timeline, ()) = recorded(async {
        let subject = Subject::new();
        let _fast = subject.subscribe_named("fast", slow_ok(ms(10)));
        let _slow = subject.subscribe_named("slow", slow_ok(ms(100)));
        let cut = tokio::time::timeout(ms(30), subject.notify(&DOOR)).await;
        assert!(cut.is_err(), "the notification should have been cut");
    });
    use BarOutcome::{Cancelled, Ok};
    assert_eq!(
        bars(&timeline),
        [
            bar("notify", 0, 0, 30, Cancelled),
            bar("fast", 1, 0, 10, Ok),
            bar("slow", 1, 0, 30, Cancelled),
        ]
    );
}

#[test]
fn an_observers_own_spans_nest_inside_its_call() {
    let (timeline, ()) = recorded(async {
        let subject = Subject::<Home>::new();
        let traced = FnObserver::new(|_: &Home| {
            let span = tracing::debug_span!(target: TARGET, "store", write = "row 1");
            let write = async {
                tokio::time::sleep(ms(5)).await;
                Ok::<(), BoxError>(())
            };
            write.instrument(span)
        });
        let _traced = subject.subscribe_named("traced", traced);
        subject.notify(&DOOR).await;
    });
    let ok = BarOutcome::Ok;
    assert_eq!(
        bars(&timeline),
        [
            bar("notify", 0, 0, 5, ok),
            bar("traced", 1, 0, 5, ok),
            bar("row 1", 2, 0, 5, ok),
        ]
    );
}

#[test]
fn stream_subscribers_mark_each_event_they_drop_or_refuse_on_their_call() {
    let (timeline, names) = recorded(async {
        let subject = Subject::<u32>::new();
        // Nobody reads: with room for one, every event after the first pushes one out or is
        // turned away; a waiting stream would hold `notify` up, so it is not here.
        let streams = [
            StreamPolicy::DropOldest,
            StreamPolicy::Latest,
            StreamPolicy::Refuse,
        ]
        .map(|policy| subject.subscribe_stream_with(policy, 1));
        for n in 1..=3 {
            subject.notify(&n).await;
        }
        streams.map(|s| format!("stream {}", s.id()))
    });
    let markers: Vec<(String, Option<String>)> = timeline
        .markers()
        .into_iter()
        .map(|m| (m.label, m.lane))
        .collect();
    let [oldest, latest, refuse] = names;
    let dropped = "dropped an unread event".to_owned();
    let refused = "refused: the channel is full".to_owned();
    // Events 2 and 3, each time, for each stream.
    let per_event = [
        (dropped.clone(), Some(oldest)),
        (dropped, Some(latest)),
        (refused, Some(refuse)),
    ];
    assert_eq!(markers, [per_event.clone(), per_event].concat());
    // The refusing stream's calls failed (the report says refused), the others' did not.
    let outcomes: Vec<BarOutcome> = timeline.bars().iter().map(|b| b.outcome).collect();
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == BarOutcome::Failed)
            .count(),
        2
    );
}

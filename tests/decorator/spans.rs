//! Spans: each attempt, each hedged request, each cut call and each wait for a permit or a
//! token is a span that ends as the call did; a hedge and the breaker's changes are events.
//! Recorded on the paused clock, so every instant is exact.

use std::sync::Arc;
use std::time::Duration;

use async_patterns::decorator::{
    Breaker, Circuit, ConcurrencyLimit, Hedge, HedgeDelay, Layers, Retry, Trip,
};
use async_patterns::http::HttpGet;
use async_patterns::timing::{BarOutcome, Timeline, record_spans};
use tokio::time::sleep;

use super::{Beat, Scripted, URL, halving, ms};

use BarOutcome::{Cancelled, Failed, Ok, TimedOut};

const TARGET: &str = "async_patterns::decorator";

/// Run `body`, recording the decorators' spans: (depth, start, end, outcome) of each bar in the
/// order they started, and (label, instant) of each marker.
async fn recorded<F: Future>(
    body: F,
) -> (
    Vec<(usize, Duration, Duration, BarOutcome)>,
    Vec<(String, Duration)>,
) {
    let timeline = Arc::new(Timeline::new());
    record_spans(&timeline, TARGET, body).await;
    let bars = timeline.bars_by_start().into_iter();
    let bars = bars.map(|b| (b.depth, b.start, b.end, b.outcome)).collect();
    let markers = timeline.markers().into_iter();
    (bars, markers.map(|m| (m.label, m.at)).collect())
}

#[tokio::test(start_paused = true)]
async fn each_attempt_is_a_span_and_a_cut_call_ends_timed_out() {
    // Hangs (cut at 50 ms), fails, answers; waits of 50 and 100 ms between.
    let script = Scripted::new(&[Beat::Hang, Beat::Fail(10, 503), Beat::Ok(10)]);
    let http = Layers::new(Arc::clone(&script))
        .timeout(ms(50))
        .retry(halving())
        .build();
    let (bars, markers) = recorded(async { http.get(URL).await.unwrap() }).await;
    assert_eq!(
        bars,
        [
            (0, ms(0), ms(50), Failed), // the attempt, which the timeout inside it failed
            (1, ms(0), ms(50), TimedOut),
            (0, ms(100), ms(110), Failed),
            (1, ms(100), ms(110), Failed),
            (0, ms(210), ms(220), Ok),
            (1, ms(210), ms(220), Ok),
        ]
    );
    assert!(markers.is_empty(), "{markers:?}");

    // A budget cuts the attempt running at its end: that attempt timed out.
    let script = Scripted::new(&[Beat::Hang]);
    let retry = Retry::new(Arc::clone(&script), halving().budget(ms(120)));
    let (bars, _) = recorded(async { retry.get(URL).await.unwrap_err() }).await;
    assert_eq!(bars, [(0, ms(0), ms(120), TimedOut)]);
}

#[tokio::test(start_paused = true)]
async fn a_hedge_is_an_event_and_the_loser_is_drawn_cancelled() {
    // The first request would take 100 ms; the hedge, sent at 30 ms, answers in 20.
    let script = Scripted::new(&[Beat::Ok(100), Beat::Ok(20)]);
    let hedge = Hedge::new(Arc::clone(&script), HedgeDelay::Fixed(ms(30)));
    let (bars, markers) = recorded(async { hedge.get(URL).await.unwrap() }).await;
    assert_eq!(
        bars,
        [(0, ms(0), ms(50), Cancelled), (0, ms(30), ms(50), Ok)]
    );
    assert_eq!(markers, [("hedge sent".to_owned(), ms(30))]);
}

#[tokio::test(start_paused = true)]
async fn the_breakers_changes_of_state_are_events_at_their_instants() {
    // Two failures open the circuit for 100 ms; the probe after it succeeds.
    let script = Scripted::new(&[Beat::Fail(10, 503), Beat::Fail(10, 503), Beat::Ok(10)]);
    let circuit = Circuit::new(Trip::Consecutive(2), ms(100));
    let breaker = Breaker::new(Arc::clone(&script), &circuit);
    let (_, markers) = recorded(async {
        let _ = breaker.get(URL).await; // 0 to 10 ms: failed
        let _ = breaker.get(URL).await; // 10 to 20 ms: failed, the circuit opens
        sleep(ms(30)).await;
        assert!(breaker.get(URL).await.is_err()); // refused, no event
        sleep(ms(80)).await; // at 130 ms, the cool-down over
        breaker.get(URL).await.unwrap(); // the probe: 130 to 140 ms
    })
    .await;
    let expected = [
        ("circuit opened", 20),
        ("half-open probe", 130),
        ("closed", 140),
    ];
    let expected: Vec<_> = expected.map(|(m, at)| (m.to_owned(), ms(at))).into();
    assert_eq!(markers, expected);
}

#[tokio::test(start_paused = true)]
async fn waits_for_a_permit_or_a_token_are_spans_and_a_call_that_gets_one_at_once_makes_none() {
    // One permit: the second call waits for the first's 100 ms.
    let script = Scripted::new(&[Beat::Ok(100)]);
    let limited = ConcurrencyLimit::new(Arc::clone(&script), 1);
    let (bars, _) = recorded(async {
        let (a, b) = tokio::join!(limited.get(URL), limited.get(URL));
        (a.unwrap(), b.unwrap())
    })
    .await;
    assert_eq!(bars, [(0, ms(0), ms(100), Ok)]);

    // The overload lesson: a token every 100 ms, and a timeout of 150 ms outside the limit.
    // The first call takes the token there is; the second waits 100 ms for the next; the
    // third would wait 200 ms, is cut at 150 ms, and leaves the queue having taken nothing.
    let script = Scripted::new(&[Beat::Ok(0)]);
    let http = Layers::new(Arc::clone(&script))
        .rate(1, ms(100))
        .timeout(ms(150))
        .build();
    let (bars, _) =
        recorded(async { futures::future::join_all((0..3).map(|_| http.get(URL))).await }).await;
    assert_eq!(
        bars,
        [
            (0, ms(0), ms(0), Ok), // the timeouts' spans, and the waits inside them
            (0, ms(0), ms(100), Ok),
            (1, ms(0), ms(100), Ok),
            (0, ms(0), ms(150), TimedOut),
            (1, ms(0), ms(150), Cancelled),
        ]
    );
    assert_eq!(script.starts(), [ms(0), ms(100)]);
}

//! Hedge: the second request after the delay, the loser cancelled, the percentile delay.

use std::sync::Arc;
use std::time::Duration;

use async_patterns::decorator::{Hedge, HedgeDelay};
use async_patterns::http::HttpGet;
use async_patterns::testkit::{Delayed, MockHttpGet};
use tokio::time::Instant;

use super::{Beat, Scripted, URL, ms, paused};

#[tokio::test(start_paused = true)]
async fn a_hedge_wins_and_the_loser_is_cancelled() {
    let script = Scripted::new(&[Beat::Ok(1000), Beat::Ok(100)]);
    let hedge = Hedge::new(Arc::clone(&script), HedgeDelay::Fixed(ms(200)));
    let start = Instant::now();
    assert_eq!(hedge.get(URL).await.unwrap(), "page http://test/a #1");
    assert_eq!(start.elapsed(), ms(300));
    assert_eq!(
        script.gauge.current(),
        0,
        "the slow first request was dropped"
    );
    assert_eq!((script.gauge.peak(), hedge.hedged()), (2, 1));
    assert_eq!(script.starts(), [ms(0), ms(200)]);

    // The first request can still win once the hedge is out: then the hedge is dropped.
    let script = Scripted::new(&[Beat::Ok(300), Beat::Ok(1000)]);
    let hedge = Hedge::new(Arc::clone(&script), HedgeDelay::Fixed(ms(200)));
    assert_eq!(hedge.get(URL).await.unwrap(), "page http://test/a #0");
    assert_eq!(script.gauge.current(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_fast_first_answer_sends_no_second_request() {
    let mut mock = MockHttpGet::new();
    mock.expect_get().times(1).returning(|_| Ok("page".into()));
    let hedge = Hedge::new(Delayed::new(mock, ms(50)), HedgeDelay::Fixed(ms(200)));
    let start = Instant::now();
    assert_eq!(hedge.get(URL).await.unwrap(), "page");
    assert_eq!((start.elapsed(), hedge.hedged()), (ms(50), 0));
}

#[tokio::test(start_paused = true)]
async fn errors_are_not_hedged_and_a_failed_side_waits_for_the_other() {
    let script = Scripted::new(&[Beat::Fail(50, 503)]);
    let hedge = Hedge::new(Arc::clone(&script), HedgeDelay::Fixed(ms(200)));
    assert_eq!(hedge.get(URL).await.unwrap_err().status(), Some(503));
    assert_eq!(hedge.hedged(), 0);

    // The hedge fails at 300 ms; the first request still answers, at 500 ms.
    let script = Scripted::new(&[Beat::Ok(500), Beat::Fail(100, 500)]);
    let hedge = Hedge::new(Arc::clone(&script), HedgeDelay::Fixed(ms(200)));
    let start = Instant::now();
    assert_eq!(hedge.get(URL).await.unwrap(), "page http://test/a #0");
    assert_eq!(start.elapsed(), ms(500));
}

#[tokio::test(start_paused = true)]
async fn a_percentile_delay_follows_the_recent_latencies() {
    let beats: Vec<Beat> = (1..=10).map(|k| Beat::Ok(10 * k)).collect();
    let script = Scripted::new(&beats);
    let delay = HedgeDelay::Percentile {
        percentile: 0.9,
        window: 100,
        initial: Duration::from_secs(5),
    };
    let hedge = Hedge::new(Arc::clone(&script), delay);
    for _ in 0..9 {
        assert_eq!(hedge.current_delay(), Duration::from_secs(5)); // too few to judge
        hedge.get(URL).await.unwrap();
    }
    hedge.get(URL).await.unwrap();
    assert_eq!(hedge.current_delay(), ms(90)); // the 9th of 10, by nearest rank
    assert_eq!(hedge.hedged(), 0);
}

/// A percentile window of `usize::MAX` used to grow by one latency a success, forever (and
/// each call copied it all); now it keeps the last `HedgeDelay::MAX_WINDOW`, so the delay
/// follows the recent latencies only.
#[test]
fn a_percentile_window_is_capped() {
    paused(async {
        let max = HedgeDelay::MAX_WINDOW;
        let mut beats = vec![Beat::Ok(100); max];
        beats.push(Beat::Ok(10)); // and 10 ms from then on
        let script = Scripted::new(&beats);
        let delay = HedgeDelay::Percentile {
            percentile: 0.9,
            window: usize::MAX,
            initial: Duration::from_secs(3600),
        };
        let hedge = Hedge::new(Arc::clone(&script), delay);
        for _ in 0..2 * max {
            hedge.get(URL).await.unwrap();
        }
        // Uncapped, 1,000 answers of 100 ms among 2,000 would put the 90th percentile there.
        assert_eq!(hedge.current_delay(), ms(10));
    });
}

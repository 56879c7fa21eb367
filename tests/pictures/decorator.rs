//! The decorator's pictures: the schedule a retry, a hedge and a breaker make on a flaky route,
//! and a timeout outside a rate limit under overload.

use std::sync::atomic::{AtomicUsize, Ordering};

use async_patterns::decorator::{
    Breaker, Circuit, Hedge, HedgeDelay, Layers, NoJitter, RetryPolicy, Trip,
};
use async_patterns::http::{HttpError, HttpGet};
use tokio::time::{Instant, sleep, sleep_until};
use tracing::Instrument;

use super::check::{committed, ms, recorded};

const TARGET: &str = "async_patterns::decorator";

/// One answer of a [`Route`]: after this many ms, a page or a 503; or no answer at all.
#[derive(Clone, Copy)]
enum Beat {
    Ok(u64),
    Fail(u64),
    Hang,
}

/// A scripted route: request after request answered as its beats say (the last one repeats).
struct Route(Vec<Beat>, AtomicUsize);

impl Route {
    fn new(beats: &[Beat]) -> Route {
        Route(beats.to_vec(), AtomicUsize::new(0))
    }
}

#[async_trait::async_trait]
impl HttpGet for Route {
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        let n = self.1.fetch_add(1, Ordering::SeqCst);
        match self.0[n.min(self.0.len() - 1)] {
            Beat::Ok(wait) => {
                sleep(ms(wait)).await;
                Ok(format!("page {url}"))
            }
            Beat::Fail(wait) => {
                sleep(ms(wait)).await;
                let url = url.to_owned();
                Err(HttpError::Status { url, status: 503 })
            }
            Beat::Hang => std::future::pending().await,
        }
    }
}

#[test]
fn a_retry_around_a_timeout_on_a_flaky_route() {
    let timeline = recorded(TARGET, || async {
        let route = Route::new(&[Beat::Hang, Beat::Fail(15), Beat::Ok(15)]);
        let policy = RetryPolicy::default()
            .attempts(3)
            .backoff(ms(20), ms(1000))
            .jitter(NoJitter);
        let http = Layers::new(route).timeout(ms(50)).retry(policy).build();
        // A short URL: the label column fits it at every depth.
        assert!(http.get("/busy").await.is_ok());
    });
    let title = "Retry (3 attempts, waits of 20 and 40 ms) around a 50 ms Timeout";
    committed("src/decorator/pictures/retry.svg", &timeline.to_svg(title));
}

#[test]
fn a_hedge_after_30_ms() {
    let timeline = recorded(TARGET, || async {
        // Fast (no hedge); slow, and the hedge wins; slow, and the hedge loses.
        let beats = [20, 200, 20, 45, 100].map(Beat::Ok);
        let hedge = Hedge::new(Route::new(&beats), HedgeDelay::Fixed(ms(30)));
        let origin = Instant::now();
        for start in [0, 60, 140] {
            sleep_until(origin + ms(start)).await;
            assert!(hedge.get("/tail").await.is_ok());
        }
    });
    let title = "Hedge after 30 ms: a quick answer, a slow one the hedge beats, a hedge too slow";
    committed("src/decorator/pictures/hedge.svg", &timeline.to_svg(title));
}

/// `call` in a span of the caller's own, labelled `label`, that records how it ended: the
/// breaker makes no span, only events, so its picture draws the calls made through it.
async fn call(label: String, call: impl Future<Output = Result<String, HttpError>>) {
    let span = tracing::debug_span!(target: TARGET, "call", label, outcome = tracing::field::Empty);
    let result = call.instrument(span.clone()).await;
    span.record("outcome", if result.is_ok() { "ok" } else { "failed" });
}

#[test]
fn a_breaker_opens_sheds_and_probes() {
    let timeline = recorded(TARGET, || async {
        // Down (503 after 10 ms) for its first 3 requests, then up (answers in 10 ms).
        let beats = [Beat::Fail(10), Beat::Fail(10), Beat::Fail(10), Beat::Ok(10)];
        let circuit = Circuit::new(Trip::Consecutive(3), ms(100));
        let breaker = Breaker::new(Route::new(&beats), &circuit);
        let origin = Instant::now();
        let calls = (0..11).map(|i| {
            let breaker = &breaker;
            async move {
                sleep_until(origin + ms(20) * i).await;
                call(format!("call {}", i + 1), breaker.get("/down")).await;
            }
        });
        futures::future::join_all(calls).await;
    });
    let title = "Breaker (opens after 3 failures in a row, 100 ms cool-down), a call every 20 ms";
    committed(
        "src/decorator/pictures/breaker.svg",
        &timeline.to_svg(title),
    );
}

#[test]
fn a_timeout_outside_a_rate_limit_under_overload() {
    let timeline = recorded(TARGET, || async {
        // A token every 20 ms; a call every 4 ms, each given 50 ms in all.
        let http = Layers::new(Route::new(&[Beat::Ok(1)]))
            .rate(1, ms(20))
            .timeout(ms(50))
            .build();
        let origin = Instant::now();
        let calls = (0..9).map(|i| {
            let http = &http;
            async move {
                sleep_until(origin + ms(4) * i).await;
                let _ = http.get("/limited").await;
            }
        });
        futures::future::join_all(calls).await;
    });
    let title = "Timeout (50 ms) outside a RateLimit (a call per 20 ms), a call every 4 ms";
    committed(
        "src/decorator/pictures/overload.svg",
        &timeline.to_svg(title),
    );
}

//! The decorators, pinned down on tokio's paused clock: exact attempt counts and waits, every
//! breaker transition at its instant, hedging's loser cancelled, limits that make calls wait,
//! the order of layers, and tower's stack against ours on the same faults. The loopback server
//! checks what only real sockets can say: `Retry-After` read by the clients, scripted routes.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_patterns::decorator::{
    Breaker, BreakerState, Circuit, ConcurrencyLimit, DecoratorError, FromService, GiveUp, Hedge,
    HedgeDelay, HttpService, Layers, NoJitter, RateLimit, Retry, RetryPolicy, Timeout, TowerRetry,
    Transition, Trip, is_transient,
};
use async_patterns::http::{HttpConfig, HttpError, HttpGet, NativeHttp, ThreadedHttp};
use async_patterns::testkit::{
    Delayed, Fault, Gauge, MockHttpGet, TestServer, alive_tasks_once_settled,
};
use mockall::Sequence;
use tokio::time::Instant;
use tower::ServiceBuilder;

const URL: &str = "http://test/a";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn status(url: &str, status: u16) -> HttpError {
    let url = url.to_owned();
    HttpError::Status { url, status }
}

/// 3 attempts, waits of half the ceiling (100 ms doubled each time): 50 ms, then 100 ms.
fn halving() -> RetryPolicy {
    RetryPolicy::default()
        .attempts(3)
        .backoff(ms(100), Duration::from_secs(10))
        .jitter(|ceiling: Duration| ceiling / 2)
}

/// The decorator's own error inside an `HttpError`, or a panic naming what came instead.
fn decorator_error(e: &HttpError) -> &DecoratorError {
    match e {
        HttpError::Decorator(inner) => inner,
        other => panic!("expected a decorator's error, got {other:?}"),
    }
}

/// One answer of a [`Scripted`] client.
#[derive(Debug, Clone, Copy)]
enum Beat {
    /// `page {url} #{n}` after this many ms.
    Ok(u64),
    /// This status after this many ms.
    Fail(u64, u16),
    /// 503 with `Retry-After` of this many seconds, at once.
    After(u64),
    /// No answer, ever.
    Hang,
}

/// A client that answers call after call as its script says (the last beat repeats), counts its
/// calls in flight on a gauge, and logs when each call started.
struct Scripted {
    beats: Vec<Beat>,
    calls: AtomicUsize,
    gauge: Gauge,
    origin: Instant,
    starts: Mutex<Vec<Duration>>,
}

impl Scripted {
    fn new(beats: &[Beat]) -> Arc<Scripted> {
        Arc::new(Scripted {
            beats: beats.to_vec(),
            calls: AtomicUsize::new(0),
            gauge: Gauge::new(),
            origin: Instant::now(),
            starts: Mutex::new(Vec::new()),
        })
    }

    /// When each call started, counted from the first.
    fn starts(&self) -> Vec<Duration> {
        let starts = self.starts.lock().unwrap();
        starts.iter().map(|t| *t - starts[0]).collect()
    }
}

#[async_trait::async_trait]
impl HttpGet for Scripted {
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let _in_flight = self.gauge.enter();
        self.starts.lock().unwrap().push(self.origin.elapsed());
        match self.beats[n.min(self.beats.len() - 1)] {
            Beat::Ok(wait) => {
                tokio::time::sleep(ms(wait)).await;
                Ok(format!("page {url} #{n}"))
            }
            Beat::Fail(wait, code) => {
                tokio::time::sleep(ms(wait)).await;
                Err(status(url, code))
            }
            Beat::After(secs) => Err(HttpError::RetryAfter {
                url: url.to_owned(),
                status: 503,
                retry_after: Duration::from_secs(secs),
            }),
            Beat::Hang => std::future::pending().await,
        }
    }
}

// ---------------------------------------------------------------------------------- retry

#[tokio::test(start_paused = true)]
async fn retry_waits_exactly_what_the_jitter_source_picks() {
    let mut mock = MockHttpGet::new();
    let mut seq = Sequence::new();
    let starts = Arc::new(Mutex::new(Vec::new()));
    let origin = Instant::now();
    for (times, ok) in [(2, false), (1, true)] {
        let starts = Arc::clone(&starts);
        mock.expect_get()
            .times(times)
            .in_sequence(&mut seq)
            .returning(move |url| {
                starts.lock().unwrap().push(origin.elapsed());
                if ok {
                    Ok("page".into())
                } else {
                    Err(status(url, 503))
                }
            });
    }
    let retry = Retry::new(mock, halving());
    assert_eq!(retry.get(URL).await.unwrap(), "page");
    // Waits of 100/2 and 200/2 ms between the three attempts.
    assert_eq!(*starts.lock().unwrap(), [ms(0), ms(50), ms(150)]);
}

#[tokio::test(start_paused = true)]
async fn the_final_error_says_how_many_attempts_and_keeps_the_last_cause() {
    let mut mock = MockHttpGet::new();
    mock.expect_get()
        .times(4)
        .returning(|url| Err(status(url, 503)));
    let retry = Retry::new(mock, halving().attempts(4));
    let start = Instant::now();
    let e = retry.get(URL).await.unwrap_err();
    assert_eq!(start.elapsed(), ms(50 + 100 + 200));
    assert_eq!(
        e.to_string(),
        "gave up on http://test/a after 4 attempts in 350ms (the limit of 4 attempts): \
         http://test/a answered HTTP 503"
    );
    match decorator_error(&e) {
        DecoratorError::GaveUp {
            attempts,
            reason,
            last,
            ..
        } => {
            assert_eq!((*attempts, *reason), (4, GiveUp::Attempts(4)));
            assert_eq!(last.status(), Some(503));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(e.url(), Some(URL));
    assert!(
        std::error::Error::source(&e).is_some(),
        "the cause is kept as the source too"
    );
}

#[tokio::test(start_paused = true)]
async fn a_404_is_not_retried_and_comes_back_unchanged() {
    let mut mock = MockHttpGet::new();
    mock.expect_get()
        .times(1)
        .returning(|url| Err(status(url, 404)));
    let e = Retry::new(mock, halving()).get(URL).await.unwrap_err();
    assert!(matches!(e, HttpError::Status { status: 404, .. }), "{e:?}");

    // After a retried 503, a 404 ends the loop, and the count says there were two attempts.
    let mut mock = MockHttpGet::new();
    let mut seq = Sequence::new();
    for code in [503, 404] {
        let fail = move |url: &str| Err(status(url, code));
        mock.expect_get()
            .times(1)
            .in_sequence(&mut seq)
            .returning(fail);
    }
    let e = Retry::new(mock, halving()).get(URL).await.unwrap_err();
    match decorator_error(&e) {
        DecoratorError::GaveUp {
            attempts: 2,
            reason: GiveUp::NotRetryable,
            last,
            ..
        } => {
            assert_eq!(last.status(), Some(404));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_invalid_url_is_not_retried() {
    let client = NativeHttp::new(HttpConfig::default()).unwrap();
    let counted = Delayed::new(client, Duration::ZERO);
    let retry = Retry::new(&counted, halving());
    let e = retry.get("not a url").await.unwrap_err();
    assert!(matches!(e, HttpError::InvalidUrl { .. }), "{e:?}");
    assert_eq!(counted.gauge().total(), 1);
}

#[tokio::test(start_paused = true)]
async fn retry_after_replaces_the_backoff_within_the_budget() {
    let script = Scripted::new(&[Beat::After(3), Beat::Ok(0)]);
    let retry = Retry::new(Arc::clone(&script), halving());
    assert_eq!(retry.get(URL).await.unwrap(), "page http://test/a #1");
    assert_eq!(script.starts(), [ms(0), Duration::from_secs(3)]);

    // A server asking for more than the budget leaves is not waited for at all.
    let script = Scripted::new(&[Beat::After(3), Beat::Ok(0)]);
    let retry = Retry::new(
        Arc::clone(&script),
        halving().budget(Duration::from_secs(2)),
    );
    let start = Instant::now();
    let e = retry.get(URL).await.unwrap_err();
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert!(matches!(
        decorator_error(&e),
        DecoratorError::GaveUp {
            attempts: 1,
            reason: GiveUp::Budget(_),
            ..
        }
    ));
    assert_eq!(script.starts().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_budget_stops_waits_that_would_pass_it_and_cuts_a_late_attempt() {
    // Waits of 100 then 200 ms: the second would end at 300 ms, past the 250 ms budget.
    let mut mock = MockHttpGet::new();
    mock.expect_get()
        .times(2)
        .returning(|url| Err(status(url, 503)));
    let policy = RetryPolicy::default()
        .attempts(10)
        .backoff(ms(100), Duration::from_secs(10))
        .jitter(NoJitter)
        .budget(ms(250));
    let start = Instant::now();
    let e = Retry::new(mock, policy.clone()).get(URL).await.unwrap_err();
    assert_eq!(start.elapsed(), ms(100));
    assert!(matches!(
        decorator_error(&e),
        DecoratorError::GaveUp { attempts: 2, reason: GiveUp::Budget(b), .. } if *b == ms(250)
    ));

    // An attempt still running at the budget is dropped there: the mock is never reached.
    let mut never = MockHttpGet::new();
    never.expect_get().times(0);
    let slow = Delayed::new(never, Duration::from_secs(1));
    let start = Instant::now();
    let e = Retry::new(&slow, policy).get(URL).await.unwrap_err();
    assert_eq!(start.elapsed(), ms(250));
    assert_eq!(slow.gauge().current(), 0);
    match decorator_error(&e) {
        DecoratorError::GaveUp {
            attempts: 1, last, ..
        } => assert!(matches!(
            decorator_error(last),
            DecoratorError::TimedOut { limit, .. } if *limit == ms(250)
        )),
        other => panic!("{other:?}"),
    }
}

#[test]
fn full_jitter_stays_under_the_ceiling_and_varies() {
    use async_patterns::decorator::{FullJitter, Jitter};
    let picks: Vec<Duration> = (0..200).map(|_| FullJitter.jitter(ms(100))).collect();
    assert!(picks.iter().all(|d| *d <= ms(100)));
    assert!(picks.iter().any(|d| *d < ms(50)) && picks.iter().any(|d| *d >= ms(50)));
    assert_eq!(FullJitter.jitter(Duration::ZERO), Duration::ZERO);
}

// -------------------------------------------------------------------------------- breaker

/// Every transition of `circuit`, as (from, to, time since `origin`).
fn recorded(
    circuit: &Circuit,
    origin: Instant,
) -> Arc<Mutex<Vec<(BreakerState, BreakerState, Duration)>>> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&log);
    circuit.on_transition(move |t: &Transition| {
        sink.lock().unwrap().push((t.from, t.to, t.at - origin));
    });
    log
}

#[tokio::test(start_paused = true)]
async fn every_breaker_transition_happens_at_its_exact_instant() {
    use BreakerState::{Closed, HalfOpen, Open};
    let secs = Duration::from_secs;
    let mut mock = MockHttpGet::new();
    let mut seq = Sequence::new();
    // Three failures open it; the first probe fails; the second succeeds; then one more call.
    for (times, ok) in [(3, false), (1, false), (1, true), (1, true)] {
        let answer = move |url: &str| {
            if ok {
                Ok("page".into())
            } else {
                Err(status(url, 503))
            }
        };
        mock.expect_get()
            .times(times)
            .in_sequence(&mut seq)
            .returning(answer);
    }
    let circuit = Circuit::new(Trip::Consecutive(3), secs(10));
    let start = Instant::now();
    let log = recorded(&circuit, start);
    let breaker = Breaker::new(mock, &circuit);

    for _ in 0..3 {
        assert!(breaker.get(URL).await.is_err());
        tokio::time::advance(secs(1)).await;
    } // failures at 0, 1 and 2 s: open at 2 s, until 12 s
    assert_eq!(circuit.state(), Open);
    for retry_in in [secs(9), secs(4)] {
        let e = breaker.get(URL).await.unwrap_err();
        assert!(matches!(
            decorator_error(&e),
            DecoratorError::CircuitOpen { retry_in: Some(r), .. } if *r == retry_in
        ));
        tokio::time::advance(secs(5)).await;
    } // now 13 s: half-open since 12 s
    assert_eq!(circuit.state(), HalfOpen);
    assert!(breaker.get(URL).await.is_err()); // the probe fails: open again, until 23 s
    tokio::time::advance(secs(15)).await; // 28 s
    assert_eq!(breaker.get(URL).await.unwrap(), "page"); // the probe succeeds
    assert_eq!(breaker.get(URL).await.unwrap(), "page");
    assert_eq!(
        *log.lock().unwrap(),
        [
            (Closed, Open, secs(2)),
            (Open, HalfOpen, secs(12)),
            (HalfOpen, Open, secs(13)),
            (Open, HalfOpen, secs(23)),
            (HalfOpen, Closed, secs(28)),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn an_open_circuit_never_calls_the_client() {
    let mut failing = MockHttpGet::new();
    failing
        .expect_get()
        .times(2)
        .returning(|url| Err(status(url, 503)));
    let circuit = Circuit::new(Trip::Consecutive(2), Duration::from_secs(30));
    let first = Breaker::new(failing, &circuit);
    for _ in 0..2 {
        let _ = first.get(URL).await;
    }
    // A second client on the same circuit: its mock must not be called at all.
    let mut untouched = MockHttpGet::new();
    untouched.expect_get().times(0);
    let second = Breaker::new(untouched, &circuit);
    let e = second.get("http://test/b").await.unwrap_err();
    let message = e.to_string();
    assert!(
        message.contains("http://test/b was not requested"),
        "{message}"
    );
    assert!(
        message.contains("http://test/a answered HTTP 503"),
        "{message}"
    );
    assert_eq!(e.url(), Some("http://test/b"));
}

#[tokio::test(start_paused = true)]
async fn a_failure_rate_over_a_window_opens_it_and_a_404_is_no_failure() {
    let mut mock = MockHttpGet::new();
    let mut seq = Sequence::new();
    for code in [200, 503, 404, 503] {
        let answer = move |url: &str| {
            if code == 200 {
                Ok("page".into())
            } else {
                Err(status(url, code))
            }
        };
        mock.expect_get()
            .times(1)
            .in_sequence(&mut seq)
            .returning(answer);
    }
    let rate = Trip::FailureRate {
        rate: 0.5,
        window: 4,
    };
    let circuit = Circuit::new(rate, Duration::from_secs(1));
    let breaker = Breaker::new(mock, &circuit);
    for _ in 0..3 {
        let _ = breaker.get(URL).await;
    }
    assert_eq!(circuit.state(), BreakerState::Closed); // 1 failure in 3: the window is not full
    let _ = breaker.get(URL).await;
    assert_eq!(circuit.state(), BreakerState::Open); // 2 in 4 (the 404 counted as a success)
}

#[tokio::test(start_paused = true)]
async fn half_open_lets_one_probe_through_and_a_cancelled_probe_gives_its_place_back() {
    let mut mock = MockHttpGet::new();
    let mut seq = Sequence::new();
    mock.expect_get()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|url| Err(status(url, 503)));
    mock.expect_get()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok("page".into()));
    let circuit = Circuit::new(Trip::Consecutive(1), Duration::from_secs(1));
    let breaker = Breaker::new(Delayed::new(mock, ms(100)), &circuit);
    assert!(breaker.get(URL).await.is_err()); // open at 100 ms
    tokio::time::advance(Duration::from_secs(1)).await;

    let mut probe = Box::pin(breaker.get(URL));
    assert!(futures::poll!(&mut probe).is_pending()); // the probe is in flight...
    let e = breaker.get(URL).await.unwrap_err(); // ...so another call fails at once
    assert!(matches!(
        decorator_error(&e),
        DecoratorError::CircuitOpen { retry_in: None, .. }
    ));
    drop(probe); // cancelled before the client answered: no verdict
    assert_eq!(circuit.state(), BreakerState::HalfOpen);
    assert_eq!(breaker.get(URL).await.unwrap(), "page"); // the next call probes
    assert_eq!(circuit.state(), BreakerState::Closed);
}

// ---------------------------------------------------------------------------------- hedge

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

// -------------------------------------------------------------------------------- timeout

#[tokio::test(start_paused = true)]
async fn a_timeout_drops_the_inner_call_at_the_deadline() {
    let mut never = MockHttpGet::new();
    never.expect_get().times(0);
    let slow = Delayed::new(never, Duration::from_secs(10));
    let timeout = Timeout::new(&slow, Duration::from_secs(1));
    let start = Instant::now();
    let e = timeout.get(URL).await.unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    assert!(matches!(
        decorator_error(&e),
        DecoratorError::TimedOut { .. }
    ));
    assert!(is_transient(&e));
    assert_eq!((slow.gauge().total(), slow.gauge().current()), (1, 0));
}

#[tokio::test]
async fn a_timed_out_real_request_leaves_nothing_running() {
    let server = TestServer::start().unwrap();
    let client = NativeHttp::new(HttpConfig::default()).unwrap();
    let timeout = Timeout::new(client, ms(200));
    let e = timeout
        .get(&server.fault_url(Fault::Hang))
        .await
        .unwrap_err();
    assert!(
        matches!(decorator_error(&e), DecoratorError::TimedOut { .. }),
        "{e}"
    );
    drop(timeout);
    assert_eq!(alive_tasks_once_settled(0).await, 0);
}

// --------------------------------------------------------------------------------- limits

#[tokio::test(start_paused = true)]
async fn a_concurrency_limit_makes_the_rest_wait_their_turn() {
    let mut mock = MockHttpGet::new();
    mock.expect_get().times(10).returning(|_| Ok("page".into()));
    let slow = Delayed::new(mock, ms(100));
    let limited = ConcurrencyLimit::new(&slow, 3);
    let start = Instant::now();
    let all = futures::future::join_all((0..10).map(|_| limited.get(URL))).await;
    assert!(all.iter().all(Result::is_ok));
    assert_eq!(start.elapsed(), ms(400)); // 3 + 3 + 3 + 1
    assert_eq!(slow.gauge().peak(), 3);

    let mut untouched = MockHttpGet::new();
    untouched.expect_get().times(0);
    let closed = ConcurrencyLimit::new(untouched, 1);
    closed.permits().close();
    let e = closed.get(URL).await.unwrap_err();
    assert!(matches!(
        decorator_error(&e),
        DecoratorError::LimitClosed { .. }
    ));
}

#[tokio::test(start_paused = true)]
async fn a_token_bucket_spaces_calls_and_refuses_waits_too_long() {
    let script = Scripted::new(&[Beat::Ok(0)]);
    let limited = RateLimit::new(Arc::clone(&script), 2, ms(100));
    futures::future::join_all((0..5).map(|_| limited.get(URL))).await;
    // A burst of two, then one every 100 ms.
    assert_eq!(script.starts(), [ms(0), ms(0), ms(100), ms(200), ms(300)]);

    let script = Scripted::new(&[Beat::Ok(0)]);
    let impatient = RateLimit::new(Arc::clone(&script), 2, ms(100)).max_wait(ms(150));
    let all = futures::future::join_all((0..5).map(|_| impatient.get(URL))).await;
    let refused: Vec<_> = all.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!((script.starts().len(), refused.len()), (3, 2));
    assert!(matches!(
        decorator_error(refused[0]),
        DecoratorError::RateLimited { wait, .. } if *wait == ms(200)
    ));
}

// ------------------------------------------------------------------------------ layering

#[tokio::test(start_paused = true)]
async fn a_closure_decorator_takes_the_place_of_a_hand_written_one() {
    let beats = [Beat::Hang, Beat::Fail(0, 503), Beat::Ok(50)];
    let (a, b) = (Scripted::new(&beats), Scripted::new(&beats));
    let limit = ms(300);
    let hand = Layers::new(Arc::clone(&a))
        .timeout(limit)
        .retry(halving())
        .build();
    let closure = Layers::new(Arc::clone(&b))
        .around(move |inner: Arc<dyn HttpGet>, url: String| async move {
            match tokio::time::timeout(limit, inner.get(&url)).await {
                Ok(result) => result,
                Err(_) => Err(DecoratorError::TimedOut { url, limit }.into()),
            }
        })
        .retry(halving())
        .build();
    let start = Instant::now();
    let by_hand = hand.get(URL).await.unwrap();
    let hand_took = start.elapsed();
    let start = Instant::now();
    assert_eq!(closure.get(URL).await.unwrap(), by_hand);
    assert_eq!(start.elapsed(), hand_took);
    assert_eq!(hand_took, ms(300 + 50 + 100 + 50));
    assert_eq!(a.starts(), b.starts());
}

#[tokio::test(start_paused = true)]
async fn an_open_circuit_inside_a_retry_ends_the_retry() {
    let mut mock = MockHttpGet::new();
    mock.expect_get()
        .times(2)
        .returning(|url| Err(status(url, 503)));
    let circuit = Circuit::new(Trip::Consecutive(2), Duration::from_secs(60));
    let stack = Layers::new(mock)
        .breaker(&circuit)
        .retry(halving().attempts(5))
        .build();
    let e = stack.get(URL).await.unwrap_err();
    match decorator_error(&e) {
        DecoratorError::GaveUp {
            attempts: 3,
            reason: GiveUp::NotRetryable,
            last,
            ..
        } => {
            assert!(matches!(
                decorator_error(last),
                DecoratorError::CircuitOpen { .. }
            ));
        }
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------- tower

/// A result in words, the same for both stacks when they did the same thing: a timeout is
/// ours (`TimedOut`) in one and tower's (`Elapsed`) in the other.
fn outcome(result: &Result<String, HttpError>) -> String {
    fn cause(e: &HttpError) -> String {
        match e {
            HttpError::Decorator(d) => match &**d {
                DecoratorError::GaveUp {
                    attempts,
                    reason,
                    last,
                    ..
                } => {
                    format!("gave up after {attempts} ({reason}): {}", cause(last))
                }
                DecoratorError::TimedOut { .. } => "timed out".into(),
                DecoratorError::Service { .. } if is_transient(e) => "timed out".into(),
                other => other.to_string(),
            },
            other => other.to_string(),
        }
    }
    match result {
        Ok(body) => body.clone(),
        Err(e) => cause(e),
    }
}

#[tokio::test(start_paused = true)]
async fn the_same_stack_built_by_hand_and_with_tower_gives_the_same_results() {
    use Beat::{After, Fail, Hang, Ok};
    let limit = ms(300);
    let scripts: [&[Beat]; 7] = [
        &[Ok(10)],
        &[Fail(0, 503), Ok(10)],
        &[Fail(0, 503)],
        &[Fail(0, 404)],
        &[Hang, Hang, Ok(10)],
        &[Hang],
        &[After(2), Ok(0)],
    ];
    let expected = [
        ("page http://test/a #0", 10),
        ("page http://test/a #1", 60),
        (
            "gave up after 3 (the limit of 3 attempts): http://test/a answered HTTP 503",
            150,
        ),
        ("http://test/a answered HTTP 404", 0),
        ("page http://test/a #2", 300 + 50 + 300 + 100 + 10),
        (
            "gave up after 3 (the limit of 3 attempts): timed out",
            300 + 50 + 300 + 100 + 300,
        ),
        ("page http://test/a #1", 2000),
    ];
    for (beats, (want, took)) in scripts.iter().zip(expected) {
        let (a, b) = (Scripted::new(beats), Scripted::new(beats));
        let hand = Layers::new(Arc::clone(&a))
            .timeout(limit)
            .retry(halving())
            .build();
        let tower = FromService::new(
            ServiceBuilder::new()
                .retry(TowerRetry::new(halving()))
                .timeout(limit)
                .service(HttpService::new(Arc::clone(&b))),
        );
        for (name, http, script) in [("hand", &hand as &dyn HttpGet, &a), ("tower", &tower, &b)] {
            let start = Instant::now();
            let result = http.get(URL).await;
            assert_eq!(outcome(&result), want, "{name} on {beats:?}");
            assert_eq!(start.elapsed(), ms(took), "{name} on {beats:?}");
            assert_eq!(script.gauge.current(), 0, "{name}: nothing left in flight");
        }
        assert_eq!(
            a.starts(),
            b.starts(),
            "{beats:?}: the same attempts at the same times"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn towers_limit_shed_and_buffer_stack_on_our_client() {
    // Concurrency limit of 1 with load shedding: a second call at the same time is refused.
    let mut mock = MockHttpGet::new();
    mock.expect_get().times(1).returning(|_| Ok("page".into()));
    let shed = FromService::new(
        ServiceBuilder::new()
            .load_shed()
            .concurrency_limit(1)
            .service(HttpService::new(Delayed::new(mock, ms(100)))),
    );
    let (first, second) = tokio::join!(shed.get(URL), shed.get(URL));
    assert_eq!(first.unwrap(), "page");
    let e = second.unwrap_err();
    assert!(
        matches!(decorator_error(&e), DecoratorError::Service { .. }),
        "{e}"
    );
    assert!(e.to_string().contains("overloaded"), "{e}");

    // Through a buffer (a worker task of tower's), our typed error comes back as itself.
    let mut mock = MockHttpGet::new();
    mock.expect_get()
        .times(1)
        .returning(|url| Err(status(url, 404)));
    let buffered = FromService::new(
        ServiceBuilder::new()
            .buffer(4)
            .service(HttpService::new(mock)),
    );
    let e = buffered.get(URL).await.unwrap_err();
    assert!(matches!(e, HttpError::Status { status: 404, .. }), "{e:?}");
}

#[tokio::test(start_paused = true)]
async fn our_breaker_and_retry_wrap_a_tower_service() {
    let mut never = MockHttpGet::new();
    never.expect_get().times(0);
    // tower's timeout cuts the 10 s calls at 1 s; our breaker counts those timeouts.
    let towered = FromService::new(
        ServiceBuilder::new()
            .timeout(Duration::from_secs(1))
            .service(HttpService::new(Delayed::new(
                never,
                Duration::from_secs(10),
            ))),
    );
    let circuit = Circuit::new(Trip::Consecutive(2), Duration::from_secs(60));
    let stack = Layers::new(towered)
        .breaker(&circuit)
        .retry(halving().attempts(5))
        .build();
    let start = Instant::now();
    let e = stack.get(URL).await.unwrap_err();
    // Two timed-out attempts (1 s, a 50 ms wait, 1 s) open the circuit; after the next wait
    // (100 ms) the third attempt meets the open circuit, which ends the retry.
    assert_eq!(start.elapsed(), ms(2150));
    assert_eq!(circuit.state(), BreakerState::Open);
    assert!(matches!(
        decorator_error(&e),
        DecoratorError::GaveUp {
            attempts: 3,
            reason: GiveUp::NotRetryable,
            ..
        }
    ));
}

// ------------------------------------------------------------------- the loopback server

#[test]
fn the_clients_read_retry_after_from_a_429_or_503() {
    let server = TestServer::start().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let native = NativeHttp::new(HttpConfig::default()).unwrap();
    let threaded = ThreadedHttp::new(HttpConfig::default());
    let blocking = async_patterns::http::BlockingHttp::new(HttpConfig::default()).unwrap();
    for (code, after) in [(429, 7), (503, 0)] {
        let url = server.retry_after_url(code, 1, after);
        let wanted = Duration::from_secs(after);
        let results = [
            runtime.block_on(native.get(&url)),
            runtime.block_on(async {
                server.reset_scripts();
                threaded.get(&url).await
            }),
            {
                server.reset_scripts();
                blocking.get(&url)
            },
        ];
        for result in results {
            assert!(
                matches!(&result, Err(HttpError::RetryAfter { status, retry_after, .. })
                    if *status == code && *retry_after == wanted),
                "{result:?}"
            );
        }
        server.reset_scripts();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_routes_answer_in_order_with_a_counter_per_url() {
    let server = TestServer::start().unwrap();
    let http = NativeHttp::new(HttpConfig::default()).unwrap();
    let flaky = server.flaky_url("ffo");
    let mut seen = VecDeque::new();
    for _ in 0..4 {
        seen.push_back(http.get(&flaky).await.map_err(|e| e.status()));
    }
    assert_eq!(
        seen,
        [
            Err(Some(503)),
            Err(Some(503)),
            Ok("ok 2".into()),
            Err(Some(503))
        ]
    );
    // Another query is another counter.
    assert!(http.get(&format!("{flaky}&run=2")).await.is_err());
    let every = server.fail_every_url(3);
    let codes: Vec<_> = futures::future::join_all((0..6).map(|_| http.get(&every)))
        .await
        .iter()
        .map(Result::is_ok)
        .collect();
    assert_eq!(codes.iter().filter(|ok| !**ok).count(), 2);

    // Through a retry, a 503 with `Retry-After: 0` twice is two retries.
    server.reset_stats();
    let retry = Retry::new(&http, RetryPolicy::default());
    assert_eq!(
        retry.get(&server.retry_after_url(503, 2, 0)).await.unwrap(),
        "ok 2"
    );
    assert_eq!(server.requests(), 3);

    // The slow tail: every 4th request is 5x slower.
    let tail = server.slow_tail_url(4, 20, 5);
    let bodies: Vec<String> = {
        let mut out = Vec::new();
        for _ in 0..4 {
            out.push(http.get(&tail).await.unwrap());
        }
        out
    };
    assert_eq!(bodies, ["ok 0", "ok 1", "ok 2", "slow 3"]);
    let not_a_script = server.url("/script/x");
    assert_eq!(
        http.get(&not_a_script).await.unwrap_err().status(),
        Some(400)
    );
}

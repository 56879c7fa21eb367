//! Breaker: every transition at its instant, an open circuit that calls nothing, probes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_patterns::decorator::{Breaker, BreakerState, Circuit, DecoratorError, Transition, Trip};
use async_patterns::http::HttpGet;
use async_patterns::testkit::{Delayed, MockHttpGet};
use mockall::Sequence;
use tokio::time::Instant;

use super::{URL, decorator_error, ms, paused, status};

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
    let message = decorator_error(&e).to_string();
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

/// `Duration::MAX` as a cool-down: the failure that opens the circuit used to panic
/// (`now + cool_down`); now the circuit stays open for good, and says so.
#[test]
fn a_cool_down_of_duration_max_keeps_the_circuit_open_for_good() {
    paused(async {
        let mut mock = MockHttpGet::new();
        mock.expect_get()
            .times(1)
            .returning(|url| Err(status(url, 503)));
        let circuit = Circuit::new(Trip::Consecutive(1), Duration::MAX);
        let breaker = Breaker::new(mock, &circuit);
        assert!(breaker.get(URL).await.is_err());
        tokio::time::advance(Duration::from_secs(100 * 365 * 86_400)).await; // a century
        for _ in 0..2 {
            let e = breaker.get(URL).await.unwrap_err();
            assert!(matches!(
                decorator_error(&e),
                DecoratorError::CircuitOpen { retry_in: Some(r), .. } if *r == Duration::MAX
            ));
        }
        assert_eq!(circuit.state(), BreakerState::Open);
    });
}

/// A failure-rate window of `u32::MAX` is lowered to `Trip::MAX_WINDOW`: the circuit judges
/// (and opens) once that many calls are seen, and remembers no more.
#[test]
fn a_failure_rate_window_is_capped() {
    paused(async {
        let rate = Trip::FailureRate {
            rate: 1.0,
            window: u32::MAX,
        };
        let circuit = Circuit::new(rate, Duration::from_secs(1));
        let failed: Result<(), _> = Err(status(URL, 503));
        for _ in 0..Trip::MAX_WINDOW {
            assert_eq!(circuit.state(), BreakerState::Closed);
            circuit.admit(URL).unwrap().record(&failed);
        }
        assert_eq!(circuit.state(), BreakerState::Open);
    });
}

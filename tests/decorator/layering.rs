//! Layering: a closure in the place of a decorator, and an order of layers that matters.

use std::sync::Arc;
use std::time::Duration;

use async_patterns::decorator::{BreakerState, Circuit, DecoratorError, GiveUp, Layers, Trip};
use async_patterns::http::HttpGet;
use async_patterns::testkit::MockHttpGet;
use tokio::time::Instant;

use super::{Beat, Scripted, URL, decorator_error, halving, ms, status};

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

/// A retry that gave up is not a transient failure, so a breaker outside a retry counts it only
/// when told to: by default it never opens there.
#[tokio::test(start_paused = true)]
async fn a_breaker_outside_a_retry_counts_retries_spent_only_when_told_to() {
    let script = Scripted::new(&[Beat::Fail(0, 503)]);
    let retried = || Layers::new(Arc::clone(&script)).retry(halving().attempts(2));
    let by_default = Circuit::new(Trip::Consecutive(1), ms(1000));
    let outside = retried().breaker(&by_default).build();
    for _ in 0..3 {
        assert!(outside.get(URL).await.is_err());
    }
    assert_eq!(by_default.state(), BreakerState::Closed);

    let told = Circuit::counting(Trip::Consecutive(1), ms(1000), |_| true);
    let outside = retried().breaker(&told).build();
    assert!(outside.get(URL).await.is_err());
    assert_eq!(told.state(), BreakerState::Open);
}

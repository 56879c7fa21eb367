//! Limits: a semaphore and a token bucket that make calls wait their turn.

use std::sync::Arc;

use async_patterns::decorator::{ConcurrencyLimit, DecoratorError, Layers, RateLimit};
use async_patterns::http::HttpGet;
use async_patterns::testkit::{Delayed, MockHttpGet};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::{Beat, Scripted, URL, decorator_error, ms, paused};

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

/// `usize::MAX` permits, meant as "no limit", used to panic inside tokio's `Semaphore::new`;
/// now it is lowered to the most a semaphore holds, and every call goes at once.
#[test]
fn a_concurrency_limit_of_usize_max_is_no_limit() {
    paused(async {
        let script = Scripted::new(&[Beat::Ok(100)]);
        let by_hand = ConcurrencyLimit::new(Arc::clone(&script), usize::MAX);
        let built = Layers::new(Arc::clone(&script))
            .concurrency(usize::MAX)
            .build();
        for limited in [by_hand, built] {
            assert_eq!(
                limited.permits().available_permits(),
                Semaphore::MAX_PERMITS
            );
            let start = Instant::now();
            let all = futures::future::join_all((0..10).map(|_| limited.get(URL))).await;
            assert!(all.iter().all(Result::is_ok));
            assert_eq!(start.elapsed(), ms(100));
        }
        assert_eq!(script.gauge.peak(), 10);
    });
}

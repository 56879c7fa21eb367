//! Limits: a semaphore and a token bucket that make calls wait their turn.

use std::sync::Arc;
use std::time::Duration;

use async_patterns::decorator::{ConcurrencyLimit, DecoratorError, Layers, RateLimit};
use async_patterns::http::HttpGet;
use async_patterns::testkit::{Delayed, MockHttpGet};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
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

/// Issue 18's overload: `rate(1, 10 ms)` under `timeout(50 ms)`. At 200 calls a second for 3 s,
/// then 50 a second for 3 s, the limiter must keep letting its 100 a second through. With
/// tokens reserved ahead, each timed-out waiter kept one nobody used: 11 of 601 got through,
/// then 0 of 151.
#[test]
fn callers_that_give_up_under_overload_cost_the_others_nothing() {
    paused(async {
        let script = Scripted::new(&[Beat::Ok(0)]);
        let stack = Layers::new(Arc::clone(&script))
            .rate(1, ms(10))
            .timeout(ms(50))
            .build();
        let stack = Arc::new(stack);
        let offer = |calls: u64, every: u64| {
            let stack = Arc::clone(&stack);
            async move {
                let mut running = JoinSet::new();
                for _ in 0..calls {
                    let stack = Arc::clone(&stack);
                    running.spawn(async move { stack.get(URL).await.is_ok() });
                    tokio::time::sleep(ms(every)).await;
                }
                let done = running.join_all().await;
                done.iter().filter(|ok| **ok).count()
            }
        };
        // 600 calls in 3 s, one every 5 ms: the 300 tokens of those 3 s all serve a caller.
        let overloaded = offer(600, 5).await;
        assert!(overloaded >= 295, "{overloaded} of 600 within the rate");
        // Then 150 calls in 3 s, one every 20 ms: under the rate, every one is served.
        let calm = offer(150, 20).await;
        assert_eq!(calm, 150);

        // 10,000 callers that all give up (at 50 ms): the next one waits one interval at most.
        let mut abandoned = JoinSet::new();
        for _ in 0..10_000 {
            let stack = Arc::clone(&stack);
            abandoned.spawn(async move { stack.get(URL).await.is_ok() });
        }
        let served = abandoned.join_all().await.iter().filter(|ok| **ok).count();
        assert!(served <= 6, "{served} served in 50 ms");
        let start = Instant::now();
        assert!(stack.get(URL).await.is_ok());
        assert!(start.elapsed() <= ms(10), "waited {:?}", start.elapsed());
    });
}

/// `Duration::MAX` as the interval: the call after the burst used to panic (`interval * owed`);
/// now it waits for good, or is refused with what it would have waited.
#[test]
fn an_interval_of_duration_max_waits_for_good_or_refuses() {
    paused(async {
        let script = Scripted::new(&[Beat::Ok(0)]);
        let limited = RateLimit::new(Arc::clone(&script), 1, Duration::MAX);
        assert!(limited.get(URL).await.is_ok());
        let year = Duration::from_secs(365 * 86_400);
        assert!(tokio::time::timeout(year, limited.get(URL)).await.is_err());

        let impatient = RateLimit::new(Arc::clone(&script), 1, Duration::MAX).max_wait(year);
        assert!(impatient.get(URL).await.is_ok());
        let e = impatient.get(URL).await.unwrap_err();
        assert!(matches!(
            decorator_error(&e),
            DecoratorError::RateLimited { wait, .. } if *wait == Duration::MAX
        ));
        assert_eq!(script.starts().len(), 2);

        // An interval of zero is no limit: a thousand calls at one instant.
        let free = RateLimit::new(Arc::clone(&script), 1, Duration::ZERO);
        let start = Instant::now();
        for _ in 0..1000 {
            assert!(free.get(URL).await.is_ok());
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
    });
}

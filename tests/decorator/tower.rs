//! tower: the same stack by hand and with tower's layers, and each wrapping the other.

use std::sync::Arc;
use std::time::Duration;

use async_patterns::decorator::{
    BreakerState, Circuit, DecoratorError, FromService, GiveUp, HttpService, Layers, TowerRetry,
    Trip, is_transient,
};
use async_patterns::http::{HttpError, HttpGet};
use async_patterns::testkit::{Delayed, MockHttpGet};
use tokio::time::Instant;
use tower::ServiceBuilder;

use super::{Beat, Scripted, URL, chain, decorator_error, halving, ms, status};

/// A result in words, the same for both stacks when they did the same thing: a timeout is
/// ours (`TimedOut`) in one and tower's (`Elapsed`) in the other.
fn outcome(result: &Result<String, HttpError>) -> String {
    fn cause(e: &HttpError) -> String {
        match DecoratorError::of(e) {
            Some(DecoratorError::GaveUp {
                attempts,
                reason,
                last,
                ..
            }) => format!("gave up after {attempts} ({reason}): {}", cause(last)),
            Some(DecoratorError::TimedOut { .. }) => "timed out".into(),
            Some(DecoratorError::Service { .. }) if is_transient(e) => "timed out".into(),
            _ => e.to_string(),
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
    assert_eq!(
        chain(&e)[1..],
        [
            "the service fetching http://test/a failed",
            "service overloaded"
        ],
        "{e}"
    );

    // Through a buffer (a worker task of tower's), our typed error comes back as itself. The
    // mock lives in that task, which catches a panic (mockall's way of failing) and drops the
    // mock where its own check of `times` fails unseen: the calls are counted here instead.
    let mut mock = MockHttpGet::new();
    mock.expect_get()
        .times(1)
        .returning(|url| Err(status(url, 404)));
    let counted = Arc::new(Delayed::new(mock, Duration::ZERO));
    let buffered = FromService::new(
        ServiceBuilder::new()
            .buffer(4)
            .service(HttpService::shared(Arc::clone(&counted))),
    );
    let e = buffered.get(URL).await.unwrap_err();
    assert!(matches!(e, HttpError::Status { status: 404, .. }), "{e:?}");
    assert_eq!(counted.gauge().total(), 1);
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

//! Retry: exact attempts and waits, the final error, `Retry-After` and the budget.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_patterns::decorator::{DecoratorError, GiveUp, NoJitter, Retry, RetryPolicy};
use async_patterns::http::{HttpConfig, HttpError, HttpGet, NativeHttp};
use async_patterns::testkit::{Delayed, MockHttpGet};
use mockall::Sequence;
use tokio::time::Instant;

use super::{Beat, Scripted, URL, chain, decorator_error, halving, ms, paused, status};

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
        chain(&e),
        [
            "a layer around the client stopped the call to http://test/a",
            "gave up on http://test/a after 4 attempts in 350ms (the limit of 4 attempts)",
            "http://test/a answered HTTP 503",
        ]
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

/// A server's `Retry-After` of `u64::MAX` seconds, after an attempt of over a second, with a
/// budget: the sum of the two saturates (it used to overflow and panic), and the call gives up.
#[test]
fn a_huge_retry_after_or_backoff_gives_up_instead_of_overflowing() {
    paused(async {
        let forever = Duration::from_secs(u64::MAX);
        let mut mock = MockHttpGet::new();
        mock.expect_get().times(1).returning(move |url| {
            let url = url.to_owned();
            Err(HttpError::RetryAfter {
                url,
                status: 503,
                retry_after: forever,
            })
        });
        let slow = Delayed::new(mock, ms(1500));
        // No limit on a wait, so the server's wish is within the policy; the budget is not.
        let budget = Duration::from_secs(60);
        let policy = halving().backoff(ms(100), Duration::MAX).budget(budget);
        let start = Instant::now();
        let e = Retry::new(&slow, policy).get(URL).await.unwrap_err();
        assert_eq!(start.elapsed(), ms(1500));
        assert!(
            matches!(
                decorator_error(&e),
                DecoratorError::GaveUp { attempts: 1, reason: GiveUp::Budget(b), .. } if *b == budget
            ),
            "{e}"
        );

        // The same without a header: a backoff of `Duration::MAX`, taken whole (`NoJitter`).
        let mut mock = MockHttpGet::new();
        mock.expect_get()
            .times(1)
            .returning(|url| Err(status(url, 503)));
        let slow = Delayed::new(mock, ms(1500));
        let policy = RetryPolicy::default()
            .backoff(Duration::MAX, Duration::MAX)
            .jitter(NoJitter)
            .budget(budget);
        let e = Retry::new(&slow, policy).get(URL).await.unwrap_err();
        assert!(
            matches!(
                decorator_error(&e),
                DecoratorError::GaveUp {
                    attempts: 1,
                    reason: GiveUp::Budget(_),
                    ..
                }
            ),
            "{e}"
        );
    });
}

/// `Retry-After: 86400` used to park a call for a day, past the policy's longest wait of 10 s;
/// now the call gives up at once and says what the server asked for. A wait of exactly the
/// longest is still honoured.
#[test]
fn a_retry_after_longer_than_the_policy_allows_gives_up_at_once() {
    paused(async {
        let script = Scripted::new(&[Beat::After(86_400), Beat::Ok(0)]);
        let start = Instant::now();
        let e = Retry::new(Arc::clone(&script), RetryPolicy::default())
            .get(URL)
            .await
            .unwrap_err();
        assert_eq!(start.elapsed(), Duration::ZERO);
        assert_eq!(script.starts().len(), 1);
        let (asked, longest) = (Duration::from_secs(86_400), Duration::from_secs(10));
        match decorator_error(&e) {
            DecoratorError::GaveUp {
                attempts: 1,
                reason,
                last,
                ..
            } => {
                assert_eq!(*reason, GiveUp::RetryAfter { asked, longest });
                assert!(
                    matches!(**last, HttpError::RetryAfter { retry_after, .. } if retry_after == asked)
                );
            }
            other => panic!("{other:?}"),
        }
        let why = &chain(&e)[1];
        assert!(
            why.contains("the server asked to wait 86400s, longer than the longest wait of 10s"),
            "{why}"
        );

        let script = Scripted::new(&[Beat::After(10), Beat::Ok(0)]);
        let retry = Retry::new(Arc::clone(&script), RetryPolicy::default());
        assert_eq!(retry.get(URL).await.unwrap(), "page http://test/a #1");
        assert_eq!(script.starts(), [ms(0), Duration::from_secs(10)]);
    });
}

/// `budget(Duration::MAX)` is "no budget": it used to panic on every call (`start + budget`),
/// even one that succeeded at once.
#[test]
fn a_budget_of_duration_max_is_no_budget() {
    paused(async {
        let script = Scripted::new(&[Beat::Fail(0, 503), Beat::Ok(0)]);
        let policy = halving().budget(Duration::MAX);
        let retry = Retry::new(Arc::clone(&script), policy);
        assert_eq!(retry.get(URL).await.unwrap(), "page http://test/a #1");
        assert_eq!(script.starts(), [ms(0), ms(50)]);
    });
}

#[test]
fn the_backoff_keeps_doubling_until_it_reaches_its_maximum() {
    let hour = Duration::from_secs(3600);
    let policy = RetryPolicy::default().backoff(Duration::from_nanos(1), hour);
    // 2^33 ns is past 2^32 ns: the doubling does not stop at some fixed count.
    assert_eq!(policy.ceiling(34), Duration::from_nanos(1 << 33));
    // 2^42 ns is past an hour: from there on, the maximum.
    assert_eq!(policy.ceiling(43), hour);
    assert_eq!(policy.ceiling(u32::MAX), hour);
    let never = RetryPolicy::default().backoff(Duration::MAX, Duration::MAX);
    assert_eq!(never.ceiling(u32::MAX), Duration::MAX);
}

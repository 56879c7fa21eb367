//! Isolation: an observer that fails, panics or takes too long is reported so, and the others
//! still get the event; a dropped notification cancels what is in flight.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_patterns::observer::{BoxError, Observer, ObserverError, Outcome, Subject};
use async_patterns::testkit::{Delayed, Gauge, MockObserver};
use tokio::time::Instant;

use super::{DOOR, Home, LIGHT, expects_both_once, ms, slow_ok};

#[tokio::test(start_paused = true)]
async fn a_slow_observer_times_out_while_the_others_are_delivered() {
    let subject = Subject::<Home>::builder().timeout(ms(1000)).build();
    assert_eq!(subject.timeout(), Some(ms(1000)));
    // A mock with no expectation: reached, it would panic, and be reported panicked.
    let slow = Delayed::new(MockObserver::<Home>::new(), Duration::from_secs(10));
    let gauge = slow.gauge().clone();
    let slow = subject.subscribe_named("slow", slow);
    let _fast = subject.subscribe_named("fast", slow_ok(ms(100)));
    let _instant = subject.subscribe_named("instant", slow_ok(Duration::ZERO));

    let start = Instant::now();
    let report = subject.notify(&LIGHT).await;
    assert_eq!((report.delivered(), report.timed_out()), (2, 1), "{report}");
    assert_eq!(start.elapsed(), ms(1000));
    let timed_out = report
        .get(slow.id())
        .expect("the slow observer is in the report");
    assert!(matches!(timed_out.outcome, Outcome::TimedOut(d) if d == ms(1000)));
    assert_eq!(timed_out.elapsed, ms(1000));
    // The slow call was cancelled, not left running.
    assert_eq!(gauge.current(), 0);

    let errors = report.into_errors();
    assert_eq!(errors.len(), 1);
    assert!(matches!(&errors[0], ObserverError::TimedOut { name, .. } if name == "slow"));

    // In order, each observer has its own timeout: 1 s for the slow one, then 100 ms.
    let start = Instant::now();
    let report = subject.notify_in_order(&LIGHT).await;
    assert_eq!(start.elapsed(), ms(1100));
    assert_eq!((report.delivered(), report.timed_out()), (2, 1));
    let timed_out = &report.get(slow.id()).unwrap().outcome;
    assert!(matches!(timed_out, Outcome::TimedOut(d) if *d == ms(1000)));
    assert_eq!(gauge.current(), 0);
}

/// An observer with a bug. (Not a mock: a panic inside a mock poisons the mock itself.)
struct Crashes;

#[async_trait::async_trait]
impl Observer<Home> for Crashes {
    async fn notify(&self, _: &Home) -> Result<(), BoxError> {
        panic!("sensor driver crashed")
    }
}

#[tokio::test]
async fn a_panicking_and_a_failing_observer_do_not_stop_the_others() {
    let subject = Subject::<Home>::builder().timeout(ms(1000)).build();
    let _before = subject.subscribe_named("before", expects_both_once());
    let panics = subject.subscribe_named("panics", Crashes);
    let mut fails = MockObserver::<Home>::new();
    fails
        .expect_notify()
        .returning(|_| Err("webhook answered 503".into()));
    let fails = subject.subscribe_named("fails", fails);
    let _after = subject.subscribe_named("after", expects_both_once());

    let concurrent = subject.notify(&DOOR).await;
    let in_order = subject.notify_in_order(&LIGHT).await;
    for report in [&concurrent, &in_order] {
        assert_eq!(report.len(), 4);
        assert_eq!(
            (report.delivered(), report.failed(), report.panicked()),
            (2, 1, 1)
        );
        assert!(!report.all_delivered());
        let panicked = &report.get(panics.id()).unwrap().outcome;
        assert!(matches!(panicked, Outcome::Panicked(m) if m == "sensor driver crashed"));
        let failed = &report.get(fails.id()).unwrap().outcome;
        assert!(matches!(failed, Outcome::Failed(e) if e.to_string() == "webhook answered 503"));
        assert!(report.by_name("before").unwrap().outcome.is_delivered());
        assert!(report.by_name("after").unwrap().outcome.is_delivered());
    }
    let text = concurrent.to_string();
    assert!(text.contains("panicked: sensor driver crashed"), "{text}");
    assert!(text.contains("failed: webhook answered 503"), "{text}");
    drop(subject);
}

#[tokio::test(start_paused = true)]
async fn zero_and_huge_timeouts_neither_panic_nor_misreport() {
    // Zero: what is ready at once is delivered, anything that waits times out at once.
    let subject = Subject::<Home>::builder().timeout(Duration::ZERO).build();
    let ready = subject.subscribe_named("ready", slow_ok(Duration::ZERO));
    let waits = subject.subscribe_named("waits", slow_ok(ms(10)));
    let start = Instant::now();
    let report = subject.notify(&DOOR).await;
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert!(report.get(ready.id()).unwrap().outcome.is_delivered());
    let outcome = &report.get(waits.id()).unwrap().outcome;
    assert!(matches!(outcome, Outcome::TimedOut(d) if d.is_zero()));

    // `Duration::MAX` overflows any deadline: it must mean "no limit", not a panic.
    let subject = Subject::<Home>::builder().timeout(Duration::MAX).build();
    let _slow = subject.subscribe_named("slow", slow_ok(ms(10)));
    let start = Instant::now();
    assert!(subject.notify(&DOOR).await.all_delivered());
    assert_eq!(start.elapsed(), ms(10));
}

#[tokio::test(start_paused = true)]
async fn dropping_a_notification_cancels_the_calls_in_flight() {
    let subject = Subject::<Home>::new();
    let gauge = Gauge::new();
    let reached = Arc::new(AtomicUsize::new(0));
    let mut guards = Vec::new();
    for name in ["a", "b"] {
        // Reached only if the call outlives the dropped notification: it must not. Counted
        // outside the mock: a violated `times(0)` would panic where nobody looks.
        let mut never = MockObserver::<Home>::new();
        let count = Arc::clone(&reached);
        never.expect_notify().returning(move |_| {
            count.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        let slow = Delayed::with_gauge(never, Duration::from_secs(1), gauge.clone());
        guards.push(subject.subscribe_named(name, slow));
    }
    let cut_short = tokio::time::timeout(ms(100), subject.notify(&DOOR)).await;
    assert!(
        cut_short.is_err(),
        "the notification should still be waiting"
    );
    assert_eq!((gauge.total(), gauge.current()), (2, 0));
    // Nothing was spawned: no call resumes later.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(gauge.total(), 2);
    assert_eq!(
        reached.load(Ordering::SeqCst),
        0,
        "a cancelled call reached its observer"
    );
}

//! Delivery: every subscriber gets each event once, concurrently in the slowest one's time or
//! in order in the sum, and many publishers at once lose and duplicate nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_patterns::observer::{
    BoxError, FnObserver, Observer, Outcome, OwnedFnObserver, Subject, Subscription,
};
use async_patterns::testkit::{Delayed, Gauge, MockObserver};
use mockall::Sequence;
use tokio::time::Instant;

use super::{DOOR, Home, LIGHT, expects_both_once, ms, slow_ok_on};

#[tokio::test]
async fn every_subscriber_gets_each_event_once_and_an_unsubscribed_one_nothing() {
    let subject = Subject::<Home>::new();
    let _a = subject.subscribe_named("a", expects_both_once());
    let _b = subject.subscribe_named("b", expects_both_once());
    let mut gone = MockObserver::<Home>::new();
    gone.expect_notify().times(0);
    let gone = subject.subscribe_named("gone", gone);
    assert!(gone.unsubscribe());
    assert_eq!(subject.len(), 2);

    for event in [DOOR, LIGHT] {
        let report = subject.notify(&event).await;
        assert!(report.all_delivered(), "{report}");
        assert_eq!(report.len(), 2);
        assert!(report.by_name("gone").is_none());
    }
    // A call "a" or "b" did not expect would have panicked inside the subject, which
    // `all_delivered` rules out; dropping the subject drops the mocks, which then check,
    // outside the subject, that neither was called fewer times than expected.
    drop(subject);
}

#[test]
fn subjects_guards_and_streams_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Subject<Home>>();
    send_sync::<Subscription>();
    send::<async_patterns::observer::EventStream<Home>>();
    send_sync::<async_patterns::observer::Report>();
}

#[tokio::test(start_paused = true)]
async fn notify_in_order_follows_subscription_order() {
    let subject = Subject::<Home>::new();
    let mut seq = Sequence::new();
    let mut guards = Vec::new();
    // The first subscribed is the slowest: run concurrently, the mocks would be reached in
    // reverse order and the `Sequence` would fail.
    for (name, delay) in [("first", 30), ("second", 20), ("third", 10)] {
        let mut mock = MockObserver::<Home>::new();
        mock.expect_notify()
            .withf(|e: &Home| *e == DOOR)
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Ok(()));
        guards.push(subject.subscribe_named(name, Delayed::new(mock, ms(delay))));
    }
    let start = Instant::now();
    let report = subject.notify_in_order(&DOOR).await;
    // A mock reached out of sequence panics inside the subject: the report says so.
    assert!(report.all_delivered(), "{report}");
    let names: Vec<&str> = report.iter().map(|d| &*d.name).collect();
    assert_eq!(names, ["first", "second", "third"]);
    assert_eq!(start.elapsed(), ms(60));
}

/// Observers of 100, 200 and 300 ms, sharing a gauge that counts how many overlap.
fn three_slow_observers(gauge: &Gauge) -> (Subject<Home>, Vec<Subscription>) {
    let subject = Subject::new();
    let guards = [100, 200, 300]
        .into_iter()
        .map(|d| subject.subscribe_named(format!("{d} ms"), slow_ok_on(ms(d), gauge.clone())))
        .collect();
    (subject, guards)
}

#[tokio::test(start_paused = true)]
async fn concurrent_takes_the_slowest_in_order_takes_the_sum() {
    let gauge = Gauge::new();
    let (subject, _guards) = three_slow_observers(&gauge);
    let start = Instant::now();
    let report = subject.notify(&DOOR).await;
    assert_eq!(start.elapsed(), ms(300));
    assert!(report.all_delivered());
    let each: Vec<Duration> = report.iter().map(|d| d.elapsed).collect();
    assert_eq!(each, [ms(100), ms(200), ms(300)]);
    assert_eq!((gauge.total(), gauge.peak()), (3, 3));

    let gauge = Gauge::new();
    let (subject, _guards) = three_slow_observers(&gauge);
    let start = Instant::now();
    let report = subject.notify_in_order(&DOOR).await;
    assert_eq!(start.elapsed(), ms(600));
    assert_eq!(report.delivered(), 3);
    assert_eq!((gauge.total(), gauge.peak()), (3, 1));
}

#[tokio::test]
async fn async_closures_and_shared_observers_work_as_observers() {
    let subject = Subject::<u64>::new();
    let total = Arc::new(AtomicU64::new(0));
    let sum = Arc::clone(&total);
    let _closure = subject.subscribe(FnObserver::new(move |n: &u64| {
        let (n, sum) = (*n, Arc::clone(&sum));
        async move {
            sum.fetch_add(n, Ordering::SeqCst);
            Ok::<(), BoxError>(())
        }
    }));
    // An `async |..|` closure that captures nothing fits, given its own copy of the event.
    let _async_closure = subject.subscribe_named(
        "async closure",
        OwnedFnObserver::new(async |n: u64| {
            tokio::task::yield_now().await;
            if n > 100 {
                Err::<(), BoxError>(format!("{n} is too big").into())
            } else {
                Ok(())
            }
        }),
    );
    let report = subject.notify(&40).await;
    assert!(report.all_delivered());
    let report = subject.notify(&200).await;
    let outcome = &report.by_name("async closure").unwrap().outcome;
    assert!(matches!(outcome, Outcome::Failed(e) if e.to_string() == "200 is too big"));
    assert_eq!(total.load(Ordering::SeqCst), 240);
}

/// Records how many times it saw each event number.
struct Tally(Mutex<Vec<u32>>);

#[async_trait::async_trait]
impl Observer<u64> for Tally {
    async fn notify(&self, event: &u64) -> Result<(), BoxError> {
        tokio::task::yield_now().await; // let other publishers interleave
        let mut seen = self.0.lock().map_err(|_| "tally lock poisoned")?;
        let slot = seen
            .get_mut(*event as usize)
            .ok_or_else(|| format!("event {event} out of range"))?;
        *slot += 1;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_publishers_lose_and_duplicate_nothing() {
    const TASKS: u64 = 8;
    const PER_TASK: u64 = 250;
    const EVENTS: u64 = TASKS * PER_TASK;
    let subject = Arc::new(Subject::<u64>::new());
    let tallies: Vec<Arc<Tally>> = (0..4)
        .map(|_| Arc::new(Tally(Mutex::new(vec![0; EVENTS as usize]))))
        .collect();
    let _guards: Vec<_> = tallies
        .iter()
        .map(|t| subject.subscribe(Arc::clone(t)))
        .collect();

    // Meanwhile, another task keeps subscribing and unsubscribing: no deadlock, no loss.
    let churn = {
        let subject = Arc::clone(&subject);
        tokio::spawn(async move {
            for _ in 0..200 {
                let guard = subject.subscribe(FnObserver::new(|_: &u64| async { Ok(()) }));
                tokio::task::yield_now().await;
                drop(guard);
            }
        })
    };
    let mut publishers = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        let subject = Arc::clone(&subject);
        publishers.spawn(async move {
            let mut failures = 0;
            for i in 0..PER_TASK {
                let report = if i % 2 == 0 {
                    subject.notify(&(task * PER_TASK + i)).await
                } else {
                    subject.notify_in_order(&(task * PER_TASK + i)).await
                };
                failures += report.len() - report.delivered();
            }
            failures
        });
    }
    while let Some(failures) = publishers.join_next().await {
        assert_eq!(failures.expect("a publisher task failed"), 0);
    }
    churn.await.expect("the churn task failed");

    for (n, tally) in tallies.iter().enumerate() {
        let seen = tally.0.lock().unwrap();
        let wrong: Vec<(usize, u32)> = seen
            .iter()
            .copied()
            .enumerate()
            .filter(|&(_, count)| count != 1)
            .collect();
        assert!(wrong.is_empty(), "observer {n}: (event, count) {wrong:?}");
    }
    assert_eq!(subject.len(), 4);
}

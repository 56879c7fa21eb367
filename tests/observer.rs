//! Observer: delivery, order, timing on the paused clock, isolation, many publishers, streams.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_patterns::observer::{
    BoxError, FnObserver, Observer, ObserverError, Outcome, OwnedFnObserver, Received, Subject,
    Subscription,
};
use async_patterns::testkit::{Delayed, Gauge, MockObserver, within};
use futures::StreamExt;
use mockall::Sequence;
use tokio::time::Instant;

#[derive(Debug, Clone, PartialEq)]
enum Home {
    DoorOpened(&'static str),
    LightSwitched { room: &'static str, on: bool },
}

const DOOR: Home = Home::DoorOpened("front");
const LIGHT: Home = Home::LightSwitched {
    room: "kitchen",
    on: true,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The longest a test that could deadlock may take before it fails (real time; it takes
/// milliseconds when it passes).
const HANG: Duration = Duration::from_secs(10);

/// A current-thread runtime, as `#[tokio::test]`.
fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a test runtime")
}

/// A mock that expects exactly `DOOR` once, then exactly `LIGHT` once.
fn expects_both_once() -> MockObserver<Home> {
    let mut mock = MockObserver::new();
    mock.expect_notify()
        .withf(|e: &Home| *e == DOOR)
        .times(1)
        .returning(|_| Ok(()));
    mock.expect_notify()
        .withf(|e: &Home| *e == LIGHT)
        .times(1)
        .returning(|_| Ok(()));
    mock
}

/// A mock that answers every call `Ok` after `delay` of (virtual) time.
fn slow_ok(delay: Duration) -> Delayed<MockObserver<Home>> {
    slow_ok_on(delay, Gauge::new())
}

/// [`slow_ok`], counting its calls on `gauge`.
fn slow_ok_on(delay: Duration, gauge: Gauge) -> Delayed<MockObserver<Home>> {
    let mut mock = MockObserver::new();
    mock.expect_notify().returning(|_| Ok(()));
    Delayed::with_gauge(mock, delay, gauge)
}

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
    // Dropping the subject drops the mocks, which verify their `times`.
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

#[tokio::test]
async fn dropping_the_guard_unsubscribes() {
    let subject = Subject::<Home>::new();
    let mut mock = MockObserver::<Home>::new();
    mock.expect_notify().times(1).returning(|_| Ok(()));
    let guard = subject.subscribe(mock);
    assert_eq!(subject.notify(&DOOR).await.delivered(), 1);
    drop(guard);
    assert!(subject.is_empty());
    assert!(subject.notify(&LIGHT).await.is_empty());
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
    assert_eq!(start.elapsed(), ms(60));
    let names: Vec<&str> = report.iter().map(|d| &*d.name).collect();
    assert_eq!(names, ["first", "second", "third"]);
    assert!(report.all_delivered(), "{report}");
    drop(subject);
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

#[tokio::test(start_paused = true)]
async fn a_slow_observer_times_out_while_the_others_are_delivered() {
    let subject = Subject::<Home>::builder().timeout(ms(1000)).build();
    assert_eq!(subject.timeout(), Some(ms(1000)));
    let slow = Delayed::new(MockObserver::<Home>::new(), Duration::from_secs(10));
    let gauge = slow.gauge().clone();
    let slow = subject.subscribe_named("slow", slow);
    let _fast = subject.subscribe_named("fast", slow_ok(ms(100)));
    let _instant = subject.subscribe_named("instant", slow_ok(Duration::ZERO));

    let start = Instant::now();
    let report = subject.notify(&LIGHT).await;
    assert_eq!(start.elapsed(), ms(1000));
    assert_eq!((report.delivered(), report.timed_out()), (2, 1));
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

#[test]
fn an_observer_may_subscribe_to_its_subject_during_a_notification() {
    // On a thread of its own: a lock held across an `.await` would hang this test; `within`
    // makes it fail instead.
    within(HANG, || {
        current_thread().block_on(async {
            let subject = Arc::new(Subject::<u64>::new());
            let parked = Arc::new(Mutex::new(Vec::new()));
            let weak = Arc::downgrade(&subject);
            let keep = Arc::clone(&parked);
            // On each event, this observer subscribes a new one to the same subject: it would
            // deadlock if `notify` held the subject's lock while awaiting observers.
            let _recruiter = subject.subscribe(FnObserver::new(move |_: &u64| {
                let (weak, keep) = (weak.clone(), Arc::clone(&keep));
                async move {
                    let subject = weak.upgrade().ok_or("subject gone")?;
                    let guard = subject.subscribe(FnObserver::new(|_: &u64| async { Ok(()) }));
                    keep.lock().map_err(|_| "poisoned")?.push(guard);
                    Ok::<(), BoxError>(())
                }
            }));
            let first = subject.notify(&1).await;
            // The new observer joins from the next notification on.
            assert_eq!((first.len(), subject.len()), (1, 2));
            let second = subject.notify(&2).await;
            assert_eq!((second.len(), subject.len()), (2, 3));
            parked.lock().unwrap().clear();
            assert_eq!(subject.len(), 1);
        })
    });
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

#[tokio::test]
async fn a_lagging_stream_is_told_what_it_missed_and_ends_with_the_subject() {
    let subject = Subject::<u64>::new();
    let mut stream = subject.subscribe_stream(4);
    let mut keeping_up = subject.subscribe_stream(4);

    // `keeping_up` reads every event as it comes; `stream` reads nothing until ten are sent.
    for n in 1..=10 {
        let report = subject.notify(&n).await;
        assert!(report.all_delivered(), "{report}");
        assert_eq!(keeping_up.next().await, Some(Received::Event(n)));
    }
    assert_eq!(stream.next().await, Some(Received::Missed(6)));
    for n in 7..=10 {
        assert_eq!(stream.next().await, Some(Received::Event(n)));
    }
    // Caught up: nothing more is missed.
    subject.notify(&11).await;
    assert_eq!(stream.next().await, Some(Received::Event(11)));

    subject.notify(&12).await;
    drop(subject);
    // What was buffered still arrives, then the stream ends.
    assert_eq!(stream.next().await, Some(Received::Event(12)));
    assert_eq!(stream.next().await, None);
    assert_eq!(keeping_up.next().await, Some(Received::Event(11)));
    assert_eq!(keeping_up.next().await, Some(Received::Event(12)));
    assert_eq!(keeping_up.next().await, None);
}

#[tokio::test]
async fn dropping_a_stream_unsubscribes_it() {
    let subject = Subject::<u64>::new();
    let stream = subject.subscribe_stream(0); // raised to 1
    let id = stream.id();
    let report = subject.notify(&1).await;
    assert!(report.get(id).is_some_and(|d| d.outcome.is_delivered()));
    drop(stream);
    assert!(subject.is_empty());
    assert!(subject.notify(&2).await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_observer_unsubscribed_before_its_turn_is_not_called() {
    let subject = Subject::<Home>::new();
    let later: Arc<Mutex<Option<Subscription>>> = Arc::default();
    let was_subscribed = Arc::new(Mutex::new(None));
    let (slot, answer) = (Arc::clone(&later), Arc::clone(&was_subscribed));
    // The first observer unsubscribes the third while the notification is under way.
    let _first = subject.subscribe_named(
        "first",
        FnObserver::new(move |_: &Home| {
            let (slot, answer) = (Arc::clone(&slot), Arc::clone(&answer));
            async move {
                tokio::time::sleep(ms(10)).await;
                let guard = slot.lock().map_err(|_| "poisoned")?.take();
                let unsubscribed = guard.map(Subscription::unsubscribe);
                *answer.lock().map_err(|_| "poisoned")? = unsubscribed;
                Ok::<(), BoxError>(())
            }
        }),
    );
    let _second = subject.subscribe_named("second", slow_ok(ms(10)));
    let mut third = MockObserver::<Home>::new();
    third.expect_notify().times(0);
    *later.lock().unwrap() = Some(subject.subscribe_named("third", third));

    let report = subject.notify_in_order(&DOOR).await;
    assert_eq!(*was_subscribed.lock().unwrap(), Some(true));
    // The third was unsubscribed before its turn: not called, and not in the report.
    let names: Vec<&str> = report.iter().map(|d| &*d.name).collect();
    assert_eq!(names, ["first", "second"], "{report}");
    assert!(report.all_delivered(), "{report}");
    assert_eq!(subject.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_call_begins_once_unsubscribe_has_returned_under_load() {
    // The load that found the race: 4 tasks notifying while 4 tasks subscribe and unsubscribe
    // 5,000 times each, on a multi-thread runtime.
    const CYCLES: usize = 5_000;
    let subject = Arc::new(Subject::<u64>::new());
    let done = Arc::new(AtomicBool::new(false));
    let (calls, late) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut notifiers = tokio::task::JoinSet::new();
    for task in 0..4_u64 {
        let (subject, done) = (Arc::clone(&subject), Arc::clone(&done));
        notifiers.spawn(async move {
            let mut event = task;
            while !done.load(Ordering::SeqCst) {
                subject.notify(&event).await;
                event += 4;
                tokio::task::yield_now().await;
            }
        });
    }
    let mut churners = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (subject, calls, late) = (Arc::clone(&subject), Arc::clone(&calls), Arc::clone(&late));
        churners.spawn(async move {
            for _ in 0..CYCLES {
                let gone = Arc::new(AtomicBool::new(false));
                let seen = (Arc::clone(&gone), Arc::clone(&calls), Arc::clone(&late));
                let guard = subject.subscribe(FnObserver::new(move |_: &u64| {
                    // The observer's first code: a call that gets here has begun.
                    seen.1.fetch_add(1, Ordering::SeqCst);
                    if seen.0.load(Ordering::SeqCst) {
                        seen.2.fetch_add(1, Ordering::SeqCst);
                    }
                    async { Ok(()) }
                }));
                tokio::task::yield_now().await;
                drop(guard);
                // `unsubscribe` has returned: from here on, no call of this observer may begin.
                gone.store(true, Ordering::SeqCst);
            }
        });
    }
    while let Some(churner) = churners.join_next().await {
        churner.expect("a churn task failed");
    }
    done.store(true, Ordering::SeqCst);
    while let Some(notifier) = notifiers.join_next().await {
        notifier.expect("a notifier task failed");
    }
    assert!(
        calls.load(Ordering::SeqCst) > 0,
        "the observers were called"
    );
    assert_eq!(
        late.load(Ordering::SeqCst),
        0,
        "calls that began after unsubscribe returned (of {} calls)",
        calls.load(Ordering::SeqCst)
    );
    assert!(subject.is_empty());
}

#[test]
fn an_observer_may_unsubscribe_itself_before_its_first_await() {
    // Unsubscribing waits for the calls being started; from inside one of them it must not wait
    // (it would wait for itself). `within` turns such a hang into a failure.
    within(HANG, || {
        current_thread().block_on(async {
            let subject = Subject::<u64>::new();
            let slot: Arc<Mutex<Option<Subscription>>> = Arc::default();
            let own = Arc::clone(&slot);
            let guard = subject.subscribe(FnObserver::new(move |_: &u64| {
                // Synchronous: this runs in the call's first poll.
                let unsubscribed = own
                    .lock()
                    .ok()
                    .and_then(|mut g| g.take())
                    .map(Subscription::unsubscribe);
                async move {
                    if unsubscribed == Some(true) {
                        Ok(())
                    } else {
                        Err::<(), BoxError>("not subscribed".into())
                    }
                }
            }));
            *slot.lock().unwrap() = Some(guard);
            assert!(subject.notify(&1).await.all_delivered());
            assert!(subject.is_empty());
            assert!(subject.notify(&2).await.is_empty());
        })
    });
}

#[tokio::test(start_paused = true)]
async fn dropping_a_notification_cancels_the_calls_in_flight() {
    let subject = Subject::<Home>::new();
    let gauge = Gauge::new();
    let mut guards = Vec::new();
    for name in ["a", "b"] {
        // Reached only if the call outlives the dropped notification: it must not.
        let mut never = MockObserver::<Home>::new();
        never.expect_notify().times(0);
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
    drop(subject); // the mocks verify `times(0)`
}

#[tokio::test]
async fn stream_capacities_are_rounded_up_and_capped_without_panicking() {
    let subject = Subject::<u64>::new();
    let three = subject.subscribe_stream(3); // holds 4
    let _huge = subject.subscribe_stream(usize::MAX); // capped at MAX_STREAM_CAPACITY
    for n in 1..=5 {
        assert!(subject.notify(&n).await.all_delivered());
    }
    drop(subject);
    let got: Vec<Received<u64>> = three.collect().await;
    // Four slots: event 1 was pushed out, and the reader is told so.
    let expected = [
        Received::Missed(1),
        Received::Event(2),
        Received::Event(3),
        Received::Event(4),
        Received::Event(5),
    ];
    assert_eq!(got, expected);
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

// ---- Delivery policies: the same burst, a slow consumer, each policy ----

use async_patterns::observer::{MAX_STREAM_CAPACITY, StreamPolicy};

/// What one burst did to one stream subscriber: what its consumer read (and when), what each
/// `notify` reported for it, and how long each `notify` took.
struct Burst {
    read: Vec<(Duration, Received<u32>)>,
    outcomes: Vec<&'static str>,
    notify_took: Vec<Duration>,
}

impl Burst {
    fn received(&self) -> Vec<Received<u32>> {
        self.read.iter().map(|(_, r)| r.clone()).collect()
    }

    /// Every `notify` of the burst returned at once: the policy never made the subject wait.
    fn assert_notify_never_waited(&self) {
        let took = &self.notify_took;
        assert!(took.iter().all(Duration::is_zero), "{took:?}");
    }

    /// Every event was reported delivered to the stream subscriber.
    fn assert_all_delivered(&self) {
        let outcomes = &self.outcomes;
        assert!(outcomes.iter().all(|o| *o == "delivered"), "{outcomes:?}");
    }
}

/// Notify `events` (1, 2, ...) back to back to a stream subscribed with `policy` and
/// `capacity`, on a subject with `timeout`, while its consumer reads one item every
/// `read_every`; the subject is dropped after the burst, so the stream ends.
async fn burst(
    policy: StreamPolicy,
    capacity: usize,
    events: u32,
    read_every: Duration,
    timeout: Duration,
) -> Burst {
    let subject = Subject::<u32>::builder().timeout(timeout).build();
    let mut stream = subject.subscribe_stream_with(policy, capacity);
    assert_eq!(stream.policy(), policy);
    let id = stream.id();
    let start = Instant::now();
    // Both halves run on this task (`join!`), so the consumer reads while `notify` waits.
    let publish = async move {
        let (mut outcomes, mut notify_took) = (Vec::new(), Vec::new());
        for n in 1..=events {
            let began = Instant::now();
            let report = subject.notify(&n).await;
            notify_took.push(began.elapsed());
            outcomes.push(report.get(id).map_or("absent", |d| d.outcome.kind()));
        }
        (outcomes, notify_took)
    };
    let consume = async move {
        let mut read = Vec::new();
        loop {
            tokio::time::sleep(read_every).await; // the slow consumer's work on each item
            match stream.next().await {
                Some(item) => read.push((start.elapsed(), item)),
                None => break read,
            }
        }
    };
    let ((outcomes, notify_took), read) = tokio::join!(publish, consume);
    Burst {
        read,
        outcomes,
        notify_took,
    }
}

const BURST: u32 = 10;

#[tokio::test(start_paused = true)]
async fn drop_oldest_never_waits_and_tells_the_consumer_what_it_lost() {
    let b = burst(StreamPolicy::DropOldest, 4, BURST, ms(30), ms(100)).await;
    b.assert_notify_never_waited();
    b.assert_all_delivered();
    // The six oldest were pushed out by the newer ones; the four newest are read.
    let mut expected = vec![Received::Missed(6)];
    expected.extend((7..=BURST).map(Received::Event));
    assert_eq!(b.received(), expected);
}

#[tokio::test(start_paused = true)]
async fn wait_loses_nothing_and_notify_takes_the_consumers_pace() {
    let b = burst(StreamPolicy::Wait, 4, BURST, ms(30), ms(100)).await;
    // Four fit at once; each later one waits for a read, one every 30 ms.
    let mut expected_took = vec![ms(0); 4];
    expected_took.extend([ms(30); 6]);
    assert_eq!(b.notify_took, expected_took);
    b.assert_all_delivered();
    let all: Vec<Received<u32>> = (1..=BURST).map(Received::Event).collect();
    assert_eq!(b.received(), all);
}

#[tokio::test(start_paused = true)]
async fn wait_gives_up_at_the_subjects_timeout_and_the_consumer_hears_of_it() {
    // Room for two, a read every 150 ms, a timeout of 100 ms: events 3 and 5 cannot wait long
    // enough.
    let b = burst(StreamPolicy::Wait, 2, 5, ms(150), ms(100)).await;
    assert_eq!(b.notify_took, [ms(0), ms(0), ms(100), ms(50), ms(100)]);
    let expected_outcomes = [
        "delivered",
        "delivered",
        "timed out",
        "delivered",
        "timed out",
    ];
    assert_eq!(b.outcomes, expected_outcomes);
    use Received::{Event, Missed};
    assert_eq!(
        b.received(),
        [Event(1), Event(2), Missed(1), Event(4), Missed(1)]
    );
}

#[tokio::test(start_paused = true)]
async fn latest_keeps_only_the_newest_and_counts_what_it_skipped() {
    let b = burst(StreamPolicy::Latest, 4, BURST, ms(30), ms(100)).await;
    b.assert_notify_never_waited();
    b.assert_all_delivered();
    assert_eq!(
        b.received(),
        [Received::Missed(BURST as u64 - 1), Received::Event(BURST)]
    );
    // Read at the consumer's pace: one item per 30 ms, then the end.
    let times: Vec<Duration> = b.read.iter().map(|(t, _)| *t).collect();
    assert_eq!(times, [ms(30), ms(60)]);
}

#[tokio::test(start_paused = true)]
async fn refuse_never_waits_and_the_report_names_each_refused_event() {
    let b = burst(StreamPolicy::Refuse, 4, BURST, ms(30), ms(100)).await;
    b.assert_notify_never_waited();
    // The first four fit; the six after them are refused, each reported so.
    let mut expected = vec!["delivered"; 4];
    expected.extend(["refused"; 6]);
    assert_eq!(b.outcomes, expected);
    // The consumer keeps the oldest four, then hears of the six refused.
    let mut received: Vec<Received<u32>> = (1..=4).map(Received::Event).collect();
    received.push(Received::Missed(6));
    assert_eq!(b.received(), received);
}

#[tokio::test(start_paused = true)]
async fn a_refused_event_is_in_the_report_counts_and_errors() {
    let subject = Subject::<u32>::new();
    let refusing = subject.subscribe_stream_with(StreamPolicy::Refuse, 1);
    let _other = subject.subscribe_named("other", ok_u32());
    assert!(subject.notify(&1).await.all_delivered());
    let report = subject.notify(&2).await;
    assert_eq!(
        (report.delivered(), report.refused(), report.failed()),
        (1, 1, 0)
    );
    let delivery = report.get(refusing.id()).unwrap();
    assert!(matches!(delivery.outcome, Outcome::Refused(1)), "{report}");
    assert!(report.to_string().contains("refused"), "{report}");
    let errors = report.into_errors();
    assert!(
        matches!(&errors[..], [ObserverError::Refused { capacity: 1, .. }]),
        "{errors:?}"
    );
    // Read one, and the next event fits again; the consumer hears of the refused one first.
    let mut refusing = refusing;
    assert_eq!(refusing.next().await, Some(Received::Event(1)));
    assert!(subject.notify(&3).await.all_delivered());
    assert_eq!(refusing.next().await, Some(Received::Missed(1)));
    assert_eq!(refusing.next().await, Some(Received::Event(3)));
}

/// An observer of `u32` that answers `Ok` at once.
fn ok_u32() -> FnObserver<impl Fn(&u32) -> std::future::Ready<Result<(), BoxError>>> {
    FnObserver::new(|_: &u32| std::future::ready(Ok(())))
}

#[tokio::test(start_paused = true)]
async fn a_waiting_stream_whose_consumer_is_dropped_stops_waiting() {
    let subject = Subject::<u32>::new();
    let stream = subject.subscribe_stream_with(StreamPolicy::Wait, 1);
    let id = stream.id();
    assert!(subject.notify(&1).await.all_delivered());
    // Full, no timeout: this notify waits until the consumer goes away, then reports it gone.
    let (report, ()) = tokio::join!(subject.notify(&2), async move {
        tokio::time::sleep(ms(50)).await;
        drop(stream);
    });
    // Unsubscribed while its call was under way: that call ends (closed), and the stream is
    // no longer subscribed.
    let outcome = &report.get(id).unwrap().outcome;
    assert!(
        matches!(outcome, Outcome::Failed(e) if e.to_string().contains("dropped")),
        "{report}"
    );
    assert!(subject.is_empty());
}

#[tokio::test]
async fn capacities_are_normalised_alike_for_every_policy() {
    let subject = Subject::<u32>::new();
    for policy in StreamPolicy::ALL {
        let expected = |n: usize| if policy == StreamPolicy::Latest { 1 } else { n };
        assert_eq!(subject.subscribe_stream_with(policy, 0).capacity(), 1);
        assert_eq!(
            subject.subscribe_stream_with(policy, 3).capacity(),
            expected(4)
        );
        let huge = subject.subscribe_stream_with(policy, usize::MAX).capacity();
        assert_eq!(huge, expected(MAX_STREAM_CAPACITY), "{}", policy.name());
    }
    assert_eq!(
        subject.subscribe_stream(3).policy(),
        StreamPolicy::DropOldest
    );
}

//! Subscribing and unsubscribing while notifying: no deadlock, and once an unsubscribe has
//! returned no call of that observer begins.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use async_patterns::observer::{BoxError, FnObserver, Subject, Subscription};
use async_patterns::testkit::{MockObserver, within};

use super::{DOOR, HANG, Home, LIGHT, current_thread, ms, slow_ok};

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

#[test]
fn an_unsubscribe_waits_for_a_call_another_thread_is_beginning() {
    // One thread notifies; the observer's first poll stops until told to go on. Meanwhile
    // another thread unsubscribes: it must wait for that poll to end (a lock's wait), or the
    // observer, once it goes on, sees that the unsubscribe has returned.
    within(HANG, || {
        let subject = Arc::new(Subject::<u64>::new());
        let (began, has_begun) = mpsc::channel();
        let (go_on, told_to_go_on) = mpsc::channel::<()>();
        let told_to_go_on = Mutex::new(told_to_go_on);
        let returned = Arc::new(AtomicBool::new(false));
        let calls = Arc::new(AtomicUsize::new(0));
        let (seen, counted) = (Arc::clone(&returned), Arc::clone(&calls));
        let guard = subject.subscribe(FnObserver::new(move |_: &u64| {
            // Synchronous: this runs in the call's first poll.
            counted.fetch_add(1, Ordering::SeqCst);
            let _ = began.send(());
            let _ = told_to_go_on.lock().map(|go| go.recv());
            let late = seen.load(Ordering::SeqCst);
            async move {
                match late {
                    true => Err::<(), BoxError>("the unsubscribe did not wait".into()),
                    false => Ok(()),
                }
            }
        }));
        let notifier = {
            let subject = Arc::clone(&subject);
            std::thread::spawn(move || current_thread().block_on(subject.notify(&1)))
        };
        has_begun.recv().expect("the call began");
        let unsubscriber = std::thread::spawn(move || {
            let was_subscribed = guard.unsubscribe();
            returned.store(true, Ordering::SeqCst);
            was_subscribed
        });
        // Time for the unsubscribe to reach its wait (had it not waited, it has returned by
        // now). Passing never depends on this sleep; only catching a broken wait does.
        std::thread::sleep(ms(50));
        go_on.send(()).expect("the observer is waiting");
        let report = notifier.join().expect("the notifier");
        assert!(unsubscriber.join().expect("the unsubscriber"));
        assert!(report.all_delivered(), "{report}");
        // The unsubscribe has returned: no call begins.
        assert!(current_thread().block_on(subject.notify(&2)).is_empty());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    });
}

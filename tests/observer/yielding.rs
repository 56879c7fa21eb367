//! An observer that yields makes `notify` yield: the `Pending` of its first poll reaches the
//! caller's task, as it does when the observer is called directly, so the task gives its thread
//! back and the wake-ups the runtime defers until then are released. Were `notify` to poll a
//! yielding observer again within the same poll, `yield_now` would return at once, a task
//! notifying in a loop would never give its thread back, and the deferred wake-ups would pile up
//! (449 MiB in 2 s for 10,000 such observers before this was fixed: `cargo bench --bench
//! observer` measures it).

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_patterns::observer::{Observer, Subject};
use futures::poll;

use super::yields_once::YieldsOnce;

#[tokio::test]
async fn a_yielding_observer_is_pending_on_its_first_poll_through_notify_as_when_called_directly() {
    let direct = pin!(YieldsOnce.notify(&1));
    assert!(poll!(direct).is_pending(), "called directly");
    let subject = Subject::new();
    let _sub = subject.subscribe(YieldsOnce);

    let mut concurrent = pin!(subject.notify(&1));
    assert!(poll!(concurrent.as_mut()).is_pending(), "through notify");
    assert!(concurrent.await.all_delivered());

    let mut in_order = pin!(subject.notify_in_order(&2));
    assert!(
        poll!(in_order.as_mut()).is_pending(),
        "through notify_in_order"
    );
    assert!(in_order.await.all_delivered());
}

#[tokio::test]
async fn a_task_notifying_yielding_observers_in_a_loop_lets_other_tasks_run() {
    let subject = Subject::new();
    let _subs: Vec<_> = (0..3).map(|_| subject.subscribe(YieldsOnce)).collect();
    let ran = Arc::new(AtomicBool::new(false));
    // On this one-thread runtime the other task runs only when the test's task yields.
    let other = tokio::spawn({
        let ran = Arc::clone(&ran);
        async move { ran.store(true, Ordering::SeqCst) }
    });
    let mut ran_during_the_loop = false;
    for n in 0..3 {
        assert!(subject.notify(&n).await.all_delivered());
        ran_during_the_loop |= ran.load(Ordering::SeqCst);
    }
    assert!(
        ran_during_the_loop,
        "the notifying task never gave its thread back"
    );
    other.await.expect("the other task");
}

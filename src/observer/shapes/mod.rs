//! The Observer pattern twice, sync and async, with the same names: `diff sync_shape.rs
//! async_shape.rs` shows `async`, `.await`, `#[async_trait]` and its `use` line, and the
//! bounds async needs (`Send + Sync` on the trait, `E: Send + Sync + 'static`), the same as the
//! real [`Observer`](super::Observer)'s. Both files are shown in the module doc (and run there
//! as doctests); the tests below check that they deliver the same events to the same observers
//! in the same order, and that the async shape, like the real subject, can be notified from a
//! task of its own.

mod async_shape;
mod sync_shape;

use std::sync::{Arc, Mutex};

/// Records each event it sees in a log shared with the other observers, and refuses one.
struct Recorder {
    name: &'static str,
    refuses: u32,
    log: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    fn see(&self, event: u32) -> Result<(), String> {
        let mut log = crate::support::lock(&self.log);
        log.push(format!("{} got {event}", self.name));
        if event == self.refuses {
            return Err(format!("{} refuses {event}", self.name));
        }
        Ok(())
    }
}

impl sync_shape::Observer<u32> for Recorder {
    fn notify(&self, event: &u32) -> Result<(), String> {
        self.see(*event)
    }
}

#[async_trait::async_trait]
impl async_shape::Observer<u32> for Recorder {
    async fn notify(&self, event: &u32) -> Result<(), String> {
        tokio::task::yield_now().await; // a real wait point, so the async shape really awaits
        self.see(*event)
    }
}

/// Two recorders on one shared log: "a" refuses event 2, "b" refuses event 3.
fn recorders(log: &Arc<Mutex<Vec<String>>>) -> [Recorder; 2] {
    [("a", 2), ("b", 3)].map(|(name, refuses)| Recorder {
        name,
        refuses,
        log: Arc::clone(log),
    })
}

#[tokio::test]
async fn both_shapes_deliver_the_same_events_in_the_same_order() {
    let events = [1, 2, 3];

    let sync_log = Arc::default();
    let mut sync_subject = sync_shape::Subject::new();
    for recorder in recorders(&sync_log) {
        sync_subject.subscribe(Box::new(recorder));
    }
    let sync_answers: Vec<_> = events.iter().map(|e| sync_subject.notify(e)).collect();

    let async_log = Arc::default();
    let mut async_subject = async_shape::Subject::new();
    for recorder in recorders(&async_log) {
        async_subject.subscribe(Box::new(recorder));
    }
    let mut async_answers = Vec::new();
    for event in &events {
        async_answers.push(async_subject.notify(event).await);
    }

    assert_eq!(sync_answers, async_answers);
    assert_eq!(sync_answers[1], [Err("a refuses 2".to_owned()), Ok(())]);
    let (sync_log, async_log) = (
        crate::support::lock(&sync_log),
        crate::support::lock(&async_log),
    );
    assert_eq!(*sync_log, *async_log);
    assert_eq!(sync_log[..2], ["a got 1", "b got 1"]);
    assert_eq!(sync_log.len(), 6);
}

/// What the bounds buy: `tokio::spawn` takes only `Send + 'static` futures, and a subject of
/// observers that were not `Send + Sync` would not compile here.
#[tokio::test]
async fn the_async_shape_can_be_notified_from_a_spawned_task() {
    let log = Arc::default();
    let mut subject = async_shape::Subject::new();
    for recorder in recorders(&log) {
        subject.subscribe(Box::new(recorder));
    }
    let answers = tokio::spawn(async move { subject.notify(&3).await }).await;
    let answers = answers.expect("the notifying task");
    assert_eq!(answers, [Ok(()), Err("b refuses 3".to_owned())]);
    assert_eq!(*crate::support::lock(&log), ["a got 3", "b got 3"]);
}

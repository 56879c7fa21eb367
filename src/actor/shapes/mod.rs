//! The Actor pattern twice, sync and async, with the same names: `Hub` (the state, the same
//! lines in both), `HubHandle` (the same methods; `async` and `.await` added), and `Gone`. What
//! the async shape adds is the lock's replacement: the `Command` enum and the `run` task, whose
//! future says the bound a spawned task needs (`Send + 'static`), which the sync shape does not.
//! Both files are shown in the module doc (and compiled there as doctests).
//!
//! The test gives both the same calls, in order and then from eight threads or tasks at once,
//! and checks that they answer the same.

mod async_shape;
mod sync_shape;

const CALLS: [(&str, &str); 4] = [
    ("kitchen", "on"),
    ("hallway", "dim 30"),
    ("kitchen", "off"),
    ("kitchen", "on"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_shapes_answer_the_same_calls_the_same() {
    let classic = sync_shape::HubHandle::new(sync_shape::Hub::default());
    let actor = async_shape::HubHandle::new(async_shape::Hub::default());

    for (device, message) in CALLS {
        let sync_answer = classic.send(device, message);
        let async_answer = actor.send(device, message).await;
        assert_eq!(sync_answer.ok(), async_answer.ok());
    }
    assert_eq!(
        actor.send("kitchen", "dim 5").await,
        Ok("kitchen: dim 5 (message 4)".to_owned())
    );
    assert_eq!(
        classic.send("kitchen", "dim 5"),
        Ok("kitchen: dim 5 (message 4)".to_owned())
    );

    // Eight callers at once, 25 messages each, to one device: none is lost by either.
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let classic = classic.clone();
            std::thread::spawn(move || (0..25).all(|_| classic.send("porch", "on").is_ok()))
        })
        .collect();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let actor = actor.clone();
            tokio::spawn(async move {
                for _ in 0..25 {
                    if actor.send("porch", "on").await.is_err() {
                        return false;
                    }
                }
                true
            })
        })
        .collect();
    for thread in threads {
        assert!(thread.join().unwrap_or(false));
    }
    for task in tasks {
        assert!(task.await.unwrap_or(false));
    }
    assert_eq!(classic.sent("porch"), Ok(200));
    assert_eq!(actor.sent("porch").await, Ok(200));
    assert_eq!(
        classic.sent("kitchen").ok(),
        actor.sent("kitchen").await.ok()
    );
}

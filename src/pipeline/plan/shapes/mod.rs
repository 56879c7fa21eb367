//! The composite pattern twice, compiled: the classic sync shape and the async shape, with the
//! same names, so `diff sync_shape.rs async_shape.rs` shows what async changed: `async`,
//! `.await`, `#[async_trait]`, the `Send + Sync` a step needs to run in a task that moves
//! between threads (and so `Arc<Mutex<..>>` for the leaves' log where the sync shape has
//! `Rc<RefCell<..>>`), and the one node only async makes worth having, `Parallel`.
//!
//! The test below builds the same smart-home tree with each (the sync shape has no parallel
//! node, so its "at once" groups are sequences) and checks that both run the same leaves, in
//! the same order inside every sequence.

mod async_shape;
mod sync_shape;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

/// The morning: pair the three devices (a group that may run at once), then, as a group, one
/// sequence of messages per device. `$group` makes the node for a group from a sequence.
macro_rules! morning {
    ($shape:ident, $group:expr, $log:expr) => {{
        use $shape::{Leaf, Sequence, Step};
        let leaf = |name: &str| -> Box<dyn Step> {
            let log = Clone::clone($log);
            Box::new(Leaf {
                name: name.to_owned(),
                log,
            })
        };
        let sequence = |name: &str, steps| -> Box<dyn Step> {
            Box::new(Sequence {
                name: name.to_owned(),
                steps,
            })
        };
        let group = |name: &str, steps| -> Box<dyn Step> {
            let steps = Sequence {
                name: name.to_owned(),
                steps,
            };
            Box::new(($group)(steps))
        };
        sequence(
            "morning",
            vec![
                group(
                    "connect",
                    vec![
                        leaf("pair-light"),
                        leaf("pair-speaker"),
                        leaf("pair-toilet"),
                    ],
                ),
                group(
                    "routines",
                    vec![
                        sequence("light", vec![leaf("on"), leaf("dim")]),
                        sequence("speaker", vec![leaf("volume"), leaf("news")]),
                        sequence("toilet", vec![leaf("seat-heat"), leaf("flush")]),
                    ],
                ),
            ],
        )
    }};
}

/// Where `name` was logged, if it was.
fn at(log: &[String], name: &str) -> Option<usize> {
    log.iter().position(|n| n == name)
}

/// The leaves that ran, sorted.
fn sorted(log: &[String]) -> Vec<String> {
    let mut names = log.to_vec();
    names.sort();
    names
}

/// Every sequence ran its children in order, and `routines` only after all of `connect`.
fn assert_sequences_kept_their_order(log: &[String]) {
    for (first, then) in [("on", "dim"), ("volume", "news"), ("seat-heat", "flush")] {
        assert!(at(log, first) < at(log, then), "{first} before {then}");
    }
    let connected = ["pair-light", "pair-speaker", "pair-toilet"].map(|n| at(log, n));
    let routines = ["on", "volume", "seat-heat"].map(|n| at(log, n));
    assert!(connected.iter().max() < routines.iter().min());
}

#[tokio::test]
async fn both_shapes_run_the_same_leaves_in_the_same_sequence_order() {
    let sync_log = Rc::new(RefCell::new(Vec::new()));
    let sync_plan = morning!(sync_shape, |s| s, &sync_log);
    assert_eq!(sync_plan.name(), "morning");
    assert_eq!(sync_plan.run(), Ok(()));
    let sync_log = sync_log.borrow().clone();

    let async_log = Arc::new(Mutex::new(Vec::new()));
    let async_plan = morning!(async_shape, async_shape::Parallel, &async_log);
    assert_eq!(async_plan.name(), "morning");
    // In a spawned task, as real plans run: what the `Send + Sync` bound is for (without it,
    // this does not compile).
    let ran = tokio::spawn(async move { async_plan.run().await }).await;
    assert_eq!(ran.map_err(|e| e.to_string()), Ok(Ok(())));
    let async_log = crate::support::lock(&async_log).clone();

    assert_eq!(sorted(&sync_log).len(), 9);
    assert_eq!(sorted(&sync_log), sorted(&async_log));
    assert_sequences_kept_their_order(&sync_log);
    assert_sequences_kept_their_order(&async_log);
}

//! A recording is not silenced by a thread that has no subscriber.
//!
//! `tracing` decides once per callsite (one `info!` line, one `#[instrument]`) whether anybody
//! may want it, and caches the answer. While at most one dispatcher is registered in the
//! process, tracing-core 0.1 asks only the default of the thread that reaches the callsite
//! first (tokio-rs/tracing#3611): a thread with no subscriber answers "never", and the line is
//! then skipped everywhere, even on the thread that records. Tests running side by side, some
//! recording and some not, meet exactly that. This binary holds one test, so the count of
//! registered dispatchers is the one the test makes, and the order below is the bad one.
#![cfg(feature = "timeline")]

use std::sync::Arc;

use async_patterns::timing::{Timeline, TimelineLayer};

/// One callsite, reached by both threads.
fn knock() {
    tracing::info!(target: "callsites", "knock");
}

#[test]
fn a_line_first_reached_by_a_thread_without_a_subscriber_is_still_recorded() {
    let timeline = Arc::new(Timeline::new());
    let dispatch = TimelineLayer::new(Arc::clone(&timeline))
        .record("callsites")
        .into_dispatch();
    // Another thread, with no subscriber of its own, reaches the line first...
    std::thread::spawn(knock)
        .join()
        .expect("the knocking thread");
    // ...then the recording thread does.
    tracing::dispatcher::with_default(&dispatch, knock);
    let labels: Vec<String> = timeline.markers().into_iter().map(|m| m.label).collect();
    assert_eq!(labels, ["knock"]);
}

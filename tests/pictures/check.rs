//! What every picture test shares: the comparison with the committed file, and the recording.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_patterns::timing::{Timeline, TimelineLayer};

/// `n` milliseconds.
pub const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The environment variable that makes the tests write the pictures instead of comparing.
pub const UPDATE: &str = "UPDATE_PICTURES";

/// Compare `drawn` with the committed file at `path` (from the crate's root), or write it when
/// `UPDATE_PICTURES` is set. Fails on any difference, naming the first differing line.
pub fn committed(path: &str, drawn: &str) {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path);
    if std::env::var_os(UPDATE).is_some() {
        std::fs::write(&file, drawn).unwrap_or_else(|e| panic!("writing {path}: {e}"));
        return;
    }
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    if committed == drawn {
        return;
    }
    let line = committed
        .lines()
        .zip(drawn.lines())
        .position(|(a, b)| a != b)
        .map_or(committed.lines().count().min(drawn.lines().count()), |i| i)
        + 1;
    panic!(
        "{path} differs from what the code draws now (first at line {line}); if the change is \
         meant, run `{UPDATE}=1 cargo test --all-features --test pictures` and review the result"
    );
}

/// Run `body` on a current-thread runtime with a paused clock, recording the spans and events
/// under `target`, and return the timeline: virtual time, so the same bytes on every run.
///
/// The recording is this thread's default subscriber while the runtime runs, so the tasks
/// `body` spawns are recorded too (they all run on this thread).
pub fn recorded<F: Future<Output = ()>>(target: &str, body: impl FnOnce() -> F) -> Arc<Timeline> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime");
    // Made inside the runtime, so its origin is the paused clock's start.
    let timeline = runtime.block_on(async { Arc::new(Timeline::new()) });
    let dispatch = TimelineLayer::new(Arc::clone(&timeline))
        .record(target)
        .into_dispatch();
    tracing::dispatcher::with_default(&dispatch, || runtime.block_on(body()));
    timeline
}

//! Plans of steps: the composites' order, failures and cancellation (`composites.rs`), time and
//! timeouts on the paused clock (`time.rs`), errors, panics and depth (`failures.rs`), and the
//! trace they draw (`trace.rs`), and the `tracing` spans they emit (`spans.rs`). One test binary;
//! each topic a module.
//!
//! A mock step runs inside `run_child`, which turns a panic into a `StepError`: a mock that
//! panics over a call it did not expect never fails the test by itself. So every test with a
//! mock asserts the outcome the plan reports, and checks the mock's counts with [`verify`]
//! after the plan has been dropped.

use std::sync::Arc;
use std::time::Duration;

use async_patterns::pipeline::plan::{
    BoxStep, Sequence, StepError, StepExt, parallel, sequence, step,
};
use async_patterns::testkit::MockStep;
use tokio::time::sleep;

mod composites;
mod failures;
mod spans;
mod time;
mod trace;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A step that takes `n` ms of (virtual) time: one message to a device.
fn message(name: &str, n: u64) -> BoxStep {
    step(name, move || async move {
        sleep(ms(n)).await;
        Ok(())
    })
    .boxed()
}

/// A step that fails with `reason` after `n` ms.
fn failing(name: &str, n: u64, reason: &'static str) -> BoxStep {
    step(name, move || async move {
        sleep(ms(n)).await;
        Err(StepError::failed(reason))
    })
    .boxed()
}

/// The smart-home morning: connect the three devices, then one sequence of messages per device,
/// the three sequences in parallel. Critical path: connect (80, the speaker) + speaker (130).
fn morning(light: Vec<BoxStep>) -> Sequence {
    let connect = vec![
        message("light", 50),
        message("speaker", 80),
        message("toilet", 30),
    ];
    let speaker = vec![message("volume", 10), message("news", 120)];
    let toilet = vec![message("seat-heat", 40), message("flush", 30)];
    let routines = vec![
        sequence("light", light).boxed(),
        sequence("speaker", speaker).boxed(),
        sequence("toilet", toilet).boxed(),
    ];
    let connect = parallel("connect", connect).boxed();
    sequence(
        "morning",
        vec![connect, parallel("routines", routines).boxed()],
    )
}

fn light_ok() -> Vec<BoxStep> {
    vec![message("on", 10), message("dim", 20), message("warm", 20)]
}

/// A mock step named `name` whose `run` is expected `times` times and returns `result()`.
/// Shared, so the test keeps a handle to [`verify`] it once the plan is dropped.
fn mock(name: &str, times: usize, result: fn() -> Result<(), StepError>) -> Arc<MockStep> {
    let mut m = MockStep::new();
    m.expect_name().return_const(name.to_owned());
    m.expect_run().times(times).returning(move |_| result());
    Arc::new(m)
}

/// Check `mock`'s call counts now, in the test's own code: `checkpoint` panics here if a count
/// is off, too few calls or too many (a call past `times(n)` panicked inside the plan, where it
/// became a step error, but it was counted). Whatever holds another handle, the plan, must be
/// dropped first.
fn verify(mock: Arc<MockStep>) {
    match Arc::into_inner(mock) {
        Some(mut mock) => mock.checkpoint(),
        None => panic!("the plan still holds the mock: drop it before verifying"),
    }
}

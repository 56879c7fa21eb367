//! Streaming stages, by topic: every input exactly once whatever the options
//! (`exactly_once.rs`), pace, limits and back-pressure (`pace.rs`), failed items and the error
//! policies (`errors.rs`), cancellation (`cancellation.rs`), and the bounds that hold for any
//! input (`limits.rs`). One test binary; each topic a module.
//!
//! A stage runs inside the pipeline's panic guard, which turns a panic into an item's error:
//! a mock that panics over a call it did not expect never fails the test by itself, and with
//! `StopAtFirst` that error may never even be yielded. So every test with a mock asserts the
//! outcome the pipeline reports, counts the calls outside the mock where the outcome cannot
//! show them, and checks the mock's counts with [`verify`] once the pipeline is dropped.

use std::sync::Arc;
use std::time::Duration;

use async_patterns::http::BoxError;
use async_patterns::pipeline::stream::Stage;
use async_patterns::testkit::{Gauge, MockStage};
use tokio::time::sleep;

mod cancellation;
mod errors;
mod exactly_once;
mod limits;
mod pace;
mod spans;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A stage that waits `wait(x)` ms then passes `x` on, counting calls on a gauge.
struct Sleepy {
    gauge: Gauge,
    wait: fn(u64) -> u64,
}

#[async_trait::async_trait]
impl Stage<u64, u64> for Sleepy {
    async fn process(&self, x: u64) -> Result<u64, BoxError> {
        let _call = self.gauge.enter();
        sleep(ms((self.wait)(x))).await;
        Ok(x)
    }
}

fn sleepy(wait: fn(u64) -> u64) -> (Sleepy, Gauge) {
    let gauge = Gauge::new();
    (
        Sleepy {
            gauge: gauge.clone(),
            wait,
        },
        gauge,
    )
}

/// Check `mock`'s call counts now, in the test's own code: `checkpoint` panics here if a count
/// is off. It sees too few calls, and too many for a method with one expectation (the call
/// past `times(n)` panicked inside the stage, but was counted); with several expectations, a
/// call none of them accepts is counted nowhere, so such a test counts calls itself. The
/// pipeline, which holds the other handle, must be dropped first.
fn verify(mock: Arc<MockStage>) {
    match Arc::into_inner(mock) {
        Some(mut mock) => mock.checkpoint(),
        None => panic!("the pipeline still holds the mock: drop it before verifying"),
    }
}

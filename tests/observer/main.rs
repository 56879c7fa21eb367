//! Observer: delivery, order and timing on the paused clock; isolation of failures, panics and
//! slowness; subscribing and unsubscribing while notifying; stream subscribers and their
//! delivery policies.
//!
//! The subject catches every panic of an observer, a mock's included: a mock that gets a call it
//! did not expect panics inside the subject, and the test sees only `Outcome::Panicked` in the
//! report. A mock checks its counts again when it is dropped, but that happens wherever the
//! subject lets go of it (maybe inside a notification, or in a task nobody joins). So every test
//! here asserts on the report (`all_delivered`, an outcome, the names in it) or counts the calls
//! outside the mock, and trusts a drop only where the test body itself drops the mock.

mod delivery;
mod isolation;
mod policies;
mod spans;
mod streams;
mod subscriptions;
mod yielding;
mod yields_once;

use std::time::Duration;

use async_patterns::testkit::{Delayed, Gauge, MockObserver};

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

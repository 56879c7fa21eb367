//! Test helpers (feature `testkit`): a loopback server, mocks that wait, and every mock.
//!
//! * [`TestServer`]: a real HTTP server on 127.0.0.1, on its own thread and runtime, with
//!   routes for latency, status codes, body sizes and dropped connections, and counters that
//!   prove overlap.
//! * [`Delayed`] and [`Gauge`]: make any implementation wait before answering, and count how
//!   many calls were in flight at once, for tests on tokio's paused clock.
//! * [`alive_tasks_once_settled`]: the runtime's live task count after aborted tasks are reaped,
//!   to prove that nothing spawned outlives its owner.
//! * The mockall mocks of the crate's traits, re-exported here, so a downstream crate can test
//!   its own code against them with `features = ["testkit"]` in its dev-dependencies.

mod delay;
mod server;
mod tasks;

pub use delay::{Delayed, Gauge, GaugeGuard};
pub use server::{MAX_BYTES, TestServer, TestkitError};
pub use tasks::alive_tasks_once_settled;

pub use crate::factory::MockDevice;
pub use crate::http::MockHttpGet;
pub use crate::observer::MockObserver;
pub use crate::pipeline::plan::MockStep;
pub use crate::pipeline::stream::MockStage;
pub use crate::strategy::MockFetchStrategy;

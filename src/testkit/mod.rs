//! Test helpers (feature `testkit`): a loopback server, mocks that wait, and every mock.
//!
//! * [`TestServer`]: a real HTTP server on 127.0.0.1, on its own thread and runtime, with
//!   routes for latency, status codes, body sizes (streamed, any size), hostile [`Fault`]s and
//!   [`Sample`] bodies, and counters that prove overlap.
//! * [`Delayed`] and [`Gauge`]: make any implementation wait before answering, and count how
//!   many calls were in flight at once, for tests on tokio's paused clock.
//! * [`alive_tasks_once_settled`]: the runtime's live task count after aborted tasks are reaped
//!   (on worker threads too), to prove that nothing spawned outlives its owner.
//! * [`within`]: run a test on a thread of its own and fail it if it hangs, for the tests that
//!   would deadlock if a lock were ever held across an `.await`.
//! * The mockall mocks of every trait a user implements, generated here once (`mocks.rs`), so a
//!   downstream crate can test its own code against them with `features = ["testkit"]` in its
//!   dev-dependencies. Every trait is also implemented for `Delayed<T>`.
//!
//! # Mocks of other shapes
//! A trait generic over its data, like [`Stage<I, O>`](crate::pipeline::stream::Stage), gets a
//! mock of its most common shape; another shape is a few lines in your own tests:
//!
//! ```
//! use async_patterns::pipeline::stream::Stage;
//! use async_patterns::observer::BoxError;
//!
//! mockall::mock! {
//!     Parse {}
//!     #[async_patterns::async_trait]
//!     impl Stage<String, usize> for Parse {
//!         async fn process(&self, input: String) -> Result<usize, BoxError>;
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let mut parse = MockParse::new();
//! parse.expect_process().returning(|s| Ok(s.len()));
//! assert_eq!(parse.process("four".to_owned()).await.unwrap(), 4);
//! # }
//! ```

mod delay;
mod mocks;
pub mod redis;
mod server;
mod tasks;

pub use delay::{Delayed, Gauge, GaugeGuard};
pub use server::{Fault, MAX_BYTES, Sample, TestServer, TestkitError};
pub use tasks::{SETTLE_DEADLINE, alive_tasks_once_settled, within, within_paused};

pub use mocks::{
    MockDevice, MockFetchStrategy, MockHttpGet, MockNativeFetch, MockObserver, MockStage, MockStep,
};

//! # async-patterns
//!
//! **A design pattern keeps its shape when it goes async; only some of its parts become
//! awaitable.** This crate shows that, module by module, with code meant to be read like a
//! textbook and used for real: errors are typed, slow parts time out, failing parts are
//! isolated, and nothing is lost when a task fails or is cancelled.
//!
//! # Concurrency is not parallelism
//! *Concurrency* is dealing with many things at once: many tasks in progress, interleaved at
//! their `.await` points, possibly on a single thread. It pays off when the work is mostly
//! *waiting* (for a socket, a timer, a disk): twenty 100 ms requests made concurrently take
//! about 100 ms, not two seconds. *Parallelism* is doing many things at once: computing on
//! several cores at the same instant. It pays off when the work is *computing*, and async alone
//! does not give it: CPU-bound tasks on a one-thread runtime take exactly as long as a loop.
//! The examples `gather` and `concurrency_vs_parallelism` measure both.
//!
//! # Reading order
//! 1. [`basics`]: async/await in a page, then [`basics::gather`] (one by one vs `join_all` vs
//!    bounded vs `JoinSet`), [`basics::blocking`] (the wrong way and `spawn_blocking`), and
//!    [`basics::parallel`] (concurrency vs parallelism, measured).
//! 2. [`http`]: one trait, [`http::HttpGet`], and three ways to implement it: blocking,
//!    blocking-on-a-thread, and native async.
//! 3. [`strategy`]: interchangeable async algorithms behind one trait.
//! 4. [`factory`]: construction that needs I/O, and a registry callers extend.
//! 5. [`observer`]: a subject that notifies async observers concurrently, in isolation.
//! 6. [`pipeline`]: nested sequential/concurrent plans, and streaming stages with back-pressure.
//!
//! # Layout
//! * [`timing`]: criterion-free measurement; every example and bench prints its tables.
//! * [`basics`]: the async recap, measured.
//! * [`http`]: the [`http::HttpGet`] trait, [`http::HttpError`], and its three implementations
//!   (feature `http`, on by default).
//! * [`strategy`], [`factory`], [`observer`], [`pipeline`]: the four patterns.
//! * `testkit` (feature `testkit`): a loopback HTTP server on its own thread, a delay wrapper
//!   that lets mocks show overlap on tokio's paused clock, and the mockall mocks of every trait.
//!
//! # Running it
//! `cargo run --release --example tour` tells the whole story offline in under 30 seconds;
//! `cargo test --all-features` runs the tests.

#![warn(missing_docs)]

pub mod basics;
pub mod factory;
pub mod http;
pub mod observer;
pub mod pipeline;
pub mod strategy;
mod support;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod timing;

//! # async-patterns
//!
//! **A design pattern keeps its shape when it goes async; only some of its parts become
//! awaitable.** This crate shows that, module by module, with code meant to be read like a
//! textbook and used for real: errors are typed, slow parts time out, failing parts are
//! isolated, and nothing is lost when a task fails or is cancelled.
//!
//! # The talk, mapped
//! The crate retells in Rust a talk on Python's asyncio, in the talk's order, and then the
//! nested plans of an earlier talk on IoT devices. Each concept has its item, an example that
//! measures it (`cargo run --release --example <name>`) and a test that pins it down:
//!
//! | the talk | in this crate | example | test |
//! |---|---|---|---|
//! | concurrency vs parallelism | [`basics::parallel`]: [`concurrent`](basics::parallel::concurrent) vs [`parallel`](basics::parallel::parallel) | `concurrency_vs_parallelism` | `tests/basics.rs`: `the_cpu_runners_compute_from_plain_code` |
//! | the event loop | a tokio runtime; `current_thread` is the closer match to asyncio's one loop | `recap`, `wrong_way` | `tests/basics.rs` (each `#[tokio::test]` is a current-thread runtime) |
//! | `async def` / `await` | [`basics`]: async/await in one page | `recap` | `tests/basics.rs`: `one_by_one_takes_the_sum` |
//! | `asyncio.gather` | [`basics::gather::all_at_once`] (`join_all`), beside [`one_by_one`](basics::gather::one_by_one), [`bounded`](basics::gather::bounded), [`in_tasks`](basics::gather::in_tasks) | `gather` | `tests/basics.rs`: `all_at_once_takes_the_longest` |
//! | the wrong way: a blocking call in a coroutine | [`basics::blocking::wrong_way`] | `wrong_way` | `tests/basics.rs`: `the_wrong_way_serialises_and_the_right_way_overlaps` |
//! | `asyncio.to_thread` | [`basics::blocking::to_thread`] (`spawn_blocking`) | `to_thread` | `tests/basics.rs`: `to_thread_returns_the_value_or_the_panic` |
//! | a `req_http` module: `requests` on threads | [`http::threaded::ThreadedHttp`] (blocking reqwest through `to_thread`) | `req_http_aio` | `tests/http.rs`: `threaded_requests_overlap_too` |
//! | the aiohttp alternative, `req_http_aio` | [`http::native::NativeHttp`] (async reqwest) | `req_http_aio` | `tests/http.rs`: `join_all_overlaps_requests_on_the_server` |
//! | Strategy with async methods | [`strategy`]: [`FetchStrategy`](strategy::FetchStrategy), [`Downloader`](strategy::Downloader) | `strategy` | `tests/strategy/context.rs`: `a_swapped_strategy_is_used_from_the_next_batch_on_in_order` |
//! | Factory with async methods | [`factory`]: [`Registry`](factory::Registry) of async constructors | `factory` | `tests/factory.rs`: `concurrent_creation_takes_the_slowest_constructor_not_the_sum` |
//! | the IoT talk: `run_sequence(*steps)`, `run_parallel(*steps)`, nested | [`pipeline::plan`]: [`sequence`](pipeline::plan::sequence), [`parallel`](pipeline::plan::parallel) | `pipeline_plan` | `tests/pipeline_plan/time.rs`: `the_smart_home_plan_takes_its_critical_path` |
//!
//! **What the crate adds** that the talks do not have: the pitfalls met right after the basics,
//! each reproduced, detected in a test and fixed ([`basics::pitfalls`], example `pitfalls`,
//! `tests/pitfalls.rs`), the [`observer`] pattern (a subject that notifies async observers
//! concurrently, each isolated, with delivery policies for slow stream subscribers), a streaming
//! [`pipeline::stream`] with back-pressure, the [`actor`] pattern (a task that owns its state
//! and takes commands from a bounded mailbox: the Command pattern split by a channel, with
//! back-pressure, supervision and a graceful shutdown that loses nothing), the [`decorator`]
//! pattern (the same trait in and out: timeout, retry with jittered backoff and `Retry-After`,
//! circuit breaker, hedging, concurrency and rate limits, composed with
//! [`Layers`](decorator::Layers), and adapters to and from tower behind the feature `tower`),
//! the classic sync shape of every pattern compiled beside its async shape and shown side by
//! side, `tracing` spans at every pattern's boundaries drawn as timelines
//! ([`timing::Timeline`], SVG pictures in these docs, the tour's HTML page), the Observer and
//! the Pipeline on Redis behind the feature `redis` (at most once and at least once, one
//! conformance suite for both backends), benches that report ratios against the ideal and a
//! hand-written floor (`benches/`), and a testkit (a loopback HTTP server, a redis-server on a
//! unix socket, mocks of every trait, a delay wrapper for tokio's paused clock).
//!
//! **Where it departs on purpose.** asyncio's event loop is a tokio runtime, and tokio's default
//! is several worker threads: a current-thread runtime is the closer match, and the examples say
//! which one they use. The blocking HTTP client refuses to run on a runtime thread (reqwest
//! would panic or freeze it), so the wrong way is shown with `std::thread::sleep`, which blocks
//! the same way. The ~4.6x that `to_thread` reached for twenty requests comes from running the
//! talk's Python code on a 2-core machine, where Python's default pool has `min(32, cores + 4)`
//! = 6 threads; tokio's blocking pool grows to 512 threads, so the same batch overlaps fully
//! (the `to_thread` example measures both).
//!
//! # Concurrency is not parallelism
//! *Concurrency* is dealing with many things at once: many tasks in progress, interleaved at
//! their `.await` points, possibly on a single thread. It pays off when the work is mostly
//! *waiting* (for a socket, a timer, a disk): twenty 100 ms requests made concurrently take
//! about 100 ms, not two seconds. *Parallelism* is doing many things at once: computing on
//! several cores at the same instant. It pays off when the work is *computing*, and async alone
//! does not give it: CPU-bound tasks on a one-thread runtime take exactly as long as a loop.
//!
//! # Reading order
//! 1. [`basics`]: async/await in a page, then `gather.rs` (one by one vs `join_all` vs bounded
//!    vs `JoinSet`), `blocking.rs` (the wrong way and `to_thread`), `parallel.rs` (CPU-bound
//!    work, measured), then `pitfalls/`: the traps met right after, each reproduced and fixed.
//! 2. [`http`] (feature `http`, on by default): one trait, [`http::HttpGet`], and three ways to
//!    implement it: blocking, blocking on a thread, and native async.
//! 3. The patterns, one folder each: [`strategy`] (interchangeable async algorithms),
//!    [`factory`] (construction that needs I/O), [`observer`] (async observers notified
//!    concurrently), [`pipeline`] (nested plans of steps, and streaming stages), [`decorator`]
//!    (behaviour added around a trait object: time limits, retries, breakers, hedging),
//!    [`actor`] (state owned by one task, reached through a handle). In each folder,
//!    `mod.rs` holds the concept, the trait, the context and the simplest implementations, and
//!    the context's main method reaches your code in one file, read in order; `shapes/` holds
//!    the classic sync shape and the async shape as compiled code (shown side by side on the
//!    module's page, with a picture of its schedule); the siblings hold the rest, named for
//!    what they hold.
//! 4. Beyond one process (feature `redis`): `observer::redis` and `pipeline::stream::redis`, the
//!    same traits with Redis underneath, and what changes when a part goes remote.
//! 5. [`timing`] (tables of ratios, timelines, the `tracing` layer that records them, SVG
//!    pictures, the HTML page) and `testkit` (feature `testkit`): how it is all measured and
//!    tested. `CONTRIBUTING.md` says how a pattern is added.
//!
//! # Running it
//! `cargo run --release --example tour` tells the whole story offline in about half a minute;
//! `cargo test --all-features` runs the tests.

#![warn(missing_docs)]

// What a user implementing the traits needs: `#[async_trait]` (its expansion names only
// `core`/`alloc`, so no dependency of their own), and the boxed error the traits return.
pub use async_trait::async_trait;
pub use http::BoxError;

pub mod actor;
pub mod basics;
pub mod decorator;
pub mod factory;
pub mod http;
pub mod observer;
pub mod pipeline;
pub mod strategy;
mod support;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod timing;

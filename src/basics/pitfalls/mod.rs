//! The pitfalls of async Rust, each reproduced, detected and fixed.
//!
//! The basics work until they meet one of a handful of traps. None of them is a bug in tokio
//! or futures: each follows from one rule, **a future makes progress only while something polls
//! it**, and from its corollary, **dropping a future cancels it at its current `.await`**. Each
//! module below holds the wrong code, the symptom made visible (a number a test can check on
//! tokio's paused clock) and the fix, side by side; `tests/pitfalls.rs` detects each symptom and
//! shows each fix free of it, and `cargo run --release --example pitfalls` measures them all.
//!
//! | # | pitfall | the symptom | the fix |
//! |---|---------|-------------|---------|
//! | 1 | blocking inside a task ([`blocking`](super::blocking)) | every task on the thread freezes, heartbeats too | [`to_thread`](super::blocking::to_thread) |
//! | 2 | a lock guard held across `.await` ([`lock_across_await`]) | `std`: a compile error in `tokio::spawn`; tokio's: tasks serialised | take what you need, drop the guard, then await |
//! | 3 | the buffered-stream stall ([`buffered_stall`]) | requests time out that were never polled | spawn each item, or move the work into the buffered closure |
//! | 4 | futurelock ([`futurelock`]) | a deadlock: `select!` holds a future that holds the lock | hand `select!` the future itself, or spawn it |
//! | 5 | cancellation safety ([`cancel_safety`]) | a `select!` loop loses half-read messages | keep the future outside the loop, or use cancel-safe calls |
//! | 6 | a zero concurrency limit ([`zero_limit`]) | `buffer_unordered(0)` hangs forever | clamp it to 1, as every helper here does |
//!
//! Pitfall 1 lives in [`basics::blocking`](super::blocking) (its wrong way and right way are
//! measured by the `wrong_way` example, with a heartbeat that stops beating).
//!
//! # What the compiler catches
//! Some traps never reach run time. `tokio::spawn` needs a `Send` future, and a future is
//! `Send` only if everything it holds across an `.await` is: an `Rc`, or a
//! [`std::sync::MutexGuard`], held across one, is a compile error. A trait with a native
//! `async fn` cannot be used as `dyn Trait` (the reason this crate's traits use
//! `#[async_trait]`). `tests/compile_fail.rs` pins these three errors with trybuild
//! (`tests/ui/*.rs` and the `.stderr` files beside them hold the code and the error).
//!
//! # Reading a pitfall
//! Every function here takes its durations as arguments and reads time from
//! [`tokio::time::Instant`], so the tests run them on the paused clock (in no real time) and
//! the example on the real one. The functions that reproduce a hang really hang: call them
//! under a watchdog ([`tokio::time::timeout`]), as the tests and the example do. Nothing they
//! spawn outlives them (each task is behind an
//! [`AbortOnDropHandle`](tokio_util::task::AbortOnDropHandle)).

pub mod buffered_stall;
pub mod cancel_safety;
pub mod futurelock;
pub mod lock_across_await;
pub mod zero_limit;

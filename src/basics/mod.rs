//! The async recap: async/await in one page, then measured.
//!
//! # async/await in one page
//! An `async fn` does nothing when called: it returns a *future*, a value that describes the
//! work. `.await` drives a future to completion; while it waits (for a timer, a socket), the
//! task gives its thread back to the runtime, which runs other tasks meanwhile.
//!
//! ```text
//! fn fetch(url) -> Page { ... }                 // sync: the thread waits inside
//! async fn fetch(url) -> Page { ... .await }    // async: the *task* waits, the thread moves on
//!
//! let a = fetch(x); let b = fetch(y);           // sync: x, then y
//! let (a, b) = join!(fetch(x), fetch(y));       // async: x and y overlap
//! ```
//!
//! * **Concurrency** is about *waiting* well: many tasks in progress at once, interleaved at
//!   their `.await`s, possibly on one thread. It speeds up I/O-bound work.
//! * **Parallelism** is about *computing* at once on several cores. It speeds up CPU-bound work,
//!   and needs several threads (a multi-thread runtime, or `spawn_blocking`).
//!
//! # Modules
//! * [`gather`]: a batch of futures one by one, all at once, bounded, or as spawned tasks.
//! * [`blocking`]: blocking calls inside async code, the wrong way and [`blocking::to_thread`].
//! * [`parallel`]: CPU-bound work, concurrent on one thread vs parallel on many.
//! * [`pitfalls`]: the traps met right after the basics (a lock across `.await`, a stalled
//!   `buffered` stream, futurelock, cancellation safety, a zero limit), each reproduced,
//!   detected and fixed.

pub mod blocking;
pub mod gather;
pub mod parallel;
pub mod pitfalls;

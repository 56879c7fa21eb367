//! Concurrency helps waiting; parallelism helps computing.
//!
//! The same CPU-bound jobs run three ways:
//!
//! * [`concurrent`]: as async tasks on a **current-thread** runtime. They are concurrent (all in
//!   progress), but one thread computes them one after another: about 1.0x, no faster than a loop.
//! * [`parallel`]: as tasks on a **multi-thread** runtime with one worker per core. Each core
//!   computes one job at a time: up to `cores` x faster.
//! * [`parallel_blocking`]: with `spawn_blocking` from any runtime, the tool to use when the CPU
//!   work sits inside otherwise I/O-bound async code, so it does not starve the async workers.
//!
//! A future that computes without `.await`ing never yields, so on a current-thread runtime it
//! runs to the end before anything else gets a turn: awaiting is what makes concurrency, and
//! CPU work has nothing to await.
//!
//! The runners build their own runtime, so they must be called from plain (non-async) code;
//! from inside a runtime they return [`ParallelError::InsideRuntime`] instead of panicking.

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::basics::blocking::{TaskError, to_thread};

/// Why a CPU-bound run could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum ParallelError {
    /// A runner was called from inside a tokio runtime, where building another one would panic.
    #[error("{0} builds its own runtime; call it from synchronous code, not from inside a runtime")]
    InsideRuntime(&'static str),
    /// The runtime could not be built (the OS refused threads, say).
    #[error("could not build the tokio runtime: {0}")]
    Runtime(#[from] std::io::Error),
    /// A job panicked or was cancelled.
    #[error("a CPU-bound job failed: {0}")]
    Task(#[from] TaskError),
}

/// Pure CPU work: `iterations` rounds of an xorshift generator. Deterministic, never yields.
pub fn cpu_work(iterations: u64) -> u64 {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..iterations {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x = black_box(x);
    }
    x
}

/// How many [`cpu_work`] iterations take about `target` on this machine (measured once).
pub fn calibrate(target: Duration) -> u64 {
    let probe = 2_000_000;
    let start = Instant::now();
    black_box(cpu_work(probe));
    let took = start.elapsed().as_secs_f64().max(1e-6);
    ((probe as f64) * target.as_secs_f64() / took).max(1.0) as u64
}

fn outside_runtime(who: &'static str) -> Result<(), ParallelError> {
    if tokio::runtime::Handle::try_current().is_ok() {
        Err(ParallelError::InsideRuntime(who))
    } else {
        Ok(())
    }
}

/// `jobs` CPU-bound async tasks on a current-thread runtime: concurrent, not parallel.
pub fn concurrent(jobs: usize, iterations: u64) -> Result<Duration, ParallelError> {
    outside_runtime("concurrent")?;
    let rt = tokio::runtime::Builder::new_current_thread().build()?;
    Ok(rt.block_on(async {
        let start = Instant::now();
        let tasks = (0..jobs).map(|_| async move { cpu_work(iterations) });
        black_box(futures::future::join_all(tasks).await);
        start.elapsed()
    }))
}

/// `jobs` CPU-bound tasks spawned on a multi-thread runtime with `workers` threads.
///
/// The clock starts once the runtime is warm: a first, untimed pass of the same jobs (a quarter
/// of the work each) starts every worker thread and wakes every core, so the timed pass measures
/// the computing, not the start-up.
pub fn parallel(jobs: usize, iterations: u64, workers: usize) -> Result<Duration, ParallelError> {
    outside_runtime("parallel")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.max(1))
        .build()?;
    rt.block_on(async {
        spawned(jobs, iterations / 4).await?;
        let start = Instant::now();
        spawned(jobs, iterations).await?;
        Ok(start.elapsed())
    })
}

/// Spawn `jobs` tasks of `iterations` each on the current runtime and wait for all of them.
async fn spawned(jobs: usize, iterations: u64) -> Result<(), TaskError> {
    let handles: Vec<_> = (0..jobs)
        .map(|_| tokio::spawn(async move { cpu_work(iterations) }))
        .collect();
    for handle in handles {
        black_box(handle.await.map_err(TaskError::from_join)?);
    }
    Ok(())
}

/// `jobs` CPU-bound closures sent to the blocking pool from a current-thread runtime.
///
/// The async side stays single-threaded; the computing happens on blocking threads, so it is
/// parallel anyway. As in [`parallel`], an untimed first pass starts the blocking threads.
pub fn parallel_blocking(jobs: usize, iterations: u64) -> Result<Duration, ParallelError> {
    outside_runtime("parallel_blocking")?;
    let rt = tokio::runtime::Builder::new_current_thread().build()?;
    rt.block_on(async {
        on_threads(jobs, iterations / 4).await?;
        let start = Instant::now();
        on_threads(jobs, iterations).await?;
        Ok(start.elapsed())
    })
}

/// Send `jobs` closures of `iterations` each to the blocking pool and wait for all of them.
async fn on_threads(jobs: usize, iterations: u64) -> Result<(), TaskError> {
    let calls = (0..jobs).map(|_| to_thread(move || cpu_work(iterations)));
    for result in futures::future::join_all(calls).await {
        black_box(result?);
    }
    Ok(())
}

/// The number of cores this process may use (1 if unknown).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

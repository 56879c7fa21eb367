//! Concurrency helps waiting; parallelism helps computing. Measured on CPU-bound jobs and on
//! waiting jobs.
//!
//! ```text
//! cargo run --release --example concurrency_vs_parallelism
//! ```
//!
//! It ends with what to notice in its numbers: CPU-bound jobs run as async tasks on one thread
//! take as long as a plain loop; on a multi-thread runtime they approach the core count. Waiting
//! jobs are the opposite: one thread overlaps them all.

use std::error::Error;
use std::time::Duration;

use async_patterns::basics::parallel::{self, calibrate, cores, cpu_work};
use async_patterns::timing::{Page, Table, Target, measure_sync};

fn main() -> Result<(), Box<dyn Error>> {
    run(&mut Page::new("concurrency_vs_parallelism"), false)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Run the demo; `brief` is the tour's shorter version.
pub fn run(page: &mut Page, brief: bool) -> Result<(), Box<dyn Error>> {
    let cores = cores();
    let jobs = cores.max(2) * 2;
    let (job, rounds) = if brief { (ms(30), 3) } else { (ms(100), 4) };
    let iterations = calibrate(job);
    page.heading(format!(
        "concurrency vs parallelism: {jobs} CPU jobs of about {job:?} on {cores} cores"
    ));

    // Each way once a round, the rounds interleaved, the best time of each kept: other
    // processes only ever add time, so the best is the closest to what the work itself costs,
    // and a burst of noise lands on one round of one way, not on a whole row.
    let plain = || {
        (0..jobs)
            .map(|_| cpu_work(iterations))
            .fold(0, u64::wrapping_add)
    };
    let mut best = [Duration::MAX; 4];
    for _ in 0..rounds {
        let times = [
            measure_sync(plain).1,
            parallel::concurrent(jobs, iterations)?,
            parallel::parallel(jobs, iterations, cores)?,
            parallel::parallel_blocking(jobs, iterations)?,
        ];
        for (best, time) in best.iter_mut().zip(times) {
            *best = (*best).min(time);
        }
    }
    // The ideal: the plain loop's work shared by every core that has a job.
    let ideal = best[0] / cores.min(jobs).max(1) as u32;
    let title = format!("{jobs} CPU-bound jobs, the best of {rounds} interleaved rounds");
    let mut cpu = Table::new(title).ideal(ideal);
    cpu.add("plain loop", best[0]);
    cpu.add("async tasks, current_thread", best[1]);
    cpu.add(format!("tasks, multi_thread ({cores} workers)"), best[2]);
    cpu.add("spawn_blocking", best[3]);
    page.table(&cpu);

    let wait = Duration::from_millis(100);
    let mut io = Table::new(format!("{jobs} waits of {wait:?}")).ideal(wait);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    io.measure_sync("one by one", || {
        runtime.block_on(async {
            for _ in 0..jobs {
                tokio::time::sleep(wait).await;
            }
        })
    });
    let (_, took) = measure_sync(|| {
        runtime.block_on(async {
            futures::future::join_all((0..jobs).map(|_| tokio::time::sleep(wait))).await
        })
    });
    io.add("concurrent, current_thread", took);
    page.table(&io);

    let concurrent = cpu.speedup("async tasks, current_thread").unwrap_or(0.0);
    let parallel = cpu
        .speedup(&format!("tasks, multi_thread ({cores} workers)"))
        .unwrap_or(0.0);
    let want = 0.85 * cores.min(jobs) as f64;
    page.target(Target::at_least(
        format!("parallel >= {want:.1}x the plain loop ({jobs} jobs on {cores} cores)"),
        parallel,
        want,
    ));
    page.target(Target::at_most(
        format!("concurrent-only CPU work <= 1.15x the plain loop ({jobs} jobs)"),
        concurrent,
        1.15,
    ));
    page.target(Target::at_least(
        format!(
            "concurrent waits >= {:.1}x one by one ({jobs} waits)",
            jobs as f64 * 0.8
        ),
        io.speedup("concurrent, current_thread").unwrap_or(0.0),
        jobs as f64 * 0.8,
    ));
    let most = cores.min(jobs) as f64;
    // A parallel speedup well under the core count means the cores were not all ours.
    let busy = if parallel < 0.75 * most {
        " (well under the core count: other processes were using the cores)"
    } else {
        ""
    };
    page.notice(format!(
        "computing: tasks on one thread ran at {concurrent:.2}x the plain loop (concurrency alone \
         adds no core); on {cores} worker threads {parallel:.2}x of at most {most:.0}x{busy}."
    ));
    page.notice(format!(
        "waiting: {jobs} waits on one thread took {:.2} times one wait: concurrency overlaps \
         waiting without any extra thread.",
        io.vs_ideal("concurrent, current_thread").unwrap_or(0.0)
    ));
    Ok(())
}

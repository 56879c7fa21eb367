//! CPU-bound jobs: concurrent on one thread vs parallel on all cores.
//!
//! `cargo bench --bench parallel`. Speedups are against a plain loop; the ideal for the parallel
//! rows is the core count (for at least as many jobs as cores).

use std::error::Error;
use std::time::Duration;

use async_patterns::basics::parallel::{self, calibrate, cores, cpu_work};
use async_patterns::timing::{Table, Target};

fn main() -> Result<(), Box<dyn Error>> {
    let cores = cores();
    let job = Duration::from_millis(100);
    let iterations = calibrate(job);
    println!("parallel bench: CPU jobs of about {job:?} on {cores} cores");
    let mut targets = Vec::new();
    for jobs in [cores, cores * 4] {
        let ideal = job * jobs.div_ceil(cores) as u32;
        let mut table = Table::new(format!(
            "{jobs} jobs (ideal {} ms on {cores} cores)",
            ideal.as_millis()
        ))
        .ideal(ideal);
        table.measure_sync("plain loop", || {
            (0..jobs)
                .map(|_| cpu_work(iterations))
                .fold(0, u64::wrapping_add)
        });
        table.set_ideal("plain loop", job * jobs as u32);
        table.add(
            "current_thread tasks",
            parallel::concurrent(jobs, iterations)?,
        );
        table.set_ideal("current_thread tasks", job * jobs as u32);
        table.add(
            "multi_thread tasks",
            parallel::parallel(jobs, iterations, cores)?,
        );
        table.add(
            "spawn_blocking",
            parallel::parallel_blocking(jobs, iterations)?,
        );
        println!("{table}");
        let want = 0.85 * cores as f64;
        targets.push(Target::at_least(
            format!("{jobs} jobs: parallel >= {want:.1}x (cores {cores})"),
            table.speedup("multi_thread tasks").unwrap_or(0.0),
            want,
        ));
        targets.push(Target::at_most(
            format!("{jobs} jobs: concurrent-only <= 1.1x"),
            table.speedup("current_thread tasks").unwrap_or(f64::MAX),
            1.1,
        ));
    }
    for target in targets {
        println!("{target}");
    }
    Ok(())
}

//! Pipeline bench (harness = false): what a stage costs, and how close a slow stage gets to its
//! ideal throughput.
//!
//! Run: `cargo bench --bench pipeline`
//!
//! 1. 1,000,000 items through three no-op stages vs the same three calls in a hand-written loop:
//!    the overhead per item per stage (target: under 1 µs), and the ratio.
//! 2. 10,000 items through a 10 ms stage at concurrency 100: items per second vs the ideal
//!    10,000/s (target: at least 0.9 of it). Tokio's timer makes a 10 ms sleep last about
//!    11 ms (deadlines round up to the next millisecond tick), which alone costs about 9 % of
//!    the nominal ideal; so the bench also times the same sleep in a bare loop and reports the
//!    ratio against the ideal with that real sleep, beside the nominal one, plus the same waits
//!    with a bare `buffer_unordered` and no pipeline.

use std::convert::Infallible;
use std::hint::black_box;
use std::time::Duration;

use async_patterns::pipeline::stream::{Pipeline, StageOptions};
use async_patterns::timing::{Table, Target, human, measure};
use futures::StreamExt;

const ITEMS: u64 = 1_000_000;
const STAGES: u32 = 3;

async fn noop(x: u64) -> Result<u64, Infallible> {
    Ok(black_box(x))
}

/// The baseline: the three stage calls, awaited in a loop.
async fn hand_written() -> u64 {
    let mut sum = 0u64;
    for x in 0..ITEMS {
        let Ok(a) = noop(x).await;
        let Ok(b) = noop(a).await;
        let Ok(c) = noop(b).await;
        sum = sum.wrapping_add(c);
    }
    sum
}

async fn piped(options: StageOptions) -> u64 {
    let mut out = Pipeline::from_iter(0..ITEMS)
        .stage_fn("a", options, noop)
        .stage_fn("b", options, noop)
        .stage_fn("c", options, noop)
        .into_stream();
    let mut sum = 0u64;
    while let Some(item) = out.next().await {
        sum = sum.wrapping_add(item.unwrap_or(0));
    }
    sum
}

/// The same waits with `buffer_unordered` and no pipeline: the best tokio's timer allows.
async fn bare_buffer_unordered(items: u64, limit: usize, each: Duration) -> usize {
    futures::stream::iter(0..items)
        .map(|x| async move {
            tokio::time::sleep(each).await;
            x
        })
        .buffer_unordered(limit)
        .count()
        .await
}

async fn slow_stage(items: u64, limit: usize, each: Duration) -> usize {
    Pipeline::from_iter(0..items)
        .stage_fn(
            "sleep",
            StageOptions::unordered(limit),
            move |x| async move {
                tokio::time::sleep(each).await;
                Ok::<_, Infallible>(x)
            },
        )
        .into_stream()
        .count()
        .await
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        // Part 1: overhead.
        let mut table = Table::new(format!("{ITEMS} items through {STAGES} no-op stages"))
            .baseline("pipeline, ordered(1)");
        let expected = table.measure("hand-written loop", hand_written()).await;
        let rows = [
            ("pipeline, ordered(1)", StageOptions::ordered(1)),
            ("pipeline, ordered(16)", StageOptions::ordered(16)),
            ("pipeline, unordered(16)", StageOptions::unordered(16)),
        ];
        let mut worst_per_stage = Duration::ZERO;
        for (label, options) in rows {
            let (sum, took) = measure(piped(options)).await;
            table.add(label, took);
            assert_eq!(sum, expected, "every item came through");
            let base = table
                .row("hand-written loop")
                .map(|r| r.elapsed)
                .unwrap_or_default();
            let per = took.saturating_sub(base) / (ITEMS as u32 * STAGES);
            println!("{label}: overhead {} per item per stage", human(per));
            worst_per_stage = worst_per_stage.max(per);
        }
        println!("\n{table}");
        let base = table.row("hand-written loop").map(|r| r.elapsed);
        for (label, _) in rows {
            let row = table.row(label).map(|r| r.elapsed);
            if let (Some(base), Some(row)) = (base, row) {
                let ratio = async_patterns::timing::ratio(row, base).unwrap_or(f64::INFINITY);
                println!("{label}: {ratio:.0}x the hand-written loop's time");
            }
        }
        println!(
            "{}\n",
            Target::at_most(
                "overhead per item per stage <= 1.0 µs (worst row, in µs)",
                worst_per_stage.as_secs_f64() * 1e6,
                1.0
            )
        );

        // Part 2: throughput of a slow stage.
        let (items, limit, each) = (10_000u64, 100usize, Duration::from_millis(10));
        let rounds = (items / limit as u64) as u32;
        // What a `sleep(each)` really lasts here. Tokio's timer rounds a deadline up to its next
        // millisecond tick, so a 10 ms sleep started just after a tick lasts about 11 ms, and
        // every one of the 100 rounds pays that. A bare loop of the same sleeps (no pipeline,
        // no concurrency) prices the timer alone, so the second ideal below is the nominal one
        // with the timer's real sleep in place of `each`: what is left is the pipeline's cost.
        let samples = 50u32;
        let ((), slept) = measure(async {
            for _ in 0..samples {
                tokio::time::sleep(each).await;
            }
        })
        .await;
        let real_each = slept / samples;
        println!(
            "tokio's timer: sleep({}) lasts {} (mean of {samples} in a bare loop)\n",
            human(each),
            human(real_each)
        );

        let mut table = Table::new(format!(
            "{items} items through a {} stage at concurrency {limit} (ideal: {rounds} x {})",
            human(each),
            human(each)
        ))
        .ideal(each * rounds);
        table
            .measure(
                format!("bare buffer_unordered({limit})"),
                bare_buffer_unordered(items, limit, each),
            )
            .await;
        let (count, took) = measure(slow_stage(items, limit, each)).await;
        let pipeline_row = format!("pipeline, unordered({limit})");
        table.add(&pipeline_row, took);
        println!("{table}");
        let rate = count as f64 / took.as_secs_f64();
        let ideal_rate = limit as f64 / each.as_secs_f64();
        let timer_rate = limit as f64 / real_each.as_secs_f64().max(f64::MIN_POSITIVE);
        println!(
            "pipeline: {rate:.0} items/s; ideal: {ideal_rate:.0} items/s nominal ({limit} / {}), \
             {timer_rate:.0} items/s with the timer's real sleep ({limit} / {})",
            human(each),
            human(real_each)
        );
        if let Some(speedup) = table.speedup(&pipeline_row) {
            println!("pipeline vs bare buffer_unordered: {speedup:.2}x its speed");
        }
        println!(
            "the nominal ideal takes each sleep to last exactly {}; the timer's rounding alone \
             leaves {:.2} of it",
            human(each),
            each.as_secs_f64() / real_each.as_secs_f64().max(f64::MIN_POSITIVE)
        );
        // Both targets are printed: the nominal one is the issue's; when it is missed because
        // the timer's sleep is longer than asked, the second one says whether the pipeline
        // itself kept up.
        println!(
            "{}",
            Target::at_least("throughput >= 0.9 of the ideal", rate / ideal_rate, 0.9)
        );
        println!(
            "{}",
            Target::at_least(
                "throughput >= 0.9 of the ideal with the timer's real sleep",
                rate / timer_rate,
                0.9
            )
        );
    });
    Ok(())
}

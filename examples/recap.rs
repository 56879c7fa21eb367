//! async/await in one page, measured: futures are lazy, `.await` runs them, `join!` overlaps them.
//!
//! ```text
//! cargo run --release --example recap
//! ```
//!
//! It ends with what to notice in its numbers: calling an `async fn` prints nothing until the
//! future is awaited; two awaits in a row take the sum; `join!` takes the longest; `select!`
//! with a timer gives up on a slow one.

use std::error::Error;
use std::time::Duration;

use async_patterns::timing::{Table, Target, ratio};
use tokio::time::sleep;

/// Brew a coffee: the kind of wait async is for.
async fn brew(name: &str, ms: u64) -> String {
    println!("   start {name}");
    sleep(Duration::from_millis(ms)).await;
    println!("   done  {name}");
    format!("{name} ready")
}

fn main() -> Result<(), Box<dyn Error>> {
    run(false)
}

/// Run the demo; `brief` is the tour's shorter version.
pub fn run(brief: bool) -> Result<(), Box<dyn Error>> {
    let ms = if brief { 100 } else { 300 };
    println!("== recap: async/await in one page");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        println!("1. An async fn returns a future and does nothing yet:");
        let later = brew("lazy coffee", 1);
        println!("   (future created, nothing printed above this line)");
        later.await;

        let mut table = Table::new("two waits").ideal(Duration::from_millis(ms));
        println!("2. Two awaits in a row: the second starts when the first ends.");
        table
            .measure("await, await", async {
                brew("espresso", ms).await;
                brew("latte", ms).await;
            })
            .await;
        println!("3. join!: both are in progress at once, on this one thread.");
        table
            .measure("join!", async {
                tokio::join!(brew("espresso", ms), brew("latte", ms));
            })
            .await;
        println!("4. select!: race a slow brew against a timer; the loser is dropped (cancelled).");
        tokio::select! {
            cup = brew("slow pour-over", ms * 10) => println!("   got {cup}"),
            () = sleep(Duration::from_millis(ms)) => println!("   timer won: the pour-over was cancelled"),
        }
        println!("5. spawn: a task runs on its own; its JoinHandle is awaited like a future.");
        let handle = tokio::spawn(brew("spawned mocha", ms / 2));
        println!("   {}", handle.await?);

        println!("{table}");
        println!(
            "{}",
            Target::at_least("join! about 2x await-await", table.speedup("join!").unwrap_or(0.0), 1.8)
        );
        let wait = Duration::from_millis(ms);
        let in_waits = |label| table.row(label).and_then(|r| ratio(r.elapsed, wait)).unwrap_or(0.0);
        println!("what to notice:");
        println!(
            "  two awaits in a row took {:.2} brews of {ms} ms: the sum. join! took {:.2}: the longest, on one thread.",
            in_waits("await, await"),
            in_waits("join!")
        );
        Ok::<(), Box<dyn Error>>(())
    })
}

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

use std::sync::Arc;

use async_patterns::timing::{Page, Table, Target, Timeline, TimelineLayer, ratio};
use tokio::time::sleep;
use tracing::Instrument;

/// Brew a coffee: the kind of wait async is for. It says when it starts and ends, so the order
/// of the lines shows what ran when, and runs in a span, so the timeline draws it (a brew
/// dropped before it is done never records its outcome: drawn cancelled).
async fn brew(name: &str, ms: u64) -> String {
    let span = tracing::debug_span!("brew", name, outcome = tracing::field::Empty);
    async {
        println!("   start {name}");
        sleep(Duration::from_millis(ms)).await;
        println!("   done  {name}");
        tracing::Span::current().record("outcome", "ok");
        format!("{name} ready")
    }
    .instrument(span)
    .await
}

fn main() -> Result<(), Box<dyn Error>> {
    run(&mut Page::new("recap"), false)
}

/// Run the demo; `brief` is the tour's shorter version.
pub fn run(page: &mut Page, brief: bool) -> Result<(), Box<dyn Error>> {
    let ms = if brief { 100 } else { 300 };
    page.heading("recap: async/await in one page");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Every brew is recorded, to draw them all at the end.
    let timeline = runtime.block_on(async { Arc::new(Timeline::new()) });
    let recording = TimelineLayer::new(Arc::clone(&timeline)).record(module_path!());
    let _recorded = tracing::dispatcher::set_default(&recording.into_dispatch());
    runtime.block_on(async {
        page.line("1. An async fn returns a future and does nothing yet:");
        let later = brew("lazy coffee", 1);
        println!("   (future created, nothing printed above this line)");
        later.await;

        let mut table = Table::new("two waits").ideal(Duration::from_millis(ms));
        page.line("2. Two awaits in a row: the second starts when the first ends.");
        table
            .measure("await, await", async {
                brew("espresso", ms).await;
                brew("latte", ms).await;
            })
            .await;
        page.line("3. join!: both are in progress at once, on this one thread.");
        table
            .measure("join!", async {
                tokio::join!(brew("espresso", ms), brew("latte", ms));
            })
            .await;
        page.line("4. select!: race a slow brew against a timer; the loser is dropped (cancelled).");
        tokio::select! {
            cup = brew("slow pour-over", ms * 10) => println!("   got {cup}"),
            () = sleep(Duration::from_millis(ms)) => println!("   timer won: the pour-over was cancelled"),
        }
        page.line("5. spawn: a task runs on its own; its JoinHandle is awaited like a future.");
        let handle = tokio::spawn(brew("spawned mocha", ms / 2));
        println!("   {}", handle.await?);

        page.timeline("every brew (the cancelled pour-over in grey)", &timeline);
        page.table(&table);
        let speedup = table.speedup("join!").unwrap_or(0.0);
        page.target(Target::at_least("join! >= 1.8x two awaits in a row (two brews)", speedup, 1.8));
        let wait = Duration::from_millis(ms);
        let in_waits = |label| table.row(label).and_then(|r| ratio(r.elapsed, wait)).unwrap_or(0.0);
        page.notice(format!(
            "two awaits in a row took {:.2} brews of {ms} ms: the sum. join! took {:.2}: the longest, on one thread.",
            in_waits("await, await"),
            in_waits("join!")
        ));
        Ok::<(), Box<dyn Error>>(())
    })
}

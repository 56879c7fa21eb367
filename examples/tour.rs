//! The whole story, offline, in about half a minute, in the talk's order: concurrency vs
//! parallelism, async/await, gather, the wrong way, `to_thread`, the two HTTP clients; then the
//! pitfalls, and every pattern example.
//!
//! ```text
//! cargo run --release --example tour
//! ```
//!
//! Each part prints what to notice, then its timing table. Each also runs on its own
//! (`cargo run --release --example gather`), some with a URL argument for the real network.

use std::error::Error;
use std::time::Instant;

// Each example is compiled here as a module so the tour reuses it. The basics examples expose
// `run(.., brief)` and their own `main`s go unused here; the pattern examples' `main`s build their
// own runtimes (`#[tokio::main]`), so this synchronous main calls them as they are.
#[path = "actor.rs"]
mod actor;
#[allow(dead_code)]
#[path = "concurrency_vs_parallelism.rs"]
mod concurrency_vs_parallelism;
#[path = "decorator.rs"]
mod decorator;
#[path = "factory.rs"]
mod factory;
#[allow(dead_code)]
#[path = "gather.rs"]
mod gather;
#[path = "observer.rs"]
mod observer;
#[path = "pipeline_plan.rs"]
mod pipeline_plan;
#[path = "pipeline_stream.rs"]
mod pipeline_stream;
#[allow(dead_code)]
#[path = "pitfalls.rs"]
mod pitfalls;
#[allow(dead_code)]
#[path = "recap.rs"]
mod recap;
#[allow(dead_code)]
#[path = "req_http_aio.rs"]
mod req_http_aio;
#[path = "strategy.rs"]
mod strategy;
#[allow(dead_code)]
#[path = "to_thread.rs"]
mod to_thread;
#[allow(dead_code)]
#[path = "wrong_way.rs"]
mod wrong_way;

fn main() -> Result<(), Box<dyn Error>> {
    let start = Instant::now();
    println!(
        "async-patterns: a tour of the async basics, measured (loopback server, no network)\n"
    );
    // The talk's order: concurrency vs parallelism first, then async/await and gather.
    let mut page = async_patterns::timing::Page::new("async-patterns: the tour");
    concurrency_vs_parallelism::run(&mut page, true)?;
    println!();
    recap::run(&mut page, true)?;
    println!();
    gather::run(&mut page, None, true)?;
    println!();
    wrong_way::run(&mut page, true)?;
    println!();
    to_thread::run(&mut page, None, true)?;
    println!();
    req_http_aio::run(&mut page, None, true)?;
    println!();
    // Not in the talk: the traps met right after the basics, each measured and fixed.
    pitfalls::run(&mut page)?;
    println!();
    println!("== the patterns: the same shapes, with .await\n");
    strategy::main()?;
    println!();
    factory::main()?;
    println!();
    observer::main()?;
    println!();
    pipeline_plan::main()?;
    println!();
    pipeline_stream::main()?;
    println!();
    decorator::main()?;
    println!();
    actor::main()?;
    println!();
    println!("tour finished in {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}

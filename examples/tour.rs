//! The whole story, offline, in about half a minute, in the talk's order: concurrency vs
//! parallelism, async/await, gather, the wrong way, `to_thread`, the two HTTP clients; then the
//! pitfalls, and every pattern example.
//!
//! ```text
//! cargo run --release --example tour
//! ```
//!
//! Each part prints its tables and timelines, then what to notice; the whole run is also saved
//! as one self-contained HTML page (`target/tour.html`, every timeline drawn as a picture), and
//! its path printed at the end. Each part also runs on its own (`cargo run --release --example
//! gather`), some with a URL argument for the real network.

use std::error::Error;
use std::time::Instant;

use async_patterns::timing::Page;

// Each example is compiled here as a module so the tour reuses it. The basics examples expose
// `run(.., brief)` and their own `main`s go unused here; the pattern examples' `main`s build their
// own runtimes (`#[tokio::main]`), so this synchronous main calls them as they are.
#[allow(dead_code)]
#[path = "actor.rs"]
mod actor;
#[allow(dead_code)]
#[path = "concurrency_vs_parallelism.rs"]
mod concurrency_vs_parallelism;
#[allow(dead_code)]
#[path = "decorator.rs"]
mod decorator;
#[allow(dead_code)]
#[path = "factory.rs"]
mod factory;
#[allow(dead_code)]
#[path = "gather.rs"]
mod gather;
#[allow(dead_code)]
#[path = "observer.rs"]
mod observer;
#[allow(dead_code)]
#[path = "pipeline_plan.rs"]
mod pipeline_plan;
#[allow(dead_code)]
#[path = "pipeline_stream.rs"]
mod pipeline_stream;
#[allow(dead_code)]
#[path = "pitfalls.rs"]
mod pitfalls;
#[allow(dead_code)]
#[path = "recap.rs"]
mod recap;
#[allow(dead_code)]
#[path = "redis.rs"]
mod redis;
#[allow(dead_code)]
#[path = "req_http_aio.rs"]
mod req_http_aio;
#[allow(dead_code)]
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
    let mut page = Page::new("async-patterns: the tour");
    page.line(
        "A tour of the async basics and the patterns, measured (loopback server, no network).",
    );
    // The talk's order: concurrency vs parallelism first, then async/await and gather.
    concurrency_vs_parallelism::run(&mut page, true)?;
    recap::run(&mut page, true)?;
    gather::run(&mut page, None, true)?;
    wrong_way::run(&mut page, true)?;
    to_thread::run(&mut page, None, true)?;
    req_http_aio::run(&mut page, None, true)?;
    // Not in the talk: the traps met right after the basics, each measured and fixed.
    pitfalls::run(&mut page)?;
    page.heading("the patterns: the same shapes, with .await");
    strategy::run(&mut page, true)?;
    factory::run(&mut page, true)?;
    observer::run(&mut page, true)?;
    pipeline_plan::run(&mut page, true)?;
    pipeline_stream::run(&mut page, true)?;
    decorator::run(&mut page, true)?;
    actor::run(&mut page, true)?;
    // Beyond one process: the same Observer and Pipeline on Redis (when redis-server is here).
    redis::run(&mut page, true)?;
    let took = start.elapsed().as_secs_f64();
    page.line(format!(
        "tour finished in {took:.1} s, {} targets missed",
        page.missed()
    ));
    // The whole run as one page: every table, every timeline as a picture, every note.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("tour.html");
    page.save(&path)?;
    println!("\nthe whole tour as one page: {}", path.display());
    Ok(())
}

//! Blocking code made awaitable: `to_thread` (Python's `asyncio.to_thread`), and why tokio's pool
//! scales where Python's default executor does not.
//!
//! ```text
//! cargo run --release --example to_thread
//! cargo run --release --example to_thread -- https://example.com/
//! ```
//!
//! It ends with what to notice in its numbers: the blocking reqwest client, called from
//! `to_thread`, overlaps twenty requests. With the blocking pool capped like Python's default
//! executor (`min(32, cores + 4)` threads) the same batch runs in waves, which is why the talk's
//! Python code reached only about 4.6x on a 2-core machine.

use std::error::Error;
use std::sync::Arc;

use async_patterns::basics::blocking::to_thread;
use async_patterns::basics::parallel::cores;
use async_patterns::http::HttpConfig;
use async_patterns::http::blocking::BlockingHttp;
use async_patterns::testkit::TestServer;
use async_patterns::timing::{Page, Table, Target, measure_sync};

fn main() -> Result<(), Box<dyn Error>> {
    run(&mut Page::new("to_thread"), std::env::args().nth(1), false)
}

/// `n` `to_thread` GETs on a runtime whose blocking pool has at most `threads` threads.
fn batch_on_pool(
    page: &mut Page,
    http: &Arc<BlockingHttp>,
    url: &str,
    n: usize,
    threads: usize,
) -> Result<std::time::Duration, Box<dyn Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(threads)
        .enable_all()
        .build()?;
    let (results, took) = measure_sync(|| {
        runtime.block_on(futures::future::join_all((0..n).map(|_| {
            let (http, url) = (Arc::clone(http), url.to_owned());
            to_thread(move || http.get(&url))
        })))
    });
    // Every request has returned (join_all waited), so this is immediate; bounded all the same,
    // as a runtime with blocking threads should be.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    let failed = results.iter().filter(|r| !matches!(r, Ok(Ok(_)))).count();
    if failed > 0 {
        page.line(format!(
            "{failed} of {n} requests failed on the {threads}-thread pool"
        ));
    }
    Ok(took)
}

/// Run the demo against `url` (or the loopback server); `brief` is the tour's shorter version.
pub fn run(page: &mut Page, url: Option<String>, brief: bool) -> Result<(), Box<dyn Error>> {
    let n = if brief { 10 } else { 20 };
    let server = TestServer::start()?;
    let url = url.unwrap_or_else(|| server.delay_url(100));
    let python_pool = 32.min(cores() + 4);
    page.heading(format!("to_thread: {n} blocking GETs of {url}"));
    // Plain code: no runtime on this thread, so the blocking client may be built and used here.
    let http = Arc::new(BlockingHttp::new(HttpConfig::default())?);
    http.get(&url)?; // warm the connection pool
    let (_, one) = measure_sync(|| http.get(&url));

    let mut table = Table::new(format!("{n} blocking requests")).ideal(one);
    table.measure_sync("plain loop (blocking)", || {
        (0..n)
            .map(|_| http.get(&url))
            .filter(Result::is_err)
            .count()
    });
    table.add(
        "to_thread, tokio's pool (512)",
        batch_on_pool(page, &http, &url, n, 512)?,
    );
    let python = format!("to_thread, pool of {python_pool} (Python's default)");
    table.add(&python, batch_on_pool(page, &http, &url, n, python_pool)?);
    table.set_ideal(&python, one * n.div_ceil(python_pool) as u32);
    page.line(format!(
        "Python's ThreadPoolExecutor defaults to min(32, cores + 4) = {python_pool} threads here, \
         so {n} calls run in {} waves; tokio's pool grows to 512 threads.",
        n.div_ceil(python_pool)
    ));
    page.table(&table);
    page.target(Target::at_least(
        format!(
            "to_thread >= {:.1}x the plain loop ({n} requests)",
            n as f64 * 0.75
        ),
        table
            .speedup("to_thread, tokio's pool (512)")
            .unwrap_or(0.0),
        n as f64 * 0.75,
    ));
    let speedup = |label: &str| table.speedup(label).unwrap_or(0.0);
    page.notice(format!(
        "to_thread on tokio's pool was {:.1}x faster than the plain loop: all {n} calls overlapped.",
        speedup("to_thread, tokio's pool (512)")
    ));
    page.notice(format!(
        "on a pool of {python_pool} threads it was {:.1}x: {} waves, as Python's default executor would run them.",
        speedup(&python),
        n.div_ceil(python_pool)
    ));
    Ok(())
}

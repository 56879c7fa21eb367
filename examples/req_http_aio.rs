//! `req_http` (blocking reqwest on threads) vs `req_http_aio` (the native async client).
//!
//! ```text
//! cargo run --release --example req_http_aio
//! cargo run --release --example req_http_aio -- https://example.com/
//! ```
//!
//! Notice: for 20 requests both overlap fully. At 500 the threaded client needs a thread per
//! request in flight (watch the process's thread count), while the native client waits for all
//! of them from the runtime's two worker threads (the count also includes the loopback server's
//! threads).

use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_patterns::basics::gather;
use async_patterns::http::HttpGet;
use async_patterns::http::native::NativeHttp;
use async_patterns::http::threaded::ThreadedHttp;
use async_patterns::testkit::TestServer;
use async_patterns::timing::{Table, Target, measure};

fn main() -> Result<(), Box<dyn Error>> {
    run(std::env::args().nth(1), false)
}

/// The number of threads in this process, where the OS tells (Linux `/proc`).
fn threads_now() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Threads:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Fetch `urls` concurrently while sampling the thread count; returns (failures, peak threads).
async fn batch(http: &dyn HttpGet, urls: &[String]) -> (usize, Option<usize>) {
    let peak = Arc::new(AtomicUsize::new(0));
    let sampler = {
        let peak = Arc::clone(&peak);
        tokio::spawn(async move {
            loop {
                if let Some(n) = threads_now() {
                    peak.fetch_max(n, Ordering::Relaxed);
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        })
    };
    let out = gather::all_at_once(urls.iter().map(|u| http.get(u))).await;
    sampler.abort();
    let failed = out.iter().filter(|r| r.is_err()).count();
    let peak = peak.load(Ordering::Relaxed);
    (failed, (peak > 0).then_some(peak))
}

/// Run the demo against `url` (or the loopback server); `brief` is the tour's shorter version.
pub fn run(url: Option<String>, brief: bool) -> Result<(), Box<dyn Error>> {
    let server = TestServer::start()?;
    let url = url.unwrap_or_else(|| server.delay_url(100));
    let sizes: &[usize] = if brief { &[20, 200] } else { &[20, 500] };
    println!("== req_http_aio: threaded (spawn_blocking) vs native async, GET {url}");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let native = NativeHttp::new(None)?;
        let threaded = ThreadedHttp::new(None);
        native.get(&url).await?;
        threaded.get(&url).await?;
        let (_, one) = measure(native.get(&url)).await;
        println!("   threads in this process before: {}", threads_now().map_or("unknown".into(), |t| t.to_string()));
        let mut tables = Vec::new();
        for &n in sizes {
            let urls = vec![url.clone(); n];
            let mut table = Table::new(format!("{n} concurrent GETs")).ideal(one);
            // Native first: blocking-pool threads linger for 10 s after use and would be
            // counted against the native client.
            for (name, http) in [("native", &native as &dyn HttpGet), ("threaded", &threaded)] {
                // Untimed warm-up: opens the connections a long-running client would already
                // hold, so the row measures waiting, not n TCP handshakes.
                batch(http, &urls).await;
                let (failed, threads) = table.measure(name, batch(http, &urls)).await;
                let threads = threads.map_or("unknown".into(), |t| t.to_string());
                println!("   {name:>8} x {n:>3}: peak threads in this process {threads:>4}, failed {failed}");
            }
            tables.push(table);
        }
        for table in &tables {
            println!("{table}");
        }
        if let Some(table) = tables.last() {
            println!(
                "{}",
                Target::at_most(
                    "native, the largest batch, within 1.5x of one request",
                    table.vs_ideal("native").unwrap_or(f64::MAX),
                    1.5,
                )
            );
        }
        Ok::<(), Box<dyn Error>>(())
    })
}

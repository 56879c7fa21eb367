//! Twenty requests to a 100 ms route: one after another, then concurrently four ways.
//!
//! ```text
//! cargo run --release --example gather                 # offline, against the loopback server
//! cargo run --release --example gather -- https://example.com/   # the real network instead
//! ```
//!
//! Notice: one by one takes the *sum* of the waits; every concurrent way takes about *one*
//! wait. The last line reads `speedup: X.Xx (ideal 20.0x)`.

use std::error::Error;
use std::sync::Arc;

use async_patterns::basics::gather;
use async_patterns::http::HttpGet;
use async_patterns::http::native::NativeHttp;
use async_patterns::http::threaded::ThreadedHttp;
use async_patterns::testkit::TestServer;
use async_patterns::timing::{Table, Target, measure};

fn main() -> Result<(), Box<dyn Error>> {
    run(std::env::args().nth(1), false)
}

/// Run the demo against `url` (or the loopback server); `brief` is the tour's shorter version.
pub fn run(url: Option<String>, brief: bool) -> Result<(), Box<dyn Error>> {
    let n: usize = if brief { 10 } else { 20 };
    let server = TestServer::start()?;
    let url = url.unwrap_or_else(|| server.delay_url(100));
    println!("== gather: {n} GETs of {url}");
    println!("   one by one waits for each answer before asking again; the others overlap.");

    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let http = Arc::new(NativeHttp::new(None)?);
        // Warm the connection pool so the first row is not charged for a handshake.
        http.get(&url).await?;
        let (first, one) = measure(http.get(&url)).await;
        first?;

        let urls = vec![url.clone(); n];
        let mut table = Table::new(format!("{n} requests (ideal = one request)")).ideal(one);
        server.reset_stats();
        let sequential = table
            .measure("one by one", gather::one_by_one(urls.iter().map(|u| http.get(u))))
            .await;
        let peak_sequential = server.peak_in_flight();
        server.reset_stats();
        let joined = table
            .measure("join_all", gather::all_at_once(urls.iter().map(|u| http.get(u))))
            .await;
        let peak_join_all = server.peak_in_flight();
        let bounded = table
            .measure("bounded (5)", gather::bounded(urls.iter().map(|u| http.get(u)), 5))
            .await;
        // Ceil(n / 5) waves of one request each.
        table.set_ideal("bounded (5)", one * n.div_ceil(5) as u32);
        let tasks = urls.iter().map(|u| {
            let (http, u) = (Arc::clone(&http), u.clone());
            async move { http.get(&u).await }
        });
        let spawned = table.measure("JoinSet", gather::in_tasks(tasks)).await;
        let threaded = ThreadedHttp::new(None);
        threaded.get(&url).await?; // builds the blocking client before timing
        let on_threads = table
            .measure(
                "threaded (spawn_blocking)",
                gather::all_at_once(urls.iter().map(|u| threaded.get(u))),
            )
            .await;
        let failures = [sequential, joined, bounded, on_threads]
            .iter()
            .flatten()
            .filter(|r| r.is_err())
            .count()
            + spawned.iter().filter(|r| !matches!(r, Ok(Ok(_)))).count();

        println!("   peak requests in flight at the server: one by one {peak_sequential}, join_all {peak_join_all}");
        if failures > 0 {
            println!("   {failures} requests failed");
        }
        println!("{table}");
        let speedup = table.speedup("join_all").unwrap_or(0.0);
        let ideal = n as f64;
        println!("{}", Target::at_least(format!("join_all >= {:.0}x one by one", ideal * 0.9), speedup, ideal * 0.9));
        println!("{}", Target::at_most("join_all within 1.10x of one request", table.vs_ideal("join_all").unwrap_or(f64::MAX), 1.10));
        println!("{}", Target::at_least(format!("threaded >= {:.0}x one by one", ideal * 0.75), table.speedup("threaded (spawn_blocking)").unwrap_or(0.0), ideal * 0.75));
        println!("speedup: {speedup:.1}x (ideal {ideal:.1}x)");
        Ok::<(), Box<dyn Error>>(())
    })
}

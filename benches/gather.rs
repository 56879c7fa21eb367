//! How close each way of running a batch gets to the ideal, from 1 to 1000 requests.
//!
//! `cargo bench --bench gather`. Requests go to the loopback server's 50 ms route, so the ideal
//! for any concurrent batch is one request (50 ms). Prints time / ideal and speedup over one by
//! one (measured up to 100 requests; for 1000 it is estimated as 1000 x one request). Then the
//! headline batch of the README: 20 x 100 ms.

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use async_patterns::basics::gather;
use async_patterns::http::native::NativeHttp;
use async_patterns::http::threaded::ThreadedHttp;
use async_patterns::http::{HttpConfig, HttpGet};
use async_patterns::testkit::TestServer;
use async_patterns::timing::{Table, Target, human, measure};

/// Every way of running `n` GETs of `url` (a route that waits `wait`), as one table.
async fn batch(
    http: &Arc<NativeHttp>,
    threaded: &ThreadedHttp,
    url: &str,
    n: usize,
    wait: Duration,
) -> Table {
    let urls = vec![url.to_owned(); n];
    // Untimed warm-up: open the connections a long-running client would already hold.
    gather::all_at_once(urls.iter().map(|u| http.get(u))).await;
    let mut table = Table::new(format!("N = {n} x {} ms", wait.as_millis())).ideal(wait);
    if n <= 100 {
        let one_by_one = gather::one_by_one(urls.iter().map(|u| http.get(u)));
        table.measure("one by one", one_by_one).await;
        table.set_ideal("one by one", wait * n as u32);
    } else {
        let (_, one) = measure(http.get(url)).await;
        table.add_with_ideal("one by one (estimated)", one * n as u32, wait * n as u32);
    }
    let join_all = gather::all_at_once(urls.iter().map(|u| http.get(u)));
    table.measure("join_all", join_all).await;
    let bounded = gather::bounded(urls.iter().map(|u| http.get(u)), 64);
    table.measure("bounded 64", bounded).await;
    table.set_ideal("bounded 64", wait * n.div_ceil(64) as u32);
    let tasks = urls.iter().map(|u| {
        let (http, u) = (Arc::clone(http), u.clone());
        async move { http.get(&u).await }
    });
    table.measure("JoinSet", gather::in_tasks(tasks)).await;
    let on_threads = gather::all_at_once(urls.iter().map(|u| threaded.get(u)));
    table.measure("threaded", on_threads).await;
    table
}

fn main() -> Result<(), Box<dyn Error>> {
    let server = TestServer::start()?;
    let runtime = tokio::runtime::Runtime::new()?;
    println!("gather bench: N GETs on the loopback server");
    runtime.block_on(async {
        let http = Arc::new(NativeHttp::new(HttpConfig::default())?);
        let threaded = ThreadedHttp::new(HttpConfig::default());
        threaded.get(&server.url("/")).await?;
        let wait = Duration::from_millis(50);
        let mut targets = Vec::new();
        for n in [1usize, 10, 100, 1000] {
            let table = batch(&http, &threaded, &server.delay_url(50), n, wait).await;
            println!("{table}");
            if n == 1000 {
                // The same batch to a route that does not wait: what 1000 HTTP exchanges cost
                // in CPU here (client, server and kernel share the cores), with no waiting at all.
                let instant = vec![server.delay_url(0); n];
                gather::all_at_once(instant.iter().map(|u| http.get(u))).await;
                let (_, floor) =
                    measure(gather::all_at_once(instant.iter().map(|u| http.get(u)))).await;
                println!(
                    "  the same 1000 GETs to a 0 ms route take {} ({:.0} µs per exchange): the CPU \
                     floor under the 50 ms wait on this machine\n",
                    human(floor),
                    floor.as_secs_f64() * 1e6 / n as f64
                );
                targets.push(Target::at_most(
                    "1000 concurrent (join_all) within 1.5x of 50 ms",
                    table.vs_ideal("join_all").unwrap_or(f64::MAX),
                    1.5,
                ));
            }
        }
        let wait = Duration::from_millis(100);
        let table = batch(&http, &threaded, &server.delay_url(100), 20, wait).await;
        println!("{table}");
        targets.push(Target::at_least(
            "20 x 100 ms: join_all >= 18x one by one",
            table.speedup("join_all").unwrap_or(0.0),
            18.0,
        ));
        targets.push(Target::at_most(
            "20 x 100 ms: join_all within 1.10x of one request",
            table.vs_ideal("join_all").unwrap_or(f64::MAX),
            1.10,
        ));
        targets.push(Target::at_least(
            "20 x 100 ms: threaded >= 15x one by one",
            table.speedup("threaded").unwrap_or(0.0),
            15.0,
        ));
        for target in targets {
            println!("{target}");
        }
        Ok::<(), Box<dyn Error>>(())
    })
}

//! How close each way of running a batch gets to the ideal, from 1 to 1000 requests.
//!
//! `cargo bench --bench gather`. Requests go to the loopback server's 50 ms route, so the ideal
//! for any concurrent batch is one request (about 50 ms). Prints time / ideal and speedup over
//! one by one (measured up to 100 requests; for 1000 it is estimated as 1000 x one request).

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use async_patterns::basics::gather;
use async_patterns::http::HttpGet;
use async_patterns::http::native::NativeHttp;
use async_patterns::http::threaded::ThreadedHttp;
use async_patterns::testkit::TestServer;
use async_patterns::timing::{Table, Target, measure};

const ROUTE_MS: u64 = 50;

fn main() -> Result<(), Box<dyn Error>> {
    let server = TestServer::start()?;
    let url = server.delay_url(ROUTE_MS);
    let runtime = tokio::runtime::Runtime::new()?;
    println!("gather bench: N GETs of a {ROUTE_MS} ms route on the loopback server");
    runtime.block_on(async {
        let http = Arc::new(NativeHttp::new(None)?);
        let threaded = ThreadedHttp::new(None);
        threaded.get(&url).await?;
        let (_, one) = measure(http.get(&url)).await;
        let ideal = Duration::from_millis(ROUTE_MS);
        let mut targets = Vec::new();
        for n in [1usize, 10, 100, 1000] {
            let urls = vec![url.clone(); n];
            // Untimed warm-up of the connection pool at this size.
            gather::all_at_once(urls.iter().map(|u| http.get(u))).await;
            let mut table = Table::new(format!("N = {n} (ideal {} ms)", ROUTE_MS)).ideal(ideal);
            if n <= 100 {
                table
                    .measure(
                        "one by one",
                        gather::one_by_one(urls.iter().map(|u| http.get(u))),
                    )
                    .await;
            } else {
                table.add("one by one (estimated)", one * n as u32);
            }
            table.set_ideal(table.rows()[0].label.clone().as_str(), ideal * n as u32);
            table
                .measure(
                    "join_all",
                    gather::all_at_once(urls.iter().map(|u| http.get(u))),
                )
                .await;
            table
                .measure(
                    "bounded 64",
                    gather::bounded(urls.iter().map(|u| http.get(u)), 64),
                )
                .await;
            table.set_ideal("bounded 64", ideal * n.div_ceil(64) as u32);
            let tasks = urls.iter().map(|u| {
                let (http, u) = (Arc::clone(&http), u.clone());
                async move { http.get(&u).await }
            });
            table.measure("JoinSet", gather::in_tasks(tasks)).await;
            table
                .measure(
                    "threaded",
                    gather::all_at_once(urls.iter().map(|u| threaded.get(u))),
                )
                .await;
            println!("{table}");
            if n == 1000 {
                targets.push(Target::at_most(
                    "1000 concurrent (join_all) within 1.5x of 50 ms",
                    table.vs_ideal("join_all").unwrap_or(f64::MAX),
                    1.5,
                ));
            }
        }
        // The headline batch: 20 x 100 ms.
        let url = server.delay_url(100);
        let urls = vec![url.clone(); 20];
        let mut table = Table::new("20 x 100 ms").ideal(Duration::from_millis(100));
        table
            .measure(
                "one by one",
                gather::one_by_one(urls.iter().map(|u| http.get(u))),
            )
            .await;
        table
            .measure(
                "join_all",
                gather::all_at_once(urls.iter().map(|u| http.get(u))),
            )
            .await;
        table
            .measure(
                "threaded",
                gather::all_at_once(urls.iter().map(|u| threaded.get(u))),
            )
            .await;
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

//! The Pipeline on Redis: 300 orders in one stream, three workers of one consumer group, each
//! running the same two stages; one worker is killed midway, one order always fails. Nothing
//! is lost: the killed worker's orders are claimed by the others, the failing one is retried a
//! bounded number of times and dead-lettered with its last error.
//!
//! ```text
//! cargo run --release --example redis_pipeline   # starts its own redis-server (a unix socket)
//! ```

use std::collections::HashMap;
use std::error::Error;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_patterns::observer::redis::{Envelope, Guarantee, RedisOptions, RedisPublisher};
use async_patterns::pipeline::stream::StageOptions;
use async_patterns::pipeline::stream::redis::{RedisWorker, WorkerReport};
use async_patterns::testkit::redis::RedisServer;
use async_patterns::timing::{Target, human};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const ORDERS: u64 = 300;
/// The order that always fails its second stage.
const BROKEN: u64 = 277;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    if !RedisServer::available() {
        println!("redis-server is not on PATH; apt-get install redis-server, then run this again");
        return Ok(());
    }
    let server = RedisServer::start()?;
    let client = redis::Client::open(server.url())?;
    let options = RedisOptions::default()
        .max_unacked(8)
        .max_attempts(3)
        .claim_idle(Duration::from_millis(200));

    // 1. The pattern, plainly: orders into a stream, then three workers that each join the
    //    group and chain the same two stages; an order is acknowledged after the second.
    let mut publisher =
        RedisPublisher::new(client.clone(), "orders", Guarantee::AtLeastOnce, &options);
    for order in 1..=ORDERS {
        publisher.publish(&order).await?;
    }
    let charged = Arc::new(Mutex::new(HashMap::<u64, u32>::new()));
    let (shutdown, started) = (CancellationToken::new(), Instant::now());
    let mut runs = Vec::new();
    for name in ["worker-1", "worker-2", "worker-3"] {
        let charged = Arc::clone(&charged);
        let worker =
            RedisWorker::join::<u64>(client.clone(), "orders", "billing", name, options.clone())
                .await?
                .stage_fn(
                    "price",
                    StageOptions::unordered(8),
                    |order: Envelope<u64>| async move {
                        tokio::time::sleep(Duration::from_millis(5)).await; // a price lookup
                        Ok::<_, String>((order.event, order.event * 100))
                    },
                )
                .stage_fn(
                    "charge",
                    StageOptions::unordered(8),
                    move |(order, cents): (u64, u64)| {
                        // Keyed by the order: a redelivered order would be counted twice, and seen.
                        *charged.lock().unwrap().entry(order).or_default() += 1;
                        async move {
                            match order {
                                BROKEN => Err(format!(
                                    "the card for order {order} ({cents} cents) was declined"
                                )),
                                _ => Ok(()),
                            }
                        }
                    },
                );
        runs.push(tokio::spawn(worker.run(shutdown.clone())));
    }
    // Killed midway: its task is aborted, what it held is never acknowledged.
    tokio::time::sleep(Duration::from_millis(40)).await;
    runs[0].abort();
    // Every order charged and the broken one dead-lettered, or 10 s at most; then a graceful
    // shutdown of the survivors.
    let mut redis = client.get_multiplexed_async_connection().await?;
    let mut dead: u64 = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while ((charged.lock().unwrap().len() as u64) < ORDERS || dead == 0)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
        dead = redis::cmd("XLEN")
            .arg("orders:dead")
            .query_async(&mut redis)
            .await?;
    }
    tokio::time::sleep(Duration::from_millis(50)).await; // the last acknowledgements
    shutdown.cancel();
    let took = started.elapsed();
    let mut total = WorkerReport::default();
    for run in runs {
        if let Ok(Ok(report)) = run.await {
            total.read += report.read;
            total.claimed += report.claimed;
            total.acked += report.acked;
            total.retried += report.retried;
            total.dead_lettered += report.dead_lettered;
        }
    }

    // 2. Measured.
    let charged = charged.lock().unwrap().clone();
    let lost = ORDERS - charged.len() as u64;
    let twice = charged
        .iter()
        .filter(|(o, n)| **o != BROKEN && **n > 1)
        .count();
    println!(
        "{ORDERS} orders, 3 workers (worker-1 killed after 40 ms), in {}",
        human(took)
    );
    println!(
        "the survivors: read {}, claimed {} from the killed worker, acknowledged {}, retried {}; orders:dead holds {dead}",
        total.read, total.claimed, total.acked, total.retried
    );
    println!("{}", Target::at_most("orders lost", lost as f64, 0.0));
    println!(
        "{}",
        Target::at_most(
            "orders dead-lettered besides the broken one",
            total.dead_lettered.saturating_sub(1) as f64,
            0.0
        )
    );

    // What to notice, from the numbers above.
    println!("what to notice:");
    println!(
        "  {} of {ORDERS} orders reached the last stage; {lost} were lost although worker-1 died holding some.",
        charged.len()
    );
    println!(
        "  {} entries were claimed after {} idle and {twice} orders were charged twice: at least once, so a stage with effects keys them by order.",
        total.claimed,
        human(options.claim_idle_len())
    );
    let broken = charged.get(&BROKEN).copied().unwrap_or(0);
    println!(
        "  order {BROKEN} reached its last stage {broken} times (at most {} attempts), then went to orders:dead with its last error: {}.",
        options.attempts(),
        if dead >= 1 {
            "bounded, never a crash loop"
        } else {
            "not yet, the run ended first"
        }
    );
    Ok(())
}

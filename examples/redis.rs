//! The Observer on Redis: a publisher and three workers of one consumer group, one killed
//! midway. Nothing is lost: the killed worker's unacknowledged events are claimed by the
//! others and delivered again. Beside it, the same events through the in-process subject.
//!
//! ```text
//! cargo run --release --example redis     # starts its own redis-server (a unix socket)
//! ```
//!
//! It prints what was published, delivered, redelivered and lost, the latency (p50, p99) and
//! the throughput of each way, and ends with what to notice in those numbers.

use std::collections::HashMap;
use std::error::Error;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_patterns::observer::redis::{Guarantee, RedisOptions, RedisPublisher, RedisSubscriber};
use async_patterns::observer::{BoxError, FnObserver, Observer, Subject};
use async_patterns::testkit::redis::RedisServer;
use async_patterns::timing::{Page, Table, Target, human, percentile, ratio};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Bare round trips timed for the floor.
const PINGS: u32 = 500;

/// A meter reading: its number, and when it was sent (µs since the run began).
type Reading = (u64, u64);

fn main() -> Result<(), Box<dyn Error>> {
    run(&mut Page::new("redis"), false)
}

/// What the observers saw: deliveries per reading, and each delivery's latency.
#[derive(Default)]
struct Seen {
    times: Mutex<HashMap<u64, u32>>,
    latencies: Mutex<Vec<Duration>>,
}

impl Seen {
    /// An observer that records each reading it gets, measured against `origin`.
    fn observer(self: &Arc<Self>, origin: Instant) -> impl Observer<Reading> + 'static {
        let seen = Arc::clone(self);
        FnObserver::new(move |&(n, sent): &Reading| {
            let latency = origin.elapsed().saturating_sub(Duration::from_micros(sent));
            seen.latencies.lock().unwrap().push(latency);
            *seen.times.lock().unwrap().entry(n).or_default() += 1;
            async { Ok::<(), BoxError>(()) }
        })
    }

    fn distinct(&self) -> usize {
        self.times.lock().unwrap().len()
    }

    /// The latencies' p50, p99 and maximum.
    fn p50_p99_max(&self) -> (Duration, Duration, Duration) {
        let mut l = self.latencies.lock().unwrap().clone();
        l.sort();
        let at = |p| percentile(&l, p).unwrap_or_default();
        (at(0.50), at(0.99), at(1.0))
    }
}

/// Run the demo; `brief` is the tour's shorter version.
pub fn run(page: &mut Page, brief: bool) -> Result<(), Box<dyn Error>> {
    if !RedisServer::available() {
        page.line("redis: redis-server is not on PATH; apt-get install redis-server, then cargo run --release --example redis");
        return Ok(());
    }
    let server = RedisServer::start()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let n: u64 = if brief { 2_000 } else { 10_000 };
    runtime.block_on(demo(page, &server, n))
}

async fn demo(page: &mut Page, server: &RedisServer, n: u64) -> Result<(), Box<dyn Error>> {
    page.heading(format!(
        "redis: {n} readings to three workers of one group, one killed midway"
    ));

    // 1. The pattern, plainly: a publisher, and three workers in one consumer group, each
    //    delivering to its local observers and acknowledging what they handled.
    let client = redis::Client::open(server.url())?;
    let options = RedisOptions::default()
        .batch(16)
        .block(Duration::from_millis(20))
        .claim_idle(Duration::from_millis(300));
    let (origin, seen) = (Instant::now(), Arc::new(Seen::default()));
    let stop = CancellationToken::new();
    let mut workers = Vec::new();
    for name in ["worker-1", "worker-2", "worker-3"] {
        let subject = Subject::new();
        let mut subscriber = RedisSubscriber::<Reading>::at_least_once(
            client.clone(),
            "readings",
            "meters",
            name,
            subject,
            options.clone(),
        )
        .await?;
        let recording = subscriber.subscribe_named("record", seen.observer(origin));
        let stop = stop.clone();
        workers.push(tokio::spawn(async move {
            let _recording = recording;
            while !stop.is_cancelled() {
                let _ = subscriber.next().await; // a Redis error: try again
            }
            subscriber.close().await
        }));
    }
    // The floor: a bare round trip (PING) awaited one at a time, as the publisher awaits each
    // XADD; a few before every tenth of the readings, so both meet the same busy machine.
    let mut bare = client.get_multiplexed_async_connection().await?;
    let mut pinging = Duration::ZERO;
    let mut publisher = RedisPublisher::new(client, "readings", Guarantee::AtLeastOnce, &options);
    let started = Instant::now();
    for i in 0..n {
        if i % (n / 10) == 0 {
            let pings = Instant::now();
            for _ in 0..PINGS / 10 {
                redis::cmd("PING").query_async::<String>(&mut bare).await?;
            }
            pinging += pings.elapsed();
        }
        publisher
            .publish(&(i, origin.elapsed().as_micros() as u64))
            .await?;
        if i == n / 2 {
            workers[0].abort(); // killed midway: what it held is not acknowledged
        }
    }
    let (published, round_trip) = (started.elapsed() - pinging, pinging / PINGS);
    // Wait (10 s at most) until every reading has reached an observer.
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.distinct() < n as usize && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let remote_time = started.elapsed() - pinging;
    stop.cancel();
    let (mut redelivered, mut acked) = (0, 0);
    for worker in workers {
        if let Ok(Ok(totals)) = worker.await {
            (redelivered, acked) = (redelivered + totals.redelivered, acked + totals.acked);
        }
    }

    // 2. Measured: the same readings through the in-process subject, and what each cost.
    let local_seen = Arc::new(Seen::default());
    let subject = Subject::<Reading>::new();
    let _local = subject.subscribe_named("record", local_seen.observer(origin));
    let local_started = Instant::now();
    for i in 0..n {
        subject
            .notify(&(i, origin.elapsed().as_micros() as u64))
            .await;
    }
    let local_time = local_started.elapsed();

    let delivered: u32 = seen.times.lock().unwrap().values().sum();
    let lost = n as usize - seen.distinct();
    page.line(format!(
        "published {n}; delivered {delivered} times to {} distinct readings; redelivered {redelivered}; \
         acknowledged {acked} by the two survivors; lost {lost}",
        seen.distinct()
    ));
    let mut table =
        Table::new(format!("{n} readings, publish to observer")).baseline("in-process Subject");
    table.add("in-process Subject", local_time);
    table.add("Redis Streams, 3 workers (1 killed)", remote_time);
    page.table(&table);
    let ((l50, l99, _), (r50, r99, slowest)) = (local_seen.p50_p99_max(), seen.p50_p99_max());
    let rate = |d: Duration| n as f64 / d.as_secs_f64().max(1e-9);
    page.line(format!(
        "in process: p50 {}, p99 {}, {:.0} events/s; Redis: p50 {}, p99 {}, {:.0} events/s",
        human(l50),
        human(l99),
        rate(local_time),
        human(r50),
        human(r99),
        rate(remote_time)
    ));
    page.target(Target::at_most(
        format!("readings lost of {n} published, one worker killed"),
        lost as f64,
        0.0,
    ));
    // One publisher waits for each XADD's answer: a round trip per reading bounds the rate;
    // an XADD, which also wakes the readers sharing these cores, measured 0.6 to 1.0 here.
    // (The end-to-end time above also holds the claim of the killed worker's entries, a wait
    // of `claim_idle` or not, as the kill falls: not a rate.)
    let floor = 1.0 / round_trip.as_secs_f64().max(1e-9);
    page.target(Target::at_least(
        format!("Redis publishing >= 0.5 of the floor, {floor:.0} bare round trips/s (one publisher awaiting each XADD, 3 workers reading, {n} readings)"),
        rate(published) / floor,
        0.5,
    ));

    // What to notice, from the numbers above.
    page.notice(if lost == 0 {
        format!("nothing was lost: all {n} readings reached an observer although worker-1 was killed after {} of them.", n / 2 + 1)
    } else {
        format!("{lost} readings never arrived: the killed worker's entries were not claimed in time.")
    });
    page.notice(format!(
        "{redelivered} readings came twice: the ones worker-1 had delivered or read and not acknowledged, claimed by the \
         others after {} idle; an idempotent observer would count each once.",
        human(options.claim_idle_len())
    ));
    let tail = remote_time.saturating_sub(published);
    page.notice(format!(
        "the last reading arrived {} after the last was published{}.",
        human(tail),
        match tail >= options.claim_idle_len() {
            true => ": the killed worker's entries waited out their idle time before another worker claimed them",
            false => ": the killed worker held nothing that had to be claimed",
        }
    ));
    if let Some(slower) = ratio(r50, l50) {
        page.notice(format!(
            "going remote cost {slower:.0}x at the median ({} against {}): JSON, a socket, a consumer group's bookkeeping; \
             the slowest reading took {}{}.",
            human(r50), human(l50), human(slowest),
            if redelivered > 0 { ", waiting for the claim after the kill" } else { "" }
        ));
    }
    Ok(())
}

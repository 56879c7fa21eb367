//! Redis bench: what going remote costs the Observer, beside the in-process subject.
//!
//! * Events per second and latency (publish to observer, p50 and p99) through the in-process
//!   `Subject`, through Redis pub/sub (at most once), and through a Redis stream read by a
//!   consumer group (at least once) in batches of 1, 16 and 128, with 1 and 10 subscribers
//!   (each subscriber its own group, so each gets every event). Eight publishers send at once,
//!   each on its own connection, so no single round trip paces the run.
//! * Beside them, `redis-benchmark`'s own figure for the same commands (`PUBLISH`, `XADD`) on
//!   the same server: the ceiling a client can hope for.
//!
//! Goals (reported, never enforced): Streams with batching at least 50,000 events/s with one
//! consumer, pub/sub at least 100,000, both within 3x of redis-benchmark.
//!
//! `cargo bench --bench redis` (about half a minute; it starts its own redis-server, and says
//! so in one line and stops where there is none).

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_patterns::observer::redis::{
    Envelope, Guarantee, Notice, RedisOptions, RedisPublisher, RedisSubscriber,
};
use async_patterns::observer::{BoxError, FnObserver, Observer, Subject, Subscription};
use async_patterns::testkit::redis::RedisServer;
use async_patterns::timing::{Target, human, percentile};
use tokio::time::Instant;

const EVENTS: u64 = 20_000;
const PUBLISHERS: u64 = 8;

/// One way's result: events per second, and the latencies' p50 and p99.
struct Run {
    label: String,
    rate: f64,
    p50: Duration,
    p99: Duration,
}

/// An observer that records each event's latency (it carries its send time, µs since `origin`).
fn recorder(
    origin: Instant,
    into: &Arc<Mutex<Vec<Duration>>>,
) -> impl Observer<Envelope<u64>> + 'static {
    let into = Arc::clone(into);
    FnObserver::new(move |e: &Envelope<u64>| {
        let latency = origin
            .elapsed()
            .saturating_sub(Duration::from_micros(e.event));
        into.lock().unwrap().push(latency);
        std::future::ready(Ok::<(), BoxError>(()))
    })
}

fn run_of(label: String, elapsed: Duration, latencies: &Mutex<Vec<Duration>>) -> Run {
    let mut l = latencies.lock().unwrap().clone();
    l.sort();
    let at = |p| percentile(&l, p).unwrap_or_default();
    let rate = EVENTS as f64 / elapsed.as_secs_f64().max(1e-9);
    Run {
        label,
        rate,
        p50: at(0.5),
        p99: at(0.99),
    }
}

/// The in-process subject with `subscribers` observers, notified by eight tasks at once.
async fn in_process(subscribers: usize) -> Run {
    let (origin, latencies) = (Instant::now(), Arc::new(Mutex::new(Vec::new())));
    let subject = Arc::new(Subject::<Envelope<u64>>::new());
    let _subs: Vec<Subscription> = (0..subscribers)
        .map(|_| subject.subscribe(recorder(origin, &latencies)))
        .collect();
    let start = Instant::now();
    let tasks = (0..PUBLISHERS).map(|p| {
        let subject = Arc::clone(&subject);
        tokio::spawn(async move {
            for seq in 0..EVENTS / PUBLISHERS {
                let id = async_patterns::observer::redis::EventId {
                    publisher: p.to_string(),
                    seq,
                };
                let event = origin.elapsed().as_micros() as u64;
                subject.notify(&Envelope { id, event }).await;
            }
        })
    });
    futures::future::join_all(tasks).await;
    run_of(
        format!("in-process Subject, {subscribers} sub"),
        start.elapsed(),
        &latencies,
    )
}

/// Redis under `guarantee` (batch `batch`), with `subscribers` subscribers, each on its task.
async fn remote(
    client: &redis::Client,
    guarantee: Guarantee,
    batch: usize,
    subscribers: usize,
    run: usize,
) -> Run {
    let (origin, latencies) = (Instant::now(), Arc::new(Mutex::new(Vec::new())));
    let topic = format!("bench-{run}");
    let options = RedisOptions::default()
        .batch(batch)
        .block(Duration::from_millis(10));
    let mut readers = Vec::new();
    for s in 0..subscribers {
        let subject = Subject::new();
        let _sub = subject.subscribe(recorder(origin, &latencies));
        let mut subscriber = match guarantee {
            Guarantee::AtMostOnce => {
                RedisSubscriber::<u64>::at_most_once(
                    client.clone(),
                    &topic,
                    subject,
                    options.clone(),
                )
                .await
            }
            _ => {
                RedisSubscriber::at_least_once(
                    client.clone(),
                    &topic,
                    format!("g{s}"),
                    "c",
                    subject,
                    options.clone(),
                )
                .await
            }
        }
        .expect("a subscriber");
        readers.push(tokio::spawn(async move {
            let _sub = _sub;
            let (mut seen, deadline) = (0, Instant::now() + Duration::from_secs(60));
            while seen < EVENTS && Instant::now() < deadline {
                match subscriber.next().await {
                    Ok(Some(Notice::Delivered { .. })) => seen += 1,
                    Ok(Some(Notice::Missed { count, .. })) => seen += count,
                    _ => {}
                }
            }
            subscriber.close().await.ok()
        }));
    }
    let start = Instant::now();
    let publishers = (0..PUBLISHERS).map(|_| {
        let mut publisher = RedisPublisher::new(client.clone(), topic.clone(), guarantee, &options);
        tokio::spawn(async move {
            for _ in 0..EVENTS / PUBLISHERS {
                let _ = publisher
                    .publish(&(origin.elapsed().as_micros() as u64))
                    .await;
            }
        })
    });
    futures::future::join_all(publishers).await;
    let mut missed = 0;
    for reader in readers {
        missed += reader.await.ok().flatten().map_or(0, |t| t.missed);
    }
    let way = match guarantee {
        Guarantee::AtMostOnce => "pub/sub".to_owned(),
        _ => format!("Streams, batch {batch}"),
    };
    let lost = if missed > 0 {
        format!(" ({missed} missed)")
    } else {
        String::new()
    };
    run_of(
        format!("{way}, {subscribers} sub{lost}"),
        start.elapsed(),
        &latencies,
    )
}

/// redis-benchmark's requests per second for `command` on `server`, if it ran.
fn redis_benchmark(server: &RedisServer, command: &[&str]) -> Option<f64> {
    let socket = server.socket();
    let out = Command::new("redis-benchmark")
        .arg("-s")
        .arg(&socket)
        .args(["-n", "100000", "--csv"])
        .args(command)
        .output()
        .ok()?;
    // The CSV's last line: "command","rps",...
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last()?;
    line.split(',').nth(1)?.trim_matches('"').parse().ok()
}

fn main() {
    if !RedisServer::available() {
        println!(
            "redis bench: redis-server is not on PATH; apt-get install redis-server to run it"
        );
        return;
    }
    let server = RedisServer::start().expect("a redis-server");
    let client = redis::Client::open(server.url()).expect("a client");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let mut runs = Vec::new();
    runtime.block_on(async {
        for subscribers in [1, 10] {
            runs.push(in_process(subscribers).await);
            runs.push(remote(&client, Guarantee::AtMostOnce, 16, subscribers, runs.len()).await);
            for batch in [1, 16, 128] {
                runs.push(
                    remote(
                        &client,
                        Guarantee::AtLeastOnce,
                        batch,
                        subscribers,
                        runs.len(),
                    )
                    .await,
                );
            }
        }
    });
    let publish = redis_benchmark(&server, &["PUBLISH", "bench-ceiling", "x"]);
    let xadd = redis_benchmark(&server, &["XADD", "bench-ceiling", "*", "f", "v"]);
    let base = runs[0].rate;
    println!("{EVENTS} events from {PUBLISHERS} publishers, publish to observer (release build)");
    println!(
        "  {:<34} {:>12} {:>10} {:>10} {:>10}",
        "way", "events/s", "vs local", "p50", "p99"
    );
    for r in &runs {
        println!(
            "  {:<34} {:>12.0} {:>9.3}x {:>10} {:>10}",
            r.label,
            r.rate,
            r.rate / base,
            human(r.p50),
            human(r.p99)
        );
    }
    let show = |rps: Option<f64>| rps.map_or("n/a".to_owned(), |r| format!("{r:.0}"));
    println!(
        "  redis-benchmark (50 clients): PUBLISH {} req/s, XADD {} req/s (the ceiling)",
        show(publish),
        show(xadd)
    );
    let rate = |label: &str| {
        runs.iter()
            .find(|r| r.label.starts_with(label))
            .map_or(0.0, |r| r.rate)
    };
    let streams = rate("Streams, batch 128, 1 sub").max(rate("Streams, batch 16, 1 sub"));
    let pubsub = rate("pub/sub, 1 sub");
    println!(
        "{}",
        Target::at_least(
            "Streams (batch 16 or 128), 1 consumer >= 50,000 events/s",
            streams,
            50_000.0
        )
    );
    println!(
        "{}",
        Target::at_least(
            "pub/sub, 1 subscriber >= 100,000 events/s",
            pubsub,
            100_000.0
        )
    );
    if let (Some(xadd), Some(publish)) = (xadd, publish) {
        println!(
            "{}",
            Target::at_most(
                "Streams within 3x of redis-benchmark's XADD",
                xadd / streams.max(1.0),
                3.0
            )
        );
        println!(
            "{}",
            Target::at_most(
                "pub/sub within 3x of redis-benchmark's PUBLISH",
                publish / pubsub.max(1.0),
                3.0
            )
        );
    }
}

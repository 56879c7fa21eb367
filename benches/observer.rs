//! Observer bench: what notifying costs per observer, and what concurrency buys.
//!
//! * One event to 1, 100 and 10,000 no-op observers: ns per observer, `notify` (concurrent,
//!   `join_all`) vs `notify_in_order` (a loop). Target: 10,000 no-op observers notified in
//!   under 10 ms.
//! * One event to 100 observers that each wait 10 ms: time vs the ideal 10 ms. Target: within
//!   1.2x of 10 ms.
//! * Events per second to 10 stream subscribers, per delivery policy, each stream drained by its
//!   own task on a two-worker runtime: what `notify` sustains, and what the consumers got.
//!   Target: `drop oldest` at least 50,000 events a second (it never waits); `wait` is paced by
//!   the consumers, so its number is theirs.
//! * Memory while 10,000 observers that each yield once are notified in a loop, for 2 s, from a
//!   task on a two-worker runtime, against a plain `join_all` of the same calls: an observer
//!   that yields must cost `notify` nothing beyond the call itself. Target: RSS grows by at most
//!   16 MiB (Linux only: it reads `/proc/self/status`).
//!
//! `cargo bench --bench observer` (a few seconds). Targets are reported, never enforced.

use std::time::{Duration, Instant};

use async_patterns::observer::{BoxError, Observer, Received, StreamPolicy, Subject, Subscription};
use async_patterns::timing::{Table, Target, human};
use futures::StreamExt;

// The observer the yielding tests check, so this measures the same one.
#[path = "../tests/observer/yields_once.rs"]
mod yields_once;
use yields_once::YieldsOnce;

/// Does nothing: what remains is the subject's own cost.
struct NoOp;

#[async_trait::async_trait]
impl Observer<u64> for NoOp {
    async fn notify(&self, _event: &u64) -> Result<(), BoxError> {
        Ok(())
    }
}

/// Waits, like an observer calling a service would.
struct Waits(Duration);

#[async_trait::async_trait]
impl Observer<u64> for Waits {
    async fn notify(&self, _event: &u64) -> Result<(), BoxError> {
        tokio::time::sleep(self.0).await;
        Ok(())
    }
}

fn subject_with<O: Observer<u64> + 'static>(
    n: usize,
    observer: impl Fn() -> O,
) -> (Subject<u64>, Vec<Subscription>) {
    let subject = Subject::new();
    let subs = (0..n).map(|_| subject.subscribe(observer())).collect();
    (subject, subs)
}

/// Median time of `rounds` notifications, by `notify_in_order` or `notify`.
async fn median_of(subject: &Subject<u64>, rounds: usize, in_order: bool) -> Duration {
    let mut times = Vec::with_capacity(rounds);
    for round in 0..rounds as u64 {
        let start = Instant::now();
        let report = if in_order {
            subject.notify_in_order(&round).await
        } else {
            subject.notify(&round).await
        };
        times.push(start.elapsed());
        assert!(report.all_delivered(), "an observer failed: {report}");
    }
    median(times)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

fn per_observer(d: Duration, n: usize) -> f64 {
    d.as_nanos() as f64 / n as f64
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        println!("one event to n no-op observers (median of many rounds, one thread)");
        println!(
            "  {:>9}  {:>12}  {:>10}  {:>12}  {:>10}",
            "observers", "notify", "ns/obs", "in order", "ns/obs"
        );
        let mut ten_thousand = Duration::ZERO;
        for n in [1usize, 100, 10_000] {
            let (subject, _subs) = subject_with(n, || NoOp);
            let rounds = (2_000_000 / n).clamp(50, 20_000);
            let concurrent = median_of(&subject, rounds, false).await;
            let in_order = median_of(&subject, rounds, true).await;
            if n == 10_000 {
                ten_thousand = concurrent;
            }
            println!(
                "  {:>9}  {:>12}  {:>10.0}  {:>12}  {:>10.0}",
                n,
                human(concurrent),
                per_observer(concurrent, n),
                human(in_order),
                per_observer(in_order, n),
            );
        }
        println!(
            "{}\n",
            Target::at_most(
                "10,000 no-op observers notified in under 10 ms (ms)",
                ten_thousand.as_secs_f64() * 1e3,
                10.0
            )
        );

        let wait = Duration::from_millis(10);
        let (subject, _subs) = subject_with(100, || Waits(wait));
        let mut table = Table::new("one event to 100 observers that each wait 10 ms").ideal(wait);
        // One by one, the best possible is the sum: 100 x 10 ms.
        let start = Instant::now();
        subject.notify_in_order(&0).await;
        table.add_with_ideal("notify_in_order", start.elapsed(), wait * 100);
        let median = median_of(&subject, 21, false).await;
        table.add("notify (median of 21)", median);
        println!("{table}");
        if let Some(vs_ideal) = table.vs_ideal("notify (median of 21)") {
            println!(
                "{}",
                Target::at_most("100 x 10 ms observers within 1.2x of 10 ms", vs_ideal, 1.2)
            );
        }
    });
    streams()?;
    yielding()
}

/// Events per second to 10 stream subscribers, per policy, each drained by its own task.
fn streams() -> Result<(), Box<dyn std::error::Error>> {
    const EVENTS: u64 = 100_000;
    const STREAMS: usize = 10;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    println!(
        "\n{EVENTS} events to {STREAMS} stream subscribers (room for 1,024 each), one draining task \
         each; read and missed summed over the {STREAMS} streams"
    );
    println!(
        "  {:<12} {:>14} {:>12} {:>16}",
        "policy", "events/s", "read", "told missed"
    );
    let mut drop_oldest = 0.0;
    for policy in StreamPolicy::ALL {
        let (rate, read, missed) = runtime.block_on(async {
            let subject = Subject::<u64>::new();
            let mut consumers = tokio::task::JoinSet::new();
            for _ in 0..STREAMS {
                let mut stream = subject.subscribe_stream_with(policy, 1024);
                consumers.spawn(async move {
                    let (mut read, mut missed) = (0u64, 0u64);
                    while let Some(item) = stream.next().await {
                        match item {
                            Received::Event(_) => read += 1,
                            Received::Missed(n) => missed += n,
                        }
                    }
                    (read, missed)
                });
            }
            let start = Instant::now();
            for n in 0..EVENTS {
                subject.notify(&n).await;
            }
            let took = start.elapsed();
            drop(subject); // the streams end after what they hold
            let (mut read, mut missed) = (0, 0);
            while let Some(Ok((r, m))) = consumers.join_next().await {
                read += r;
                missed += m;
            }
            (EVENTS as f64 / took.as_secs_f64(), read, missed)
        });
        if policy == StreamPolicy::DropOldest {
            drop_oldest = rate;
        }
        println!(
            "  {:<12} {:>14.0} {:>12} {:>16}",
            policy.name(),
            rate,
            read,
            missed
        );
    }
    println!(
        "{}",
        Target::at_least(
            "drop oldest: events a second to 10 streams",
            drop_oldest,
            50_000.0
        )
    );
    Ok(())
}

/// The resident set size now, in MiB (`None` where `/proc/self/status` does not exist).
fn rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// How much RSS grows while a spawned task repeats `round` for `run`, and how many rounds it
/// made. The task checks a flag between rounds, so it stops even if it never yields.
fn rss_growth<F, Fut>(
    run: Duration,
    round: F,
) -> Result<(Option<f64>, u64), Box<dyn std::error::Error>>
where
    F: Fn(u64) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let stop = Arc::new(AtomicBool::new(false));
    let before = rss_mib();
    let rounds = runtime.block_on(async {
        let flag = Arc::clone(&stop);
        let looping = tokio::spawn(async move {
            let mut rounds = 0;
            while !flag.load(Ordering::Relaxed) {
                round(rounds).await;
                rounds += 1;
            }
            rounds
        });
        tokio::time::sleep(run).await;
        let after = rss_mib();
        stop.store(true, Ordering::Relaxed);
        looping.await.map(|rounds| (after, rounds))
    })?;
    let growth = before.zip(rounds.0).map(|(before, after)| after - before);
    Ok((growth, rounds.1))
}

/// RSS while 10,000 yielding observers are notified in a loop, vs `join_all` of the same calls.
fn yielding() -> Result<(), Box<dyn std::error::Error>> {
    use std::sync::Arc;
    const OBSERVERS: usize = 10_000;
    let run = Duration::from_secs(2);
    println!(
        "\n{OBSERVERS} observers that each yield once, notified in a loop for {} by a task on a \
         two-worker runtime",
        human(run)
    );
    println!("  {:<34} {:>14} {:>10}", "", "RSS growth", "rounds");
    let (subject, subs) = subject_with(OBSERVERS, || YieldsOnce);
    let subject = Arc::new(subject);
    let through_notify = rss_growth(run, move |n| {
        let subject = Arc::clone(&subject);
        async move {
            subject.notify(&n).await;
        }
    })?;
    drop(subs);
    let observers: Arc<Vec<YieldsOnce>> = Arc::new((0..OBSERVERS).map(|_| YieldsOnce).collect());
    let plain = rss_growth(run, move |n| {
        let observers = Arc::clone(&observers);
        async move {
            futures::future::join_all(observers.iter().map(|o| o.notify(&n))).await;
        }
    })?;
    let mib = |growth: Option<f64>| growth.map_or("unknown".to_owned(), |g| format!("{g:.1} MiB"));
    for (label, (growth, rounds)) in [
        ("notify", through_notify),
        ("join_all of the same calls", plain),
    ] {
        println!("  {label:<34} {:>14} {rounds:>10}", mib(growth));
    }
    if let Some(growth) = through_notify.0 {
        println!(
            "{}",
            Target::at_most(
                "RSS growth while notifying yielding observers (MiB)",
                growth,
                16.0
            )
        );
    }
    Ok(())
}

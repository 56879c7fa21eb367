//! Actor bench: what a round trip to an actor costs, against the same operation through a
//! `tokio::sync::Mutex`, with one caller and with fifty.
//!
//! The operation is [`Hub::send`] to one device, which does one of three things per message:
//! * **no work**: it answers at once;
//! * **10 µs computed**: it spins for 10 µs in the handler (CPU, no `.await`);
//! * **10 µs awaited**: it asks its link (a task of its own, as a device connection or a
//!   database client would be) and awaits the answer, which the link sends after 10 µs.
//!
//! Through the actor it is [`HubHandle::send`]: a command into the mailbox, a reply out.
//! Through the mutex it is `hub.lock().await.send(..).await` on an
//! `Arc<tokio::sync::Mutex<Hub>>`; the lock is held across the device's `.await`, which is why
//! it is tokio's mutex and not std's.
//!
//! Time per command = a batch's wall-clock time / its commands (with 50 senders, the inverse of
//! the throughput). Median of five rounds, on a current-thread runtime and on a 2-worker
//! multi-thread runtime: which one wins under contention depends on it (see the end).
//!
//! Targets (the issue's): with 1 sender, the actor within 3x of the uncontended mutex; with 50
//! senders doing 10 µs of awaited work, the actor ahead of the contended mutex.
//!
//! What decides the contended rows: callers waiting for a mutex sleep, but callers woken by
//! an actor's replies are runnable, and on a multi-thread runtime they take turns with the
//! actor's own task on the workers; on a current-thread runtime the actor works through its
//! queue while the mutex hands itself from task to task. Either way the work itself is
//! serialised, so the two stay close once it dominates.
//!
//! `cargo bench --bench actor` (about 15 seconds). Targets are reported, never enforced.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_patterns::actor::{self, Hub, HubHandle};
use async_patterns::factory::{Config, Device, DeviceError, Registry};
use async_patterns::timing::{Target, human, ratio};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinSet;

const WORK: Duration = Duration::from_micros(10);

fn spin(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// A device's link: a task that answers each request after `WORK` of its own time.
type Link = mpsc::Sender<oneshot::Sender<()>>;

fn link() -> Link {
    let (requests, mut incoming) = mpsc::channel::<oneshot::Sender<()>>(1024);
    tokio::spawn(async move {
        while let Some(answer) = incoming.recv().await {
            spin(WORK);
            let _ = answer.send(());
        }
    });
    requests
}

/// A device that does nothing, computes, or awaits its link, per message.
enum BenchDevice {
    Idle,
    Computes,
    Awaits(Link),
}

#[async_trait::async_trait]
impl Device for BenchDevice {
    fn name(&self) -> &str {
        "bench"
    }

    fn kind(&self) -> &str {
        "bench"
    }

    async fn send(&self, _message: &str) -> Result<String, DeviceError> {
        match self {
            BenchDevice::Idle => {}
            BenchDevice::Computes => spin(WORK),
            BenchDevice::Awaits(link) => {
                let (answer, answered) = oneshot::channel();
                if link.send(answer).await.is_ok() {
                    let _ = answered.await;
                }
            }
        }
        Ok(String::new())
    }
}

/// A hub with the three devices, connected (each with a link of its own, if it has one).
async fn hub() -> Result<Hub, Box<dyn std::error::Error>> {
    let registry: Registry<dyn Device> = Registry::new();
    registry.register("idle", async |_: Config| {
        Ok::<_, DeviceError>(BenchDevice::Idle)
    })?;
    registry.register("computes", async |_: Config| {
        Ok::<_, DeviceError>(BenchDevice::Computes)
    })?;
    registry.register("awaits", async |_: Config| {
        Ok::<_, DeviceError>(BenchDevice::Awaits(link()))
    })?;
    let mut hub = Hub::new(Arc::new(registry));
    for kind in ["idle", "computes", "awaits"] {
        hub = hub.with(kind, Config::new(kind));
        // Connect now, so that no measured message pays for the handshake.
        hub.send(kind, "hello").await?;
    }
    Ok(hub)
}

/// Time per command when `senders` tasks share `total` calls of `op` (median of 5 rounds).
async fn per_command<F, Fut>(senders: usize, total: usize, op: F) -> Duration
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = bool> + Send,
{
    let each = total / senders;
    let mut times = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let mut tasks = JoinSet::new();
        for _ in 0..senders {
            let op = op.clone();
            tasks.spawn(async move {
                for _ in 0..each {
                    if !op().await {
                        return false;
                    }
                }
                true
            });
        }
        let ok = tasks.join_all().await;
        assert!(ok.iter().all(|ok| *ok), "a command failed");
        times.push(start.elapsed() / (each * senders) as u32);
    }
    times.sort();
    times[times.len() / 2]
}

/// The same `device` through the actor and through the mutex: time per command of each.
async fn both(
    device: &'static str,
    senders: usize,
    total: usize,
) -> Result<(Duration, Duration), Box<dyn std::error::Error>> {
    let handle = HubHandle::from(actor::spawn("bench hub", 64, hub().await?));
    let actor = per_command(senders, total, move || {
        let handle = handle.clone();
        async move { handle.send(device, "x").await.is_ok() }
    })
    .await;
    let locked = Arc::new(Mutex::new(hub().await?));
    let mutex = per_command(senders, total, move || {
        let locked = Arc::clone(&locked);
        async move { locked.lock().await.send(device, "x").await.is_ok() }
    })
    .await;
    Ok((actor, mutex))
}

/// The table for one runtime: the time per command of each row, and the actor / mutex ratios.
async fn table(title: &str) -> Result<Vec<f64>, Box<dyn std::error::Error>> {
    println!("{title}: time per command, the hub as an actor vs behind a tokio::sync::Mutex");
    println!(
        "  {:<28}  {:>10}  {:>10}  {:>13}",
        "", "actor", "mutex", "actor / mutex"
    );
    let mut ratios = Vec::new();
    for (label, device, senders, total) in [
        ("1 sender, no work", "idle", 1, 20_000),
        ("50 senders, no work", "idle", 50, 50_000),
        ("1 sender, 10 µs computed", "computes", 1, 5_000),
        ("50 senders, 10 µs computed", "computes", 50, 10_000),
        ("1 sender, 10 µs awaited", "awaits", 1, 5_000),
        ("50 senders, 10 µs awaited", "awaits", 50, 10_000),
    ] {
        let (actor, mutex) = both(device, senders, total).await?;
        let vs = ratio(actor, mutex).unwrap_or(f64::MAX);
        println!(
            "  {label:<28}  {:>10}  {:>10}  {vs:>12.2}x",
            human(actor),
            human(mutex),
        );
        ratios.push(vs);
    }
    Ok(ratios)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let one = current.block_on(table("current-thread runtime"))?;
    println!();
    let two = multi.block_on(table("multi-thread runtime, 2 workers"))?;
    println!();
    for (runtime, ratios) in [("current-thread", &one), ("2 workers", &two)] {
        for (i, what) in [(0, "no work"), (4, "10 µs awaited")] {
            let name =
                format!("{runtime}, 1 sender, {what}: actor within 3x of the uncontended mutex");
            println!("{}", Target::at_most(name, ratios[i], 3.0));
        }
        let name = format!(
            "{runtime}, 50 senders, 10 µs awaited: actor ahead of the contended mutex \
             (actor / mutex)"
        );
        println!("{}", Target::at_most(name, ratios[5], 1.0));
    }
    Ok(())
}

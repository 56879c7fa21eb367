//! Actor bench: what an ask costs against its floor, a hand-written tokio actor; then what a
//! round trip to an actor costs against the same operation through a `tokio::sync::Mutex`,
//! with one caller and with fifty.
//!
//! **The ask against the floor.** The floor is the actor any tokio program can write by hand:
//! a task owning the state, an `mpsc::channel(1024)` of commands each carrying a
//! `oneshot::Sender`. The same counter through [`actor::spawn`] (capacity 1024) and
//! [`Handle::call`](async_patterns::actor::Handle::call) pays for what the crate promises on
//! top (exactly one reply per accepted command, refusal once shutdown begins, panics caught,
//! the stats). Both are timed in the same rounds, interleaved, each round on a fresh runtime;
//! the median ns per ask of 7 rounds. Target: at most 1.3x the floor.
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
//! `cargo bench --bench actor` (about 20 seconds); `-- ask` runs only the ask against the
//! floor. To count instructions instead of time (a shared machine's timings are noisy), run
//! one side in one configuration under `valgrind --tool=callgrind`, e.g. the bench's binary
//! with `ask crate current 1 asks=20000` (side `floor` or `crate`; `current` or `workers`;
//! `1` or `50` callers), and again with `asks=10000`: the difference over 10,000 is the cost
//! of one ask. Targets are reported, never enforced.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_patterns::actor::{self, Actor, Hub, HubHandle, Reply};
use async_patterns::factory::{Config, Device, DeviceError, Registry};
use async_patterns::timing::{Target, human, ratio};
use tokio::runtime::Runtime;
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

/// The floor's command: add `n`, answer the new total.
struct FloorAdd(u64, oneshot::Sender<u64>);

/// The floor: a task owning a counter, a channel of commands, a `oneshot` per answer.
fn floor() -> mpsc::Sender<FloorAdd> {
    let (mailbox, mut inbox) = mpsc::channel::<FloorAdd>(1024);
    tokio::spawn(async move {
        let mut total = 0_u64;
        while let Some(FloorAdd(n, reply)) = inbox.recv().await {
            total += n;
            let _ = reply.send(total);
        }
    });
    mailbox
}

/// The same counter as this crate's actor.
struct Counter(u64);

struct Add(u64, Reply<u64>);

impl Actor for Counter {
    type Command = Add;

    async fn handle(&mut self, Add(n, reply): Add) {
        self.0 += n;
        reply.send(self.0);
    }
}

/// One side of the ask comparison.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    Floor,
    Crate,
}

/// A fresh runtime: current-thread, or multi-thread with 2 workers.
fn runtime(workers: usize) -> std::io::Result<Runtime> {
    match workers {
        0 => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        n => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build(),
    }
}

/// Time per ask when `callers` tasks share `total` asks of one side, on a fresh runtime.
fn asks(side: Side, workers: usize, callers: usize, total: usize) -> std::io::Result<Duration> {
    let each = total / callers;
    let rt = runtime(workers)?;
    let took = rt.block_on(async move {
        let mut tasks = JoinSet::new();
        let (floor, ours) = (floor(), actor::spawn("counter", 1024, Counter(0)));
        let start = Instant::now();
        for _ in 0..callers {
            let (floor, ours) = (floor.clone(), ours.clone());
            tasks.spawn(async move {
                for _ in 0..each {
                    let answered = match side {
                        Side::Floor => {
                            let (reply, answer) = oneshot::channel();
                            floor.send(FloorAdd(1, reply)).await.is_ok() && answer.await.is_ok()
                        }
                        Side::Crate => ours.call(|reply| Add(1, reply)).await.is_ok(),
                    };
                    assert!(answered, "an ask went unanswered");
                }
            });
        }
        tasks.join_all().await;
        start.elapsed()
    });
    Ok(took / (each * callers) as u32)
}

/// Which sides, rows and how many asks to run: all by default; `floor` or `crate`, `current`
/// or `workers`, `1` or `50` (callers) and `asks=N` narrow it.
struct AskArgs {
    sides: Vec<Side>,
    rows: Vec<(&'static str, usize, usize, usize)>,
    rounds: usize,
}

impl AskArgs {
    fn parse(args: &[String]) -> Self {
        let has = |a: &str| args.iter().any(|x| x == a);
        let sides = match (has("floor"), has("crate")) {
            (true, false) => vec![Side::Floor],
            (false, true) => vec![Side::Crate],
            _ => vec![Side::Floor, Side::Crate],
        };
        let asks = args
            .iter()
            .find_map(|a| a.strip_prefix("asks=")?.parse().ok());
        let rows = [
            ("current-thread, 1 caller", 0, 1, 100_000),
            ("current-thread, 50 callers", 0, 50, 100_000),
            ("2 workers, 1 caller", 2, 1, 50_000),
            ("2 workers, 50 callers", 2, 50, 100_000),
        ];
        let runtime_chosen = |w: usize| {
            !(has("current") || has("workers")) || has(if w == 0 { "current" } else { "workers" })
        };
        let callers_chosen = |c: usize| !(has("1") || has("50")) || has(&c.to_string());
        let rows = rows
            .into_iter()
            .filter(|&(_, w, c, _)| runtime_chosen(w) && callers_chosen(c))
            .map(|(label, w, c, total)| (label, w, c, asks.unwrap_or(total)))
            .collect();
        let rounds = if sides.len() == 1 { 1 } else { 7 };
        AskArgs {
            sides,
            rows,
            rounds,
        }
    }
}

/// The ask against the floor, on both runtimes, with 1 and 50 callers: the sides interleaved
/// in each round. Returns the ratios (crate / floor) when both sides ran.
fn ask_table(args: &AskArgs) -> std::io::Result<Vec<(String, f64)>> {
    let (sides, rounds) = (&args.sides, args.rounds);
    println!("an ask (command in, answer out), ns per ask: median of {rounds} rounds, interleaved");
    println!(
        "  {:<30}  {:>10}  {:>12}  {:>13}",
        "", "floor", "Handle::call", "call / floor"
    );
    let mut ratios = Vec::new();
    for &(label, workers, callers, total) in &args.rows {
        let mut times = [Vec::new(), Vec::new()];
        for round in 0..rounds {
            // Interleaved, and the first side alternates: neither always runs on a warm cache.
            for i in 0..sides.len() {
                let side = sides[(i + round) % sides.len()];
                let at = usize::from(side == Side::Crate);
                times[at].push(asks(side, workers, callers, total)?);
            }
        }
        let median = |t: &mut Vec<Duration>| {
            t.sort();
            t.get(t.len() / 2).copied()
        };
        let (floor, ours) = (median(&mut times[0]), median(&mut times[1]));
        let show =
            |d: Option<Duration>| d.map_or("-".to_owned(), |d| format!("{} ns", d.as_nanos()));
        let vs = floor.zip(ours).and_then(|(f, o)| ratio(o, f));
        let shown = vs.map_or("-".to_owned(), |r| format!("{r:.2}x"));
        println!(
            "  {label:<30}  {:>10}  {:>12}  {shown:>13}",
            show(floor),
            show(ours)
        );
        if let Some(vs) = vs {
            ratios.push((label.to_owned(), vs));
        }
    }
    Ok(ratios)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let only_ask = args.iter().any(|a| a == "ask");
    let asked = ask_table(&AskArgs::parse(&args))?;
    println!();
    for (label, vs) in &asked {
        let name = format!("{label}: an ask through Handle::call within 1.3x of the floor");
        println!("{}", Target::at_most(name, *vs, 1.3));
    }
    if only_ask {
        return Ok(());
    }
    println!();
    let current = runtime(0)?;
    let multi = runtime(2)?;
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

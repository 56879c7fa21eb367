//! What a decorator costs, what hedging buys, and how fast an open circuit fails.
//!
//! `cargo bench --bench decorator`. Three parts:
//!
//! 1. **Overhead per layer**: each decorator around a client that does nothing (it returns an
//!    empty body at once), called a million times on a current-thread runtime; the layer's cost
//!    is its row minus the bare client's. The same three layers from tower (timeout, retry,
//!    concurrency limit) around the same client as a `tower::Service`, called tower's way
//!    (`ready`, then `call`). Target: at most 100 ns per layer. The layers open their spans as
//!    in any program, with no subscriber installed: what a span costs when nobody listens is
//!    part of each row.
//! 2. **Hedging on a slow tail**: 1000 requests to a loopback route where one in twenty is ten
//!    times slower (5 % at 100 ms, the rest at 10 ms), one every 2 ms, without and with a hedge
//!    at the 90th percentile of recent latencies. Target: p99 at least 3x lower with hedging.
//! 3. **An open circuit**: how long a call takes to fail when the breaker is open (no request
//!    is made). Target: under 10 µs.

use std::hint::black_box;
use std::time::Duration;

use async_patterns::decorator::{
    Breaker, Circuit, ConcurrencyLimit, FromService, Hedge, HedgeDelay, HttpService, Layers,
    RateLimit, Retry, RetryPolicy, Timeout, TowerRetry, Trip,
};
use async_patterns::http::{HttpConfig, HttpError, HttpGet, NativeHttp};
use async_patterns::testkit::TestServer;
use async_patterns::timing::{Target, compare, human, measure_sync, percentile};
use futures::StreamExt;
use tokio::runtime::Runtime;
use tower::{Service, ServiceBuilder, ServiceExt};

const CALLS: u32 = 1_000_000;
const ROUNDS: usize = 7;
const URL: &str = "http://bench/a";

/// A client with no work in it: only the layers around it are left to measure.
struct Noop;

#[async_trait::async_trait]
impl HttpGet for Noop {
    async fn get(&self, _url: &str) -> Result<String, HttpError> {
        Ok(String::new())
    }
}

/// A client that always fails, to open a circuit.
struct Down;

#[async_trait::async_trait]
impl HttpGet for Down {
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        Err(HttpError::Status {
            url: url.to_owned(),
            status: 503,
        })
    }
}

/// The fastest of `ROUNDS` runs of `calls` awaits of `http.get`, in ns per call.
fn ns_per_call(rt: &Runtime, http: &dyn HttpGet, calls: u32) -> f64 {
    (0..ROUNDS)
        .map(|_| {
            let ((), took) = measure_sync(|| {
                rt.block_on(async {
                    for _ in 0..calls {
                        let _ = black_box(http.get(black_box(URL)).await);
                    }
                })
            });
            took.as_secs_f64() * 1e9 / f64::from(calls)
        })
        .fold(f64::INFINITY, f64::min)
}

/// The same for a tower service, called tower's way: `ready`, then `call` with an owned URL.
fn ns_per_tower_call<S>(rt: &Runtime, mut service: S) -> f64
where
    S: Service<String, Response = String>,
    S::Error: std::fmt::Debug,
{
    (0..ROUNDS)
        .map(|_| {
            let ((), took) = measure_sync(|| {
                rt.block_on(async {
                    for _ in 0..CALLS {
                        let Ok(ready) = service.ready().await else {
                            continue;
                        };
                        let _ = black_box(ready.call(black_box(URL).to_owned()).await);
                    }
                })
            });
            took.as_secs_f64() * 1e9 / f64::from(CALLS)
        })
        .fold(f64::INFINITY, f64::min)
}

fn overhead(rt: &Runtime) {
    let ms = Duration::from_millis;
    let policy = RetryPolicy::default();
    let bare = ns_per_call(rt, &Noop, CALLS);
    let circuit = Circuit::new(Trip::Consecutive(5), ms(100));
    let ours: Vec<(&str, f64)> = vec![
        (
            "timeout",
            ns_per_call(rt, &Timeout::new(Noop, ms(100)), CALLS),
        ),
        (
            "retry",
            ns_per_call(rt, &Retry::new(Noop, policy.clone()), CALLS),
        ),
        (
            "breaker (closed)",
            ns_per_call(rt, &Breaker::new(Noop, &circuit), CALLS),
        ),
        (
            "concurrency limit",
            ns_per_call(rt, &ConcurrencyLimit::new(Noop, 8), CALLS),
        ),
        ("rate limit (never waits)", {
            let bucket = RateLimit::new(Noop, u32::MAX, Duration::from_nanos(1));
            ns_per_call(rt, &bucket, CALLS)
        }),
        ("hedge (fixed, never fires)", {
            let hedge = Hedge::new(Noop, HedgeDelay::Fixed(ms(100)));
            ns_per_call(rt, &hedge, CALLS)
        }),
    ];
    let stack = Layers::new(Noop)
        .timeout(ms(100))
        .retry(policy.clone())
        .breaker(&circuit)
        .build();
    let three = ns_per_call(rt, &stack, CALLS);

    let tower_bare = ns_per_tower_call(rt, HttpService::new(Noop));
    let tower: Vec<(&str, f64)> = vec![
        (
            "timeout",
            ns_per_tower_call(
                rt,
                ServiceBuilder::new()
                    .timeout(ms(100))
                    .service(HttpService::new(Noop)),
            ),
        ),
        (
            "retry",
            ns_per_tower_call(
                rt,
                ServiceBuilder::new()
                    .retry(TowerRetry::new(policy))
                    .service(HttpService::new(Noop)),
            ),
        ),
        (
            "concurrency limit",
            ns_per_tower_call(
                rt,
                ServiceBuilder::new()
                    .concurrency_limit(8)
                    .service(HttpService::new(Noop)),
            ),
        ),
    ];
    let adapters = ns_per_call(rt, &FromService::new(HttpService::new(Noop)), CALLS);

    println!("1. overhead per layer around a no-op client ({CALLS} calls, best of {ROUNDS})");
    println!("  bare client, HttpGet::get (async_trait, boxed): {bare:>7.1} ns/call");
    println!("  bare client as a tower Service (ready + call):  {tower_bare:>7.1} ns/call");
    println!(
        "  {:<28} {:>12} {:>12}",
        "layer", "ours (+ns)", "tower (+ns)"
    );
    let mut targets = Vec::new();
    for (name, ns) in &ours {
        let extra = ns - bare;
        let theirs = tower
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t - tower_bare);
        let shown = theirs.map_or("-".to_owned(), |t| format!("{t:.1}"));
        println!("  {name:<28} {extra:>12.1} {shown:>12}");
        targets.push(Target::at_most(
            format!("{name}, ours, <= 100 ns"),
            extra,
            100.0,
        ));
        if let Some(theirs) = theirs {
            targets.push(Target::at_most(
                format!("{name}, tower's, <= 100 ns"),
                theirs,
                100.0,
            ));
        }
    }
    let per_layer = (three - bare) / 3.0;
    println!(
        "  timeout + retry + breaker: +{:.1} ns, {per_layer:.1} ns a layer",
        three - bare
    );
    println!(
        "  adapters both ways (HttpGet -> Service -> HttpGet): +{:.1} ns",
        adapters - bare
    );
    let clock = |read: &dyn Fn()| {
        let ((), took) = measure_sync(|| rt.block_on(async { (0..CALLS).for_each(|_| read()) }));
        took.as_secs_f64() * 1e9 / f64::from(CALLS)
    };
    let tokio_clock = clock(&|| {
        let _ = black_box(tokio::time::Instant::now());
    });
    let std_clock = clock(&|| {
        let _ = black_box(std::time::Instant::now());
    });
    println!(
        "  one clock read: tokio's {tokio_clock:.1} ns, std's {std_clock:.1} ns (a timeout and a \
         hedge read it once a call, a retry once, a rate limit once)"
    );
    for target in targets {
        println!("{target}");
    }
}

/// p99 of `n` requests to `url`, one every `gap`, in the order they were sent.
async fn p99(http: &dyn HttpGet, url: &str, n: usize, gap: Duration) -> (Duration, usize) {
    let start = tokio::time::Instant::now();
    let mut took: Vec<Duration> = futures::stream::iter(0..n)
        .map(|i| async move {
            tokio::time::sleep_until(start + gap * i as u32).await;
            let begun = tokio::time::Instant::now();
            let ok = http.get(url).await.is_ok();
            (ok, begun.elapsed())
        })
        .buffer_unordered(n)
        .filter_map(|(ok, took)| async move { ok.then_some(took) })
        .collect()
        .await;
    took.sort();
    (percentile(&took, 0.99).unwrap_or_default(), took.len())
}

fn hedging(rt: &Runtime) -> Result<(), Box<dyn std::error::Error>> {
    const N: usize = 1000;
    let server = TestServer::start()?;
    let client = NativeHttp::new(HttpConfig::default().timeout(Duration::from_secs(5)))?;
    let url = server.slow_tail_url(20, 10, 10);
    let gap = Duration::from_millis(2);
    let delay = HedgeDelay::Percentile {
        percentile: 0.9,
        window: 100,
        initial: Duration::from_millis(30),
    };
    let hedged = Hedge::new(client.clone(), delay);
    let (plain, plain_ok) = rt.block_on(p99(&client, &format!("{url}&run=plain"), N, gap));
    server.reset_stats();
    let (with, with_ok) = rt.block_on(p99(&hedged, &format!("{url}&run=hedged"), N, gap));
    let sent = server.requests();
    println!(
        "\n2. {N} requests to a slow tail (5 % at 100 ms, the rest at 10 ms), one every {gap:?}"
    );
    println!(
        "  without hedging: p99 {} ({plain_ok} answered)",
        human(plain)
    );
    println!(
        "  hedged at p90:   p99 {} ({with_ok} answered, {sent} requests sent: {} hedges)",
        human(with),
        hedged.hedged()
    );
    println!("  {}", compare("without", plain, "hedged", with));
    let ratio = plain.as_secs_f64() / with.as_secs_f64().max(1e-9);
    println!(
        "{}",
        Target::at_least("p99 >= 3x lower with hedging", ratio, 3.0)
    );
    Ok(())
}

fn open_circuit(rt: &Runtime) {
    const FAILS: u32 = 200_000;
    let circuit = Circuit::new(Trip::Consecutive(1), Duration::from_secs(3600));
    let breaker = Breaker::new(Down, &circuit);
    let _ = rt.block_on(breaker.get(URL)); // one failure opens it
    let ns = ns_per_call(rt, &breaker, FAILS);
    println!("\n3. an open circuit ({FAILS} calls, best of {ROUNDS}): {ns:.0} ns to fail fast");
    println!(
        "{}",
        Target::at_most("fail fast < 10 µs (in ns)", ns, 10_000.0)
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    println!("decorator bench (a current-thread runtime)\n");
    overhead(&rt);
    hedging(&rt)?;
    open_circuit(&rt);
    Ok(())
}

//! Decorator: a flaky, slow-tailed server, met with a timeout, a retry, hedging, a circuit
//! breaker, all of them, and the same stack through tower.
//!
//! 300 calls, one every 2 ms, to a loopback route that answers in 20 ms, except that one
//! request in ten fails (503) and one in twenty is ten times slower; and from 200 to 350 ms the
//! server is down (a decorator of the example's own injects that outage: no connection). Each
//! way of calling it gets a fresh copy of that script. The table says, for each, how many calls
//! succeeded, how fast (p50 and p99 of the successes), and how many requests were sent; a
//! timeline draws the breaker's states. It ends with what to notice in the numbers it just
//! measured.
//!
//! ```text
//! cargo run --release --example decorator                        # offline, the loopback server
//! cargo run --release --example decorator -- https://example.com/ # a real URL instead
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_patterns::decorator::{
    BreakerState, Circuit, FromService, HedgeDelay, HttpService, Layers, RetryPolicy, TowerRetry,
    Trip,
};
use async_patterns::http::{HttpConfig, HttpError, HttpGet, NativeHttp};
use async_patterns::testkit::TestServer;
use async_patterns::timing::{Bar, NOISE, compare, draw_to_scale, human, percentile};
use futures::StreamExt;
use tokio::time::Instant;
use tower::ServiceBuilder;

const CALLS: usize = 300;
/// The time between two calls: they arrive as traffic does, whatever happened to the last one.
const GAP: Duration = Duration::from_millis(2);
/// When the server is down, from the start of each run.
const OUTAGE: std::ops::Range<Duration> = Duration::from_millis(200)..Duration::from_millis(350);
/// How long an open circuit waits before it lets a probe through.
const COOL_DOWN: Duration = Duration::from_millis(50);

/// Counts the requests sent, and fails them while the server is "down": a decorator too, one
/// that injects a fault. The clock is restarted at the start of each run.
struct Client<S> {
    inner: S,
    sent: AtomicU64,
    origin: Mutex<Instant>,
}

#[async_trait::async_trait]
impl<S: HttpGet> HttpGet for Client<S> {
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        self.sent.fetch_add(1, Ordering::Relaxed);
        let since = self.origin.lock().map(|o| o.elapsed()).unwrap_or_default();
        if OUTAGE.contains(&since) {
            let cause = "the server is down (an outage the example injects)".to_owned();
            return Err(HttpError::Connect {
                url: url.to_owned(),
                cause,
            });
        }
        self.inner.get(url).await
    }
}

/// What one way of calling the server did.
struct Run {
    name: &'static str,
    successes: usize,
    p50: Duration,
    p99: Duration,
    sent: u64,
    /// Calls refused by an open circuit, without a request.
    shed: usize,
}

impl Run {
    fn per_success(&self) -> f64 {
        self.sent as f64 / self.successes.max(1) as f64
    }

    fn success_rate(&self) -> f64 {
        100.0 * self.successes as f64 / CALLS as f64
    }
}

/// 20 characters of script, repeated: `s` ten times slower, `f` 503, `o` 20 ms. The failures
/// come right after the slow request: calls arrive every 2 ms, so a hedge sent some 25 ms after
/// a slow request lands about 12 requests later, on an `o`. (A periodic script with a failure
/// exactly where hedges land would fail every hedge, for a reason no real server has.)
const SCRIPT: &str = "sffooooooooooooooooo";

/// Call `http` `CALLS` times, one every `GAP`, and sum up what happened.
async fn drive(
    name: &'static str,
    http: &dyn HttpGet,
    url: &str,
    client: &Client<NativeHttp>,
) -> Run {
    let before = client.sent.load(Ordering::Relaxed);
    let origin = Instant::now();
    if let Ok(mut start) = client.origin.lock() {
        *start = origin;
    }
    // Every call is a future of this one task, waiting for its arrival time: nothing spawned.
    let results: Vec<(Result<String, HttpError>, Duration)> = futures::stream::iter(0..CALLS)
        .map(|i| async move {
            tokio::time::sleep_until(origin + GAP * i as u32).await;
            let start = Instant::now();
            let result = http.get(url).await;
            (result, start.elapsed())
        })
        .buffer_unordered(CALLS)
        .collect()
        .await;
    let mut latencies: Vec<Duration> = results
        .iter()
        .filter(|(r, _)| r.is_ok())
        .map(|(_, took)| *took)
        .collect();
    latencies.sort();
    let shed = results
        .iter()
        .filter(|(r, _)| matches!(r, Err(e) if e.to_string().contains("was not requested")))
        .count();
    Run {
        name,
        successes: latencies.len(),
        p50: percentile(&latencies, 0.50).unwrap_or_default(),
        p99: percentile(&latencies, 0.99).unwrap_or_default(),
        sent: client.sent.load(Ordering::Relaxed) - before,
        shed,
    }
}

/// Record the circuit's changes of state as (state entered, when), from `origin`.
fn watch(circuit: &Circuit, origin: Instant) -> Arc<Mutex<Vec<(BreakerState, Duration)>>> {
    let log = Arc::new(Mutex::new(vec![(BreakerState::Closed, Duration::ZERO)]));
    let sink = Arc::clone(&log);
    circuit.on_transition(move |t| {
        if let Ok(mut log) = sink.lock() {
            log.push((t.to, t.at - origin));
        }
    });
    log
}

/// The breaker's states as bars: one per stretch of time in a state.
fn state_bars(log: &[(BreakerState, Duration)], end: Duration) -> Vec<Bar> {
    log.iter()
        .enumerate()
        .map(|(i, (state, start))| {
            let stop = log.get(i + 1).map_or(end, |next| next.1);
            let mut bar = Bar::new(state.to_string(), *start, stop);
            bar.mark = match state {
                BreakerState::Closed => '#',
                BreakerState::Open => 'X',
                BreakerState::HalfOpen => '?',
            };
            bar
        })
        .collect()
}

/// A percentile, or `-` when nothing succeeded.
fn shown(run: &Run, d: Duration) -> String {
    if run.successes == 0 {
        "-".to_owned()
    } else {
        human(d)
    }
}

/// What the runs say, in words derived from their numbers.
fn notice(runs: &[Run], opened: usize, longest_probe: Duration) -> Vec<String> {
    let [bare, timed, retried, hedged, broken, full, towered] = runs else {
        return vec!["seven runs were expected".to_owned()];
    };
    let more = |a: &Run, b: &Run| 100.0 * (a.sent as f64 / b.sent.max(1) as f64 - 1.0);
    let mut lines = Vec::new();
    let (before, after) = (timed.success_rate(), retried.success_rate());
    lines.push(if after > before + 1.0 {
        format!(
            "retry bought success with load: {before:.1}% -> {after:.1}% of calls succeeded (the \
             timeout alone, then with a retry around it), for {} requests instead of {} ({:+.0}%);",
            retried.sent,
            timed.sent,
            more(retried, timed)
        )
    } else {
        format!(
            "retry did not raise success here ({before:.1}% -> {after:.1}%) yet sent {} requests \
             instead of {}: retrying a server that keeps failing only adds load;",
            retried.sent, timed.sent
        )
    });
    if bare.successes > 0 && hedged.successes > 0 {
        let cut = hedged.p99.as_secs_f64() * (1.0 + NOISE) < bare.p99.as_secs_f64();
        lines.push(format!(
            "hedging {} the tail for {:+.0}% requests: {}.",
            if cut { "bought" } else { "did not buy" },
            more(hedged, bare),
            compare(
                "the bare client's p99",
                bare.p99,
                "the hedged p99",
                hedged.p99
            )
        ));
    }
    lines.push(if broken.shed > 0 {
        format!(
            "the breaker shed load: it opened {opened} times, refused {} calls without a request, \
             and sent {} requests where the bare client sent {} ({:.1}% vs {:.1}% success);",
            broken.shed,
            broken.sent,
            bare.sent,
            broken.success_rate(),
            bare.success_rate()
        )
    } else {
        "the breaker never opened: no five calls in a row failed.".to_owned()
    });
    if longest_probe > COOL_DOWN {
        lines.push(format!(
            "one probe held the circuit half-open for {}, longer than the {} cool-down, and every \
             call meanwhile was refused: a timeout inside the breaker bounds a probe;",
            human(longest_probe),
            human(COOL_DOWN)
        ));
    }
    lines.push(format!(
        "the timeout changed the wait, not the failures: p99 {} vs {} bare, success {:.1}% vs {:.1}%;",
        shown(timed, timed.p99),
        shown(bare, bare.p99),
        timed.success_rate(),
        bare.success_rate()
    ));
    lines.push(format!(
        "the full stack: {:.1}% success, p99 {}, {} requests; with tower inside: {:.1}%, p99 {}, {} \
         requests ({}; a p99 over {} successes rests on its {} slowest, so run it again to see how \
         far it moves).",
        full.success_rate(),
        shown(full, full.p99),
        full.sent,
        towered.success_rate(),
        shown(towered, towered.p99),
        towered.sent,
        compare("ours", full.p99, "tower's", towered.p99),
        full.successes,
        full.successes.div_ceil(100)
    ));
    lines
}

#[tokio::main]
pub async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = TestServer::start()?;
    let arg = std::env::args().nth(1);
    // A fresh counter per run: the route counts per URL, and `run=` makes each URL new.
    let url_for = |run: usize| match &arg {
        Some(url) => url.clone(),
        None => format!("{}&slow=10&run={run}", server.script_url(SCRIPT, 20)),
    };
    println!(
        "{CALLS} calls, one every {GAP:?}, on tokio's multi-thread runtime, to {}",
        url_for(0)
    );
    println!(
        "(down from {:?} to {:?} of each run)\n",
        OUTAGE.start, OUTAGE.end
    );

    let config = HttpConfig::default().timeout(Duration::from_secs(5));
    let client = Arc::new(Client {
        inner: NativeHttp::new(config)?,
        sent: AtomicU64::new(0),
        origin: Mutex::new(Instant::now()),
    });
    let ms = Duration::from_millis;
    let timeout = ms(100);
    let policy = RetryPolicy::default()
        .attempts(3)
        .backoff(ms(10), ms(100))
        .budget(ms(1000));
    let hedge = HedgeDelay::Percentile {
        percentile: 0.9,
        window: 100,
        initial: ms(60),
    };
    let breaker = || Circuit::new(Trip::Consecutive(5), COOL_DOWN);

    let mut runs = Vec::new();
    let shared = || Arc::clone(&client);
    runs.push(drive("bare client", &*client, &url_for(1), &client).await);
    let timed = Layers::new(shared()).timeout(timeout).build();
    runs.push(drive("+ timeout 100 ms", &timed, &url_for(2), &client).await);
    let retried = Layers::new(shared())
        .timeout(timeout)
        .retry(policy.clone())
        .build();
    runs.push(drive("+ retry (3, timeout each)", &retried, &url_for(3), &client).await);
    let hedged = Layers::new(shared()).hedge(hedge).build();
    runs.push(drive("+ hedging at p90", &hedged, &url_for(4), &client).await);
    let circuit = breaker();
    let origin = Instant::now();
    let states = watch(&circuit, origin);
    let broken = Layers::new(shared()).breaker(&circuit).build();
    runs.push(drive("+ breaker (5 in a row)", &broken, &url_for(5), &client).await);
    let breaker_end = origin.elapsed();

    // The full stack, read inside out: each request hedged and limited, each call retried,
    // and the breaker outside, counting calls that failed whatever the retry did.
    let full_circuit = breaker();
    let full = Layers::new(shared())
        .hedge(hedge)
        .timeout(timeout)
        .retry(policy.clone())
        .breaker(&full_circuit)
        .build();
    runs.push(drive("full stack", &full, &url_for(6), &client).await);
    // The same, with tower's retry and timeout in the middle: our hedge inside them (as a
    // tower service), our breaker outside (the tower stack as an `HttpGet`).
    let tower_circuit = breaker();
    let tower_stack = ServiceBuilder::new()
        .retry(TowerRetry::new(policy))
        .timeout(timeout)
        .service(HttpService::new(Layers::new(shared()).hedge(hedge).build()));
    let through_tower = Layers::new(FromService::new(tower_stack))
        .breaker(&tower_circuit)
        .build();
    runs.push(
        drive(
            "full stack, tower inside",
            &through_tower,
            &url_for(7),
            &client,
        )
        .await,
    );

    println!(
        "{:<26} {:>8} {:>9} {:>9} {:>6} {:>8} {:>6}",
        "", "success", "p50", "p99", "sent", "sent/ok", "shed"
    );
    for run in &runs {
        println!(
            "{:<26} {:>7.1}% {:>9} {:>9} {:>6} {:>8.2} {:>6}",
            run.name,
            run.success_rate(),
            human(run.p50),
            human(run.p99),
            run.sent,
            run.per_success(),
            run.shed
        );
    }
    println!(
        "(p50 and p99 of the successful calls; sent: requests for the {CALLS} calls; shed: calls an"
    );
    println!(" open circuit refused without a request)\n");

    let log = states.lock().map(|l| l.clone()).unwrap_or_default();
    let bars = state_bars(&log, breaker_end);
    println!("the breaker's states during its run (# closed, X open, ? half-open):");
    print!(
        "{}",
        draw_to_scale(&bars[..bars.len().min(14)], 60, breaker_end)
    );
    if bars.len() > 14 {
        println!("... and {} more changes", bars.len() - 14);
    }
    let opened = log.iter().filter(|(s, _)| *s == BreakerState::Open).count();

    println!("\nwhat to notice:");
    // The longest stretch the circuit spent half-open: one probe in flight, all else refused.
    let longest_probe = bars
        .iter()
        .filter(|bar| bar.label == BreakerState::HalfOpen.to_string())
        .map(|bar| bar.end - bar.start)
        .max()
        .unwrap_or_default();
    for line in notice(&runs, opened, longest_probe) {
        println!("- {line}");
    }
    Ok(())
}

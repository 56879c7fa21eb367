//! Decorator: one client stacked with a hedge, a timeout, a retry and a breaker; then each layer
//! measured against a flaky, slow-tailed route that goes down for a while, a hedge and a rate
//! limit under overload drawn from the decorators' own spans, and what to notice in the numbers.
//!
//! ```text
//! cargo run --release --example decorator        # offline, against the loopback server
//! ```

use std::error::Error;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_patterns::decorator::{Breaker, Circuit, Hedge, HedgeDelay, Layers, Retry, Timeout};
use async_patterns::decorator::{RetryPolicy, Trip};
use async_patterns::http::{HttpConfig, HttpError, HttpGet, NativeHttp};
use async_patterns::testkit::TestServer;
use async_patterns::timing::{BarOutcome, Page, Table, Target, Timeline, compare, human};
use async_patterns::timing::{percentile, record_spans};
use futures::{StreamExt, stream};
use tokio::time::Instant;

fn main() -> Result<(), Box<dyn Error>> {
    run(&mut Page::new("decorator"), false)
}

// 1. The pattern, plainly

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// How many attempts, and the waits between them (exponential backoff, full jitter).
fn policy() -> RetryPolicy {
    RetryPolicy::default().attempts(3).backoff(ms(10), ms(100))
}

/// A client for a server that is sometimes slow, sometimes wrong and sometimes down. Read inside
/// out: each request hedged after 50 ms, each attempt cut at 100 ms, a breaker that stops
/// calling for 50 ms after five failed attempts in a row, and three attempts (an open circuit
/// ends them at once: retrying it would only be refused again).
fn resilient<C: HttpGet>(client: C, circuit: &Circuit) -> impl HttpGet + use<C> {
    Layers::new(client)
        .hedge(HedgeDelay::Fixed(ms(50)))
        .timeout(ms(100))
        .breaker(circuit)
        .retry(policy())
        .build()
}

/// One GET through the stack: the caller cannot tell it from the bare client.
async fn plainly(url: &str) -> Result<String, HttpError> {
    let circuit = Circuit::new(Trip::Consecutive(5), ms(50));
    let http = resilient(NativeHttp::new(HttpConfig::default())?, &circuit);
    http.get(url).await
}

// 2. Measured

/// 20 requests of script, repeated: `s` ten times slower (200 ms), `f` a 503, `o` 20 ms. The
/// failures come right after the slow one: calls arrive every 2 ms, so a hedge sent 50 ms
/// after a slow request lands some 25 requests later, on an `o`.
const SCRIPT: &str = "sffooooooooooooooooo";
const THE_ROUTE: &str = "20 ms answers, but one in ten a 503 and one in twenty 200 ms";
/// When the route is down (no connection), from the start of each measured run; or never.
const OUTAGE: Range<Duration> = ms(150)..ms(300);
const NEVER: Range<Duration> = Duration::ZERO..Duration::ZERO;
const TARGET: &str = "async_patterns::decorator";

type Route = Result<(Box<dyn HttpGet>, Arc<AtomicUsize>), HttpError>;

/// `/api` as every stack here sees it: the loopback server's `pattern` of answers after
/// `ms` (counted from its start again), down during `down`, each request counted. A decorator
/// too, the innermost.
fn route(server: &TestServer, pattern: &str, ms: u64, down: Range<Duration>) -> Route {
    server.reset_scripts();
    let target = format!("{}&slow=10", server.script_url(pattern, ms));
    let (start, sent) = (Instant::now(), Arc::new(AtomicUsize::new(0)));
    let counted = Arc::clone(&sent);
    let client = NativeHttp::new(HttpConfig::default())?;
    let http = Layers::new(client).around(move |inner: Arc<dyn HttpGet>, _url: String| {
        let (url, down) = (target.clone(), down.contains(&start.elapsed()));
        counted.fetch_add(1, Ordering::Relaxed);
        let cause = "down (the example's outage)".to_owned();
        async move {
            if down {
                Err(HttpError::Connect { url, cause })
            } else {
                inner.get(&url).await
            }
        }
    });
    Ok((Box::new(http.build()), sent))
}

/// `n` calls to `/api` through `http`, one every `gap`: the sorted times of those that
/// succeeded.
async fn calls(http: &dyn HttpGet, n: u32, gap: Duration) -> Vec<Duration> {
    let origin = Instant::now();
    let each = |i| async move {
        tokio::time::sleep_until(origin + gap * i).await;
        let start = Instant::now();
        http.get("/api").await.ok().map(|_| start.elapsed())
    };
    let calls = stream::iter(0..n).map(each).buffer_unordered(n as usize);
    let mut ok: Vec<Duration> = calls.filter_map(|t| async move { t }).collect().await;
    ok.sort();
    ok
}

/// What one stack did with the traffic: the % of calls that succeeded, their p99, and how many
/// requests it sent.
struct Run(f64, Duration, usize);

/// When the bars of `timeline` at `depth` that ended as `outcome` ended.
fn ended(timeline: &Timeline, depth: usize, outcome: BarOutcome) -> Vec<Duration> {
    let bars = timeline.bars_by_start().into_iter();
    bars.filter(|b| b.depth == depth && b.outcome == outcome)
        .map(|b| b.end)
        .collect()
}

type Stack = fn(Box<dyn HttpGet>, &Circuit) -> Box<dyn HttpGet>;

/// Run the demo; `brief` is the tour's shorter version.
pub fn run(page: &mut Page, brief: bool) -> Result<(), Box<dyn Error>> {
    let server = TestServer::start()?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        page.heading("decorator: one client, four behaviours stacked around it");
        let url = server.flaky_url("ffo");
        let body = plainly(&url).await?;
        let sent = server.requests();
        page.line(format!(
            "{url}: two 503s, then {body:?}, in {sent} requests"
        ));
        measured(page, &server, if brief { 200 } else { 300 }).await
    })
}

async fn measured(page: &mut Page, server: &TestServer, n: u32) -> Result<(), Box<dyn Error>> {
    let (from, to) = (OUTAGE.start.as_millis(), OUTAGE.end.as_millis());
    page.line(format!(
        "{n} calls to /api, one every 2 ms: {THE_ROUTE}, and no connection from {from} to {to} ms"
    ));
    let stacks: [(&str, Stack); 5] = [
        ("bare client", |r, _| r),
        ("timeout + retry", |r, _| {
            Box::new(Retry::new(Timeout::new(r, ms(100)), policy()))
        }),
        ("hedge", |r, _| {
            Box::new(Hedge::new(r, HedgeDelay::Fixed(ms(50))))
        }),
        ("breaker", |r, c| Box::new(Breaker::new(r, c))),
        ("all four (section 1)", |r, c| Box::new(resilient(r, c))),
    ];
    let mut table = Table::new("p99 of the calls that succeeded (ideal: a 20 ms answer)");
    let mut runs = Vec::new();
    for (name, stack) in stacks {
        let (client, sent) = route(server, SCRIPT, 20, OUTAGE)?;
        let circuit = Circuit::new(Trip::Consecutive(5), ms(50));
        let ok = calls(&*stack(client, &circuit), n, ms(2)).await;
        let p99 = percentile(&ok, 0.99).unwrap_or_default();
        let run = Run(
            100.0 * ok.len() as f64 / f64::from(n),
            p99,
            sent.load(Ordering::Relaxed),
        );
        let label = format!("{name}: {:.0}% ok, {} sent", run.0, run.2);
        table.add_with_ideal(label, p99, ms(20));
        runs.push(run);
    }
    page.table(&table);

    // Drawn from the decorators' spans: ten calls 30 ms apart through a hedge, one request in
    // four slow; then the overload lesson, a timeout outside a rate limit: callers that give
    // up while they queue must cost the others nothing, or overload turns into a standstill.
    let (client, _) = route(server, "sooo", 20, NEVER)?;
    let hedge = Hedge::new(client, HedgeDelay::Fixed(ms(50)));
    let hedged = Arc::new(Timeline::new());
    record_spans(&hedged, TARGET, calls(&hedge, 10, ms(30))).await;
    page.timeline("ten calls 30 ms apart through a hedge after 50 ms", &hedged);
    let (client, _) = route(server, "o", 1, NEVER)?;
    let overloaded = Layers::new(client).rate(1, ms(20)).timeout(ms(50));
    let limited = Arc::new(Timeline::new());
    record_spans(&limited, TARGET, calls(&overloaded.build(), 16, ms(4))).await;
    let title = "16 calls 4 ms apart, a 50 ms timeout outside a limit of 1 per 20 ms";
    page.timeline(title, &limited);
    // The waits for a token: those that ended with one (when the limiter let a call through),
    // and those cancelled (a caller that gave up while it queued).
    let granted = ended(&limited, 1, BarOutcome::Ok);
    let gave_up = ended(&limited, 1, BarOutcome::Cancelled).len();
    let beat = match granted[..] {
        [first, .., last] => (last - first) / (granted.len() as u32 - 1),
        _ => Duration::ZERO,
    };
    let want = format!(
        "{} waits for a token, <= 1.25x 20 ms apart on average",
        granted.len()
    );
    page.target(Target::at_most(want, beat.as_secs_f64() / 0.020, 1.25));

    // What to notice, from the numbers above.
    let [bare, retried, hedging, breaker, all] = &runs[..] else {
        return Err("five runs were expected".into());
    };
    let more = |run: &Run| 100.0 * (run.2 as f64 / bare.2.max(1) as f64 - 1.0);
    let (before, after, extra) = (bare.0, retried.0, more(retried));
    page.notice(format!(
        "the timeout and retry took success from {before:.1}% to {after:.1}% for {extra:+.0}% requests: retries buy success with load."
    ));
    let tail = compare("the bare client's p99", bare.1, "the hedged p99", hedging.1);
    let extra = more(hedging);
    page.notice(format!("hedging, for {extra:+.0}% requests: {tail}."));
    // Behind the breaker alone, each call that was not refused sent one request.
    let (refused, sent) = (n as usize - breaker.2, breaker.2);
    page.notice(match refused {
        0 => "the breaker never opened: no five calls in a row failed.".to_owned(),
        _ => format!(
            "the breaker refused {refused} calls without a request, most in the outage: it sent {sent} requests for {n} calls."
        ),
    });
    let (p99, bare_p99) = (human(all.1), human(bare.1));
    page.notice(format!(
        "all four: {:.1}% of calls succeeded (bare: {:.1}%), p99 {p99} (bare: {bare_p99}), {} requests.",
        all.0, bare.0, all.2
    ));
    let (with, without) = (all.2, retried.2);
    page.notice(if with < without {
        format!("all four sent {with} requests where the timeout and retry alone sent {without}: the open circuit kept retries off a failing route.")
    } else {
        format!("all four sent {with} requests, the timeout and retry alone {without}: the hedge's extra requests outweighed what the breaker kept off.")
    });
    let hedges = hedged.markers().len();
    let lost = ended(&hedged, 0, BarOutcome::Cancelled).len();
    page.notice(format!(
        "in the drawing, {hedges} hedges were sent (the diamonds); {lost} requests lost their race and were cancelled (grey)."
    ));
    page.notice(format!(
        "under overload, {gave_up} of 16 callers gave up while they queued, yet the limiter let one through every {} on average (its interval: 20 ms): a caller that leaves takes no token.",
        human(beat)
    ));
    Ok(())
}

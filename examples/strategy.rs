//! One `Downloader`, one batch of URLs, six strategies swapped in at run time.
//!
//! ```text
//! cargo run --release --example strategy                          # offline, loopback server
//! cargo run --release --example strategy -- https://example.com/  # 10 GETs of a real URL
//! ```
//!
//! The downloader's code never changes, only the strategy it holds; the first batch is swapped
//! *while it runs* and still finishes with the strategy it started with. It draws when each
//! request ran under one by one and under `bounded (5)`, then ends with what to notice in the
//! numbers it measured: the concurrent strategies tie at about one wait, `bounded (5)` takes
//! one wait per wave of five, one by one the sum of the waits.

use std::error::Error;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use async_patterns::http::native::NativeHttp;
use async_patterns::http::{HttpConfig, HttpError, HttpGet, TimeLimit};
use async_patterns::strategy::{
    AllAtOnce, Bounded, Downloader, FetchStrategy, Fetched, FnStrategy, InTasks, InThreads,
    OneByOne, StrategyError,
};
use async_patterns::testkit::TestServer;
// `NOISE`: differences below this share of the faster time are noise on a shared machine.
use async_patterns::timing::{NOISE, Table, Target, Timeline, human, measure, ratio};

/// The strategies that start every request at once; they should tie at about one wait.
const CONCURRENT: [&str; 4] = [
    "all at once",
    "in tasks",
    "in threads",
    "closure (1 s timeout)",
];

/// A fetcher that records on a timeline when each of its requests ran: the `HttpGet` every
/// strategy is given, so the strategies themselves are untouched.
struct Recorded {
    inner: Arc<dyn HttpGet>,
    /// The current batch's timeline, and how many requests it has started.
    batch: Mutex<(Arc<Timeline>, Arc<AtomicUsize>)>,
}

impl Recorded {
    fn new(inner: Arc<dyn HttpGet>) -> Self {
        let batch = Mutex::new((Arc::new(Timeline::new()), Arc::default()));
        Recorded { inner, batch }
    }

    /// A fresh timeline (its origin is now) for the next batch's requests.
    fn next_batch(&self) -> Arc<Timeline> {
        let timeline = Arc::new(Timeline::new());
        *self.batch.lock().unwrap() = (Arc::clone(&timeline), Arc::default());
        timeline
    }
}

#[async_trait::async_trait]
impl HttpGet for Recorded {
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        let (timeline, started) = self.batch.lock().unwrap().clone();
        let n = started.fetch_add(1, Ordering::Relaxed) + 1;
        // "#07 /status/500": the request's place in the batch, and its path.
        let path = url.splitn(4, '/').nth(3).unwrap_or("");
        let path = path.split('?').next().unwrap_or(path);
        timeline
            .record(format!("#{n:02} /{path}"), self.inner.get(url))
            .await
    }
}

/// "20 ok, 1 failed (http://... answered HTTP 500)".
fn tally(results: &Fetched) -> String {
    let failed: Vec<&HttpError> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let ok = results.len() - failed.len();
    match failed.first() {
        None => format!("{ok} ok"),
        Some(first) => format!("{ok} ok, {} failed ({first})", failed.len()),
    }
}

/// One batch as it went: its strategy's label, time, results, timeline and the server's peak.
struct Batch {
    label: &'static str,
    took: Duration,
    summary: String,
    timeline: Arc<Timeline>,
    peak: usize,
}

#[tokio::main]
pub async fn main() -> Result<(), Box<dyn Error>> {
    let server = TestServer::start()?;
    let wait = Duration::from_millis(100);
    let external = std::env::args().nth(1);
    let urls = match &external {
        Some(url) => vec![url.clone(); 10],
        None => {
            let mut urls: Vec<String> = (0..20).map(|i| server.page_url(i, 100)).collect();
            urls.insert(7, server.status_url(500));
            urls
        }
    };
    println!(
        "== strategy: {} GETs, e.g. {} (loopback server at {})",
        urls.len(),
        urls[0],
        server.base_url()
    );

    let native: Arc<dyn HttpGet> = Arc::new(NativeHttp::new(
        HttpConfig::default().timeout(Duration::from_secs(10)),
    )?);
    // Warm the connection pool so the first strategy is not charged for the handshakes.
    futures::future::join_all(urls.iter().take(8).map(|u| native.get(u))).await;
    let recorded = Arc::new(Recorded::new(native));
    let downloader = Downloader::new(Arc::clone(&recorded) as _, Arc::new(OneByOne));
    let run = |label, during| run_batch(label, &downloader, &recorded, &server, &urls, during);

    // Swap while a batch is in flight: it keeps its strategy; the next batch gets the new one.
    let swap = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        downloader.set_strategy(Arc::new(AllAtOnce));
    };
    let mut batches = vec![run("one by one", swap.boxed()).await?];

    let patient = FnStrategy::new(
        "closure: all at once, 1 s each",
        async |http: Arc<dyn HttpGet>, urls: Vec<String>| {
            let calls = urls.iter().map(|url| async {
                tokio::time::timeout(Duration::from_secs(1), http.get(url))
                    .await
                    .unwrap_or_else(|_| {
                        Err(HttpError::Timeout {
                            url: url.clone(),
                            limit: TimeLimit::Total(Duration::from_secs(1)),
                        })
                    })
            });
            futures::future::join_all(calls).await
        },
    );
    let next: Vec<(&str, Option<Arc<dyn FetchStrategy>>)> = vec![
        ("all at once", None), // already swapped in, by the task above
        ("bounded (5)", Some(Arc::new(Bounded::new(5)))),
        ("in tasks", Some(Arc::new(InTasks))),
        ("in threads", Some(Arc::new(InThreads::new()))),
        ("closure (1 s timeout)", Some(Arc::new(patient))),
    ];
    for (label, strategy) in next {
        if let Some(strategy) = strategy {
            downloader.set_strategy(strategy);
        }
        batches.push(run(label, async {}.boxed()).await?);
    }

    // The results: one line if every strategy got the same (the point: only speed differs).
    println!();
    if batches.iter().all(|b| b.summary == batches[0].summary) {
        println!(
            "every strategy got the same results: {}",
            batches[0].summary
        );
    } else {
        for b in &batches {
            println!("  {:<22} {}", b.label, b.summary);
        }
    }
    draw_timelines(&batches, &["one by one", "bounded (5)"]);

    // The table: one row per strategy, with its ideal where the server's delay is known.
    let pages = urls.len() - 1; // the failing URL answers at once
    let waves = urls.len().div_ceil(5);
    let each = if external.is_none() { " of 100 ms" } else { "" };
    let title = format!(
        "{} URLs{each}, one Downloader, strategy swapped per batch",
        urls.len()
    );
    let mut table = Table::new(title);
    for b in &batches {
        match (&external, b.label) {
            (Some(_), _) => table.add(b.label, b.took),
            (None, "one by one") => table.add_with_ideal(b.label, b.took, wait * pages as u32),
            (None, "bounded (5)") => table.add_with_ideal(b.label, b.took, wait * waves as u32),
            (None, _) => table.add_with_ideal(b.label, b.took, wait),
        };
    }
    println!("\n{table}");
    let n = urls.len() as f64;
    let target = |label: &str, at_least: f64| {
        let name = format!("{label} >= {at_least:.1}x one by one");
        let speedup = table.speedup(label).unwrap_or(0.0);
        println!("{}", Target::at_least(name, speedup, at_least));
    };
    target("all at once", n * 0.7);
    target("bounded (5)", 3.5);
    target("in threads", n * 0.5);

    let known = external.is_none().then_some(wait);
    what_to_notice(&batches, urls.len(), known);
    match external {
        Some(url) => println!(
            "  the peak of requests in flight is known only for the loopback server, not for {url}."
        ),
        None => print_peaks(&batches),
    }
    Ok(())
}

/// Download `urls` once as the batch `label`, with `during` running alongside; the server's
/// counts restart and the fetcher records on a fresh timeline.
async fn run_batch(
    label: &'static str,
    downloader: &Downloader,
    recorded: &Recorded,
    server: &TestServer,
    urls: &[String],
    during: BoxFuture<'_, ()>,
) -> Result<Batch, StrategyError> {
    server.reset_stats();
    let timeline = recorded.next_batch();
    let ((results, took), ()) = tokio::join!(measure(downloader.download(urls)), during);
    let summary = tally(&results?);
    let peak = server.peak_in_flight();
    Ok(Batch {
        label,
        took,
        summary,
        timeline,
        peak,
    })
}

/// The server's peak of requests in flight, strategies grouped by it: "1: one by one; 5: ...".
fn print_peaks(batches: &[Batch]) {
    let mut peaks: Vec<(usize, Vec<&str>)> = Vec::new();
    for b in batches {
        match peaks.iter_mut().find(|(peak, _)| *peak == b.peak) {
            Some((_, labels)) => labels.push(b.label),
            None => peaks.push((b.peak, vec![b.label])),
        }
    }
    peaks.sort_by_key(|(peak, _)| *peak);
    let peaks: Vec<String> = peaks
        .iter()
        .map(|(peak, labels)| format!("{peak}: {}", labels.join(", ")))
        .collect();
    println!("  the server's peak of requests in flight, per strategy:");
    println!("    {}.", peaks.join("; "));
}

fn find<'a>(batches: &'a [Batch], label: &str) -> Option<&'a Batch> {
    batches.iter().find(|b| b.label == label)
}

fn time(batches: &[Batch], label: &str) -> Duration {
    find(batches, label).map_or(Duration::ZERO, |b| b.took)
}

/// When each request ran under the strategies `labels`, on one scale: the full width stands
/// for the first one's time, so a faster batch's bars take up as much of it as its time did.
fn draw_timelines(batches: &[Batch], labels: &[&str]) {
    const WIDTH: usize = 50;
    let Some(scale) = labels.first().map(|l| time(batches, l)) else {
        return;
    };
    for &label in labels {
        let Some(b) = find(batches, label) else {
            continue;
        };
        println!(
            "\nwhen each request ran, {label} ({WIDTH} columns = {}):",
            human(scale)
        );
        print!("{}", b.timeline.draw_to_scale(WIDTH, scale));
    }
}

/// "about", "more than" or "less than", as `measured` compares with `expected` (within noise).
fn about(measured: f64, expected: f64) -> &'static str {
    match measured / expected {
        r if r > 1.0 + NOISE => "more than",
        r if r < 1.0 - NOISE => "less than",
        _ => "about",
    }
}

/// What to notice, from the times measured. `wait` is the server's delay when it is known (the
/// loopback server); for an external URL, one wait is taken as one round trip of the one-by-one
/// batch (its time / n).
fn what_to_notice(batches: &[Batch], n: usize, wait: Option<Duration>) {
    let sequential = time(batches, "one by one");
    let one = wait.unwrap_or(sequential / n.max(1) as u32);
    let in_waits = |d: Duration| ratio(d, one).unwrap_or(0.0);
    println!("\nwhat to notice:");
    if wait.is_none() {
        println!(
            "  one wait, for an external URL, is one round trip of one by one: {} / {n} = {}.",
            human(sequential),
            human(one)
        );
    }

    // The concurrent strategies: a tie unless one is slower than the fastest by more than noise.
    let concurrent: Vec<(&str, Duration)> =
        CONCURRENT.iter().map(|&l| (l, time(batches, l))).collect();
    let fastest = concurrent.iter().map(|c| c.1).min().unwrap_or_default();
    let slowest = concurrent.iter().map(|c| c.1).max().unwrap_or_default();
    let level = match about(in_waits(fastest), 1.0) {
        "about" => "about one wait".to_owned(),
        _ => format!("{:.1} waits, not one", in_waits(fastest)),
    };
    let spread = ratio(slowest, fastest).unwrap_or(1.0) - 1.0;
    if spread < NOISE {
        println!(
            "  the concurrent strategies tie at {level}: {:.2} to {:.2} waits, {:.0}% apart,",
            in_waits(fastest),
            in_waits(slowest),
            spread * 100.0
        );
        println!(
            "    within noise: no winner among {}.",
            CONCURRENT.join(", ")
        );
    } else {
        let (tied, slow): (Vec<&(&str, Duration)>, Vec<_>) = concurrent
            .iter()
            .partition(|c| ratio(c.1, fastest).unwrap_or(1.0) < 1.0 + NOISE);
        let tied: Vec<&str> = tied.iter().map(|c| c.0).collect();
        println!("  {} tie at {level} (within noise);", tied.join(", "));
        for (label, took) in slow {
            let times = ratio(*took, fastest).unwrap_or(1.0);
            let why = match *label {
                "in threads" => " (each request holds a blocking thread)",
                _ => "",
            };
            println!(
                "  {label} took {:.2} waits, {times:.2}x the fastest: more than noise{why}.",
                in_waits(*took)
            );
        }
    }

    let waves = n.div_ceil(5);
    let bounded = in_waits(time(batches, "bounded (5)"));
    println!(
        "  bounded (5) took {bounded:.1} waits: {} the {waves} waves of five that {n} URLs need.",
        about(bounded, waves as f64)
    );
    if wait.is_some() {
        // One URL fails at once, so the sum is one wait fewer than the URLs.
        let (sum, took) = (n - 1, in_waits(sequential));
        println!(
            "  one by one took {took:.1} waits: {} the sum of the {sum} waits, one after another.",
            about(took, sum as f64)
        );
    }

    // The swap 50 ms into the first batch: seen in that batch's timeline, not guessed from times.
    let one_at_a_time = find(batches, "one by one").is_some_and(|b| {
        let bars = b.timeline.bars_by_start();
        bars.windows(2).all(|w| w[1].start >= w[0].end)
    });
    let swap = Duration::from_millis(50);
    println!(
        "  the first batch {}",
        match (sequential > swap, one_at_a_time) {
            (false, _) => "ended before the swap at 50 ms: no swap while running this time.",
            (true, true) =>
                "kept its strategy, swapped 50 ms in: no two of its requests overlapped.",
            (true, false) => "had overlapping requests: the swap 50 ms in changed its strategy?",
        }
    );
}

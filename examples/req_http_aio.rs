//! `req_http` (blocking reqwest on threads) vs `req_http_aio` (the native async client).
//!
//! ```text
//! cargo run --release --example req_http_aio
//! cargo run --release --example req_http_aio -- https://example.com/
//! ```
//!
//! It draws when each of the first batch's requests ran under both clients, then ends with what
//! to notice in its numbers: both overlap a small batch fully, but the threaded client needs a
//! thread per request in flight, while the native client waits for all of them from the
//! runtime's two worker threads (the count also includes the loopback server's threads).

use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_patterns::basics::gather;
use async_patterns::http::native::NativeHttp;
use async_patterns::http::threaded::ThreadedHttp;
use async_patterns::http::{HttpConfig, HttpGet};
use async_patterns::testkit::TestServer;
use async_patterns::timing::{Page, Table, Target, Timeline, compare, measure, record_spans};
use tracing::Instrument;

fn main() -> Result<(), Box<dyn Error>> {
    run(
        &mut Page::new("req_http_aio"),
        std::env::args().nth(1),
        false,
    )
}

/// The number of threads in this process, where the OS tells (Linux `/proc`).
fn threads_now() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Threads:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Fetch `urls` concurrently while sampling the thread count; returns (failures, peak threads).
/// Each request runs in a span, so a recorded batch draws when each ran.
async fn batch(http: &dyn HttpGet, urls: &[String]) -> (usize, Option<usize>) {
    let peak = Arc::new(AtomicUsize::new(0));
    let sampler = {
        let peak = Arc::clone(&peak);
        tokio::spawn(async move {
            loop {
                if let Some(n) = threads_now() {
                    peak.fetch_max(n, Ordering::Relaxed);
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        })
    };
    let out = gather::all_at_once(urls.iter().enumerate().map(|(i, u)| {
        let span = tracing::debug_span!("GET", request = %format_args!("GET #{:02}", i + 1));
        http.get(u).instrument(span)
    }))
    .await;
    sampler.abort();
    let failed = out.iter().filter(|r| r.is_err()).count();
    let peak = peak.load(Ordering::Relaxed);
    (failed, (peak > 0).then_some(peak))
}

/// Run the demo against `url` (or the loopback server); `brief` is the tour's shorter version.
pub fn run(page: &mut Page, url: Option<String>, brief: bool) -> Result<(), Box<dyn Error>> {
    let server = TestServer::start()?;
    let url = url.unwrap_or_else(|| server.delay_url(100));
    let sizes: &[usize] = if brief { &[20, 200] } else { &[20, 500] };
    page.heading(format!(
        "req_http_aio: threaded (spawn_blocking) vs native async, GET {url}"
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(async {
        // Both with the default limits (10 s to connect, 30 s per request): a URL that never
        // answers ends in a timeout error, and no blocking thread is held for longer.
        let native = NativeHttp::new(HttpConfig::default())?;
        let threaded = ThreadedHttp::new(HttpConfig::default());
        native.get(&url).await?;
        threaded.get(&url).await?;
        let (_, one) = measure(native.get(&url)).await;
        let before = threads_now();
        page.line(format!(
            "threads in this process before: {}",
            before.map_or("unknown".into(), |t| t.to_string())
        ));
        // When each request of the first batch ran, per client.
        let mut timelines = Vec::new();
        let mut threads_seen = Vec::new();
        let mut tables: Vec<Table> = sizes
            .iter()
            .map(|n| Table::new(format!("{n} concurrent GETs")).ideal(one))
            .collect();
        // Every native batch first: blocking-pool threads linger for 10 s after use and would
        // be counted against the native client.
        for (name, http) in [("native", &native as &dyn HttpGet), ("threaded", &threaded)] {
            for (&n, table) in sizes.iter().zip(&mut tables) {
                let urls = vec![url.clone(); n];
                // Untimed warm-up: opens the connections a long-running client would already
                // hold, so the row measures waiting, not n TCP handshakes.
                batch(http, &urls).await;
                // The first batch of each client is recorded from its requests' spans.
                let timeline = Arc::new(Timeline::new());
                let run = batch(http, &urls);
                let (failed, threads) = if n == sizes[0] {
                    let recorded = record_spans(&timeline, module_path!(), run);
                    let measured = table.measure(name, recorded).await;
                    timelines.push((name, timeline));
                    measured
                } else {
                    table.measure(name, run).await
                };
                threads_seen.push((name, n, threads));
                let threads = threads.map_or("unknown".into(), |t| t.to_string());
                page.line(format!(
                    "{name:>8} x {n:>3}: peak threads in this process {threads:>4}, failed {failed}"
                ));
            }
        }
        let scale = tables
            .first()
            .and_then(|t| t.rows().iter().map(|r| r.elapsed).max());
        for (name, timeline) in &timelines {
            page.timeline_to_scale(
                format!("{name}, {} GETs", sizes[0]),
                timeline,
                scale.unwrap_or(one),
            );
        }
        for table in &tables {
            page.table(table);
        }
        if let (Some(table), Some(n)) = (tables.last(), sizes.last()) {
            page.target(Target::at_most(
                format!("native, {n} GETs, within 1.5x of one request"),
                table.vs_ideal("native").unwrap_or(f64::MAX),
                1.5,
            ));
        }
        notice(page, &tables, &threads_seen, sizes, before);
        Ok::<(), Box<dyn Error>>(())
    });
    // Blocking threads of requests abandoned by an early `?` run on until their timeout;
    // dropping the runtime would wait for them, so wait at most a second.
    runtime.shutdown_timeout(Duration::from_secs(1));
    outcome
}

/// What to notice, from the tables and the thread counts measured.
fn notice(
    page: &mut Page,
    tables: &[Table],
    threads: &[(&str, usize, Option<usize>)],
    sizes: &[usize],
    before: Option<usize>,
) {
    for (table, n) in tables.iter().zip(sizes) {
        let time = |name| table.row(name).map(|r| r.elapsed);
        if let (Some(native), Some(threaded)) = (time("native"), time("threaded")) {
            let waits = table.vs_ideal("native").unwrap_or(0.0);
            page.notice(format!(
                "{n} GETs: {}; native took {waits:.2} times one request.",
                compare("native", native, "threaded", threaded)
            ));
        }
    }
    let peak = |name, n| {
        threads
            .iter()
            .find(|(c, size, _)| *c == name && *size == n)
            .and_then(|t| t.2)
    };
    let largest = sizes.last().copied().unwrap_or(0);
    page.notice(match (before, peak("native", largest), peak("threaded", largest)) {
        (Some(before), Some(native), Some(threaded)) => format!(
            "at {largest} GETs the native client added {} threads to the {before} the process \
             had, the threaded one {}: about one per request in flight.",
            native.saturating_sub(before),
            threaded.saturating_sub(before)
        ),
        _ => "this OS does not report a thread count, so the threads each client needs are not shown."
            .to_owned(),
    });
}

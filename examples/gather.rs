//! Twenty requests to a 100 ms route: one after another, then concurrently four ways.
//!
//! ```text
//! cargo run --release --example gather                 # offline, against the loopback server
//! cargo run --release --example gather -- https://example.com/   # the real network instead
//! ```
//!
//! It draws when each request ran (one by one, `join_all`, bounded), then ends with what to
//! notice in the numbers it measured: one by one takes about the *sum* of the waits, every
//! concurrent way about *one* wait, and `bounded (5)` about one wait per wave of five.

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use async_patterns::basics::gather;
use async_patterns::http::native::NativeHttp;
use async_patterns::http::threaded::ThreadedHttp;
use async_patterns::http::{HttpConfig, HttpError, HttpGet};
use async_patterns::testkit::TestServer;
use async_patterns::timing::{
    Page, Table, Target, Timeline, compare, measure, ratio, record_spans,
};
use tracing::Instrument;

fn main() -> Result<(), Box<dyn Error>> {
    run(&mut Page::new("gather"), std::env::args().nth(1), false)
}

/// The batch's requests, each in a span named by its number, so a timeline shows when each ran.
fn requests<'a>(
    http: &'a NativeHttp,
    urls: &'a [String],
) -> impl Iterator<Item = impl Future<Output = Result<String, HttpError>> + 'a> {
    urls.iter().enumerate().map(|(i, url)| {
        let span = tracing::debug_span!("GET", request = %format_args!("GET #{:02}", i + 1));
        http.get(url).instrument(span)
    })
}

/// Run the demo against `url` (or the loopback server); `brief` is the tour's shorter version.
pub fn run(page: &mut Page, url: Option<String>, brief: bool) -> Result<(), Box<dyn Error>> {
    let n: usize = if brief { 10 } else { 20 };
    let server = TestServer::start()?;
    let external = url.is_some();
    let url = url.unwrap_or_else(|| server.delay_url(100));
    page.heading(format!("gather: {n} GETs of {url}"));
    page.line("one by one waits for each answer before asking again; the others overlap.");

    let runtime = tokio::runtime::Runtime::new()?;
    let outcome = runtime.block_on(async {
        // The default limits: 10 s to connect, 30 s per request, so a URL that never answers
        // (try `-- http://host/hang`) ends in a timeout error, not a hang.
        let http = Arc::new(NativeHttp::new(HttpConfig::default())?);
        // Warm the connection pool with `n` connections, so no row is charged for handshakes.
        let urls = vec![url.clone(); n];
        gather::all_at_once(requests(&http, &urls)).await;
        let (first, one) = measure(http.get(&url)).await;
        first?;

        let mut table = Table::new(format!("{n} requests (ideal = one request)")).ideal(one);
        // Each batch is recorded from its requests' spans, on a timeline that starts with it.
        let here = module_path!();
        let mut timelines = Vec::new();
        server.reset_stats();
        timelines.push(Arc::new(Timeline::new()));
        let batch = gather::one_by_one(requests(&http, &urls));
        let sequential = table.measure("one by one", record_spans(&timelines[0], here, batch)).await;
        let peak_sequential = server.peak_in_flight();
        server.reset_stats();
        timelines.push(Arc::new(Timeline::new()));
        let batch = gather::all_at_once(requests(&http, &urls));
        let joined = table.measure("join_all", record_spans(&timelines[1], here, batch)).await;
        let peak_join_all = server.peak_in_flight();
        timelines.push(Arc::new(Timeline::new()));
        let batch = gather::bounded(requests(&http, &urls), 5);
        let bounded = table.measure("bounded (5)", record_spans(&timelines[2], here, batch)).await;
        // Ceil(n / 5) waves of one request each.
        let waves = n.div_ceil(5);
        table.set_ideal("bounded (5)", one * waves as u32);
        let tasks = urls.iter().map(|u| {
            let (http, u) = (Arc::clone(&http), u.clone());
            async move { http.get(&u).await }
        });
        let spawned = table.measure("JoinSet", gather::in_tasks(tasks)).await;
        let threaded = ThreadedHttp::new(HttpConfig::default());
        threaded.get(&url).await?; // builds the blocking client before timing
        let calls = gather::all_at_once(urls.iter().map(|u| threaded.get(u)));
        let on_threads = table.measure("threaded (spawn_blocking)", calls).await;
        let failures = [sequential, joined, bounded, on_threads]
            .iter()
            .flatten()
            .filter(|r| r.is_err())
            .count()
            + spawned.iter().filter(|r| !matches!(r, Ok(Ok(_)))).count();

        // One scale for the three, so the eye compares their lengths too.
        let scale = table.row("one by one").map_or(one, |r| r.elapsed);
        for (label, timeline) in ["one by one", "join_all", "bounded (5)"].iter().zip(&timelines) {
            page.timeline_to_scale(*label, timeline, scale);
        }
        if failures > 0 {
            page.line(format!("{failures} requests failed"));
        }
        page.table(&table);
        let speedup = table.speedup("join_all").unwrap_or(0.0);
        let want = n as f64 * 0.9;
        page.target(Target::at_least(format!("join_all >= {want:.0}x one by one ({n} requests)"), speedup, want));
        let vs_one = table.vs_ideal("join_all").unwrap_or(f64::MAX);
        page.target(Target::at_most("join_all within 1.10x of one request", vs_one, 1.10));
        let threads = table.speedup("threaded (spawn_blocking)").unwrap_or(0.0);
        let want = n as f64 * 0.75;
        page.target(Target::at_least(format!("threaded >= {want:.0}x one by one ({n} requests)"), threads, want));

        // What to notice, from the numbers above.
        let time = |label: &str| table.row(label).map_or(one, |r| r.elapsed);
        let in_waits = |label: &str| ratio(time(label), one).unwrap_or(0.0);
        page.notice(format!(
            "one by one took {:.1} waits of one request for {n} requests: the sum of the waits.",
            in_waits("one by one")
        ));
        page.notice(format!(
            "join_all took {:.2} waits: the {n} requests waited together. {}.",
            in_waits("join_all"),
            compare("join_all", time("join_all"), "JoinSet", time("JoinSet"))
        ));
        page.notice(format!(
            "bounded (5) took {:.1} waits for {waves} waves of five: a limit costs a wait per wave.",
            in_waits("bounded (5)")
        ));
        page.notice(format!(
            "threaded: {} (each blocking request holds a thread).",
            compare("join_all", time("join_all"), "threaded", time("threaded (spawn_blocking)"))
        ));
        page.notice(if external {
            format!("requests in flight at once are counted only by the loopback server, not for {url}.")
        } else {
            format!(
                "the server saw at most {peak_sequential} request in flight one by one, and {peak_join_all} with join_all."
            )
        });
        Ok::<(), Box<dyn Error>>(())
    });
    // A request abandoned by an early `?` may still hold a blocking thread (until its timeout);
    // dropping the runtime would wait for it, so wait at most a second.
    runtime.shutdown_timeout(Duration::from_secs(1));
    outcome
}

//! One `Downloader`, one batch of URLs, six strategies swapped in at run time.
//!
//! ```text
//! cargo run --release --example strategy
//! ```
//!
//! First the pattern used plainly: a `Downloader` whose strategy is swapped between batches,
//! and a one-off strategy from a closure. Then one batch of the loopback server's pages under
//! six strategies, the first swapped *while it runs* (it keeps the strategy it started with),
//! drawn from the strategy's own spans, and what to notice in the numbers measured.

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use async_patterns::http::native::NativeHttp;
use async_patterns::http::{HttpConfig, HttpError, HttpGet, TimeLimit};
use async_patterns::strategy::{
    AllAtOnce, Bounded, Downloader, FetchStrategy, Fetched, FnStrategy, InTasks, InThreads,
    OneByOne,
};
use async_patterns::testkit::TestServer;
use async_patterns::timing::{
    Bar, NOISE, Page, Table, Target, Timeline, human, measure, ratio, record_spans,
};

type Res<T> = Result<T, Box<dyn Error>>;

fn main() -> Res<()> {
    run(&mut Page::new("strategy"), false)
}

/// The demo against the loopback server; `brief` (the tour's version) fetches 10 pages, not 20.
pub fn run(page: &mut Page, brief: bool) -> Result<(), Box<dyn Error>> {
    let server = TestServer::start()?;
    let pages = if brief { 10 } else { 20 };
    let mut urls: Vec<String> = (0..pages).map(|i| server.page_url(i, 100)).collect();
    urls.insert(7, server.status_url(500)); // one URL that fails, at once
    page.heading(format!("strategy: {} GETs, e.g. {}", urls.len(), urls[0]));
    let runtime = tokio::runtime::Runtime::new()?;
    let outcome = runtime.block_on(async {
        let config = HttpConfig::default().timeout(Duration::from_secs(10));
        let http: Arc<dyn HttpGet> = Arc::new(NativeHttp::new(config)?);
        // Warm the connection pool, so the first strategy is not charged for the handshakes.
        futures::future::join_all(urls.iter().take(8).map(|u| http.get(u))).await;
        plainly(page, Arc::clone(&http), &urls[..3]).await?;
        let batches = measured(http, &server, &urls).await?;
        report(page, &batches, urls.len());
        Ok::<(), Box<dyn Error>>(())
    });
    // A request abandoned by an early `?` may still hold a blocking thread: wait at most 1 s.
    runtime.shutdown_timeout(Duration::from_secs(1));
    outcome
}

// 1. The pattern, plainly ------------------------------------------------------------------

/// A one-off strategy from an async closure: every URL at once, each given at most 1 s.
fn patient() -> impl FetchStrategy {
    let name = "closure: 1 s each";
    FnStrategy::new(name, async |http: Arc<dyn HttpGet>, urls: Vec<String>| {
        let limit = Duration::from_secs(1);
        let calls = urls.iter().map(|url| async {
            let late = HttpError::Timeout {
                url: url.clone(),
                limit: TimeLimit::Total(limit),
            };
            let answer = tokio::time::timeout(limit, http.get(url)).await;
            answer.unwrap_or(Err(late))
        });
        futures::future::join_all(calls).await
    })
}

async fn plainly(page: &mut Page, http: Arc<dyn HttpGet>, urls: &[String]) -> Res<()> {
    // The context holds a strategy and hands it each batch; its own code never changes.
    let downloader = Downloader::new(http, Arc::new(OneByOne));
    let pages = downloader.download(urls).await?;
    page.line(format!("one by one: {}", tally(&pages)));
    // Swapped at run time, through `&self`: the next batch uses the new strategy.
    downloader.set_strategy(Arc::new(Bounded::new(2)));
    let pages = downloader.download(urls).await?;
    page.line(format!("bounded (2): {}", tally(&pages)));
    downloader.set_strategy(Arc::new(patient()));
    let pages = downloader.download(urls).await?;
    page.line(format!("closure, 1 s each: {}", tally(&pages)));
    Ok(())
}

/// "20 ok, 1 failed (http://... answered HTTP 500)": one result per URL, in input order.
fn tally(results: &Fetched) -> String {
    let failed: Vec<&HttpError> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let ok = results.len() - failed.len();
    match failed.first() {
        None => format!("{ok} ok"),
        Some(first) => format!("{ok} ok, {} failed ({first})", failed.len()),
    }
}

// 2. Measured ------------------------------------------------------------------------------

/// One batch as it went: its strategy, time, results, spans, and the server's peak in flight.
struct Batch {
    label: String,
    took: Duration,
    summary: String,
    timeline: Arc<Timeline>,
    peak: usize,
}

/// The batch under six strategies, one `Downloader`: the first batch is swapped to all at once
/// 50 ms in, and keeps its strategy; each later one gets the strategy set before it.
async fn measured(http: Arc<dyn HttpGet>, srv: &TestServer, urls: &[String]) -> Res<Vec<Batch>> {
    let downloader = Downloader::new(http, Arc::new(OneByOne));
    let swap = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        downloader.set_strategy(Arc::new(AllAtOnce));
    };
    let mut batches = vec![batch(&downloader, srv, urls, swap).await?];
    let bounded: Arc<dyn FetchStrategy> = Arc::new(Bounded::new(5));
    let next = [
        bounded,
        Arc::new(InTasks),
        Arc::new(InThreads::new()),
        Arc::new(patient()),
    ];
    for strategy in next {
        batches.push(batch(&downloader, srv, urls, async {}).await?);
        downloader.set_strategy(strategy);
    }
    batches.push(batch(&downloader, srv, urls, async {}).await?);
    Ok(batches)
}

/// Download `urls` once, `during` running alongside, with the strategy's spans recorded.
async fn batch(
    downloader: &Downloader,
    server: &TestServer,
    urls: &[String],
    during: impl Future<Output = ()>,
) -> Res<Batch> {
    server.reset_stats();
    let (label, timeline) = (downloader.strategy().name().to_owned(), Arc::default());
    let both = async { tokio::join!(measure(downloader.download(urls)), during).0 };
    let (results, took) = record_spans(&timeline, "async_patterns::strategy", both).await;
    let (summary, peak) = (tally(&results?), server.peak_in_flight());
    Ok(Batch {
        label,
        took,
        summary,
        timeline,
        peak,
    })
}

/// The same bars with each URL cut to its path ("/page/3"), so the labels stay short.
fn by_path(timeline: &Timeline) -> Timeline {
    let short = Timeline::new();
    for bar in timeline.bars_by_start() {
        // A URL's path, without the query; a batch's label (its strategy) as it is.
        let label = match bar.label.splitn(4, '/').nth(3) {
            Some(path) => format!("/{}", path.split('?').next().unwrap_or(path)),
            None => bar.label.clone(),
        };
        short.add(Bar { label, ..bar });
    }
    timeline.markers().into_iter().for_each(|m| short.mark(m));
    short
}

fn report(page: &mut Page, batches: &[Batch], n: usize) {
    let find = |label: &str| batches.iter().find(|b| b.label == label);
    let time = |label: &str| find(label).map_or(Duration::ZERO, |b| b.took);
    let same = batches.iter().all(|b| b.summary == batches[0].summary);
    for b in if same { &batches[..1] } else { batches } {
        let who = if same { "every strategy" } else { &b.label };
        page.line(format!("{who}: {}", b.summary));
    }
    for (label, title) in [("one by one", "one by one"), ("bounded", "bounded (5)")] {
        let drawn = find(label).map(|b| by_path(&b.timeline));
        page.timeline_to_scale(title, &drawn.unwrap_or_default(), time("one by one"));
    }

    // Each page answers after one wait of 100 ms, the failing URL at once: the ideal is one
    // wait, one per page one by one, and one per wave of five pages for `bounded` (5).
    let (wait, pages) = (Duration::from_millis(100), n - 1);
    let waves = pages.div_ceil(5);
    let title = format!("{n} URLs, one Downloader (bounded: five at a time)");
    let mut table = Table::new(title).ideal(wait);
    for b in batches {
        table.add(&b.label, b.took);
    }
    table.set_ideal("one by one", wait * pages as u32);
    table.set_ideal("bounded", wait * waves as u32);
    page.table(&table);
    for (label, waits, share) in [("all at once", 1, 0.7), ("bounded", waves, 0.8)] {
        let per = pages / waits; // pages fetched per wait, at best
        let want = share * per as f64;
        let name = format!("{label} >= {want:.1}x one by one ({share} x its {per} pages a wait)");
        let speedup = table.speedup(label).unwrap_or(0.0);
        page.target(Target::at_least(name, speedup, want));
    }

    // What to notice, in waits: the concurrent strategies tie unless one is slower than noise.
    let in_waits = |label: &str| ratio(time(label), wait).unwrap_or(0.0);
    let concurrent = ["all at once", "in tasks", "in threads", "closure: 1 s each"];
    let fastest = concurrent.iter().map(|l| time(l)).min().unwrap_or_default();
    let near = |l: &&str| ratio(time(l), fastest).unwrap_or(1.0) < 1.0 + NOISE;
    let (tied, slow): (Vec<&str>, Vec<&str>) = concurrent.into_iter().partition(near);
    let (tied, level) = (tied.join(", "), ratio(fastest, wait).unwrap_or(0.0));
    let text = format!("{tied} tie within noise, at {level:.2} waits: their waits overlapped.");
    page.notice(text);
    for label in slow {
        let text = format!(
            "{label} took {:.2} waits: slower by more than noise.",
            in_waits(label)
        );
        page.notice(text);
    }
    let about = |label: &str, expected: usize| match in_waits(label) / expected as f64 {
        r if r > 1.0 + NOISE => "more than",
        r if r < 1.0 - NOISE => "less than",
        _ => "about",
    };
    let (bounded, of) = (in_waits("bounded"), about("bounded", waves));
    let note = ": the failing URL's slot went to a page at once";
    let freed = if of == "about" { note } else { "" };
    let text = format!("bounded (5) took {bounded:.1} waits: {of} {waves} waves of five{freed}.");
    page.notice(text);
    let (sequential, of) = (in_waits("one by one"), about("one by one", pages));
    let text = format!("one by one took {sequential:.1} waits: {of} its {pages} waits, summed.");
    page.notice(text);

    // The swap 50 ms into the first batch, seen in its spans: did two of its requests overlap?
    let first = find("one by one").map(|b| b.timeline.bars_by_start());
    let first = first.unwrap_or_default();
    let apart = first.windows(2).skip(1).all(|w| w[1].start >= w[0].end);
    let swap = find("one by one").and_then(|b| b.timeline.markers().first().map(|m| m.at));
    page.notice(match (swap.map(human), apart) {
        (None, _) => "the first batch ended before the swap at 50 ms.".to_owned(),
        (Some(at), true) => format!(
            "swapped at {at}, the first batch kept its strategy: none of its requests overlapped."
        ),
        (Some(at), false) => format!("swapped at {at}, the first batch's requests overlapped."),
    });
    let peaks = batches.iter().map(|b| format!("{} {}", b.label, b.peak));
    let peaks = peaks.collect::<Vec<_>>().join(", ");
    page.notice(format!("the server's peak of requests in flight: {peaks}."));
}

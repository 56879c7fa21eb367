//! Fetch, parse, summarise: URLs stream through three stages, each with its own concurrency.
//!
//! Run: `cargo run --release --example pipeline_stream [URL]`
//!
//! Without a URL it starts the testkit's loopback server and fetches 100 pages that each take
//! 20 ms to answer, plus three URLs that fail (two HTTP 500s and a dropped connection). With a
//! URL it fetches that URL 10 times instead.
//!
//! It runs the pipeline twice, every stage at concurrency 1 and then the fetch stage at 20,
//! draws when the first fetches of the second run happened, and ends with what to notice in
//! what it measured: the throughput against the ideal set by the slowest stage, the speedup
//! over concurrency 1, and the server's peak of requests in flight against the fetch limit.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_patterns::http::native::NativeHttp;
use async_patterns::http::{BoxError, HttpConfig, HttpGet};
use async_patterns::pipeline::stream::{ErrorPolicy, Pipeline, Stage, StageOptions};
use async_patterns::testkit::TestServer;
use async_patterns::timing::{Bar, Table, Target, Timeline, draw, human, measure};

/// The fetch stage, trait-based: it owns the HTTP client every item shares, and records each
/// request on a timeline when it has one.
struct Fetch<H> {
    client: H,
    timeline: Option<Arc<Timeline>>,
}

#[async_trait::async_trait]
impl<H: HttpGet> Stage<String, String> for Fetch<H> {
    async fn process(&self, url: String) -> Result<String, BoxError> {
        let get = self.client.get(&url);
        let body = match &self.timeline {
            Some(timeline) => timeline.record(path_of(&url), get).await,
            None => get.await,
        };
        Ok(body?)
    }
}

/// `/page/3?delay=20` of `http://127.0.0.1:4000/page/3?delay=20`: a short label for a bar.
fn path_of(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme.find('/').map_or("/", |i| &after_scheme[i..])
}

/// A parsed page: its title line and its words.
struct Page {
    title: String,
    words: Vec<String>,
}

/// What the last stage keeps of a page.
struct Summary {
    title: String,
    words: usize,
    top_word: String,
}

fn parse(body: &str) -> Result<Page, String> {
    let mut lines = body.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().ok_or("the page is empty")?;
    let title = first.trim_start_matches("title:").trim().to_owned();
    let words = lines
        .flat_map(str::split_whitespace)
        .filter(|w| *w != "words:")
        .map(str::to_owned)
        .collect();
    Ok(Page { title, words })
}

fn summarise(page: Page) -> Summary {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for w in &page.words {
        *counts.entry(w).or_default() += 1;
    }
    let top_word = counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .map(|(w, _)| w.to_owned())
        .unwrap_or_default();
    Summary {
        title: page.title,
        words: page.words.len(),
        top_word,
    }
}

/// Build the three-stage pipeline over `urls` with the fetch stage at `fetch_limit`, run it,
/// and return the summaries and the error report.
async fn run(
    client: &NativeHttp,
    urls: Vec<String>,
    fetch_limit: usize,
    other_limit: usize,
    timeline: Option<Arc<Timeline>>,
) -> (Vec<Summary>, Vec<String>) {
    let fetch = Fetch {
        client: client.clone(),
        timeline,
    };
    let (summaries, errors) = Pipeline::from_iter(urls)
        // Unordered: an ordered stage keeps a finished page in its slot until every earlier
        // page is done, so fewer requests would be in flight when one page is slow.
        .stage("fetch", StageOptions::unordered(fetch_limit), fetch)
        .stage_fn(
            "parse",
            StageOptions::ordered(other_limit),
            |body| async move { parse(&body) },
        )
        .stage_fn(
            "summarise",
            StageOptions::ordered(other_limit),
            |page| async move { Ok::<_, String>(summarise(page)) },
        )
        .on_error(ErrorPolicy::SkipAndReport)
        .into_stream()
        .partition()
        .await;
    (summaries, errors.iter().map(ToString::to_string).collect())
}

/// Print one line of "what to notice" as a bullet, wrapped to 96 columns.
macro_rules! notice {
    ($($arg:tt)*) => {
        print_wrapped(&format!($($arg)*))
    };
}

fn print_wrapped(text: &str) {
    let mut line = String::from("*");
    for word in text.split_whitespace() {
        if line.len() + 1 + word.len() > 96 {
            println!("{line}");
            line = String::from(" ");
        }
        line.push(' ');
        line.push_str(word);
    }
    println!("{line}");
}

/// A ratio as a whole percentage, rounded down: 0.8996 is 89%, not a 90% that met a target.
fn percent(ratio: f64) -> String {
    format!("{:.0}%", (100.0 * ratio).floor())
}

/// The most bars that overlap at any instant: how many requests the client had in flight.
fn peak_overlap(bars: &[Bar]) -> usize {
    // +1 at each start, -1 at each end; at the same instant an end comes before a start.
    let mut events: Vec<(Duration, i64)> = bars
        .iter()
        .flat_map(|b| [(b.start, 1), (b.end, -1)])
        .collect();
    events.sort();
    let mut now = 0i64;
    let mut peak = 0i64;
    for (_, step) in events {
        now += step;
        peak = peak.max(now);
    }
    usize::try_from(peak).unwrap_or(0)
}

#[tokio::main]
pub async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = NativeHttp::new(HttpConfig::default().timeout(Duration::from_secs(10)))?;
    let latency = Duration::from_millis(20);
    let fetch_limit = 20;
    let other_limit = 4;
    let server;
    let (urls, pages) = match std::env::args().nth(1) {
        Some(url) => {
            println!("fetching {url} 10 times");
            server = None;
            (vec![url; 10], None)
        }
        None => {
            let s = TestServer::start()?;
            println!(
                "fetching {} for n in 0..100, plus 3 URLs that fail",
                s.url("/page/{n}?delay=20")
            );
            let mut urls: Vec<String> = (0..100).map(|n| s.page_url(n, 20)).collect();
            urls.insert(10, s.status_url(500));
            urls.insert(50, s.status_url(500));
            urls.insert(90, s.drop_url());
            server = Some(s);
            (urls, Some(100u32))
        }
    };
    let items = urls.len();

    // Warm the connection pool so both rows pay the same connection set-up.
    let warm_up = urls.iter().take(fetch_limit).cloned().collect();
    let _ = run(&client, warm_up, fetch_limit, other_limit, None).await;
    if let Some(s) = &server {
        s.reset_stats();
    }

    let mut table = Table::new(format!("{items} URLs through fetch -> parse -> summarise"));
    let ((_, _), one) = measure(run(&client, urls.clone(), 1, 1, None)).await;
    table.add("every stage at concurrency 1", one);
    let piped_label =
        format!("fetch x{fetch_limit}, parse x{other_limit}, summarise x{other_limit}");
    let timeline = Arc::new(Timeline::new());
    let pipelined = run(
        &client,
        urls,
        fetch_limit,
        other_limit,
        Some(Arc::clone(&timeline)),
    );
    let ((summaries, errors), piped) = measure(pipelined).await;
    // The slowest stage (fetch) sets the pace: latency / limit per item.
    let ideal = pages.map(|n| latency * n / fetch_limit as u32);
    match ideal {
        Some(ideal) => table.add_with_ideal(piped_label.clone(), piped, ideal),
        None => table.add(piped_label.clone(), piped),
    };

    if !errors.is_empty() {
        println!("\nfailed items, reported and skipped:");
        for e in &errors {
            println!("  {e}");
        }
    }
    let words: usize = summaries.iter().map(|s| s.words).sum();
    let mut tops: HashMap<&str, usize> = HashMap::new();
    for s in &summaries {
        *tops.entry(s.top_word.as_str()).or_default() += 1;
    }
    let top = tops.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)));
    println!(
        "\n{} pages summarised, {words} words; one of them: {:?}; most common top word: {:?}",
        summaries.len(),
        summaries.first().map(|s| s.title.as_str()).unwrap_or(""),
        top.map(|(w, n)| format!("{w} ({n} pages)"))
            .unwrap_or_default()
    );

    // The first fetches of the pipelined run, in the order they started: `fetch_limit` of them
    // start at once, and each later one starts when a slot frees.
    let bars = timeline.bars_by_start();
    let client_peak = peak_overlap(&bars);
    let took = |b: &Bar| b.end.saturating_sub(b.start);
    let slowest = bars.iter().map(took).max().unwrap_or_default();
    let fastest = bars.iter().map(took).min().unwrap_or_default();
    let shown = bars.len().min(fetch_limit + 6);
    println!(
        "\nthe first {shown} of {} fetches of the pipelined run, one bar per request:",
        bars.len()
    );
    print!("{}", draw(&bars[..shown], 50));

    println!("\n{table}");
    let per_second = summaries.len() as f64 / piped.as_secs_f64().max(1e-9);
    println!("throughput: {per_second:.0} pages/s in {}", human(piped));
    let ideal_rate = fetch_limit as f64 / latency.as_secs_f64();
    // A page never takes exactly 20 ms: the server's timer rounds its sleep up to the next
    // millisecond tick, and HTTP adds its round trip. The concurrency-1 row measured the real
    // time per page (fetch dominates it; the failing URLs answer at once), which sets a second,
    // measured ideal.
    let real_each = one / pages.unwrap_or(items as u32).max(1);
    let real_rate = fetch_limit as f64 / real_each.as_secs_f64().max(f64::MIN_POSITIVE);
    if let Some(ideal) = ideal {
        println!(
            "ideal set by the slowest stage (fetch): {ideal_rate:.0} pages/s, {}",
            human(ideal)
        );
        println!(
            "{}",
            Target::at_least(
                "throughput >= 0.9 of the ideal",
                per_second / ideal_rate,
                0.9
            )
        );
        println!(
            "a page really took {} at concurrency 1: ideal {real_rate:.0} pages/s at {fetch_limit}",
            human(real_each)
        );
        println!(
            "{}",
            Target::at_least(
                "throughput >= 0.9 of the ideal with the measured time per page",
                per_second / real_rate,
                0.9
            )
        );
    }
    let speedup = table.speedup(&piped_label).unwrap_or(0.0);
    if ideal.is_some() {
        println!(
            "{}",
            Target::at_least(
                "pipelined >= 10x every stage at concurrency 1",
                speedup,
                10.0
            )
        );
    }

    println!("\nwhat to notice:");
    let failed = errors.len();
    if failed > 0 {
        notice!(
            "{failed} of {items} items failed, each reported with its stage and input index; \
             the other {} went on to the end (ErrorPolicy::SkipAndReport).",
            summaries.len()
        );
    }
    if ideal.is_some() {
        let of_ideal = per_second / ideal_rate;
        let of_real = per_second / real_rate;
        if of_ideal >= 0.9 {
            notice!(
                "{per_second:.0} pages/s is {} of the ideal set by the slowest stage \
                 (fetch: {fetch_limit} pages at once, {} each): the pipeline runs as fast \
                 as its slowest stage.",
                percent(of_ideal),
                human(latency)
            );
        } else if of_real >= 0.9 {
            notice!(
                "{per_second:.0} pages/s is {} of the nominal ideal but {} of the ideal from \
                 the measured time per page: the pipeline lost little; the gap is that a page \
                 really took {}, not {}.",
                percent(of_ideal),
                percent(of_real),
                human(real_each),
                human(latency)
            );
        } else {
            notice!(
                "{per_second:.0} pages/s is {} of the ideal, {} even of the ideal \
                 from the measured {} per item: something besides the fetch limit held it back \
                 (a busy machine is the usual cause; run it again).",
                percent(of_ideal),
                percent(of_real),
                human(real_each)
            );
        }
    } else {
        notice!(
            "no ideal for an external URL: its time per page is unknown, so the speedup over \
             concurrency 1 is the measure."
        );
    }
    // With fetching dominating, pipelining can give at most the fetch limit (or one wave, if
    // there are fewer items than slots).
    let most = fetch_limit.min(items) as f64;
    let waves = items.div_ceil(fetch_limit) as u32;
    let per_wave = piped / waves.max(1);
    if speedup >= 0.9 * most {
        notice!(
            "pipelining is {speedup:.1}x faster than every stage at concurrency 1: about the \
             {most:.0}x that {fetch_limit} fetches at once allow when fetching dominates."
        );
    } else if speedup >= 2.0 {
        notice!(
            "pipelining is {speedup:.1}x faster than every stage at concurrency 1, {} of \
             the {most:.0}x the fetch limit allows: a wave of up to {fetch_limit} fetches took \
             {} against {} for one page alone, so running them at once was not quite free.",
            percent(speedup / most),
            human(per_wave),
            human(real_each)
        );
    } else if speedup >= 0.9 {
        notice!(
            "pipelining barely helped ({speedup:.2}x): fetching did not dominate, or the server \
             answered one request at a time."
        );
    } else {
        notice!(
            "the pipelined run was slower than one item at a time ({speedup:.2}x): this server \
             handles concurrent requests badly (its slowest request took {} against {} for its \
             fastest), or the machine was busy.",
            human(slowest),
            human(fastest)
        );
    }
    match &server {
        Some(s) => {
            let peak = s.peak_in_flight();
            let verdict = if peak == fetch_limit {
                "exactly the fetch limit: the limit held, and the stage kept every slot busy"
            } else if peak < fetch_limit {
                "under the fetch limit: the stage never filled its slots"
            } else {
                "more than the fetch limit: the limit did not hold (a bug)"
            };
            notice!(
                "the server saw at most {peak} requests at once, {verdict} (the timeline \
                 agrees: at most {client_peak} fetches overlapped)."
            );
        }
        None => notice!(
            "the server's peak of requests in flight is known only for the loopback server; \
             on this side, at most {client_peak} fetches overlapped (from the timeline), \
             against a fetch limit of {fetch_limit}."
        ),
    }
    Ok(())
}

//! One `Downloader`, one batch of URLs, six strategies swapped in at run time.
//!
//! ```text
//! cargo run --release --example strategy                          # offline, loopback server
//! cargo run --release --example strategy -- https://example.com/  # 10 GETs of a real URL
//! ```
//!
//! Notice: the downloader's code never changes, only the strategy it holds; the first batch is
//! swapped *while it runs* and still finishes with the strategy it started with; the failing URL
//! costs only its own slot. The last line names the fastest strategy and its speedup.

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use async_patterns::http::native::NativeHttp;
use async_patterns::http::{HttpError, HttpGet};
use async_patterns::strategy::{
    AllAtOnce, Bounded, Downloader, FetchStrategy, Fetched, FnStrategy, InTasks, InThreads,
    OneByOne,
};
use async_patterns::testkit::TestServer;
use async_patterns::timing::{Table, Target, human, measure};

/// "20 ok, 1 failed (http://... answered HTTP 500)".
fn summary(results: &Fetched) -> String {
    let failed: Vec<&HttpError> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let ok = results.len() - failed.len();
    match failed.first() {
        None => format!("{ok} ok"),
        Some(first) => format!("{ok} ok, {} failed ({first})", failed.len()),
    }
}

#[tokio::main]
pub async fn main() -> Result<(), Box<dyn Error>> {
    let server = TestServer::start()?;
    let wait = Duration::from_millis(100);
    let (urls, ideal) = match std::env::args().nth(1) {
        Some(url) => (vec![url; 10], None),
        None => {
            let mut urls: Vec<String> = (0..20).map(|i| server.page_url(i, 100)).collect();
            urls.insert(7, server.status_url(500));
            (urls, Some(wait))
        }
    };
    println!(
        "== strategy: {} GETs, e.g. {} (loopback server at {})",
        urls.len(),
        urls[0],
        server.base_url()
    );

    let http: Arc<dyn HttpGet> = Arc::new(NativeHttp::new(Some(Duration::from_secs(10)))?);
    // Warm the connection pool so the first strategy is not charged for the handshakes.
    futures::future::join_all(urls.iter().take(8).map(|u| http.get(u))).await;

    let downloader = Downloader::new(Arc::clone(&http), Arc::new(OneByOne));
    let title = match ideal {
        Some(_) => format!(
            "{} URLs of 100 ms, one Downloader, strategy swapped per batch",
            urls.len()
        ),
        None => format!(
            "{} URLs, one Downloader, strategy swapped per batch",
            urls.len()
        ),
    };
    let mut table = Table::new(title);
    // Ideals: one by one waits for each page in turn; bounded by 5 needs ceil(n / 5) rounds
    // (`buffered` keeps order, so the quick failing URL holds a slot for its round); the others
    // need one wait.
    let pages = urls.len() - 1;
    let mut add = |label: &str, took: Duration| match ideal {
        Some(wait) if label == "one by one" => {
            table.add_with_ideal(label, took, wait * pages as u32);
        }
        Some(wait) if label.starts_with("bounded") => {
            table.add_with_ideal(label, took, wait * urls.len().div_ceil(5) as u32);
        }
        Some(wait) => {
            table.add_with_ideal(label, took, wait);
        }
        None => {
            table.add(label, took);
        }
    };

    // Swap while a batch is in flight: it keeps its strategy; the next batch gets the new one.
    let ((first, took), ()) = tokio::join!(measure(downloader.download(&urls)), async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        downloader.set_strategy(Arc::new(AllAtOnce));
    });
    add("one by one", took);
    println!(
        "  {:<22} {}   <- swapped to 'all at once' 50 ms in; this batch kept its strategy",
        "one by one",
        summary(&first?)
    );

    let patient = FnStrategy::new(
        "closure: all at once, 1 s each",
        async |http: Arc<dyn HttpGet>, urls: Vec<String>| {
            let calls = urls.iter().map(|url| async {
                tokio::time::timeout(Duration::from_secs(1), http.get(url))
                    .await
                    .unwrap_or_else(|_| Err(HttpError::Timeout { url: url.clone() }))
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
        let (results, took) = measure(downloader.download(&urls)).await;
        add(label, took);
        println!("  {label:<22} {}", summary(&results?));
    }

    println!();
    println!("{table}");
    let n = urls.len() as f64;
    let speedup = |label: &str| table.speedup(label).unwrap_or(0.0);
    println!(
        "{}",
        Target::at_least(
            format!("all at once >= {:.0}x one by one", n * 0.7),
            speedup("all at once"),
            n * 0.7
        )
    );
    println!(
        "{}",
        Target::at_least(
            "bounded (5) >= 3.5x one by one",
            speedup("bounded (5)"),
            3.5
        )
    );
    println!(
        "{}",
        Target::at_least(
            format!("in threads >= {:.0}x one by one", n * 0.5),
            speedup("in threads"),
            n * 0.5
        )
    );
    if let Some(fastest) = table.fastest() {
        println!(
            "fastest: {} ({}), {:.1}x faster than one by one",
            fastest.label,
            human(fastest.elapsed),
            speedup(&fastest.label)
        );
    }
    Ok(())
}

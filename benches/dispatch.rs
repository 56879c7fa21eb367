//! What an `async_trait` `dyn` call costs next to a native `async fn` and a plain sync call.
//!
//! `cargo bench --bench dispatch`. The same trivial strategy (it fetches nothing and returns an
//! empty result list, so only the call is measured) is called millions of times:
//!
//! * **sync call**: a plain method, the baseline;
//! * **native async fn, generic**: `NativeFetch::fetch_all` on a concrete type, as
//!   `StaticDownloader<S>` calls it: the future is a concrete type, no box, no vtable;
//! * **async_trait, dyn**: `FetchStrategy::fetch_all` through `&dyn FetchStrategy`, as
//!   `Downloader` calls it: a vtable call that returns a `Pin<Box<dyn Future>>`.
//!
//! Two more rows take the dyn call apart: a sync call through a vtable (the indirect call
//! alone) and boxing a ready future (the allocation alone). And the two contexts are measured
//! whole (the `Downloader` adds a read lock and an `Arc` clone per batch).
//!
//! The last rows carry the spans the patterns open (a batch, each fetch, each construction),
//! with no subscriber installed, as a user's program without tracing runs them: a `Downloader`
//! fetching 10 URLs from a fetcher that answers at once, and a `Registry::create` whose
//! constructor is ready at once. Compare them between two builds to see what the spans cost.
//!
//! Every future here is ready at its first poll, so the loop runs inside one `block_on` and no
//! waker is involved: what is left is the price of the call itself.

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_patterns::async_trait;
use async_patterns::factory::Registry;
use async_patterns::http::{HttpError, HttpGet};
use async_patterns::strategy::{
    Downloader, FetchStrategy, Fetched, NativeFetch, OneByOne, StaticDownloader,
};
use async_patterns::testkit::MockHttpGet;
use async_patterns::timing::{Target, measure_sync};

const CALLS: u32 = 5_000_000;
/// For the rows that do ten times the work per call (a batch of 10 URLs).
const BATCHES: u32 = CALLS / 10;
const ROUNDS: usize = 5;

/// A strategy with no work in it: only the dispatch is left to measure.
struct Nothing;

/// The body of both async impls below, as the crate's strategies share theirs: no work.
async fn nothing(urls: &[String]) -> Fetched {
    black_box(urls.len());
    Vec::new()
}

impl Nothing {
    // The same body, sync; all three may be inlined, as real code would be.
    fn fetch_all_sync(&self, _http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
        black_box(urls.len());
        Vec::new()
    }
}

#[async_trait]
impl FetchStrategy for Nothing {
    fn name(&self) -> &str {
        "nothing"
    }

    async fn fetch_all(&self, _http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
        nothing(urls).await
    }
}

// Both traits are in scope in this file: a call on `Nothing` itself names the trait it measures.
impl NativeFetch for Nothing {
    fn name(&self) -> &str {
        "nothing"
    }

    async fn fetch_all(&self, _http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
        nothing(urls).await
    }
}

/// The sync method behind a vtable: the indirect call without any future.
trait SyncFetch {
    fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched;
}

impl SyncFetch for Nothing {
    fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
        self.fetch_all_sync(http, urls)
    }
}

/// A fetcher that answers at once: a batch of it costs the strategy's own work only.
struct Ready;

#[async_trait]
impl HttpGet for Ready {
    async fn get(&self, _url: &str) -> Result<String, HttpError> {
        Ok(String::new())
    }
}

/// The fastest of `ROUNDS` runs of `CALLS` calls, in nanoseconds per call.
fn ns_per_call(run: impl FnMut() -> Duration) -> f64 {
    ns_per(CALLS, run)
}

/// The fastest of `ROUNDS` runs of `calls` calls, in nanoseconds per call.
fn ns_per(calls: u32, mut run: impl FnMut() -> Duration) -> f64 {
    (0..ROUNDS)
        .map(|_| run().as_secs_f64() * 1e9 / f64::from(calls))
        .fold(f64::INFINITY, f64::min)
}

/// Time `CALLS` awaits of `call()` inside a single `block_on`.
fn timed_async<F, Fut>(call: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future,
{
    timed_calls(CALLS, call)
}

/// Time `calls` awaits of `call()` inside a single `block_on`.
fn timed_calls<F, Fut>(calls: u32, mut call: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future,
{
    let ((), took) = measure_sync(|| {
        futures::executor::block_on(async {
            for _ in 0..calls {
                black_box(call().await);
            }
        })
    });
    took
}

fn main() {
    let http: Arc<dyn HttpGet> = Arc::new(MockHttpGet::new()); // never called
    let urls: Vec<String> = Vec::new();
    let (http, urls) = (&http, urls.as_slice());
    let nothing = Nothing;
    let as_dyn: &dyn FetchStrategy = black_box(&nothing);
    let as_sync_dyn: &dyn SyncFetch = black_box(&nothing);
    let downloader = Downloader::new(Arc::clone(http), Arc::new(Nothing));
    let fixed = StaticDownloader::new(Arc::clone(http), Nothing);

    println!("dispatch bench: {CALLS} calls per row, best of {ROUNDS} rounds");
    let sync = ns_per_call(|| {
        measure_sync(|| {
            for _ in 0..CALLS {
                black_box(black_box(&nothing).fetch_all_sync(black_box(http), black_box(urls)));
            }
        })
        .1
    });
    let native = ns_per_call(|| {
        timed_async(|| {
            NativeFetch::fetch_all(black_box(&nothing), black_box(http), black_box(urls))
        })
    });
    let dynamic = ns_per_call(|| {
        timed_async(|| black_box(as_dyn).fetch_all(black_box(http), black_box(urls)))
    });
    let vtable_only = ns_per_call(|| {
        measure_sync(|| {
            for _ in 0..CALLS {
                black_box(black_box(as_sync_dyn).fetch_all(black_box(http), black_box(urls)));
            }
        })
        .1
    });
    let box_only = ns_per_call(|| {
        timed_async(|| -> Pin<Box<dyn Future<Output = Fetched> + Send>> {
            Box::pin(NativeFetch::fetch_all(
                black_box(&nothing),
                black_box(http),
                black_box(urls),
            ))
        })
    });
    let static_ctx = ns_per_call(|| timed_async(|| fixed.download(black_box(urls))));
    let dyn_ctx = ns_per_call(|| timed_async(|| downloader.download(black_box(urls))));
    // With spans: a batch of 10 URLs, each fetched at once, and a construction ready at once.
    let ten: Vec<String> = (0..10).map(|i| format!("http://test/{i}")).collect();
    let fetching = Downloader::new(Arc::new(Ready), Arc::new(OneByOne));
    let batch = ns_per(BATCHES, || {
        timed_calls(BATCHES, || fetching.download(black_box(&ten)))
    });
    let registry: Registry<u32, u32> = Registry::new();
    let ready = registry.register("ready", async |n: u32| Ok::<_, HttpError>(Box::new(n)));
    assert!(ready.is_ok(), "one kind in an empty registry");
    let create = ns_per_call(|| timed_async(|| registry.create("ready", black_box(1))));

    let rows = [
        ("sync call", sync),
        ("native async fn, generic (static)", native),
        ("async_trait, &dyn FetchStrategy", dynamic),
        ("  part: sync call through a vtable", vtable_only),
        ("  part: native future, boxed (alloc)", box_only),
        ("StaticDownloader::download", static_ctx),
        ("Downloader::download (lock + Arc)", dyn_ctx),
        ("Downloader, 10 ready URLs one by one", batch),
        ("Registry::create, a ready constructor", create),
    ];
    println!(
        "  {:<38} {:>9} {:>14} {:>11}",
        "way", "ns/call", "calls/s", "x sync"
    );
    for (label, ns) in rows {
        println!(
            "  {label:<38} {ns:>9.2} {:>14.0} {:>10.1}x",
            1e9 / ns.max(1e-3),
            ns / sync.max(1e-3)
        );
    }
    let extra = dynamic - native;
    let alloc = box_only - native;
    let indirect = vtable_only - sync;
    println!(
        "\n  dyn - static = {extra:.1} ns per call, made of: allocating and freeing the boxed \
         future ~{alloc:.1} ns (boxed row - static row) and a call through the vtable that \
         cannot be inlined ~{indirect:.1} ns (vtable row - sync row)."
    );
    println!(
        "  next to one loopback HTTP request (~50,000 ns and up) that is {:.3} %.",
        extra / 50_000.0 * 100.0
    );
    println!(
        "{}",
        Target::at_most(
            "async_trait dyn costs < 100 ns more than static",
            extra,
            100.0
        )
    );
    println!(
        "dyn vs static: {:.1}x the static call, +{extra:.1} ns",
        dynamic / native.max(1e-3)
    );
    println!(
        "spans, nobody listening: a batch of 10 URLs costs {batch:.0} ns ({:.0} ns a URL past \
         the empty batch); a construction {create:.0} ns.",
        (batch - dyn_ctx) / 10.0
    );
}

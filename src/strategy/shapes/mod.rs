//! The Strategy pattern twice, compiled: the classic sync shape and the async shape, with the
//! same names, so `diff sync_shape.rs async_shape.rs` shows what async changed: `async`,
//! `.await`, the `#[async_trait]` attribute (with its `use` line), and `Send + Sync` on the two
//! traits, the bounds the real traits carry. Nothing else.
//!
//! The test below gives both the same stub fetcher and the same URLs, one of them failing, and
//! checks that they hand back the same results in the same order. It runs the async downloader
//! in a spawned task, as a server would: that compiles only with the `Send + Sync` the async
//! shape added (take either one away and it fails to build).

mod async_shape;
mod sync_shape;

use async_trait::async_trait;

/// The stub fetcher both shapes are given: `page <url>`, or an error for a URL ending in `/500`.
struct Stub;

fn answer(url: &str) -> Result<String, String> {
    if url.ends_with("/500") {
        Err(format!("{url} answered HTTP 500"))
    } else {
        Ok(format!("page {url}"))
    }
}

impl sync_shape::Http for Stub {
    fn get(&self, url: &str) -> Result<String, String> {
        answer(url)
    }
}

#[async_trait]
impl async_shape::Http for Stub {
    async fn get(&self, url: &str) -> Result<String, String> {
        answer(url)
    }
}

#[tokio::test]
async fn both_shapes_fetch_the_same_results_in_the_same_order() {
    let urls: Vec<String> = ["/a", "/b", "/500", "/c"].map(String::from).into();

    let mut classic = sync_shape::Downloader {
        http: Box::new(Stub),
        strategy: Box::new(sync_shape::OneByOne),
    };
    classic.set_strategy(Box::new(sync_shape::OneByOne));
    let sync_results = classic.download(&urls);

    let mut awaitable = async_shape::Downloader {
        http: Box::new(Stub),
        strategy: Box::new(async_shape::OneByOne),
    };
    awaitable.set_strategy(Box::new(async_shape::OneByOne));
    // On another task, which a multi-thread runtime may run on another thread.
    let batch = urls.clone();
    let spawned = tokio::spawn(async move { awaitable.download(&batch).await });
    let async_results = spawned.await.expect("the download does not panic");

    assert_eq!(sync_results, async_results);
    let expected: Vec<_> = urls.iter().map(|url| answer(url)).collect();
    assert_eq!(sync_results, expected);
    assert!(
        sync_results[2].is_err(),
        "the failure stays in its own slot"
    );
}

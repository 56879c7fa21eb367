//! The Decorator pattern twice, compiled: the classic sync shape and the async shape, with the
//! same names, so `diff sync_shape.rs async_shape.rs` shows what async changed: `async`,
//! `.await`, the `#[async_trait]` attribute (with its `use` line), and the `Send + Sync` bounds
//! on the trait, which only async needs. Nothing else.
//!
//! The test below gives both the same flaky stub (it fails twice, then answers) and checks that
//! the decorated clients give the same answers after the same number of calls; then it spawns
//! the async one, which is what its bounds are for.

mod async_shape;
mod sync_shape;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;

/// Fails its first `failures` calls, then answers `page <url>`; counts every call.
struct Flaky {
    failures: u32,
    calls: Arc<AtomicU32>,
}

impl Flaky {
    fn answer(&self, url: &str) -> Result<String, String> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if call <= self.failures {
            Err(format!("call {call} to {url} failed"))
        } else {
            Ok(format!("page {url}"))
        }
    }
}

impl sync_shape::Http for Flaky {
    fn get(&self, url: &str) -> Result<String, String> {
        self.answer(url)
    }
}

#[async_trait]
impl async_shape::Http for Flaky {
    async fn get(&self, url: &str) -> Result<String, String> {
        tokio::task::yield_now().await; // a real wait point, so the async shape really awaits
        self.answer(url)
    }
}

#[tokio::test]
async fn both_shapes_retry_the_same_way() {
    for failures in [0, 2, 3] {
        let (sync_calls, async_calls) = (Arc::default(), Arc::default());
        let classic = sync_shape::decorate(Box::new(Flaky {
            failures,
            calls: Arc::clone(&sync_calls),
        }));
        let awaitable = async_shape::decorate(Box::new(Flaky {
            failures,
            calls: Arc::clone(&async_calls),
        }));

        let sync_result = classic.get("/a");
        let async_result = awaitable.get("/a").await;

        assert_eq!(sync_result, async_result, "{failures} failures");
        assert_eq!(
            sync_calls.load(Ordering::SeqCst),
            async_calls.load(Ordering::SeqCst)
        );
        // Three attempts: two failures are absorbed, a third is not.
        let expected = if failures < 3 {
            Ok("page /a".to_owned())
        } else {
            Err("call 3 to /a failed".to_owned())
        };
        assert_eq!(sync_result, expected);
        assert_eq!(sync_calls.load(Ordering::SeqCst), (failures + 1).min(3));

        // The bounds at work: the decorated client moves into a task, its call's future with it.
        let spawned = tokio::spawn(async move { awaitable.get("/a").await });
        let again = spawned.await.expect("the task ran to the end");
        assert_eq!(
            again,
            Ok("page /a".to_owned()),
            "{failures} failures, then answers"
        );
    }
}

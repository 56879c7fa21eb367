//! The observer that yields once, shared: the tests here check what it does to `notify`, and
//! `benches/observer.rs` (which includes this file with `#[path]`) measures the memory it
//! costs. One definition, so the bench measures what the tests check.

use async_patterns::observer::{BoxError, Observer};

/// Yields to the scheduler once, then answers: the smallest observer that really waits.
pub struct YieldsOnce;

#[async_trait::async_trait]
impl Observer<u64> for YieldsOnce {
    async fn notify(&self, _event: &u64) -> Result<(), BoxError> {
        tokio::task::yield_now().await;
        Ok(())
    }
}

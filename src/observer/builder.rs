//! How a [`Subject`] is made and shown: `new`, its builder (a per-observer timeout), `Default`
//! and `Debug`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::Subject;
use super::subscription::Registry;

impl<E: Send + Sync + 'static> Subject<E> {
    /// A subject with no observers and no timeout: `notify` waits for the slowest observer.
    pub fn new() -> Self {
        SubjectBuilder::default().build()
    }

    /// A builder, to set a per-observer timeout.
    pub fn builder() -> SubjectBuilder {
        SubjectBuilder::default()
    }

    /// The per-observer timeout, if any.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }
}

/// Builds a [`Subject`] with a per-observer timeout.
#[derive(Debug, Clone, Default)]
pub struct SubjectBuilder {
    timeout: Option<Duration>,
}

impl SubjectBuilder {
    /// Cancel any observer still running `timeout` after it was called, and report it
    /// [`Outcome::TimedOut`](super::Outcome::TimedOut). Notifying then needs a tokio runtime
    /// with its timer enabled. The timeout is per observer: in order, a notification may take
    /// up to the timeout times the number of observers.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The subject.
    pub fn build<E: Send + Sync + 'static>(self) -> Subject<E> {
        Subject {
            registry: Arc::new(Registry::new()),
            timeout: self.timeout,
        }
    }
}

impl<E: Send + Sync + 'static> Default for Subject<E> {
    fn default() -> Self {
        Subject::new()
    }
}

impl<E> fmt::Debug for Subject<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subject")
            .field("observers", &self.registry.len())
            .field("timeout", &self.timeout)
            .finish()
    }
}

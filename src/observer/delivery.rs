//! One observer's call: its panic caught, its timeout enforced, its time measured.
//!
//! Both [`Subject::notify`] and [`Subject::notify_in_order`] call each observer through
//! `deliver`, so the two differ only in how the calls are scheduled (together, or one after
//! another), never in what a call may do to the others. The timeout is per observer: in
//! order, a notification may take up to the timeout times the number of observers.
//!
//! Isolation has limits. All observers of one `notify` run on the caller's task: one that
//! *blocks* (heavy computation, a blocking call) holds up every other one, and a timeout cannot
//! interrupt it (only an `.await` can be cancelled). An observer that panicked is called again
//! on the next event, in whatever state the panic left it.

use std::sync::Arc;
use std::time::Duration;

use super::subscription::{Entry, Registry};
use super::{BoxError, Delivery, Outcome, Subject};
use crate::support::catch_panic;

/// Builds a [`Subject`] with a per-observer timeout.
#[derive(Debug, Clone, Default)]
pub struct SubjectBuilder {
    timeout: Option<Duration>,
}

impl SubjectBuilder {
    /// Cancel any observer still running `timeout` after it was called, and report it
    /// [`Outcome::TimedOut`]. Notifying then needs a tokio runtime with its timer enabled.
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

impl<E: Send + Sync + 'static> Subject<E> {
    /// A builder, to set a per-observer timeout.
    pub fn builder() -> SubjectBuilder {
        SubjectBuilder::default()
    }

    /// The per-observer timeout, if any.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Call one observer, catching its panic and enforcing the timeout; `None` if it was
    /// unsubscribed before the call began.
    pub(super) async fn deliver(&self, entry: &Entry<E>, event: &E) -> Option<Delivery> {
        let start = tokio::time::Instant::now();
        // The whole call, its start included, happens inside the caught future, so a panic
        // while building the observer's future is caught as well as one while polling it.
        let call = catch_panic(entry.call(event));
        let outcome = match self.timeout {
            Some(after) => match tokio::time::timeout(after, call).await {
                Ok(result) => outcome_of(result)?,
                Err(_elapsed) => Outcome::TimedOut(after),
            },
            None => outcome_of(call.await)?,
        };
        Some(Delivery {
            id: entry.id,
            name: Arc::clone(&entry.name),
            outcome,
            elapsed: start.elapsed(),
        })
    }
}

/// The outcome of a call that returned (`Ok`) or panicked (`Err(message)`); `None` for one
/// that never began (the observer was unsubscribed first).
fn outcome_of(result: Result<Option<Result<(), BoxError>>, String>) -> Option<Outcome> {
    match result {
        Ok(None) => None,
        Ok(Some(Ok(()))) => Some(Outcome::Delivered),
        Ok(Some(Err(e))) => Some(Outcome::from_error(e)),
        Err(message) => Some(Outcome::Panicked(message)),
    }
}

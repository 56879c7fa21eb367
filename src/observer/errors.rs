//! Why an observer did not receive an event, as an error that names the observer.
//!
//! A [`Report`](super::Report) keeps each observer's [`Outcome`](super::Outcome); these are
//! the same facts as errors, for callers that propagate them with `?`
//! ([`Delivery::into_result`](super::Delivery::into_result),
//! [`Report::into_errors`](super::Report::into_errors)).

use std::time::Duration;

use super::{BoxError, ObserverId};

/// Why an observer did not receive an event, naming the observer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ObserverError {
    /// The observer returned an error.
    #[error("observer {name:?} ({id}) failed: {source}")]
    Failed {
        /// The observer's subscription id.
        id: ObserverId,
        /// The observer's name.
        name: String,
        /// The error it returned.
        #[source]
        source: BoxError,
    },
    /// The observer did not finish within the subject's timeout, and was cancelled.
    #[error("observer {name:?} ({id}) did not finish within {after:?} and was cancelled")]
    TimedOut {
        /// The observer's subscription id.
        id: ObserverId,
        /// The observer's name.
        name: String,
        /// The timeout it exceeded.
        after: Duration,
    },
    /// The observer panicked.
    #[error("observer {name:?} ({id}) panicked: {message}")]
    Panicked {
        /// The observer's subscription id.
        id: ObserverId,
        /// The observer's name.
        name: String,
        /// The panic message, when it had one.
        message: String,
    },
    /// A stream subscriber with [`StreamPolicy::Refuse`](super::StreamPolicy::Refuse) refused
    /// the event: its channel was full.
    #[error(
        "stream subscriber {name:?} ({id}) refused the event: its {capacity} events were unread"
    )]
    Refused {
        /// The subscription's id.
        id: ObserverId,
        /// The subscription's name.
        name: String,
        /// How many events its channel holds.
        capacity: usize,
    },
    /// A stream subscriber was dropped while an event was on its way to it.
    #[error("the stream subscriber was dropped before the event reached it")]
    StreamClosed,
}

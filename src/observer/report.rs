//! What one notification did: per observer, its id, name, time and [`Outcome`], in a [`Report`].
//!
//! A notification never fails as a whole: each observer's call ends in its own outcome
//! (delivered, failed, timed out, panicked, or refused by a full stream subscriber), and the
//! report keeps them all in subscription order, whatever order the calls finished in.
//! [`Report::into_errors`] turns the failures into [`ObserverError`]s that name the observer,
//! for callers that want errors.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::policy::Refusal;
use super::{BoxError, ObserverError};

/// The id a [`Subject`](super::Subject) gives each subscription, unique per subject and
/// increasing, so ids sort in subscription order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObserverId(pub(super) u64);

impl ObserverId {
    /// The id as a number.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ObserverId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// What happened when one observer was notified.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// The observer returned `Ok`.
    Delivered,
    /// The observer returned this error.
    Failed(BoxError),
    /// The observer was still running after the subject's timeout, and was cancelled.
    TimedOut(Duration),
    /// The observer panicked with this message.
    Panicked(String),
    /// A stream subscriber with [`StreamPolicy::Refuse`](super::StreamPolicy::Refuse) did not
    /// take the event: its channel, holding this many events, was full.
    Refused(usize),
}

impl Outcome {
    /// Whether the observer returned `Ok`.
    pub fn is_delivered(&self) -> bool {
        matches!(self, Outcome::Delivered)
    }

    /// A short label: `delivered`, `failed`, `timed out`, `panicked` or `refused`.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Failed(_) => "failed",
            Outcome::TimedOut(_) => "timed out",
            Outcome::Panicked(_) => "panicked",
            Outcome::Refused(_) => "refused",
        }
    }

    /// The outcome of a call that returned (`Ok`) or panicked (`Err(message)`); `None` for one
    /// that never began (the observer was unsubscribed first).
    pub(super) fn of_call(caught: Result<Option<Result<(), BoxError>>, String>) -> Option<Outcome> {
        match caught {
            Ok(None) => None,
            Ok(Some(Ok(()))) => Some(Outcome::Delivered),
            Ok(Some(Err(e))) => Some(Outcome::from_error(e)),
            Err(message) => Some(Outcome::Panicked(message)),
        }
    }

    /// The outcome of an observer that returned `error`: [`Outcome::Refused`] when it is a
    /// refusing stream's refusal, [`Outcome::Failed`] otherwise.
    pub(super) fn from_error(error: BoxError) -> Outcome {
        match error.downcast::<Refusal>() {
            Ok(refusal) => Outcome::Refused(refusal.capacity),
            Err(error) => Outcome::Failed(error),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Delivered => f.write_str("delivered"),
            Outcome::Failed(e) => write!(f, "failed: {e}"),
            Outcome::TimedOut(after) => write!(f, "timed out after {after:?}"),
            Outcome::Panicked(msg) => write!(f, "panicked: {msg}"),
            Outcome::Refused(capacity) => {
                write!(f, "refused: its {capacity}-event channel was full")
            }
        }
    }
}

/// One observer's part of a [`Report`].
#[derive(Debug)]
pub struct Delivery {
    /// The observer's subscription id.
    pub id: ObserverId,
    /// The observer's name ([`subscribe_named`](super::Subject::subscribe_named)), or
    /// `observer #id` / `stream #id`.
    pub name: Arc<str>,
    /// What happened.
    pub outcome: Outcome,
    /// How long the call took ([`tokio::time::Instant`], so virtual time on a paused clock).
    pub elapsed: Duration,
}

impl Delivery {
    /// `Ok(())` if delivered, otherwise the error naming this observer.
    pub fn into_result(self) -> Result<(), ObserverError> {
        let (id, name) = (self.id, self.name.to_string());
        match self.outcome {
            Outcome::Delivered => Ok(()),
            Outcome::Failed(source) => Err(ObserverError::Failed { id, name, source }),
            Outcome::TimedOut(after) => Err(ObserverError::TimedOut { id, name, after }),
            Outcome::Panicked(message) => Err(ObserverError::Panicked { id, name, message }),
            Outcome::Refused(capacity) => Err(ObserverError::Refused { id, name, capacity }),
        }
    }
}

/// What one notification did, per observer, in subscription order.
///
/// A subject with a timeout notifies one observer that answers and one that fails; the
/// failure is reported, and stops nobody:
///
/// ```
/// use std::time::Duration;
/// use async_patterns::observer::{BoxError, FnObserver, Outcome, Subject};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let subject = Subject::<String>::builder().timeout(Duration::from_secs(1)).build();
/// let _ok = subject.subscribe_named("ok", FnObserver::new(|_: &String| async { Ok(()) }));
/// let _bad = subject.subscribe_named(
///     "bad",
///     FnObserver::new(|e: &String| {
///         let e = e.clone();
///         async move { Err::<(), BoxError>(format!("cannot handle {e}").into()) }
///     }),
/// );
///
/// let report = subject.notify(&"door opened".to_owned()).await;
/// assert_eq!((report.delivered(), report.failed()), (1, 1));
/// assert!(matches!(report.by_name("bad").unwrap().outcome, Outcome::Failed(_)));
/// # }
/// ```
#[derive(Debug, Default)]
pub struct Report {
    pub(super) deliveries: Vec<Delivery>,
}

impl Report {
    /// Every observer's delivery, in subscription order.
    pub fn deliveries(&self) -> &[Delivery] {
        &self.deliveries
    }

    /// Iterate over the deliveries, in subscription order.
    pub fn iter(&self) -> std::slice::Iter<'_, Delivery> {
        self.deliveries.iter()
    }

    /// How many observers were notified.
    pub fn len(&self) -> usize {
        self.deliveries.len()
    }

    /// Whether there was nobody to notify.
    pub fn is_empty(&self) -> bool {
        self.deliveries.is_empty()
    }

    /// Whether every observer returned `Ok` (true when there were none).
    pub fn all_delivered(&self) -> bool {
        self.deliveries.iter().all(|d| d.outcome.is_delivered())
    }

    /// How many observers returned `Ok`.
    pub fn delivered(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Delivered))
    }

    /// How many observers returned an error.
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Failed(_)))
    }

    /// How many observers timed out.
    pub fn timed_out(&self) -> usize {
        self.count(|o| matches!(o, Outcome::TimedOut(_)))
    }

    /// How many observers panicked.
    pub fn panicked(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Panicked(_)))
    }

    /// How many stream subscribers refused the event because their channel was full.
    pub fn refused(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Refused(_)))
    }

    fn count(&self, pred: impl Fn(&Outcome) -> bool) -> usize {
        self.deliveries.iter().filter(|d| pred(&d.outcome)).count()
    }

    /// The delivery to the observer with this id.
    pub fn get(&self, id: ObserverId) -> Option<&Delivery> {
        // Deliveries are in subscription order, which is id order.
        let index = self.deliveries.binary_search_by_key(&id, |d| d.id).ok()?;
        self.deliveries.get(index)
    }

    /// The first delivery to an observer with this name.
    pub fn by_name(&self, name: &str) -> Option<&Delivery> {
        self.deliveries.iter().find(|d| &*d.name == name)
    }

    /// The observers that did not receive the event, as errors naming each of them.
    pub fn into_errors(self) -> Vec<ObserverError> {
        self.deliveries
            .into_iter()
            .filter_map(|d| d.into_result().err())
            .collect()
    }
}

impl<'a> IntoIterator for &'a Report {
    type Item = &'a Delivery;
    type IntoIter = std::slice::Iter<'a, Delivery>;
    fn into_iter(self) -> Self::IntoIter {
        self.deliveries.iter()
    }
}

impl fmt::Display for Report {
    /// One line per observer: id, name, time, outcome.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The widest name sets the column, so outcomes line up.
        let width = self.iter().fold(0, |w, d| w.max(d.name.chars().count()));
        for d in &self.deliveries {
            writeln!(
                f,
                "  {:>4}  {:<width$}  {:>10}  {}",
                d.id.to_string(),
                d.name,
                crate::timing::human(d.elapsed),
                d.outcome
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_observer() {
        let d = Delivery {
            id: ObserverId(7),
            name: "webhook".into(),
            outcome: Outcome::TimedOut(Duration::from_secs(1)),
            elapsed: Duration::from_secs(1),
        };
        let text = d.into_result().unwrap_err().to_string();
        assert!(text.contains("\"webhook\" (#7)"), "{text}");
        assert!(text.contains("1s"), "{text}");
    }

    #[test]
    fn a_refusal_is_reported_refused_and_any_other_error_failed() {
        let refused = Outcome::from_error(Box::new(Refusal { capacity: 4 }));
        assert!(matches!(refused, Outcome::Refused(4)), "{refused}");
        assert_eq!(refused.kind(), "refused");
        let failed = Outcome::from_error("disk full".into());
        assert!(matches!(failed, Outcome::Failed(ref e) if e.to_string() == "disk full"));
        let d = Delivery {
            id: ObserverId(3),
            name: "stream #3".into(),
            outcome: refused,
            elapsed: Duration::ZERO,
        };
        let text = d.into_result().unwrap_err().to_string();
        assert!(
            text.contains("\"stream #3\" (#3)") && text.contains("4 events"),
            "{text}"
        );
    }
}

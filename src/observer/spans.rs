//! The spans a notification emits, so any `tracing` subscriber sees what ran when.
//!
//! * `notify` or `notify_in_order`: the notification as a whole, from its first poll to its
//!   report; its `outcome` is `ok` once every call has ended (a notification never fails as a
//!   whole), and left unrecorded if it is dropped midway (a timeline draws it cancelled).
//! * `call`, inside it, one per observer: its first field, `observer`, is the name reports
//!   show; its `outcome` is `ok` (delivered), `failed` (an error, a panic, or a refusing stream's
//!   refusal) or `timed out`, and left unrecorded for a call that never began (its observer was
//!   unsubscribed first) or was dropped midway.
//! * Events (`DEBUG`), inside a stream subscriber's call: `dropped an unread event` when a
//!   [`DropOldest`](super::StreamPolicy::DropOldest) or [`Latest`](super::StreamPolicy::Latest)
//!   stream pushes out an event its consumer has not read, `refused: the channel is full` when
//!   a [`Refuse`](super::StreamPolicy::Refuse) stream turns one away.
//!
//! All are at `DEBUG`, so a user's `INFO` log stays quiet, under the target
//! `async_patterns::observer`. [`timing::TimelineLayer`](crate::timing) draws them.
//!
//! When nobody listens, each span is a disabled handle: making one checks a cached level, and
//! entering or recording it does nothing (the recording below does not even look its field
//! up). What remains is a larger future per call. `cargo bench --bench observer`, six runs of
//! this code interleaved with six of the code before the spans, no subscriber installed, on a
//! shared 2-core machine (load average 10 to 13), medians per observer:
//!
//! | one event to        | `notify` before | after  | `notify_in_order` before | after  |
//! |---------------------|-----------------|--------|--------------------------|--------|
//! | 1 no-op observer    | 256 ns          | 265 ns | 218 ns                   | 218 ns |
//! | 100 no-op observers | 322 ns          | 328 ns | 158 ns                   | 157 ns |
//!
//! Counted by callgrind, which is not noisy: 50 (in order) to 70 (concurrently) more
//! instructions per observer (6 % and 3.5 % of a call), mostly the larger future's copy.
//!
//! The notification's span is entered once, when it begins (a timeline starts a bar at the
//! first entry), and is the explicit parent of each call's; it is not entered around the calls,
//! since wrapping the whole notification in it would move the notification's future once more
//! (`notify_in_order` holds a call inline, several hundred bytes, and the copy alone cost more
//! than the span). Each call's span is entered at every poll of the call, so whatever the
//! observer traces nests inside it.

use tracing::Span;

use super::Outcome;

/// `span`, begun now: a timeline starts its bar when it is first entered.
pub(super) fn begun(span: Span) -> Span {
    span.in_scope(|| ());
    span
}

/// Record that the notification of `span` ended: `ok`, as a notification never fails as a
/// whole. A notification dropped before it ends records nothing, so it is drawn cancelled.
pub(super) fn completed(span: &Span) {
    record(span, "ok");
}

/// Record how one observer's call ended on its span.
pub(super) fn ended(span: &Span, outcome: &Outcome) {
    let word = match outcome {
        Outcome::Delivered => "ok",
        Outcome::TimedOut(_) => "timed out",
        // A refusing stream did not take the event: not delivered, as the report says.
        Outcome::Failed(_) | Outcome::Panicked(_) | Outcome::Refused(_) => "failed",
    };
    record(span, word);
}

/// Record `word` as the span's outcome, if anybody listens.
fn record(span: &Span, word: &'static str) {
    // A disabled span would look the field up by name only to drop the value.
    if !span.is_disabled() {
        span.record("outcome", word);
    }
}

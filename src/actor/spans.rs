//! The spans an actor emits, so any `tracing` subscriber sees what ran when.
//!
//! * `command`, one per command its task takes, from then to the command's end. Its first
//!   field names it, the actor and its number (`"hub #3"`: the third the task took), `actor`
//!   is the actor's name; `outcome` is `ok`, `failed` (its handler panicked) or `cancelled`
//!   (the shutdown deadline dropped it midway). If the actor is supervised, the command that
//!   panicked holds an event: `restarted`, or `gave up`.
//! * `drain`, one per shutdown, from the moment it begins to the moment the actor stops. Its
//!   first field is `"hub draining"`, then `actor`; the commands handled meanwhile are its
//!   children; `outcome` is `ok` (every accepted command answered), `timed out` (the deadline
//!   abandoned some) or `failed` (a panic stopped the actor). Its events: `shutdown begun`,
//!   `refused a new command` (each one at the closed door), `the 50 ms deadline passed`, and
//!   `3 commands abandoned` (or refused) when the actor stops.
//!
//! All at `DEBUG`, so a user's `INFO` log stays quiet, under the target
//! `async_patterns::actor`. [`timing::TimelineLayer`](crate::timing) draws them.
//!
//! When nobody listens, each command's span is a disabled handle: making one checks a cached
//! level (one atomic load), and entering it around each poll of the handler, or recording its
//! outcome (skipped), does nothing. The drain's span is made at shutdown, and touched only
//! then, at a refusal and at the stop: never by a command. Measured in `mod.rs`'s "What it
//! costs".
//!
//! An actor's task is spawned where the actor is. If someone listens there, the task carries
//! the subscriber in place (as the pipeline's spawned items do), so a recording made for one
//! future (`timing::record_spans`) draws the actors it spawns; if nobody listens, it is
//! spawned bare.

use std::sync::Mutex;
use std::time::Duration;

use tracing::field::Empty;
use tracing::level_filters::LevelFilter;
use tracing::{Level, Span, debug, debug_span, dispatcher};

use super::status::Shared;
use super::{Status, StopReason};
use crate::support::lock;

/// The span of the command the task has just taken (a child of the drain's, while draining).
#[inline]
pub(super) fn command(shared: &Shared, drain: Option<&Span>) -> Span {
    // Nobody listens at `DEBUG` (one atomic load): an empty span, and not even a call.
    if LevelFilter::current() < Level::DEBUG {
        return Span::none();
    }
    command_span(shared, drain)
}

#[inline(never)]
fn command_span(shared: &Shared, drain: Option<&Span>) -> Span {
    // The fields are evaluated only if someone listens to this span.
    debug_span!(
        parent: drain.and_then(Span::id),
        "command",
        command = %format_args!("{} #{}", shared.name, shared.taken()),
        actor = &*shared.name,
        outcome = Empty,
    )
}

/// Record how a command ended: handled (`Some(Ok)`), panicked, or dropped by the deadline.
#[inline]
pub(super) fn ended<E>(span: &Span, handled: &Option<Result<(), E>>) {
    // A disabled span would look the field up by name only to drop the value.
    if !span.is_disabled() {
        let outcome = match handled {
            Some(Ok(())) => "ok",
            Some(Err(_)) => "failed",
            None => "cancelled",
        };
        span.record("outcome", outcome);
    }
}

/// The drain's span: `None` until a shutdown begins, and again once the actor has stopped.
///
/// Only a shutdown, a refusal at the closed door and the stop touch it, never a command, so a
/// plain lock guards it. It is set under that lock together with the status (the caller's
/// `changed`), so the task, which takes a copy once it sees the status change, finds it there.
#[derive(Debug, Default)]
pub(super) struct Drain(Mutex<Option<Span>>);

impl Drain {
    /// A shutdown began, if `changed()` says the status changed: the span begins now.
    pub(super) fn begin(&self, actor: &str, changed: impl FnOnce() -> bool) {
        let mut drain = lock(&self.0);
        if changed() {
            let span = drain.insert(begun(actor));
            under(span, || debug!(parent: &*span, "shutdown begun"));
        }
    }

    /// The shutdown's deadline passed, if `changed()` says the status changed (the span
    /// begins now if no drain did: a system dropped gives no time at all).
    pub(super) fn deadline(&self, actor: &str, deadline: Duration, changed: impl FnOnce() -> bool) {
        let mut drain = lock(&self.0);
        if changed() {
            let span = drain.get_or_insert_with(|| begun(actor));
            under(span, || {
                debug!(parent: &*span, "the {deadline:?} deadline passed");
            });
        }
    }

    /// A new command was refused at the closed door.
    pub(super) fn refused(&self) {
        if let Some(span) = &*lock(&self.0) {
            under(span, || debug!(parent: span, "refused a new command"));
        }
    }

    /// The task's copy, the parent of the commands it drains.
    pub(super) fn span(&self) -> Span {
        lock(&self.0).clone().unwrap_or_else(Span::none)
    }

    /// The actor is stopping for `reason` (the status says `now`), having refused `refused`
    /// commands it had accepted: say so, and end the drain (its last copy is dropped here).
    pub(super) fn end(&self, now: &Status, reason: &StopReason, refused: u64) {
        let Some(span) = self.take() else { return };
        let (outcome, word) = match (now, reason) {
            (Status::Abandoning { .. }, _) => ("timed out", "abandoned"),
            (_, StopReason::ShutDown) => ("ok", "refused"),
            _ => ("failed", "refused"),
        };
        if refused > 0 {
            let s = if refused == 1 { "" } else { "s" };
            under(
                &span,
                || debug!(parent: &span, "{refused} command{s} {word}"),
            );
        }
        if !span.is_disabled() {
            span.record("outcome", outcome);
        }
    }

    /// The span, taken out: dropped, it ends (unrecorded: cancelled, as a task dropped by its
    /// runtime leaves it).
    pub(super) fn take(&self) -> Option<Span> {
        lock(&self.0).take()
    }
}

/// Emit `event`, a `debug!` in `span`, under the span's own subscriber: a refusal or a deadline
/// may come from a task that runs under another subscriber, or none. Nothing if nobody listens
/// to the span.
fn under(span: &Span, event: impl FnOnce()) {
    let _ = span.with_subscriber(|(_, dispatch)| dispatcher::with_default(dispatch, event));
}

/// A drain's span for `actor`, begun (a timeline starts a bar when a span is first entered).
fn begun(actor: &str) -> Span {
    let span = debug_span!(
        "drain",
        drain = %format_args!("{actor} draining"),
        actor,
        outcome = Empty,
    );
    span.in_scope(|| ());
    span
}

//! The spans a download emits, so any `tracing` subscriber sees what ran when.
//!
//! * `batch`: one download, from its first poll to its results; its first field, `strategy`,
//!   is the strategy's name, then `urls`, their number. Its `outcome` is `ok` when the strategy
//!   kept its promise of one result per URL, `failed` when it broke it or panicked, and is left
//!   unrecorded if the download is dropped midway (a timeline draws it cancelled).
//! * `fetch`, inside it, one per URL of a built-in strategy: its first field is the `url`; its
//!   `outcome` is `ok`, `timed out` ([`HttpError::Timeout`]) or `failed` (any other error, a
//!   panic included), unrecorded if dropped. [`InTasks`](super::InTasks) makes it before
//!   spawning, so it nests under the batch on any worker; a one-off [`FnStrategy`](super::FnStrategy)
//!   makes none of its own.
//! * An event, `swapped to <name>`, where [`set_strategy`](super::Downloader::set_strategy) runs.
//!
//! All at `DEBUG` (a user's `INFO` log stays quiet), under the target `async_patterns::strategy`;
//! `timing::TimelineLayer` draws them. The module's picture is drawn from them.
//!
//! When nobody listens, a span is a disabled handle, and its work runs bare: no wrapper polls
//! it, nothing is recorded (the batch checks in `run_batch`'s body, a fetch through [`traced`]).
//! A span's fields are computed only for a subscriber, so the strategy's `name` is not asked.
//! What remains is a check and a larger future per request. `benches/dispatch.rs`, no
//! subscriber, this code against the code before the spans, counted by callgrind: 57 (static) to
//! 86 (`dyn`) more instructions a batch, none a URL (10 ready URLs: +20 instructions in all of
//! 8,600). Timed in six interleaved runs on a busy 2-core machine (load average 3 to 6), medians:
//!
//! | per call, nobody listening          | before  | after    |
//! |-------------------------------------|---------|----------|
//! | `StaticDownloader::download`, empty | 19 ns   | 28 ns    |
//! | `Downloader::download`, empty       | 77 ns   | 98 ns    |
//! | `Downloader`, 10 ready URLs         | 942 ns  | 1,124 ns |
//!
//! The URLs' share (some 16 ns each) is the larger future being moved, which callgrind counts as
//! one instruction: nothing next to a request's 50 µs.

use std::future::Future;

use futures::FutureExt;
use futures::future::Either;
use tracing::field::Empty;
use tracing::{Instrument, Span};

use crate::http::HttpError;

/// A fetch's span, named by its URL. Made where the fetch is made, inside the batch's span, so
/// it is drawn under it wherever the fetch runs; its bar starts when the fetch is first polled.
pub(super) fn fetch_span(url: &str) -> Span {
    tracing::debug_span!("fetch", url, outcome = Empty)
}

/// How a fetch ended, in a timeline's words.
pub(super) fn fetched(result: &Result<String, HttpError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(HttpError::Timeout { .. }) => "timed out",
        Err(_) => "failed",
    }
}

/// `work` in `span`, recording how it ended in `outcome`'s word: what `run_batch` does in its
/// body, for a future made by a plain function. Nobody listening, `work` is returned as it is.
pub(super) fn traced<F: Future>(
    span: Span,
    work: F,
    outcome: fn(&F::Output) -> &'static str,
) -> impl Future<Output = F::Output> {
    // `Either`: one of two futures, polled as whichever it holds.
    if span.is_disabled() {
        return Either::Left(work);
    }
    let ended = span.clone();
    let record = move |out: &F::Output| {
        ended.record("outcome", outcome(out));
    };
    Either::Right(work.instrument(span).inspect(record))
}

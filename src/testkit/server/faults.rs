//! Scripted faults: a route that answers request after request as a pattern says.
//!
//! Resilience code (retries, breakers, hedging) is tested against failures that come in a known
//! order, not by chance: `/script/{pattern}` answers its n-th request as the n-th character of
//! the pattern says, cycling, counted per URL. The same URL twice shares a counter; any other
//! query (`&run=2`) starts a fresh one.
//!
//! | character | answer |
//! |---|---|
//! | `o` | `200 ok {n}` after `ms` milliseconds |
//! | `s` | `200 slow {n}` after `ms` x `slow` milliseconds (a slow tail) |
//! | `f` | `503`, no `Retry-After` |
//! | `e` | `500` |
//! | `t` | `429` with `Retry-After: {after}` |
//! | `u` | `503` with `Retry-After: {after}` |
//! | `n` | `404` |
//!
//! Query parameters, all optional: `ms` (default 0), `slow` (default 10), `after` in seconds
//! (default 1). `n` counts from 0. Failures wait `ms` too, so they take time like answers do.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{Stats, TestServer};
use crate::support::lock;

/// How many requests each script URL has answered.
#[derive(Debug, Default)]
pub(super) struct Counters(Mutex<HashMap<String, u64>>);

impl Counters {
    /// The number of this request to `url`, from 0.
    fn next(&self, url: &str) -> u64 {
        let mut counts = lock(&self.0);
        let count = counts.entry(url.to_owned()).or_default();
        *count += 1;
        *count - 1
    }
}

pub(super) fn routes(stats: Arc<Stats>) -> Router {
    Router::new()
        .route("/script/{pattern}", get(script))
        .with_state(stats)
}

async fn script(
    State(stats): State<Arc<Stats>>,
    uri: Uri,
    Path(pattern): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let n = stats.scripts.next(&uri.to_string());
    let number =
        |key: &str, default: u64| q.get(key).and_then(|v| v.parse().ok()).unwrap_or(default);
    let (ms, slow, after) = (number("ms", 0), number("slow", 10), number("after", 1));
    let chars: Vec<char> = pattern.chars().collect();
    let Some(&beat) = chars.get((n % chars.len().max(1) as u64) as usize) else {
        return (StatusCode::BAD_REQUEST, "an empty script").into_response();
    };
    let wait = if beat == 's' {
        ms.saturating_mul(slow)
    } else {
        ms
    };
    tokio::time::sleep(Duration::from_millis(wait)).await;
    let retry_after = [(header::RETRY_AFTER, after.to_string())];
    match beat {
        'o' => format!("ok {n}").into_response(),
        's' => format!("slow {n}").into_response(),
        'f' => (StatusCode::SERVICE_UNAVAILABLE, format!("failure {n}")).into_response(),
        'e' => (StatusCode::INTERNAL_SERVER_ERROR, format!("error {n}")).into_response(),
        't' => (
            StatusCode::TOO_MANY_REQUESTS,
            retry_after,
            format!("throttled {n}"),
        )
            .into_response(),
        'u' => (
            StatusCode::SERVICE_UNAVAILABLE,
            retry_after,
            format!("down {n}"),
        )
            .into_response(),
        'n' => (StatusCode::NOT_FOUND, format!("missing {n}")).into_response(),
        other => (
            StatusCode::BAD_REQUEST,
            format!("{other:?} is not a script character"),
        )
            .into_response(),
    }
}

impl TestServer {
    /// A URL answered as `pattern` says, request after request (see the table above: `o` ok,
    /// `s` slow, `f` 503, `e` 500, `t` 429 and `u` 503 with `Retry-After`, `n` 404), each
    /// after `ms` milliseconds.
    ///
    /// ```
    /// use async_patterns::testkit::TestServer;
    /// let server = TestServer::start()?;
    /// assert!(server.script_url("ffo", 5).ends_with("/script/ffo?ms=5"));
    /// # Ok::<(), async_patterns::testkit::TestkitError>(())
    /// ```
    pub fn script_url(&self, pattern: &str, ms: u64) -> String {
        self.url(&format!("/script/{pattern}?ms={ms}"))
    }

    /// A URL that fails (503) or answers as `pattern` says, at once: `"ffo"` fails twice, then
    /// answers, then fails twice again.
    pub fn flaky_url(&self, pattern: &str) -> String {
        self.script_url(pattern, 0)
    }

    /// A URL whose every `k`-th request fails with 503 (the `k`-th, the `2k`-th, ...).
    pub fn fail_every_url(&self, k: usize) -> String {
        self.flaky_url(&format!("{}f", "o".repeat(k.saturating_sub(1))))
    }

    /// A URL that answers `status` (429, or 503 if anything else) with `Retry-After: {after}`
    /// seconds `times` times, then `200`, and again.
    pub fn retry_after_url(&self, status: u16, times: usize, after: u64) -> String {
        let beat = if status == 429 { "t" } else { "u" };
        self.url(&format!("/script/{}o?after={after}", beat.repeat(times)))
    }

    /// A URL answered after `ms` milliseconds, except every `every`-th request (the last of
    /// each run of `every`), answered `factor` times slower.
    pub fn slow_tail_url(&self, every: usize, ms: u64, factor: u64) -> String {
        let pattern = format!("{}s", "o".repeat(every.saturating_sub(1)));
        self.url(&format!("/script/{pattern}?ms={ms}&slow={factor}"))
    }

    /// Start every script URL's count again from 0.
    pub fn reset_scripts(&self) {
        lock(&self.stats.scripts.0).clear();
    }
}

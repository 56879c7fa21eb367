//! The decorators, pinned down on tokio's paused clock: exact attempt counts and waits, every
//! breaker transition at its instant, hedging's loser cancelled, limits that make calls wait,
//! the order of layers, and tower's stack against ours on the same faults. The loopback server
//! checks what only real sockets can say: `Retry-After` read by the clients, scripted routes.
//!
//! One test binary, one module a topic; this file holds what they share: a scripted client
//! and a few short helpers.

mod breaker;
mod errors;
mod extremes;
mod hedge;
mod layering;
mod limits;
mod retry;
mod server;
mod spans;
mod timeout;
mod tower;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_patterns::decorator::{DecoratorError, RetryPolicy};
use async_patterns::http::{HttpError, HttpGet};
use async_patterns::testkit::{Gauge, within_paused};
use tokio::time::Instant;
const URL: &str = "http://test/a";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn status(url: &str, status: u16) -> HttpError {
    let url = url.to_owned();
    HttpError::Status { url, status }
}

/// 3 attempts, waits of half the ceiling (100 ms doubled each time): 50 ms, then 100 ms.
fn halving() -> RetryPolicy {
    RetryPolicy::default()
        .attempts(3)
        .backoff(ms(100), Duration::from_secs(10))
        .jitter(|ceiling: Duration| ceiling / 2)
}

/// Run `test` on tokio's paused clock, failed (not hung) if it has not finished in 30 s of real
/// time: for the tests a regression could hang.
fn paused(test: impl Future<Output = ()> + Send + 'static) {
    within_paused(Duration::from_secs(30), test);
}

/// The decorator's own error inside an `HttpError`, or a panic naming what came instead.
fn decorator_error(e: &HttpError) -> &DecoratorError {
    match DecoratorError::of(e) {
        Some(inner) => inner,
        None => panic!("expected a decorator's error, got {e:?}"),
    }
}

/// What a reporter prints for `e`: its message, then each source's, one a line.
fn chain(e: &HttpError) -> Vec<String> {
    let mut lines = Vec::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(error) = next {
        lines.push(error.to_string());
        next = error.source();
    }
    lines
}

/// One answer of a [`Scripted`] client.
#[derive(Debug, Clone, Copy)]
enum Beat {
    /// `page {url} #{n}` after this many ms.
    Ok(u64),
    /// This status after this many ms.
    Fail(u64, u16),
    /// 503 with `Retry-After` of this many seconds, at once.
    After(u64),
    /// No answer, ever.
    Hang,
}

/// A client that answers call after call as its script says (the last beat repeats), counts its
/// calls in flight on a gauge, and logs when each call started.
struct Scripted {
    beats: Vec<Beat>,
    calls: AtomicUsize,
    gauge: Gauge,
    origin: Instant,
    starts: Mutex<Vec<Duration>>,
}

impl Scripted {
    fn new(beats: &[Beat]) -> Arc<Scripted> {
        Arc::new(Scripted {
            beats: beats.to_vec(),
            calls: AtomicUsize::new(0),
            gauge: Gauge::new(),
            origin: Instant::now(),
            starts: Mutex::new(Vec::new()),
        })
    }

    /// When each call started, counted from the first.
    fn starts(&self) -> Vec<Duration> {
        let starts = self.starts.lock().unwrap();
        starts.iter().map(|t| *t - starts[0]).collect()
    }
}

#[async_trait::async_trait]
impl HttpGet for Scripted {
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let _in_flight = self.gauge.enter();
        self.starts.lock().unwrap().push(self.origin.elapsed());
        match self.beats[n.min(self.beats.len() - 1)] {
            Beat::Ok(wait) => {
                tokio::time::sleep(ms(wait)).await;
                Ok(format!("page {url} #{n}"))
            }
            Beat::Fail(wait, code) => {
                tokio::time::sleep(ms(wait)).await;
                Err(status(url, code))
            }
            Beat::After(secs) => Err(HttpError::RetryAfter {
                url: url.to_owned(),
                status: 503,
                retry_after: Duration::from_secs(secs),
            }),
            Beat::Hang => std::future::pending().await,
        }
    }
}

//! One conformance suite, run against the in-process backends and the Redis backends, so the
//! promise that changes when a part goes remote shows in the test names:
//!
//! * `observer::{in_process, at_most_once, at_least_once}::*`: the same observers, through a
//!   [`Subject`], through Redis pub/sub, through a Redis stream with a consumer group;
//! * `pipeline::{in_process, redis}::*`: the same stages, over an iterator and over a stream
//!   read by workers of one group;
//! * `faults::*`: the faults of issue 22, each against a real redis-server: a worker killed
//!   mid-batch (its task aborted, and a child process killed with SIGKILL), the server stopped
//!   and restarted under load, malformed, oversized and deleted entries.
//!
//! Every Redis test starts its own server (`testkit::redis::RedisServer`, a unix socket in a
//! temporary directory). Where `redis-server` is missing, each prints one line saying it was
//! skipped, unless `ASYNC_PATTERNS_REQUIRE_REDIS` is set (as `.ci/run` does): then it fails.
//! These tests run on real time (Redis does not know tokio's paused clock): every wait is
//! bounded by [`within`], and no test asserts a duration.

mod faults;
mod faults_entries;
mod observer;
mod pipeline;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_patterns::observer::redis::RedisOptions;
use async_patterns::testkit::redis::RedisServer;

/// The most any test here waits for: a hang is a failure, not a stuck CI.
const LIMIT: Duration = Duration::from_secs(30);

/// Run `test` and fail if it takes longer than [`LIMIT`].
async fn within<T>(test: impl Future<Output = T>) -> T {
    match tokio::time::timeout(LIMIT, test).await {
        Ok(value) => value,
        Err(_) => panic!("the test did not finish within {LIMIT:?}"),
    }
}

/// A server of this test's own, or `None` (skipped, one line printed) where there is none.
fn server(test: &str) -> Option<RedisServer> {
    RedisServer::start_or_skip(test).expect("a test redis-server")
}

/// A client of `server`.
fn client(server: &RedisServer) -> redis::Client {
    redis::Client::open(server.url()).expect("a redis URL")
}

/// Options for tests: short claims and blocks, so redelivery takes milliseconds.
fn options() -> RedisOptions {
    RedisOptions::default()
        .block(Duration::from_millis(20))
        .claim_idle(Duration::from_millis(150))
        .timeout(Duration::from_secs(1))
}

/// A topic name no other test uses.
fn topic(what: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{what}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A plain command on `client`'s server (the test's own view of Redis).
async fn query<T: redis::FromRedisValue>(client: &redis::Client, cmd: &redis::Cmd) -> T {
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("a connection");
    cmd.query_async(&mut connection).await.expect("a reply")
}

/// How many entries of `group` on `stream` are pending (read, not acknowledged).
async fn pending(client: &redis::Client, stream: &str, group: &str) -> u64 {
    let mut cmd = redis::cmd("XPENDING");
    cmd.arg(stream).arg(group);
    let reply: redis::streams::StreamPendingReply = query(client, &cmd).await;
    reply.count() as u64
}

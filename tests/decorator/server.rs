//! The loopback server: `Retry-After` read by the three clients, scripted routes.

use std::collections::VecDeque;
use std::time::Duration;

use async_patterns::decorator::{Retry, RetryPolicy};
use async_patterns::http::{HttpConfig, HttpError, HttpGet, NativeHttp, ThreadedHttp};
use async_patterns::testkit::TestServer;

#[test]
fn the_clients_read_retry_after_from_a_429_or_503() {
    let server = TestServer::start().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let native = NativeHttp::new(HttpConfig::default()).unwrap();
    let threaded = ThreadedHttp::new(HttpConfig::default());
    let blocking = async_patterns::http::BlockingHttp::new(HttpConfig::default()).unwrap();
    for (code, after) in [(429, 7), (503, 0)] {
        let url = server.retry_after_url(code, 1, after);
        let wanted = Duration::from_secs(after);
        let results = [
            runtime.block_on(native.get(&url)),
            runtime.block_on(async {
                server.reset_scripts();
                threaded.get(&url).await
            }),
            {
                server.reset_scripts();
                blocking.get(&url)
            },
        ];
        for result in results {
            assert!(
                matches!(&result, Err(HttpError::RetryAfter { status, retry_after, .. })
                    if *status == code && *retry_after == wanted),
                "{result:?}"
            );
        }
        server.reset_scripts();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_routes_answer_in_order_with_a_counter_per_url() {
    let server = TestServer::start().unwrap();
    let http = NativeHttp::new(HttpConfig::default()).unwrap();
    let flaky = server.flaky_url("ffo");
    let mut seen = VecDeque::new();
    for _ in 0..4 {
        seen.push_back(http.get(&flaky).await.map_err(|e| e.status()));
    }
    assert_eq!(
        seen,
        [
            Err(Some(503)),
            Err(Some(503)),
            Ok("ok 2".into()),
            Err(Some(503))
        ]
    );
    // Another query is another counter.
    assert!(http.get(&format!("{flaky}&run=2")).await.is_err());
    let every = server.fail_every_url(3);
    let codes: Vec<_> = futures::future::join_all((0..6).map(|_| http.get(&every)))
        .await
        .iter()
        .map(Result::is_ok)
        .collect();
    assert_eq!(codes.iter().filter(|ok| !**ok).count(), 2);

    // Through a retry, a 503 with `Retry-After: 0` twice is two retries.
    server.reset_stats();
    let retry = Retry::new(&http, RetryPolicy::default());
    assert_eq!(
        retry.get(&server.retry_after_url(503, 2, 0)).await.unwrap(),
        "ok 2"
    );
    assert_eq!(server.requests(), 3);

    // The slow tail: every 4th request is 5x slower.
    let tail = server.slow_tail_url(4, 20, 5);
    let bodies: Vec<String> = {
        let mut out = Vec::new();
        for _ in 0..4 {
            out.push(http.get(&tail).await.unwrap());
        }
        out
    };
    assert_eq!(bodies, ["ok 0", "ok 1", "ok 2", "slow 3"]);
    let not_a_script = server.url("/script/x");
    assert_eq!(
        http.get(&not_a_script).await.unwrap_err().status(),
        Some(400)
    );
}

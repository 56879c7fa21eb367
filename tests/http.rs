//! Every `HttpGet` implementation against a real loopback server: success, and each
//! `HttpError` variant from its real cause.

use std::sync::Arc;
use std::time::Duration;

use async_patterns::http::blocking::BlockingHttp;
use async_patterns::http::native::NativeHttp;
use async_patterns::http::threaded::ThreadedHttp;
use async_patterns::http::{HttpError, HttpGet};
use async_patterns::testkit::TestServer;

/// The two async implementations, with a 300 ms timeout so the timeout case is quick.
fn async_clients() -> Vec<(&'static str, Arc<dyn HttpGet>)> {
    let timeout = Some(Duration::from_millis(300));
    vec![
        ("native", Arc::new(NativeHttp::new(timeout).unwrap())),
        ("threaded", Arc::new(ThreadedHttp::new(timeout))),
    ]
}

/// A port that was free a moment ago: bind, read the port, release it.
fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn success_returns_the_body() {
    let server = TestServer::start().unwrap();
    for (name, http) in async_clients() {
        let body = http.get(&server.delay_url(10)).await.unwrap();
        assert_eq!(body, "waited 10 ms", "{name}");
        let big = http.get(&server.bytes_url(100_000)).await.unwrap();
        assert_eq!(big.len(), 100_000, "{name}");
    }
    assert_eq!(server.requests(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_error_variant_comes_from_its_real_cause() {
    let server = TestServer::start().unwrap();
    let refused = format!("http://127.0.0.1:{}/", unused_port());
    for (name, http) in async_clients() {
        let bad = http.get("not a url").await.unwrap_err();
        assert!(
            matches!(bad, HttpError::InvalidUrl { .. }),
            "{name}: {bad:?}"
        );
        let ftp = http.get("ftp://127.0.0.1/file").await.unwrap_err();
        assert!(
            matches!(ftp, HttpError::InvalidUrl { .. }),
            "{name}: {ftp:?}"
        );

        let conn = http.get(&refused).await.unwrap_err();
        assert!(
            matches!(conn, HttpError::Connect { .. }),
            "{name}: {conn:?}"
        );
        assert_eq!(conn.url(), Some(refused.as_str()));

        for code in [404, 500] {
            let url = server.status_url(code);
            match http.get(&url).await {
                Err(HttpError::Status { status, url: u }) => {
                    assert_eq!(status, code, "{name}");
                    assert_eq!(u, url);
                }
                other => panic!("{name}: {code} gave {other:?}"),
            }
        }

        let slow = http.get(&server.delay_url(5_000)).await.unwrap_err();
        assert!(
            matches!(slow, HttpError::Timeout { .. }),
            "{name}: {slow:?}"
        );

        let cut = http.get(&server.truncated_url()).await.unwrap_err();
        assert!(matches!(cut, HttpError::Body { .. }), "{name}: {cut:?}");

        let dropped = http.get(&server.drop_url()).await.unwrap_err();
        assert!(
            matches!(dropped, HttpError::Connect { .. }),
            "{name}: {dropped:?}"
        );
        assert!(dropped.to_string().contains("/drop"), "{name}: {dropped}");
    }
}

#[test]
fn blocking_client_works_from_plain_threads_and_reports_the_same_errors() {
    let server = TestServer::start().unwrap();
    let http = BlockingHttp::new(Some(Duration::from_millis(300))).unwrap();
    assert_eq!(http.get(&server.delay_url(1)).unwrap(), "waited 1 ms");
    assert!(matches!(
        http.get(&server.status_url(404)),
        Err(HttpError::Status { status: 404, .. })
    ));
    assert!(matches!(
        http.get(&server.delay_url(5_000)),
        Err(HttpError::Timeout { .. })
    ));
    assert!(matches!(
        http.get(&server.drop_url()),
        Err(HttpError::Connect { .. })
    ));
    assert!(matches!(http.get("::"), Err(HttpError::InvalidUrl { .. })));
    assert!(matches!(
        http.get(&server.truncated_url()),
        Err(HttpError::Body { .. })
    ));
}

#[tokio::test]
async fn blocking_client_refuses_to_run_on_a_runtime_thread_instead_of_panicking() {
    let built = BlockingHttp::new(None);
    assert!(matches!(built, Err(HttpError::Client { .. })), "{built:?}");

    // Built outside the runtime, then used (and dropped) inside it.
    let http = std::thread::spawn(|| BlockingHttp::new(None).unwrap())
        .join()
        .unwrap();
    let used = http.get("http://127.0.0.1:1/");
    match used {
        Err(HttpError::Client { reason }) => assert!(reason.contains("threaded"), "{reason}"),
        other => panic!("expected a Client error, got {other:?}"),
    }
    drop(http); // must not panic on a runtime thread
}

#[tokio::test(flavor = "current_thread")]
async fn threaded_client_is_created_and_dropped_safely_on_a_current_thread_runtime() {
    let server = TestServer::start().unwrap();
    let http = ThreadedHttp::new(None);
    let clone = http.clone();
    assert_eq!(http.get(&server.delay_url(1)).await.unwrap(), "waited 1 ms");
    assert_eq!(
        clone.get(&server.delay_url(2)).await.unwrap(),
        "waited 2 ms"
    );
    drop(http);
    drop(clone); // the last clone releases the blocking client: off the runtime thread
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_all_overlaps_requests_on_the_server() {
    let server = TestServer::start().unwrap();
    let http = NativeHttp::new(None).unwrap();
    let urls: Vec<String> = (0..8)
        .map(|i| format!("{}?i={i}", server.delay_url(200)))
        .collect();
    let bodies = futures::future::join_all(urls.iter().map(|u| http.get(u))).await;
    assert!(bodies.iter().all(Result::is_ok));
    assert_eq!(server.requests(), 8);
    assert_eq!(server.peak_in_flight(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threaded_requests_overlap_too() {
    let server = TestServer::start().unwrap();
    let http = ThreadedHttp::new(None);
    let urls: Vec<String> = (0..6).map(|_| server.delay_url(200)).collect();
    let bodies = futures::future::join_all(urls.iter().map(|u| http.get(u))).await;
    assert!(bodies.iter().all(Result::is_ok));
    assert_eq!(server.peak_in_flight(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_by_one_never_overlaps_and_bounded_stays_under_its_limit() {
    use async_patterns::basics::gather;
    let server = TestServer::start().unwrap();
    let http = NativeHttp::new(None).unwrap();
    let urls: Vec<String> = (0..6).map(|_| server.delay_url(50)).collect();

    gather::one_by_one(urls.iter().map(|u| http.get(u))).await;
    assert_eq!(server.peak_in_flight(), 1);

    server.reset_stats();
    let urls: Vec<String> = (0..9).map(|_| server.delay_url(100)).collect();
    let out = gather::bounded(urls.iter().map(|u| http.get(u)), 3).await;
    assert_eq!(out.len(), 9);
    assert_eq!(server.requests(), 9);
    assert!(server.peak_in_flight() <= 3, "{}", server.peak_in_flight());
    assert!(server.peak_in_flight() >= 2, "{}", server.peak_in_flight());
}

#[test]
fn a_server_survives_a_client_that_blocks_its_own_runtime() {
    // The deadlock the Python original hit: a blocking call on the runtime that serves.
    // Here the server has its own runtime, so a current-thread client runtime that blocks
    // still gets its answer.
    let server = TestServer::start().unwrap();
    let url = server.delay_url(20);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let body = rt.block_on(async {
        // Blocking the only runtime thread: a server on this runtime could never answer.
        std::thread::sleep(Duration::from_millis(20));
        NativeHttp::new(None).unwrap().get(&url).await
    });
    assert_eq!(body.unwrap(), "waited 20 ms");
}

//! The testkit itself: the server's routes and counters, and the delay wrapper's gauge.

use std::time::Duration;

use async_patterns::http::native::NativeHttp;
use async_patterns::http::{HttpConfig, HttpError, HttpGet};
use async_patterns::testkit::MockHttpGet;
use async_patterns::testkit::{Delayed, Fault, Gauge, MAX_BYTES, Sample, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_answer_as_documented() {
    let server = TestServer::start().unwrap();
    let http = NativeHttp::new(HttpConfig::default().timeout(Duration::from_secs(5))).unwrap();
    assert_eq!(http.get(&server.url("/")).await.unwrap(), "ok");
    assert_eq!(http.get(&server.bytes_url(0)).await.unwrap(), "");
    assert!(matches!(
        http.get(&server.bytes_url(MAX_BYTES + 1)).await,
        Err(HttpError::Status { status: 400, .. })
    ));
    assert!(matches!(
        http.get(&server.status_url(1000)).await,
        Err(HttpError::Status { status: 400, .. })
    ));
    assert_eq!(http.get(&server.status_url(204)).await.unwrap(), "");
    let page = http.get(&server.page_url(3, 1)).await.unwrap();
    assert!(page.starts_with("title: item 3\n"), "{page}");
    assert_eq!(page, http.get(&server.page_url(3, 0)).await.unwrap());
    assert!(matches!(
        http.get(&server.url("/nowhere")).await,
        Err(HttpError::Status { status: 404, .. })
    ));
    assert_eq!(server.requests(), 8);
    assert_eq!(server.in_flight(), 0);
    server.reset_stats();
    assert_eq!(server.requests(), 0);
    assert_eq!(server.peak_in_flight(), 0);
    assert!(server.base_url().starts_with("http://127.0.0.1:"));
    assert_eq!(server.addr().ip().to_string(), "127.0.0.1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_and_hostile_routes_answer_as_documented() {
    let server = TestServer::start().unwrap();
    let http = NativeHttp::new(HttpConfig::default().timeout(Duration::from_secs(5))).unwrap();
    for url in [server.stream_url(200_000), server.chunked_url(200_000)] {
        assert_eq!(http.get(&url).await.unwrap(), "x".repeat(200_000), "{url}");
    }
    assert_eq!(http.get(&server.chunked_url(0)).await.unwrap(), "");
    let latin1 = http.get(&server.sample_url(Sample::Latin1)).await;
    assert_eq!(latin1.unwrap(), "café crème");
    // Each fault is on the port its kind needs; the drop URL is the Drop fault.
    assert_eq!(server.drop_url(), server.fault_url(Fault::Drop));
    let on_main_port = |fault| server.fault_url(fault).starts_with(&server.url("/"));
    assert!(on_main_port(Fault::Drip));
    assert!(!on_main_port(Fault::Hang));
    assert!(!on_main_port(Fault::NoAccept));
}

#[test]
fn dropping_the_server_stops_it() {
    let server = TestServer::start().unwrap();
    let addr = server.addr();
    drop(server);
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_call_leaves_the_gauge() {
    let gauge = Gauge::new();
    let mut mock = MockHttpGet::new();
    mock.expect_get().never();
    let slow = Delayed::with_gauge(mock, Duration::from_secs(10), gauge.clone());
    let gave_up = tokio::time::timeout(Duration::from_secs(1), slow.get("http://x")).await;
    assert!(gave_up.is_err());
    assert_eq!(gauge.total(), 1);
    assert_eq!(gauge.current(), 0);
    assert_eq!(gauge.peak(), 1);
    assert_eq!(slow.delay(), Duration::from_secs(10));
}

#[tokio::test(start_paused = true)]
async fn delayed_waits_before_delegating() {
    let mut mock = MockHttpGet::new();
    mock.expect_get()
        .withf(|url: &str| url == "http://a")
        .times(1)
        .returning(|_| Ok("body".into()));
    let slow = Delayed::new(mock, Duration::from_millis(250));
    let start = tokio::time::Instant::now();
    assert_eq!(slow.get("http://a").await.unwrap(), "body");
    assert_eq!(start.elapsed(), Duration::from_millis(250));
    assert_eq!(slow.gauge().total(), 1);
}

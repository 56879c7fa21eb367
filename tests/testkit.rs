//! The testkit itself: the server's routes and counters, and the delay wrapper's gauge.

use std::time::Duration;

use async_patterns::http::native::NativeHttp;
use async_patterns::http::{HttpConfig, HttpError, HttpGet};
use async_patterns::testkit::MockHttpGet;
use async_patterns::testkit::{
    Delayed, Fault, Gauge, MAX_BYTES, Sample, TestServer, alive_tasks_once_settled, within,
};

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

#[tokio::test(start_paused = true)]
async fn a_delayed_native_strategy_makes_two_static_batches_overlap() {
    use async_patterns::strategy::StaticDownloader;
    use async_patterns::testkit::MockNativeFetch;
    use std::sync::Arc;
    let mut strategy = MockNativeFetch::new();
    strategy
        .expect_fetch_all()
        .times(2)
        .returning(|_, urls| urls.iter().map(|u| Ok(format!("page {u}"))).collect());
    let slow = Delayed::new(strategy, Duration::from_millis(100));
    let downloader = StaticDownloader::new(Arc::new(MockHttpGet::new()), slow);
    let (first, second) = (["a".to_owned()], ["b".to_owned()]);
    let start = tokio::time::Instant::now();
    let (a, b) = tokio::join!(downloader.download(&first), downloader.download(&second));
    // Both batches waited their 100 ms together, then reached the mock.
    assert_eq!(start.elapsed(), Duration::from_millis(100));
    assert_eq!(a.unwrap()[0].as_deref().unwrap(), "page a");
    assert_eq!(b.unwrap()[0].as_deref().unwrap(), "page b");
    assert_eq!(downloader.strategy().gauge().peak(), 2);
}

/// Holds a task's future up: its destructor takes a while, as a big buffer's or a socket's can.
struct SlowDrop;

impl Drop for SlowDrop {
    fn drop(&mut self) {
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settled_count_waits_for_tasks_reaped_on_worker_threads() {
    let metrics = tokio::runtime::Handle::current().metrics();
    let before = metrics.num_alive_tasks();
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            tokio::spawn(async {
                let _held = SlowDrop;
                std::future::pending::<()>().await;
            })
        })
        .collect();
    assert_eq!(alive_tasks_once_settled(before + 64).await, before + 64);
    for task in &tasks {
        task.abort();
    }
    // The workers drop the aborted futures, 2 ms each: the count falls over about 64 ms, on
    // threads other than this one.
    assert_eq!(alive_tasks_once_settled(before).await, before);
}

#[test]
#[should_panic(expected = "did not finish within 50ms")]
fn within_fails_a_test_that_hangs_instead_of_hanging() {
    // The sender stays here, so the receiver waits for good (until this test has failed).
    let (_sender, never) = std::sync::mpsc::channel::<()>();
    within(Duration::from_millis(50), move || never.recv().is_ok());
}

#[test]
fn within_passes_on_the_value_and_the_panic() {
    assert_eq!(within(Duration::from_secs(10), || 42), 42);
    let panic = std::panic::catch_unwind(|| within(Duration::from_secs(10), || panic!("inner")));
    let message = panic
        .err()
        .and_then(|p| p.downcast_ref::<&str>().map(|s| s.to_string()));
    assert_eq!(message.as_deref(), Some("inner"));
}

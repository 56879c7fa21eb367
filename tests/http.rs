//! Every `HttpGet` implementation against a real loopback server: success, each `HttpError`
//! variant from its real cause, and the limits that keep a hostile server from hanging a client
//! or exhausting its memory, on all three clients.

use std::sync::Arc;
use std::time::Duration;

use async_patterns::basics::blocking::{TaskError, to_thread};
use async_patterns::http::blocking::BlockingHttp;
use async_patterns::http::native::NativeHttp;
use async_patterns::http::threaded::ThreadedHttp;
use async_patterns::http::{HttpConfig, HttpError, HttpGet, TimeLimit};
use async_patterns::testkit::{Fault, Sample, TestServer};

const CONNECT: Duration = Duration::from_millis(300);
const TOTAL: Duration = Duration::from_millis(700);
const MAX_BODY: usize = 256 * 1024;
const MAX_REDIRECTS: usize = 3;

/// Short timeouts and small limits, so every hostile case ends in well under a second or two.
fn config() -> HttpConfig {
    HttpConfig::default()
        .connect_timeout(CONNECT)
        .timeout(TOTAL)
        .max_body(MAX_BODY)
        .max_redirects(MAX_REDIRECTS)
}

/// The three clients behind one synchronous call, so each cause runs against all of them:
/// the blocking one on the test's own (plain) thread, the async ones on a runtime.
struct Clients {
    runtime: tokio::runtime::Runtime,
    native: NativeHttp,
    threaded: ThreadedHttp,
    blocking: BlockingHttp,
}

impl Clients {
    fn new(config: HttpConfig) -> Clients {
        Clients {
            runtime: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
            native: NativeHttp::new(config).unwrap(),
            threaded: ThreadedHttp::new(config),
            blocking: BlockingHttp::new(config).unwrap(),
        }
    }

    /// GET `url` with each client: (client name, result).
    fn get(&self, url: &str) -> Vec<(&'static str, Result<String, HttpError>)> {
        vec![
            ("native", self.runtime.block_on(self.native.get(url))),
            ("threaded", self.runtime.block_on(self.threaded.get(url))),
            ("blocking", self.blocking.get(url)),
        ]
    }

    /// GET `url` with each client, expecting errors; each must name `url` exactly once.
    fn errors(&self, url: &str) -> Vec<(&'static str, HttpError)> {
        let errors: Vec<_> = self
            .get(url)
            .into_iter()
            .map(|(name, result)| match result {
                Err(e) => (name, e),
                Ok(body) => panic!("{name}: {url} gave Ok({:?})", &body[..body.len().min(80)]),
            })
            .collect();
        for (name, e) in &errors {
            assert_eq!(e.url(), Some(url), "{name}: {e:?}");
            assert_eq!(e.to_string().matches(url).count(), 1, "{name}: {e}");
        }
        errors
    }
}

/// A port that was free a moment ago: bind, read the port, release it.
fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn success_returns_the_body_as_text() {
    let server = TestServer::start().unwrap();
    let clients = Clients::new(config());
    for (name, body) in clients.get(&server.delay_url(10)) {
        assert_eq!(body.unwrap(), "waited 10 ms", "{name}");
    }
    // Exactly at the limit, declared or chunked, is still accepted.
    for url in [
        server.stream_url(MAX_BODY as u64),
        server.chunked_url(MAX_BODY as u64),
    ] {
        for (name, body) in clients.get(&url) {
            assert_eq!(body.unwrap().len(), MAX_BODY, "{name}: {url}");
        }
    }
    // A declared charset other than UTF-8 is decoded, not mangled.
    for (name, body) in clients.get(&server.sample_url(Sample::Latin1)) {
        assert_eq!(body.unwrap(), "café crème", "{name}");
    }
}

#[test]
fn the_defaults_are_finite_and_no_timeout_is_a_choice() {
    let defaults = HttpConfig::default();
    assert_eq!(defaults.connect_timeout, Some(Duration::from_secs(10)));
    assert_eq!(defaults.timeout, Some(Duration::from_secs(30)));
    assert_eq!(defaults.max_body, 8 * 1024 * 1024);
    assert_eq!(defaults.max_redirects, 10);
    assert_eq!(ThreadedHttp::default().config(), &defaults);
    let forever = defaults.no_timeout();
    assert_eq!((forever.connect_timeout, forever.timeout), (None, None));
    assert_eq!(
        forever.max_body, defaults.max_body,
        "no_timeout keeps the body limit"
    );
}

#[test]
fn a_server_that_never_answers_is_cut_off_by_a_timeout_that_says_which() {
    let server = TestServer::start().unwrap();
    let clients = Clients::new(config());
    let total = TimeLimit::Total(TOTAL);
    for fault in [Fault::Hang, Fault::Drip] {
        for (name, e) in clients.errors(&server.fault_url(fault)) {
            assert!(
                matches!(e, HttpError::Timeout { limit, .. } if limit == total),
                "{name}, {fault:?}: {e:?}"
            );
            assert!(
                e.to_string().contains("total timeout of 700ms"),
                "{name}: {e}"
            );
        }
    }
    let connect = TimeLimit::Connect(CONNECT);
    for (name, e) in clients.errors(&server.fault_url(Fault::NoAccept)) {
        assert!(
            matches!(e, HttpError::Timeout { limit, .. } if limit == connect),
            "{name}: {e:?}"
        );
        assert!(
            e.to_string().contains("connect timeout of 300ms"),
            "{name}: {e}"
        );
    }
}

#[test]
fn no_timeout_really_waits() {
    let server = TestServer::start().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let http = NativeHttp::new(HttpConfig::default().no_timeout()).unwrap();
    let hang = server.fault_url(Fault::Hang);
    let waited = runtime.block_on(async { tokio::time::timeout(TOTAL * 2, http.get(&hang)).await });
    assert!(waited.is_err(), "{waited:?}");
}

#[test]
fn a_body_over_the_limit_is_refused_without_reading_it_all() {
    // A GiB each way: declared (refused before reading), and chunked (stopped at the limit).
    let server = TestServer::start().unwrap();
    let clients = Clients::new(config());
    let gib = 1 << 30;
    for url in [server.stream_url(gib), server.chunked_url(gib)] {
        for (name, e) in clients.errors(&url) {
            assert!(
                matches!(
                    e,
                    HttpError::TooLarge {
                        limit: MAX_BODY,
                        ..
                    }
                ),
                "{name}: {e:?}"
            );
            assert!(e.to_string().contains("262144 bytes"), "{name}: {e}");
        }
    }
    // One byte over is over.
    let over = server.chunked_url(MAX_BODY as u64 + 1);
    for (name, e) in clients.errors(&over) {
        assert!(matches!(e, HttpError::TooLarge { .. }), "{name}: {e:?}");
    }
}

#[test]
fn a_body_that_is_not_text_is_an_error_naming_its_charset() {
    let server = TestServer::start().unwrap();
    let clients = Clients::new(config());
    let cases = [
        (Sample::InvalidUtf8, "utf-8", "index 3"),
        (Sample::Utf16Bom, "utf-8", "index 0"),
        (Sample::OctetStream, "utf-8", "index 128"),
        (Sample::Gzip, "utf-8", "Content-Encoding: gzip"),
        // Every value of the header counts, not only the first line's.
        (
            Sample::GzipSecondLine,
            "iso-8859-1",
            "Content-Encoding: identity, gzip",
        ),
        (Sample::ShiftJis, "shift_jis", "does not decode"),
    ];
    for (sample, expected, why) in cases {
        for (name, e) in clients.errors(&server.sample_url(sample)) {
            assert!(
                matches!(&e, HttpError::NotText { charset, .. } if charset == expected),
                "{name}, {sample:?}: {e:?}"
            );
            assert!(e.to_string().contains(why), "{name}, {sample:?}: {e}");
        }
    }
}

#[test]
fn a_connection_that_works_but_answers_no_http_is_a_protocol_error() {
    let server = TestServer::start().unwrap();
    let clients = Clients::new(config());
    let cases = [
        (Fault::Drop, "connection closed before message completed"),
        (Fault::GarbageStatus, "invalid HTTP version"),
        (Fault::HugeHeader, "message head is too large"),
    ];
    for (fault, cause) in cases {
        for (name, e) in clients.errors(&server.fault_url(fault)) {
            assert!(
                matches!(&e, HttpError::Protocol { cause: c, .. } if c.starts_with(cause)),
                "{name}, {fault:?}: {e:?}"
            );
        }
    }
}

#[test]
fn redirects_that_go_nowhere_name_the_loop_or_the_target() {
    let server = TestServer::start().unwrap();
    let clients = Clients::new(config());
    for (name, e) in clients.errors(&server.fault_url(Fault::RedirectLoop)) {
        assert!(
            matches!(
                e,
                HttpError::TooManyRedirects {
                    count: MAX_REDIRECTS,
                    ..
                }
            ),
            "{name}: {e:?}"
        );
    }
    // Targets that reqwest will not even try (not an `http::Uri`) are refused all the same,
    // never handed back as the 302 that carried them.
    let targets = [
        (Fault::RedirectToFtp, "ftp://127.0.0.1/file.txt"),
        (Fault::RedirectToFile, "file:///etc/passwd"),
        // The target is named as resolved: the URL standard drops a `localhost` file host.
        (Fault::RedirectToFileLocalhost, "file:///etc/passwd"),
        (Fault::RedirectToData, "data:text/plain,hello"),
    ];
    for (fault, target) in targets {
        for (name, e) in clients.errors(&server.fault_url(fault)) {
            assert!(
                matches!(&e, HttpError::UnsupportedRedirect { target: t, .. } if t == target),
                "{name}, {fault:?}: {e:?}"
            );
            assert!(e.to_string().contains(target), "{name}: {e}");
        }
    }
    // With redirects off, the 3xx itself is the answer.
    let none = Clients::new(config().max_redirects(0));
    for (name, e) in none.errors(&server.fault_url(Fault::RedirectLoop)) {
        assert!(
            matches!(e, HttpError::Status { status: 302, .. }),
            "{name}: {e:?}"
        );
    }
}

#[test]
fn each_remaining_variant_comes_from_its_real_cause_with_the_root_cause_once() {
    let server = TestServer::start().unwrap();
    let clients = Clients::new(config());

    let refused = format!("http://127.0.0.1:{}/", unused_port());
    for (name, e) in clients.errors(&refused) {
        assert!(matches!(e, HttpError::Connect { .. }), "{name}: {e:?}");
        // The operating system's words, once, and none of reqwest's layers.
        let message = e.to_string();
        assert_eq!(
            message.matches("Connection refused").count(),
            1,
            "{name}: {message}"
        );
        assert!(
            !message.contains("error sending request"),
            "{name}: {message}"
        );
    }
    for url in ["not a url", "ftp://127.0.0.1/file"] {
        for (name, e) in clients.errors(url) {
            assert!(matches!(e, HttpError::InvalidUrl { .. }), "{name}: {e:?}");
        }
    }
    for code in [404, 500] {
        for (name, e) in clients.errors(&server.status_url(code)) {
            assert!(
                matches!(e, HttpError::Status { status, .. } if status == code),
                "{name}: {e:?}"
            );
        }
    }
    for (name, e) in clients.errors(&server.truncated_url()) {
        assert!(matches!(e, HttpError::Body { .. }), "{name}: {e:?}");
    }
}

#[test]
fn an_abandoned_threaded_request_holds_its_thread_only_until_the_total_timeout() {
    // A caller gives up after 50 ms; the blocking thread cannot be interrupted and goes on, but
    // only until the client's total timeout, so dropping the runtime (which waits for it) ends.
    let server = TestServer::start().unwrap();
    let hang = server.fault_url(Fault::Hang);
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let http = ThreadedHttp::new(config());
        let gave_up = runtime.block_on(async {
            tokio::time::timeout(Duration::from_millis(50), http.get(&hang)).await
        });
        drop(runtime);
        let _ = done.send(gave_up.is_err());
    });
    let watchdog = Duration::from_secs(10);
    assert_eq!(
        finished.recv_timeout(watchdog),
        Ok(true),
        "the runtime never shut down"
    );
}

#[test]
fn a_threaded_request_on_a_runtime_that_is_gone_is_a_task_error() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let handle = runtime.handle().clone();
    runtime.shutdown_background();
    let http = ThreadedHttp::new(config());
    let url = "http://127.0.0.1:1/";
    match handle.block_on(http.get(url)) {
        Err(HttpError::Task {
            source: TaskError::Cancelled,
            url: u,
        }) => assert_eq!(u, url),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn blocking_client_refuses_to_run_on_a_runtime_thread_instead_of_panicking() {
    let built = BlockingHttp::new(config());
    assert!(matches!(built, Err(HttpError::Client { .. })), "{built:?}");

    // Built outside the runtime, then used (and dropped) inside it.
    let http = std::thread::spawn(|| BlockingHttp::new(config()).unwrap())
        .join()
        .unwrap();
    let used = http.get("http://127.0.0.1:1/");
    match used {
        Err(HttpError::Client { reason }) => assert!(reason.contains("threaded"), "{reason}"),
        other => panic!("expected a Client error, got {other:?}"),
    }
    drop(http); // must not panic on a runtime thread
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_client_refuses_a_raw_spawn_blocking_and_says_why_but_works_in_to_thread() {
    let refused = tokio::task::spawn_blocking(|| BlockingHttp::new(config()))
        .await
        .unwrap();
    match refused {
        Err(HttpError::Client { reason }) => {
            assert!(reason.contains("spawn_blocking"), "{reason}");
            assert!(reason.contains("to_thread"), "{reason}");
        }
        other => panic!("expected a Client error, got {other:?}"),
    }
    let server = TestServer::start().unwrap();
    let url = server.delay_url(1);
    let body = to_thread(move || BlockingHttp::new(config())?.get(&url)).await;
    assert_eq!(body.unwrap().unwrap(), "waited 1 ms");
}

#[tokio::test(flavor = "current_thread")]
async fn threaded_client_is_created_and_dropped_safely_on_a_current_thread_runtime() {
    let server = TestServer::start().unwrap();
    let http = ThreadedHttp::default();
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
    let http = NativeHttp::new(HttpConfig::default()).unwrap();
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
    let http: Arc<dyn HttpGet> = Arc::new(ThreadedHttp::default());
    let urls: Vec<String> = (0..6).map(|_| server.delay_url(200)).collect();
    let bodies = futures::future::join_all(urls.iter().map(|u| http.get(u))).await;
    assert!(bodies.iter().all(Result::is_ok));
    assert_eq!(server.peak_in_flight(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_by_one_never_overlaps_and_bounded_stays_under_its_limit() {
    use async_patterns::basics::gather;
    let server = TestServer::start().unwrap();
    let http = NativeHttp::new(HttpConfig::default()).unwrap();
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
        NativeHttp::new(HttpConfig::default())
            .unwrap()
            .get(&url)
            .await
    });
    assert_eq!(body.unwrap(), "waited 20 ms");
}

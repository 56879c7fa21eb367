//! A loopback HTTP server with latency and faults, on its own thread and runtime.
//!
//! Why its own thread: a client that blocks a runtime thread (the wrong way, or reqwest's
//! blocking client) would also block a server running on that runtime, and the request would
//! wait for an answer that can never be sent: a deadlock. The Python original hit exactly that.
//! Here the server's runtime lives on a thread nobody else uses, so whatever the client does to
//! its own threads, the server keeps answering.
//!
//! Routes (all `GET`):
//!
//! | route                 | answer                                                     |
//! |-----------------------|------------------------------------------------------------|
//! | `/`                   | `200 ok`                                                   |
//! | `/delay/{ms}`         | `200` after `ms` milliseconds                              |
//! | `/status/{code}`      | that status code (400 if it is not a valid code)           |
//! | `/bytes/{n}`          | `200` with a body of `n` bytes (at most 64 MiB)            |
//! | `/page/{n}?delay=ms`  | `200` with a small text page about item `n`, after `ms`    |
//! | `/truncated`          | `200`, then the body breaks off after a few bytes          |
//! | `/stream/{n}`         | `200` with `n` bytes streamed, `Content-Length` declared (any size) |
//! | `/chunked/{n}`        | the same, chunked: no length declared                      |
//! | `/sample/{name}`      | a body that tests the idea of text ([`Sample`])            |
//! | [`TestServer::fault_url`] | a fault a client must survive ([`Fault`])              |
//! | `/script/{pattern}`   | answers as a pattern says, request after request: failures, `Retry-After`, slow tails (`faults.rs`) |
//!
//! The streamed routes never hold their body: `/stream/1073741824` sends a GiB and costs the
//! server one static 64 KiB chunk. The faults that HTTP cannot express (a silence, a garbage
//! status line, a connection dropped before the answer) are written by hand on a second port,
//! and a third port never accepts; see `hostile.rs`.
//!
//! Any query string is ignored except `delay` on `/page`, so `?i=3` makes distinct URLs for the
//! same route. The server counts requests and records the peak number in flight, so a test can
//! prove with real sockets that requests overlapped.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

mod faults;
mod hostile;

use hostile::Port;
pub use hostile::{Fault, Sample};

/// The largest body `/bytes/{n}` will produce, so a typo cannot exhaust memory.
pub const MAX_BYTES: usize = 64 * 1024 * 1024;

/// Why the test server could not start.
#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    /// Binding a loopback port, or building the server's runtime, failed.
    #[error("test server I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// The server thread stopped before it was ready.
    #[error("the test server thread stopped before it was ready")]
    ThreadDied,
}

#[derive(Debug, Default)]
struct Stats {
    requests: AtomicU64,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    scripts: faults::Counters,
}

/// Counts a request in flight for as long as it lives, so a cancelled request is uncounted too.
struct InFlight(Arc<Stats>);

impl InFlight {
    fn enter(stats: &Arc<Stats>) -> Self {
        stats.requests.fetch_add(1, Ordering::SeqCst);
        let now = stats.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        stats.peak.fetch_max(now, Ordering::SeqCst);
        InFlight(Arc::clone(stats))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A running loopback server. Dropping it stops the server and joins its thread.
///
/// ```
/// use async_patterns::testkit::TestServer;
/// let server = TestServer::start()?;
/// assert!(server.delay_url(100).ends_with("/delay/100"));
/// # Ok::<(), async_patterns::testkit::TestkitError>(())
/// ```
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    raw_addr: SocketAddr,
    no_accept_addr: SocketAddr,
    stats: Arc<Stats>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// Bind three loopback ports and start serving on a new thread with its own runtime.
    ///
    /// A plain function, not async: it can be called from sync code, from `#[tokio::test]`, or
    /// from inside any runtime, because it does not touch the caller's runtime at all.
    pub fn start() -> Result<TestServer, TestkitError> {
        let listener = StdListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let raw_listener = StdListener::bind("127.0.0.1:0")?;
        raw_listener.set_nonblocking(true)?;
        // Bound here, so its address is known; it listens once the server's runtime runs.
        let no_accept = tokio::net::TcpSocket::new_v4()?;
        no_accept.bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let addr = listener.local_addr()?;
        let raw_addr = raw_listener.local_addr()?;
        let no_accept_addr = no_accept.local_addr()?;
        let listeners = (listener, raw_listener, no_accept);
        let stats = Arc::new(Stats::default());
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), std::io::Error>>();

        let server_stats = Arc::clone(&stats);
        let thread = std::thread::Builder::new()
            .name("testkit-server".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("testkit-server-worker")
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                runtime.block_on(serve(listeners, server_stats, stop, ready_tx));
                // Dropping the runtime here cancels every connection still open: the server
                // never outlives its `TestServer`.
            })?;

        match ready_rx.recv() {
            Ok(Ok(())) => Ok(TestServer {
                addr,
                raw_addr,
                no_accept_addr,
                stats,
                shutdown: Some(shutdown),
                thread: Some(thread),
            }),
            Ok(Err(e)) => Err(TestkitError::Io(e)),
            Err(_) => Err(TestkitError::ThreadDied),
        }
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:{port}`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The full URL of `path` (which should start with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A URL answered with `200` after `ms` milliseconds.
    pub fn delay_url(&self, ms: u64) -> String {
        self.url(&format!("/delay/{ms}"))
    }

    /// A URL answered with status `code`.
    pub fn status_url(&self, code: u16) -> String {
        self.url(&format!("/status/{code}"))
    }

    /// A URL answered with a body of `n` bytes.
    pub fn bytes_url(&self, n: usize) -> String {
        self.url(&format!("/bytes/{n}"))
    }

    /// A URL answered with a short text page about item `n`, after `delay_ms` milliseconds.
    pub fn page_url(&self, n: u64, delay_ms: u64) -> String {
        self.url(&format!("/page/{n}?delay={delay_ms}"))
    }

    /// A URL answered with `200` and a body that breaks off before it is complete.
    pub fn truncated_url(&self) -> String {
        self.url("/truncated")
    }

    /// A URL whose connection is accepted, read, and closed without any answer
    /// ([`Fault::Drop`]).
    pub fn drop_url(&self) -> String {
        self.fault_url(Fault::Drop)
    }

    /// A URL answered with `n` bytes, streamed, after a `Content-Length` of `n`.
    pub fn stream_url(&self, n: u64) -> String {
        self.url(&format!("/stream/{n}"))
    }

    /// A URL answered with `n` bytes, streamed in chunks with no declared length.
    pub fn chunked_url(&self, n: u64) -> String {
        self.url(&format!("/chunked/{n}"))
    }

    /// A URL answered with `sample`'s body and headers.
    pub fn sample_url(&self, sample: Sample) -> String {
        self.url(&format!("/sample/{}", sample.name()))
    }

    /// A URL that answers with `fault`.
    pub fn fault_url(&self, fault: Fault) -> String {
        let (path, port) = fault.path();
        let addr = match port {
            Port::Http => self.addr,
            Port::Raw => self.raw_addr,
            Port::NoAccept => self.no_accept_addr,
        };
        format!("http://{addr}{path}")
    }

    /// Requests received so far (including dropped ones).
    pub fn requests(&self) -> u64 {
        self.stats.requests.load(Ordering::SeqCst)
    }

    /// Requests being handled right now.
    pub fn in_flight(&self) -> usize {
        self.stats.in_flight.load(Ordering::SeqCst)
    }

    /// The most requests ever handled at the same moment.
    pub fn peak_in_flight(&self) -> usize {
        self.stats.peak.load(Ordering::SeqCst)
    }

    /// Zero the request count and restart the peak from the requests in flight now.
    pub fn reset_stats(&self) {
        self.stats.requests.store(0, Ordering::SeqCst);
        let now = self.stats.in_flight.load(Ordering::SeqCst);
        self.stats.peak.store(now, Ordering::SeqCst);
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    (listener, raw_listener, no_accept): (StdListener, StdListener, tokio::net::TcpSocket),
    stats: Arc<Stats>,
    stop: tokio::sync::oneshot::Receiver<()>,
    ready: std::sync::mpsc::Sender<Result<(), std::io::Error>>,
) {
    let listeners = async {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let raw_listener = tokio::net::TcpListener::from_std(raw_listener)?;
        // Held, never accepted from, until the server stops.
        let no_accept = hostile::fill_accept_queue(no_accept).await?;
        Ok((listener, raw_listener, no_accept))
    };
    let (listener, raw_listener, _no_accept) = match listeners.await {
        Ok(all) => all,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let app = Router::new()
        .route("/", get(|| async { "ok" }))
        .route("/delay/{ms}", get(delay))
        .route("/status/{code}", get(status))
        .route("/bytes/{n}", get(bytes))
        .route("/page/{n}", get(page))
        .route("/truncated", get(truncated))
        .merge(hostile::routes())
        .merge(faults::routes(Arc::clone(&stats)))
        .layer(middleware::from_fn_with_state(Arc::clone(&stats), track));
    let _ = ready.send(Ok(()));
    tokio::select! {
        _ = axum::serve(listener, app) => {}
        _ = hostile::raw_connections(raw_listener, stats) => {}
        _ = stop => {}
    }
}

async fn track(State(stats): State<Arc<Stats>>, request: Request, next: Next) -> Response {
    let _in_flight = InFlight::enter(&stats);
    next.run(request).await
}

async fn delay(Path(ms): Path<u64>) -> String {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    format!("waited {ms} ms")
}

async fn status(Path(code): Path<u16>) -> Response {
    match StatusCode::from_u16(code) {
        Ok(code) => (code, format!("status {}", code.as_u16())).into_response(),
        Err(_) => (
            StatusCode::BAD_REQUEST,
            format!("{code} is not a status code"),
        )
            .into_response(),
    }
}

async fn bytes(Path(n): Path<usize>) -> Response {
    if n > MAX_BYTES {
        return (
            StatusCode::BAD_REQUEST,
            format!("at most {MAX_BYTES} bytes"),
        )
            .into_response();
    }
    "x".repeat(n).into_response()
}

async fn page(Path(n): Path<u64>, Query(q): Query<HashMap<String, String>>) -> String {
    // A map rather than a derived struct: no serde derive dependency for one optional number.
    if let Some(ms) = q.get("delay").and_then(|v| v.parse::<u64>().ok()) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    // A deterministic page: a title line and a body whose word count depends on n.
    let words = (n % 7) + 3;
    let body: Vec<String> = (0..words)
        .map(|w| format!("word{}", (n + w) % 10))
        .collect();
    format!("title: item {n}\nwords: {}\n", body.join(" "))
}

/// Headers and the start of a body, then an error: hyper aborts the connection mid-body, so the
/// client sees a response whose body cannot be read.
async fn truncated() -> Body {
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(Bytes::from_static(b"the start of a body")),
        Err(std::io::Error::other(
            "the testkit broke this body off on purpose",
        )),
    ];
    // The pause lets hyper flush the headers and the first chunk before the error arrives;
    // without it the error would come before anything was sent.
    let paced = futures::StreamExt::then(futures::stream::iter(chunks), |chunk| async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        chunk
    });
    Body::from_stream(paced)
}

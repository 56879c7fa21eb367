//! The hostile half of the test server: answers no client should trust.
//!
//! Some faults can be spoken in HTTP (a body that never ends, a redirect loop, bytes that are
//! not text), so they are axum routes ([`routes`]). Others cannot: a status line that is not
//! HTTP, a connection closed before any answer, a silence. Those are served by hand on a second
//! port ([`raw_connections`]), where we write whatever bytes we like.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{InFlight, Stats};

/// Faults a client must survive: each answers with an error the client should name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The request is read, then the connection closed without a word.
    Drop,
    /// The request is read, and no answer ever comes: only a timeout ends the wait.
    Hang,
    /// The connection is never accepted: the port's accept queue is full, and Linux leaves the
    /// handshake unanswered, so only a connect timeout ends the wait.
    NoAccept,
    /// `200`, then the body one byte a second, forever.
    Drip,
    /// A status line that is not HTTP (`HELLO THERE`).
    GarbageStatus,
    /// A status line, then a header of 2 MiB.
    HugeHeader,
    /// A redirect to itself, forever.
    RedirectLoop,
    /// A redirect to an `ftp://` URL.
    RedirectToFtp,
    /// A redirect to `file:///etc/passwd`: a local file, which no HTTP client should read.
    RedirectToFile,
    /// A redirect to `file://localhost/etc/passwd`, the same file named through a host.
    RedirectToFileLocalhost,
    /// A redirect to `data:text/plain,hello`: a body carried in the URL itself.
    RedirectToData,
}

impl Fault {
    /// The path that serves this fault, and whether it is on the raw port.
    pub(super) fn path(self) -> (&'static str, Port) {
        match self {
            Fault::Drop => ("/drop", Port::Raw),
            Fault::Hang => ("/hang", Port::Raw),
            Fault::NoAccept => ("/", Port::NoAccept),
            Fault::Drip => ("/drip", Port::Http),
            Fault::GarbageStatus => ("/garbage", Port::Raw),
            Fault::HugeHeader => ("/huge-header", Port::Raw),
            Fault::RedirectLoop => ("/redirect/loop", Port::Http),
            Fault::RedirectToFtp => ("/redirect/ftp", Port::Http),
            Fault::RedirectToFile => ("/redirect/file", Port::Http),
            Fault::RedirectToFileLocalhost => ("/redirect/file-localhost", Port::Http),
            Fault::RedirectToData => ("/redirect/data", Port::Http),
        }
    }
}

/// Which of the server's ports serves a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Port {
    Http,
    Raw,
    NoAccept,
}

/// Bodies that test a client's idea of text. Only [`Latin1`](Sample::Latin1) is text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sample {
    /// `abc\xff\xc3(def` as `text/plain` with no charset: invalid UTF-8 at index 3.
    InvalidUtf8,
    /// `café crème` in ISO-8859-1, declared as `text/plain; charset=iso-8859-1`.
    Latin1,
    /// `hello, gzip` compressed, sent with `Content-Encoding: gzip`.
    Gzip,
    /// The bytes 0 to 255 as `application/octet-stream`.
    OctetStream,
    /// `hi` in UTF-16 after its byte-order mark `\xff\xfe`, as `text/plain` with no charset.
    Utf16Bom,
    /// ASCII letters declared as `charset=shift_jis`, a charset the clients do not decode.
    ShiftJis,
    /// `hello, gzip` compressed, declared as ISO-8859-1 (in which any bytes decode), with
    /// `Content-Encoding` sent on two header lines: `identity`, then `gzip`.
    GzipSecondLine,
}

impl Sample {
    /// The route's name under `/sample/`.
    pub(super) fn name(self) -> &'static str {
        match self {
            Sample::InvalidUtf8 => "invalid-utf8",
            Sample::Latin1 => "latin1",
            Sample::Gzip => "gzip",
            Sample::OctetStream => "octet-stream",
            Sample::Utf16Bom => "utf16-bom",
            Sample::ShiftJis => "shift-jis",
            Sample::GzipSecondLine => "gzip-second-line",
        }
    }
}

/// The faults and samples that HTTP can express, and bodies of any size, streamed.
pub(super) fn routes() -> Router {
    Router::new()
        .route("/drip", get(drip))
        .route("/redirect/loop", get(|| redirect("/redirect/loop")))
        .route(
            "/redirect/ftp",
            get(|| redirect("ftp://127.0.0.1/file.txt")),
        )
        .route("/redirect/file", get(|| redirect("file:///etc/passwd")))
        .route(
            "/redirect/file-localhost",
            get(|| redirect("file://localhost/etc/passwd")),
        )
        .route("/redirect/data", get(|| redirect("data:text/plain,hello")))
        .route("/sample/{name}", get(sample))
        .route(
            "/stream/{n}",
            get(|Path(n): Path<u64>| async move { stream(n, true) }),
        )
        .route(
            "/chunked/{n}",
            get(|Path(n): Path<u64>| async move { stream(n, false) }),
        )
}

async fn redirect(to: &'static str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
}

async fn sample(Path(name): Path<String>) -> Response {
    let text = "text/plain";
    let latin1 = "text/plain; charset=iso-8859-1";
    // Each value of `encodings` is a `Content-Encoding` header line of its own.
    let (content_type, encodings, bytes): (&str, &[&'static str], &'static [u8]) =
        match name.as_str() {
            "invalid-utf8" => (text, &[], b"abc\xff\xc3(def"),
            "latin1" => (latin1, &[], b"caf\xe9 cr\xe8me"),
            "gzip" => (text, &["gzip"], GZIP_HELLO),
            "gzip-second-line" => (latin1, &["identity", "gzip"], GZIP_HELLO),
            "octet-stream" => ("application/octet-stream", &[], &ALL_BYTES),
            "utf16-bom" => (text, &[], b"\xff\xfeh\x00i\x00"),
            "shift-jis" => ("text/plain; charset=shift_jis", &[], b"konnichiwa"),
            _ => return StatusCode::NOT_FOUND.into_response(),
        };
    let mut response = ([(header::CONTENT_TYPE, content_type)], bytes).into_response();
    for encoding in encodings {
        let value = header::HeaderValue::from_static(encoding);
        response
            .headers_mut()
            .append(header::CONTENT_ENCODING, value);
    }
    response
}

/// `hello, gzip`, gzip-compressed.
const GZIP_HELLO: &[u8] = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\xcb\x48\xcd\xc9\xc9\xd7\x51\x48\xaf\xca\x2c\x00\x00\x4a\x9b\xb1\x5c\x0b\x00\x00\x00";

/// Every byte value once, in order.
static ALL_BYTES: [u8; 256] = {
    let mut all = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        all[i] = i as u8;
        i += 1;
    }
    all
};

/// One chunk of a streamed body; every chunk is this same static memory.
static CHUNK: [u8; 64 * 1024] = [b'x'; 64 * 1024];

/// `n` bytes of `x`, produced a chunk at a time so the server never holds the body: a GiB costs
/// it 64 KiB. `declared`: with `Content-Length`, or chunked with no length.
fn stream(n: u64, declared: bool) -> Response {
    let chunks = futures::stream::unfold(n, |left| async move {
        let size = usize::try_from(left).unwrap_or(usize::MAX).min(CHUNK.len());
        (size > 0).then(|| {
            let chunk = Ok::<_, Infallible>(Bytes::from_static(&CHUNK[..size]));
            (chunk, left - size as u64)
        })
    });
    let mut response = Body::from_stream(chunks).into_response();
    if declared {
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, header::HeaderValue::from(n));
    }
    response
}

/// `200`, then one byte a second for as long as the client listens.
async fn drip() -> Body {
    let bytes = futures::stream::unfold(true, |first| async move {
        if !first {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        Some((Ok::<_, Infallible>(Bytes::from_static(b"x")), false))
    });
    Body::from_stream(bytes)
}

/// Serve the raw port: read the request line, then misbehave as its path asks.
pub(super) async fn raw_connections(listener: tokio::net::TcpListener, stats: Arc<Stats>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            // Out of file descriptors, say: back off instead of spinning on the error.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let stats = Arc::clone(&stats);
        tokio::spawn(async move {
            let _in_flight = InFlight::enter(&stats);
            let mut request = [0u8; 4096];
            let read = stream.read(&mut request).await.unwrap_or(0);
            // "GET /path?query HTTP/1.1": the second word, without its query.
            let line = String::from_utf8_lossy(&request[..read]);
            let target = line.split_whitespace().nth(1).unwrap_or("/");
            let path = target.split('?').next().unwrap_or(target);
            // Write errors are ignored: a client that gives up closes the socket mid-write.
            match path {
                "/hang" => std::future::pending::<()>().await,
                "/garbage" => {
                    let _ = stream.write_all(b"HELLO THERE\r\n\r\n").await;
                }
                "/huge-header" => {
                    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nX-Huge: ").await;
                    for _ in 0..32 {
                        if stream.write_all(&CHUNK).await.is_err() {
                            break;
                        }
                    }
                    let _ = stream.write_all(b"\r\n\r\nbody").await;
                }
                // "/drop" and anything else: close without a word.
                _ => {}
            }
        });
    }
}

/// Bind the no-accept port: listening, with an accept queue of one that `filler` occupies.
pub(super) async fn fill_accept_queue(
    socket: tokio::net::TcpSocket,
) -> std::io::Result<(tokio::net::TcpListener, tokio::net::TcpStream)> {
    let addr = socket.local_addr()?;
    // A backlog of 0 leaves room for one connection waiting to be accepted; never accepting,
    // and taking that place ourselves, leaves none: a client's handshake goes unanswered.
    let listener = socket.listen(0)?;
    let filler = tokio::net::TcpStream::connect(addr).await?;
    Ok((listener, filler))
}

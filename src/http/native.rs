//! `req_http_aio`: the native async `reqwest::Client`, the better alternative.
//!
//! aiohttp's counterpart. No thread per request: the client's sockets are registered with the
//! runtime's I/O driver, and a task waiting for a response costs a few hundred bytes, not a
//! thread. One `Client` is built and reused, so connections are pooled across requests (building
//! a client per request would pay a fresh TCP, and TLS, handshake every time).
//!
//! Dropping the future cancels the request at once: the socket is closed (or returned to the
//! pool) and no thread is left working for a result nobody will read.
//!
//! ```text
//! async fn get(url) -> Result<String> { to_thread(move || blocking.get(url)).await } // threaded
//! async fn get(url) -> Result<String> { client.get(url).send().await?.text().await }  // native
//! ```
//!
//! The real `get` reads the body chunk by chunk rather than with `text()`, so it can stop at the
//! [`HttpConfig`]'s body limit: `text()` would buffer whatever the server sends.

use async_trait::async_trait;

use crate::http::body::TextBody;
use crate::http::errors::{Phase, from_reqwest, parse_url};
use crate::http::{HttpConfig, HttpError, HttpGet};

/// The async reqwest client behind [`HttpGet`]. Clones share one connection pool.
///
/// ```no_run
/// use async_patterns::http::native::NativeHttp;
/// use async_patterns::http::{HttpConfig, HttpGet};
/// # async fn demo() -> Result<(), async_patterns::http::HttpError> {
/// let http = NativeHttp::new(HttpConfig::default())?;
/// let body = http.get("http://127.0.0.1:8080/").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct NativeHttp {
    client: reqwest::Client,
    config: HttpConfig,
}

impl NativeHttp {
    /// A client with `config`'s limits ([`HttpConfig::default`]: 10 s to connect, 30 s in all,
    /// 8 MiB of body, 10 redirects).
    pub fn new(config: HttpConfig) -> Result<Self, HttpError> {
        NativeHttp::from_builder(reqwest::Client::builder(), config)
    }

    /// A client built from a builder configured elsewhere (proxies, headers, pool sizes), with
    /// `config`'s limits applied on top: its timeouts and redirect policy replace the builder's.
    pub fn from_builder(
        builder: reqwest::ClientBuilder,
        config: HttpConfig,
    ) -> Result<Self, HttpError> {
        let mut builder = builder.redirect(config.redirect_policy());
        if let Some(limit) = config.connect_timeout {
            builder = builder.connect_timeout(limit);
        }
        // reqwest's `timeout` runs from the start of the request to the end of the body: the
        // total limit, so a server that sends one byte a second is cut off too.
        if let Some(limit) = config.timeout {
            builder = builder.timeout(limit);
        }
        let client = builder.build().map_err(|e| HttpError::Client {
            reason: format!("could not build the async client: {e}"),
        })?;
        Ok(NativeHttp { client, config })
    }

    /// The limits this client applies.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }
}

#[async_trait]
impl HttpGet for NativeHttp {
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        let config = &self.config;
        let failed = |phase| move |e| from_reqwest(url, &e, phase, config);
        let parsed = parse_url(url)?;
        let mut response = self
            .client
            .get(parsed)
            .send()
            .await
            .map_err(failed(Phase::Send))?;
        let (status, length) = (response.status(), response.content_length());
        let mut body = TextBody::start(url, status, response.headers(), length, config)?;
        // One chunk at a time into one buffer: the limit is checked before each chunk is kept.
        while let Some(chunk) = response.chunk().await.map_err(failed(Phase::Body))? {
            body.push(&chunk)?;
        }
        body.finish()
    }
}

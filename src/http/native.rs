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

use std::time::Duration;

use async_trait::async_trait;

use crate::http::{HttpError, HttpGet, body_error, check_status, from_reqwest, parse_url};

/// The async reqwest client behind [`HttpGet`]. Clones share one connection pool.
#[derive(Debug, Clone)]
pub struct NativeHttp {
    client: reqwest::Client,
}

impl NativeHttp {
    /// A client whose requests time out after `timeout` (`None`: never).
    pub fn new(timeout: Option<Duration>) -> Result<Self, HttpError> {
        let mut builder = reqwest::Client::builder();
        if let Some(timeout) = timeout {
            builder = builder.timeout(timeout);
        }
        let client = builder.build().map_err(|e| HttpError::Client {
            reason: format!("could not build the async client: {e}"),
        })?;
        Ok(NativeHttp { client })
    }

    /// Wrap a client configured elsewhere (proxies, headers, pool sizes).
    pub fn with_client(client: reqwest::Client) -> Self {
        NativeHttp { client }
    }
}

#[async_trait]
impl HttpGet for NativeHttp {
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        let parsed = parse_url(url)?;
        let response = self
            .client
            .get(parsed)
            .send()
            .await
            .map_err(|e| from_reqwest(url, e))?;
        check_status(url, response.status())?;
        response.text().await.map_err(|e| body_error(url, e))
    }
}

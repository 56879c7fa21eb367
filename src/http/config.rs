//! [`HttpConfig`]: the limits every client applies, written once for all three.
//!
//! A client without limits trusts the server: to answer at all, to answer in time, to send a
//! body that fits in memory, to stop redirecting. A hostile or broken server breaks each of
//! those trusts, so every limit here is finite by default, and "no limit" is a choice a caller
//! has to spell out ([`HttpConfig::no_timeout`]).

use std::time::Duration;

/// The limits of a client: timeouts, the largest body, the longest redirect chain.
///
/// | setting | default | set with |
/// |---|---|---|
/// | connect timeout | 10 s | [`connect_timeout`](HttpConfig::connect_timeout) |
/// | total timeout (connect, headers and the whole body) | 30 s | [`timeout`](HttpConfig::timeout) |
/// | largest body | 8 MiB | [`max_body`](HttpConfig::max_body) |
/// | redirects followed | 10 | [`max_redirects`](HttpConfig::max_redirects) |
///
/// ```
/// use std::time::Duration;
/// use async_patterns::http::HttpConfig;
///
/// let patient = HttpConfig::default()
///     .timeout(Duration::from_secs(120))
///     .max_body(64 * 1024 * 1024);
/// assert_eq!(patient.timeout, Some(Duration::from_secs(120)));
///
/// // Waiting forever is allowed, but it has to be asked for.
/// let forever = HttpConfig::default().no_timeout();
/// assert_eq!(forever.timeout, None);
/// ```
///
/// The fields can be read and changed in place; `#[non_exhaustive]` keeps them from being
/// listed in a literal, so a limit added later cannot be left out by accident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpConfig {
    /// How long to wait for a connection (`None`: as long as the operating system does).
    pub connect_timeout: Option<Duration>,
    /// How long a whole request may take, body included (`None`: forever).
    pub timeout: Option<Duration>,
    /// The largest body accepted, in bytes.
    pub max_body: usize,
    /// The most redirects followed in one chain.
    pub max_redirects: usize,
}

impl HttpConfig {
    /// The default connect timeout: 10 s.
    pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
    /// The default total timeout: 30 s, reqwest's own default for its blocking client.
    pub const TIMEOUT: Duration = Duration::from_secs(30);
    /// The default largest body: 8 MiB, far more than a web page, far less than a machine's memory.
    pub const MAX_BODY: usize = 8 * 1024 * 1024;
    /// The default number of redirects followed: 10, reqwest's and browsers' usual limit.
    pub const MAX_REDIRECTS: usize = 10;

    /// Give up connecting after `limit`.
    pub fn connect_timeout(mut self, limit: Duration) -> Self {
        self.connect_timeout = Some(limit);
        self
    }

    /// Give up on a request that has not delivered its whole body `limit` after it started.
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// Wait as long as the server and the operating system let us: no connect and no total
    /// timeout. A server that accepts and never answers then holds the request forever.
    pub fn no_timeout(mut self) -> Self {
        self.connect_timeout = None;
        self.timeout = None;
        self
    }

    /// Refuse bodies larger than `bytes` (with [`HttpError::TooLarge`](crate::http::HttpError::TooLarge)).
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Follow at most `count` redirects in a chain (0: follow none, return the 3xx as a
    /// [`Status`](crate::http::HttpError::Status) error).
    pub fn max_redirects(mut self, count: usize) -> Self {
        self.max_redirects = count;
        self
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Some(HttpConfig::CONNECT_TIMEOUT),
            timeout: Some(HttpConfig::TIMEOUT),
            max_body: HttpConfig::MAX_BODY,
            max_redirects: HttpConfig::MAX_REDIRECTS,
        }
    }
}

/// Why our redirect policy refused to follow: left in reqwest's error chain, read back by
/// [`from_reqwest`](crate::http::errors::from_reqwest) to pick the variant.
#[cfg(feature = "http")]
#[derive(Debug, thiserror::Error)]
pub(crate) enum RedirectRefused {
    #[error("still redirecting after {0} redirects")]
    Limit(usize),
    #[error("a redirect to {0}, which is not http or https")]
    Scheme(String),
}

#[cfg(feature = "http")]
impl HttpConfig {
    /// The redirect policy both reqwest clients get: the scheme first (reqwest's own check would
    /// name the original URL, not the target), then the length of the chain.
    pub(crate) fn redirect_policy(&self) -> reqwest::redirect::Policy {
        let max = self.max_redirects;
        reqwest::redirect::Policy::custom(move |attempt| {
            let scheme = attempt.url().scheme();
            if scheme != "http" && scheme != "https" {
                let target = attempt.url().to_string();
                attempt.error(RedirectRefused::Scheme(target))
            } else if max == 0 {
                // Not following at all: the 3xx itself is the answer, and check_status says so.
                attempt.stop()
            } else if attempt.previous().len() > max {
                // `previous` holds the first URL and every target followed so far.
                attempt.error(RedirectRefused::Limit(max))
            } else {
                attempt.follow()
            }
        })
    }

    /// The error for a redirect that reqwest handed back instead of following, because its
    /// target is not an http or https URL: `None` for every other answer.
    ///
    /// The policy above never sees such a redirect: reqwest offers it only targets that are
    /// valid `http::Uri`s, which `file:///etc/passwd` and `data:text/plain,hi` are not, and
    /// returns the 3xx itself for the rest. So the answer is checked again here, and the
    /// redirect is refused by name rather than passed off as a plain status.
    pub(crate) fn unfollowed_redirect(
        &self,
        url: &str,
        status: reqwest::StatusCode,
        headers: &reqwest::header::HeaderMap,
    ) -> Option<crate::http::HttpError> {
        // The statuses reqwest follows; with redirects off, the 3xx is the answer.
        let followed = matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308);
        if !followed || self.max_redirects == 0 {
            return None;
        }
        let location = headers.get(reqwest::header::LOCATION)?.to_str().ok()?;
        let target = reqwest::Url::parse(url).ok()?.join(location).ok()?;
        (target.scheme() != "http" && target.scheme() != "https").then(|| {
            crate::http::HttpError::UnsupportedRedirect {
                url: url.to_owned(),
                target: target.to_string(),
            }
        })
    }
}

//! Reading an answer's body: chunk by chunk into one buffer, stopped at the limit, decoded by
//! its declared charset. Both reqwest clients feed the same [`TextBody`].
//!
//! What the headers already say is checked before a byte of the body is read: the status, a
//! compression we do not undo, a `Content-Length` over the limit, a charset we cannot decode.
//! Then the chunks go into one `Vec` (sized from `Content-Length` when it is given), and the
//! first chunk that would pass the limit ends the request. Decoding UTF-8 reuses that `Vec` as
//! the `String`, so an accepted body is held once, not twice.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderMap};

use crate::http::{HttpConfig, HttpError};

/// The charsets the clients decode. Anything else is [`HttpError::NotText`] naming it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Charset {
    Utf8,
    Ascii,
    Latin1,
}

impl Charset {
    /// The charset a label names (case-insensitive), if it is one we decode.
    fn from_label(label: &str) -> Option<Charset> {
        match label.to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Some(Charset::Utf8),
            "us-ascii" | "ascii" => Some(Charset::Ascii),
            "iso-8859-1" | "iso8859-1" | "iso_8859-1" | "latin1" | "latin-1" | "l1" => {
                Some(Charset::Latin1)
            }
            _ => None,
        }
    }
}

/// The `charset` parameter of a `Content-Type` header, unquoted, if there is one.
fn declared_charset(headers: &HeaderMap) -> Option<String> {
    let content_type = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// Every content coding the answer declares, in order, from every `Content-Encoding` line
/// (a line may list several, comma-separated); a value that is not text counts as a coding.
fn content_codings(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(CONTENT_ENCODING)
        .iter()
        .flat_map(|line| {
            let line = String::from_utf8_lossy(line.as_bytes()).into_owned();
            let codings: Vec<String> = line.split(',').map(|c| c.trim().to_owned()).collect();
            codings
        })
        .filter(|coding| !coding.is_empty())
        .collect()
}

/// The body of one answer, collected as it arrives and decoded at the end.
#[derive(Debug)]
pub(crate) struct TextBody<'a> {
    url: &'a str,
    limit: usize,
    label: String,
    charset: Charset,
    bytes: Vec<u8>,
}

impl<'a> TextBody<'a> {
    /// Check the answer's head, and get ready for its body.
    pub(crate) fn start(
        url: &'a str,
        status: StatusCode,
        headers: &HeaderMap,
        content_length: Option<u64>,
        config: &HttpConfig,
    ) -> Result<TextBody<'a>, HttpError> {
        if let Some(refused) = config.unfollowed_redirect(url, status, headers) {
            return Err(refused);
        }
        if !status.is_success() {
            // A 429 or 503 may say when to come back: `Retry-After` is read there.
            return Err(crate::http::retry_after::refused(url, status, headers));
        }
        let label = declared_charset(headers).unwrap_or_else(|| "utf-8".to_owned());
        let not_text = |reason: String| HttpError::NotText {
            url: url.to_owned(),
            charset: label.clone(),
            reason,
        };
        // reqwest is built without decompression here, so it never asks for a compressed body;
        // a server that sends one anyway sends bytes we would only turn into mojibake. The
        // codings may be split over several header lines (`identity`, then `gzip`): every one
        // of them counts, not only the first line's.
        let codings = content_codings(headers);
        if codings.iter().any(|c| !c.eq_ignore_ascii_case("identity")) {
            return Err(not_text(format!(
                "it is compressed (Content-Encoding: {}), and this client does not decompress",
                codings.join(", ")
            )));
        }
        let limit = config.max_body;
        let declared = content_length.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
        if declared.is_some_and(|n| n > limit) {
            // The server said how much is coming: refuse before reading any of it.
            return Err(HttpError::TooLarge {
                url: url.to_owned(),
                limit,
            });
        }
        let Some(charset) = Charset::from_label(&label) else {
            return Err(not_text(
                "a charset this client does not decode (it decodes utf-8, us-ascii and iso-8859-1)"
                    .to_owned(),
            ));
        };
        Ok(TextBody {
            url,
            limit,
            label,
            charset,
            // The declared length, already known to be within the limit, is the one allocation.
            bytes: Vec::with_capacity(declared.unwrap_or(0)),
        })
    }

    /// Add the next chunk, or fail if it would take the body past the limit.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Result<(), HttpError> {
        if chunk.len() > self.limit - self.bytes.len() {
            return Err(HttpError::TooLarge {
                url: self.url.to_owned(),
                limit: self.limit,
            });
        }
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }

    /// The whole body as text, or why it is not text in its charset.
    pub(crate) fn finish(self) -> Result<String, HttpError> {
        let TextBody {
            url,
            label,
            charset,
            bytes,
            ..
        } = self;
        let not_text = |reason: String| HttpError::NotText {
            url: url.to_owned(),
            charset: label.clone(),
            reason,
        };
        match charset {
            // `from_utf8` takes the Vec and keeps its buffer: no second copy of the body.
            Charset::Utf8 => match String::from_utf8(bytes) {
                Ok(mut text) => {
                    // A byte-order mark says "UTF-8"; it is not part of the text.
                    if text.starts_with('\u{feff}') {
                        text.drain(..'\u{feff}'.len_utf8());
                    }
                    Ok(text)
                }
                Err(e) => Err(not_text(e.utf8_error().to_string())),
            },
            // ASCII text is already UTF-8; only the check differs.
            Charset::Ascii => match bytes.iter().position(|b| !b.is_ascii()) {
                None => String::from_utf8(bytes).map_err(|e| not_text(e.to_string())),
                Some(at) => Err(not_text(format!(
                    "byte {:#04x} at index {at} is not ASCII",
                    bytes[at]
                ))),
            },
            // ISO-8859-1 maps every byte to the code point of the same number: always text.
            // Bytes above 0x7f take two bytes in UTF-8, so this one needs a new buffer.
            Charset::Latin1 if bytes.is_ascii() => {
                String::from_utf8(bytes).map_err(|e| not_text(e.to_string()))
            }
            Charset::Latin1 => Ok(bytes.iter().map(|&b| char::from(b)).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn body(content_type: &str, bytes: &[u8]) -> Result<String, HttpError> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
        let config = HttpConfig::default().max_body(64);
        let mut body = TextBody::start("http://x/", StatusCode::OK, &headers, None, &config)?;
        body.push(bytes)?;
        body.finish()
    }

    #[test]
    fn decodes_by_the_declared_charset() {
        assert_eq!(body("text/plain", b"caf\xc3\xa9").unwrap(), "café");
        assert_eq!(body("text/plain", b"\xef\xbb\xbfhi").unwrap(), "hi");
        let latin1 = "text/plain; Charset=\"ISO-8859-1\"";
        assert_eq!(body(latin1, b"caf\xe9").unwrap(), "café");
        assert_eq!(body("text/plain; charset=us-ascii", b"abc").unwrap(), "abc");
    }

    #[test]
    fn refuses_what_is_not_text_and_says_why() {
        let bad = body("text/plain", b"abc\xff\xc3(def").unwrap_err();
        assert!(
            matches!(&bad, HttpError::NotText { charset, reason, .. }
                if charset == "utf-8" && reason.contains("index 3")),
            "{bad}"
        );
        let ascii = body("text/plain; charset=us-ascii", b"caf\xe9").unwrap_err();
        assert!(ascii.to_string().contains("index 3"), "{ascii}");
        let sjis = body("text/plain; charset=Shift_JIS", b"abc").unwrap_err();
        assert!(
            matches!(&sjis, HttpError::NotText { charset, .. } if charset == "Shift_JIS"),
            "{sjis}"
        );
    }

    #[test]
    fn every_content_encoding_line_counts() {
        let config = HttpConfig::default();
        let start = |lines: &[&'static str]| {
            let mut headers = HeaderMap::new();
            for line in lines {
                headers.append(CONTENT_ENCODING, HeaderValue::from_static(line));
            }
            TextBody::start("http://x/", StatusCode::OK, &headers, None, &config).map(|_| ())
        };
        assert!(start(&["identity"]).is_ok());
        assert!(start(&["identity", " IDENTITY , identity"]).is_ok());
        for compressed in [&["identity", "gzip"][..], &["identity, br"], &["gzip"]] {
            let e = start(compressed).unwrap_err();
            assert!(
                matches!(e, HttpError::NotText { .. }),
                "{compressed:?}: {e}"
            );
        }
    }

    #[test]
    fn an_accepted_body_is_held_once() {
        // The declared length is the one allocation, and the String reuses it.
        let config = HttpConfig::default().max_body(1024);
        let (headers, ok) = (HeaderMap::new(), StatusCode::OK);
        let mut body = TextBody::start("http://x/", ok, &headers, Some(1000), &config).unwrap();
        let before = body.bytes.as_ptr();
        for _ in 0..10 {
            body.push(&[b'x'; 100]).unwrap();
        }
        let text = body.finish().unwrap();
        assert_eq!((text.len(), text.capacity()), (1000, 1000));
        assert_eq!(text.as_ptr(), before);
    }

    #[test]
    fn stops_at_the_limit() {
        let config = HttpConfig::default().max_body(4);
        let headers = HeaderMap::new();
        let ok = StatusCode::OK;
        let mut body = TextBody::start("http://x/", ok, &headers, None, &config).unwrap();
        body.push(b"abcd").unwrap();
        assert!(matches!(
            body.push(b"e"),
            Err(HttpError::TooLarge { limit: 4, .. })
        ));
        let declared = TextBody::start("http://x/", ok, &headers, Some(5), &config);
        assert!(matches!(
            declared,
            Err(HttpError::TooLarge { limit: 4, .. })
        ));
    }
}

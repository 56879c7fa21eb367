//! `Retry-After`: when a server that refused us says to come back.
//!
//! A 429 (too many requests) or a 503 (unavailable) may carry a `Retry-After` header, either a
//! number of seconds (`Retry-After: 2`) or a date (`Retry-After: Wed, 21 Oct 2015 07:28:00
//! GMT`). The three clients read it here, so a retry can wait as long as the server asked
//! instead of guessing ([`HttpError::RetryAfter`]). A header that is neither form, or any other
//! refused status, stays a plain [`HttpError::Status`].
//!
//! Dates are read in the one format servers must send (RFC 9110's IMF-fixdate); the two
//! obsolete formats are ignored, so the answer falls back to a plain status and the caller's
//! own backoff.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::http::HttpError;

/// The error for an answer with a status outside 200..=299: [`HttpError::RetryAfter`] for a 429
/// or 503 that says when to come back, [`HttpError::Status`] for everything else.
pub(crate) fn refused(url: &str, status: StatusCode, headers: &HeaderMap) -> HttpError {
    let url = url.to_owned();
    let status = status.as_u16();
    let asked = (status == 429 || status == 503)
        .then(|| headers.get(RETRY_AFTER)?.to_str().ok())
        .flatten()
        .and_then(|value| parse(value, SystemTime::now()));
    match asked {
        Some(retry_after) => HttpError::RetryAfter {
            url,
            status,
            retry_after,
        },
        None => HttpError::Status { url, status },
    }
}

/// A `Retry-After` value as a wait from `now`: seconds as they are, a date as the time until it
/// (zero once it has passed). `None` for anything else.
fn parse(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = UNIX_EPOCH + Duration::from_secs(imf_fixdate(value)?);
    // A date in the past means "now": the server's clock and ours need not agree.
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Seconds since the Unix epoch of an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
fn imf_fixdate(value: &str) -> Option<u64> {
    let parts: Vec<&str> = value.split_ascii_whitespace().collect();
    let [_weekday, day, month, year, time, "GMT"] = parts[..] else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == month)? as u64 + 1;
    let (day, year): (u64, u64) = (day.parse().ok()?, year.parse().ok()?);
    let mut clock = time.split(':').map(|n| n.parse::<u64>().ok());
    let (h, m, s) = (clock.next()??, clock.next()??, clock.next()??);
    if clock.next().is_some() || !(1970..=9999).contains(&year) || !(1..=31).contains(&day) {
        return None;
    }
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(days_since_epoch(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

/// Days from 1970-01-01 to a date of the Gregorian calendar (Howard Hinnant's
/// `days_from_civil`, for years from 1970 on).
fn days_since_epoch(year: u64, month: u64, day: u64) -> u64 {
    // Count from March, so the leap day is the last day of the counted year.
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn reads_seconds_and_dates() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse(" 120 ", now), Some(Duration::from_secs(120)));
        let date = "Sun, 06 Nov 1994 08:49:37 GMT";
        assert_eq!(parse(date, now), Some(Duration::ZERO));
        let later = "Sun, 06 Nov 1994 08:50:07 GMT";
        assert_eq!(parse(later, now), Some(Duration::from_secs(30)));
        assert_eq!(
            imf_fixdate("Thu, 29 Feb 2024 00:00:00 GMT"),
            Some(1_709_164_800)
        );
        assert_eq!(
            imf_fixdate("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(1_445_412_480)
        );
        for bad in [
            "soon",
            "-1",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:00:00 GMT",
        ] {
            assert_eq!(parse(bad, now), None, "{bad}");
        }
    }

    #[test]
    fn only_429_and_503_carry_it() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        let throttled = refused("http://x/", StatusCode::TOO_MANY_REQUESTS, &headers);
        assert!(matches!(
            throttled,
            HttpError::RetryAfter { status: 429, retry_after, .. } if retry_after == Duration::from_secs(3)
        ));
        let moved = refused("http://x/", StatusCode::MOVED_PERMANENTLY, &headers);
        assert!(matches!(moved, HttpError::Status { status: 301, .. }));
        let plain = refused(
            "http://x/",
            StatusCode::SERVICE_UNAVAILABLE,
            &HeaderMap::new(),
        );
        assert!(matches!(plain, HttpError::Status { status: 503, .. }));
        assert_eq!(plain.status(), throttled.status().map(|_| 503));
    }
}

//! Code that takes an `HttpGet`, tested with `MockHttpGet`: `times`, `withf`, `Sequence`, and the
//! delay wrapper for overlap on the paused clock.

use std::time::Duration;

use async_patterns::basics::gather;
use async_patterns::http::{HttpError, HttpGet, TimeLimit};
use async_patterns::testkit::{Delayed, MockHttpGet};
use mockall::Sequence;
use mockall::predicate::eq;
use tokio::time::Instant;

/// The kind of code a user writes against the trait: total length of all pages, skipping 404s.
async fn total_length(http: &dyn HttpGet, urls: &[&str]) -> Result<usize, HttpError> {
    let mut total = 0;
    for url in urls {
        match http.get(url).await {
            Ok(body) => total += body.len(),
            Err(HttpError::Status { status: 404, .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(total)
}

#[tokio::test]
async fn each_url_is_requested_once_in_order() {
    let mut http = MockHttpGet::new();
    let mut seq = Sequence::new();
    for (url, body) in [("http://a", "aa"), ("http://b", "bbb")] {
        http.expect_get()
            .with(eq(url))
            .times(1)
            .in_sequence(&mut seq)
            .returning(move |_| Ok(body.to_owned()));
    }
    http.expect_get()
        .withf(|url: &str| url.ends_with("/missing"))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|url| {
            Err(HttpError::Status {
                url: url.to_owned(),
                status: 404,
            })
        });
    let total = total_length(&http, &["http://a", "http://b", "http://c/missing"]).await;
    assert_eq!(total.unwrap(), 5);
}

#[tokio::test]
async fn the_first_real_error_stops_the_loop() {
    let mut http = MockHttpGet::new();
    http.expect_get()
        .withf(|url: &str| url == "http://down")
        .times(1)
        .returning(|url| {
            Err(HttpError::Timeout {
                url: url.to_owned(),
                limit: TimeLimit::Total(Duration::from_secs(30)),
            })
        });
    // "http://after" has no expectation: a call to it would panic the mock and fail the test.
    let err = total_length(&http, &["http://down", "http://after"])
        .await
        .unwrap_err();
    assert_eq!(err.url(), Some("http://down"));
}

#[tokio::test(start_paused = true)]
async fn a_delayed_mock_proves_overlap_and_its_limit() {
    let mut mock = MockHttpGet::new();
    mock.expect_get().times(20).returning(|u| Ok(u.to_owned()));
    let http = Delayed::new(mock, Duration::from_millis(100));
    let urls: Vec<String> = (0..10).map(|i| format!("http://x/{i}")).collect();

    let start = Instant::now();
    let out = gather::all_at_once(urls.iter().map(|u| http.get(u))).await;
    assert_eq!(start.elapsed(), Duration::from_millis(100));
    assert_eq!(http.gauge().peak(), 10);
    assert_eq!(out[3].as_deref().unwrap(), "http://x/3");

    let gauge = async_patterns::testkit::Gauge::new();
    let mut mock = MockHttpGet::new();
    mock.expect_get().times(10).returning(|u| Ok(u.to_owned()));
    let limited = Delayed::with_gauge(mock, Duration::from_millis(100), gauge.clone());
    let start = Instant::now();
    gather::bounded(urls.iter().map(|u| limited.get(u)), 3).await;
    assert_eq!(start.elapsed(), Duration::from_millis(400));
    assert_eq!(gauge.peak(), 3);
    assert_eq!(gauge.total(), 10);
    assert_eq!(gauge.current(), 0);
    // The first wrapper's mock still expects ten more calls; satisfy it so it checks on drop.
    gather::all_at_once(urls.iter().map(|u| http.get(u))).await;
}

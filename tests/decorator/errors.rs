//! Errors as a reporter prints them: each message says what its layer did, its source says
//! why, and no line repeats another.

use std::sync::Arc;

use async_patterns::decorator::{Breaker, Circuit, Layers, Trip};
use async_patterns::http::HttpGet;

use super::{Beat, Scripted, URL, chain, halving, ms};

/// No line of `lines` holds a later one: each cause is printed once, where it belongs.
fn each_once(lines: &[String]) {
    for (i, line) in lines.iter().enumerate() {
        for later in &lines[i + 1..] {
            assert!(!line.contains(later.as_str()), "{lines:#?}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_reporter_prints_each_line_of_a_layered_failure_once() {
    // A retry around a timeout around a server that never answers: three layers of story.
    let script = Scripted::new(&[Beat::Hang]);
    let http = Layers::new(Arc::clone(&script))
        .timeout(ms(50))
        .retry(halving().attempts(2))
        .build();
    let e = http.get(URL).await.unwrap_err();
    let lines = chain(&e);
    assert_eq!(
        lines,
        [
            "a layer around the client stopped the call to http://test/a",
            "gave up on http://test/a after 2 attempts in 150ms (the limit of 2 attempts)",
            "http://test/a took longer than the time limit of 50ms; the call was cancelled",
        ]
    );
    each_once(&lines);

    // A server's own failure is the last line, said once.
    let script = Scripted::new(&[Beat::Fail(0, 503)]);
    let retry = Layers::new(Arc::clone(&script))
        .retry(halving().attempts(2))
        .build();
    let lines = chain(&retry.get(URL).await.unwrap_err());
    assert_eq!(
        lines.last().map(String::as_str),
        Some("http://test/a answered HTTP 503")
    );
    each_once(&lines);
}

#[tokio::test(start_paused = true)]
async fn an_open_circuit_names_the_failure_that_opened_it_on_one_line() {
    let script = Scripted::new(&[Beat::Fail(0, 503)]);
    // Counting every failure: a retry's "gave up" is not a transient one.
    let circuit = Circuit::counting(Trip::Consecutive(1), ms(1000), |_| true);
    let http = Breaker::new(
        Layers::new(Arc::clone(&script))
            .retry(halving().attempts(2))
            .build(),
        &circuit,
    );
    let _ = http.get(URL).await; // two attempts fail: the circuit opens
    let lines = chain(&http.get(URL).await.unwrap_err());
    assert_eq!(
        lines,
        [
            "a layer around the client stopped the call to http://test/a",
            "the circuit is open, http://test/a was not requested (a probe in 1s); it opened on: \
             gave up on http://test/a after 2 attempts in 50ms (the limit of 2 attempts): \
             http://test/a answered HTTP 503",
        ]
    );
}

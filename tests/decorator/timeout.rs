//! Timeout: the inner call dropped at the deadline, on the paused clock and on a real socket.

use std::time::Duration;

use async_patterns::decorator::{DecoratorError, Timeout, is_transient};
use async_patterns::http::{HttpConfig, HttpGet, NativeHttp};
use async_patterns::testkit::{Delayed, Fault, MockHttpGet, TestServer, alive_tasks_once_settled};
use tokio::time::Instant;

use super::{URL, decorator_error, ms};

#[tokio::test(start_paused = true)]
async fn a_timeout_drops_the_inner_call_at_the_deadline() {
    let mut never = MockHttpGet::new();
    never.expect_get().times(0);
    let slow = Delayed::new(never, Duration::from_secs(10));
    let timeout = Timeout::new(&slow, Duration::from_secs(1));
    let start = Instant::now();
    let e = timeout.get(URL).await.unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    assert!(matches!(
        decorator_error(&e),
        DecoratorError::TimedOut { .. }
    ));
    assert!(is_transient(&e));
    assert_eq!((slow.gauge().total(), slow.gauge().current()), (1, 0));
}

#[tokio::test]
async fn a_timed_out_real_request_leaves_nothing_running() {
    let server = TestServer::start().unwrap();
    let client = NativeHttp::new(HttpConfig::default()).unwrap();
    let timeout = Timeout::new(client, ms(200));
    let e = timeout
        .get(&server.fault_url(Fault::Hang))
        .await
        .unwrap_err();
    assert!(
        matches!(decorator_error(&e), DecoratorError::TimedOut { .. }),
        "{e}"
    );
    drop(timeout);
    assert_eq!(alive_tasks_once_settled(0).await, 0);
}

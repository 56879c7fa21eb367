//! Cancellation: dropping the output, or stopping at the first error, drops every item in
//! flight and aborts every task a spawned stage started.

use async_patterns::pipeline::stream::{Pipeline, StageOptions};
use async_patterns::testkit::{Gauge, alive_tasks_once_settled};
use futures::StreamExt;
use tokio::time::sleep;

use super::{ms, sleepy};

#[tokio::test(start_paused = true)]
async fn dropping_the_output_stream_cancels_everything_and_leaves_no_task_alive() {
    let metrics = tokio::runtime::Handle::current().metrics();
    let before = metrics.num_alive_tasks();
    let (slow, slow_gauge) = sleepy(|x| if x == 0 { 1 } else { 60_000 });
    let (inline, inline_gauge) = sleepy(|_| 60_000);
    let mut stream = Pipeline::from_iter(0u64..1000)
        // Item 0 is quick; every other item would take a minute.
        .stage("spawned", StageOptions::unordered(6).spawned(), slow)
        .stage_fn("pass", StageOptions::ordered(1), |x| async move {
            Ok::<_, String>(x)
        })
        .into_stream();
    // A second, in-task pipeline that is dropped mid-flight too.
    let mut other = Pipeline::from_iter(0u64..1000)
        .stage("inline", StageOptions::unordered(4), inline)
        .into_stream();
    let first = stream.next().await;
    assert_eq!(first.map(|r| r.ok()), Some(Some(0)));
    let none = tokio::time::timeout(ms(10), other.next()).await;
    assert!(none.is_err(), "nothing finishes in 10 ms");
    assert_eq!(slow_gauge.current(), 6, "six spawned items in flight");
    assert_eq!(inline_gauge.current(), 4, "four in-task items in flight");
    assert_eq!(metrics.num_alive_tasks(), before + 6);

    drop(stream);
    drop(other);
    assert_eq!(alive_tasks_once_settled(before).await, before);
    assert_eq!(slow_gauge.current(), 0, "the spawned work was dropped");
    assert_eq!(inline_gauge.current(), 0, "the in-task work was dropped");
    assert_eq!(
        slow_gauge.total(),
        7,
        "item 0 and six slow ones, nothing more started"
    );
}

#[tokio::test(start_paused = true)]
async fn stop_at_first_aborts_the_spawned_items_still_in_flight() {
    let metrics = tokio::runtime::Handle::current().metrics();
    let before = metrics.num_alive_tasks();
    let gauge = Gauge::new();
    let counted = gauge.clone();
    let mut stream = Pipeline::from_iter(0u64..100)
        .stage_fn("check", StageOptions::unordered(4).spawned(), move |x| {
            let gauge = counted.clone();
            async move {
                let _call = gauge.enter();
                if x == 1 {
                    sleep(ms(5)).await;
                    return Err(format!("item {x} is bad"));
                }
                sleep(ms(60_000)).await;
                Ok(x)
            }
        })
        .into_stream();
    let first = stream.next().await.map(|r| r.map_err(|e| e.to_string()));
    assert_eq!(
        first,
        Some(Err(
            "stage \"check\" failed on input #1: item 1 is bad".to_owned()
        ))
    );
    assert_eq!(
        metrics.num_alive_tasks(),
        before + 3,
        "items 0, 2, 3 still run"
    );
    // Ended at once: had the stream not let go of its stages, this would wait a minute for
    // item 0 and yield it.
    assert!(stream.next().await.is_none());
    assert_eq!(
        alive_tasks_once_settled(before).await,
        before,
        "the three were aborted"
    );
    assert_eq!(gauge.current(), 0);
    assert_eq!(gauge.total(), 4, "nothing started after the failure");
}

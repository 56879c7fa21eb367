//! The basics' pictures: gather's three schedules, the wrong way against `to_thread`, and the
//! buffered-stream stall.

use std::time::Duration;

use async_patterns::basics::gather;
use async_patterns::basics::pitfalls::buffered_stall::{self, Load};
use tokio::time::sleep;
use tracing::{Instrument, info_span};

use super::check::{committed, ms, recorded};

/// Six jobs of different lengths, each in a span named by its number and length.
fn jobs() -> Vec<impl Future<Output = ()>> {
    [40, 70, 30, 50, 20, 60]
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let span = info_span!("job", job = format!("job {} ({n} ms)", i + 1));
            // `sleep` is called inside the job, when it starts: a tokio `Sleep` counts from
            // when it is made, so one made up front would end early in a one-by-one run.
            async move { sleep(ms(n)).await }.instrument(span)
        })
        .collect()
}

#[test]
fn gather_one_by_one_all_at_once_and_bounded() {
    let timeline = recorded(module_path!(), || async {
        // Each run's jobs are made inside its span, so they are drawn under it.
        async { gather::one_by_one(jobs()).await }
            .instrument(info_span!("one_by_one", run = "one by one"))
            .await;
        async { gather::all_at_once(jobs()).await }
            .instrument(info_span!("all_at_once", run = "join_all"))
            .await;
        async { gather::bounded(jobs(), 2).await }
            .instrument(info_span!("bounded", run = "bounded (2)"))
            .await;
    });
    let svg = timeline.to_svg("six jobs one by one, all at once (join_all), and two at a time");
    committed("src/basics/pictures/gather.svg", &svg);
}

/// A blocking call as the paused clock can play it: the clock jumps by `d` while this task
/// keeps the thread, so nothing else runs meanwhile. (`advance` jumps on its first poll, then
/// would yield; polled once and dropped, it only jumps.)
fn block_for(d: Duration) {
    let _ = futures::FutureExt::now_or_never(tokio::time::advance(d));
}

#[test]
fn the_wrong_way_holds_the_thread_and_to_thread_frees_it() {
    // A heartbeat beats every 10 ms. Three 40 ms blocking calls in async tasks run one after
    // another and silence it; the same calls through `to_thread` (played by timers: the
    // runtime's thread stays free while a blocking thread waits) overlap, and it beats on.
    let timeline = recorded(module_path!(), || async {
        let heartbeat = tokio::spawn(
            async {
                loop {
                    sleep(ms(10)).await;
                    tracing::info!("beat");
                }
            }
            .instrument(info_span!("heartbeat", task = "heartbeat, every 10 ms")),
        );
        sleep(ms(25)).await;
        let wrong = (1..=3).map(|i| {
            let span = info_span!("blocking", call = format!("blocking call {i}"));
            async { block_for(ms(40)) }.instrument(span)
        });
        futures::future::join_all(wrong)
            .instrument(info_span!("wrong", run = "in async tasks"))
            .await;
        let right = (1..=3).map(|i| {
            let span = info_span!("to_thread", call = format!("to_thread call {i}"));
            async { sleep(ms(40)).await }.instrument(span)
        });
        futures::future::join_all(right)
            .instrument(info_span!("right", run = "through to_thread"))
            .await;
        sleep(ms(15)).await;
        heartbeat.abort();
    });
    let title =
        "three 40 ms blocking calls: in async tasks (the wrong way), then through to_thread";
    committed("src/basics/pictures/blocking.svg", &timeline.to_svg(title));
}

/// The stall's load: six requests, three at a time, each three round trips of 10 ms within
/// 45 ms, and 30 ms of work per answer. The pipeline's picture of the same stall uses it too,
/// so the two compare one to one.
pub const STALL_LOAD: Load = Load {
    requests: 6,
    limit: 3,
    round_trips: 3,
    round_trip: ms(10),
    deadline: ms(45),
    work: ms(30),
};

#[test]
fn the_buffered_stall_times_requests_out_and_spawning_does_not() {
    let load = STALL_LOAD;
    let timeline = recorded("async_patterns::basics::pitfalls", || async move {
        let stalled = buffered_stall::consumer_awaits(load)
            .instrument(info_span!(target: "async_patterns::basics::pitfalls", "run", run = "buffered, the consumer awaits"))
            .await;
        assert!(stalled.timed_out > 0, "{stalled:?}");
        let spawned = buffered_stall::spawned(load)
            .instrument(info_span!(target: "async_patterns::basics::pitfalls", "run", run = "spawned requests"))
            .await;
        assert_eq!(spawned.timed_out, 0, "{spawned:?}");
    });
    let title = "six requests of 1 to 3 round trips of 10 ms under a 45 ms deadline, 3 at a time";
    let svg = timeline.to_svg(title);
    committed("src/basics/pictures/buffered_stall.svg", &svg);
}

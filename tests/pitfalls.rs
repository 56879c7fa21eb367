//! `basics::pitfalls` on tokio's paused clock: each pitfall's symptom detected (a hang caught by
//! a watchdog, a lost message counted, tasks serialised), and each fix shown free of it.
//!
//! Pitfall 1 (blocking inside a task) is `basics::blocking`'s, tested in `tests/basics.rs`;
//! the compile errors of pitfall 2 are pinned in `tests/compile_fail.rs`.

use std::sync::Arc;
use std::time::Duration;

use async_patterns::basics::gather;
use async_patterns::basics::pitfalls::buffered_stall::{self, Load};
use async_patterns::basics::pitfalls::cancel_safety::{self, Feed};
use async_patterns::basics::pitfalls::futurelock::{self, Timing};
use async_patterns::basics::pitfalls::{lock_across_await, zero_limit};
use async_patterns::factory::{Config, device_registry};
use async_patterns::http::HttpGet;
use async_patterns::observer::{StreamPolicy, Subject};
use async_patterns::pipeline::stream::{Pipeline, StageOptions, stall};
use async_patterns::strategy::{Bounded, Downloader};
use async_patterns::testkit::{Delayed, MockHttpGet};
use tokio::time::{Instant, timeout};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Longer than anything here should take: reaching it means a hang.
const WATCHDOG: Duration = Duration::from_secs(60);

// ---- 2. a lock guard held across `.await` ----------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_tokio_guard_held_across_await_serialises_every_task() {
    let held = lock_across_await::guard_held_across_await(10, ms(100)).await;
    // Symptom: one service call at a time, the sum of the waits.
    assert_eq!(
        (held.elapsed, held.peak_calls, held.answered),
        (ms(1000), 1, 10)
    );

    let fixed = lock_across_await::guard_dropped_before_await(10, ms(100)).await;
    // Fixed: the ten calls overlap, one wait in all.
    assert_eq!(
        (fixed.elapsed, fixed.peak_calls, fixed.answered),
        (ms(100), 10, 10)
    );
}

// ---- 3. the buffered-stream stall ------------------------------------------------------------

/// Twenty requests of 1 to 6 round trips of 10 ms (60 ms at most), a 100 ms deadline each, five
/// at a time; the consumer spends 50 ms on each answer.
const LOAD: Load = Load {
    requests: 20,
    limit: 5,
    round_trips: 6,
    round_trip: Duration::from_millis(10),
    deadline: Duration::from_millis(100),
    work: Duration::from_millis(50),
};

#[tokio::test(start_paused = true)]
async fn a_consumer_that_awaits_stalls_the_buffered_requests() {
    // Every request could meet its deadline if it were polled.
    assert!(LOAD.needs() < LOAD.deadline);
    let stalled = buffered_stall::consumer_awaits(LOAD).await;
    // Symptom: requests time out, though none needs more than 60 ms of its 100 (12 of 20: the
    // number the docs of `buffered_stall` and `StageOptions` quote).
    assert!(stalled.timed_out > 0, "{stalled:?}");
    assert_eq!((stalled.answered, stalled.timed_out), (8, 12));
    assert_eq!(stalled.elapsed, ms(1080));

    for (fix, tally) in [
        ("spawned", buffered_stall::spawned(LOAD).await),
        (
            "work in the closure",
            buffered_stall::work_in_the_closure(LOAD).await,
        ),
    ] {
        assert_eq!(
            (tally.answered, tally.timed_out, tally.lost),
            (20, 0, 0),
            "{fix}"
        );
    }
    // Moving the work in also overlaps it with the requests: faster, not only correct.
    let moved = buffered_stall::work_in_the_closure(LOAD).await;
    assert!(moved.elapsed < stalled.elapsed, "{moved:?} vs {stalled:?}");
    assert_eq!(moved.elapsed, ms(390));
}

#[tokio::test(start_paused = true)]
async fn an_inline_pipeline_stage_stalls_like_buffered_and_a_spawned_one_does_not() {
    let buffered = buffered_stall::consumer_awaits(LOAD).await;
    let inline = stall::inline(LOAD).await;
    // The same requests through an inline stage: the same timeouts as `buffered(5)`.
    assert!(inline.timed_out > 0, "{inline:?}");
    assert_eq!(inline.timed_out, buffered.timed_out);

    let spawned = stall::spawned(LOAD).await;
    assert_eq!(
        (spawned.answered, spawned.timed_out),
        (20, 0),
        "{spawned:?}"
    );
    let staged = stall::work_as_a_stage(LOAD).await;
    assert_eq!((staged.answered, staged.timed_out), (20, 0), "{staged:?}");
    assert!(staged.elapsed < inline.elapsed);
    // The times `StageOptions`' doc quotes.
    let times = [inline.elapsed, spawned.elapsed, staged.elapsed];
    assert_eq!(times, [ms(1080), ms(1010), ms(250)]);
}

// ---- 4. futurelock ---------------------------------------------------------------------------

const TIMING: Timing = Timing {
    busy: Duration::from_millis(100),
    patience: Duration::from_millis(10),
    flush: Duration::from_millis(5),
};

#[tokio::test(start_paused = true)]
async fn select_over_a_borrowed_future_that_queues_for_a_lock_deadlocks() {
    // Symptom: it never returns; only the watchdog ends it (a minute of virtual time).
    let hung = timeout(WATCHDOG, futurelock::select_on_a_borrowed_future(TIMING)).await;
    assert!(hung.is_err(), "the futurelock should hang, got {hung:?}");

    // Fix 1: the update is dropped before the fallback runs; the fallback gets the lock as
    // soon as the holder lets go.
    let start = Instant::now();
    let owned = timeout(WATCHDOG, futurelock::select_on_the_future_itself(TIMING)).await;
    assert_eq!((owned, start.elapsed()), (Ok(100), TIMING.busy));

    // Fix 2: the update is a task that keeps being polled: it runs, then the fallback.
    let start = Instant::now();
    let spawned = timeout(WATCHDOG, futurelock::select_on_a_spawned_task(TIMING)).await;
    assert_eq!(
        (spawned, start.elapsed()),
        (Ok(101), TIMING.busy + TIMING.flush)
    );
}

// ---- 5. cancellation safety ------------------------------------------------------------------

/// Twenty records (a header, its body 5 ms later), one every 10 ms; a heartbeat every 7 ms.
const FEED: Feed = Feed {
    records: 20,
    gap: Duration::from_millis(5),
    every: Duration::from_millis(10),
    heartbeat: Duration::from_millis(7),
};

#[tokio::test(start_paused = true)]
async fn a_select_loop_over_a_two_step_read_loses_messages() {
    let wrong = cancel_safety::select_in_a_loop(FEED).await;
    // Symptom: headers dropped with the cancelled reads, and bodies paired with the wrong ones.
    assert_eq!(wrong.sent, 40);
    assert!(wrong.lost() > 0, "{wrong:?}");
    assert!(wrong.garbled > 0, "{wrong:?}");
    assert!(wrong.records < FEED.records, "{wrong:?}");

    for (fix, tally) in [
        (
            "future outside",
            cancel_safety::future_outside_the_loop(FEED).await,
        ),
        (
            "state outside",
            cancel_safety::state_outside_the_select(FEED).await,
        ),
    ] {
        assert_eq!(
            (tally.lost(), tally.garbled, tally.records),
            (0, 0, 20),
            "{fix}"
        );
        // And the heartbeat kept its pace all along, as in the wrong way.
        assert_eq!(tally.heartbeats, wrong.heartbeats, "{fix}");
    }
}

// ---- 6. a zero concurrency limit -------------------------------------------------------------

/// Three jobs of 100 ms, each returning its index.
fn jobs() -> Vec<impl Future<Output = usize>> {
    (0..3)
        .map(|i| async move {
            tokio::time::sleep(ms(100)).await;
            i
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn buffer_unordered_zero_hangs_and_clamping_fixes_it() {
    let hung = timeout(WATCHDOG, zero_limit::buffer_unordered_as_given(jobs(), 0)).await;
    assert!(
        hung.is_err(),
        "buffer_unordered(0) should hang, got {hung:?}"
    );

    let start = Instant::now();
    let mut out = timeout(WATCHDOG, zero_limit::buffer_unordered_clamped(jobs(), 0))
        .await
        .expect("clamped to one, it must finish");
    out.sort();
    assert_eq!((out, start.elapsed()), (vec![0, 1, 2], ms(300)));
}

#[tokio::test(start_paused = true)]
async fn every_bounded_helper_of_the_crate_takes_a_zero_limit_as_one() {
    // gather::bounded: one at a time.
    let start = Instant::now();
    let out = timeout(WATCHDOG, gather::bounded(jobs(), 0)).await;
    assert_eq!((out, start.elapsed()), (Ok(vec![0, 1, 2]), ms(300)));

    // strategy::Bounded: says 1, and fetches one by one.
    assert_eq!(Bounded::new(0).limit(), 1);
    let mut mock = MockHttpGet::new();
    mock.expect_get()
        .times(3)
        .returning(|u| Ok(format!("page {u}")));
    let http: Arc<dyn HttpGet> = Arc::new(Delayed::new(mock, ms(100)));
    let downloader = Downloader::new(http, Arc::new(Bounded::new(0)));
    let urls: Vec<String> = (0..3).map(|i| format!("http://test/{i}")).collect();
    let start = Instant::now();
    let pages = timeout(WATCHDOG, downloader.download(&urls)).await;
    assert!(matches!(&pages, Ok(Ok(p)) if p.len() == 3), "{pages:?}");
    assert_eq!(start.elapsed(), ms(300));

    // factory::Registry::create_many(Some(0)): one at a time (light 50, speaker 80, toilet 150).
    let home = device_registry();
    let requests = [("light", "a"), ("speaker", "b"), ("toilet", "c")]
        .map(|(kind, name)| (kind, Config::new(name)));
    let start = Instant::now();
    let devices = timeout(WATCHDOG, home.create_many(requests, Some(0))).await;
    assert!(matches!(&devices, Ok(d) if d.iter().all(Result::is_ok)));
    assert_eq!(start.elapsed(), ms(280));

    // StageOptions: a concurrency of 0 is 1, and a buffer of 0 is valid (no hang either).
    for options in [
        StageOptions::ordered(0),
        StageOptions::unordered(0).buffer(0),
    ] {
        assert_eq!(options.concurrency(), 1);
        let start = Instant::now();
        let run = Pipeline::from_iter(0..3u64)
            .stage_fn("sleep", options, |i| async move {
                tokio::time::sleep(ms(100)).await;
                Ok::<_, String>(i)
            })
            .into_stream()
            .partition();
        let (outputs, errors) = timeout(WATCHDOG, run).await.expect("a stage must not hang");
        assert_eq!((outputs.len(), errors.len()), (3, 0));
        assert_eq!(start.elapsed(), ms(300));
    }

    // Observer streams: a channel of one event, whatever the policy.
    let subject = Subject::<u8>::new();
    for policy in StreamPolicy::ALL {
        assert_eq!(subject.subscribe_stream_with(policy, 0).capacity(), 1);
    }
}

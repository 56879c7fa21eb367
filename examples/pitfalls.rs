//! The pitfalls of async Rust, each reproduced on the real clock, measured, then fixed:
//! `cargo run --release --example pitfalls`.
//!
//! Six traps (`basics::pitfalls`; `basics::blocking` for the first), offline, in a few seconds,
//! on one thread, the two that hang under a watchdog; what to notice gives each symptom's
//! number beside its fix's.

use std::error::Error;
use std::time::Duration;

use async_patterns::basics::blocking::{right_way, with_heartbeat, wrong_way};
use async_patterns::basics::gather;
use async_patterns::basics::pitfalls::buffered_stall::{self, Load, Tally};
use async_patterns::basics::pitfalls::cancel_safety::{self, Feed};
use async_patterns::basics::pitfalls::futurelock::{self, Timing};
use async_patterns::basics::pitfalls::{lock_across_await, zero_limit};
use async_patterns::observer::Subject;
use async_patterns::pipeline::stream::{StageOptions, stall};
use async_patterns::strategy::Bounded;
use async_patterns::timing::{Page, human, measure, ratio};
use tokio::time::timeout;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn main() -> Result<(), Box<dyn Error>> {
    run(&mut Page::new("pitfalls"))
}

/// Run every pitfall, then say what to notice.
pub fn run(page: &mut Page) -> Result<(), Box<dyn Error>> {
    // One thread, as on the paused clock in the tests: blocking freezes everything on it, and
    // everything that is not spawned advances only when its task polls it.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    page.heading("pitfalls: six traps of async Rust, each measured, then fixed (one thread)");
    let notes = runtime.block_on(async {
        [
            blocking(page).await,
            lock(page).await,
            buffered(page).await,
            futurelock(page).await,
            cancellation(page).await,
            zero(page).await,
        ]
    });
    for note in notes {
        page.notice(note);
    }
    Ok(())
}

async fn blocking(page: &mut Page) -> String {
    let (tasks, each, period) = (5, ms(20), ms(5));
    page.line(format!(
        "1. blocking inside a task: {tasks} tasks of {each:?}, a heartbeat every {period:?}"
    ));
    let (wrong, wrong_beats) = with_heartbeat(period, wrong_way(tasks, each)).await;
    let (right, right_beats) = with_heartbeat(period, right_way(tasks, each)).await;
    let expected = (wrong.as_millis() / period.as_millis()) as u32;
    format!(
        "blocking froze the runtime for {} (the heartbeat beat {wrong_beats} of about {expected} \
         times); on the blocking pool the batch took {:.1}x one call and the heartbeat beat \
         {right_beats} times.",
        human(wrong),
        ratio(right, each).unwrap_or(0.0)
    )
}

async fn lock(page: &mut Page) -> String {
    let (tasks, service) = (10, ms(20));
    page.line(format!(
        "2. a lock guard held across .await: {tasks} cache lookups, each a {service:?} call"
    ));
    let held = lock_across_await::guard_held_across_await(tasks, service).await;
    let fixed = lock_across_await::guard_dropped_before_await(tasks, service).await;
    format!(
        "holding tokio's guard across the call made {tasks} lookups take {:.1} calls' time, at \
         most {} call at a time (it compiles, it only serialises); dropping it first, {:.1}, {} \
         at once.",
        ratio(held.elapsed, service).unwrap_or(0.0),
        held.peak_calls,
        ratio(fixed.elapsed, service).unwrap_or(0.0),
        fixed.peak_calls
    )
}

async fn buffered(page: &mut Page) -> String {
    // The tests' load, at two fifths of the time: about half a second for the slow ways.
    let load = Load {
        requests: 20,
        limit: 5,
        round_trips: 6,
        round_trip: ms(4),
        deadline: ms(40),
        work: ms(20),
    };
    page.line(format!(
        "3. the buffered-stream stall: {} requests of 1 to {} round trips of {:?} (deadline {:?}), \
         {} at once, {:?} of work per answer",
        load.requests, load.round_trips, load.round_trip, load.deadline, load.limit, load.work
    ));
    use buffered_stall::{consumer_awaits, spawned, work_in_the_closure};
    let runs: [(&str, Tally); _] = [
        (
            "buffered(5), the consumer awaits",
            consumer_awaits(load).await,
        ),
        ("fix: each request spawned", spawned(load).await),
        ("fix: work in the closure", work_in_the_closure(load).await),
        ("pipeline, inline stage", stall::inline(load).await),
        ("pipeline, spawned stage", stall::spawned(load).await),
        (
            "pipeline, work as a stage",
            stall::work_as_a_stage(load).await,
        ),
    ];
    for (label, t) in &runs {
        let took = human(t.elapsed);
        page.line(format!(
            "   {label:<38} {:>2} timed out, {took}",
            t.timed_out
        ));
    }
    let (stalled, inline) = (runs[0].1, runs[3].1);
    let fixed: usize = [1, 2, 4, 5].iter().map(|&i| runs[i].1.timed_out).sum();
    let noise = match stalled.timed_out {
        0 => " (no stall this run: timer noise)",
        _ => "",
    };
    format!(
        "the consumer's work cost {} of {} requests their deadline, though none needed more than \
         {} of its {}; an inline pipeline stage: {} timed out; the four fixes: {fixed}{noise}.",
        stalled.timed_out,
        load.requests,
        human(load.needs()),
        human(load.deadline),
        inline.timed_out,
    )
}

async fn futurelock(page: &mut Page) -> String {
    let t = Timing {
        busy: ms(50),
        patience: ms(5),
        flush: ms(5),
    };
    let watchdog = ms(300);
    page.line(format!(
        "4. futurelock: the lock busy for {:?}, patience {:?}, a watchdog of {watchdog:?}",
        t.busy, t.patience
    ));
    let (hung, stuck) = measure(timeout(
        watchdog,
        futurelock::select_on_a_borrowed_future(t),
    ))
    .await;
    let (owned, owned_took) = measure(timeout(
        watchdog,
        futurelock::select_on_the_future_itself(t),
    ))
    .await;
    let (spawned, spawned_took) =
        measure(timeout(watchdog, futurelock::select_on_a_spawned_task(t))).await;
    let said = |r: &Result<u64, _>| {
        r.as_ref()
            .map_or("still stuck".into(), |v| format!("counter {v}"))
    };
    format!(
        "futurelock: with no thread blocked and nothing running, the borrowed select was {} after \
         {} (the watchdog); owning the future let the fallback in at {} (the update cancelled: \
         {}), spawning it ran both by {} ({}).",
        said(&hung),
        human(stuck),
        human(owned_took),
        said(&owned),
        human(spawned_took),
        said(&spawned)
    )
}

async fn cancellation(page: &mut Page) -> String {
    let (records, gap, every, heartbeat) = (20, ms(5), ms(10), ms(7));
    let feed = Feed {
        records,
        gap,
        every,
        heartbeat,
    };
    page.line(format!(
        "5. cancellation safety: {} records (a header, its body {:?} later) every {:?}; a \
         heartbeat every {:?}",
        feed.records, feed.gap, feed.every, feed.heartbeat
    ));
    let wrong = cancel_safety::select_in_a_loop(feed).await;
    let outside = cancel_safety::future_outside_the_loop(feed).await;
    let state = cancel_safety::state_outside_the_select(feed).await;
    let garbled = match wrong.garbled {
        0 => String::new(),
        n => format!(", and garbled {n} records (a body read as a header)"),
    };
    format!(
        "the select! loop lost {} of {} messages, each dropped inside a cancelled read{garbled}; \
         both fixes lost {} and kept the heartbeat ({} and {} beats vs {}).",
        wrong.lost(),
        wrong.sent,
        outside.lost() + state.lost(),
        outside.heartbeats,
        state.heartbeats,
        wrong.heartbeats
    )
}

async fn zero(page: &mut Page) -> String {
    let watchdog = ms(200);
    // Each sleep is made when its job starts: a tokio `Sleep` counts from when it is made.
    let jobs = || (0..3).map(|_| async { tokio::time::sleep(ms(10)).await });
    page.line(format!(
        "6. a zero concurrency limit: 3 jobs of 10 ms, a watchdog of {watchdog:?}"
    ));
    let hung = timeout(watchdog, zero_limit::buffer_unordered_as_given(jobs(), 0)).await;
    let (clamped, took) = measure(zero_limit::buffer_unordered_clamped(jobs(), 0)).await;
    let (bounded, bounded_took) = measure(gather::bounded(jobs(), 0)).await;
    let verb = match hung {
        Err(_) => "hang",
        Ok(_) => "finish (unexpectedly)",
    };
    let subject = Subject::<u8>::new();
    // Every bounded helper of this crate reads a limit of 0 back as 1.
    let limits = [
        Bounded::new(0).limit(),
        StageOptions::ordered(0).concurrency(),
        subject.subscribe_stream(0).capacity(),
    ];
    format!(
        "a limit of zero made buffer_unordered {verb} and no error said why; taken as one it ran \
         the {} jobs one by one ({}, {:.1} jobs' time), as this crate's helpers do \
         (gather::bounded ran {} jobs in {}; Bounded, a stage, a stream subscriber read 0 back \
         as {limits:?}).",
        clamped.len(),
        human(took),
        ratio(took, ms(10)).unwrap_or(0.0),
        bounded.len(),
        human(bounded_took),
    )
}

//! The pitfalls of async Rust, each reproduced on the real clock, measured, then fixed.
//!
//! ```text
//! cargo run --release --example pitfalls
//! ```
//!
//! Six traps (`basics::pitfalls`, and `basics::blocking` for the first), offline, in a few
//! seconds, on a one-thread runtime: for each, the symptom as a number and the fix's number
//! beside it. The two that hang forever run under a watchdog. It ends with what to notice,
//! from the numbers it just measured.

use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_patterns::basics::blocking::{right_way, wrong_way};
use async_patterns::basics::gather;
use async_patterns::basics::pitfalls::buffered_stall::{self, Load, Tally};
use async_patterns::basics::pitfalls::cancel_safety::{self, Feed};
use async_patterns::basics::pitfalls::futurelock::{self, Timing};
use async_patterns::basics::pitfalls::{lock_across_await, zero_limit};
use async_patterns::observer::Subject;
use async_patterns::pipeline::stream::{StageOptions, stall};
use async_patterns::strategy::Bounded;
use async_patterns::timing::{human, measure, ratio};
use tokio::time::timeout;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn main() -> Result<(), Box<dyn Error>> {
    // One thread, as on the paused clock in the tests: blocking freezes everything on it, and
    // everything that is not spawned advances only when its task polls it.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    println!("== pitfalls: six traps of async Rust, each measured, then fixed (one thread)\n");
    let mut notes = Vec::new();
    runtime.block_on(async {
        notes.push(blocking().await);
        notes.push(lock().await);
        notes.push(stall().await);
        notes.push(futurelock().await);
        notes.push(cancellation().await);
        notes.push(zero().await);
    });
    println!("\nwhat to notice:");
    for note in notes {
        println!("* {note}");
    }
    Ok(())
}

/// Count heartbeats every `period` while `work` runs on this runtime.
async fn with_heartbeat<F: Future<Output = Duration>>(
    period: Duration,
    work: F,
) -> (Duration, u32) {
    let beats = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&beats);
    let heart = tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        loop {
            tick.tick().await;
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    tokio::task::yield_now().await; // the first beat, before the work starts
    let start = beats.load(Ordering::Relaxed);
    let took = work.await;
    let during = beats.load(Ordering::Relaxed) - start;
    heart.abort();
    (took, during)
}

async fn blocking() -> String {
    let (tasks, each, period) = (5, ms(20), ms(5));
    println!(
        "1. blocking inside a task (basics::blocking): {tasks} tasks of {each:?}, a heartbeat every {period:?}"
    );
    let (wrong, wrong_beats) = with_heartbeat(period, wrong_way(tasks, each)).await;
    let (right, right_beats) = with_heartbeat(period, right_way(tasks, each)).await;
    println!(
        "   symptom: std::thread::sleep in the tasks took {}; the heartbeat beat {wrong_beats} times meanwhile",
        human(wrong)
    );
    println!(
        "   fix (to_thread): {}; the heartbeat beat {right_beats} times",
        human(right)
    );
    let expected = (wrong.as_millis() / period.as_millis()) as u32;
    format!(
        "blocking froze the runtime for {} (the heartbeat beat {wrong_beats} of about {expected} times);\n  \
         on the blocking pool the batch took {:.1}x one call and the heartbeat beat {right_beats} times.",
        human(wrong),
        ratio(right, each).unwrap_or(0.0)
    )
}

async fn lock() -> String {
    let (tasks, service) = (10, ms(20));
    println!(
        "2. a lock guard held across .await: {tasks} cache lookups, each a {service:?} service call"
    );
    let held = lock_across_await::guard_held_across_await(tasks, service).await;
    let fixed = lock_across_await::guard_dropped_before_await(tasks, service).await;
    println!(
        "   symptom: guard held across the call: {}, at most {} call at a time",
        human(held.elapsed),
        held.peak_calls
    );
    println!(
        "   fix (drop the guard, then await): {}, {} calls at once",
        human(fixed.elapsed),
        fixed.peak_calls
    );
    format!(
        "holding tokio's guard across the call made {tasks} lookups take {:.1} calls' time\n  \
         (one at a time: it compiles, it only serialises); dropping it first, {:.1}.",
        ratio(held.elapsed, service).unwrap_or(0.0),
        ratio(fixed.elapsed, service).unwrap_or(0.0)
    )
}

async fn stall() -> String {
    // The tests' load, at two fifths of the time: about half a second for the slow ways.
    let load = Load {
        requests: 20,
        limit: 5,
        round_trips: 6,
        round_trip: ms(4),
        deadline: ms(40),
        work: ms(20),
    };
    println!(
        "3. the buffered-stream stall: {} requests of 1 to {} round trips of {:?} (deadline {:?}), {} at once; {:?} of work per answer",
        load.requests, load.round_trips, load.round_trip, load.deadline, load.limit, load.work
    );
    let show = |label: &str, t: &Tally| {
        println!(
            "   {label:<40} {:>2} timed out, {:>2} answered, {}",
            t.timed_out,
            t.answered,
            human(t.elapsed)
        );
    };
    let stalled = buffered_stall::consumer_awaits(load).await;
    show("symptom: buffered(5), consumer awaits:", &stalled);
    let spawned = buffered_stall::spawned(load).await;
    show("fix: each request spawned:", &spawned);
    let moved = buffered_stall::work_in_the_closure(load).await;
    show("fix: the work inside the closure:", &moved);
    let inline = stall::inline(load).await;
    show("pipeline::stream, inline stage:", &inline);
    let tasks = stall::spawned(load).await;
    show("pipeline::stream, spawned stage:", &tasks);
    let staged = stall::work_as_a_stage(load).await;
    show("pipeline::stream, the work as a stage:", &staged);
    let fixed = spawned.timed_out + moved.timed_out + tasks.timed_out + staged.timed_out;
    format!(
        "the consumer's work cost {} of {} requests their deadline,\n  though none needed more than {} of its {}; \
         an inline pipeline stage: {} timed out; the four fixes: {fixed}{}.",
        stalled.timed_out,
        load.requests,
        human(load.needs()),
        human(load.deadline),
        inline.timed_out,
        if stalled.timed_out == 0 {
            " (this run showed no stall: timer noise on the real clock)"
        } else {
            ""
        }
    )
}

async fn futurelock() -> String {
    let t = Timing {
        busy: ms(50),
        patience: ms(5),
        flush: ms(5),
    };
    let watchdog = ms(300);
    println!(
        "4. futurelock: the lock busy for {:?}, patience {:?}, a watchdog of {:?}",
        t.busy, t.patience, watchdog
    );
    let (hung, stuck_for) = measure(timeout(
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
            .map_or("still stuck".to_owned(), |v| format!("counter {v}"))
    };
    println!(
        "   symptom: select! over &mut update: {} after {}",
        said(&hung),
        human(stuck_for)
    );
    println!(
        "   fix (select! owns the update): {} in {}",
        said(&owned),
        human(owned_took)
    );
    println!(
        "   fix (the update spawned): {} in {}",
        said(&spawned),
        human(spawned_took)
    );
    format!(
        "futurelock: with no thread blocked and nothing running, the borrowed select was {} at the \
         {} watchdog;\n  owning the future let the fallback in at {} (the update cancelled: {}), \
         spawning it ran both by {} ({}).",
        if hung.is_err() {
            "still stuck"
        } else {
            "done (unexpectedly)"
        },
        human(watchdog),
        human(owned_took),
        said(&owned),
        human(spawned_took),
        said(&spawned)
    )
}

async fn cancellation() -> String {
    let feed = Feed {
        records: 20,
        gap: ms(5),
        every: ms(10),
        heartbeat: ms(7),
    };
    println!(
        "5. cancellation safety: {} records (a header, its body {:?} later) every {:?}; a heartbeat every {:?}",
        feed.records, feed.gap, feed.every, feed.heartbeat
    );
    let wrong = cancel_safety::select_in_a_loop(feed).await;
    let outside = cancel_safety::future_outside_the_loop(feed).await;
    let state = cancel_safety::state_outside_the_select(feed).await;
    for (label, t) in [
        ("symptom: select! over read_record:", wrong),
        ("fix: the records as a stream:", outside),
        ("fix: recv only, state in the loop:", state),
    ] {
        println!(
            "   {label:<38} lost {:>2} of {} messages, {:>2} records whole, {:>2} garbled, {} heartbeats",
            t.lost(),
            t.sent,
            t.records,
            t.garbled,
            t.heartbeats
        );
    }
    format!(
        "the select! loop lost {} of {} messages, each dropped inside a cancelled read{};\n  \
         both fixes lost {} and kept the heartbeat ({} and {} beats vs {}).",
        wrong.lost(),
        wrong.sent,
        if wrong.garbled > 0 {
            format!(
                ", and garbled {} records (a body read as a header)",
                wrong.garbled
            )
        } else {
            String::new()
        },
        outside.lost() + state.lost(),
        outside.heartbeats,
        state.heartbeats,
        wrong.heartbeats
    )
}

async fn zero() -> String {
    let watchdog = ms(200);
    let jobs = || {
        (0..3).map(|i| async move {
            tokio::time::sleep(ms(10)).await;
            i
        })
    };
    println!("6. a zero concurrency limit: 3 jobs of 10 ms, a watchdog of {watchdog:?}");
    let hung = timeout(watchdog, zero_limit::buffer_unordered_as_given(jobs(), 0)).await;
    let (clamped, took) = measure(zero_limit::buffer_unordered_clamped(jobs(), 0)).await;
    let (bounded, bounded_took) = measure(gather::bounded(jobs(), 0)).await;
    println!(
        "   symptom: buffer_unordered(0): {}",
        if hung.is_err() {
            "still pending at the watchdog"
        } else {
            "finished (unexpectedly)"
        }
    );
    println!(
        "   fix (clamped to 1): {} jobs in {}",
        clamped.len(),
        human(took)
    );
    let subject = Subject::<u8>::new();
    println!(
        "   this crate: gather::bounded(_, 0) ran {} jobs in {}; Bounded::new(0).limit() = {};\n   \
         StageOptions::ordered(0).concurrency() = {}; subscribe_stream(0).capacity() = {}",
        bounded.len(),
        human(bounded_took),
        Bounded::new(0).limit(),
        StageOptions::ordered(0).concurrency(),
        subject.subscribe_stream(0).capacity()
    );
    format!(
        "a limit of zero made buffer_unordered {} and no error said why; taken as one it ran the\n  \
         jobs one by one ({}, {:.1} jobs' time), as every bounded helper of this crate does.",
        if hung.is_err() {
            "hang"
        } else {
            "finish (unexpectedly)"
        },
        human(took),
        ratio(took, ms(10)).unwrap_or(0.0)
    )
}

//! The smart-home morning as a plan, its devices made by the factory: connect the three devices
//! at once, then one sequence of messages per device, the three at once, then say goodbye.
//!
//! ```text
//! cargo run --release --example pipeline_plan
//! ```
//!
//! It runs the plan as planned and one by one (every parallel made a sequence), then with a
//! message the light refuses and with a toilet that never answers its handshake, each drawn
//! from its steps' spans, and ends with what to notice: the plan against its critical path
//! (found in its trace), and what a failure left undone. The devices sleep: it runs offline.

use std::collections::HashMap;
use std::error::Error;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_patterns::factory::{Config, Device, Registry, device_registry};
use async_patterns::pipeline::plan::{
    BoxStep, StepError, StepExt, StepOutcome, Trace, parallel, run_traced, sequence, step,
};
use async_patterns::timing::{Page, Table, Target, Timeline, human, ratio, record_spans};

fn main() -> Result<(), Box<dyn Error>> {
    run(&mut Page::new("pipeline_plan"), false)
}

// 1. The pattern, plainly

/// The longest a handshake (the slowest takes 200 ms) and a message (20 ms) may take.
const HANDSHAKE: Duration = Duration::from_millis(400);
const MESSAGE: Duration = Duration::from_millis(100);

/// The factory that makes the devices, and the devices connected so far, by kind.
struct Home {
    registry: Registry<dyn Device>,
    devices: Mutex<HashMap<&'static str, Arc<dyn Device>>>,
}

/// A leaf: make a `kind` device through the factory, its handshake taking `ms`.
fn connect(home: &Arc<Home>, kind: &'static str, ms: u64) -> BoxStep {
    let home = Arc::clone(home);
    let make = move || {
        let home = Arc::clone(&home);
        async move {
            let config = Config::new(kind).with("latency_ms", ms.to_string());
            let device = home.registry.create(kind, config).await;
            let device = Arc::from(device.map_err(StepError::failed)?);
            home.devices.lock().unwrap().insert(kind, device);
            Ok(())
        }
    };
    step(kind, make).with_timeout(HANDSHAKE).boxed()
}

/// A leaf: send `message` to the `kind` device, connected by an earlier step.
fn send(home: &Arc<Home>, kind: &'static str, message: &'static str) -> BoxStep {
    let home = Arc::clone(home);
    let send = move || {
        let device = home.devices.lock().unwrap().get(kind).cloned();
        async move {
            let device = device.ok_or_else(|| StepError::failed(format!("no {kind} yet")))?;
            let answer = device.send(message).await;
            answer.map(drop).map_err(StepError::failed)
        }
    };
    step(message, send).with_timeout(MESSAGE).boxed()
}

/// The morning, its groups made by `together`: `parallel`, or `sequence` to compare. The light
/// is asked to `dim`; the toilet's handshake takes `toilet_ms`.
#[rustfmt::skip] // laid out as the tree it is
fn morning(together: Together, dim: &'static str, toilet_ms: u64) -> BoxStep {
    let h = &Arc::new(Home { registry: device_registry(), devices: Mutex::default() });
    let in_turn = |name, steps| sequence(name, steps).boxed();
    sequence("morning", vec![
        together("connect", vec![
            connect(h, "light", 60), connect(h, "speaker", 200), connect(h, "toilet", toilet_ms),
        ]),
        together("routines", vec![
            in_turn("light", vec![send(h, "light", "on"), send(h, "light", dim)]),
            in_turn("speaker", vec![
                send(h, "speaker", "volume 20"), send(h, "speaker", "play news"),
            ]),
            in_turn("toilet", vec![send(h, "toilet", "warm seat"), send(h, "toilet", "flush")]),
        ]),
        together("leave", vec![send(h, "light", "off"), send(h, "speaker", "stop")]),
    ]).boxed()
}
type Together = fn(&'static str, Vec<BoxStep>) -> BoxStep;
const AT_ONCE: Together = |name, steps| parallel(name, steps).boxed();

/// Run the demo; `brief` is the tour's shorter version (no stuck handshake).
pub fn run(page: &mut Page, brief: bool) -> Result<(), Box<dyn Error>> {
    tokio::runtime::Runtime::new()?.block_on(async {
        // The plan is a value: build the tree, run it, read its trace.
        let (result, trace) = run_traced(&*morning(AT_ONCE, "dim 30", 150)).await;
        result?;
        let (steps, took) = (trace.spans().len(), human(trace.total()));
        page.heading(format!(
            "pipeline::plan: the morning, {steps} steps in {took}"
        ));
        measured(page, brief).await
    })
}

// 2. Measured

const IN_TURN: Together = |name, steps| sequence(name, steps).boxed();

/// Run `plan` with its steps' spans recorded: its result, its trace, and their timeline.
async fn recorded(plan: BoxStep) -> (Result<(), StepError>, Trace, Arc<Timeline>) {
    let timeline = Arc::new(Timeline::new());
    let run = async { run_traced(&*plan).await };
    let (result, trace) = record_spans(&timeline, "async_patterns::pipeline", run).await;
    (result, trace, timeline)
}

/// The critical path as the schedule shows it: from the leaf that ended last, back through the
/// leaf that ended last before each one started. Its length is the least the plan can take.
fn critical_path(trace: &Trace) -> (Duration, Vec<&str>) {
    let leaves = trace.leaves();
    let before = |at: Duration| leaves.iter().filter(move |s| s.end <= at);
    let (mut leaf, mut took, mut chain) = (
        before(trace.total()).max_by_key(|s| s.end),
        Duration::ZERO,
        vec![],
    );
    while let Some(at) = leaf {
        (took, leaf) = (took + at.duration(), before(at.start).max_by_key(|s| s.end));
        chain.insert(0, at.path.trim_start_matches("morning/"));
    }
    (took, chain)
}

/// How many leaves of `trace` ended `outcome`.
fn ended(trace: &Trace, outcome: StepOutcome) -> usize {
    let leaves = trace.leaves().into_iter();
    leaves.filter(|s| s.outcome == outcome).count()
}

async fn measured(page: &mut Page, brief: bool) -> Result<(), Box<dyn Error>> {
    let (result, planned, timeline) = recorded(morning(AT_ONCE, "dim 30", 150)).await;
    result?;
    let (result, one_by_one, in_turn) = recorded(morning(IN_TURN, "dim 30", 150)).await;
    result?;
    let scale = one_by_one.total().max(planned.total());
    page.timeline_to_scale("as planned", &timeline, scale);
    page.timeline_to_scale(
        "one by one (every parallel made a sequence)",
        &in_turn,
        scale,
    );

    let (critical, chain) = critical_path(&planned);
    let (all, steps) = (planned.leaves().len(), planned.spans().len());
    let mut table = Table::new(format!("the morning: {all} leaves in {steps} steps"));
    table.add_with_ideal("one by one", one_by_one.total(), one_by_one.one_by_one());
    table.add_with_ideal("as planned", planned.total(), critical);
    page.table(&table);
    page.line(format!(
        "its critical path, {}: {}",
        human(critical),
        chain.join(" -> ")
    ));
    let vs_critical = table.vs_ideal("as planned").unwrap_or(f64::INFINITY);
    let speedup = table.speedup("as planned").unwrap_or(0.0);
    let allowed = ratio(planned.one_by_one(), critical).unwrap_or(1.0);
    let on_it = chain.len();
    let name = format!("as planned <= 1.10x its critical path ({on_it} of {all} leaves)");
    page.target(Target::at_most(name, vs_critical, 1.10));
    let name = format!("as planned >= 0.9 of the {allowed:.1}x that sum / critical path allow");
    page.target(Target::at_least(name, speedup / allowed, 0.9));

    // The light refuses a message: the fail-fast parallel cancels the other routines.
    let (result, refused, timeline) = recorded(morning(AT_ONCE, "dim 150", 150)).await;
    page.line(format!(
        "error: {}",
        result.err().map(|e| e.to_string()).unwrap_or_default()
    ));
    page.timeline_to_scale("the light refuses 'dim 150'", &timeline, scale);
    // The toilet never answers its handshake: its timeout cuts it at 400 ms.
    let stuck = if brief {
        None
    } else {
        let (result, stuck, timeline) = recorded(morning(AT_ONCE, "dim 30", 60_000)).await;
        page.line(format!(
            "error: {}",
            result.err().map(|e| e.to_string()).unwrap_or_default()
        ));
        page.timeline_to_scale("the toilet never answers its handshake", &timeline, scale);
        Some(stuck)
    };

    // What to notice, from the numbers above.
    let (took, ideal) = (human(planned.total()), human(critical));
    page.notice(if vs_critical <= 1.1 {
        format!(
            "as planned took {took}, its critical path {ideal} ({vs_critical:.2}x): only a \
             shorter chain of those {on_it} leaves would make the morning shorter."
        )
    } else {
        let over = (vs_critical - 1.0) * 100.0;
        format!(
            "as planned took {took}, {over:.0} % over its critical path {ideal}: time spent \
             outside the steps (scheduling, a busy machine)."
        )
    });
    let compared = match speedup / allowed {
        r if (r - 1.0).abs() <= 0.1 => "about",
        r if r < 1.0 => "short of",
        _ => "beyond",
    };
    let (sum, sum_took) = (human(one_by_one.one_by_one()), human(one_by_one.total()));
    page.notice(format!(
        "one by one took {sum_took} (its leaves add up to {sum}); as planned was {speedup:.1}x \
         faster, {compared} the {allowed:.1}x that the sum over the critical path allows."
    ));
    let share = ratio(refused.total(), planned.total()).unwrap_or(0.0) * 100.0;
    let cut = ended(&refused, StepOutcome::Cancelled);
    let never = all.saturating_sub(refused.leaves().len());
    page.notice(format!(
        "the refused message ended the plan at {} ({share:.0} % of a good morning): the \
         fail-fast parallel cut {cut} leaves mid-run, and {never} of {all} never started (a \
         sequence stops at its first error).",
        human(refused.total())
    ));
    if let Some(stuck) = stuck {
        let never = all.saturating_sub(stuck.leaves().len());
        let timed_out = ended(&stuck, StepOutcome::TimedOut);
        page.notice(format!(
            "the stuck handshake was cut at {} instead of 60 s ({timed_out} leaf timed out, \
             {never} of {all} never started).",
            human(stuck.total())
        ));
    }
    Ok(())
}

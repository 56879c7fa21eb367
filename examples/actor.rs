//! Actor: a device hub owned by one task and used by many, shut down gracefully; then two hubs
//! under fifty tasks and a shutdown midway (detect, tell, wait), measured, drawn from the
//! actors' own spans, and what to notice in the numbers.
//!
//! ```text
//! cargo run --release --example actor      # offline: the devices only sleep
//! ```

use std::error::Error;
use std::mem::take;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_patterns::actor::{ActorError, ActorSystem, Hub, HubCommand, HubHandle, ShutdownReport};
use async_patterns::factory::{Config, device_registry};
use async_patterns::timing::{Bar, BarOutcome, Page, Table, Target, Timeline};
use async_patterns::timing::{human, percentile, ratio, record_spans};
use tokio::time::{Instant, sleep};

fn main() -> Result<(), Box<dyn Error>> {
    run(&mut Page::new("actor"), false)
}

// 1. The pattern, plainly

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Two devices: kind, name, and the verb of the messages they are sent (`dim 40`).
type Devices = [(&'static str, &'static str, &'static str); 2];

/// A hub owning `devices`, each answering a message in `message`. They connect here, before
/// the hub is an actor: its methods are plain async methods on its state.
async fn hub(devices: Devices, message: Duration) -> Result<Hub, Box<dyn Error>> {
    let mut hub = Hub::new(Arc::new(device_registry()));
    for (kind, name, verb) in devices {
        // A message takes a tenth of a device's handshake.
        let handshake = (10 * message.as_millis()).to_string();
        hub = hub.with(kind, Config::new(name).with("latency_ms", handshake));
        hub.send(name, &format!("{verb} 50")).await?;
    }
    Ok(hub)
}

/// One hub, owned by its task; four tasks that share it through clones of its handle, with no
/// lock anywhere; then detect (a timer here, Ctrl-C in a server), tell, wait.
async fn plainly(page: &mut Page) -> Result<(), Box<dyn Error>> {
    let system = ActorSystem::new();
    let lights = [("light", "kitchen", "dim"), ("light", "hallway", "dim")];
    let hub = HubHandle::from(system.spawn("home", 16, hub(lights, ms(1)).await?));
    let answer = hub.send("kitchen", "on").await?;
    page.line(format!("the home hub answers: {answer}"));
    for task in 0..4 {
        let (hub, told) = (hub.clone(), system.token());
        system.spawn_task(async move {
            let dim = format!("dim {}", 10 * task);
            while !told.is_cancelled() && hub.send("hallway", &dim).await.is_ok() {}
        });
    }
    sleep(ms(100)).await;
    let report = system.shutdown(ms(50)).await;
    report.to_string().lines().for_each(|line| page.line(line));
    Ok(())
}

// 2. Measured

const TASKS: u64 = 50;
const CAPACITY: usize = 16;
const DEADLINE: Duration = ms(50);

/// One hub's side of the run: its handle, devices and message time, what its tasks saw.
struct Floor {
    hub: HubHandle,
    devices: Devices,
    message: Duration,
    seen: Mutex<Seen>,
}

/// Commands refused as full (`try_send`) and at the closed door; round trips of the answered.
#[derive(Default)]
struct Seen {
    full: u64,
    closed: u64,
    trips: Vec<Duration>,
}

/// One task: `n` commands to `floor`'s hub, one at a time, until the hub refuses one because
/// it is shutting down; every fifth task uses `try_send`, preferring to drop a command than to
/// wait for room.
async fn sender(floor: Arc<Floor>, task: u64, n: u64) {
    for i in 0..n {
        let (_, device, verb) = floor.devices[((task + i) % 2) as usize];
        let message = format!("{verb} {}", (task + i) % 101);
        let command = |reply| HubCommand::Send {
            device: device.into(),
            message,
            reply,
        };
        let start = Instant::now();
        let accepted = match task % 5 {
            4 => floor.hub.actor().try_send(command),
            _ => floor.hub.actor().send(command).await,
        };
        let answered = match accepted {
            Ok(answer) => answer.await.map(drop),
            Err(refused) => Err(refused),
        };
        let mut seen = floor.seen.lock().unwrap();
        match answered {
            Ok(()) => seen.trips.push(start.elapsed()),
            Err(ActorError::Full { .. }) => seen.full += 1,
            Err(ActorError::ShuttingDown { .. }) => return seen.closed += 1,
            Err(_) => {} // abandoned at the deadline
        }
    }
}

/// Two hubs, `TASKS` tasks sending `n` commands each, and a shutdown after `busy`: the floors,
/// the report, and when the shutdown began on `clock`.
async fn two_hubs(n: u64, busy: Duration, clock: &Timeline) -> Result<Run, Box<dyn Error>> {
    let system = ActorSystem::new();
    let mut floors = Vec::new();
    let down = [("light", "kitchen", "dim"), ("light", "hallway", "dim")];
    let up = [("speaker", "bedroom", "volume"), ("light", "hall", "dim")];
    for (name, devices, message) in [("downstairs", down, ms(1)), ("upstairs", up, ms(5))] {
        let hub = HubHandle::from(system.spawn(name, CAPACITY, hub(devices, message).await?));
        let seen = Mutex::default();
        floors.push(Arc::new(Floor {
            hub,
            devices,
            message,
            seen,
        }));
    }
    for task in 0..TASKS {
        let floor = Arc::clone(&floors[task as usize % 2]);
        system.spawn_task(sender(floor, task, n));
    }
    // Detect (here a timer, while the tasks are busy), then tell and wait: one call.
    sleep(busy).await;
    let told_at = clock.now();
    Ok((floors, system.shutdown(DEADLINE).await, told_at))
}

/// What `two_hubs` returns.
type Run = (Vec<Arc<Floor>>, ShutdownReport, Duration);

/// Run the demo; `brief` is the tour's shorter version.
pub fn run(page: &mut Page, brief: bool) -> Result<(), Box<dyn Error>> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        page.heading("actor: a device hub owned by one task, used by many");
        plainly(page).await?;
        measured(page, if brief { 10 } else { 20 }).await
    })
}

async fn measured(page: &mut Page, n: u64) -> Result<(), Box<dyn Error>> {
    page.line(format!("two hubs, {TASKS} tasks of {n} commands (every fifth task with try_send), mailboxes of {CAPACITY}: downstairs two lights, 1 ms a message; upstairs a speaker and a light, 5 ms; shutdown after 200 ms, {} to drain", human(DEADLINE)));
    let timeline = Arc::new(Timeline::new());
    let run = two_hubs(n, ms(200), &timeline);
    let (floors, report, told_at) = record_spans(&timeline, "async_patterns::actor", run).await?;
    report.to_string().lines().for_each(|line| page.line(line));
    let mut seen: Vec<Seen> = floors
        .iter()
        .map(|f| take(&mut *f.seen.lock().unwrap()))
        .collect();
    seen.iter_mut().for_each(|seen| seen.trips.sort());
    let mut table =
        Table::new("a round trip, median (ideal: one message; speedup: against downstairs)");
    for ((floor, seen), actor) in floors.iter().zip(&seen).zip(&report.actors) {
        let median = percentile(&seen.trips, 0.5).unwrap_or_default();
        table.add_with_ideal(format!("{}: median", actor.name), median, floor.message);
    }
    page.table(&table);
    let title = "the shutdown: each hub's drain and the commands it handled";
    page.timeline(title, &since(&timeline, told_at.saturating_sub(ms(2))));

    // What to notice, from the numbers above: each hub's pace, from its commands' spans before
    // the shutdown; its sums; its drain, from the drain's span.
    let (bars, patient) = (timeline.bars_by_start(), TASKS / 2 - TASKS / 10);
    for ((floor, seen), actor) in floors.iter().zip(&seen).zip(&report.actors) {
        let (name, s) = (actor.name.as_str(), actor.stats);
        let mine = |b: &&Bar| b.depth == 0 && b.end <= told_at && b.label.starts_with(name);
        let before: Vec<&Bar> = bars.iter().filter(mine).collect();
        let busy: Duration = before.iter().map(|b| b.end - b.start).sum();
        let (count, each) = (before.len(), busy / before.len().max(1) as u32);
        let over = each.saturating_sub(floor.message).as_secs_f64() * 1e3;
        let message = human(floor.message);
        let target = format!(
            "{name}, {count} commands before the shutdown: ms each beyond its devices' {message} (the timer rounds a wait up to its next ms)"
        );
        page.target(Target::at_most(target, over, 1.5));
        let turns = percentile(&seen.trips, 0.5).and_then(|m| ratio(m, each));
        let turns = turns.unwrap_or(0.0);
        let busy = ratio(busy, told_at - before.first().map_or(told_at, |b| b.start));
        let (busy, each) = (100.0 * busy.unwrap_or(0.0), human(each));
        let law = match (turns - patient as f64).abs() <= 0.3 * patient as f64 {
            true => "as Little's law says: one command at a time, each caller waits its turn",
            false => "not what Little's law says: this machine added waits of its own",
        };
        page.notice(format!("{name}: {each} a command in its handler, busy {busy:.0}% of the time; with {patient} patient callers a median round trip took {turns:.0} commands' time, {law}."));
        let (accepted, handled, refused) = (s.accepted, s.handled, s.refused);
        let verdict = match accepted == handled + refused + s.panicked {
            true => "every accepted command got exactly one answer, its value or a typed refusal",
            false => "a command is missing, which the actor promises never happens",
        };
        page.notice(format!("{name}: accepted {accepted} = {handled} handled + {refused} refused + {} panicked: {verdict}.", s.panicked));
        let Some(drain) = bars.iter().find(|b| b.label == format!("{name} draining")) else {
            continue;
        };
        let (drained, took) = (s.drained, human(drain.end - drain.start));
        page.notice(match drain.outcome {
            BarOutcome::TimedOut => format!("{name} answered {drained} more while draining, then its {took} drain hit the deadline: {refused} commands abandoned, each caller told so (ActorError::Abandoned)."),
            _ => format!("{name} answered its {drained} queued commands in {took} of draining, within the deadline."),
        });
    }
    let (full, closed) = (seen[0].full + seen[1].full, seen[0].closed + seen[1].closed);
    let pressure = match report.actors.iter().all(|a| a.stats.high_water == CAPACITY) {
        true => {
            "both mailboxes filled up (high water = capacity): the patient tasks waited in send"
        }
        false => "a mailbox never filled up, so back-pressure hardly bit",
    };
    page.notice(format!("{pressure}; the impatient tasks were refused {full} times (ActorError::Full): those commands never started."));
    let refusals = timeline
        .markers()
        .into_iter()
        .filter(|m| m.label == "refused a new command");
    let (diamonds, aborted) = (refusals.count(), report.aborted);
    page.notice(format!("told to stop, the doors closed at once: {closed} tasks were refused (ShuttingDown), {diamonds} of them while their hub drained (the diamonds on its drain); {aborted} tasks still waiting at the deadline were aborted."));
    Ok(())
}

/// The bars and markers of `timeline` from `from` on, moved to start there.
fn since(timeline: &Timeline, from: Duration) -> Timeline {
    let (window, bars) = (Timeline::new(), timeline.bars_by_start().into_iter());
    for mut bar in bars.filter(|b| b.end >= from) {
        (bar.start, bar.end) = (bar.start.saturating_sub(from), bar.end - from);
        window.add(bar);
    }
    for mut marker in timeline.markers().into_iter().filter(|m| m.at >= from) {
        marker.at -= from;
        window.mark(marker);
    }
    window
}

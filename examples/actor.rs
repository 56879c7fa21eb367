//! Actors: two device hubs, fifty tasks sending them a thousand commands, and a graceful
//! shutdown midway: detect, tell, wait.
//!
//! ```text
//! cargo run --release --example actor     # press Ctrl-C to shut down before midway
//! ```
//!
//! Each hub is an actor that owns its devices (made by the factory's `device_registry`): the
//! downstairs hub two lights that answer in 1 ms, the upstairs hub a speaker and a toilet that
//! answer in 5 ms. Fifty tasks send each hub twenty commands apiece, every fifth task with
//! `try_send` (it would rather drop a command than wait). When half the commands have been
//! sent, or at Ctrl-C, the shutdown begins: the detect, tell, wait of tokio's shutdown guide.
//! It prints what became of every command, the mailboxes' high-water marks, the round trips,
//! and ends with what to notice in those numbers. No network: the devices sleep.

use std::error::Error;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_patterns::actor::{
    ActorError, ActorReport, ActorSystem, Hub, HubCommand, HubError, HubHandle,
};
use async_patterns::factory::{Config, device_registry};
use async_patterns::timing::{NOISE, human, percentile, ratio};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const TASKS: usize = 50;
const PER_TASK: u64 = 20;
const CAPACITY: usize = 16;
const DEADLINE: Duration = Duration::from_millis(50);

/// What the tasks of one hub saw, counted as it happened.
#[derive(Default)]
struct Tally {
    sent: AtomicU64,
    full: AtomicU64,
    shutting_down: AtomicU64,
    other_refusals: AtomicU64,
    completed: AtomicU64,
    abandoned: AtomicU64,
    failed: AtomicU64,
    round_trips: Mutex<Vec<Duration>>,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

fn read(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

impl Tally {
    /// The round trips of completed commands, sorted.
    fn trips(&self) -> Vec<Duration> {
        let mut trips = self
            .round_trips
            .lock()
            .map(|t| t.clone())
            .unwrap_or_default();
        trips.sort();
        trips
    }
}

/// One hub's side of the run: its handle, its devices and their messages, its tally.
struct Floor {
    name: &'static str,
    hub: HubHandle,
    devices: [(&'static str, &'static str); 2],
    tally: Tally,
}

/// What the shutdown is waiting for: half the commands sent (or Ctrl-C, in `main`).
struct Midway {
    sent: AtomicU64,
    reached: Notify,
}

/// One task: send `PER_TASK` commands to `floor`'s hub, one at a time, until told to stop.
async fn sender(floor: Arc<Floor>, task: usize, midway: Arc<Midway>, told: CancellationToken) {
    let impatient = task % 5 == 4;
    for n in 0..PER_TASK {
        if told.is_cancelled() {
            return;
        }
        let (device, verb) = floor.devices[(task + n as usize) % 2];
        let message = match verb {
            "dim" | "volume" => format!("{verb} {}", (task as u64 * 7 + n) % 101),
            other => other.to_owned(),
        };
        let command = |reply| HubCommand::Send {
            device: device.to_owned(),
            message,
            reply,
        };
        bump(&floor.tally.sent);
        if midway.sent.fetch_add(1, Ordering::SeqCst) + 1 == (TASKS as u64 * PER_TASK) / 2 {
            midway.reached.notify_one();
        }
        let start = Instant::now();
        let accepted = if impatient {
            floor.hub.actor().try_send(command)
        } else {
            floor.hub.actor().send(command).await
        };
        let answer = match accepted {
            Ok(pending) => pending.await,
            Err(refused) => {
                let tally = &floor.tally;
                bump(match refused {
                    ActorError::Full { .. } => &tally.full,
                    ActorError::ShuttingDown { .. } => &tally.shutting_down,
                    _ => &tally.other_refusals,
                });
                continue;
            }
        };
        match answer {
            Ok(Ok(_)) => {
                bump(&floor.tally.completed);
                if let Ok(mut trips) = floor.tally.round_trips.lock() {
                    trips.push(start.elapsed());
                }
            }
            Err(ActorError::Abandoned { .. }) => bump(&floor.tally.abandoned),
            Ok(Err(_)) | Err(_) => bump(&floor.tally.failed),
        }
    }
}

/// A hub for `devices` (kind, name, handshake in ms, what it is told), its devices connected
/// before it is spawned: the hub's methods are plain async methods on its state, so the
/// handshakes are done without the actor, and no measured command pays for one.
async fn floor(
    system: &ActorSystem,
    name: &'static str,
    devices: [(&'static str, &'static str, &'static str, &'static str); 2],
) -> Result<Floor, HubError> {
    let mut hub = Hub::new(Arc::new(device_registry()));
    for (kind, device, latency_ms, _) in devices {
        hub = hub.with(kind, Config::new(device).with("latency_ms", latency_ms));
        let hello = match kind {
            "light" => "off",
            "speaker" => "stop",
            _ => "warm seat",
        };
        hub.send(device, hello).await?;
    }
    Ok(Floor {
        name,
        hub: HubHandle::from(system.spawn(name, CAPACITY, hub)),
        devices: devices.map(|(_, device, _, verb)| (device, verb)),
        tally: Tally::default(),
    })
}

#[tokio::main]
pub async fn main() -> Result<(), Box<dyn Error>> {
    let system = ActorSystem::new();
    // A message takes a tenth of a device's handshake: 1 ms downstairs, 5 ms upstairs. The
    // two floors connect their devices at the same time.
    let lights = [
        ("light", "kitchen", "10", "dim"),
        ("light", "hallway", "10", "dim"),
    ];
    let upstairs = [
        ("speaker", "bedroom", "50", "volume"),
        ("toilet", "bathroom", "50", "flush"),
    ];
    let (down, up) = tokio::try_join!(
        floor(&system, "downstairs", lights),
        floor(&system, "upstairs", upstairs)
    )?;
    let floors = [down, up].map(Arc::new);
    println!("== actor: two hubs, {TASKS} tasks, 1,000 commands, a shutdown midway");
    println!(
        "   downstairs: kitchen and hallway lights, 1 ms a message; upstairs: bedroom speaker and\n   \
         bathroom toilet, 5 ms a message; mailboxes of {CAPACITY}; every fifth task uses try_send"
    );
    println!("   press Ctrl-C to shut down before midway\n");

    let midway = Arc::new(Midway {
        sent: AtomicU64::new(0),
        reached: Notify::new(),
    });
    let started = Instant::now();
    for task in 0..TASKS {
        let floor = Arc::clone(&floors[task % 2]);
        system.spawn_task(sender(floor, task, Arc::clone(&midway), system.token()));
    }

    // Detect: whichever comes first, Ctrl-C or the scripted midway point.
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await; // no signal handling here: only midway then
        }
    };
    let detected = tokio::select! {
        () = ctrl_c => "Ctrl-C",
        () = midway.reached.notified() => "midway",
    };
    let told_at = started.elapsed();
    let sent_then = midway.sent.load(Ordering::SeqCst);
    println!(
        "detect: {detected}, {sent_then} commands sent, after {}",
        human(told_at)
    );
    // Tell and wait: one call; the report says what happened to each actor and task.
    println!("tell:   the token is cancelled: the hubs close their doors, the tasks stop sending");
    let report = system.shutdown(DEADLINE).await;
    print!("wait:   {report}");

    println!(
        "\n{:<44}{:>12}{:>12}",
        "commands", floors[0].name, floors[1].name
    );
    let row = |label: &str, value: &dyn Fn(&Floor, &ActorReport) -> String| {
        let cells: Vec<String> = floors
            .iter()
            .zip(&report.actors)
            .map(|(floor, actor)| format!("{:>12}", value(floor, actor)))
            .collect();
        println!("  {label:<42}{}", cells.concat());
    };
    row("planned", &|_, _| (TASKS as u64 / 2 * PER_TASK).to_string());
    row("sent", &|f, _| read(&f.tally.sent).to_string());
    row("refused at the door: mailbox full (try_send)", &|f, _| {
        read(&f.tally.full).to_string()
    });
    row("refused at the door: shutting down", &|f, _| {
        read(&f.tally.shutting_down).to_string()
    });
    row("accepted", &|_, a| a.stats.accepted.to_string());
    row("completed (of them while draining)", &|_, a| {
        format!("{} ({})", a.stats.handled, a.stats.drained)
    });
    row("refused after acceptance (the deadline)", &|_, a| {
        a.stats.refused.to_string()
    });
    row("answers the tasks read: ok / abandoned", &|f, _| {
        format!(
            "{} / {}",
            read(&f.tally.completed),
            read(&f.tally.abandoned)
        )
    });
    row("mailbox high water / capacity", &|_, a| {
        format!("{}/{}", a.stats.high_water, a.stats.capacity)
    });
    row("round trip, median", &|f, _| {
        percentile(&f.tally.trips(), 0.50).map_or("-".into(), human)
    });
    row("round trip, 95th percentile", &|f, _| {
        percentile(&f.tally.trips(), 0.95).map_or("-".into(), human)
    });

    println!("\nwhat to notice:");
    notice(
        &floors,
        &report.actors,
        told_at,
        report.aborted,
        report.took,
    );
    Ok(())
}

/// What the numbers say, each sentence picked by comparing them.
fn notice(
    floors: &[Arc<Floor>; 2],
    actors: &[ActorReport],
    told_at: Duration,
    aborted: usize,
    took: Duration,
) {
    let sums: Vec<String> = actors
        .iter()
        .map(|a| {
            let s = a.stats;
            format!(
                "{} {} = {} + {} + {}",
                a.name, s.accepted, s.handled, s.refused, s.panicked
            )
        })
        .collect();
    let whole = actors.iter().all(|a| {
        let s = a.stats;
        s.accepted == s.handled + s.refused + s.panicked
    });
    println!(
        "* accepted = completed + abandoned + panicked, on each hub:\n  {}: {}",
        sums.join(", "),
        if whole {
            "every accepted command got\n  exactly one answer, its result or a typed refusal"
        } else {
            "a command is missing\n  from the sums, which the actor promises never happens"
        }
    );
    let patient = (TASKS / 2 - TASKS / 10) as f64;
    for ((floor, actor), nominal) in floors.iter().zip(actors).zip([1, 5].map(ms)) {
        let before_tell = actor.stats.handled - actor.stats.drained;
        let service = told_at / before_tell.max(1) as u32;
        let Some(median) = percentile(&floor.tally.trips(), 0.50) else {
            continue;
        };
        let over = ratio(service, nominal).unwrap_or(0.0);
        println!(
            "* {}: a command every {} ({before_tell} in {}), {}",
            floor.name,
            human(service),
            human(told_at),
            if over <= 1.0 + NOISE {
                format!("its devices' {} and no more", human(nominal))
            } else {
                format!(
                    "{over:.1}x its devices' {}: tokio's timer\n  rounds each wait up to \
                     its next millisecond, and the hub does one command at a time",
                    human(nominal)
                )
            }
        );
        if (before_tell as f64) < 2.0 * patient {
            println!("  too few before the tell for a steady state: the run was cut short");
            continue;
        }
        let turns = ratio(median, service).unwrap_or(0.0);
        println!(
            "  its median round trip, {}, is {turns:.0} of those: {}",
            human(median),
            if (turns - patient).abs() <= patient * 2.0 * NOISE {
                format!(
                    "about the {patient:.0} patient callers in\n  flight, so a call mostly \
                     waits its turn (Little's law: callers / throughput)"
                )
            } else {
                format!(
                    "not the {patient:.0} callers in flight that\n  Little's law predicts: \
                     this machine added waiting of its own"
                )
            }
        );
    }
    let full: u64 = floors.iter().map(|f| read(&f.tally.full)).sum();
    let at_capacity = actors
        .iter()
        .all(|a| a.stats.high_water == a.stats.capacity);
    println!(
        "* {}: the\n  patient tasks waited in `send` for room; the impatient ones were refused \
         {full} times\n  (ActorError::Full), and those commands never started",
        if at_capacity {
            "both mailboxes filled up (high water = capacity)"
        } else {
            "a mailbox never filled, so back-pressure hardly bit"
        }
    );
    let odd: u64 = floors
        .iter()
        .map(|f| read(&f.tally.other_refusals) + read(&f.tally.failed))
        .sum();
    if odd > 0 {
        println!(
            "* {odd} commands were refused or failed for another reason (a device error, a \
             stopped hub):\n  none is expected in this run"
        );
    }
    let shutting: u64 = floors.iter().map(|f| read(&f.tally.shutting_down)).sum();
    let drained: Vec<String> = actors
        .iter()
        .map(|a| format!("{} answered {} more", a.name, a.stats.drained))
        .collect();
    let abandoned: u64 = actors.iter().map(|a| a.stats.refused).sum();
    println!(
        "* told to stop, the doors closed at once ({shutting} callers waiting for room got \
         ShuttingDown);\n  draining, {}; {}",
        drained.join(", "),
        if abandoned == 0 && aborted == 0 {
            format!(
                "all in {}, within the\n  {} deadline",
                human(took),
                human(DEADLINE)
            )
        } else {
            let unread = unread_answers(floors, actors);
            format!(
                "at the {} deadline,\n  {abandoned} commands were still queued: abandoned, each \
                 caller told so (ActorError::Abandoned);\n  {aborted} tasks were still waiting \
                 and were aborted, leaving {unread} answers unread",
                human(DEADLINE)
            )
        }
    );
}

/// Answers sent by the hubs that no task read: those of the tasks aborted at the deadline.
fn unread_answers(floors: &[Arc<Floor>; 2], actors: &[ActorReport]) -> u64 {
    let sent: u64 = actors
        .iter()
        .map(|a| a.stats.handled + a.stats.refused)
        .sum();
    let read_back: u64 = floors
        .iter()
        .map(|f| read(&f.tally.completed) + read(&f.tally.abandoned) + read(&f.tally.failed))
        .sum();
    sent.saturating_sub(read_back)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

//! A smart home built by name: devices made by kind, one by one, then with `create_many`.
//!
//! ```text
//! cargo run --release --example factory
//! ```
//!
//! First the pattern used plainly: a registry of named async constructors, a kind added at run
//! time, devices made by name, what each mistake prints. Then six devices made one by one, with
//! `create_many`, and three at a time, drawn from the registry's spans, and what to notice in
//! the times measured. Connecting is a `tokio::time::sleep`: no network.

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use async_patterns::factory::{Config, Device, FactoryError, Light, Registry, device_registry};
use async_patterns::timing::{
    Bar, NOISE, Page, Table, Target, Timeline, human, measure, ratio, record_spans,
};

fn main() -> Result<(), Box<dyn Error>> {
    run(&mut Page::new("factory"), false)
}

/// The demo; `brief` (the tour's version) leaves out what the mistakes print.
pub fn run(page: &mut Page, brief: bool) -> Result<(), Box<dyn Error>> {
    let runtime = tokio::runtime::Runtime::new()?;
    page.heading("factory: a smart home built by name");
    runtime.block_on(async {
        plainly(page, brief).await?;
        measured(page).await
    })
}

// 1. The pattern, plainly ------------------------------------------------------------------

/// The home: the built-in kinds (light, speaker, toilet), and one more added at run time.
fn home() -> Result<Registry<dyn Device>, FactoryError> {
    let home = device_registry().with_timeout(Duration::from_millis(300));
    // A new kind, from an async closure: a light with a quicker handshake.
    home.register("night light", async |config: Config| {
        Light::connect(config.with("latency_ms", "30")).await
    })?;
    Ok(home)
}

async fn plainly(page: &mut Page, brief: bool) -> Result<(), Box<dyn Error>> {
    let home = home()?;
    page.line(format!("kinds registered: {}", home.kinds().join(", ")));
    // The caller names a kind, never a type, and awaits the device's handshake.
    let lamp = home.create("light", Config::new("kitchen")).await?;
    page.line(lamp.send("dim 30").await?);
    // Several at once: one result per request, in request order.
    let two = [("toilet", "upstairs"), ("speaker", "garden")].map(|(k, n)| (k, Config::new(n)));
    let made = home.create_many(two, None).await;
    for (device, message) in made.into_iter().zip(["flush", "play Blue Monday"]) {
        page.line(device?.send(message).await?);
    }
    if brief {
        return Ok(());
    }
    // Each mistake is an error that names the kind (or the device) and says what went wrong.
    let unknown = home.create("kettle", Config::new("k")).await.err();
    let twice = home.register("light", Light::connect).err();
    let failed = home
        .create("light", Config::new("garage").with("offline", "true"))
        .await
        .err();
    let hung = home
        .create("toilet", Config::new("cellar").with("latency_ms", "10000"))
        .await
        .err();
    let named = [
        "unknown kind",
        "registered twice",
        "failed connect",
        "hung connect",
    ];
    for (what, error) in named.into_iter().zip([unknown, twice, failed, hung]) {
        if let Some(error) = error {
            page.line(format!("{what:<17} {error}"));
        }
    }
    if let Err(error) = lamp.send("disco mode").await {
        page.line(format!("{:<17} {error}", "bad message"));
    }
    Ok(())
}

// 2. Measured ------------------------------------------------------------------------------

/// Six devices: handshakes of 50, 80, 150, 30, 80 and 150 ms.
fn requests() -> [(&'static str, Config); 6] {
    [
        ("light", "kitchen"),
        ("speaker", "living room"),
        ("toilet", "upstairs"),
        ("night light", "hallway"),
        ("speaker", "garden"),
        ("toilet", "downstairs"),
    ]
    .map(|(kind, name)| (kind, Config::new(name)))
}

type Made = Vec<Result<Box<dyn Device>, FactoryError>>;

/// One run in a fresh home: how long it took, and its spans (a failed construction is drawn
/// failed).
struct Run {
    took: Duration,
    timeline: Arc<Timeline>,
}

async fn timed(make: impl AsyncFnOnce(&Registry<dyn Device>) -> Made) -> Result<Run, FactoryError> {
    let (home, timeline) = (home()?, Arc::new(Timeline::new()));
    let (_, took) = record_spans(&timeline, "async_patterns::factory", measure(make(&home))).await;
    Ok(Run { took, timeline })
}

/// A run's constructions (not the `create_many` batch around them), by start.
fn constructions(run: &Run) -> Vec<Bar> {
    let mut bars = run.timeline.bars_by_start();
    bars.retain(|b| !b.label.starts_with("create_many"));
    bars
}

fn lengths(bars: &[Bar]) -> Vec<Duration> {
    bars.iter().map(|b| b.end - b.start).collect()
}

/// The time `lengths` take on `slots` slots, each in order on the first slot to free: what
/// `create_many` does.
fn greedy(lengths: &[Duration], slots: usize) -> Duration {
    let mut free_at = vec![Duration::ZERO; slots.max(1)];
    for &length in lengths {
        *free_at.iter_mut().min().expect("at least one slot") += length;
    }
    free_at.into_iter().max().unwrap_or_default()
}

/// The same through `buffered(slots)`, which yields in order: construction `i` starts only when
/// construction `i - slots` and every one before it are done.
fn in_order(lengths: &[Duration], slots: usize) -> Duration {
    let mut ends: Vec<Duration> = Vec::new();
    for (i, &length) in lengths.iter().enumerate() {
        let ahead = i.checked_sub(slots.max(1));
        let start = ahead.and_then(|a| ends[..=a].iter().max().copied());
        ends.push(start.unwrap_or_default() + length);
    }
    ends.into_iter().max().unwrap_or_default()
}

async fn measured(page: &mut Page) -> Result<(), Box<dyn Error>> {
    const LIMIT: usize = 3;
    let one_by_one = timed(async |home| {
        let mut made = Vec::new();
        for (kind, config) in requests() {
            made.push(home.create(kind, config).await);
        }
        made
    })
    .await?;
    let all = timed(async |home| home.create_many(requests(), None).await).await?;
    let limited = timed(async |home| home.create_many(requests(), Some(LIMIT)).await).await?;
    // One scale for the three runs: a run half as long is drawn half as wide.
    let scale = one_by_one.took.max(all.took).max(limited.took);
    let limit = format!("create_many, limit {LIMIT}");
    page.timeline_to_scale("one by one", &one_by_one.timeline, scale);
    page.timeline_to_scale("create_many", &all.timeline, scale);
    page.timeline_to_scale(&limit, &limited.timeline, scale);

    // The single constructions, measured one by one, give each run its ideal: their sum (a
    // sync factory), the slowest (all at once), the greedy schedule (with a limit).
    let singles = lengths(&constructions(&one_by_one));
    let slowest = singles.iter().max().copied().unwrap_or_default();
    let sum: Duration = singles.iter().sum();
    let (schedule, ordered) = (greedy(&singles, LIMIT), in_order(&singles, LIMIT));
    let mut table = Table::new("6 devices, each must connect before use");
    table.add_with_ideal("one by one", one_by_one.took, sum);
    table.add_with_ideal("create_many", all.took, slowest);
    table.add_with_ideal(&limit, limited.took, schedule);
    page.table(&table);
    let vs = |label: &str| table.vs_ideal(label).unwrap_or(f64::MAX);
    let within = |label: &str, ideal: &str, time| {
        let name = format!("{label} within 1.2x of {ideal} ({})", human(time));
        Target::at_most(name, vs(label), 1.2)
    };
    page.target(within("create_many", "the slowest construction", slowest));
    page.target(within(&limit, "the greedy schedule of the six", schedule));

    // What to notice, each sentence picked by comparing the numbers (10 % is noise).
    let near = |r: f64| r <= 1.0 + NOISE;
    page.notice(format!(
        "one by one took {} = {:.2}x the sum of its six constructions: {}.",
        human(one_by_one.took),
        vs("one by one"),
        match near(vs("one by one")) {
            true => "each waited for the one before, as a sync factory would",
            false => "more than the sum, so this machine added time between them",
        }
    ));
    page.notice(format!(
        "create_many took {:.2}x the slowest construction ({}): {}, {:.1}x faster than one by one.",
        vs("create_many"),
        human(slowest),
        match near(vs("create_many")) {
            true => "the six handshakes overlapped",
            false => "more than noise over it (its timeline shows which started late)",
        },
        table.speedup("create_many").unwrap_or(0.0),
    ));
    notice_slots(page, &limited, LIMIT, (schedule, ordered));
    Ok(())
}

/// What the limited run's spans say about its slots: how soon a freed slot was taken.
fn notice_slots(page: &mut Page, run: &Run, limit: usize, (greedy, ordered): (Duration, Duration)) {
    let bars = constructions(run);
    let busy: Duration = lengths(&bars).iter().sum();
    let used = ratio(busy, run.took * limit as u32).unwrap_or(0.0) * 100.0;
    page.notice(format!(
        "with a limit of {limit} it took {}, {:.2}x the greedy schedule ({}: each request on the \
         first slot to free); the slots were busy {used:.0} % of it.",
        human(run.took),
        ratio(run.took, greedy).unwrap_or(0.0),
        human(greedy),
    ));
    // Each construction that ended while one ahead of it (started before) still ran, and the
    // first one to start after it: the slot it handed on.
    let handed = bars.iter().enumerate().filter_map(|(i, done)| {
        let ahead = bars[..i].iter().find(|b| b.end > done.end)?;
        let next = bars.iter().find(|b| b.start >= done.end)?;
        Some((done, ahead, next))
    });
    if let Some((done, ahead, next)) = handed.min_by_key(|(done, ..)| done.end) {
        page.notice(format!(
            "the {} was done at {} while the {} ahead of it still ran, and the next request (a \
             {}) started in its slot at {}; kept in request order (`buffered`), the slot would \
             have waited for the {}, and the six would have taken {}.",
            done.label,
            human(done.end),
            ahead.label,
            next.label,
            human(next.start),
            ahead.label,
            human(ordered)
        ));
    }
}

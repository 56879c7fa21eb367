//! A smart home built by name: devices connected one by one, then concurrently.
//!
//! ```text
//! cargo run --release --example factory
//! ```
//!
//! Six devices are made three times through the same kind of registry: one by one, with
//! `create_many`, and with `create_many` two at a time. Every constructor is wrapped to record
//! when it ran, so each run is drawn as a timeline of its constructions. Then the devices answer
//! a message each, and each kind of mistake shows what it prints. It ends with what to notice,
//! worked out from the times it measured.
//!
//! Notice: the caller names kinds ("light", "toilet"), never types; a kind added at run time by
//! an async closure is made like the built-in ones, and so is a constructor wrapped to time it.
//! No network is used: connecting is simulated with `tokio::time::sleep`.

use std::error::Error;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_patterns::factory::{
    Config, Device, DeviceError, FactoryError, Light, Registry, SmartToilet, Speaker,
    device_registry,
};
use async_patterns::timing::{NOISE, Table, Target, Timeline, human, measure, ratio};

type Made = Result<Box<dyn Device>, FactoryError>;

fn requests() -> Vec<(&'static str, Config)> {
    vec![
        ("light", Config::new("kitchen")),       // 50 ms
        ("speaker", Config::new("living room")), // 80 ms
        ("toilet", Config::new("upstairs")),     // 150 ms
        ("night light", Config::new("hallway")), // 30 ms, registered in timed_home
        ("speaker", Config::new("garden")),      // 80 ms
        ("toilet", Config::new("downstairs")),   // 150 ms
    ]
}

/// Register `connect` as kind `kind`, wrapped so that each construction is drawn on `timeline`
/// as "kind name". A constructor is any closure, so a wrapped one registers like any other.
fn register_timed<F, Fut, D>(
    home: &Registry<dyn Device>,
    timeline: &Arc<Timeline>,
    kind: &'static str,
    connect: F,
) -> Result<(), FactoryError>
where
    F: Fn(Config) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<D, DeviceError>> + Send + 'static,
    D: Device + 'static,
{
    let timeline = Arc::clone(timeline);
    home.register(kind, move |config: Config| {
        let timeline = Arc::clone(&timeline);
        let label = format!("{kind} {}", config.name);
        let connecting = connect(config);
        async move { timeline.record(label, connecting).await }
    })
}

/// The home: the three built-in kinds and a night light, all drawn on `timeline`.
fn timed_home(timeline: &Arc<Timeline>) -> Result<Registry<dyn Device>, FactoryError> {
    let home = Registry::new().with_timeout(Duration::from_millis(300));
    register_timed(&home, timeline, Light::KIND, Light::connect)?;
    register_timed(&home, timeline, Speaker::KIND, Speaker::connect)?;
    register_timed(&home, timeline, SmartToilet::KIND, SmartToilet::connect)?;
    // A new kind at run time, from an async closure: a light with a quicker handshake.
    register_timed(&home, timeline, "night light", async |config: Config| {
        Light::connect(config.with("latency_ms", "30")).await
    })?;
    Ok(home)
}

/// One run: a fresh home and timeline, every request made by `make`, timed.
struct Run {
    made: Vec<Made>,
    took: Duration,
    timeline: Arc<Timeline>,
}

async fn run(
    make: impl AsyncFnOnce(&Registry<dyn Device>) -> Vec<Made>,
) -> Result<Run, FactoryError> {
    let timeline = Arc::new(Timeline::new());
    let home = timed_home(&timeline)?;
    let (made, took) = measure(make(&home)).await;
    Ok(Run {
        made,
        took,
        timeline,
    })
}

/// How long each construction of a run took.
fn lengths(run: &Run) -> Vec<Duration> {
    let bars = run.timeline.bars();
    bars.iter().map(|b| b.end.saturating_sub(b.start)).collect()
}

#[tokio::main]
pub async fn main() -> Result<(), Box<dyn Error>> {
    let kinds = timed_home(&Arc::new(Timeline::new()))?.kinds();
    println!("== factory: kinds registered: {}", kinds.join(", "));
    println!("   handshakes: light 50 ms, night light 30 ms, speaker 80 ms, toilet 150 ms\n");

    let one_by_one = run(async |home| {
        let mut made = Vec::new();
        for (kind, config) in requests() {
            made.push(home.create(kind, config).await);
        }
        made
    })
    .await?;
    let all = run(async |home| home.create_many(requests(), None).await).await?;
    let two = run(async |home| home.create_many(requests(), Some(2)).await).await?;
    // One scale for the three runs: a run half as long is drawn half as wide.
    let longest = one_by_one.took.max(all.took).max(two.took);
    for (title, run) in [
        (
            "one by one: `create(..).await` in a `for` loop",
            &one_by_one,
        ),
        ("create_many(requests, None): all at once", &all),
        (
            "create_many(requests, Some(2)): two at a time, results in order",
            &two,
        ),
    ] {
        let drawing = run.timeline.draw_to_scale(72, longest);
        println!("{title}, {}\n{drawing}", human(run.took));
    }

    // The single constructions, as measured one by one: the slowest is the ideal for a
    // concurrent run, their sum the time of a sync factory.
    let singles = lengths(&one_by_one);
    let slowest = singles.iter().copied().max().unwrap_or_default();
    let sum: Duration = singles.iter().sum();

    let made = one_by_one.made.iter().chain(&all.made).chain(&two.made);
    let failures = made.filter(|d| d.is_err()).count();
    println!("   devices made: {} of 18 requested", 18 - failures);

    let devices: Vec<Box<dyn Device>> = all.made.into_iter().collect::<Result<_, _>>()?;
    let messages = [
        "on",
        "play Blue Monday",
        "flush",
        "dim 10",
        "volume 60",
        "warm seat",
    ];
    let replies = futures::future::join_all(
        devices
            .iter()
            .zip(messages)
            .map(|(device, message)| device.send(message)),
    )
    .await;
    for (device, reply) in devices.iter().zip(replies) {
        match reply {
            Ok(reply) => println!("   a {:<8} said: {reply}", device.kind()),
            Err(e) => println!("   a {:<8} refused: {e}", device.kind()),
        }
    }

    println!("\n   what mistakes print:");
    let home = device_registry().with_timeout(Duration::from_millis(300));
    if let Err(e) = home.create("kettle", Config::new("k")).await {
        println!("   unknown kind:      {e}");
    }
    if let Err(e) = home.register("light", async |config: Config| Light::connect(config).await) {
        println!("   registered twice:  {e}");
    }
    let offline = Config::new("garage").with("offline", "true");
    if let Err(e) = home.create("light", offline).await {
        println!("   failed connect:    {e}");
    }
    let stuck = Config::new("cellar").with("latency_ms", "10000");
    if let Err(e) = home.create("toilet", stuck).await {
        println!("   hung connect:      {e}");
    }
    if let Err(e) = devices[0].send("disco mode").await {
        println!("   bad message:       {e}");
    }

    let mut table = Table::new("6 devices, each must connect before use");
    table.add_with_ideal("one by one", one_by_one.took, sum);
    table.add_with_ideal("create_many", all.took, slowest);
    // Two slots, results in order: a finished device waits for the one ahead of it and keeps
    // its slot meanwhile (the night light, done at 110 ms, waits for the toilet until 200 ms),
    // so the last toilet starts at 200 ms and ends at 350 ms.
    table.add_with_ideal("create_many, limit 2", two.took, Duration::from_millis(350));
    println!("\n{table}");
    let speedup = table.speedup("create_many").unwrap_or(0.0);
    let vs_slowest = table.vs_ideal("create_many").unwrap_or(f64::MAX);
    println!(
        "{}",
        Target::at_least("create_many >= 3x one by one", speedup, 3.0)
    );
    println!(
        "{}",
        Target::at_most(
            "create_many within 1.2x of the slowest handshake",
            vs_slowest,
            1.2
        )
    );

    println!("\nwhat to notice:");
    notice(&one_by_one, &two, (slowest, sum), speedup, vs_slowest);
    Ok(())
}

/// What the numbers say, each sentence picked by comparing them (10 % is taken as noise).
fn notice(
    one_by_one: &Run,
    two: &Run,
    (slowest, sum): (Duration, Duration),
    speedup: f64,
    vs_slowest: f64,
) {
    let vs_sum = ratio(one_by_one.took, sum).unwrap_or(f64::MAX);
    let ideal_speedup = ratio(sum, slowest).unwrap_or(0.0);
    println!(
        "* one by one took {} = {vs_sum:.2}x the sum of its six constructions: {}",
        human(one_by_one.took),
        if vs_sum <= 1.0 + NOISE {
            "each waited for\n  the one before, exactly as a sync factory would"
        } else {
            "more than the\n  sum, so this machine added time between them"
        }
    );
    println!(
        "* create_many took {vs_slowest:.2}x the slowest single construction ({}): {}",
        human(slowest),
        if vs_slowest <= 1.0 + NOISE {
            "the ideal;\n  the six handshakes overlapped, as its timeline shows"
        } else {
            "over the\n  ideal by more than noise; its timeline shows which ones started late"
        }
    );
    println!(
        "* so create_many was {speedup:.1}x faster than one by one: {} the ideal, sum / slowest \
         = {ideal_speedup:.1}x",
        if speedup >= (1.0 - NOISE) * ideal_speedup {
            "about"
        } else {
            "short of"
        }
    );
    // The longest a slot stayed taken by a finished construction: from its end to the next
    // start, and the construction ahead of it that ended then.
    let bars = two.timeline.bars();
    let held = bars
        .iter()
        .filter_map(|b| {
            let next = bars.iter().map(|o| o.start).filter(|s| *s >= b.end).min()?;
            let ahead = bars
                .iter()
                .filter(|o| o.end <= next)
                .max_by_key(|o| o.end)?;
            Some((next - b.end, b, ahead))
        })
        .max_by_key(|(held, ..)| *held);
    let busy: Duration = lengths(two).iter().sum();
    let used = ratio(busy, two.took * 2).unwrap_or(0.0);
    print!(
        "* with a limit of 2 it took {}, {:.2}x two slots packed perfectly (sum / 2); \
         its\n  slots were busy {:.0} % of it",
        human(two.took),
        ratio(two.took, sum / 2).unwrap_or(0.0),
        used * 100.0
    );
    match held {
        Some((held, done, ahead)) if ratio(held, two.took).unwrap_or(0.0) > 0.1 => println!(
            ": the {} was done at {} but held its slot\n  {} more, until the {} \
             ahead of it finished: results come back in request\n  order, so the next \
             construction started late",
            done.label,
            human(done.end),
            human(held),
            ahead.label
        ),
        _ => println!(": the slots were kept full"),
    }
}

//! A smart home built by name: devices connected one by one, then concurrently.
//!
//! ```text
//! cargo run --release --example factory
//! ```
//!
//! Notice: the caller names kinds ("light", "toilet"), never types; a kind added at run time by
//! an async closure is created like the built-in ones; made concurrently, six devices are ready
//! in the time of the slowest handshake, not the sum. Then what each kind of mistake prints.
//! No network is used: connecting is simulated with `tokio::time::sleep`.

use std::error::Error;
use std::time::Duration;

use async_patterns::factory::{Config, Device, Light, device_registry};
use async_patterns::timing::{Table, Target, measure};

fn requests() -> Vec<(&'static str, Config)> {
    vec![
        ("light", Config::new("kitchen")),       // 50 ms
        ("speaker", Config::new("living room")), // 80 ms
        ("toilet", Config::new("upstairs")),     // 150 ms
        ("night light", Config::new("hallway")), // 30 ms, registered below
        ("speaker", Config::new("garden")),      // 80 ms
        ("toilet", Config::new("downstairs")),   // 150 ms
    ]
}

#[tokio::main]
pub async fn main() -> Result<(), Box<dyn Error>> {
    let home = device_registry().with_timeout(Duration::from_millis(300));
    // A new kind at run time, from an async closure: a light with a quicker handshake.
    home.register("night light", async |config: Config| {
        Light::connect(config.with("latency_ms", "30")).await
    })?;
    println!("== factory: kinds registered: {}", home.kinds().join(", "));
    println!("   handshakes: light 50 ms, night light 30 ms, speaker 80 ms, toilet 150 ms");

    let sum: Duration = Duration::from_millis(50 + 80 + 150 + 30 + 80 + 150);
    let slowest = Duration::from_millis(150);
    let mut table = Table::new("6 devices, each must connect before use");

    let (one_by_one, took) = measure(async {
        let mut made = Vec::new();
        for (kind, config) in requests() {
            made.push(home.create(kind, config).await);
        }
        made
    })
    .await;
    table.add_with_ideal("one by one", took, sum);
    let (all, took) = measure(home.create_many(requests(), None)).await;
    table.add_with_ideal("create_many", took, slowest);
    let (two, took) = measure(home.create_many(requests(), Some(2))).await;
    // Two slots, results in order: a finished device waits for the one ahead of it and keeps
    // its slot meanwhile (the night light, done at 110 ms, waits for the toilet until 200 ms),
    // so the last toilet starts at 200 ms and ends at 350 ms.
    table.add_with_ideal("create_many, limit 2", took, Duration::from_millis(350));

    let made = one_by_one.iter().chain(&all).chain(&two);
    let failures = made.filter(|d| d.is_err()).count();
    println!("   devices made: {} of 18 requested", 18 - failures);

    let devices: Vec<Box<dyn Device>> = all.into_iter().collect::<Result<_, _>>()?;
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

    println!("\n{table}");
    let speedup = table.speedup("create_many").unwrap_or(0.0);
    println!(
        "{}",
        Target::at_least("create_many >= 3x one by one", speedup, 3.0)
    );
    println!(
        "{}",
        Target::at_most(
            "create_many within 1.2x of the slowest handshake",
            table.vs_ideal("create_many").unwrap_or(f64::MAX),
            1.2
        )
    );
    println!("concurrent creation: {speedup:.1}x faster than one by one (ideal 3.6x)");
    Ok(())
}

//! The factory's picture: six devices made by `create_many`, three at a time.

use std::time::Duration;

use async_patterns::factory::{Config, Device, Light, Registry, device_registry};
use async_patterns::timing::BarOutcome;
use futures::StreamExt;

use super::check::{committed, recorded};

/// The built-in devices and a night light, a light with a 30 ms handshake.
fn home() -> Registry<dyn Device> {
    let home = device_registry();
    let night_light = async |config: Config| Light::connect(config.with("latency_ms", "30")).await;
    home.register("night light", night_light)
        .expect("a new kind");
    home
}

/// Handshakes of 50, 80, 150, 30, 80 and 150 ms.
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

#[test]
fn create_many_with_a_limit() {
    let timeline = recorded("async_patterns::factory", || async {
        let made = home().create_many(requests(), Some(3)).await;
        assert!(made.iter().all(Result::is_ok));
    });
    // Each construction starts the moment a slot frees: the greedy schedule, 230 ms.
    let bars = timeline.bars_by_start();
    let drawn: Vec<(&str, u128, u128)> = bars
        .iter()
        .filter(|b| b.outcome == BarOutcome::Ok)
        .map(|b| (b.label.as_str(), b.start.as_millis(), b.end.as_millis()))
        .collect();
    let expected = [
        ("create_many, limit 3", 0, 230),
        ("light", 0, 50),
        ("speaker", 0, 80),
        ("toilet", 0, 150),
        ("night light", 50, 80),
        ("speaker", 80, 160),
        ("toilet", 80, 230),
    ];
    assert_eq!(drawn, expected);
    let title = "six devices made by create_many, three at a time (handshakes of 30 to 150 ms)";
    committed(
        "src/factory/pictures/create_many.svg",
        &timeline.to_svg(title),
    );

    // What the module doc compares it with: kept in order by `buffered(3)`, the night light
    // holds its slot until the first toilet is done (150 ms), and the second toilet ends at 300.
    recorded("nothing", || async {
        let (home, start) = (home(), tokio::time::Instant::now());
        let calls = futures::stream::iter(requests()).map(|(kind, c)| home.create(kind, c));
        assert_eq!(calls.buffered(3).count().await, 6);
        assert_eq!(start.elapsed(), Duration::from_millis(300));
    });
}

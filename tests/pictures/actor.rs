//! The actor's picture: a hub draining at shutdown, drawn from its commands' spans and its
//! drain's.

use std::sync::Arc;

use async_patterns::actor::{ActorError, ActorSystem, Hub, HubError, HubHandle};
use async_patterns::factory::{Config, device_registry};
use async_patterns::timing::BarOutcome;
use tokio::time::sleep;

use super::check::{committed, ms, recorded};

/// A hub with a porch light that answers a message in 20 ms, connected already (on a runtime
/// of its own), so that the picture starts with the first command.
fn connected_hub() -> Hub {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime");
    runtime.block_on(async {
        let light = Config::new("porch").with("latency_ms", "200");
        let mut hub = Hub::new(Arc::new(device_registry())).with("light", light);
        hub.send("porch", "off").await.expect("the light connects");
        hub
    })
}

#[test]
fn an_actor_drains_at_shutdown_until_its_deadline() {
    let hub = connected_hub();
    let timeline = recorded("async_patterns::actor", || async move {
        let system = ActorSystem::new();
        let hub = HubHandle::from(system.spawn("hub", 8, hub));
        // Six commands queued at once, 20 ms each; a late one at 50 ms.
        let send = |message: &'static str, after: u64| {
            let hub = hub.clone();
            tokio::spawn(async move {
                sleep(ms(after)).await;
                hub.send("porch", message).await
            })
        };
        let queued: Vec<_> = ["on", "dim 10", "dim 20", "dim 30", "dim 40", "dim 50"]
            .map(|message| send(message, 0))
            .into();
        let late = send("off", 50);
        // At 30 ms the shutdown begins, with 60 ms to drain.
        sleep(ms(30)).await;
        let report = system.shutdown(ms(60)).await;
        assert!(!report.in_time, "{report}");
        let stats = report.actors[0].stats;
        assert_eq!((stats.handled, stats.drained, stats.refused), (4, 2, 2));
        let mut answers = Vec::new();
        for call in queued {
            answers.push(call.await.expect("no panic"));
        }
        assert!(answers[..4].iter().all(Result::is_ok), "{answers:?}");
        let abandoned =
            |a: &Result<_, _>| matches!(a, Err(HubError::Actor(ActorError::Abandoned { .. })));
        assert!(answers[4..].iter().all(abandoned), "{answers:?}");
        let late = late.await.expect("no panic");
        assert!(
            matches!(late, Err(HubError::Actor(ActorError::ShuttingDown { .. }))),
            "{late:?}"
        );
    });

    // Two commands before the shutdown; the drain, from 30 ms until the actor stops at the
    // deadline (90 ms), with the commands it handled inside it, the last one cut off.
    let bars: Vec<_> = timeline
        .bars_by_start()
        .into_iter()
        .map(|b| (b.label, b.depth, b.start, b.end, b.outcome))
        .collect();
    let bar = |label: &str, depth, from, to, outcome| {
        (label.to_owned(), depth, ms(from), ms(to), outcome)
    };
    assert_eq!(
        bars,
        [
            bar("hub #1", 0, 0, 20, BarOutcome::Ok),
            bar("hub #2", 0, 20, 40, BarOutcome::Ok),
            bar("hub draining", 0, 30, 90, BarOutcome::TimedOut),
            bar("hub #3", 1, 40, 60, BarOutcome::Ok),
            bar("hub #4", 1, 60, 80, BarOutcome::Ok),
            bar("hub #5", 1, 80, 90, BarOutcome::Cancelled),
        ]
    );
    let markers: Vec<_> = timeline
        .markers()
        .into_iter()
        .map(|m| (m.label, m.at, m.lane))
        .collect();
    let on_drain = |label: &str, at| (label.to_owned(), ms(at), Some("hub draining".to_owned()));
    assert_eq!(
        markers,
        [
            on_drain("shutdown begun", 30),
            on_drain("refused a new command", 50),
            on_drain("the 60ms deadline passed", 90),
            on_drain("2 commands abandoned", 90),
        ]
    );
    let title = "a hub at shutdown: 6 commands of 20 ms queued, shutdown at 30 ms, 60 ms to drain";
    let svg = timeline.to_svg(title);
    committed("src/actor/pictures/drain.svg", &svg);
}

//! The factory module: the registry's errors, concurrent creation on tokio's paused clock (a
//! finished construction's slot taken at once by the next), the spans of each construction,
//! panics and timeouts, async closures as constructors, and the built-in devices.

use std::sync::Arc;
use std::time::Duration;

use async_patterns::factory::{
    Config, Device, DeviceError, FactoryError, Light, Registry, SmartToilet, Speaker,
    device_registry,
};
use async_patterns::testkit::{Delayed, MockDevice, within_paused};
use async_patterns::timing::{Bar, BarOutcome, Timeline, record_spans};
use futures::StreamExt;
use tokio::time::Instant;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The longest a test that could deadlock may take before it fails (real time; it takes
/// milliseconds when it passes).
const HANG: Duration = Duration::from_secs(10);

/// The cause carried by a `Failed` error, as a device error.
fn device_cause(err: &FactoryError) -> Option<&DeviceError> {
    match err {
        FactoryError::Failed { source, .. } => source.downcast_ref::<DeviceError>(),
        _ => None,
    }
}

#[tokio::test(start_paused = true)]
async fn an_unknown_kind_lists_the_known_kinds() {
    let home = device_registry();
    let err = home.create("kettle", Config::new("k")).await.err().unwrap();
    assert!(matches!(
        &err,
        FactoryError::UnknownKind { kind, known } if kind == "kettle" && known == &["light", "speaker", "toilet"]
    ));
    assert_eq!(
        err.to_string(),
        r#"no constructor for kind "kettle"; known kinds: light, speaker, toilet"#
    );
    assert_eq!(err.kind(), "kettle");

    let empty: Registry<dyn Device> = Registry::new();
    let err = empty.create("light", Config::new("l")).await.err().unwrap();
    assert!(err.to_string().ends_with("known kinds: none"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn registering_a_kind_twice_is_an_error_and_keeps_the_first() {
    let home = device_registry();
    let err = home
        .register("light", async |config: Config| {
            Speaker::connect(config).await
        })
        .unwrap_err();
    assert!(matches!(&err, FactoryError::Duplicate { kind } if kind == "light"));
    assert_eq!(
        err.to_string(),
        r#"a constructor for kind "light" is already registered"#
    );
    let still_a_light = home.create("light", Config::new("hall")).await.unwrap();
    assert_eq!(still_a_light.kind(), "light");
}

#[tokio::test(start_paused = true)]
async fn a_failing_constructor_names_the_kind_and_carries_the_cause() {
    let home = device_registry();
    let err = home
        .create("speaker", Config::new("garden").with("offline", "true"))
        .await
        .err()
        .unwrap();
    assert_eq!(err.kind(), "speaker");
    assert_eq!(
        device_cause(&err),
        Some(&DeviceError::Unreachable {
            device: "garden".into(),
            after: ms(80)
        })
    );
    assert_eq!(
        err.to_string(),
        r#"constructing a "speaker" failed: device "garden" did not answer after 80ms"#
    );
    assert!(std::error::Error::source(&err).is_some());

    let err = home
        .create("light", Config::new("attic").with("latency_ms", "soon"))
        .await
        .err()
        .unwrap();
    assert!(matches!(
        device_cause(&err),
        Some(DeviceError::BadConfig { key, value, .. }) if key == "latency_ms" && value == "soon"
    ));
}

#[tokio::test(start_paused = true)]
async fn concurrent_creation_takes_the_slowest_constructor_not_the_sum() {
    let home = device_registry();
    let requests = || {
        vec![
            ("light", Config::new("kitchen")),   // 50 ms
            ("speaker", Config::new("living")),  // 80 ms
            ("toilet", Config::new("upstairs")), // 150 ms
        ]
    };

    let start = Instant::now();
    let devices = home.create_many(requests(), None).await;
    assert_eq!(start.elapsed(), ms(150));
    let names: Vec<&str> = devices.iter().map(|d| d.as_ref().unwrap().name()).collect();
    assert_eq!(names, ["kitchen", "living", "upstairs"]);

    // (Limits of 1 to 5: `create_many_frees_a_finished_constructions_slot_at_once`.) A limit of
    // zero would make no progress at all; it is taken as one.
    let start = Instant::now();
    let devices = home.create_many(requests(), Some(0)).await;
    assert_eq!(start.elapsed(), ms(280));
    assert!(devices.iter().all(Result::is_ok));
}

/// The time `durations` take on `slots` slots when each, in order, starts on the first slot to
/// free: the greedy list schedule.
fn greedy_makespan(durations: &[u64], slots: usize) -> Duration {
    let mut free_at = vec![0; slots.max(1)];
    for &d in durations {
        *free_at.iter_mut().min().expect("a slot") += d;
    }
    ms(free_at.into_iter().max().unwrap_or(0))
}

/// Each construction recorded: (label, depth, start ms, end ms, outcome), by start.
type Drawn = Vec<(String, usize, u128, u128, BarOutcome)>;

async fn drawn<F: Future>(timeline: &Arc<Timeline>, made: F) -> (F::Output, Drawn) {
    let out = record_spans(timeline, "async_patterns::factory", made).await;
    let bars = timeline.bars_by_start().into_iter();
    let bar = |Bar {
                   label,
                   depth,
                   start,
                   end,
                   outcome,
                   ..
               }| { (label, depth, start.as_millis(), end.as_millis(), outcome) };
    (out, bars.map(bar).collect())
}

#[tokio::test(start_paused = true)]
async fn create_many_frees_a_finished_constructions_slot_at_once() {
    // A slow toilet first, then three quick lights and a speaker. Kept in request order by
    // `buffered(2)`, a light that is done keeps its slot until the toilet is: 260 ms. Freed at
    // once, each request starts on the first slot to free: the greedy schedule's 170 ms.
    let home = device_registry();
    let latencies = [150, 30, 30, 30, 80];
    let kinds = ["toilet", "light", "light", "light", "speaker"];
    let requests = || -> Vec<(&str, Config)> {
        let each = kinds.into_iter().zip(latencies).enumerate();
        let config = |i, ms: u64| Config::new(format!("d{i}")).with("latency_ms", ms.to_string());
        each.map(|(i, (kind, ms))| (kind, config(i, ms))).collect()
    };
    let start = Instant::now();
    let calls = futures::stream::iter(requests()).map(|(kind, config)| home.create(kind, config));
    let ordered: Vec<_> = calls.buffered(2).collect().await;
    assert_eq!((start.elapsed(), ordered.len()), (ms(260), 5));
    for limit in [1, 2, 3, 5] {
        let (start, timeline) = (Instant::now(), Arc::new(Timeline::new()));
        let (made, bars) = drawn(&timeline, home.create_many(requests(), Some(limit))).await;
        let took = start.elapsed();
        assert_eq!(took, greedy_makespan(&latencies, limit), "limit {limit}");
        let names: Vec<&str> = made.iter().map(|d| d.as_ref().unwrap().name()).collect();
        assert_eq!(names, ["d0", "d1", "d2", "d3", "d4"]);
        // Two slots: each light's slot is taken by the next request the moment it is done.
        if limit == 2 {
            let starts: Vec<(&str, u128)> = bars.iter().map(|b| (b.0.as_str(), b.2)).collect();
            let at = [0, 0, 30, 60, 90];
            assert_eq!(starts[0], ("create_many, limit 2", 0));
            assert_eq!(starts[1..], kinds.into_iter().zip(at).collect::<Vec<_>>());
        }
    }
    assert_eq!(greedy_makespan(&latencies, 2), ms(170));
}

#[tokio::test(start_paused = true)]
async fn each_construction_is_a_span_named_by_its_kind_that_says_how_it_ended() {
    let home = device_registry().with_timeout(ms(100));
    let requests = vec![
        ("light", Config::new("kitchen")),
        ("speaker", Config::new("garden").with("offline", "true")),
        ("toilet", Config::new("upstairs")),
        ("kettle", Config::new("k")),
    ];
    let timeline = Arc::new(Timeline::new());
    let (made, _) = drawn(&timeline, home.create_many(requests, None)).await;
    assert_eq!(made.iter().filter(|d| d.is_ok()).count(), 1);
    // Dropped midway, inside the recording: drawn cancelled.
    let light = home.create("light", Config::new("l"));
    let dropped = async { tokio::time::timeout(ms(20), light).await };
    let (dropped, bars) = drawn(&timeline, dropped).await;
    assert!(dropped.is_err());
    use BarOutcome::{Cancelled, Failed, Ok, TimedOut};
    let expected = [
        ("create_many, all at once", 0, 0, 100, Ok),
        ("light", 1, 0, 50, Ok),
        ("speaker", 1, 0, 80, Failed),
        ("toilet", 1, 0, 100, TimedOut),
        ("kettle", 1, 0, 0, Failed),
        ("light", 0, 100, 120, Cancelled),
    ];
    assert_eq!(
        bars,
        expected.map(|(l, d, s, e, o)| (l.to_owned(), d, s, e, o))
    );
}

#[tokio::test(start_paused = true)]
async fn create_many_reports_each_request_in_order() {
    let home = device_registry().with_timeout(ms(200));
    home.register(
        "haunted",
        async |_config: Config| -> Result<Light, DeviceError> {
            tokio::time::sleep(ms(10)).await;
            panic!("the light flickered")
        },
    )
    .unwrap();
    let start = Instant::now();
    let report = home
        .create_many(
            [
                ("light", Config::new("a")),
                ("kettle", Config::new("b")),
                ("toilet", Config::new("c").with("offline", "true")),
                ("haunted", Config::new("h")),
                ("toilet", Config::new("slow").with("latency_ms", "5000")),
                ("speaker", Config::new("d")),
            ],
            None,
        )
        .await;
    // A panic, a failure and a hang each cost only their own slot.
    assert_eq!(start.elapsed(), ms(200));
    assert_eq!(report.len(), 6);
    assert_eq!(report[0].as_ref().unwrap().name(), "a");
    assert!(matches!(&report[1], Err(FactoryError::UnknownKind { kind, .. }) if kind == "kettle"));
    assert!(matches!(&report[2], Err(FactoryError::Failed { kind, .. }) if kind == "toilet"));
    assert!(matches!(&report[3], Err(FactoryError::Panicked { kind, .. }) if kind == "haunted"));
    assert!(matches!(&report[4], Err(FactoryError::TimedOut { kind, .. }) if kind == "toilet"));
    assert_eq!(report[5].as_ref().unwrap().name(), "d");
}

#[tokio::test(start_paused = true)]
async fn a_panicking_constructor_becomes_an_error() {
    let registry: Registry<dyn Device> = Registry::new();
    registry
        .register(
            "haunted",
            async |_config: Config| -> Result<Light, DeviceError> {
                tokio::time::sleep(ms(10)).await;
                panic!("the light flickered")
            },
        )
        .unwrap();
    // Panics before it even returns a future.
    registry
        .register(
            "cursed",
            |_config: Config| -> futures::future::Ready<Result<Light, DeviceError>> {
                panic!("no future for you")
            },
        )
        .unwrap();

    let err = registry
        .create("haunted", Config::new("h"))
        .await
        .err()
        .unwrap();
    assert!(matches!(
        &err,
        FactoryError::Panicked { kind, message } if kind == "haunted" && message == "the light flickered"
    ));
    let err = registry
        .create("cursed", Config::new("c"))
        .await
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        r#"the constructor for "cursed" panicked: no future for you"#
    );
    // The registry is still usable after both panics.
    assert_eq!(registry.kinds(), ["cursed", "haunted"]);
}

#[tokio::test(start_paused = true)]
async fn a_constructor_that_hangs_is_abandoned_at_the_timeout() {
    let registry = device_registry().with_timeout(ms(100));
    let start = Instant::now();
    let err = registry
        .create("toilet", Config::new("slow").with("latency_ms", "5000"))
        .await
        .err()
        .unwrap();
    assert_eq!(start.elapsed(), ms(100));
    assert!(matches!(
        &err,
        FactoryError::TimedOut { kind, after } if kind == "toilet" && *after == ms(100)
    ));
    // A quick one is unaffected.
    assert!(registry.create("light", Config::new("ok")).await.is_ok());

    // A latency too large to add to "now" is a very long sleep, not a panic.
    let start = Instant::now();
    let huge = Config::new("far").with("latency_ms", u64::MAX.to_string());
    let err = registry.create("light", huge).await.err().unwrap();
    assert!(matches!(&err, FactoryError::TimedOut { kind, .. } if kind == "light"));
    assert_eq!(start.elapsed(), ms(100));
}

#[tokio::test(start_paused = true)]
async fn a_mock_device_is_made_by_a_registered_constructor() {
    let mut bell = MockDevice::new();
    bell.expect_name().return_const("front".to_owned());
    bell.expect_kind().return_const("doorbell".to_owned());
    bell.expect_send()
        .withf(|m: &str| m == "ring")
        .times(2)
        .returning(|_| Ok("ding dong".into()));
    // Shared: the constructor hands out the mock, and the test keeps a handle to verify it.
    let bell = Arc::new(bell);
    let registry: Registry<dyn Device> = Registry::new();
    let made = Arc::clone(&bell);
    registry
        .register("doorbell", move |_config: Config| {
            let bell = Arc::clone(&made);
            async move {
                tokio::time::sleep(ms(30)).await; // the handshake
                // Each message takes 20 ms of virtual time.
                Ok::<_, DeviceError>(Delayed::new(bell, ms(20)))
            }
        })
        .unwrap();

    let start = Instant::now();
    let device = registry
        .create("doorbell", Config::new("front"))
        .await
        .unwrap();
    assert_eq!(start.elapsed(), ms(30));
    assert_eq!((device.name(), device.kind()), ("front", "doorbell"));
    let (a, b) = tokio::join!(device.send("ring"), device.send("ring"));
    assert_eq!(
        (a.unwrap(), b.unwrap()),
        ("ding dong".into(), "ding dong".into())
    );
    assert_eq!(start.elapsed(), ms(50)); // the two rings overlapped
    // The constructor ran inside the registry's panic guard; check the mock's counts here,
    // once the device and the registry (which hold the other handles) are gone.
    drop((device, registry));
    let Some(mut bell) = Arc::into_inner(bell) else {
        panic!("the device or the registry still holds the mock");
    };
    bell.checkpoint();
}

#[tokio::test(start_paused = true)]
async fn the_registry_is_generic_over_any_product_and_config() {
    // Unsized product `str`, config `usize`: a "greeting" of n exclamation marks.
    let words: Registry<str, usize> = Registry::new();
    words
        .register("hello", async |n: usize| {
            Ok::<_, std::convert::Infallible>(format!("hello{}", "!".repeat(n)))
        })
        .unwrap();
    words
        .register("nope", async |_n: usize| Err::<String, _>("no words today"))
        .unwrap();
    assert_eq!(&*words.create("hello", 3).await.unwrap(), "hello!!!");
    let err = words.create("nope", 0).await.err().unwrap();
    assert_eq!(
        err.to_string(),
        r#"constructing a "nope" failed: no words today"#
    );
}

#[test]
fn kinds_can_be_registered_while_other_tasks_create() {
    // On a thread of its own: a lock held across an `.await` would hang this test;
    // `within_paused` makes it fail instead.
    within_paused(HANG, async {
        let home = Arc::new(device_registry());
        let start = Instant::now();
        let creator = {
            let home = Arc::clone(&home);
            tokio::spawn(async move { home.create("toilet", Config::new("t")).await.map(|_| ()) })
        };
        // Let the creator get into the toilet's 150 ms handshake first.
        tokio::time::sleep(ms(10)).await;
        // Registering takes the lock briefly; it never waits for the handshake in flight
        // (a lock held across the constructor's `.await` would block this thread for good).
        home.register("lamp", async |config: Config| Light::connect(config).await)
            .unwrap();
        assert_eq!(start.elapsed(), ms(10));
        // The new kind is usable at once, while the toilet is still connecting.
        let lamp = home.create("lamp", Config::new("l")).await.unwrap();
        assert_eq!((lamp.kind(), start.elapsed()), ("light", ms(60)));
        assert!(creator.await.unwrap().is_ok());
        assert_eq!(start.elapsed(), ms(150));
        assert!(home.contains("lamp"));
        assert!(home.unregister("lamp"));
        assert!(!home.unregister("lamp"));
        assert_eq!(home.kinds(), ["light", "speaker", "toilet"]);
    });
}

#[tokio::test(start_paused = true)]
async fn the_built_in_devices_answer_and_refuse_messages() {
    let light = Light::connect(Config::new("desk")).await.unwrap();
    assert_eq!(light.send("on").await.unwrap(), "desk: light at 100%");
    assert_eq!(light.send("off").await.unwrap(), "desk: light off");
    let err = light.send("dim 140").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"device "desk" (light) does not understand "dim 140""#
    );

    let speaker = Speaker::connect(Config::new("den")).await.unwrap();
    assert_eq!(speaker.send("volume 70").await.unwrap(), "den: volume 70");
    assert_eq!(
        speaker.send("play Blue Monday").await.unwrap(),
        "den: playing Blue Monday at volume 70"
    );
    assert!(speaker.send("flush").await.is_err());

    let toilet = SmartToilet::connect(Config::new("loo").with("latency_ms", "10"))
        .await
        .unwrap();
    toilet.send("flush").await.unwrap();
    assert_eq!(
        toilet.send("flush").await.unwrap(),
        "loo: flushed (2 so far)"
    );
    assert_eq!(toilet.send("warm seat").await.unwrap(), "loo: seat warming");
}

#[tokio::test(start_paused = true)]
async fn connecting_takes_the_configured_latency() {
    let start = Instant::now();
    let _light = Light::connect(Config::new("l").with("latency_ms", "120"))
        .await
        .unwrap();
    assert_eq!(start.elapsed(), ms(120));
}

#[tokio::test(start_paused = true)]
async fn unregistering_drops_the_constructor_after_releasing_the_lock() {
    use std::sync::Weak;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Captured by a constructor; when dropped, it looks at the registry it was registered in.
    struct Probe {
        registry: Weak<Registry<dyn Device>>,
        kinds_seen: Arc<AtomicUsize>,
    }
    impl Drop for Probe {
        fn drop(&mut self) {
            if let Some(registry) = self.registry.upgrade() {
                // Would deadlock if the registry's lock were still held here.
                self.kinds_seen
                    .store(registry.kinds().len(), Ordering::SeqCst);
            }
        }
    }

    let home = Arc::new(device_registry());
    let kinds_seen = Arc::new(AtomicUsize::new(0));
    let probe = Probe {
        registry: Arc::downgrade(&home),
        kinds_seen: Arc::clone(&kinds_seen),
    };
    home.register("probe", move |config: Config| {
        let _captured = &probe;
        Light::connect(config)
    })
    .unwrap();
    assert!(home.unregister("probe"));
    assert_eq!(kinds_seen.load(Ordering::SeqCst), 3);
}

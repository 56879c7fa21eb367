//! Observer: smart-home events sent to four async observers, one by one and concurrently.
//!
//! A door opens, a light switches: the home's event bus notifies a logger, a metrics store,
//! a webhook (a real HTTP GET through `HttpGet`) and an alarm gateway that is down. The
//! per-observer report shows the failure isolated; the timing shows one-by-one costing the sum
//! of the observers' times and concurrent costing the slowest one's. A dashboard reading the
//! events as a stream, but only at the end, is told how many it missed.
//!
//! ```text
//! cargo run --release --example observer                # offline, against the loopback server
//! cargo run --release --example observer -- https://example.com/   # a real webhook URL
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_patterns::http::HttpGet;
use async_patterns::http::native::NativeHttp;
use async_patterns::observer::{BoxError, Observer, Received, Subject};
use async_patterns::testkit::TestServer;
use async_patterns::timing::{Table, Target, measure};
use futures::StreamExt;

/// What happens in the house.
#[derive(Debug, Clone)]
enum HomeEvent {
    DoorOpened { door: &'static str },
    LightSwitched { room: &'static str, on: bool },
}

impl HomeEvent {
    fn kind(&self) -> &'static str {
        match self {
            HomeEvent::DoorOpened { .. } => "door",
            HomeEvent::LightSwitched { .. } => "light",
        }
    }
}

impl std::fmt::Display for HomeEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HomeEvent::DoorOpened { door } => write!(f, "{door} door opened"),
            HomeEvent::LightSwitched { room, on } => {
                write!(f, "{room} light {}", if *on { "on" } else { "off" })
            }
        }
    }
}

/// Writes a log line per event (in memory, so the output stays readable).
#[derive(Default)]
struct Logger(Mutex<Vec<String>>);

#[async_trait::async_trait]
impl Observer<HomeEvent> for Logger {
    async fn notify(&self, event: &HomeEvent) -> Result<(), BoxError> {
        let mut lines = self.0.lock().map_err(|_| "log lock poisoned")?;
        lines.push(format!("[log] {event}"));
        Ok(())
    }
}

/// Counts events per kind, in a store that takes 60 ms per write.
struct Metrics {
    counts: Mutex<BTreeMap<&'static str, u64>>,
    write_time: Duration,
}

#[async_trait::async_trait]
impl Observer<HomeEvent> for Metrics {
    async fn notify(&self, event: &HomeEvent) -> Result<(), BoxError> {
        tokio::time::sleep(self.write_time).await; // the round trip to the store
        let mut counts = self.counts.lock().map_err(|_| "metrics lock poisoned")?;
        *counts.entry(event.kind()).or_default() += 1;
        Ok(())
    }
}

/// Calls a webhook for every event: any `HttpGet` works, here the native async client.
struct Webhook<H> {
    http: H,
    url: String,
}

#[async_trait::async_trait]
impl<H: HttpGet> Observer<HomeEvent> for Webhook<H> {
    async fn notify(&self, _event: &HomeEvent) -> Result<(), BoxError> {
        self.http.get(&self.url).await?;
        Ok(())
    }
}

#[tokio::main]
pub async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = TestServer::start()?;
    let arg = std::env::args().nth(1);
    let webhook_url = arg.clone().unwrap_or_else(|| server.delay_url(100));
    let alarm_url = server.status_url(503);
    println!("webhook:       {webhook_url}");
    println!("alarm gateway: {alarm_url} (always down)\n");

    let http = NativeHttp::new(Some(Duration::from_secs(5)))?;
    let subject = Subject::<HomeEvent>::builder()
        .timeout(Duration::from_secs(2))
        .build();
    let logger = Arc::new(Logger::default());
    let metrics = Arc::new(Metrics {
        counts: Mutex::default(),
        write_time: Duration::from_millis(60),
    });
    let _subscriptions = [
        subject.subscribe_named("logger", Arc::clone(&logger)),
        subject.subscribe_named("metrics", Arc::clone(&metrics)),
        subject.subscribe_named(
            "webhook",
            Webhook {
                http: http.clone(),
                url: webhook_url,
            },
        ),
        subject.subscribe_named(
            "alarm",
            Webhook {
                http: http.clone(),
                url: alarm_url,
            },
        ),
    ];
    let dashboard = subject.subscribe_stream(8);

    for event in [
        HomeEvent::DoorOpened { door: "front" },
        HomeEvent::LightSwitched {
            room: "kitchen",
            on: true,
        },
    ] {
        let report = subject.notify(&event).await;
        println!(
            "notify({event}): {} delivered, {} failed",
            report.delivered(),
            report.failed()
        );
        print!("{report}");
    }
    println!(
        "-> the alarm failed; the others, the dashboard's stream included, got the event anyway.\n"
    );

    const EVENTS: usize = 5;
    let events: Vec<HomeEvent> = (0..EVENTS)
        .map(|i| HomeEvent::LightSwitched {
            room: "hall",
            on: i % 2 == 0,
        })
        .collect();
    // The ideals (known only for the loopback server): one by one, the sum of the observers'
    // waits per event (60 + 100 ms); concurrently, the slowest one's (the webhook, 100 ms).
    let mut table = Table::new(format!("{EVENTS} events to 4 observers + 1 stream"));
    let ((), one_by_one) = measure(async {
        for event in &events {
            subject.notify_in_order(event).await;
        }
    })
    .await;
    let ((), concurrently) = measure(async {
        for event in &events {
            subject.notify(event).await;
        }
    })
    .await;
    let per_event = |ms: u32| Duration::from_millis(ms.into()) * EVENTS as u32;
    if arg.is_none() {
        table.add_with_ideal("one by one (notify_in_order)", one_by_one, per_event(160));
        table.add_with_ideal("concurrently (notify)", concurrently, per_event(100));
    } else {
        table.add("one by one (notify_in_order)", one_by_one);
        table.add("concurrently (notify)", concurrently);
    }
    println!("{table}");
    if let Some(speedup) = table.speedup("concurrently (notify)") {
        println!(
            "{}",
            Target::at_least("concurrent >= 1.4x one by one", speedup, 1.4)
        );
    }
    if let Some(vs_ideal) = table.vs_ideal("concurrently (notify)") {
        println!(
            "{}",
            Target::at_most(
                "concurrent within 1.3x of the webhook's time",
                vs_ideal,
                1.3
            )
        );
    }
    println!(
        "-> one by one pays logger + metrics (60 ms) + webhook (100 ms) + alarm per event;\n   \
         concurrently pays only the slowest, the webhook.\n"
    );

    let lines = logger.0.lock().map_err(|_| "log lock poisoned")?.len();
    let counts = metrics
        .counts
        .lock()
        .map_err(|_| "metrics lock poisoned")?
        .clone();
    println!("logger wrote {lines} lines; metrics counted {counts:?}");

    // Dropping the subject ends the dashboard's stream after what it still holds.
    drop(subject);
    let received: Vec<Received<HomeEvent>> = dashboard.collect().await;
    for item in &received {
        match item {
            Received::Missed(n) => println!("dashboard: missed {n} events (it read too late)"),
            Received::Event(event) => println!("dashboard: {event}"),
        }
    }
    println!(
        "-> the stream held 8 events; the dashboard was told what it lost, not left guessing."
    );
    Ok(())
}

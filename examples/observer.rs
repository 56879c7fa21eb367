//! Observer: a smart home's events to five async observers, one by one and concurrently, then
//! one burst of events to a stream subscriber under each delivery policy, side by side.
//!
//! ```text
//! cargo run --release --example observer      # offline, against the loopback server
//! ```

use std::collections::BTreeSet;
use std::error::Error;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_patterns::http::native::NativeHttp;
use async_patterns::http::{HttpConfig, HttpGet};
use async_patterns::observer::{
    BoxError, Delivery, FnObserver, Observer, Received, Report, StreamPolicy, Subject, Subscription,
};
use async_patterns::testkit::TestServer;
use async_patterns::timing::{Page, Table, Target, Timeline, human, ratio, record_spans};
use futures::StreamExt;
use tokio::time::sleep;

fn main() -> Result<(), Box<dyn Error>> {
    run(&mut Page::new("observer"), false)
}

// 1. The pattern, plainly

/// Keeps a line per event (in memory, so the output stays readable).
#[derive(Default)]
struct Logger(Mutex<Vec<String>>);

#[async_patterns::async_trait]
impl Observer<String> for Logger {
    async fn notify(&self, event: &String) -> Result<(), BoxError> {
        self.0.lock().map_err(|_| "poisoned")?.push(event.clone());
        Ok(())
    }
}

/// Calls a webhook for every event: any `HttpGet` works, here the native async client.
struct Webhook(NativeHttp, String);

#[async_patterns::async_trait]
impl Observer<String> for Webhook {
    async fn notify(&self, _event: &String) -> Result<(), BoxError> {
        self.0.get(&self.1).await?;
        Ok(())
    }
}

/// Five observers on a subject that gives up on a call after 80 ms: a log, a metrics store
/// (30 ms a write), a webhook (50 ms), an alarm gateway that is down (503), an archive (200 ms).
fn the_house(server: &TestServer) -> Result<(Subject<String>, Vec<Subscription>), Box<dyn Error>> {
    let http = NativeHttp::new(HttpConfig::default())?;
    let subject = Subject::<String>::builder()
        .timeout(Duration::from_millis(80))
        .build();
    let takes = |ms| {
        FnObserver::new(move |_: &String| async move {
            sleep(Duration::from_millis(ms)).await;
            Ok::<(), BoxError>(())
        })
    };
    let subscriptions = vec![
        subject.subscribe_named("logger", Logger::default()),
        subject.subscribe_named("metrics store", takes(30)),
        subject.subscribe_named("webhook", Webhook(http.clone(), server.delay_url(50))),
        subject.subscribe_named("alarm gateway", Webhook(http, server.status_url(503))),
        subject.subscribe_named("archive", takes(200)),
    ];
    Ok((subject, subscriptions))
}

/// Subscribe the house and a stream, notify one event, and read what each did.
async fn plainly(page: &mut Page, server: &TestServer) -> Result<(), Box<dyn Error>> {
    let (subject, _subscriptions) = the_house(server)?;
    let mut dashboard = subject.subscribe_stream(8); // a consumer that pulls events
    let report = subject.notify(&"front door opened".to_owned()).await;
    page.line(format!(
        "notify(\"front door opened\") reports:\n{}",
        report.to_string().trim_end()
    ));
    for error in report.into_errors() {
        page.line(format!("as an error: {error}"));
    }
    drop(subject); // the stream ends after what it holds
    while let Some(item) = dashboard.next().await {
        page.line(format!("the dashboard's stream read {item:?}"));
    }
    Ok(())
}

// 2. Measured

/// Run the demo; `brief` is the tour's shorter version.
pub fn run(page: &mut Page, brief: bool) -> Result<(), Box<dyn Error>> {
    let server = TestServer::start()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let (events, burst_of) = if brief { (2, 8) } else { (5, 12) };
    page.heading("observer: a smart home's events to five async observers");
    runtime.block_on(plainly(page, &server))?;
    runtime.block_on(timed(page, &server, events))?;
    runtime.block_on(policies(page, burst_of));
    Ok(())
}

/// `n` events notified in order, then concurrently; one more each way drawn from the spans.
async fn timed(page: &mut Page, server: &TestServer, n: usize) -> Result<(), Box<dyn Error>> {
    let (subject, _subscriptions) = the_house(server)?;
    let events: Vec<String> = (1..=n).map(|i| format!("event {i}")).collect();
    let (subject, events) = (&subject, &events);
    let all = |in_order| async move {
        let mut reports = Vec::new();
        for event in events {
            reports.push(match in_order {
                true => subject.notify_in_order(event).await,
                false => subject.notify(event).await,
            });
        }
        reports
    };
    let mut table = Table::new(format!("{n} events to 5 observers (ideal: from the calls)"));
    let in_order: Vec<Report> = table.measure("notify_in_order", all(true)).await;
    let together: Vec<Report> = table.measure("notify", all(false)).await;
    // The ideals, from the reports: one by one, the sum of every call's own time; concurrently,
    // the slowest call's of each event.
    let own = in_order.iter().flatten().map(|d| d.elapsed).sum();
    let longest = |r: &Report| r.iter().map(|d| d.elapsed).max().unwrap_or_default();
    let slow = together.iter().map(longest).sum();
    table.set_ideal("notify_in_order", own);
    table.set_ideal("notify", slow);
    page.table(&table);

    // One more event each way, drawn from the subject's spans on timelines that start with it.
    let target = "async_patterns::observer";
    let one_by_one = Arc::new(Timeline::new());
    record_spans(&one_by_one, target, subject.notify_in_order(&events[0])).await;
    let scale = one_by_one.now();
    let concurrent = Arc::new(Timeline::new());
    record_spans(&concurrent, target, subject.notify(&events[0])).await;
    page.timeline_to_scale("one event, notify_in_order", &one_by_one, scale);
    page.timeline_to_scale("the same event, notify", &concurrent, scale);

    let bound = ratio(own, slow).unwrap_or(1.0);
    let (speedup, want) = (table.speedup("notify").unwrap_or(0.0), 0.8 * bound);
    let name = format!("notify >= {want:.1}x in order (0.8 x the {bound:.1}x the calls allow)");
    page.target(Target::at_least(name, speedup, want));
    let vs_ideal = table.vs_ideal("notify").unwrap_or(f64::MAX);
    let name = format!("notify within 1.2x of the slowest calls ({})", human(slow));
    page.target(Target::at_most(name, vs_ideal, 1.2));

    let took = |label: &str| table.row(label).map_or(Duration::ZERO, |r| r.elapsed);
    let (a, b) = (took("notify_in_order"), took("notify"));
    page.notice(format!(
        "notify_in_order took {}, {:.2}x the sum of the calls' own times: a loop takes the sum; \
         notify {}, {:.2}x the slowest call's of each event: not the sum.",
        human(a),
        ratio(a, own).unwrap_or(0.0),
        human(b),
        ratio(b, slow).unwrap_or(0.0)
    ));
    let calls: Vec<&Delivery> = together.iter().flatten().collect();
    let (ok, not): (Vec<_>, Vec<_>) = calls.iter().partition(|d| d.outcome.is_delivered());
    let who = |d: &&&Delivery| format!("the {} {}", d.name, d.outcome.kind());
    let who: BTreeSet<String> = not.iter().map(who).collect();
    page.notice(format!(
        "{}, yet the other {} calls of the {n} events were delivered: neither a failure nor a \
         timeout stops anybody else.",
        who.into_iter().collect::<Vec<_>>().join(" and "),
        ok.len()
    ));
    Ok(())
}

/// What a stream subscriber made of the burst: read, told it missed, refused, `notify`'s time.
struct Burst(StreamPolicy, u64, u64, usize, Duration);

/// `events` notified at once to a stream subscriber with room for 4, read every 5 ms.
async fn burst(policy: StreamPolicy, events: u32) -> Burst {
    // A subject of its own (a waiting stream slows its subject) that gives up after 50 ms.
    let give_up = Duration::from_millis(50);
    let subject = Subject::<u32>::builder().timeout(give_up).build();
    let mut stream = subject.subscribe_stream_with(policy, 4);
    let publish = async move {
        let mut reports = Vec::new();
        for n in 1..=events {
            reports.push(subject.notify(&n).await);
        }
        reports // the subject goes here: the stream ends after what it holds
    };
    // Read on the same task (`join!`), so a waiting `notify` lets the reader run.
    let read = async move {
        let (mut read, mut missed) = (0, 0);
        loop {
            sleep(Duration::from_millis(5)).await;
            match stream.next().await {
                Some(Received::Event(_)) => read += 1,
                Some(Received::Missed(n)) => missed += n,
                None => break (read, missed),
            }
        }
    };
    let (reports, (read, missed)) = tokio::join!(publish, read);
    // The stream is the subject's only subscriber: the reports are about it alone.
    let refused = reports.iter().map(Report::refused).sum();
    let spent = reports.iter().flatten().map(|d| d.elapsed).sum();
    Burst(policy, read, missed, refused, spent)
}

/// The same burst under each policy, side by side, and what to notice.
async fn policies(page: &mut Page, events: u32) {
    page.heading(format!(
        "{events} events at once to a 4-event stream, read every 5 ms"
    ));
    let mut runs = futures::future::join_all(StreamPolicy::ALL.map(|p| burst(p, events))).await;
    page.line("  policy        read  told missed  refused  notify spent");
    for Burst(policy, read, missed, refused, spent) in &runs {
        let (name, spent) = (policy.name(), human(*spent));
        let row = format!("  {name:<12} {read:>5} {missed:>12} {refused:>8} {spent:>13}");
        page.line(row);
    }
    let accounted = runs.iter().all(|r| r.1 + r.2 == u64::from(events));
    let refused: usize = runs.iter().map(|r| r.3).sum();
    runs.sort_by_key(|r| r.4);
    if let [.., next, most] = &runs[..] {
        page.notice(format!(
            "{} made notify spend {} on the burst and read {} of the {events} events; no other \
             policy made it spend more than {} ({}): only a stream that waits slows its subject.",
            most.0.name(),
            human(most.4),
            most.1,
            human(next.4),
            next.0.name()
        ));
    }
    page.notice(match accounted {
        true => format!(
            "the reports said refused {refused} times, and each reader's reads and misses make \
             {events}: none lost silently."
        ),
        false => format!("some reader's reads and misses do not make {events}: a silent loss."),
    });
}

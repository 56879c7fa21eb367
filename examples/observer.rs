//! Observer: smart-home events sent to four async observers, one by one and concurrently.
//!
//! A door opens, a light switches: the home's event bus notifies a logger, a metrics store,
//! a webhook (a real HTTP GET through `HttpGet`) and an alarm gateway that is down. The
//! per-observer report shows the failure isolated; the timing shows one-by-one costing the sum
//! of the observers' times and concurrent costing the slowest one's, and a timeline draws each
//! observer's call both ways, so the overlap is seen. A dashboard reading the events as a
//! stream, but only at the end, is told how many it missed. Then the same burst of events goes
//! to four stream subscribers, one per delivery policy (drop oldest, wait, latest, refuse),
//! each read by a slow consumer, side by side. It ends with what to notice in the numbers it
//! just measured.
//!
//! ```text
//! cargo run --release --example observer                # offline, against the loopback server
//! cargo run --release --example observer -- https://example.com/   # a real webhook URL
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_patterns::http::native::NativeHttp;
use async_patterns::http::{HttpConfig, HttpGet};
use async_patterns::observer::{
    BoxError, Delivery, Observer, Received, Report, StreamPolicy, Subject, Subscription,
};
use async_patterns::testkit::TestServer;
use async_patterns::timing::{Bar, Table, Target, Timeline, draw, human, measure, ratio};
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

/// While a run is traced, the run's name and the timeline its observer calls are drawn on.
#[derive(Default)]
struct Tracer(Mutex<Option<(&'static str, Arc<Timeline>)>>);

impl Tracer {
    /// Trace the calls from now on as `run`, on its timeline; `None` stops tracing.
    fn trace(&self, run: Option<(&'static str, &Arc<Timeline>)>) -> Result<(), &'static str> {
        *self.0.lock().map_err(|_| "tracer lock poisoned")? = run.map(|(r, t)| (r, Arc::clone(t)));
        Ok(())
    }

    /// The run under way, if one is traced.
    fn current(&self) -> Result<Option<(&'static str, Arc<Timeline>)>, &'static str> {
        Ok(self.0.lock().map_err(|_| "tracer lock poisoned")?.clone())
    }
}

/// An observer whose calls are drawn on the tracer's timeline, as `{run}: {name}`.
struct Traced<O> {
    name: &'static str,
    tracer: Arc<Tracer>,
    inner: O,
}

#[async_trait::async_trait]
impl<O: Observer<HomeEvent>> Observer<HomeEvent> for Traced<O> {
    async fn notify(&self, event: &HomeEvent) -> Result<(), BoxError> {
        match self.tracer.current()? {
            Some((run, timeline)) => {
                let label = format!("{run}: {}", self.name);
                timeline.record(label, self.inner.notify(event)).await
            }
            None => self.inner.notify(event).await,
        }
    }
}

/// Subscribe `observer` under `name`, traced.
fn subscribe_traced(
    subject: &Subject<HomeEvent>,
    tracer: &Arc<Tracer>,
    name: &'static str,
    observer: impl Observer<HomeEvent> + 'static,
) -> Subscription {
    let tracer = Arc::clone(tracer);
    subject.subscribe_named(
        name,
        Traced {
            name,
            tracer,
            inner: observer,
        },
    )
}

/// Each observer's own time, summed over `reports`: what a loop over them must take.
fn sum_of_own_times(reports: &[Report]) -> Duration {
    reports.iter().flatten().map(|d| d.elapsed).sum()
}

/// The slowest observer's time per report, summed: what concurrent calls must take.
fn sum_of_slowest(reports: &[Report]) -> Duration {
    let slowest = |r: &Report| r.iter().map(|d| d.elapsed).max().unwrap_or_default();
    reports.iter().map(slowest).sum()
}

/// The observer with the most time over `reports`.
fn slowest_observer(reports: &[Report]) -> Option<String> {
    let mut per_name: BTreeMap<String, Duration> = BTreeMap::new();
    for d in reports.iter().flatten() {
        *per_name.entry(d.name.to_string()).or_default() += d.elapsed;
    }
    let slowest = per_name.into_iter().max_by_key(|(_, time)| *time);
    slowest.map(|(name, _)| name)
}

/// "about {what}" when the ratio `measured / expected` is within 10 % of 1 (noise), else how
/// far off it is.
fn about(measured: f64, what: &str) -> String {
    if (measured - 1.0).abs() <= 0.1 {
        format!("about {what}")
    } else if measured > 1.0 {
        format!("more than {what}: overhead or noise shows")
    } else {
        format!("less than {what}: the two clocks disagree (noise)")
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

    let http = NativeHttp::new(HttpConfig::default().timeout(Duration::from_secs(5)))?;
    let subject = Subject::<HomeEvent>::builder()
        .timeout(Duration::from_secs(2))
        .build();
    let tracer = Arc::new(Tracer::default());
    let logger = Arc::new(Logger::default());
    let metrics = Arc::new(Metrics {
        counts: Mutex::default(),
        write_time: Duration::from_millis(60),
    });
    let webhook = |url| Webhook {
        http: http.clone(),
        url,
    };
    let _subscriptions = [
        subscribe_traced(&subject, &tracer, "logger", Arc::clone(&logger)),
        subscribe_traced(&subject, &tracer, "metrics", Arc::clone(&metrics)),
        subscribe_traced(&subject, &tracer, "webhook", webhook(webhook_url)),
        subscribe_traced(&subject, &tracer, "alarm", webhook(alarm_url)),
    ];
    let dashboard = subject.subscribe_stream(8);
    let mut notified = 0; // every event sent, to check the dashboard's count against

    let mut first_reports = Vec::new();
    for event in [
        HomeEvent::DoorOpened { door: "front" },
        HomeEvent::LightSwitched {
            room: "kitchen",
            on: true,
        },
    ] {
        let report = subject.notify(&event).await;
        notified += 1;
        println!(
            "notify({event}): {} delivered, {} failed",
            report.delivered(),
            report.failed()
        );
        print!("{report}");
        first_reports.push(report);
    }
    // Who failed, read from the reports: everyone else got both events.
    let failing: BTreeSet<&str> = first_reports
        .iter()
        .flatten()
        .filter(|d| !d.outcome.is_delivered())
        .map(|d| &*d.name)
        .collect();
    let others = first_reports[0].len() - failing.len();
    if failing.is_empty() {
        println!("-> all {others} subscribers got both events.\n");
    } else {
        let names: Vec<&str> = failing.into_iter().collect();
        println!(
            "-> the {} failed; the {others} others, the dashboard's stream included, got both \
             events anyway.\n",
            names.join(" and ")
        );
    }

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
    let (in_order_reports, one_by_one) = measure(async {
        let mut reports = Vec::new();
        for event in &events {
            reports.push(subject.notify_in_order(event).await);
        }
        reports
    })
    .await;
    let (concurrent_reports, concurrently) = measure(async {
        let mut reports = Vec::new();
        for event in &events {
            reports.push(subject.notify(event).await);
        }
        reports
    })
    .await;
    notified += 2 * EVENTS;
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

    // One more event, notified both ways while the tracer draws every observer's call.
    let timeline = Arc::new(Timeline::new());
    let event = HomeEvent::DoorOpened { door: "back" };
    tracer.trace(Some(("in order", &timeline)))?;
    let in_order = subject.notify_in_order(&event).await;
    tracer.trace(Some(("concurrent", &timeline)))?;
    let concurrent = subject.notify(&event).await;
    tracer.trace(None)?;
    notified += 2;
    let mut bars = timeline.bars();
    for bar in &mut bars {
        let (run, name) = bar.label.split_once(": ").unwrap_or_default();
        let report = if run == "in order" {
            &in_order
        } else {
            &concurrent
        };
        if let Some(delivery) = report.by_name(name) {
            bar.note = delivery.outcome.kind().to_owned();
            if !delivery.outcome.is_delivered() {
                bar.mark = 'x';
            }
        }
    }
    bars.sort_by_key(|b| b.start);
    println!("\nOne event, in order then concurrently ('#' delivered, 'x' failed):");
    print!("{}", draw(&bars, 50));

    let lines = logger.0.lock().map_err(|_| "log lock poisoned")?.len();
    let counts = metrics
        .counts
        .lock()
        .map_err(|_| "metrics lock poisoned")?
        .clone();
    println!("\nlogger wrote {lines} lines; metrics counted {counts:?}");

    // Dropping the subject ends the dashboard's stream after what it still holds.
    drop(subject);
    let received: Vec<Received<HomeEvent>> = dashboard.collect().await;
    let (mut read, mut lost) = (0, 0);
    for item in &received {
        match item {
            Received::Missed(n) => {
                lost += n;
                println!("dashboard: missed {n} events (it read too late)");
            }
            Received::Event(event) => {
                read += 1;
                println!("dashboard: {event}");
            }
        }
    }

    let policies = delivery_policies().await;

    println!("\nWhat to notice:");
    notice_times(
        &in_order_reports,
        one_by_one,
        &concurrent_reports,
        concurrently,
    );
    notice_timeline(&bars, &in_order, &concurrent);
    let accounted = read + lost as usize;
    println!(
        "* the dashboard read {read} events and was told it missed {lost}: {accounted} of the \
         {notified} notified, {}",
        if accounted == notified {
            "none lost silently".to_owned()
        } else {
            format!("{} unaccounted for", notified.abs_diff(accounted))
        }
    );
    notice_policies(&policies);
    Ok(())
}

/// What one stream subscriber got from the burst, under its policy.
struct PolicyRun {
    policy: StreamPolicy,
    read: u64,
    missed: u64,
    delivered: usize,
    timed_out: usize,
    refused: usize,
    /// The time `notify` spent on this subscriber, over the whole burst.
    notify_time: Duration,
}

const BURST: u32 = 12;

/// The same burst of events to four stream subscribers, one per delivery policy, each read by
/// a consumer that takes 5 ms per item. Each has a subject of its own (a `Wait` subscriber
/// slows every `notify` of its subject, for all its subscribers), which gives up on a
/// subscriber after 50 ms; the four run at once.
async fn delivery_policies() -> Vec<PolicyRun> {
    let (capacity, read_every) = (4, Duration::from_millis(5));
    println!(
        "\nDelivery policies: a burst of {BURST} events to a stream subscriber with room for \
         {capacity}, read every {}, once per policy",
        human(read_every)
    );
    let runs = StreamPolicy::ALL.map(|policy| async move {
        let subject = Subject::<u32>::builder()
            .timeout(Duration::from_millis(50))
            .build();
        let mut stream = subject.subscribe_stream_with(policy, capacity);
        let id = stream.id();
        // The consumer reads on this task too (`join!`), so a waiting `notify` lets it run.
        let publish = async move {
            let mut reports = Vec::new();
            for n in 1..=BURST {
                reports.push(subject.notify(&n).await);
            }
            reports // the subject is dropped here: the stream ends after what it holds
        };
        let consume = async move {
            let (mut read, mut missed) = (0, 0);
            loop {
                tokio::time::sleep(read_every).await;
                match stream.next().await {
                    Some(Received::Event(_)) => read += 1,
                    Some(Received::Missed(n)) => missed += n,
                    None => break (read, missed),
                }
            }
        };
        let (reports, (read, missed)) = tokio::join!(publish, consume);
        let mine: Vec<&Delivery> = reports.iter().filter_map(|r| r.get(id)).collect();
        let count = |kind: &str| mine.iter().filter(|d| d.outcome.kind() == kind).count();
        PolicyRun {
            policy,
            read,
            missed,
            delivered: count("delivered"),
            timed_out: count("timed out"),
            refused: count("refused"),
            notify_time: mine.iter().map(|d| d.elapsed).sum(),
        }
    });
    let runs = futures::future::join_all(runs).await;
    println!(
        "  {:<12} {:>5} {:>12} {:>10} {:>10} {:>8} {:>16}",
        "policy", "read", "told missed", "delivered", "timed out", "refused", "notify spent"
    );
    for r in &runs {
        println!(
            "  {:<12} {:>5} {:>12} {:>10} {:>10} {:>8} {:>16}",
            r.policy.name(),
            r.read,
            r.missed,
            r.delivered,
            r.timed_out,
            r.refused,
            human(r.notify_time)
        );
    }
    runs
}

/// From the policy table: who waited, who lost what, and that nothing was lost silently.
fn notice_policies(runs: &[PolicyRun]) {
    let by = |policy| runs.iter().find(|r| r.policy == policy);
    let (Some(oldest), Some(wait), Some(latest), Some(refuse)) = (
        by(StreamPolicy::DropOldest),
        by(StreamPolicy::Wait),
        by(StreamPolicy::Latest),
        by(StreamPolicy::Refuse),
    ) else {
        return;
    };
    let accounted = runs.iter().all(|r| r.read + r.missed == u64::from(BURST));
    println!(
        "* of the same burst of {BURST}, wait read {} events and made notify spend {} on them \
         (the consumer's pace{});\n  drop oldest read {} and latest {}, and notify never waited \
         for them ({} and {}); refuse read {},\n  and the reports said `refused` {} times; each \
         consumer's reads plus what it was told it missed {}",
        wait.read,
        human(wait.notify_time),
        if wait.timed_out > 0 {
            format!(", {} events given up at the timeout", wait.timed_out)
        } else {
            String::new()
        },
        oldest.read,
        latest.read,
        human(oldest.notify_time),
        human(latest.notify_time),
        refuse.read,
        refuse.refused,
        if accounted {
            format!("add up to {BURST}: none lost silently")
        } else {
            "do not add up: something was lost silently".to_owned()
        }
    );
}

/// In order took the sum of the observers' own times, concurrent the slowest one's.
fn notice_times(in_order: &[Report], one_by_one: Duration, concurrent: &[Report], all: Duration) {
    let own = sum_of_own_times(in_order);
    if let Some(r) = ratio(one_by_one, own) {
        println!(
            "* one by one took {}, {r:.2}x the sum of the observers' own times ({}):\n  {}",
            human(one_by_one),
            human(own),
            about(r, "the sum, as a loop must")
        );
    }
    let slowest = sum_of_slowest(concurrent);
    let who =
        slowest_observer(concurrent).map_or(String::new(), |name| format!(", mostly the {name}"));
    if let Some(r) = ratio(all, slowest) {
        println!(
            "* concurrently took {}, {r:.2}x the slowest observer's time per event\n  \
             ({}{who}): {}",
            human(all),
            human(slowest),
            about(r, "the slowest one's, not the sum")
        );
    }
    if let (Some(speedup), Some(bound)) = (ratio(one_by_one, all), ratio(own, slowest)) {
        let share = if speedup >= 0.9 * bound {
            "all of it"
        } else if speedup > 1.1 {
            "part of it"
        } else {
            "nothing measurable (within noise)"
        };
        println!(
            "* concurrency bought {speedup:.1}x; the observers' sum over their slowest allows \
             {bound:.1}x: it got {share}"
        );
    }
}

/// From the traced event: the failing and the slow observers cost only their own slot.
fn notice_timeline(bars: &[Bar], in_order: &Report, concurrent: &Report) {
    // When each observer's call ended, from the start of the concurrent run.
    let run: Vec<&Bar> = bars
        .iter()
        .filter(|b| b.label.starts_with("concurrent"))
        .collect();
    let (Some(start), Some(slowest)) = (
        run.iter().map(|b| b.start).min(),
        run.iter().max_by_key(|b| b.end),
    ) else {
        return;
    };
    let spread = run
        .iter()
        .map(|b| b.start - start)
        .max()
        .unwrap_or_default();
    let name = |b: &Bar| b.label.split_once(": ").map_or("", |(_, n)| n).to_owned();
    let others: Vec<String> = run
        .iter()
        .filter(|b| b.label != slowest.label)
        .map(|b| format!("{} {}", name(b), human(b.end - start)))
        .collect();
    let slow_end = (slowest.end - start).as_secs_f64();
    let held_up = run
        .iter()
        .filter(|b| b.label != slowest.label)
        .any(|b| (b.end - start).as_secs_f64() > 0.9 * slow_end);
    println!(
        "* concurrently, the {} calls started within {} of each other; the others ended at their\n  \
         own pace ({}) while the {} ran {}:\n  {}",
        run.len(),
        human(spread),
        others.join(", "),
        name(slowest),
        human(slowest.end - start),
        if held_up {
            "this time another call ended close to it, so the bars cannot show that"
        } else {
            "the slow observer held up only the notify call, not the other observers"
        }
    );
    let total: Duration = in_order.iter().map(|d| d.elapsed).sum();
    for failed in in_order.iter().filter(|d| !d.outcome.is_delivered()) {
        let others = concurrent.iter().filter(|d| d.id != failed.id);
        let (count, delivered) = others.fold((0, 0), |(n, ok), d| {
            (n + 1, ok + usize::from(d.outcome.is_delivered()))
        });
        println!(
            "* the {} {} in {}, its own slot: in order it added {:.1} % to the {} run, and\n  \
             concurrently it ran beside the others; {}",
            failed.name,
            failed.outcome.kind(),
            human(failed.elapsed),
            ratio(failed.elapsed, total).unwrap_or(0.0) * 100.0,
            human(total),
            if delivered == count {
                format!("it stopped none of the {count} others (all delivered)")
            } else {
                format!("only {delivered} of the {count} others were delivered")
            }
        );
    }
}

//! The Observer's promises, one generic test each, run on three backends: the in-process
//! [`Subject`] (exactly once), Redis pub/sub (at most once, loss reported) and a Redis stream
//! with a consumer group (at least once, exactly-once effects for an idempotent observer).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use async_patterns::observer::redis::{
    Envelope, EventId, Guarantee, Notice, RedisOptions, RedisPublisher, RedisSubscriber, Totals,
};
use async_patterns::observer::{BoxError, FnObserver, Observer, Report, Subject};
use async_patterns::testkit::redis::RedisServer;

use super::{client, options, server, topic, within};

/// Events are numbers; observers see them in envelopes.
type Event = Envelope<u64>;

/// A way to carry events from a publisher to a subject's observers.
pub(crate) trait Bus: Sized {
    /// What a subscriber is promised: `None` for the in-process subject (exactly once).
    const GUARANTEE: Option<Guarantee>;
    /// A bus delivering to `subject`'s observers; `None` when skipped (no redis-server).
    async fn open(test: &str, subject: Subject<Event>, options: RedisOptions) -> Option<Self>;
    async fn publish(&mut self, event: u64);
    /// The next notice; `None` when nothing came within the block time.
    async fn next(&mut self) -> Option<Notice>;
    fn subject(&self) -> &Subject<Event>;
    async fn close(self) -> Totals;
    /// A client of the Redis server, and the server (kept alive while held).
    fn redis(&self) -> Option<(redis::Client, Arc<RedisServer>)>;
}

/// The subject itself: `publish` is `notify`, and its report is the notice.
pub(crate) struct InProcess {
    subject: Subject<Event>,
    seq: u64,
    notices: VecDeque<Notice>,
    totals: Totals,
}

impl Bus for InProcess {
    const GUARANTEE: Option<Guarantee> = None;
    async fn open(_: &str, subject: Subject<Event>, _: RedisOptions) -> Option<Self> {
        let (seq, notices, totals) = (0, VecDeque::new(), Totals::default());
        Some(InProcess {
            subject,
            seq,
            notices,
            totals,
        })
    }
    async fn publish(&mut self, event: u64) {
        self.seq += 1;
        let id = EventId {
            publisher: "local".into(),
            seq: self.seq,
        };
        let report = self
            .subject
            .notify(&Envelope {
                id: id.clone(),
                event,
            })
            .await;
        self.totals.delivered += 1;
        self.notices.push_back(Notice::Delivered {
            id,
            report,
            redelivered: false,
        });
    }
    async fn next(&mut self) -> Option<Notice> {
        self.notices.pop_front()
    }
    fn subject(&self) -> &Subject<Event> {
        &self.subject
    }
    async fn close(self) -> Totals {
        self.totals
    }
    fn redis(&self) -> Option<(redis::Client, Arc<RedisServer>)> {
        None
    }
}

/// A publisher and a subscriber on a server of the test's own.
pub(crate) struct Remote<const AT_LEAST_ONCE: bool> {
    publisher: RedisPublisher<u64>,
    subscriber: RedisSubscriber<u64>,
    client: redis::Client,
    server: Arc<RedisServer>,
}

impl<const AT_LEAST_ONCE: bool> Bus for Remote<AT_LEAST_ONCE> {
    const GUARANTEE: Option<Guarantee> = Some(if AT_LEAST_ONCE {
        Guarantee::AtLeastOnce
    } else {
        Guarantee::AtMostOnce
    });
    async fn open(test: &str, subject: Subject<Event>, options: RedisOptions) -> Option<Self> {
        let server = server(test)?;
        let (client, topic) = (client(&server), topic(test));
        let subscriber = if AT_LEAST_ONCE {
            let joined = RedisSubscriber::at_least_once(
                client.clone(),
                &topic,
                "group",
                "consumer-1",
                subject,
                options.clone(),
            );
            joined.await.expect("joined the group")
        } else {
            let subscribed =
                RedisSubscriber::at_most_once(client.clone(), &topic, subject, options.clone());
            subscribed.await.expect("subscribed")
        };
        let guarantee = subscriber.guarantee();
        let publisher = RedisPublisher::new(client.clone(), topic, guarantee, &options);
        Some(Remote {
            publisher,
            subscriber,
            client,
            server: Arc::new(server),
        })
    }
    async fn publish(&mut self, event: u64) {
        self.publisher.publish(&event).await.expect("published");
    }
    async fn next(&mut self) -> Option<Notice> {
        self.subscriber.next().await.expect("no redis error")
    }
    fn subject(&self) -> &Subject<Event> {
        self.subscriber.subject()
    }
    async fn close(self) -> Totals {
        self.subscriber.close().await.expect("closed")
    }
    fn redis(&self) -> Option<(redis::Client, Arc<RedisServer>)> {
        Some((self.client.clone(), Arc::clone(&self.server)))
    }
}

/// What a bus has told so far.
#[derive(Default)]
pub(crate) struct Seen {
    pub(crate) delivered: Vec<(EventId, Report, bool)>,
    pub(crate) missed: u64,
    pub(crate) acked: Vec<EventId>,
}

impl Seen {
    fn redelivered(&self) -> usize {
        self.delivered.iter().filter(|(_, _, again)| *again).count()
    }
}

/// Read notices from `bus` into `seen` until `done` says so.
async fn pump<B: Bus>(bus: &mut B, seen: &mut Seen, done: impl Fn(&Seen) -> bool) {
    while !done(seen) {
        match bus.next().await {
            Some(Notice::Delivered {
                id,
                report,
                redelivered,
            }) => {
                seen.delivered.push((id, report, redelivered));
            }
            Some(Notice::Missed { count, .. }) => seen.missed += count,
            Some(Notice::Acked { ids }) => seen.acked.extend(ids),
            Some(other) => panic!("unexpected {other:?}"),
            // In process nothing comes later: do not spin.
            None => tokio::time::sleep(std::time::Duration::from_millis(1)).await,
        }
    }
}

/// Everything delivered (at least once: and acknowledged), or accounted for as missed.
fn all_of(n: usize, guarantee: Option<Guarantee>) -> impl Fn(&Seen) -> bool {
    move |seen| match guarantee {
        Some(Guarantee::AtLeastOnce) => seen.acked.len() >= n,
        Some(Guarantee::AtMostOnce) => seen.delivered.len() + seen.missed as usize >= n,
        _ => seen.delivered.len() >= n,
    }
}

/// An observer that records each call's event number, and how many calls it had per id.
#[derive(Default)]
struct Recorder(Mutex<Vec<u64>>, Mutex<HashMap<EventId, u32>>);

#[async_patterns::async_trait]
impl Observer<Event> for Recorder {
    async fn notify(&self, envelope: &Event) -> Result<(), BoxError> {
        self.0.lock().unwrap().push(envelope.event);
        *self
            .1
            .lock()
            .unwrap()
            .entry(envelope.id.clone())
            .or_default() += 1;
        Ok(())
    }
}

pub(crate) async fn order_per_publisher<B: Bus>(test: &str) {
    let recorder = Arc::new(Recorder::default());
    let subject = Subject::new();
    let _s = subject.subscribe(Arc::clone(&recorder));
    let Some(mut bus) = B::open(test, subject, options()).await else {
        return;
    };
    within(async {
        for n in 1..=20 {
            bus.publish(n).await;
        }
        let mut seen = Seen::default();
        pump(&mut bus, &mut seen, all_of(20, B::GUARANTEE)).await;
        let got = recorder.0.lock().unwrap().clone();
        assert!(got.windows(2).all(|w| w[0] < w[1]), "out of order: {got:?}");
        // On a healthy server nothing is lost, even at most once; a loss would be counted.
        assert_eq!(got.len() as u64 + seen.missed, 20, "{got:?}");
    })
    .await;
}

pub(crate) async fn an_idempotent_observer_has_exactly_once_effects<B: Bus>(test: &str) {
    // The idempotent observer counts an effect per id it had not seen; a flaky one fails the
    // first delivery of every third event, so at least once must deliver those again.
    let effects = Arc::new(Mutex::new(HashMap::<EventId, u32>::new()));
    let calls = Arc::new(Recorder::default());
    let tries = Arc::new(Mutex::new(HashMap::<EventId, u32>::new()));
    let subject = Subject::new();
    let seen_ids = Arc::new(Mutex::new(std::collections::HashSet::new()));
    let (e, s) = (Arc::clone(&effects), Arc::clone(&seen_ids));
    let _idempotent = subject.subscribe_named(
        "idempotent",
        FnObserver::new(move |ev: &Event| {
            if s.lock().unwrap().insert(ev.id.clone()) {
                *e.lock().unwrap().entry(ev.id.clone()).or_default() += 1;
            }
            async { Ok::<(), BoxError>(()) }
        }),
    );
    let _calls = subject.subscribe_named("calls", Arc::clone(&calls));
    let t = Arc::clone(&tries);
    let _flaky = subject.subscribe_named(
        "flaky",
        FnObserver::new(move |ev: &Event| {
            let mut tries = t.lock().unwrap();
            let n = tries.entry(ev.id.clone()).or_default();
            *n += 1;
            let fail = ev.event.is_multiple_of(3) && *n == 1;
            async move {
                if fail {
                    Err::<(), BoxError>("first try fails".into())
                } else {
                    Ok(())
                }
            }
        }),
    );
    let Some(mut bus) = B::open(test, subject, options()).await else {
        return;
    };
    within(async {
        for n in 1..=12 {
            bus.publish(n).await;
        }
        let mut seen = Seen::default();
        pump(&mut bus, &mut seen, all_of(12, B::GUARANTEE)).await;
        let effects = effects.lock().unwrap();
        assert_eq!(effects.len(), 12, "every event had its effect");
        assert!(
            effects.values().all(|&n| n == 1),
            "exactly once: {effects:?}"
        );
        let failed = seen
            .delivered
            .iter()
            .filter(|(_, r, _)| r.failed() > 0)
            .count();
        assert_eq!(failed, 4, "the flaky observer's first tries are reported");
        let calls: u32 = calls.1.lock().unwrap().values().sum();
        match B::GUARANTEE {
            // In process, a failure is reported and that is all: one call per event.
            None => assert_eq!((calls, seen.redelivered()), (12, 0)),
            // At least once, the four failed events came again: the idempotent observer saw
            // them twice, and had one effect each.
            _ => {
                assert!(
                    seen.redelivered() >= 4,
                    "redelivered {}",
                    seen.redelivered()
                );
                assert!(calls >= 16, "calls {calls}");
                let mut acked = seen.acked.clone();
                acked.sort();
                acked.dedup();
                assert_eq!(
                    acked.len(),
                    12,
                    "each acknowledged once its observers succeeded"
                );
            }
        }
    })
    .await;
}

pub(crate) async fn a_failing_or_panicking_observer_stops_no_other<B: Bus>(test: &str) {
    let recorder = Arc::new(Recorder::default());
    let subject = Subject::new();
    let _ok = subject.subscribe_named("ok", Arc::clone(&recorder));
    let _bad = subject.subscribe_named(
        "bad",
        FnObserver::new(|_: &Event| async { Err::<(), BoxError>("always fails".into()) }),
    );
    let _boom = subject.subscribe_named(
        "boom",
        FnObserver::new(|_: &Event| async { panic!("always panics") }),
    );
    // At least once, those two would have every event delivered again: one attempt only, so
    // each is dead-lettered at its first redelivery instead (counted below, not an error).
    let options = options().max_attempts(1);
    let Some(mut bus) = B::open(test, subject, options).await else {
        return;
    };
    within(async {
        for n in 1..=3 {
            bus.publish(n).await;
        }
        let mut seen = Seen::default();
        pump(&mut bus, &mut seen, |s| {
            s.delivered.len() + s.missed as usize >= 3
        })
        .await;
        for (id, report, _) in &seen.delivered {
            assert_eq!(
                (report.delivered(), report.failed(), report.panicked()),
                (1, 1, 1),
                "{id}:\n{report}"
            );
        }
        assert_eq!(recorder.0.lock().unwrap().len() as u64 + seen.missed, 3);
    })
    .await;
}

pub(crate) async fn unsubscribing_stops_delivery<B: Bus>(test: &str) {
    let recorder = Arc::new(Recorder::default());
    let subject = Subject::new();
    let subscription = subject.subscribe(Arc::clone(&recorder));
    let Some(mut bus) = B::open(test, subject, options()).await else {
        return;
    };
    within(async {
        let mut seen = Seen::default();
        for n in 1..=2 {
            bus.publish(n).await;
        }
        pump(&mut bus, &mut seen, all_of(2, B::GUARANTEE)).await;
        subscription.unsubscribe();
        assert!(bus.subject().is_empty());
        for n in 3..=4 {
            bus.publish(n).await;
        }
        let mut after = Seen::default();
        pump(&mut bus, &mut after, all_of(2, B::GUARANTEE)).await;
        assert_eq!(
            *recorder.0.lock().unwrap(),
            [1, 2],
            "nothing after the unsubscribe"
        );
        assert!(
            after
                .delivered
                .iter()
                .all(|(_, report, _)| report.is_empty())
        );
    })
    .await;
}

pub(crate) async fn closing_delivers_what_was_read<B: Bus>(test: &str) {
    let recorder = Arc::new(Recorder::default());
    let subject = Subject::new();
    let _s = subject.subscribe(Arc::clone(&recorder));
    let Some(mut bus) = B::open(test, subject, options().batch(8)).await else {
        return;
    };
    within(async {
        for n in 1..=8 {
            bus.publish(n).await;
        }
        // One event delivered; at least once, the other seven of its batch are held, read.
        let mut seen = Seen::default();
        pump(&mut bus, &mut seen, |s| !s.delivered.is_empty()).await;
        let redis = bus.redis();
        let totals = bus.close().await;
        assert_eq!(totals.delivered, 8, "{totals:?}");
        assert_eq!(recorder.0.lock().unwrap().len(), 8);
        if let Some((client, _server)) = redis {
            assert_eq!(totals.acked, 8, "{totals:?}");
            let stream = super::query::<Vec<String>>(&client, redis::cmd("KEYS").arg("*")).await;
            let stream = stream
                .iter()
                .find(|k| !k.ends_with(":dead"))
                .expect("the stream");
            assert_eq!(super::pending(&client, stream, "group").await, 0);
        }
    })
    .await;
}

/// At most once: the subscriber's connection is cut while events are published; the gap in
/// the publisher's sequence is reported as missed, never silent.
pub(crate) async fn every_loss_is_reported(test: &str) {
    let recorder = Arc::new(Recorder::default());
    let subject = Subject::new();
    let _s = subject.subscribe(Arc::clone(&recorder));
    let Some(mut bus) = Remote::<false>::open(test, subject, options()).await else {
        return;
    };
    within(async {
        let mut seen = Seen::default();
        for n in 1..=3 {
            bus.publish(n).await;
        }
        pump(&mut bus, &mut seen, |s| s.delivered.len() >= 3).await;
        // Cut every pub/sub connection: nobody hears 4 to 8.
        let mut kill = redis::cmd("CLIENT");
        kill.arg("KILL").arg("TYPE").arg("pubsub");
        let killed: u64 = super::query(&bus.client, &kill).await;
        assert_eq!(killed, 1);
        for n in 4..=8 {
            let published = bus.publisher.publish(&n).await.expect("published");
            assert_eq!(published.receivers, Some(0), "nobody listening");
        }
        // The subscriber finds its connection gone (a typed error), and subscribes again.
        let mut errors = 0;
        while let Err(error) = bus.subscriber.next().await {
            assert!(error.is_transient(), "{error}");
            errors += 1;
        }
        assert!(errors >= 1, "the cut is a typed error");
        for n in 9..=10 {
            bus.publish(n).await;
        }
        pump(&mut bus, &mut seen, |s| s.delivered.len() >= 5).await;
        assert_eq!(*recorder.0.lock().unwrap(), [1, 2, 3, 9, 10]);
        assert_eq!(seen.missed, 5, "4 to 8 reported missed");
    })
    .await;
}

/// One test a promise a backend, named after both: `observer::at_least_once::...`.
macro_rules! promises {
    ($backend:ident: $bus:ty => $($promise:ident),+ $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $promise() {
                    let name = concat!(stringify!($backend), "::", stringify!($promise));
                    super::$promise::<$bus>(name).await;
                }
            )+
        }
    };
}

promises!(in_process: super::InProcess =>
    order_per_publisher,
    an_idempotent_observer_has_exactly_once_effects,
    a_failing_or_panicking_observer_stops_no_other,
    unsubscribing_stops_delivery,
    closing_delivers_what_was_read,
);

promises!(at_least_once: super::Remote<true> =>
    order_per_publisher,
    an_idempotent_observer_has_exactly_once_effects,
    a_failing_or_panicking_observer_stops_no_other,
    unsubscribing_stops_delivery,
    closing_delivers_what_was_read,
);

// At most once keeps no promise of exactly-once effects, nor of draining what it never held:
// instead, every loss is reported.
promises!(at_most_once: super::Remote<false> =>
    order_per_publisher,
    a_failing_or_panicking_observer_stops_no_other,
    unsubscribing_stops_delivery,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_once_every_loss_is_reported() {
    every_loss_is_reported("at_most_once::every_loss_is_reported").await;
}

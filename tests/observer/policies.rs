//! Delivery policies: the same burst, a slow consumer, each policy.

use std::time::Duration;

use async_patterns::observer::{Received, StreamPolicy, Subject};
use futures::StreamExt;
use tokio::time::Instant;

use super::ms;

/// What one burst did to one stream subscriber: what its consumer read (and when), what each
/// `notify` reported for it, and how long each `notify` took.
struct Burst {
    read: Vec<(Duration, Received<u32>)>,
    outcomes: Vec<&'static str>,
    notify_took: Vec<Duration>,
}

impl Burst {
    fn received(&self) -> Vec<Received<u32>> {
        self.read.iter().map(|(_, r)| r.clone()).collect()
    }

    /// Every `notify` of the burst returned at once: the policy never made the subject wait.
    fn assert_notify_never_waited(&self) {
        let took = &self.notify_took;
        assert!(took.iter().all(Duration::is_zero), "{took:?}");
    }

    /// Every event was reported delivered to the stream subscriber.
    fn assert_all_delivered(&self) {
        let outcomes = &self.outcomes;
        assert!(outcomes.iter().all(|o| *o == "delivered"), "{outcomes:?}");
    }
}

/// Notify `events` (1, 2, ...) back to back to a stream subscribed with `policy` and
/// `capacity`, on a subject with `timeout`, while its consumer reads one item every
/// `read_every`; the subject is dropped after the burst, so the stream ends.
async fn burst(
    policy: StreamPolicy,
    capacity: usize,
    events: u32,
    read_every: Duration,
    timeout: Duration,
) -> Burst {
    let subject = Subject::<u32>::builder().timeout(timeout).build();
    let mut stream = subject.subscribe_stream_with(policy, capacity);
    assert_eq!(stream.policy(), policy);
    let id = stream.id();
    let start = Instant::now();
    // Both halves run on this task (`join!`), so the consumer reads while `notify` waits.
    let publish = async move {
        let (mut outcomes, mut notify_took) = (Vec::new(), Vec::new());
        for n in 1..=events {
            let began = Instant::now();
            let report = subject.notify(&n).await;
            notify_took.push(began.elapsed());
            outcomes.push(report.get(id).map_or("absent", |d| d.outcome.kind()));
        }
        (outcomes, notify_took)
    };
    let consume = async move {
        let mut read = Vec::new();
        loop {
            tokio::time::sleep(read_every).await; // the slow consumer's work on each item
            match stream.next().await {
                Some(item) => read.push((start.elapsed(), item)),
                None => break read,
            }
        }
    };
    let ((outcomes, notify_took), read) = tokio::join!(publish, consume);
    Burst {
        read,
        outcomes,
        notify_took,
    }
}

const BURST: u32 = 10;

#[tokio::test(start_paused = true)]
async fn drop_oldest_never_waits_and_tells_the_consumer_what_it_lost() {
    let b = burst(StreamPolicy::DropOldest, 4, BURST, ms(30), ms(100)).await;
    b.assert_notify_never_waited();
    b.assert_all_delivered();
    // The six oldest were pushed out by the newer ones; the four newest are read.
    let mut expected = vec![Received::Missed(6)];
    expected.extend((7..=BURST).map(Received::Event));
    assert_eq!(b.received(), expected);
}

#[tokio::test(start_paused = true)]
async fn wait_loses_nothing_and_notify_takes_the_consumers_pace() {
    let b = burst(StreamPolicy::Wait, 4, BURST, ms(30), ms(100)).await;
    // Four fit at once; each later one waits for a read, one every 30 ms.
    let mut expected_took = vec![ms(0); 4];
    expected_took.extend([ms(30); 6]);
    assert_eq!(b.notify_took, expected_took);
    b.assert_all_delivered();
    let all: Vec<Received<u32>> = (1..=BURST).map(Received::Event).collect();
    assert_eq!(b.received(), all);
}

#[tokio::test(start_paused = true)]
async fn wait_gives_up_at_the_subjects_timeout_and_the_consumer_hears_of_it() {
    // Room for two, a read every 150 ms, a timeout of 100 ms: events 3 and 5 cannot wait long
    // enough.
    let b = burst(StreamPolicy::Wait, 2, 5, ms(150), ms(100)).await;
    assert_eq!(b.notify_took, [ms(0), ms(0), ms(100), ms(50), ms(100)]);
    let expected_outcomes = [
        "delivered",
        "delivered",
        "timed out",
        "delivered",
        "timed out",
    ];
    assert_eq!(b.outcomes, expected_outcomes);
    use Received::{Event, Missed};
    assert_eq!(
        b.received(),
        [Event(1), Event(2), Missed(1), Event(4), Missed(1)]
    );
}

#[tokio::test(start_paused = true)]
async fn latest_keeps_only_the_newest_and_counts_what_it_skipped() {
    let b = burst(StreamPolicy::Latest, 4, BURST, ms(30), ms(100)).await;
    b.assert_notify_never_waited();
    b.assert_all_delivered();
    assert_eq!(
        b.received(),
        [Received::Missed(BURST as u64 - 1), Received::Event(BURST)]
    );
    // Read at the consumer's pace: one item per 30 ms, then the end.
    let times: Vec<Duration> = b.read.iter().map(|(t, _)| *t).collect();
    assert_eq!(times, [ms(30), ms(60)]);
}

#[tokio::test(start_paused = true)]
async fn refuse_never_waits_and_the_report_names_each_refused_event() {
    let b = burst(StreamPolicy::Refuse, 4, BURST, ms(30), ms(100)).await;
    b.assert_notify_never_waited();
    // The first four fit; the six after them are refused, each reported so.
    let mut expected = vec!["delivered"; 4];
    expected.extend(["refused"; 6]);
    assert_eq!(b.outcomes, expected);
    // The consumer keeps the oldest four, then hears of the six refused.
    let mut received: Vec<Received<u32>> = (1..=4).map(Received::Event).collect();
    received.push(Received::Missed(6));
    assert_eq!(b.received(), received);
}

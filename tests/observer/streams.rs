//! Stream subscribers: told what they missed, ended with the subject, unsubscribed when dropped,
//! their capacities normalised without panicking.

use async_patterns::observer::{
    BoxError, FnObserver, MAX_STREAM_CAPACITY, ObserverError, Outcome, Received, StreamPolicy,
    Subject,
};
use futures::StreamExt;

use super::ms;

#[tokio::test]
async fn a_lagging_stream_is_told_what_it_missed_and_ends_with_the_subject() {
    let subject = Subject::<u64>::new();
    let mut stream = subject.subscribe_stream(4);
    let mut keeping_up = subject.subscribe_stream(4);

    // `keeping_up` reads every event as it comes; `stream` reads nothing until ten are sent.
    for n in 1..=10 {
        let report = subject.notify(&n).await;
        assert!(report.all_delivered(), "{report}");
        assert_eq!(keeping_up.next().await, Some(Received::Event(n)));
    }
    assert_eq!(stream.next().await, Some(Received::Missed(6)));
    for n in 7..=10 {
        assert_eq!(stream.next().await, Some(Received::Event(n)));
    }
    // Caught up: nothing more is missed.
    subject.notify(&11).await;
    assert_eq!(stream.next().await, Some(Received::Event(11)));

    subject.notify(&12).await;
    drop(subject);
    // What was buffered still arrives, then the stream ends.
    assert_eq!(stream.next().await, Some(Received::Event(12)));
    assert_eq!(stream.next().await, None);
    assert_eq!(keeping_up.next().await, Some(Received::Event(11)));
    assert_eq!(keeping_up.next().await, Some(Received::Event(12)));
    assert_eq!(keeping_up.next().await, None);
}

#[tokio::test]
async fn dropping_a_stream_unsubscribes_it() {
    let subject = Subject::<u64>::new();
    let stream = subject.subscribe_stream(0); // raised to 1
    let id = stream.id();
    let report = subject.notify(&1).await;
    assert!(report.get(id).is_some_and(|d| d.outcome.is_delivered()));
    drop(stream);
    assert!(subject.is_empty());
    assert!(subject.notify(&2).await.is_empty());
}

#[tokio::test]
async fn stream_capacities_are_rounded_up_and_capped_without_panicking() {
    let subject = Subject::<u64>::new();
    let three = subject.subscribe_stream(3); // holds 4
    let _huge = subject.subscribe_stream(usize::MAX); // capped at MAX_STREAM_CAPACITY
    for n in 1..=5 {
        assert!(subject.notify(&n).await.all_delivered());
    }
    drop(subject);
    let got: Vec<Received<u64>> = three.collect().await;
    // Four slots: event 1 was pushed out, and the reader is told so.
    let expected = [
        Received::Missed(1),
        Received::Event(2),
        Received::Event(3),
        Received::Event(4),
        Received::Event(5),
    ];
    assert_eq!(got, expected);
}

#[tokio::test]
async fn capacities_are_normalised_alike_for_every_policy() {
    let subject = Subject::<u32>::new();
    for policy in StreamPolicy::ALL {
        let expected = |n: usize| if policy == StreamPolicy::Latest { 1 } else { n };
        assert_eq!(subject.subscribe_stream_with(policy, 0).capacity(), 1);
        assert_eq!(
            subject.subscribe_stream_with(policy, 3).capacity(),
            expected(4)
        );
        let huge = subject.subscribe_stream_with(policy, usize::MAX).capacity();
        assert_eq!(huge, expected(MAX_STREAM_CAPACITY), "{}", policy.name());
    }
    assert_eq!(
        subject.subscribe_stream(3).policy(),
        StreamPolicy::DropOldest
    );
}

#[tokio::test(start_paused = true)]
async fn a_refused_event_is_in_the_report_counts_and_errors() {
    let subject = Subject::<u32>::new();
    let refusing = subject.subscribe_stream_with(StreamPolicy::Refuse, 1);
    let _other = subject.subscribe_named("other", ok_u32());
    assert!(subject.notify(&1).await.all_delivered());
    let report = subject.notify(&2).await;
    assert_eq!(
        (report.delivered(), report.refused(), report.failed()),
        (1, 1, 0)
    );
    let delivery = report.get(refusing.id()).unwrap();
    assert!(matches!(delivery.outcome, Outcome::Refused(1)), "{report}");
    assert!(report.to_string().contains("refused"), "{report}");
    let errors = report.into_errors();
    assert!(
        matches!(&errors[..], [ObserverError::Refused { capacity: 1, .. }]),
        "{errors:?}"
    );
    // Read one, and the next event fits again; the consumer hears of the refused one first.
    let mut refusing = refusing;
    assert_eq!(refusing.next().await, Some(Received::Event(1)));
    assert!(subject.notify(&3).await.all_delivered());
    assert_eq!(refusing.next().await, Some(Received::Missed(1)));
    assert_eq!(refusing.next().await, Some(Received::Event(3)));
}

/// An observer of `u32` that answers `Ok` at once.
fn ok_u32() -> FnObserver<impl Fn(&u32) -> std::future::Ready<Result<(), BoxError>>> {
    FnObserver::new(|_: &u32| std::future::ready(Ok(())))
}

#[tokio::test(start_paused = true)]
async fn a_waiting_stream_whose_consumer_is_dropped_stops_waiting() {
    let subject = Subject::<u32>::new();
    let stream = subject.subscribe_stream_with(StreamPolicy::Wait, 1);
    let id = stream.id();
    assert!(subject.notify(&1).await.all_delivered());
    // Full, no timeout: this notify waits until the consumer goes away, then reports it gone.
    let (report, ()) = tokio::join!(subject.notify(&2), async move {
        tokio::time::sleep(ms(50)).await;
        drop(stream);
    });
    // Unsubscribed while its call was under way: that call ends (closed), and the stream is
    // no longer subscribed.
    let outcome = &report.get(id).unwrap().outcome;
    assert!(
        matches!(outcome, Outcome::Failed(e) if e.to_string().contains("dropped")),
        "{report}"
    );
    assert!(subject.is_empty());
}

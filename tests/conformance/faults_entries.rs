//! Faults of the data: a malformed entry, an oversized one, a stream deleted under a reader. A
//! typed error each; the malformed and oversized go to the dead-letter stream with their bytes,
//! and delivery goes on.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_patterns::observer::Subject;
use async_patterns::observer::redis::{
    DecodeError, Guarantee, Notice, RedisPublisher, RedisSubscriber, Rejection, RemoteError,
};
use async_patterns::pipeline::stream::StageOptions;
use async_patterns::pipeline::stream::redis::RedisWorker;
use tokio_util::sync::CancellationToken;

use super::pipeline::{publish, worker};
use super::{client, options, pending, query, server, topic, within};

/// Append raw `event` bytes (or another field) to `stream`, as someone else's code might.
async fn append_raw(client: &redis::Client, stream: &str, field: &str, bytes: &[u8]) {
    let _: String = query(
        client,
        redis::cmd("XADD")
            .arg(stream)
            .arg("*")
            .arg(field)
            .arg(bytes),
    )
    .await;
}

/// The next notice that is not `None` or `Acked`.
async fn next_notice(subscriber: &mut RedisSubscriber<u64>) -> Notice {
    loop {
        match subscriber.next().await.expect("no redis error") {
            None | Some(Notice::Acked { .. }) => {}
            Some(notice) => return notice,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_entries_are_dead_lettered_and_delivery_goes_on() {
    let Some(server) = server("faults_entries::malformed_and_oversized") else {
        return;
    };
    let (client, topic) = (client(&server), topic("events"));
    within(async {
        let options = options().max_entry_bytes(256);
        let joined = RedisSubscriber::<u64>::at_least_once(
            client.clone(),
            &topic,
            "g",
            "c",
            Subject::new(),
            options.clone(),
        );
        let mut subscriber = joined.await.unwrap();
        append_raw(&client, &topic, "event", b"not json").await;
        append_raw(&client, &topic, "payload", b"{}").await;
        let big = format!(
            "{{\"publisher\":\"p\",\"seq\":1,\"event\":1,\"pad\":\"{}\"}}",
            "x".repeat(300)
        );
        append_raw(&client, &topic, "event", big.as_bytes()).await;
        let mut publisher =
            RedisPublisher::new(client.clone(), &topic, Guarantee::AtLeastOnce, &options);
        publisher.publish(&7).await.unwrap();
        let mut rejected = Vec::new();
        for _ in 0..3 {
            match next_notice(&mut subscriber).await {
                Notice::DeadLettered {
                    reason: Rejection::Undecodable(error),
                    ..
                } => rejected.push(error),
                other => panic!("expected a dead letter, got {other:?}"),
            }
        }
        assert!(
            matches!(rejected[0], DecodeError::Json { .. }),
            "{}",
            rejected[0]
        );
        assert!(
            matches!(
                rejected[1],
                DecodeError::MissingField { field: "event", .. }
            ),
            "{}",
            rejected[1]
        );
        assert!(
            matches!(rejected[2], DecodeError::TooLarge { max: 256, .. }),
            "{}",
            rejected[2]
        );
        // The good event after them is delivered: no crash loop, no silent drop.
        assert!(matches!(
            next_notice(&mut subscriber).await,
            Notice::Delivered { .. }
        ));
        // The dead letters keep the bytes and the reason.
        let letters: redis::streams::StreamRangeReply = query(
            &client,
            redis::cmd("XRANGE")
                .arg(format!("{topic}:dead"))
                .arg("-")
                .arg("+"),
        )
        .await;
        assert_eq!(letters.ids.len(), 3);
        assert_eq!(letters.ids[0].get::<Vec<u8>>("event").unwrap(), b"not json");
        assert!(
            letters.ids[0]
                .get::<String>("reason")
                .unwrap()
                .contains("not a valid event")
        );
        subscriber.close().await.unwrap();
        assert_eq!(
            pending(&client, &topic, "g").await,
            0,
            "dead letters are acknowledged"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_event_is_refused_at_publish_time_and_spends_no_number() {
    let Some(server) = server("faults_entries::oversized_refused_at_publish") else {
        return;
    };
    let client = client(&server);
    within(async {
        let options = options().max_entry_bytes(64);
        for guarantee in Guarantee::ALL {
            let mut publisher =
                RedisPublisher::new(client.clone(), topic("big"), guarantee, &options);
            let refused = publisher.publish(&"x".repeat(100)).await.unwrap_err();
            assert!(
                matches!(refused, RemoteError::TooLarge { max: 64, .. }),
                "{refused}"
            );
            assert_eq!(publisher.sent(), 0);
            let published = publisher.publish(&"small".to_owned()).await.unwrap();
            assert_eq!(
                published.id.seq,
                1,
                "{}: no gap for a subscriber to see",
                guarantee.name()
            );
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_message_at_most_once_is_dead_lettered() {
    let Some(server) = server("faults_entries::malformed_message") else {
        return;
    };
    let (client, topic) = (client(&server), topic("events"));
    within(async {
        let subscribed =
            RedisSubscriber::<u64>::at_most_once(client.clone(), &topic, Subject::new(), options());
        let mut subscriber = subscribed.await.unwrap();
        let _: u64 = query(&client, redis::cmd("PUBLISH").arg(&topic).arg("{broken")).await;
        let notice = next_notice(&mut subscriber).await;
        assert!(
            matches!(
                notice,
                Notice::DeadLettered {
                    reason: Rejection::Undecodable(DecodeError::Json { .. }),
                    ..
                }
            ),
            "{notice:?}"
        );
        let len: u64 = query(&client, redis::cmd("XLEN").arg(format!("{topic}:dead"))).await;
        assert_eq!(len, 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_dead_letters_an_undecodable_job_and_goes_on() {
    let Some(server) = server("faults_entries::worker_undecodable") else {
        return;
    };
    let (client, topic) = (client(&server), topic("jobs"));
    within(async {
        append_raw(&client, &topic, "event", b"[1, 2").await;
        publish(&client, &topic, 3).await;
        let done = Arc::new(Mutex::new(Vec::new()));
        let w = worker(
            &client,
            &topic,
            "w",
            options(),
            Duration::ZERO,
            Arc::clone(&done),
        )
        .await;
        let report = super::pipeline::run_until(w, &done, 3).await;
        assert_eq!((report.acked, report.dead_lettered), (3, 1), "{report:?}");
        assert_eq!(pending(&client, &topic, "workers").await, 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_deleted_under_a_reader_is_a_typed_error() {
    let Some(server) = server("faults_entries::stream_deleted") else {
        return;
    };
    let (client, topic) = (client(&server), topic("events"));
    within(async {
        // A subscriber: each read after the DEL is the same typed error, never a panic or a hang.
        let joined = RedisSubscriber::<u64>::at_least_once(
            client.clone(),
            &topic,
            "g",
            "c",
            Subject::new(),
            options(),
        );
        let mut subscriber = joined.await.unwrap();
        let _: u64 = query(&client, redis::cmd("DEL").arg(&topic)).await;
        for _ in 0..2 {
            let error = subscriber.next().await.unwrap_err();
            assert!(
                matches!(&error, RemoteError::StreamGone { group, .. } if group == "g"),
                "{error}"
            );
            assert!(!error.is_transient());
        }
        // A worker: its run ends with the same error.
        let jobs = super::topic("jobs");
        let joined = RedisWorker::join::<u64>(client.clone(), &jobs, "workers", "w", options());
        let worker =
            joined
                .await
                .unwrap()
                .stage_fn("work", StageOptions::ordered(1), |_job| async {
                    Ok::<(), String>(())
                });
        let _: u64 = query(&client, redis::cmd("DEL").arg(&jobs)).await;
        let ended = worker.run(CancellationToken::new()).await.unwrap_err();
        assert!(matches!(ended, RemoteError::StreamGone { .. }), "{ended}");
    })
    .await;
}

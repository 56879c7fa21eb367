//! Faults of the process and of the server: a worker killed mid-batch (its task aborted, and a
//! child process killed with SIGKILL), and redis-server stopped and restarted under load.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_patterns::observer::redis::{Guarantee, Notice, RedisPublisher, RedisSubscriber};
use async_patterns::observer::{FnObserver, Subject};
use async_patterns::testkit::Gauge;
use async_patterns::testkit::redis::RedisServer;
use tokio_util::sync::CancellationToken;

use super::pipeline::{counted, publish, run_until, worker};
use super::{client, options, pending, server, topic, within};

/// The child process's worker: set by the SIGKILL test, absent in a normal run.
const CHILD_URL: &str = "CONFORMANCE_CHILD_URL";
const CHILD_TOPIC: &str = "CONFORMANCE_CHILD_TOPIC";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_aborted_mid_batch_loses_nothing() {
    let Some(server) = server("faults::a_worker_aborted_mid_batch") else {
        return;
    };
    let (client, topic) = (client(&server), topic("jobs"));
    within(async {
        publish(&client, &topic, 20).await;
        // The first worker takes eight jobs that never finish, and its task is aborted.
        let (stuck, gauge) = (Arc::new(Mutex::new(Vec::new())), Gauge::new());
        let forever = Duration::from_secs(3600);
        let options = options().max_unacked(8);
        let first = counted(
            &client,
            &topic,
            "first",
            options,
            forever,
            Arc::clone(&stuck),
            gauge.clone(),
        )
        .await;
        let task = tokio::spawn(first.run(CancellationToken::new()));
        while gauge.current() < 8 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        assert_eq!(
            pending(&client, &topic, "workers").await,
            8,
            "its eight are still pending"
        );
        // The second claims them once idle, and reads the rest.
        let done = Arc::new(Mutex::new(Vec::new()));
        let second = worker(
            &client,
            &topic,
            "second",
            super::options(),
            Duration::ZERO,
            Arc::clone(&done),
        )
        .await;
        let report = run_until(second, &done, 20).await;
        assert_eq!(
            (report.claimed, report.read, report.acked),
            (8, 12, 20),
            "{report:?}"
        );
        assert_eq!(
            done.lock().unwrap().iter().collect::<HashSet<_>>().len(),
            20
        );
        assert_eq!(pending(&client, &topic, "workers").await, 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_with_sigkill_loses_nothing() {
    let Some(server) = server("faults::a_worker_killed_with_sigkill") else {
        return;
    };
    let (client, topic) = (client(&server), topic("jobs"));
    within(async {
        publish(&client, &topic, 20).await;
        // This test binary again, running only `child_worker`, which says when it starts a job.
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "faults::child_worker",
                "--ignored",
                "--nocapture",
            ])
            .env(CHILD_URL, server.url())
            .env(CHILD_TOPIC, &topic)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the child worker");
        let stdout = child.stdout.take().unwrap();
        let started = tokio::task::spawn_blocking(move || {
            let lines = BufReader::new(stdout).lines().map_while(Result::ok);
            lines.filter(|l| l.starts_with("started ")).take(8).count()
        });
        assert_eq!(started.await.unwrap(), 8, "the child took eight jobs");
        child.kill().unwrap(); // SIGKILL: no destructor, no graceful anything
        child.wait().unwrap();
        assert_eq!(pending(&client, &topic, "workers").await, 8);
        let done = Arc::new(Mutex::new(Vec::new()));
        let rescuer = worker(
            &client,
            &topic,
            "rescuer",
            options(),
            Duration::ZERO,
            Arc::clone(&done),
        )
        .await;
        let report = run_until(rescuer, &done, 20).await;
        assert_eq!((report.claimed, report.acked), (8, 20), "{report:?}");
        assert_eq!(pending(&client, &topic, "workers").await, 0);
    })
    .await;
}

/// Run by [`a_worker_killed_with_sigkill_loses_nothing`] as a child process: a worker whose
/// jobs never finish, printing a line as each starts.
#[tokio::test]
#[ignore = "run by a_worker_killed_with_sigkill_loses_nothing as a child process"]
async fn child_worker() {
    let (Ok(url), Ok(topic)) = (std::env::var(CHILD_URL), std::env::var(CHILD_TOPIC)) else {
        return;
    };
    let client = redis::Client::open(url).unwrap();
    let options = options().max_unacked(8);
    let joined = async_patterns::pipeline::stream::redis::RedisWorker::join::<u64>(
        client, topic, "workers", "child", options,
    );
    let worker = joined.await.unwrap().stage_fn(
        "work",
        async_patterns::pipeline::stream::StageOptions::unordered(16),
        |job: async_patterns::observer::redis::Envelope<u64>| {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            writeln!(out, "started {}", job.event).unwrap();
            out.flush().unwrap();
            std::future::pending::<Result<(), String>>()
        },
    );
    let _ = worker.run(CancellationToken::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_and_restarted_under_load_loses_nothing_and_repeats_nothing_acknowledged() {
    let test = "faults::redis_stopped_and_restarted_under_load";
    let Some(mut server) = RedisServer::start_with_or_skip(test, &["--appendonly", "yes"]).unwrap()
    else {
        return;
    };
    let (client, topic) = (client(&server), topic("events"));
    within(async {
        let delivered = Arc::new(Mutex::new(Vec::new()));
        let subject = Subject::new();
        let d = Arc::clone(&delivered);
        let _s = subject.subscribe(FnObserver::new(
            move |e: &async_patterns::observer::redis::Envelope<u64>| {
                d.lock().unwrap().push(e.event);
                async { Ok::<(), async_patterns::BoxError>(()) }
            },
        ));
        let options = options().batch(4);
        let joined = RedisSubscriber::at_least_once(
            client.clone(),
            &topic,
            "g",
            "c",
            subject,
            options.clone(),
        );
        let mut subscriber = joined.await.unwrap();
        let mut publisher =
            RedisPublisher::new(client.clone(), &topic, Guarantee::AtLeastOnce, &options);
        for n in 1..=10u64 {
            publisher.publish(&n).await.unwrap();
        }
        // Under way: some acknowledged, some delivered and not yet, some not read.
        let mut acked = Vec::new();
        while delivered.lock().unwrap().len() < 6 {
            if let Some(Notice::Acked { ids }) = subscriber.next().await.unwrap() {
                acked.extend(ids.into_iter().map(|id| id.seq));
            }
        }
        let acked_before_stop = acked.clone();
        assert!(!acked_before_stop.is_empty());
        server.stop().unwrap();
        // Down: typed, transient errors, each call returning (the test's limit catches a hang).
        let refused = publisher.publish(&99).await.unwrap_err();
        assert!(refused.is_transient(), "{refused}");
        let mut errors = 0;
        while errors < 3 {
            // The entries it had read are still delivered (`Ok`) while the server is away.
            if let Err(error) = subscriber.next().await {
                assert!(error.is_transient(), "{error}");
                errors += 1;
            }
        }
        server.restart().unwrap();
        for n in 11..=20u64 {
            publisher.publish(&n).await.unwrap();
        }
        // Sequence numbers: the refused publish spent 11, so 11..=20 went out as 12..=21.
        let want: HashSet<u64> = (1..=10).chain(12..=21).collect();
        while acked.iter().copied().collect::<HashSet<u64>>() != want {
            match subscriber.next().await {
                Ok(Some(Notice::Acked { ids })) => acked.extend(ids.into_iter().map(|id| id.seq)),
                Ok(_) => {}
                Err(error) => assert!(error.is_transient(), "{error}"),
            }
        }
        let delivered = delivered.lock().unwrap().clone();
        for n in &acked_before_stop {
            let times = delivered.iter().filter(|&d| d == n).count();
            assert_eq!(
                times, 1,
                "event {n} was acknowledged before the stop: never again"
            );
        }
        let events: HashSet<u64> = delivered.iter().copied().collect();
        assert_eq!(
            events,
            (1..=20).collect(),
            "nothing lost, nothing refused came through"
        );
        assert_eq!(pending(&client, &topic, "g").await, 0);
    })
    .await;
}

//! The Pipeline's promises, on the in-process pipeline (an iterator as its source) and on
//! Redis (a stream read by workers of one consumer group).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_patterns::observer::redis::{Envelope, Guarantee, RedisOptions, RedisPublisher};
use async_patterns::pipeline::stream::redis::{RedisWorker, WorkerReport};
use async_patterns::pipeline::stream::{ErrorPolicy, Pipeline, StageOptions};
use async_patterns::testkit::Gauge;
use tokio_util::sync::CancellationToken;

use super::{client, options, pending, query, server, topic, within};

/// Publish jobs `1..=n` on `topic`.
pub(crate) async fn publish(client: &redis::Client, topic: &str, n: u64) {
    let mut publisher =
        RedisPublisher::new(client.clone(), topic, Guarantee::AtLeastOnce, &options());
    for job in 1..=n {
        publisher.publish(&job).await.expect("published");
    }
}

/// A worker of group `group` on `topic` that records each job it finishes in `done`, after
/// `work` (failing the jobs `fail` says, on the attempt it says).
pub(crate) async fn worker(
    client: &redis::Client,
    topic: &str,
    name: &str,
    options: RedisOptions,
    work: Duration,
    done: Arc<Mutex<Vec<u64>>>,
) -> RedisWorker<()> {
    counted(client, topic, name, options, work, done, Gauge::new()).await
}

/// [`worker`], with `gauge` counting the jobs in its stage.
pub(crate) async fn counted(
    client: &redis::Client,
    topic: &str,
    name: &str,
    options: RedisOptions,
    work: Duration,
    done: Arc<Mutex<Vec<u64>>>,
    gauge: Gauge,
) -> RedisWorker<()> {
    let joined = RedisWorker::join::<u64>(client.clone(), topic, "workers", name, options).await;
    joined.expect("joined").stage_fn(
        "work",
        StageOptions::unordered(16),
        move |job: Envelope<u64>| {
            let (done, inside) = (Arc::clone(&done), gauge.enter());
            async move {
                let _inside = inside;
                tokio::time::sleep(work).await;
                done.lock().unwrap().push(job.event);
                Ok::<(), String>(())
            }
        },
    )
}

/// Run `worker` until `done` holds `n` distinct jobs, then shut it down gracefully.
pub(crate) async fn run_until(
    worker: RedisWorker<()>,
    done: &Arc<Mutex<Vec<u64>>>,
    n: usize,
) -> WorkerReport {
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(worker.run(shutdown.clone()));
    while done.lock().unwrap().iter().collect::<HashSet<_>>().len() < n {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    shutdown.cancel();
    run.await
        .expect("the worker's task")
        .expect("the worker's run")
}

mod in_process {
    use super::*;

    #[tokio::test]
    async fn every_item_comes_out_once() {
        let (out, errors) = Pipeline::from_iter(1..=30u64)
            .stage_fn("work", StageOptions::unordered(16), |n| async move {
                Ok::<_, String>(n)
            })
            .into_stream()
            .partition()
            .await;
        let set: HashSet<u64> = out.iter().copied().collect();
        assert_eq!((set.len(), out.len(), errors.len()), (30, 30, 0));
    }

    #[tokio::test]
    async fn a_failing_item_is_reported_not_retried() {
        let tries = Arc::new(Mutex::new(Vec::new()));
        let t = Arc::clone(&tries);
        let (out, errors) = Pipeline::from_iter(1..=6u64)
            .stage_fn("work", StageOptions::ordered(2), move |n| {
                t.lock().unwrap().push(n);
                async move {
                    if n == 3 {
                        Err("three fails".to_owned())
                    } else {
                        Ok(n)
                    }
                }
            })
            .on_error(ErrorPolicy::SkipAndReport)
            .into_stream()
            .partition()
            .await;
        assert_eq!((out.len(), errors.len()), (5, 1));
        assert_eq!(tries.lock().unwrap().len(), 6, "one try each");
    }

    #[tokio::test]
    async fn what_is_held_is_bounded() {
        let gauge = Gauge::new();
        let g = gauge.clone();
        let pipeline =
            Pipeline::from_iter(1..=40u64).stage_fn("work", StageOptions::unordered(4), move |n| {
                let inside = g.enter();
                async move {
                    tokio::task::yield_now().await;
                    drop(inside);
                    Ok::<_, String>(n)
                }
            });
        let capacity = pipeline.capacity();
        let (out, _) = pipeline.into_stream().partition().await;
        assert_eq!(out.len(), 40);
        assert!(
            gauge.peak() <= capacity && gauge.peak() <= 4,
            "peak {}",
            gauge.peak()
        );
    }
}

mod redis_group {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn three_workers_share_the_stream_and_every_entry_is_acknowledged() {
        let Some(server) = server("pipeline::redis_group::three_workers") else {
            return;
        };
        let (client, topic) = (client(&server), topic("jobs"));
        within(async {
            publish(&client, &topic, 60).await;
            let done = Arc::new(Mutex::new(Vec::new()));
            let shutdown = CancellationToken::new();
            let mut runs = Vec::new();
            for name in ["a", "b", "c"] {
                let work = Duration::from_millis(2);
                let w = worker(&client, &topic, name, options(), work, Arc::clone(&done)).await;
                runs.push(tokio::spawn(w.run(shutdown.clone())));
            }
            while done.lock().unwrap().len() < 60 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            shutdown.cancel();
            let mut acked = 0;
            for run in runs {
                acked += run.await.unwrap().unwrap().acked;
            }
            let done = done.lock().unwrap().clone();
            assert_eq!(done.iter().collect::<HashSet<_>>().len(), 60);
            assert_eq!((done.len(), acked), (60, 60), "each once, on a healthy run");
            assert_eq!(pending(&client, &topic, "workers").await, 0);
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_item_is_retried_then_dead_lettered_with_its_last_error() {
        let Some(server) = server("pipeline::redis_group::retried_then_dead_lettered") else {
            return;
        };
        let (client, topic) = (client(&server), topic("jobs"));
        within(async {
            publish(&client, &topic, 6).await;
            let tries = Arc::new(Mutex::new(Vec::new()));
            let t = Arc::clone(&tries);
            let options = options().max_attempts(3);
            let joined = RedisWorker::join::<u64>(client.clone(), &topic, "workers", "w", options);
            let worker = joined.await.unwrap().stage_fn(
                "work",
                StageOptions::ordered(2),
                move |job: Envelope<u64>| {
                    let mut tries = t.lock().unwrap();
                    tries.push(job.event);
                    let attempt = tries.iter().filter(|&&n| n == job.event).count();
                    // 3 fails once, then passes; 5 fails every time.
                    let fail = (job.event == 3 && attempt == 1) || job.event == 5;
                    async move {
                        if fail {
                            Err(format!("job {} broke", job.event))
                        } else {
                            Ok(())
                        }
                    }
                },
            );
            let shutdown = CancellationToken::new();
            let run = tokio::spawn(worker.run(shutdown.clone()));
            let dead = format!("{topic}:dead");
            while query::<u64>(&client, redis::cmd("XLEN").arg(&dead)).await < 1 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            shutdown.cancel();
            let report = run.await.unwrap().unwrap();
            let tries = tries.lock().unwrap().clone();
            assert_eq!(tries.iter().filter(|&&n| n == 3).count(), 2, "{tries:?}");
            assert_eq!(tries.iter().filter(|&&n| n == 5).count(), 3, "{tries:?}");
            assert_eq!(
                (report.acked, report.retried, report.dead_lettered),
                (5, 3, 1)
            );
            let letters: redis::streams::StreamRangeReply =
                query(&client, redis::cmd("XRANGE").arg(&dead).arg("-").arg("+")).await;
            let reason: String = letters.ids[0].get("reason").unwrap();
            assert!(
                reason.contains("after 3 attempts") && reason.contains("job 5 broke"),
                "{reason}"
            );
            assert_eq!(pending(&client, &topic, "workers").await, 0);
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn what_is_held_is_bounded() {
        let Some(server) = server("pipeline::redis_group::what_is_held_is_bounded") else {
            return;
        };
        let (client, topic) = (client(&server), topic("jobs"));
        within(async {
            publish(&client, &topic, 40).await;
            let gauge = Gauge::new();
            let peak_pending = Arc::new(Mutex::new(0));
            let (g, p, c, t) = (
                gauge.clone(),
                Arc::clone(&peak_pending),
                client.clone(),
                topic.clone(),
            );
            let options = options().max_unacked(4).batch(16);
            let joined = RedisWorker::join::<u64>(client.clone(), &topic, "workers", "w", options);
            let done = Arc::new(Mutex::new(Vec::new()));
            let d = Arc::clone(&done);
            let worker = joined.await.unwrap().stage_fn(
                "work",
                StageOptions::unordered(100),
                move |job: Envelope<u64>| {
                    let inside = g.enter();
                    let (p, c, t, d) = (Arc::clone(&p), c.clone(), t.clone(), Arc::clone(&d));
                    async move {
                        // What Redis says this worker holds, seen from inside the stage.
                        let held = pending(&c, &t, "workers").await;
                        let mut peak = p.lock().unwrap();
                        *peak = (*peak).max(held);
                        drop((inside, peak));
                        d.lock().unwrap().push(job.event);
                        Ok::<(), String>(())
                    }
                },
            );
            assert!(worker.capacity() > 4, "the stage alone would take more");
            run_until(worker, &done, 40).await;
            assert!(
                gauge.peak() <= 4,
                "at most 4 in the stage: {}",
                gauge.peak()
            );
            assert!(*peak_pending.lock().unwrap() <= 4, "at most 4 pending");
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shutdown_drains_what_is_in_flight_and_hands_back_the_rest() {
        let Some(server) = server("pipeline::redis_group::shutdown_drains") else {
            return;
        };
        let (client, topic) = (client(&server), topic("jobs"));
        within(async {
            publish(&client, &topic, 8).await;
            let done = Arc::new(Mutex::new(Vec::new()));
            // Drained: four in flight (300 ms each) when the shutdown comes, all finish within
            // the drain time, and nothing more is read.
            let options = options().max_unacked(4);
            let slow = Duration::from_millis(300);
            let gauge = Gauge::new();
            let first = counted(
                &client,
                &topic,
                "first",
                options,
                slow,
                Arc::clone(&done),
                gauge.clone(),
            )
            .await;
            let shutdown = CancellationToken::new();
            let run = tokio::spawn(first.run(shutdown.clone()));
            while gauge.current() < 4 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            shutdown.cancel();
            let report = run.await.unwrap().unwrap();
            let drained = (report.read, report.acked, report.handed_back);
            assert_eq!(drained, (4, 4, 0), "{report:?}");
            // Not drained: a drain of 1 ms cannot wait for 10 s jobs: all four handed back...
            let options = super::options()
                .max_unacked(4)
                .drain(Duration::from_millis(1));
            let stuck = Arc::new(Mutex::new(Vec::new()));
            let long = Duration::from_secs(10);
            let second = worker(&client, &topic, "second", options, long, Arc::clone(&stuck)).await;
            let shutdown = CancellationToken::new();
            let run = tokio::spawn(second.run(shutdown.clone()));
            while pending(&client, &topic, "workers").await < 4 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            shutdown.cancel();
            let report = run.await.unwrap().unwrap();
            assert_eq!((report.acked, report.handed_back), (0, 4), "{report:?}");
            // ... and claimed at once by the next worker, although it claims only entries idle
            // for a minute: handed back entries count as idle for a day.
            let third = worker(
                &client,
                &topic,
                "third",
                super::options().claim_idle(Duration::from_secs(60)),
                Duration::ZERO,
                Arc::clone(&done),
            )
            .await;
            let report = run_until(third, &done, 8).await;
            assert_eq!(report.claimed, 4, "{report:?}");
            assert!(stuck.lock().unwrap().is_empty());
            assert_eq!(pending(&client, &topic, "workers").await, 0);
        })
        .await;
    }
}

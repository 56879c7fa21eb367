//! `basics` on tokio's paused clock: the shape of each way to run a batch, in virtual time.

use std::time::Duration;

use async_patterns::basics::blocking::{
    TaskError, blocking_allowed_here, to_thread, with_heartbeat,
};
use async_patterns::basics::gather;
use async_patterns::basics::parallel::{self, ParallelError};
use tokio::time::{Instant, sleep};

/// Ten jobs of 100 ms, each returning its index.
fn jobs() -> Vec<impl Future<Output = usize>> {
    (0..10)
        .map(|i| async move {
            sleep(Duration::from_millis(100)).await;
            i
        })
        .collect()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[tokio::test(start_paused = true)]
async fn one_by_one_takes_the_sum() {
    let start = Instant::now();
    let out = gather::one_by_one(jobs()).await;
    assert_eq!(start.elapsed(), ms(1000));
    assert_eq!(out, (0..10).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn all_at_once_takes_the_longest() {
    let start = Instant::now();
    let out = gather::all_at_once(jobs()).await;
    assert_eq!(start.elapsed(), ms(100));
    assert_eq!(out, (0..10).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn bounded_three_takes_four_waves() {
    let start = Instant::now();
    let out = gather::bounded(jobs(), 3).await;
    assert_eq!(start.elapsed(), ms(400));
    assert_eq!(out, (0..10).collect::<Vec<_>>());
}

/// The makespan of a greedy list schedule: each job, in input order, starts on the slot that
/// frees first. What a bound that frees a finished job's slot at once achieves.
fn greedy_makespan(durations: &[u64], slots: usize) -> Duration {
    let mut free_at = vec![0; slots.max(1)];
    for &d in durations {
        let earliest = free_at.iter_mut().min().expect("at least one slot");
        *earliest += d;
    }
    ms(free_at.into_iter().max().unwrap_or(0))
}

#[tokio::test(start_paused = true)]
async fn bounded_frees_a_finished_jobs_slot_at_once_and_keeps_input_order() {
    // A long job first, then short ones: kept in order by `buffered`, the short ones that
    // finish would hold their slots until the long one is done (head-of-line holding), and
    // this batch would take 120 ms. Freed at once, they take the greedy schedule's 100 ms.
    let durations = [100, 10, 10, 10, 10, 30, 20];
    for limit in [1, 2, 3, 7] {
        let jobs = durations.iter().enumerate().map(|(i, &d)| async move {
            sleep(ms(d)).await;
            i
        });
        let start = Instant::now();
        let out = gather::bounded(jobs, limit).await;
        assert_eq!(
            start.elapsed(),
            greedy_makespan(&durations, limit),
            "limit {limit}"
        );
        assert_eq!(
            out,
            (0..durations.len()).collect::<Vec<_>>(),
            "limit {limit}"
        );
    }
    assert_eq!(greedy_makespan(&durations, 2), ms(100));
}

#[tokio::test(start_paused = true)]
async fn bounded_zero_is_taken_as_one() {
    let start = Instant::now();
    let out = gather::bounded(jobs(), 0).await;
    assert_eq!(start.elapsed(), ms(1000));
    assert_eq!(out.len(), 10);
}

#[tokio::test(start_paused = true)]
async fn in_tasks_keeps_input_order_even_when_later_jobs_finish_first() {
    let futs = (0..5u64).map(|i| async move {
        sleep(ms(100 * (5 - i))).await;
        i
    });
    let start = Instant::now();
    let out = gather::in_tasks(futs).await;
    assert_eq!(start.elapsed(), ms(500));
    assert_eq!(out, vec![Ok(0), Ok(1), Ok(2), Ok(3), Ok(4)]);
}

#[tokio::test]
async fn in_tasks_reports_a_panic_in_its_own_slot() {
    let futs = (0..3).map(|i| async move {
        if i == 1 {
            panic!("job 1 failed");
        }
        i
    });
    let out = gather::in_tasks(futs).await;
    assert_eq!(out[0], Ok(0));
    assert_eq!(out[1], Err(TaskError::Panicked("job 1 failed".into())));
    assert_eq!(out[2], Ok(2));
}

#[tokio::test(start_paused = true)]
async fn dropping_in_tasks_aborts_the_spawned_jobs() {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(1);
    let futs: Vec<_> = (0..3)
        .map(|_| {
            let tx = tx.clone();
            async move {
                sleep(ms(1000)).await;
                let _ = tx.send(()).await;
            }
        })
        .collect();
    drop(tx);
    // Give up after 100 ms: the JoinSet is dropped with the future, aborting all three.
    let out = tokio::time::timeout(ms(100), gather::in_tasks(futs)).await;
    assert!(out.is_err());
    // Every sender was dropped with its aborted task, so the channel closes without a message.
    assert_eq!(rx.recv().await, None);
}

#[tokio::test]
async fn to_thread_returns_the_value_or_the_panic() {
    assert_eq!(to_thread(|| 6 * 7).await, Ok(42));
    let err = to_thread(|| -> i32 { panic!("{}", String::from("owned message")) })
        .await
        .unwrap_err();
    assert_eq!(err, TaskError::Panicked("owned message".into()));
    assert!(err.to_string().contains("owned message"));
}

#[tokio::test]
async fn only_to_thread_closures_and_plain_threads_may_block() {
    assert!(!blocking_allowed_here(), "a runtime worker must not block");
    assert_eq!(to_thread(blocking_allowed_here).await, Ok(true));
    assert!(!blocking_allowed_here(), "the mark is cleared afterwards");
    assert!(std::thread::spawn(blocking_allowed_here).join().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wrong_way_serialises_and_the_right_way_overlaps() {
    // Two workers, eight blocking sleeps: the wrong way can run only two at a time.
    let wrong = async_patterns::basics::blocking::wrong_way(8, ms(50)).await;
    let right = async_patterns::basics::blocking::right_way(8, ms(50)).await;
    // Lower bounds only: they hold however slow or busy the machine is.
    assert!(wrong >= ms(200), "{wrong:?}");
    assert!(right >= ms(50), "{right:?}");
}

#[tokio::test]
async fn the_cpu_runners_refuse_to_run_inside_a_runtime() {
    assert!(matches!(
        parallel::concurrent(2, 10),
        Err(ParallelError::InsideRuntime("concurrent"))
    ));
    assert!(matches!(
        parallel::parallel(2, 10, 2),
        Err(ParallelError::InsideRuntime(_))
    ));
    assert!(matches!(
        parallel::parallel_blocking(2, 10),
        Err(ParallelError::InsideRuntime(_))
    ));
}

#[test]
fn the_cpu_runners_compute_from_plain_code() {
    assert_eq!(parallel::cpu_work(1000), parallel::cpu_work(1000));
    assert_ne!(parallel::cpu_work(1000), parallel::cpu_work(1001));
    assert!(parallel::calibrate(ms(1)) >= 1);
    assert!(parallel::concurrent(3, 1000).is_ok());
    assert!(parallel::parallel(3, 1000, 2).is_ok());
    assert!(parallel::parallel_blocking(3, 1000).is_ok());
    assert!(parallel::cores() >= 1);
}

#[tokio::test(start_paused = true)]
async fn a_heartbeat_counts_the_beats_a_wait_lets_through_and_a_block_does_not() {
    // Beats at 10, 20, ... 100 ms: ten of them before the work ends at 105 ms.
    let (out, beats) = with_heartbeat(ms(10), async {
        sleep(ms(105)).await;
        7
    })
    .await;
    assert_eq!((out, beats), (7, 10));
    // A blocking call holds the only thread: the heartbeat cannot beat meanwhile.
    let ((), beats) = with_heartbeat(ms(10), async { std::thread::sleep(ms(30)) }).await;
    assert_eq!(beats, 0);
}

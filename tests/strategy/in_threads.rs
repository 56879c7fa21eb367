//! `InThreads` lets its blocking threads go: when its batch is dropped, and when the runtime
//! shuts down under it, with nothing panicking on the runtime's threads.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_patterns::http::{HttpError, HttpGet};
use async_patterns::strategy::{FetchStrategy, InThreads};
use async_patterns::testkit::within;

use super::{HANG, ms, urls};

/// A fetcher that takes an hour, on tokio's timer, and counts its requests started and dropped.
#[derive(Default)]
struct Endless {
    started: AtomicUsize,
    dropped: Arc<AtomicUsize>,
}

/// Counts a dropped request.
struct CountDrop(Arc<AtomicUsize>);

impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl HttpGet for Endless {
    async fn get(&self, _url: &str) -> Result<String, HttpError> {
        let _counted = CountDrop(Arc::clone(&self.dropped));
        self.started.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok("an hour later".into())
    }
}

/// Panics on threads named `name`, counted by a panic hook installed once for this binary.
fn panics_on_threads_named(name: &'static str) -> Arc<AtomicUsize> {
    static HOOKED: std::sync::Mutex<Vec<(&'static str, Arc<AtomicUsize>)>> =
        std::sync::Mutex::new(Vec::new());
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            if let Ok(hooked) = HOOKED.lock() {
                for (name, count) in hooked.iter() {
                    if thread.name() == Some(name) {
                        count.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
            previous(info);
        }));
    });
    let count = Arc::new(AtomicUsize::new(0));
    HOOKED.lock().unwrap().push((name, Arc::clone(&count)));
    count
}

/// Wait (real time, with a deadline) until `count` reaches `n`.
fn wait_for(count: &AtomicUsize, n: usize) -> usize {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while count.load(Ordering::SeqCst) < n && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    count.load(Ordering::SeqCst)
}

/// A one-worker runtime whose threads are named `threads`, a counter of panics on them, and an
/// endless fetcher (shared, and as the `dyn HttpGet` a strategy is given).
fn watched_runtime(
    threads: &'static str,
) -> (
    Arc<AtomicUsize>,
    tokio::runtime::Runtime,
    Arc<Endless>,
    Arc<dyn HttpGet>,
) {
    let panics = panics_on_threads_named(threads);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(threads)
        .enable_all()
        .build()
        .unwrap();
    let endless = Arc::new(Endless::default());
    let http: Arc<dyn HttpGet> = endless.clone();
    (panics, runtime, endless, http)
}

#[test]
fn dropping_an_in_threads_batch_lets_its_threads_go_quietly() {
    const THREADS: &str = "in-threads-dropped";
    let (panics, runtime, endless, http) = watched_runtime(THREADS);
    runtime.block_on(async {
        let (strategy, batch) = (InThreads::new(), urls(4));
        let batch = strategy.fetch_all(&http, &batch);
        // Run the batch until its four blocking threads are waiting on their requests, then
        // drop it.
        let started = async {
            while endless.started.load(Ordering::SeqCst) < 4 {
                tokio::time::sleep(ms(1)).await;
            }
        };
        tokio::select! {
            _ = batch => panic!("an hour went by"),
            () = started => {}
        }
    });
    // The batch is gone: its threads stop waiting at once, the runtime still running.
    assert_eq!(
        wait_for(&endless.dropped, 4),
        4,
        "the requests were dropped"
    );
    drop(runtime);
    assert_eq!(
        panics.load(Ordering::SeqCst),
        0,
        "nothing panicked on the runtime's threads"
    );
}

#[test]
fn shutting_the_runtime_down_under_an_in_threads_batch_is_quiet() {
    const THREADS: &str = "in-threads-shut-down";
    let (panics, runtime, endless, http) = watched_runtime(THREADS);
    runtime.spawn(async move { InThreads::bounded(2).fetch_all(&http, &urls(4)).await });
    assert_eq!(wait_for(&endless.started, 2), 2);
    // Dropping the runtime drops the task (and the batch in it), then stops the timer its
    // threads' requests are waiting on: they must go without touching it.
    within(HANG, move || drop(runtime));
    assert_eq!(
        endless.dropped.load(Ordering::SeqCst),
        2,
        "the two requests were dropped"
    );
    assert_eq!(
        endless.started.load(Ordering::SeqCst),
        2,
        "no other request started"
    );
    assert_eq!(
        panics.load(Ordering::SeqCst),
        0,
        "nothing panicked on the runtime's threads"
    );
}

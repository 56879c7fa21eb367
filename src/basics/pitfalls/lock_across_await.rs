//! Pitfall 2: a lock guard held across `.await`.
//!
//! A task that holds a lock while it awaits keeps everyone else out for as long as it waits.
//! Which lock decides how it hurts:
//!
//! * **`std::sync::Mutex`**: its guard is not `Send`, so a future holding one across an
//!   `.await` cannot be given to `tokio::spawn`. The compiler says so
//!   (`tests/ui/std_guard_across_await.rs` pins the error):
//!
//!   ```compile_fail
//!   # async fn tick() {}
//!   let counter = std::sync::Arc::new(std::sync::Mutex::new(0));
//!   tokio::spawn(async move {
//!       let mut guard = counter.lock().unwrap();
//!       tick().await; // error: future cannot be sent between threads safely
//!       *guard += 1;
//!   });
//!   ```
//!
//!   Where `Send` is not required (a future awaited in place, a local task set), it compiles,
//!   and a second task that wants the lock on the same thread *blocks* the thread the holder
//!   needs to finish: a deadlock.
//! * **`tokio::sync::Mutex`**: its guard is `Send` and waiting for it is an `.await`, so the
//!   same code compiles and runs, and every task queues behind the one that holds the lock
//!   while it waits. Nothing fails; everything is serialised. [`guard_held_across_await`]
//!   measures it: ten lookups of 100 ms take a second.
//!
//! **The fix**, for both: take what you need under the lock, drop the guard, await, then lock
//! again to write the answer back ([`guard_dropped_before_await`]: ten lookups take 100 ms).
//! The price is that two tasks may now ask for the same missing key at once; when that
//! matters, store a shared future (or a `tokio::sync::OnceCell`) per key instead of holding
//! the map. `clippy::await_holding_lock` flags the `std` case; nothing flags the tokio one.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::basics::gather;

/// What a batch of lookups measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lookups {
    /// How long the batch took (virtual time on a paused clock).
    pub elapsed: Duration,
    /// The most calls to the slow service that were under way at once.
    pub peak_calls: usize,
    /// How many lookups ended with an answer (all of them, unless a task failed).
    pub answered: usize,
}

/// A cache shared by `tasks` tasks, each looking up its own key: a miss asks a slow service.
struct Cache {
    map: Mutex<HashMap<usize, String>>,
    service: Duration,
    calls: AtomicUsize,
    peak_calls: AtomicUsize,
}

impl Cache {
    fn new(service: Duration) -> Arc<Cache> {
        Arc::new(Cache {
            map: Mutex::new(HashMap::new()),
            service,
            calls: AtomicUsize::new(0),
            peak_calls: AtomicUsize::new(0),
        })
    }

    /// The slow service: one round trip of `service`, counted while under way.
    async fn ask_service(&self, key: usize) -> String {
        let now = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak_calls.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(self.service).await;
        self.calls.fetch_sub(1, Ordering::SeqCst);
        format!("value of {key}")
    }
}

/// The wrong way: each task locks the cache, and on a miss asks the service **while holding
/// the guard**. The lock is tokio's, so it compiles and each task can be spawned; the tasks
/// then take turns, one service call at a time: `tasks x service` in all.
pub async fn guard_held_across_await(tasks: usize, service: Duration) -> Lookups {
    let cache = Cache::new(service);
    let lookups = (0..tasks).map(|key| {
        let cache = Arc::clone(&cache);
        async move {
            let mut map = cache.map.lock().await;
            if let Some(cached) = map.get(&key) {
                return Some(cached.clone());
            }
            // The guard is alive across this `.await`: every other task waits for it.
            let value = cache.ask_service(key).await;
            map.insert(key, value.clone());
            Some(value)
        }
    });
    run(&cache, lookups).await
}

/// The fix: look up under the lock, drop the guard, ask the service, lock again to store.
/// The service calls overlap: about one `service` for the whole batch.
pub async fn guard_dropped_before_await(tasks: usize, service: Duration) -> Lookups {
    let cache = Cache::new(service);
    let lookups = (0..tasks).map(|key| {
        let cache = Arc::clone(&cache);
        async move {
            // The guard is a temporary of this statement: dropped at its `;`.
            let cached = cache.map.lock().await.get(&key).cloned();
            if cached.is_some() {
                return cached;
            }
            let value = cache.ask_service(key).await; // no lock held while waiting
            // Another task may have stored it meanwhile: keep the first answer.
            let mut map = cache.map.lock().await;
            Some(map.entry(key).or_insert(value).clone())
        }
    });
    run(&cache, lookups).await
}

/// Spawn every lookup as a task and measure the batch.
async fn run<F>(cache: &Cache, lookups: impl Iterator<Item = F>) -> Lookups
where
    F: Future<Output = Option<String>> + Send + 'static,
{
    let start = Instant::now();
    // Spawned, as a server's request handlers would be: tokio's guard is `Send`, so both ways
    // compile; only the timing tells them apart.
    let answers = gather::in_tasks(lookups).await;
    Lookups {
        elapsed: start.elapsed(),
        peak_calls: cache.peak_calls.load(Ordering::SeqCst),
        answered: answers.iter().filter(|a| matches!(a, Ok(Some(_)))).count(),
    }
}

//! A `std::sync::MutexGuard` held across an `.await` makes the future `!Send`.
use std::sync::Mutex;

async fn tick() {}

fn main() {
    let counter = std::sync::Arc::new(Mutex::new(0));
    tokio::spawn(async move {
        let mut guard = counter.lock().unwrap();
        tick().await; // the guard is still alive here, and `MutexGuard` is not `Send`
        *guard += 1;
    });
}

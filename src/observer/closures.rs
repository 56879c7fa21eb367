//! Closures as observers, for one-off observers that do not deserve a type.
//!
//! [`FnObserver`] takes a closure from `&E` to a future, the usual form; [`OwnedFnObserver`]
//! hands the closure its own copy of the event, which is what lets an `async |e| ..` closure
//! be an observer. Each says which closures fit and why.

use std::fmt;
use std::future::Future;

use async_trait::async_trait;

use super::{BoxError, Observer};

/// A closure returning a future, used as an [`Observer`].
///
/// The closure gets the event by reference and returns a `Send` future that owns what it
/// needs, so the usual form clones the parts of the event it keeps:
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use async_patterns::observer::{BoxError, FnObserver, Subject};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let subject = Subject::<u64>::new();
/// let total = Arc::new(AtomicU64::new(0));
/// let sum = Arc::clone(&total);
/// let _sub = subject.subscribe(FnObserver::new(move |n: &u64| {
///     let (n, sum) = (*n, Arc::clone(&sum)); // own what the future needs
///     async move {
///         sum.fetch_add(n, Ordering::Relaxed);
///         Ok::<(), BoxError>(())
///     }
/// }));
/// subject.notify(&40).await;
/// subject.notify(&2).await;
/// assert_eq!(total.load(Ordering::Relaxed), 42);
/// # }
/// ```
///
/// `async` closures (`async |e| { .. }`, stable since Rust 1.85) do *not* fit here. Their
/// future keeps their argument, so with a `&E` argument the future's type depends on the
/// borrow, which `Fn(&E) -> Fut` cannot express; and one that uses what it captures only
/// implements `AsyncFn`, whose futures cannot be named as `Send` on stable Rust, while a
/// subject shared between tasks needs `Send` futures. Those that capture nothing fit
/// [`OwnedFnObserver`], which hands them their own copy of the event. For everything else,
/// write `move |e| { let x = x.clone(); async move { .. } }`, as above: one clone per call.
#[derive(Clone)]
pub struct FnObserver<F>(F);

impl<F> FnObserver<F> {
    /// Wrap `f`, a closure from `&E` to a future of `Result<(), BoxError>`.
    pub fn new<E, Fut>(f: F) -> Self
    where
        F: Fn(&E) -> Fut + Send + Sync,
        Fut: Future<Output = Result<(), BoxError>> + Send,
    {
        FnObserver(f)
    }
}

#[async_trait]
impl<E, F, Fut> Observer<E> for FnObserver<F>
where
    E: Send + Sync + 'static,
    F: Fn(&E) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), BoxError>> + Send,
{
    async fn notify(&self, event: &E) -> Result<(), BoxError> {
        (self.0)(event).await
    }
}

/// A closure taking its own copy of the event (`E: Clone`) and returning a future, used as
/// an [`Observer`].
///
/// Use it when the future should own the event, and for `async` closures that capture
/// nothing, which implement `Fn(E) -> impl Future + Send` and so fit as they are:
///
/// ```
/// use async_patterns::observer::{BoxError, OwnedFnObserver, Subject};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let subject = Subject::<u64>::new();
/// let _sub = subject.subscribe(OwnedFnObserver::new(async |n: u64| {
///     tokio::task::yield_now().await; // the event is owned: no borrow across this `.await`
///     if n > 100 { Err::<(), BoxError>(format!("{n} is too big").into()) } else { Ok(()) }
/// }));
/// assert!(subject.notify(&42).await.all_delivered());
/// assert_eq!(subject.notify(&420).await.failed(), 1);
/// # }
/// ```
///
/// An `async` closure that *captures* something (`async move |n| counter.add(n)`) only
/// implements `AsyncFn` and does not fit; use [`FnObserver`] with a closure returning
/// `async move { .. }` instead.
#[derive(Clone)]
pub struct OwnedFnObserver<F>(F);

impl<F> OwnedFnObserver<F> {
    /// Wrap `f`, a closure from an owned `E` to a future of `Result<(), BoxError>`.
    pub fn new<E, Fut>(f: F) -> Self
    where
        F: Fn(E) -> Fut + Send + Sync,
        Fut: Future<Output = Result<(), BoxError>> + Send,
    {
        OwnedFnObserver(f)
    }
}

#[async_trait]
impl<E, F, Fut> Observer<E> for OwnedFnObserver<F>
where
    E: Clone + Send + Sync + 'static,
    F: Fn(E) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), BoxError>> + Send,
{
    async fn notify(&self, event: &E) -> Result<(), BoxError> {
        (self.0)(event.clone()).await
    }
}

// A closure has no `Debug`, so each adapter prints its own name only.
macro_rules! debug_by_name {
    ($($adapter:ident),+) => {$(
        impl<F> fmt::Debug for $adapter<F> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($adapter), "(..)"))
            }
        }
    )+};
}
debug_by_name!(FnObserver, OwnedFnObserver);

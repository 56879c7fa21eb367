//! Mocks that can wait: a delay wrapper and an in-flight gauge.
//!
//! mockall's async methods return ready futures, so a bare mock finishes instantly and cannot
//! show that calls overlap. [`Delayed`] sleeps with `tokio::time::sleep` before delegating to
//! the wrapped implementation; on tokio's paused clock (`#[tokio::test(start_paused = true)]`)
//! the sleeps cost no real time, and the virtual clock proves the shape: ten 100 ms calls made
//! concurrently end at 100 ms, made one by one at 1000 ms.
//!
//! [`Delayed`] implements every trait a user implements ([`HttpGet`], [`FetchStrategy`] and
//! [`NativeFetch`], [`Device`], [`Observer`], [`Step`], [`Stage`]) the same way, at the end of
//! this file: `let _call = self.wait().await; self.inner().method(..).await`. The wait comes before
//! delegating, so a call cancelled during the wait never reaches the inner implementation: a
//! mock with `times(0)` behind a `Delayed` proves a cancellation.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use crate::factory::{Device, DeviceError};
use crate::http::{BoxError, HttpError, HttpGet};
use crate::observer::Observer;
use crate::pipeline::plan::{Step, StepContext, StepError};
use crate::pipeline::stream::Stage;
use crate::strategy::{FetchStrategy, Fetched, NativeFetch};

/// Counts calls in flight and remembers the peak, so a test can assert how many overlapped.
/// Clones share the same counters.
#[derive(Debug, Clone, Default)]
pub struct Gauge(Arc<GaugeInner>);

#[derive(Debug, Default)]
struct GaugeInner {
    total: AtomicU64,
    now: AtomicUsize,
    peak: AtomicUsize,
}

/// One call in flight; dropping it (on completion or cancellation) ends the call.
#[derive(Debug)]
#[must_use = "the call counts as in flight only while the guard lives"]
pub struct GaugeGuard(Gauge);

impl Gauge {
    /// A gauge at zero.
    pub fn new() -> Self {
        Gauge::default()
    }

    /// Count a call as started; it ends when the guard is dropped.
    pub fn enter(&self) -> GaugeGuard {
        self.0.total.fetch_add(1, Ordering::SeqCst);
        let now = self.0.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.0.peak.fetch_max(now, Ordering::SeqCst);
        GaugeGuard(self.clone())
    }

    /// Calls started so far.
    pub fn total(&self) -> u64 {
        self.0.total.load(Ordering::SeqCst)
    }

    /// Calls in flight now.
    pub fn current(&self) -> usize {
        self.0.now.load(Ordering::SeqCst)
    }

    /// The most calls ever in flight at once.
    pub fn peak(&self) -> usize {
        self.0.peak.load(Ordering::SeqCst)
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        (self.0).0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Any implementation, made to wait `delay` before each call, with a [`Gauge`] of the calls.
///
/// ```
/// use std::time::Duration;
/// use async_patterns::http::HttpGet;
/// use async_patterns::testkit::{Delayed, MockHttpGet};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let mut mock = MockHttpGet::new();
/// mock.expect_get().times(10).returning(|url| Ok(url.to_owned()));
/// let slow = Delayed::new(mock, Duration::from_millis(100));
///
/// let start = tokio::time::Instant::now();
/// let urls: Vec<String> = (0..10).map(|i| format!("u{i}")).collect();
/// futures::future::join_all(urls.iter().map(|u| slow.get(u))).await;
/// assert_eq!(start.elapsed(), Duration::from_millis(100)); // virtual time: they overlapped
/// assert_eq!(slow.gauge().peak(), 10);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Delayed<T> {
    inner: T,
    delay: Duration,
    gauge: Gauge,
}

impl<T> Delayed<T> {
    /// Wrap `inner` so each call first waits `delay`.
    pub fn new(inner: T, delay: Duration) -> Self {
        Delayed::with_gauge(inner, delay, Gauge::new())
    }

    /// Wrap `inner`, counting calls on a gauge shared with other wrappers.
    pub fn with_gauge(inner: T, delay: Duration, gauge: Gauge) -> Self {
        Delayed {
            inner,
            delay,
            gauge,
        }
    }

    /// The wrapped implementation.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The wait before each call.
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// The gauge counting this wrapper's calls.
    pub fn gauge(&self) -> &Gauge {
        &self.gauge
    }

    /// Start a call: count it in flight, then sleep the delay. Hold the guard while delegating.
    pub async fn wait(&self) -> GaugeGuard {
        let guard = self.gauge.enter();
        tokio::time::sleep(self.delay).await;
        guard
    }
}

// Every user-implemented trait, through `Delayed`: wait (counted on the gauge), then delegate.
// The impls differ only in their trait's methods, so a small macro writes them; this is test
// plumbing, not a lesson (each pattern's own `Arc`/`Box`/`&` impls are written out by hand).
macro_rules! delayed {
    ([$($generics:tt)*] $trait_:path {
        $(fn $sync:ident(&self $(, $sarg:ident: $sty:ty)*) -> $sret:ty;)*
        $(async fn $method:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*
    }) => {
        #[async_trait::async_trait]
        impl<T: $trait_, $($generics)*> $trait_ for Delayed<T> {
            $(fn $sync(&self $(, $sarg: $sty)*) -> $sret {
                self.inner().$sync($($sarg),*)
            })*
            $(async fn $method(&self $(, $arg: $ty)*) -> $ret {
                let _call = self.wait().await;
                self.inner().$method($($arg),*).await
            })*
        }
    };
}

delayed!([] HttpGet {
    async fn get(&self, url: &str) -> Result<String, HttpError>;
});
delayed!([] FetchStrategy {
    fn name(&self) -> &str;
    async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched;
});
delayed!([] Device {
    fn name(&self) -> &str;
    fn kind(&self) -> &str;
    async fn send(&self, message: &str) -> Result<String, DeviceError>;
});
delayed!([E: Send + Sync + 'static] Observer<E> {
    async fn notify(&self, event: &E) -> Result<(), BoxError>;
});
delayed!([] Step {
    fn name(&self) -> &str;
    async fn run(&self, cx: &StepContext) -> Result<(), StepError>;
});
delayed!([I: Send + 'static, O: Send + 'static] Stage<I, O> {
    async fn process(&self, input: I) -> Result<O, BoxError>;
});

// The static-dispatch strategy trait has a native `async fn`, so its impl is written plainly.
impl<T: NativeFetch> NativeFetch for Delayed<T> {
    fn name(&self) -> &str {
        self.inner().name()
    }

    async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
        let _call = self.wait().await;
        self.inner().fetch_all(http, urls).await
    }
}

//! Playing a downstream crate: a new fetch strategy and a new device kind, written outside
//! `async_patterns` and plugged in through its public API only; decorators over the crate's
//! shared, boxed and borrowed implementations; the testkit's mocks; the names a user imports.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use async_patterns::factory::{Config, Device, DeviceError, device_registry};
use async_patterns::http::{HttpError, HttpGet};
// Both outcomes in one `use`: they no longer share a name.
use async_patterns::observer::{Observer, Outcome, Subject};
use async_patterns::pipeline::{
    BoxError, FnStep, Pipeline, Stage, StageOptions, Step, StepContext, StepError, StepExt,
    StepOutcome, Timeout, run_traced, sequence, step,
};
use async_patterns::strategy::{
    Downloader, FetchStrategy, Fetched, NativeFetch, OneByOne, StaticDownloader,
};
use async_patterns::testkit::{
    MockDevice, MockHttpGet, MockNativeFetch, MockObserver, MockStage, MockStep,
};
// A user implementing the traits needs the attribute, and gets it from this crate: no
// async-trait dependency of their own.
use async_patterns::async_trait;
use tokio::time::Instant;

// ---- a downstream strategy (dyn, through #[async_trait]) -------------------------------------

/// All at once, then every failed URL once more (all at once again).
struct RetryOnce;

#[async_trait]
impl FetchStrategy for RetryOnce {
    fn name(&self) -> &str {
        "retry once"
    }

    async fn fetch_all(
        &self,
        http: &Arc<dyn HttpGet>,
        urls: &[String],
    ) -> Vec<Result<String, HttpError>> {
        let mut results = futures::future::join_all(urls.iter().map(|url| http.get(url))).await;
        let failed: Vec<usize> = (0..results.len())
            .filter(|&i| results[i].is_err())
            .collect();
        let retried = futures::future::join_all(failed.iter().map(|&i| http.get(&urls[i]))).await;
        for (i, result) in failed.into_iter().zip(retried) {
            results[i] = result;
        }
        results
    }
}

// ---- a downstream strategy, both ways: dyn and static, one algorithm -----------------------

/// Fetches the last URL first; results still in input order. Written once, as a plain async
/// function, and called by both impls.
async fn last_first(http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
    let mut out = Vec::with_capacity(urls.len());
    for url in urls.iter().rev() {
        out.push(http.get(url).await);
    }
    out.reverse();
    out
}

struct LastFirst;

#[async_trait]
impl FetchStrategy for LastFirst {
    fn name(&self) -> &str {
        "last first"
    }

    async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
        last_first(http, urls).await
    }
}

impl NativeFetch for LastFirst {
    fn name(&self) -> &str {
        "last first"
    }

    async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
        last_first(http, urls).await
    }
}

/// A flaky fetcher: every URL fails the first time it is asked for, then answers.
#[derive(Default)]
struct Flaky {
    calls: AtomicU32,
    seen: std::sync::Mutex<std::collections::HashSet<String>>,
}

#[async_trait]
impl HttpGet for Flaky {
    async fn get(&self, url: &str) -> Result<String, HttpError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let first_time = self
            .seen
            .lock()
            .map(|mut seen| seen.insert(url.to_owned()))
            .unwrap_or(false);
        if first_time {
            Err(HttpError::Status {
                url: url.to_owned(),
                status: 503,
            })
        } else {
            Ok(format!("page {url}"))
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_downstream_strategy_plugs_into_the_downloader_and_can_be_swapped_in() {
    let flaky = Arc::new(Flaky::default());
    let downloader = Downloader::new(flaky.clone(), Arc::new(OneByOne));
    let urls: Vec<String> = (0..3).map(|i| format!("u{i}")).collect();

    let first = downloader.download(&urls).await.unwrap();
    assert!(first.iter().all(Result::is_err)); // one try each, all fail the first time

    let old = downloader.set_strategy(Arc::new(RetryOnce));
    assert_eq!(old.name(), "one by one");
    let start = Instant::now();
    let again: Vec<String> = downloader
        .download(&["v0".into(), "v1".into()])
        .await
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(again, ["page v0", "page v1"]);
    assert_eq!(start.elapsed(), Duration::from_millis(200)); // two concurrent rounds
    assert_eq!(flaky.calls.load(Ordering::SeqCst), 3 + 4);
}

#[tokio::test(start_paused = true)]
async fn a_downstream_native_strategy_works_statically_and_behind_dyn() {
    let flaky: Arc<dyn HttpGet> = Arc::new(Flaky::default());
    let urls: Vec<String> = vec!["a".into(), "b".into()];

    let fixed = StaticDownloader::new(Arc::clone(&flaky), LastFirst);
    let first = fixed.download(&urls).await.unwrap();
    assert!(first.iter().all(Result::is_err));

    // The same type as a `dyn FetchStrategy`, through its other impl.
    let dynamic = Downloader::new(flaky, Arc::new(LastFirst));
    let second = dynamic.download(&urls).await.unwrap();
    assert_eq!(second[0].as_deref().unwrap(), "page a");
    assert_eq!(dynamic.strategy().name(), "last first");
}

// ---- a downstream device kind ----------------------------------------------------------------

/// A thermostat: connects in 40 ms, takes `set N` (N in 5..=30 degrees).
struct Thermostat {
    name: String,
    target: std::sync::Mutex<u8>,
}

impl Thermostat {
    async fn connect(config: Config) -> Result<Self, DeviceError> {
        tokio::time::sleep(Duration::from_millis(40)).await;
        Ok(Thermostat {
            name: config.name,
            target: std::sync::Mutex::new(20),
        })
    }
}

#[async_trait]
impl Device for Thermostat {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        "thermostat"
    }

    async fn send(&self, message: &str) -> Result<String, DeviceError> {
        let degrees = message
            .strip_prefix("set ")
            .and_then(|n| n.parse::<u8>().ok())
            .filter(|n| (5..=30).contains(n));
        match degrees {
            Some(degrees) => {
                if let Ok(mut target) = self.target.lock() {
                    *target = degrees;
                }
                Ok(format!("{}: heating to {degrees} °C", self.name))
            }
            None => Err(DeviceError::Unsupported {
                device: self.name.clone(),
                kind: "thermostat".into(),
                message: message.to_owned(),
            }),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_downstream_device_kind_is_registered_and_created_with_the_built_in_ones() {
    let home = device_registry();
    home.register("thermostat", Thermostat::connect).unwrap();
    assert_eq!(home.kinds(), ["light", "speaker", "thermostat", "toilet"]);

    let start = Instant::now();
    let devices = home
        .create_many(
            [
                ("thermostat", Config::new("hall")),
                ("light", Config::new("porch")),
            ],
            None,
        )
        .await;
    assert_eq!(start.elapsed(), Duration::from_millis(50)); // the light's 50 ms, not 90
    let thermostat = devices[0].as_ref().unwrap();
    assert_eq!(thermostat.kind(), "thermostat");
    assert_eq!(
        thermostat.send("set 21").await.unwrap(),
        "hall: heating to 21 °C"
    );
    assert!(matches!(
        thermostat.send("set 99").await,
        Err(DeviceError::Unsupported { .. })
    ));
    assert_eq!(devices[1].as_ref().unwrap().name(), "porch");
}

// ---- both contexts are shared with spawned tasks ---------------------------------------------

#[tokio::test(start_paused = true)]
async fn downloads_and_creations_run_in_spawned_tasks() {
    // `tokio::spawn` needs `Send + 'static` futures: this compiles only if `download`,
    // `create` and `create_many` hold nothing across an `.await` that cannot cross threads.
    let downloader = Arc::new(Downloader::new(
        Arc::new(Flaky::default()),
        Arc::new(RetryOnce),
    ));
    let fixed = Arc::new(StaticDownloader::new(Arc::new(Flaky::default()), LastFirst));
    let home = Arc::new(device_registry());
    home.register("thermostat", Thermostat::connect).unwrap();

    let start = Instant::now();
    let dynamic = tokio::spawn({
        let downloader = Arc::clone(&downloader);
        async move { downloader.download(&["x".into()]).await }
    });
    let fixed = tokio::spawn(async move { fixed.download(&["y".into()]).await });
    let one = tokio::spawn({
        let home = Arc::clone(&home);
        async move { home.create("thermostat", Config::new("t")).await }
    });
    let many = tokio::spawn({
        let home = Arc::clone(&home);
        async move {
            let requests = [
                ("light", Config::new("l")),
                ("thermostat", Config::new("u")),
            ];
            home.create_many(requests, Some(1)).await
        }
    });

    let dynamic = dynamic.await.unwrap().unwrap();
    assert_eq!(dynamic[0].as_deref().unwrap(), "page x"); // failed once, retried
    assert!(fixed.await.unwrap().unwrap()[0].is_err()); // one try only
    assert_eq!(one.await.unwrap().unwrap().kind(), "thermostat");
    let many = many.await.unwrap();
    assert!(many.iter().all(Result::is_ok));
    // All four ran at once: the slowest (the retried download, two rounds of 100 ms), not the
    // sum (200 + 100 + 40 + 90 ms).
    assert_eq!(start.elapsed(), Duration::from_millis(200));
}

// ---- decorators over shared, boxed and borrowed implementations ------------------------------

/// A user's decorator, generic over any strategy: counts the batches it passes on.
struct Counted<S> {
    inner: S,
    batches: AtomicUsize,
}

#[async_trait]
impl<S: FetchStrategy> FetchStrategy for Counted<S> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched {
        self.batches.fetch_add(1, Ordering::SeqCst);
        self.inner.fetch_all(http, urls).await
    }
}

#[tokio::test]
async fn the_strategy_in_use_can_be_wrapped_in_a_decorator() {
    let mut http = MockHttpGet::new();
    http.expect_get()
        .times(2)
        .returning(|u| Ok(format!("page {u}")));
    let downloader = Downloader::new(Arc::new(http), Arc::new(OneByOne));
    // `strategy()` is an `Arc<dyn FetchStrategy>`: a strategy itself, so it can be wrapped.
    let counted = Arc::new(Counted {
        inner: downloader.strategy(),
        batches: AtomicUsize::new(0),
    });
    downloader.set_strategy(counted.clone());
    let pages = downloader
        .download(&["a".into(), "b".into()])
        .await
        .unwrap();
    assert_eq!(pages[1].as_deref().unwrap(), "page b");
    assert_eq!(counted.batches.load(Ordering::SeqCst), 1);
    assert_eq!(downloader.strategy().name(), "one by one");
}

async fn get_through(http: impl HttpGet) -> Result<String, HttpError> {
    http.get("u").await
}

async fn send_through(device: impl Device) -> Result<String, DeviceError> {
    device.send("on").await
}

async fn notify_through(observer: impl Observer<u8>) -> Result<(), BoxError> {
    observer.notify(&1).await
}

async fn run_through(step: impl Step) -> Result<(), StepError> {
    step.run(&StepContext::new()).await
}

async fn process_through(stage: impl Stage<String, String>) -> Result<String, BoxError> {
    stage.process("in".to_owned()).await
}

#[tokio::test]
async fn every_user_trait_forwards_through_its_pointers() {
    // Each mock is called once through `Arc<T>`, once through `Box<dyn Trait>` (or, for a
    // device, `&dyn Device`) and once through `&T`: three calls each.
    let mut http = MockHttpGet::new();
    http.expect_get().times(3).returning(|u| Ok(u.to_owned()));
    let http = Arc::new(http);
    let boxed: Box<dyn HttpGet> = Box::new(Arc::clone(&http));
    assert_eq!(get_through(Arc::clone(&http)).await.unwrap(), "u");
    assert_eq!(get_through(boxed).await.unwrap(), "u");
    assert_eq!(get_through(&*http).await.unwrap(), "u");

    // Not through `Box`: `Box<dyn Device>` is the registry's product, and `From<D> for
    // Box<dyn Device>` would collide with `From<T> for T`. A box is used through `&*boxed`.
    let mut device = MockDevice::new();
    device
        .expect_send()
        .times(3)
        .returning(|m| Ok(m.to_owned()));
    let device = Arc::new(device);
    let boxed: Box<dyn Device> = Box::new(Arc::clone(&device));
    assert_eq!(send_through(Arc::clone(&device)).await.unwrap(), "on");
    assert_eq!(send_through(&*boxed).await.unwrap(), "on");
    assert_eq!(send_through(&*device).await.unwrap(), "on");

    let mut observer = MockObserver::<u8>::new();
    observer.expect_notify().times(3).returning(|_| Ok(()));
    let observer = Arc::new(observer);
    let boxed: Box<dyn Observer<u8>> = Box::new(Arc::clone(&observer));
    assert!(notify_through(Arc::clone(&observer)).await.is_ok());
    assert!(notify_through(boxed).await.is_ok());
    assert!(notify_through(&*observer).await.is_ok());

    let mut step = MockStep::new();
    step.expect_name().return_const("mock".to_owned());
    step.expect_run().times(3).returning(|_| Ok(()));
    let step = Arc::new(step);
    let boxed: Box<dyn Step> = Box::new(Arc::clone(&step));
    assert!(run_through(Arc::clone(&step)).await.is_ok());
    assert!(run_through(boxed).await.is_ok());
    assert!(run_through(&*step).await.is_ok());

    let mut stage = MockStage::new();
    stage.expect_process().times(3).returning(|s| Ok(s + "!"));
    let stage = Arc::new(stage);
    let boxed: Box<dyn Stage<String, String>> = Box::new(Arc::clone(&stage));
    assert_eq!(process_through(Arc::clone(&stage)).await.unwrap(), "in!");
    assert_eq!(process_through(boxed).await.unwrap(), "in!");
    assert_eq!(process_through(&*stage).await.unwrap(), "in!");
}

// ---- the testkit's mock of the static strategy -----------------------------------------------

#[tokio::test]
async fn a_static_downloader_is_tested_with_a_mock_native_strategy() {
    let mut strategy = MockNativeFetch::new();
    strategy.expect_name().return_const("mocked".to_owned());
    strategy
        .expect_fetch_all()
        .withf(|_, urls| urls == ["a", "b"])
        .times(1)
        .returning(|_, urls| urls.iter().map(|u| Ok(format!("page {u}"))).collect());
    // A second batch that breaks the contract: one result for two URLs.
    strategy
        .expect_fetch_all()
        .withf(|_, urls| urls == ["c", "d"])
        .times(1)
        .returning(|_, _| vec![Ok("only one".into())]);
    let fixed = StaticDownloader::new(Arc::new(MockHttpGet::new()), strategy);
    let pages = fixed.download(&["a".into(), "b".into()]).await.unwrap();
    assert_eq!(pages[0].as_deref().unwrap(), "page a");
    let err = fixed.download(&["c".into(), "d".into()]).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"strategy "mocked" returned 1 results for 2 URLs"#
    );
    // Each expectation matches one batch only, and each batch came back as its expectation
    // answers it: both were met once (a violated one would have been a `Panicked` error).
}

// ---- the names a user imports ----------------------------------------------------------------

/// A user's helper that names the adapter types in its signature.
fn guarded<F, Fut>(name: &str, f: F) -> Timeout<FnStep<F>>
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), StepError>> + Send,
{
    step(name, f).with_timeout(Duration::from_millis(50))
}

/// A user's stage, failing with the crate's `BoxError`.
struct Shout;

#[async_trait]
impl Stage<String, String> for Shout {
    async fn process(&self, input: String) -> Result<String, BoxError> {
        if input.is_empty() {
            return Err("nothing to shout".into());
        }
        Ok(input.to_uppercase())
    }
}

#[tokio::test(start_paused = true)]
async fn the_names_a_user_needs_are_where_they_look() {
    let plan = sequence(
        "morning",
        vec![
            guarded("quick", || async { Ok(()) }).boxed(),
            guarded("slow", || async {
                tokio::time::sleep(Duration::from_secs(1)).await;
                Ok(())
            })
            .boxed(),
        ],
    );
    let (result, trace) = run_traced(&plan).await;
    assert!(matches!(result, Err(StepError::TimedOut { .. })));
    let outcome = trace.span("morning/slow").map(|s| s.outcome);
    assert_eq!(outcome, Some(StepOutcome::TimedOut));

    let subject = Subject::<u8>::new();
    // The crate root's `BoxError` is the one every trait returns.
    let _sub = subject.subscribe(async_patterns::observer::FnObserver::new(|_: &u8| async {
        Err::<(), async_patterns::BoxError>("no".into())
    }));
    let report = subject.notify(&1).await;
    assert!(matches!(report.deliveries()[0].outcome, Outcome::Failed(_)));

    let (out, errors) = Pipeline::from_iter(["hi".to_owned(), String::new()])
        .stage("shout", StageOptions::ordered(1), Shout)
        .on_error(async_patterns::pipeline::ErrorPolicy::SkipAndReport)
        .into_stream()
        .partition()
        .await;
    assert_eq!(out, ["HI"]);
    assert_eq!(
        errors[0].to_string(),
        "stage \"shout\" failed on input #1: nothing to shout"
    );
}

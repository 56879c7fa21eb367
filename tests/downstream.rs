//! Playing a downstream crate: a new fetch strategy and a new device kind, written outside
//! `async_patterns` and plugged in through its public API only.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_patterns::factory::{Config, Device, DeviceError, device_registry};
use async_patterns::http::{HttpError, HttpGet};
use async_patterns::strategy::{
    Downloader, FetchStrategy, NativeFetch, OneByOne, StaticDownloader,
};
use async_trait::async_trait;
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

// ---- a downstream strategy (static, through a native async fn) -------------------------------

/// Fetches the last URL first; results still in input order.
struct LastFirst;

impl NativeFetch for LastFirst {
    fn name(&self) -> &str {
        "last first"
    }

    async fn fetch_all(
        &self,
        http: &Arc<dyn HttpGet>,
        urls: &[String],
    ) -> Vec<Result<String, HttpError>> {
        let mut out = Vec::with_capacity(urls.len());
        for url in urls.iter().rev() {
            out.push(http.get(url).await);
        }
        out.reverse();
        out
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

    // The same type as a `dyn FetchStrategy`, through the crate's blanket impl.
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

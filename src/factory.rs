//! Factory: construction that needs I/O, and a registry of named async constructors.
//!
//! # The concept
//! A *factory* makes products whose concrete type the caller does not name: the caller says
//! "a light called kitchen" and gets a `Box<dyn Device>`. A *registry* of named constructors
//! makes the factory open: other code (another module, a downstream crate, a plugin loaded from
//! configuration) registers new kinds at run time without touching the factory.
//!
//! # The classic sync shape
//! ```text
//! type Ctor = fn(Config) -> Result<Box<dyn Device>, Error>;
//! struct Registry { ctors: HashMap<String, Ctor> }
//! impl Registry {
//!     fn register(&mut self, kind: &str, ctor: Ctor) { self.ctors.insert(kind.into(), ctor); }
//!     fn create(&self, kind: &str, config: Config) -> Result<Box<dyn Device>, Error> {
//!         let ctor = self.ctors.get(kind).ok_or(Error::Unknown)?;
//!         ctor(config)
//!     }
//! }
//! ```
//!
//! # The async shape
//! ```text
//! type Ctor = fn(Config) -> BoxFuture<'static, Result<Box<dyn Device>, Error>>;
//! struct Registry { ctors: HashMap<String, Ctor> }
//! impl Registry {
//!     fn register(&mut self, kind: &str, ctor: Ctor) { self.ctors.insert(kind.into(), ctor); }
//!     async fn create(&self, kind: &str, config: Config) -> Result<Box<dyn Device>, Error> {
//!         let ctor = self.ctors.get(kind).ok_or(Error::Unknown)?;
//!         ctor(config).await
//!     }
//! }
//! ```
//!
//! # What changed, and what async adds
//! The constructor returns a future (boxed, so that constructors of different kinds have one
//! type) and `create` awaits it: making a device means connecting to it ([`Light::connect`]
//! sleeps, standing in for a handshake over the network). The shape is the same.
//!
//! The real [`Registry`] stores closures (`Arc<dyn Fn>`) behind an `RwLock`, so kinds can be
//! registered through `&self` while other tasks create products. `create` clones the
//! constructor's `Arc` out of the lock and awaits with no lock held: a registration never waits
//! for a slow handshake. What awaiting adds:
//!
//! * **Concurrent construction.** [`Registry::create_many`] builds several products at once (with
//!   an optional limit), so five devices that each take 100 ms to connect are ready in about
//!   100 ms, not 500 ms; the report has one result per request, in order.
//! * **Timeouts.** A constructor can hang on a device that never answers;
//!   [`Registry::with_timeout`] bounds every construction ([`FactoryError::TimedOut`]).
//! * **Isolation.** A constructor that fails gives [`FactoryError::Failed`] naming the kind and
//!   carrying the cause; one that *panics* gives [`FactoryError::Panicked`] (the panic is
//!   caught), so one bad plugin cannot take down the code creating other devices.
//!
//! The registry is also stricter than the sync sketch: registering a kind twice is an error
//! ([`FactoryError::Duplicate`]), not a silent overwrite, and an unknown kind's error lists the
//! kinds that are known ([`FactoryError::UnknownKind`]).
//!
//! [`Registry`] is generic: `Registry<dyn Device>` is the smart home, but any product type
//! works, sized or not, with any config type (`Registry<P, C = Config>`). A constructor is any
//! closure returning a `Send` future, so an async closure registers directly:
//!
//! ```
//! use async_patterns::factory::{Config, Device, Light, Registry};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
//! let registry: Registry<dyn Device> = Registry::new();
//! registry.register("light", async |config: Config| Light::connect(config).await).unwrap();
//! let lamp = registry.create("light", Config::new("desk")).await.unwrap();
//! assert_eq!(lamp.send("dim 30").await.unwrap(), "desk: light at 30%");
//!
//! let err = registry.create("kettle", Config::new("k")).await.err().unwrap();
//! assert_eq!(err.to_string(), r#"no constructor for kind "kettle"; known kinds: light"#);
//! # }
//! ```
//!
//! # Cost
//! Per creation: a read lock and an `Arc` clone to find the constructor, one boxed future (the
//! registry stores constructors of different types behind one `dyn Fn`), and the
//! `catch_unwind` wrapper. Well under a microsecond, against a connect of milliseconds.
//!
//! # Cancellation
//! Dropping a `create` future (or hitting the timeout) drops the constructor's future: the
//! half-made product is dropped, never returned. Nothing is spawned, so nothing is left behind.
//! Panics are caught only when the crate is built with `panic = "unwind"` (the default).

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use futures::future::BoxFuture;

use crate::basics::gather;
use crate::http::BoxError;
use crate::support::{catch_panic, catch_panic_now, lock, read, write};

/// Why the registry could not register a kind or make a product. Every variant names the kind.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FactoryError {
    /// No constructor is registered under this name.
    #[error("no constructor for kind {kind:?}; known kinds: {}", list(.known))]
    UnknownKind {
        /// The kind asked for.
        kind: String,
        /// The kinds that are registered, sorted.
        known: Vec<String>,
    },
    /// A constructor is already registered under this name; the first one is kept.
    #[error("a constructor for kind {kind:?} is already registered")]
    Duplicate {
        /// The kind registered twice.
        kind: String,
    },
    /// The constructor ran and returned an error.
    #[error("constructing a {kind:?} failed: {source}")]
    Failed {
        /// The kind being made.
        kind: String,
        /// What the constructor reported.
        #[source]
        source: BoxError,
    },
    /// The constructor panicked; the panic was caught.
    #[error("the constructor for {kind:?} panicked: {message}")]
    Panicked {
        /// The kind being made.
        kind: String,
        /// The panic message, when it had one.
        message: String,
    },
    /// The constructor did not finish within the registry's timeout; it was dropped.
    #[error("constructing a {kind:?} took longer than {after:?} and was abandoned")]
    TimedOut {
        /// The kind being made.
        kind: String,
        /// The timeout that expired.
        after: Duration,
    },
}

impl FactoryError {
    /// The kind this error is about.
    pub fn kind(&self) -> &str {
        match self {
            FactoryError::UnknownKind { kind, .. }
            | FactoryError::Duplicate { kind }
            | FactoryError::Failed { kind, .. }
            | FactoryError::Panicked { kind, .. }
            | FactoryError::TimedOut { kind, .. } => kind,
        }
    }
}

fn list(kinds: &[String]) -> String {
    if kinds.is_empty() {
        "none".to_owned()
    } else {
        kinds.join(", ")
    }
}

/// What a device constructor is given: a name for the device and free-form string options.
///
/// Options the built-in devices read: `latency_ms` (how long connecting takes) and
/// `offline = "true"` (the device does not answer; connecting fails).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// The device's name ("kitchen").
    pub name: String,
    /// Options by key.
    pub options: BTreeMap<String, String>,
}

impl Config {
    /// A config with a name and no options.
    pub fn new(name: impl Into<String>) -> Self {
        Config {
            name: name.into(),
            options: BTreeMap::new(),
        }
    }

    /// The same config with option `key` set to `value`.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.insert(key.into(), value.into());
        self
    }

    /// The value of option `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.options.get(key).map(String::as_str)
    }
}

type Ctor<P, C> = Arc<dyn Fn(C) -> BoxFuture<'static, Result<Box<P>, BoxError>> + Send + Sync>;

/// A registry of named async constructors of `P`, extended at run time.
///
/// All methods take `&self`, so one registry can be shared (`Arc<Registry<..>>`) between tasks
/// that register kinds and tasks that create products. The lock is held only to look up or
/// insert a constructor, never across an `.await`.
pub struct Registry<P: ?Sized, C = Config> {
    ctors: RwLock<BTreeMap<String, Ctor<P, C>>>,
    timeout: Option<Duration>,
}

impl<P: ?Sized + 'static, C: 'static> Registry<P, C> {
    /// An empty registry with no timeout.
    pub fn new() -> Self {
        Registry {
            ctors: RwLock::new(BTreeMap::new()),
            timeout: None,
        }
    }

    /// The same registry, abandoning any construction that takes longer than `timeout`.
    ///
    /// The timeout is a tokio timer, so `create` then needs a tokio runtime with its timer
    /// enabled (any `#[tokio::main]` or `#[tokio::test]`), as the built-in devices do anyway.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Register `ctor` as the way to make kind `kind`.
    ///
    /// `ctor` is any closure returning a `Send` future of `Result<T, E>`, where `T` converts
    /// into `Box<P>` (a `Box<P>` itself, or for `Registry<dyn Device>`, any device) and `E` is
    /// any error. An async closure `async |config| ...` that captures nothing by reference works.
    ///
    /// Registering a kind that is already registered is [`FactoryError::Duplicate`]; the first
    /// constructor stays.
    pub fn register<F, Fut, T, E>(
        &self,
        kind: impl Into<String>,
        ctor: F,
    ) -> Result<(), FactoryError>
    where
        F: Fn(C) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Into<Box<P>>,
        E: Into<BoxError>,
    {
        let kind = kind.into();
        let boxed: Ctor<P, C> = Arc::new(move |config| {
            let fut = ctor(config);
            // Stored constructors all have one type: the box hides each one's future type.
            Box::pin(async move { fut.await.map(Into::into).map_err(Into::into) })
        });
        let mut ctors = write(&self.ctors);
        if ctors.contains_key(&kind) {
            return Err(FactoryError::Duplicate { kind });
        }
        ctors.insert(kind, boxed);
        Ok(())
    }

    /// Remove kind `kind`; whether it was registered. Creations already running finish with
    /// the constructor they looked up.
    pub fn unregister(&self, kind: &str) -> bool {
        // The guard is a temporary, released at the `;`: the constructor (and whatever its
        // closure captured) is dropped after the lock, so a `Drop` that uses this registry
        // cannot deadlock on it.
        let removed = write(&self.ctors).remove(kind);
        removed.is_some()
    }

    /// The registered kinds, sorted.
    pub fn kinds(&self) -> Vec<String> {
        let ctors = read(&self.ctors);
        ctors.keys().cloned().collect()
    }

    /// Whether kind `kind` is registered.
    pub fn contains(&self, kind: &str) -> bool {
        let ctors = read(&self.ctors);
        ctors.contains_key(kind)
    }

    fn lookup(&self, kind: &str) -> Result<Ctor<P, C>, FactoryError> {
        let ctors = read(&self.ctors);
        match ctors.get(kind) {
            Some(ctor) => Ok(Arc::clone(ctor)),
            None => Err(FactoryError::UnknownKind {
                kind: kind.to_owned(),
                known: ctors.keys().cloned().collect(),
            }),
        }
    }

    /// Make a `kind` from `config`: look up its constructor, run it, await the product.
    ///
    /// Errors: [`FactoryError::UnknownKind`] (listing the known kinds),
    /// [`FactoryError::Failed`], [`FactoryError::Panicked`], [`FactoryError::TimedOut`].
    pub async fn create(&self, kind: &str, config: C) -> Result<Box<P>, FactoryError> {
        // The guard is dropped inside `lookup`: no lock is held while the constructor runs.
        let ctor = self.lookup(kind)?;
        let panicked = |message| FactoryError::Panicked {
            kind: kind.to_owned(),
            message,
        };
        // A constructor can panic while making its future, or while the future runs.
        let fut = catch_panic_now(|| ctor(config)).map_err(panicked)?;
        let guarded = catch_panic(fut);
        let outcome =
            match self.timeout {
                None => guarded.await,
                Some(after) => tokio::time::timeout(after, guarded).await.map_err(|_| {
                    FactoryError::TimedOut {
                        kind: kind.to_owned(),
                        after,
                    }
                })?,
            };
        match outcome {
            Ok(Ok(product)) => Ok(product),
            Ok(Err(source)) => Err(FactoryError::Failed {
                kind: kind.to_owned(),
                source,
            }),
            Err(message) => Err(panicked(message)),
        }
    }

    /// Make several products concurrently, at most `limit` at a time (`None`: all at once;
    /// `Some(0)` is taken as 1).
    ///
    /// One result per request, in request order; a failure costs only its own slot. Runs on
    /// the calling task (nothing is spawned), so dropping the future drops every construction
    /// still pending.
    pub async fn create_many<K, I>(
        &self,
        requests: I,
        limit: Option<usize>,
    ) -> Vec<Result<Box<P>, FactoryError>>
    where
        K: AsRef<str>,
        I: IntoIterator<Item = (K, C)>,
    {
        let calls: Vec<_> = requests
            .into_iter()
            .map(|(kind, config)| async move { self.create(kind.as_ref(), config).await })
            .collect();
        match limit {
            None => gather::all_at_once(calls).await,
            Some(limit) => gather::bounded(calls, limit).await,
        }
    }
}

impl<P: ?Sized + 'static, C: 'static> Default for Registry<P, C> {
    fn default() -> Self {
        Registry::new()
    }
}

impl<P: ?Sized + 'static, C: 'static> fmt::Debug for Registry<P, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("kinds", &self.kinds())
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Why a device could not connect, or refused a message. Every variant names the device.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// An option in the config has a value the device cannot use.
    #[error("device {device:?}: option {key}={value:?} is invalid: {reason}")]
    BadConfig {
        /// The device's name.
        device: String,
        /// The option.
        key: String,
        /// Its value.
        value: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The device did not answer the handshake.
    #[error("device {device:?} did not answer after {after:?}")]
    Unreachable {
        /// The device's name.
        device: String,
        /// How long we waited.
        after: Duration,
    },
    /// The device does not understand the message.
    #[error("device {device:?} ({kind}) does not understand {message:?}")]
    Unsupported {
        /// The device's name.
        device: String,
        /// The device's kind.
        kind: String,
        /// The message it was sent.
        message: String,
    },
}

/// A smart-home device: connected before use, then sent messages.
///
/// Implement it for a new kind of device, register an async constructor for it in a
/// `Registry<dyn Device>`, and the rest of the program can create it by name. With the
/// `testkit` feature, mockall generates `MockDevice` for it.
#[async_trait]
pub trait Device: Send + Sync {
    /// The device's name ("kitchen").
    fn name(&self) -> &str;

    /// The device's kind ("light").
    fn kind(&self) -> &str;

    /// Send a command; the device's answer, or why it refused.
    async fn send(&self, message: &str) -> Result<String, DeviceError>;
}

// A shared or borrowed device is a device. Not `Box<T>`: `Box<dyn Device>` would then be a
// `Device`, and the `From` impl below would collide with the standard `From<T> for T`.
crate::support::forward!(Arc, Ref => [] Device {
    fn name(&self) -> &str;
    fn kind(&self) -> &str;
    async fn send(&self, message: &str) -> Result<String, DeviceError>;
});

// Any device converts into the registry's product type, so a constructor can return
// `Result<Light, _>` instead of boxing by hand (the same trick as `Box<dyn Error>: From<E>`).
impl<D: Device + 'static> From<D> for Box<dyn Device> {
    fn from(device: D) -> Self {
        Box::new(device)
    }
}

/// The shared handshake: read `latency_ms`, wait that long, fail if `offline` is set.
/// Returns the round-trip time to use for messages (a tenth of the connect time).
async fn handshake(config: &Config, default_latency: Duration) -> Result<Duration, DeviceError> {
    let latency = match config.get("latency_ms") {
        None => default_latency,
        Some(value) => value
            .parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|e| DeviceError::BadConfig {
                device: config.name.clone(),
                key: "latency_ms".into(),
                value: value.to_owned(),
                reason: e.to_string(),
            })?,
    };
    tokio::time::sleep(latency).await;
    if config.get("offline") == Some("true") {
        return Err(DeviceError::Unreachable {
            device: config.name.clone(),
            after: latency,
        });
    }
    Ok(latency / 10)
}

fn unsupported(device: &dyn Device, message: &str) -> DeviceError {
    DeviceError::Unsupported {
        device: device.name().to_owned(),
        kind: device.kind().to_owned(),
        message: message.to_owned(),
    }
}

/// Parse a percentage 0..=100 from a message argument.
fn percent(arg: &str) -> Option<u8> {
    arg.trim().parse::<u8>().ok().filter(|p| *p <= 100)
}

/// A dimmable light. Messages: `on`, `off`, `dim N` (N in 0..=100).
#[derive(Debug)]
pub struct Light {
    name: String,
    rtt: Duration,
    // A std Mutex is right here: it is held for one assignment, never across an `.await`.
    level: Mutex<u8>,
}

impl Light {
    /// The kind name the light is registered under.
    pub const KIND: &'static str = "light";

    /// Connect to the light (50 ms unless `latency_ms` says otherwise). It starts off.
    pub async fn connect(config: Config) -> Result<Self, DeviceError> {
        let rtt = handshake(&config, Duration::from_millis(50)).await?;
        Ok(Light {
            name: config.name,
            rtt,
            level: Mutex::new(0),
        })
    }
}

#[async_trait]
impl Device for Light {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        Light::KIND
    }

    async fn send(&self, message: &str) -> Result<String, DeviceError> {
        let level = match message.trim() {
            "on" => 100,
            "off" => 0,
            other => match other.strip_prefix("dim ").and_then(percent) {
                Some(level) => level,
                None => return Err(unsupported(self, message)),
            },
        };
        tokio::time::sleep(self.rtt).await;
        *lock(&self.level) = level;
        Ok(match level {
            0 => format!("{}: light off", self.name),
            level => format!("{}: light at {level}%", self.name),
        })
    }
}

/// A speaker. Messages: `play TITLE`, `stop`, `volume N` (N in 0..=100).
#[derive(Debug)]
pub struct Speaker {
    name: String,
    rtt: Duration,
    volume: Mutex<u8>,
}

impl Speaker {
    /// The kind name the speaker is registered under.
    pub const KIND: &'static str = "speaker";

    /// Connect to the speaker (80 ms unless `latency_ms` says otherwise). Volume starts at 30.
    pub async fn connect(config: Config) -> Result<Self, DeviceError> {
        let rtt = handshake(&config, Duration::from_millis(80)).await?;
        Ok(Speaker {
            name: config.name,
            rtt,
            volume: Mutex::new(30),
        })
    }
}

#[async_trait]
impl Device for Speaker {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        Speaker::KIND
    }

    async fn send(&self, message: &str) -> Result<String, DeviceError> {
        let message = message.trim();
        if let Some(title) = message.strip_prefix("play ") {
            tokio::time::sleep(self.rtt).await;
            let volume = *lock(&self.volume);
            Ok(format!("{}: playing {title} at volume {volume}", self.name))
        } else if message == "stop" {
            tokio::time::sleep(self.rtt).await;
            Ok(format!("{}: stopped", self.name))
        } else if let Some(volume) = message.strip_prefix("volume ").and_then(percent) {
            tokio::time::sleep(self.rtt).await;
            *lock(&self.volume) = volume;
            Ok(format!("{}: volume {volume}", self.name))
        } else {
            Err(unsupported(self, message))
        }
    }
}

/// The talk's smart toilet. Messages: `flush`, `warm seat`. It counts its flushes.
#[derive(Debug)]
pub struct SmartToilet {
    name: String,
    rtt: Duration,
    flushes: Mutex<u32>,
}

impl SmartToilet {
    /// The kind name the toilet is registered under.
    pub const KIND: &'static str = "toilet";

    /// Connect to the toilet (150 ms unless `latency_ms` says otherwise: it has a lot to say).
    pub async fn connect(config: Config) -> Result<Self, DeviceError> {
        let rtt = handshake(&config, Duration::from_millis(150)).await?;
        Ok(SmartToilet {
            name: config.name,
            rtt,
            flushes: Mutex::new(0),
        })
    }
}

#[async_trait]
impl Device for SmartToilet {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        SmartToilet::KIND
    }

    async fn send(&self, message: &str) -> Result<String, DeviceError> {
        match message.trim() {
            "flush" => {
                tokio::time::sleep(self.rtt).await;
                let mut flushes = lock(&self.flushes);
                // Saturating: a counter must not be able to panic (debug) or wrap (release).
                *flushes = flushes.saturating_add(1);
                Ok(format!("{}: flushed ({} so far)", self.name, *flushes))
            }
            "warm seat" => {
                tokio::time::sleep(self.rtt).await;
                Ok(format!("{}: seat warming", self.name))
            }
            _ => Err(unsupported(self, message)),
        }
    }
}

/// A registry with the three built-in devices: `light`, `speaker` and `toilet`.
///
/// ```
/// use async_patterns::factory::{device_registry, Config};
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let home = device_registry();
/// assert_eq!(home.kinds(), ["light", "speaker", "toilet"]);
/// let toilet = home.create("toilet", Config::new("upstairs")).await.unwrap();
/// assert_eq!(toilet.send("flush").await.unwrap(), "upstairs: flushed (1 so far)");
/// # }
/// ```
pub fn device_registry() -> Registry<dyn Device> {
    let registry = Registry::new();
    // Three distinct names in an empty registry: these cannot be duplicates.
    let results = [
        registry.register(Light::KIND, Light::connect),
        registry.register(Speaker::KIND, Speaker::connect),
        registry.register(SmartToilet::KIND, SmartToilet::connect),
    ];
    debug_assert!(results.iter().all(Result::is_ok));
    registry
}

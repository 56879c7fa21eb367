//! Factory: construction that needs I/O, and a registry of named async constructors.
//!
//! A *factory* makes products whose concrete type the caller does not name: the caller says
//! "a light called kitchen" and gets a `Box<dyn Device>`. A *registry* of named constructors
//! makes the factory open: other code registers new kinds at run time without touching it.
//! When making a product means talking to it first (a device's handshake), the constructor
//! becomes async; the registry around it keeps its shape.
//!
//! # The two shapes, side by side
//! The classic sync shape on the left, the async shape on the right, both compiled (in
//! `shapes/`, with a test that they behave alike); what async changed is marked.
//!
#![doc = include_str!("shapes/side_by_side.html")]
//!
//! **What changed:** the stored constructor returns a `BoxFuture` (one type for every kind's
//! future) and `create` awaits it; the rest of the diff is `async`, `.await`, `#[async_trait]`,
//! and `Send + Sync` on `Device` and on the stored constructor. A registry is shared by tasks
//! that tokio runs on several worker threads and moves between them at an `.await`: its
//! constructors are called from any of those threads (`Send + Sync`), the future one returns
//! must be `Send` (a `BoxFuture` is), a device is used through `&self` from such tasks (`Sync`)
//! and handed from one to another (`Send`). The sync shape runs on one thread and needs none.
//!
//! <details><summary>The two shapes as code, to copy</summary>
//!
//! ```rust
#![doc = include_str!("shapes/sync_shape.rs")]
//! ```
//!
//! ```rust
#![doc = include_str!("shapes/async_shape.rs")]
//! ```
//!
//! </details>
//!
//! # What async adds
//! The real [`Registry`] keeps its constructors behind an `RwLock`, so kinds are registered
//! through `&self` while other tasks create products; `create` clones the constructor out of
//! the lock and awaits with no lock held, so a registration never waits for a slow handshake.
//!
//! * **Concurrent construction.** [`Registry::create_many`] makes several products at once,
//!   with an optional limit: five devices that take 100 ms each to connect are ready in about
//!   100 ms, not 500 ms. One result per request, in request order.
//! * **Timeouts.** A constructor can hang on a device that never answers;
//!   [`Registry::with_timeout`] bounds every construction ([`FactoryError::TimedOut`]).
//! * **Isolation.** A constructor that fails gives [`FactoryError::Failed`], naming the kind and
//!   carrying the cause; one that *panics* gives [`FactoryError::Panicked`], so one bad plugin
//!   cannot take down the code creating other devices.
//! * **Seen as it runs.** Each construction is a `construction` span named by its kind, inside a
//!   `create_many` span for a batch, with its outcome; `timing::TimelineLayer` draws them.
//!
//! It is also stricter than the sketch: registering a kind twice is [`FactoryError::Duplicate`],
//! not a silent overwrite, and an unknown kind's error lists the kinds that are known.
//!
//! # What it looks like
//! Six devices made by `create_many` three at a time, drawn from their spans on tokio's paused
//! clock (`tests/pictures`). At 50 ms the light's slot goes to the night light; at 80 ms the
//! speaker's and the night light's go to the garden speaker and the second toilet while the
//! first toilet runs on: 230 ms, the greedy schedule (`buffered(3)` would take 300 ms).
//!
#![doc = include_str!("pictures/create_many.svg")]
//!
//! # What it costs
//! Per creation: a read lock and an `Arc` clone to find the constructor, one boxed future, the
//! panic guard and the span (with nobody listening, its work runs bare: 36 instructions). About
//! 65 ns with a constructor that is ready at once (`benches/dispatch.rs`), against a connect of
//! milliseconds.
//!
//! # Cancellation
//! Dropping a `create` future (or hitting the timeout) drops the constructor's future: the
//! half-made product is dropped, never returned. Nothing is spawned, so nothing is left behind.
//! Panics are caught only when the crate is built with `panic = "unwind"` (the default).
//!
//! # Reading it
//! This file holds the trait, the [`Registry`] and all its methods. From [`Registry::create`]
//! to your constructor: `create` (its span), `construct`, `lookup`, then the closure that
//! [`Registry::register`] stored, which calls yours; [`Registry::create_many`] runs one
//! `create` per request. Errors are in `errors.rs`; [`Config`] in `config.rs`; the demo
//! devices ([`Light`], [`Speaker`], [`SmartToilet`]) and their hub ([`device_registry`]) in
//! `devices.rs`. The asyncio talk has the Factory with async methods; the smart toilet and the
//! device hub come from the earlier IoT talk.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use futures::future::BoxFuture;
use tracing::field::Empty;
use tracing::{Instrument, debug_span};

use crate::basics::gather;
use crate::support::{catch_panic, catch_panic_now, read, write};

mod config;
mod devices;
mod errors;
#[cfg(test)]
mod shapes;

pub use config::Config;
pub use devices::{Light, SmartToilet, Speaker, device_registry};
pub use errors::{DeviceError, FactoryError};

/// A boxed error that can cross threads: what a constructor's error becomes.
pub use crate::http::BoxError;

/// A smart-home device, the factory's product: connected before use, then sent messages.
///
/// Implement it for a new kind of device, register an async constructor for it in a
/// `Registry<dyn Device>`, and the rest of the program can create it by name. With the
/// `testkit` feature, `testkit::MockDevice` is its mockall mock.
#[async_trait]
pub trait Device: Send + Sync {
    /// The device's name ("kitchen").
    fn name(&self) -> &str;

    /// The device's kind ("light").
    fn kind(&self) -> &str;

    /// Send a command; the device's answer, or why it refused.
    async fn send(&self, message: &str) -> Result<String, DeviceError>;
}

// A shared or borrowed device is a device too, so an `Arc<dyn Device>` held by several tasks,
// or a `&device`, goes wherever a `Device` is expected. Each impl only forwards to the device
// it points to; `?Sized` lets that device be a `dyn Device`. Not `Box<T>`: `Box<dyn Device>`
// would then be a `Device`, and the `From` impl below would collide with the standard
// `From<T> for T`; a boxed device is used through `&*boxed`.
#[async_trait]
impl<T: Device + ?Sized> Device for Arc<T> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn kind(&self) -> &str {
        (**self).kind()
    }
    async fn send(&self, message: &str) -> Result<String, DeviceError> {
        (**self).send(message).await
    }
}

#[async_trait]
impl<T: Device + ?Sized> Device for &T {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn kind(&self) -> &str {
        (**self).kind()
    }
    async fn send(&self, message: &str) -> Result<String, DeviceError> {
        (**self).send(message).await
    }
}

// Any device converts into the registry's product type, so a constructor can return
// `Result<Light, _>` instead of boxing by hand (the same trick as `Box<dyn Error>: From<E>`).
impl<D: Device + 'static> From<D> for Box<dyn Device> {
    fn from(device: D) -> Self {
        Box::new(device)
    }
}

type Ctor<P, C> = Arc<dyn Fn(C) -> BoxFuture<'static, Result<Box<P>, BoxError>> + Send + Sync>;

/// A registry of named async constructors of `P`, extended at run time.
///
/// All methods take `&self`, so one registry can be shared (`Arc<Registry<..>>`) between tasks
/// that register kinds and tasks that create products. The lock is held only to look up or
/// insert a constructor, never across an `.await`.
///
/// `Registry<dyn Device>` is the smart home, but any product type works, sized or not, with any
/// config type (`Registry<P, C = Config>`). The config is passed by value, so a constructor's
/// future borrows nothing. A constructor is any closure returning a `Send` future, so an async
/// closure registers directly:
///
/// ```
/// use async_patterns::factory::{Config, Device, Light, Registry};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let registry: Registry<dyn Device> = Registry::new();
/// registry.register("light", async |config: Config| Light::connect(config).await).unwrap();
/// let lamp = registry.create("light", Config::new("desk")).await.unwrap();
/// assert_eq!(lamp.send("dim 30").await.unwrap(), "desk: light at 30%");
///
/// let err = registry.create("kettle", Config::new("k")).await.err().unwrap();
/// assert_eq!(err.to_string(), r#"no constructor for kind "kettle"; known kinds: light"#);
/// # }
/// ```
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

    /// Make a `kind` from `config`: look up its constructor, run it, await the product.
    ///
    /// Errors: [`FactoryError::UnknownKind`] (listing the known kinds),
    /// [`FactoryError::Failed`], [`FactoryError::Panicked`], [`FactoryError::TimedOut`].
    pub async fn create(&self, kind: &str, config: C) -> Result<Box<P>, FactoryError> {
        // Its span, named by its kind. Nobody listening (the span is disabled), the
        // construction runs bare: no wrapper to poll through, nothing to record.
        let span = debug_span!("construction", kind, outcome = Empty);
        if span.is_disabled() {
            return self.construct(kind, config).await;
        }
        let made = self.construct(kind, config).instrument(span.clone()).await;
        let outcome = match &made {
            Ok(_) => "ok",
            Err(FactoryError::TimedOut { .. }) => "timed out",
            Err(_) => "failed",
        };
        span.record("outcome", outcome);
        made
    }

    /// What `create` does inside its span.
    async fn construct(&self, kind: &str, config: C) -> Result<Box<P>, FactoryError> {
        // The guard is dropped inside `lookup`: no lock is held while the constructor runs.
        let ctor = self.lookup(kind)?;
        let panicked = |message| FactoryError::Panicked {
            kind: kind.to_owned(),
            message,
        };
        // Your constructor runs here, through the closure `register` stored. It can panic
        // while making its future, or while the future runs: both are this kind's error.
        let fut = catch_panic_now(|| ctor(config)).map_err(panicked)?;
        let guarded = catch_panic(fut);
        let outcome = match self.timeout {
            None => guarded.await,
            Some(after) => {
                // On time out, `timeout` drops the constructor's future: nothing half-made leaks.
                let timed_out = |_| FactoryError::TimedOut {
                    kind: kind.to_owned(),
                    after,
                };
                tokio::time::timeout(after, guarded)
                    .await
                    .map_err(timed_out)?
            }
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

    /// The constructor registered for `kind`, cloned out of the lock (the guard is dropped on
    /// return), or the error that lists the kinds there are.
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

    /// Make several products concurrently, at most `limit` at a time (`None`: all at once;
    /// `Some(0)` is taken as 1).
    ///
    /// One result per request, in request order; a failure, a panic or a timeout costs only
    /// its own slot. Each construction is one [`create`](Registry::create) future, run with
    /// [`gather::all_at_once`] or [`gather::bounded`]: six devices whose handshakes take 50 to
    /// 150 ms are ready in about 150 ms, the slowest, not the sum of all six.
    ///
    /// A limit costs more than the arithmetic suggests: two slots over light (50 ms), speaker
    /// (80 ms) and toilet (150 ms) end at 200 ms, not 140 ms, as the toilet waits for the
    /// light's slot. A slot is freed the moment its construction ends and the next request
    /// starts in it, even while one ahead still runs (only the results wait, to come back in
    /// order): the greedy schedule, drawn in the module's picture ([`gather::bounded`] says why
    /// not `buffered`, which keeps a finished construction's slot until those ahead are done).
    ///
    /// Nothing is spawned: the constructions run on the calling task, concurrently but not in
    /// parallel, which is what waiting on handshakes needs; dropping the future drops every
    /// construction still pending.
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
        // The batch's span, named by its limit (formatted only if someone listens).
        let all = "create_many, all at once";
        let span = match limit {
            None => debug_span!("create_many", batch = all, outcome = Empty),
            Some(n) => {
                let name = format_args!("create_many, limit {}", n.max(1));
                debug_span!("create_many", batch = %name, outcome = Empty)
            }
        };
        let made = match limit {
            None => gather::all_at_once(calls).instrument(span.clone()).await,
            Some(limit) => gather::bounded(calls, limit).instrument(span.clone()).await,
        };
        span.record("outcome", "ok");
        made
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

    /// Remove kind `kind`; whether it was registered. Creations already running finish with
    /// the constructor they looked up.
    pub fn unregister(&self, kind: &str) -> bool {
        // The guard is a temporary, released at the `;`: the constructor (and whatever its
        // closure captured) is dropped after the lock, so a `Drop` that uses this registry
        // cannot deadlock on it.
        let removed = write(&self.ctors).remove(kind);
        removed.is_some()
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

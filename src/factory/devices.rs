//! The demo devices: a light, a speaker and a smart toilet, and the hub that makes them by name.
//!
//! The smart toilet and the device hub ([`device_registry`]) come from the earlier IoT talk,
//! whose nested sequential/concurrent structure `pipeline::plan` retells; the asyncio talk has
//! the Factory pattern with async methods, not these devices.
//!
//! Nothing here touches a network: connecting is a `tokio::time::sleep` of the handshake's
//! latency, and each message then takes a round trip of a tenth of it.
//!
//! A device of your own is a struct, an async `connect` to register, and an `impl Device`
//! (`name`, `kind`, `send`). The three here are exactly that; because they differ only in
//! their state and their `send`, the `device!` macro below writes the common part once.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use super::{Config, Device, DeviceError, Registry};
use crate::support::lock;

/// What every built-in device keeps from its handshake: its name and a message's round trip.
#[derive(Debug)]
struct Link {
    name: String,
    rtt: Duration,
}

impl Link {
    /// The handshake: read `latency_ms`, wait that long, fail if `offline` is set. A message
    /// then takes a tenth of the connect time.
    async fn open(config: Config, default_latency: Duration) -> Result<Link, DeviceError> {
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
                device: config.name,
                after: latency,
            });
        }
        Ok(Link {
            name: config.name,
            rtt: latency / 10,
        })
    }

    /// One message's trip to the device and back.
    async fn round_trip(&self) {
        tokio::time::sleep(self.rtt).await;
    }
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

// Every built-in device is a `Link` and one piece of state behind a `Mutex`; only its kind, its
// handshake time, its state and its `send` differ. `device!` writes the rest once for all
// three: the struct, `KIND`, `connect` (the handshake, then the initial state), `name`, `kind`.
// A std `Mutex` is right for the state: it is held for one assignment, never across an `.await`.
macro_rules! device {
    (
        $(#[$doc:meta])*
        $ty:ident, kind $kind:literal, $ms:literal ms, $state:ident: $state_ty:ty = $init:expr;
        async fn send(&$self:ident, $message:ident: &str) $send:block
    ) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $ty {
            link: Link,
            $state: Mutex<$state_ty>,
        }

        impl $ty {
            #[doc = concat!("The kind name it is registered under: `", $kind, "`.")]
            pub const KIND: &'static str = $kind;

            #[doc = concat!("Connect: the handshake takes ", $ms, " ms unless `latency_ms`")]
            #[doc = "says otherwise; it fails ([`DeviceError::Unreachable`]) if `offline` is"]
            #[doc = "`true`."]
            pub async fn connect(config: Config) -> Result<Self, DeviceError> {
                let link = Link::open(config, Duration::from_millis($ms)).await?;
                let $state = Mutex::new($init);
                Ok($ty { link, $state })
            }
        }

        #[async_trait]
        impl Device for $ty {
            fn name(&self) -> &str {
                &self.link.name
            }

            fn kind(&self) -> &str {
                $ty::KIND
            }

            async fn send(&$self, $message: &str) -> Result<String, DeviceError> $send
        }
    };
}

device! {
    /// A dimmable light. Messages: `on`, `off`, `dim N` (N in 0..=100). It starts off.
    Light, kind "light", 50 ms, level: u8 = 0;
    async fn send(&self, message: &str) {
        let level = match message.trim() {
            "on" => 100,
            "off" => 0,
            other => match other.strip_prefix("dim ").and_then(percent) {
                Some(level) => level,
                None => return Err(unsupported(self, message)),
            },
        };
        self.link.round_trip().await;
        *lock(&self.level) = level;
        Ok(match level {
            0 => format!("{}: light off", self.link.name),
            level => format!("{}: light at {level}%", self.link.name),
        })
    }
}

device! {
    /// A speaker. Messages: `play TITLE`, `stop`, `volume N` (N in 0..=100). Its volume
    /// starts at 30.
    Speaker, kind "speaker", 80 ms, volume: u8 = 30;
    async fn send(&self, message: &str) {
        let name = &self.link.name;
        let message = message.trim();
        if let Some(title) = message.strip_prefix("play ") {
            self.link.round_trip().await;
            let volume = *lock(&self.volume);
            Ok(format!("{name}: playing {title} at volume {volume}"))
        } else if message == "stop" {
            self.link.round_trip().await;
            Ok(format!("{name}: stopped"))
        } else if let Some(volume) = message.strip_prefix("volume ").and_then(percent) {
            self.link.round_trip().await;
            *lock(&self.volume) = volume;
            Ok(format!("{name}: volume {volume}"))
        } else {
            Err(unsupported(self, message))
        }
    }
}

device! {
    /// The smart toilet of the earlier IoT talk. Messages: `flush`, `warm seat`. It counts its
    /// flushes, and its handshake is the slowest: it has a lot to say.
    SmartToilet, kind "toilet", 150 ms, flushes: u32 = 0;
    async fn send(&self, message: &str) {
        match message.trim() {
            "flush" => {
                self.link.round_trip().await;
                let mut flushes = lock(&self.flushes);
                // Saturating: a counter must not be able to panic (debug) or wrap (release).
                *flushes = flushes.saturating_add(1);
                Ok(format!("{}: flushed ({} so far)", self.link.name, *flushes))
            }
            "warm seat" => {
                self.link.round_trip().await;
                Ok(format!("{}: seat warming", self.link.name))
            }
            _ => Err(unsupported(self, message)),
        }
    }
}

/// The device hub: a registry with the three built-in devices, `light`, `speaker` and `toilet`.
///
/// The hub and the smart toilet come from the earlier IoT talk, not the asyncio talk.
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

//! The real example: a device hub as an actor. [`Hub`] owns devices made by the factory's
//! [`Registry`], connects each one the first time it is needed, and counts the messages each
//! was sent; [`HubHandle`] is its typed handle.
//!
//! The state's methods take `&mut self` and know nothing of tasks or channels: they are what a
//! single-threaded program would write. [`Actor::handle`] maps each [`HubCommand`] to one of
//! them, and [`HubHandle`] maps each of its methods to a command. Nothing here locks: the
//! devices belong to the hub's task alone.
//!
//! A command that connects a device waits for its handshake (50 to 150 ms for the built-in
//! devices), and every command behind it waits too: that is the price of one-at-a-time.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Actor, ActorError, Handle, Reply};
use crate::factory::{Config, Device, DeviceError, FactoryError, Registry};

/// What went wrong with a hub command. Every variant names the device, or the actor.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HubError {
    /// No device of that name was added to the hub.
    #[error("hub: no device named {name:?}; its devices: {}", known.join(", "))]
    UnknownDevice {
        /// The name asked for.
        name: String,
        /// The devices the hub has, sorted.
        known: Vec<String>,
    },
    /// A device of that name was already added; the first one stays.
    #[error("hub: a device named {name:?} is already added")]
    Duplicate {
        /// The name added twice.
        name: String,
    },
    /// The factory could not make (connect) the device.
    #[error("hub: connecting {name:?} failed: {source}")]
    Connect {
        /// The device.
        name: String,
        /// What the factory said.
        #[source]
        source: FactoryError,
    },
    /// The device refused the message.
    #[error("hub: {0}")]
    Device(#[from] DeviceError),
    /// The hub's actor refused the command, or could not answer it.
    #[error("hub: {0}")]
    Actor(#[from] ActorError),
}

/// One device as the hub sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Its name ("kitchen").
    pub name: String,
    /// Its kind ("light").
    pub kind: String,
    /// Whether it is connected yet.
    pub connected: bool,
    /// The messages it answered.
    pub sent: u64,
}

/// The hub's state: the devices it may connect, those it has connected, and their counts.
pub struct Hub {
    registry: Arc<Registry<dyn Device>>,
    added: BTreeMap<String, (String, Config)>,
    connected: BTreeMap<String, Box<dyn Device>>,
    sent: BTreeMap<String, u64>,
}

impl Hub {
    /// A hub with no devices, making them with `registry`.
    pub fn new(registry: Arc<Registry<dyn Device>>) -> Self {
        Hub {
            registry,
            added: BTreeMap::new(),
            connected: BTreeMap::new(),
            sent: BTreeMap::new(),
        }
    }

    /// The same hub with a device of `kind` added (a builder for [`Hub::add`]; a duplicate
    /// name is ignored, the first stays).
    pub fn with(mut self, kind: impl Into<String>, config: Config) -> Self {
        let _duplicate = self.add(kind.into(), config);
        self
    }

    /// Add a device of `kind`, named by its config; it connects the first time it is sent a
    /// message.
    pub fn add(&mut self, kind: String, config: Config) -> Result<(), HubError> {
        if self.added.contains_key(&config.name) {
            return Err(HubError::Duplicate { name: config.name });
        }
        self.added.insert(config.name.clone(), (kind, config));
        Ok(())
    }

    /// Send `message` to the device named `device`, connecting it first if need be.
    pub async fn send(&mut self, device: &str, message: &str) -> Result<String, HubError> {
        if !self.connected.contains_key(device) {
            let connected = self.connect(device).await?;
            self.connected.insert(device.to_owned(), connected);
        }
        let Some(connected) = self.connected.get(device) else {
            return Err(self.unknown(device));
        };
        let answer = connected.send(message).await?;
        match self.sent.get_mut(device) {
            Some(sent) => *sent += 1,
            None => drop(self.sent.insert(device.to_owned(), 1)),
        }
        Ok(answer)
    }

    async fn connect(&self, device: &str) -> Result<Box<dyn Device>, HubError> {
        let Some((kind, config)) = self.added.get(device) else {
            return Err(self.unknown(device));
        };
        let made = self.registry.create(kind, config.clone()).await;
        made.map_err(|source| HubError::Connect {
            name: device.to_owned(),
            source,
        })
    }

    fn unknown(&self, device: &str) -> HubError {
        HubError::UnknownDevice {
            name: device.to_owned(),
            known: self.added.keys().cloned().collect(),
        }
    }

    /// Every device added, by name.
    pub fn devices(&self) -> Vec<DeviceInfo> {
        let info = |(name, (kind, _)): (&String, &(String, Config))| DeviceInfo {
            name: name.clone(),
            kind: kind.clone(),
            connected: self.connected.contains_key(name),
            sent: self.sent.get(name).copied().unwrap_or(0),
        };
        self.added.iter().map(info).collect()
    }
}

/// A command to the hub: one variant per method of [`Hub`], each with its reply.
#[derive(Debug)]
#[non_exhaustive]
pub enum HubCommand {
    /// [`Hub::send`].
    Send {
        /// The device's name.
        device: String,
        /// The message.
        message: String,
        /// The device's answer, or why not.
        reply: Reply<Result<String, HubError>>,
    },
    /// [`Hub::add`].
    Add {
        /// The device's kind.
        kind: String,
        /// Its config (its name is the device's name).
        config: Config,
        /// Done, or a duplicate.
        reply: Reply<Result<(), HubError>>,
    },
    /// [`Hub::devices`].
    Devices {
        /// The devices.
        reply: Reply<Vec<DeviceInfo>>,
    },
}

impl Actor for Hub {
    type Command = HubCommand;

    async fn handle(&mut self, command: HubCommand) {
        // The whole actor is this match: one command, one method, one reply.
        match command {
            HubCommand::Send {
                device,
                message,
                reply,
            } => {
                reply.send(self.send(&device, &message).await);
            }
            HubCommand::Add {
                kind,
                config,
                reply,
            } => {
                reply.send(self.add(kind, config));
            }
            HubCommand::Devices { reply } => {
                reply.send(self.devices());
            }
        }
    }
}

/// The hub's handle: [`Hub`]'s methods, awaited. Clone it into every task that uses the hub.
///
/// ```
/// use std::sync::Arc;
/// use async_patterns::actor::{self, Hub, HubHandle};
/// use async_patterns::factory::{Config, device_registry};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let hub = Hub::new(Arc::new(device_registry())).with("light", Config::new("kitchen"));
/// let hub = HubHandle::from(actor::spawn("hub", 32, hub));
/// assert_eq!(hub.send("kitchen", "dim 40").await.unwrap(), "kitchen: light at 40%");
/// let err = hub.send("garage", "on").await.unwrap_err();
/// assert_eq!(err.to_string(), r#"hub: no device named "garage"; its devices: kitchen"#);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct HubHandle {
    actor: Handle<Hub>,
}

impl From<Handle<Hub>> for HubHandle {
    fn from(actor: Handle<Hub>) -> Self {
        HubHandle { actor }
    }
}

impl HubHandle {
    /// [`Hub::send`], through the actor.
    pub async fn send(&self, device: &str, message: &str) -> Result<String, HubError> {
        let (device, message) = (device.to_owned(), message.to_owned());
        let command = |reply| HubCommand::Send {
            device,
            message,
            reply,
        };
        self.actor.call(command).await?
    }

    /// [`Hub::add`], through the actor.
    pub async fn add(&self, kind: &str, config: Config) -> Result<(), HubError> {
        let kind = kind.to_owned();
        let command = |reply| HubCommand::Add {
            kind,
            config,
            reply,
        };
        self.actor.call(command).await?
    }

    /// [`Hub::devices`], through the actor.
    pub async fn devices(&self) -> Result<Vec<DeviceInfo>, HubError> {
        Ok(self
            .actor
            .call(|reply| HubCommand::Devices { reply })
            .await?)
    }

    /// The actor's handle: its mailbox ([`Handle::try_send`]), its stats, its status.
    pub fn actor(&self) -> &Handle<Hub> {
        &self.actor
    }
}

//! The factory's two error types: [`FactoryError`] (the registry could not make a product) and
//! [`DeviceError`] (a built-in device could not connect, or refused a message).
//!
//! A device's error reaches the caller of [`Registry::create`](super::Registry::create) as the
//! `source` of [`FactoryError::Failed`], so `downcast_ref::<DeviceError>()` recovers it.

use std::time::Duration;

use crate::http::BoxError;

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

//! [`Config`]: what a constructor is given. The registry's default config type
//! (`Registry<P, C = Config>`); a registry of another product can take any other type.

use std::collections::BTreeMap;

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

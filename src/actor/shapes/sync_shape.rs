use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The state: how many messages each device got.
#[derive(Default)]
pub struct Hub {
    sent: BTreeMap<String, u32>,
}

impl Hub {
    pub fn send(&mut self, device: &str, message: &str) -> String {
        let count = self.sent.entry(device.to_owned()).or_default();
        *count += 1;
        format!("{device}: {message} (message {count})")
    }

    pub fn sent(&self, device: &str) -> u32 {
        self.sent.get(device).copied().unwrap_or(0)
    }
}

/// The state is gone: a caller panicked while holding it.
#[derive(Debug, PartialEq)]
pub struct Gone;

/// The handle: every caller shares the state, one at a time, through the lock.
#[derive(Clone)]
pub struct HubHandle {
    hub: Arc<Mutex<Hub>>,
}

impl HubHandle {
    pub fn new(hub: Hub) -> Self {
        let hub = Arc::new(Mutex::new(hub));
        HubHandle { hub }
    }

    pub fn send(&self, device: &str, message: &str) -> Result<String, Gone> {
        let mut hub = self.hub.lock().map_err(|_| Gone)?;
        Ok(hub.send(device, message))
    }

    pub fn sent(&self, device: &str) -> Result<u32, Gone> {
        let hub = self.hub.lock().map_err(|_| Gone)?;
        Ok(hub.sent(device))
    }
}

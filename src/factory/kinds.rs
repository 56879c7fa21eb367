//! What a registry holds: the kinds it can make, whether it has one, removing one, and a
//! `Debug` that lists them.

use std::fmt;

use super::Registry;
use crate::support::{read, write};

impl<P: ?Sized + 'static, C: 'static> Registry<P, C> {
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

impl<P: ?Sized + 'static, C: 'static> fmt::Debug for Registry<P, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("kinds", &self.kinds())
            .field("timeout", &self.timeout)
            .finish()
    }
}

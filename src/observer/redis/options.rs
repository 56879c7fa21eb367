//! [`RedisOptions`]: the timeouts, batch sizes and limits of the Redis backends, each clamped to
//! a range where it means something (a zero batch reads one, a zero block waits a millisecond:
//! Redis reads `BLOCK 0` as "forever").

use std::time::Duration;

/// The most entries one read asks for (`COUNT`).
pub const MAX_BATCH: usize = 4096;

/// The most unacknowledged entries a worker may hold.
pub const MAX_UNACKED: usize = 1 << 16;

/// The largest entry a publisher sends or a subscriber decodes: Redis's own limit on a string.
pub const MAX_ENTRY_BYTES: usize = 512 * 1024 * 1024;

/// The longest any duration here is taken to be (a day): Redis takes milliseconds as integers,
/// and nothing in a test or a service should wait longer for one command.
const LONGEST: Duration = Duration::from_secs(24 * 60 * 60);

/// How a Redis publisher, subscriber or worker talks to Redis.
///
/// ```
/// use std::time::Duration;
/// use async_patterns::observer::redis::RedisOptions;
///
/// let options = RedisOptions::default()
///     .batch(128)                                  // COUNT of each read
///     .claim_idle(Duration::from_millis(200))      // take a dead consumer's entries after this
///     .max_entry_bytes(64 * 1024);
/// assert_eq!(options.batch_len(), 128);
/// assert_eq!(RedisOptions::default().batch(0).batch_len(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct RedisOptions {
    timeout: Duration,
    block: Duration,
    batch: usize,
    claim_idle: Duration,
    max_attempts: u64,
    max_entry_bytes: usize,
    max_unacked: usize,
    drain: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            timeout: Duration::from_secs(2),
            block: Duration::from_millis(100),
            batch: 16,
            claim_idle: Duration::from_secs(30),
            max_attempts: 5,
            max_entry_bytes: 1024 * 1024,
            max_unacked: 64,
            drain: Duration::from_secs(5),
        }
    }
}

impl RedisOptions {
    /// How long one command may take (besides a read's block time) before it fails with
    /// [`RemoteError::TimedOut`](super::RemoteError::TimedOut); at least 1 ms. Default 2 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = clamp(timeout);
        self
    }

    /// How long a read waits for new entries (`BLOCK`) before it returns with none; at least
    /// 1 ms. Default 100 ms: also how soon a worker notices a shutdown.
    pub fn block(mut self, block: Duration) -> Self {
        self.block = clamp(block);
        self
    }

    /// How many entries one read asks for (`COUNT`), 1 to [`MAX_BATCH`]. Default 16.
    pub fn batch(mut self, entries: usize) -> Self {
        self.batch = entries.clamp(1, MAX_BATCH);
        self
    }

    /// How long an entry stays unacknowledged before another consumer of the group claims it
    /// (`XAUTOCLAIM`'s min-idle-time); at least 1 ms. Default 30 s: longer than any one entry
    /// takes, or a slow consumer's entries are taken from it while it works.
    pub fn claim_idle(mut self, idle: Duration) -> Self {
        self.claim_idle = clamp(idle);
        self
    }

    /// How many times an entry is tried (delivered, or run through a pipeline) before it goes to
    /// the dead-letter stream; at least 1. Default 5.
    pub fn max_attempts(mut self, attempts: u64) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The largest event published or decoded, in bytes of JSON, 1 to [`MAX_ENTRY_BYTES`].
    /// Default 1 MiB.
    pub fn max_entry_bytes(mut self, bytes: usize) -> Self {
        self.max_entry_bytes = bytes.clamp(1, MAX_ENTRY_BYTES);
        self
    }

    /// The most entries a pipeline worker holds unacknowledged, 1 to [`MAX_UNACKED`]. Default 64.
    pub fn max_unacked(mut self, entries: usize) -> Self {
        self.max_unacked = entries.clamp(1, MAX_UNACKED);
        self
    }

    /// How long a worker shutting down waits for the entries in flight to finish before it
    /// hands the rest back to the group. Default 5 s.
    pub fn drain(mut self, drain: Duration) -> Self {
        self.drain = clamp(drain);
        self
    }

    /// The command timeout.
    pub fn timeout_len(&self) -> Duration {
        self.timeout
    }

    /// The read's block time.
    pub fn block_len(&self) -> Duration {
        self.block
    }

    /// The entries asked for per read.
    pub fn batch_len(&self) -> usize {
        self.batch
    }

    /// The idle time after which an entry is claimed.
    pub fn claim_idle_len(&self) -> Duration {
        self.claim_idle
    }

    /// The attempts before an entry is dead-lettered.
    pub fn attempts(&self) -> u64 {
        self.max_attempts
    }

    /// The largest event, in bytes.
    pub fn entry_bytes(&self) -> usize {
        self.max_entry_bytes
    }

    /// The most entries a worker holds unacknowledged.
    pub fn unacked(&self) -> usize {
        self.max_unacked
    }

    /// The drain limit of a graceful shutdown.
    pub fn drain_len(&self) -> Duration {
        self.drain
    }
}

/// `d` between 1 ms and a day.
fn clamp(d: Duration) -> Duration {
    d.clamp(Duration::from_millis(1), LONGEST)
}

/// `d` in whole milliseconds, as Redis takes them (at least 1: `BLOCK 0` means forever).
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_numbers_are_clamped() {
        let o = RedisOptions::default()
            .block(Duration::ZERO)
            .timeout(Duration::MAX)
            .batch(usize::MAX)
            .max_attempts(0)
            .max_entry_bytes(0)
            .max_unacked(0);
        assert_eq!(millis(o.block_len()), 1);
        assert_eq!(o.timeout_len(), LONGEST);
        assert_eq!((o.batch_len(), o.attempts()), (MAX_BATCH, 1));
        assert_eq!((o.entry_bytes(), o.unacked()), (1, 1));
        assert_eq!(millis(Duration::MAX), u64::MAX);
    }
}

//! Actor: replies exactly once, back-pressure on the paused clock, panics and supervision,
//! graceful shutdown with its deadline, no task left behind, the hub, the bridges, and the
//! property that every accepted command is answered exactly once.
//!
//! One test binary, a module per topic: `mailbox` (order, back-pressure, capacity), `failure`
//! (panics, lost replies, supervision), `shutdown` (drain, deadline, what is left alive), `hub`
//! (the real example and the bridges), `property` (every accepted command answered once). The
//! test actor, [`Ledger`], is here.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_patterns::actor::{Actor, Handle, Pending, Reply};
use tokio::time::sleep;

mod failure;
mod hangs;
mod hub;
mod mailbox;
mod property;
mod shutdown;
mod spans;

/// A test under `within_paused` that has not finished after this much real time hangs.
pub const LIMIT: Duration = Duration::from_secs(10);

/// `n` milliseconds.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A test actor: records each id it handles, after `work` of (virtual) time; panics on `Boom`.
pub struct Ledger {
    work: Duration,
    done: Arc<Mutex<Vec<u64>>>,
}

/// The ledger's commands.
pub enum Entry {
    Record(u64, Reply<u64>),
    Boom(Reply<u64>),
    /// Answers with how many ids this instance recorded: a fresh one after a restart says 0.
    Count(Reply<usize>),
    /// Drops its reply without answering: a handler's bug.
    Forget(Reply<u64>),
}

impl Ledger {
    pub fn new(work: Duration) -> (Self, Arc<Mutex<Vec<u64>>>) {
        let done = Arc::new(Mutex::new(Vec::new()));
        let done_too = Arc::clone(&done);
        (Ledger { work, done }, done_too)
    }

    fn recorded(&self) -> Vec<u64> {
        self.done.lock().map(|d| d.clone()).unwrap_or_default()
    }
}

impl Actor for Ledger {
    type Command = Entry;

    async fn handle(&mut self, command: Entry) {
        match command {
            Entry::Record(id, reply) => {
                sleep(self.work).await;
                // Recorded and answered with no `.await` between: a cut-off command is neither.
                self.done.lock().expect("ledger lock").push(id);
                reply.send(id);
            }
            Entry::Boom(_reply) => panic!("boom in the ledger"),
            Entry::Count(reply) => {
                reply.send(self.recorded().len());
            }
            Entry::Forget(reply) => drop(reply),
        }
    }
}

/// The command that records `id`.
pub fn record(id: u64) -> impl FnOnce(Reply<u64>) -> Entry {
    move |reply| Entry::Record(id, reply)
}

/// Send the commands recording `ids`, each with `try_send`, and return their answers to await.
pub fn queue(handle: &Handle<Ledger>, ids: std::ops::Range<u64>) -> Vec<Pending<u64>> {
    ids.map(|id| handle.try_send(record(id)).expect("room in the mailbox"))
        .collect()
}

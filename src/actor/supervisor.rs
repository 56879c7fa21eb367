//! Supervision: when a command panics, start the actor afresh, at most so many times in a
//! window, then give up and say why.
//!
//! A panic leaves the state it was changing half-changed, so a supervisor does not try to
//! repair it: it drops it and builds a new one with the factory it was given ("let it crash").
//! The mailbox survives the restart: commands queued behind the one that panicked are handled
//! by the fresh state. When the policy's budget is spent, the actor stops with
//! [`StopReason::GaveUp`], and every queued and later command gets that reason.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;
use tracing::debug;

use super::{Actor, Handle, StopReason, launch, start};
use crate::support::catch_panic_now;

/// How often a supervisor restarts an actor: at most `max_restarts` within any `within`.
///
/// ```
/// use std::time::Duration;
/// use async_patterns::actor::RestartPolicy;
///
/// let policy = RestartPolicy::at_most(3).within(Duration::from_secs(10));
/// assert_eq!((policy.max_restarts(), policy.window()), (3, Duration::from_secs(10)));
/// assert_eq!(RestartPolicy::never().max_restarts(), 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartPolicy {
    max_restarts: u32,
    within: Duration,
}

impl RestartPolicy {
    /// At most `max_restarts` restarts within one second (change the window with
    /// [`within`](RestartPolicy::within)).
    pub fn at_most(max_restarts: u32) -> Self {
        RestartPolicy {
            max_restarts,
            within: Duration::from_secs(1),
        }
    }

    /// No restart: the first panic stops the actor.
    pub fn never() -> Self {
        RestartPolicy::at_most(0)
    }

    /// The same policy, counting restarts over a window of `within`.
    pub fn within(mut self, within: Duration) -> Self {
        self.within = within;
        self
    }

    /// The most restarts within the window.
    pub fn max_restarts(&self) -> u32 {
        self.max_restarts
    }

    /// The window restarts are counted over.
    pub fn window(&self) -> Duration {
        self.within
    }
}

/// A factory of fresh actors, boxed so the task's type does not depend on it.
type Factory<A> = Box<dyn FnMut() -> A + Send>;

/// The task's side of supervision: the policy, the factory, and the recent restarts.
pub(super) struct Restarts<A> {
    factory: Option<Factory<A>>,
    policy: RestartPolicy,
    recent: VecDeque<Instant>,
}

impl<A: Actor> Restarts<A> {
    /// No supervisor: the first panic stops the actor.
    pub(super) fn none() -> Self {
        Restarts {
            factory: None,
            policy: RestartPolicy::never(),
            recent: VecDeque::new(),
        }
    }

    /// The first actor, made now, and the supervision that makes the next ones.
    pub(super) fn first(
        policy: RestartPolicy,
        mut factory: impl FnMut() -> A + Send + 'static,
    ) -> (A, Self) {
        let first = factory();
        let restarts = Restarts {
            factory: Some(Box::new(factory)),
            policy,
            recent: VecDeque::new(),
        };
        (first, restarts)
    }

    /// A command panicked with `message`: a fresh actor if the policy allows one more restart,
    /// else why the actor stops. Called in the command's span: the restart, or giving up, is
    /// an event in it.
    pub(super) fn after_panic(&mut self, message: String) -> Result<A, StopReason> {
        let Some(factory) = &mut self.factory else {
            return Err(StopReason::Panicked { message });
        };
        // Forget the restarts that have left the window; what remains is the budget spent.
        let now = Instant::now();
        while let Some(first) = self.recent.front() {
            if now.duration_since(*first) < self.policy.within {
                break;
            }
            self.recent.pop_front();
        }
        let spent = u32::try_from(self.recent.len()).unwrap_or(u32::MAX);
        let (max, within) = (self.policy.max_restarts, self.policy.within);
        if spent >= max {
            debug!("gave up: {spent} restarts within {within:?}");
            return Err(StopReason::GaveUp {
                restarts: spent,
                within: self.policy.within,
                last_panic: message,
            });
        }
        self.recent.push_back(now);
        debug!("restarted ({} of {max} within {within:?})", spent + 1);
        // The factory is user code too: if it panics, the actor cannot be restarted.
        catch_panic_now(factory).map_err(|again| StopReason::Panicked {
            message: format!("{message}; then restarting it panicked too: {again}"),
        })
    }
}

/// Spawn `make()` as an actor named `name` on the current tokio runtime, restarted with a fresh
/// `make()` after a panic, as `policy` allows. Otherwise as [`spawn`](super::spawn).
///
/// The caller of the command that panicked gets [`ActorError::Panicked`](super::ActorError);
/// the commands queued behind it are handled by the fresh actor. [`Handle::status`] counts the
/// restarts; once the policy gives up, the status, every queued command and every later one
/// say so with [`StopReason::GaveUp`].
///
/// `make()` is called once here, for the first actor: if it panics, so does this (it is the
/// caller's own code, on the caller's stack). Outside a runtime, as [`spawn`](super::spawn).
pub fn supervise<A: Actor>(
    name: impl Into<String>,
    capacity: usize,
    policy: RestartPolicy,
    make: impl FnMut() -> A + Send + 'static,
) -> Handle<A> {
    let (first, restarts) = Restarts::first(policy, make);
    let (handle, task) = start(name.into(), capacity, first, restarts);
    launch(&handle, task, None);
    handle
}

//! The actor's two error types: [`ActorError`] (a command was refused, or its reply can never
//! come, and why) and [`StopReason`] (why an actor stopped for good). The hub's own error,
//! [`HubError`](super::HubError), is in `hub.rs`, next to the hub.
//!
//! Every `ActorError` names the actor. The first three variants are refusals at the door: the
//! command was never accepted, so it never ran. The others reach a caller whose command was
//! accepted and then could not be answered by its handler.

use std::time::Duration;

/// Why an actor stopped taking commands for good. Callers see it in [`ActorError::Stopped`];
/// the owner sees it in [`Status::Stopped`](super::Status::Stopped) and from
/// [`Handle::stopped`](super::Handle::stopped).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StopReason {
    /// It was shut down: by its handle, by its [`ActorSystem`](super::ActorSystem) (shut down or
    /// dropped), or because every handle was dropped. It answered every command it had
    /// accepted, except those a shutdown deadline cut off: their callers got
    /// [`ActorError::Abandoned`], and [`ActorStats::refused`](super::ActorStats) counts them.
    #[error("it was shut down")]
    ShutDown,
    /// A command panicked and no supervisor restarts it.
    #[error("a command panicked and no supervisor restarts it: {message}")]
    Panicked {
        /// The panic message, when it had one.
        message: String,
    },
    /// Its supervisor gave up: the restart policy allows no more restarts within its window.
    #[error(
        "its supervisor gave up: {restarts} restarts within {within:?} is the most its policy \
         allows; the last panic: {last_panic}"
    )]
    GaveUp {
        /// The restarts made within the window.
        restarts: u32,
        /// The policy's window.
        within: Duration,
        /// The panic that the supervisor did not restart from.
        last_panic: String,
    },
    /// Its task was dropped unfinished: the runtime it ran on was shut down or dropped. The
    /// commands it had accepted and not answered (the one in hand too) get this reason.
    #[error("its task is gone (the runtime it ran on was shut down)")]
    Gone,
    /// It never started: it was spawned outside a tokio runtime.
    #[error("it never started: it was spawned outside a tokio runtime")]
    NoRuntime,
}

/// Why a command got no answer from its handler: refused at the door, or accepted and then
/// failed. Every variant names the actor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ActorError {
    /// Refused at the door: the mailbox was full ([`Handle::try_send`](super::Handle::try_send)
    /// only; [`Handle::send`](super::Handle::send) waits for room instead).
    #[error(
        "actor {actor:?}: the mailbox is full ({capacity} commands waiting); retry, or send and wait"
    )]
    Full {
        /// The actor.
        actor: String,
        /// Its mailbox's capacity.
        capacity: usize,
    },
    /// Refused at the door: the actor is shutting down (or has shut down) and takes no new
    /// commands. A command accepted before is still answered.
    #[error("actor {actor:?} is shutting down and takes no new commands")]
    ShuttingDown {
        /// The actor.
        actor: String,
    },
    /// Refused at the door, or accepted and then refused: the actor has stopped for `reason`.
    #[error("actor {actor:?} has stopped: {reason}")]
    Stopped {
        /// The actor.
        actor: String,
        /// Why it stopped.
        reason: StopReason,
    },
    /// The handler panicked on this command. A supervised actor has been restarted and takes
    /// the next command; an unsupervised one has stopped.
    #[error("actor {actor:?} panicked handling this command: {message}")]
    Panicked {
        /// The actor.
        actor: String,
        /// The panic message, when it had one.
        message: String,
    },
    /// Accepted, but the shutdown deadline passed before the actor answered: the command was
    /// dropped where it stood (it may have partly run, up to an `.await`) or never started.
    #[error(
        "actor {actor:?} had not answered this command when the {deadline:?} shutdown deadline passed"
    )]
    Abandoned {
        /// The actor.
        actor: String,
        /// The deadline that passed: zero when the [`ActorSystem`](super::ActorSystem) was
        /// dropped without a shutdown.
        deadline: Duration,
    },
    /// The handler dropped the command's reply without answering it: a bug in the handler.
    #[error(
        "actor {actor:?} dropped this command's reply without answering (a bug in its handler)"
    )]
    NoReply {
        /// The actor.
        actor: String,
    },
    /// The reply was dropped by a panic outside the actor's handler: in a task or a thread the
    /// handler had moved it into. That panic's message went to whoever awaits that task; the
    /// actor itself goes on.
    #[error(
        "actor {actor:?}: this command's reply was dropped by a panic outside its handler (in a \
         task or thread the handler gave it to); the actor goes on"
    )]
    LostInPanic {
        /// The actor.
        actor: String,
    },
}

impl ActorError {
    /// The actor this error is about.
    pub fn actor(&self) -> &str {
        match self {
            ActorError::Full { actor, .. }
            | ActorError::ShuttingDown { actor }
            | ActorError::Stopped { actor, .. }
            | ActorError::Panicked { actor, .. }
            | ActorError::Abandoned { actor, .. }
            | ActorError::NoReply { actor }
            | ActorError::LostInPanic { actor } => actor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_message_names_the_actor_and_the_cause() {
        let gave_up = ActorError::Stopped {
            actor: "hub".into(),
            reason: StopReason::GaveUp {
                restarts: 3,
                within: Duration::from_secs(1),
                last_panic: "bad state".into(),
            },
        };
        assert_eq!(
            gave_up.to_string(),
            "actor \"hub\" has stopped: its supervisor gave up: 3 restarts within 1s is the \
             most its policy allows; the last panic: bad state"
        );
        let full = ActorError::Full {
            actor: "hub".into(),
            capacity: 8,
        };
        assert!(full.to_string().contains("(8 commands waiting)"), "{full}");
        assert_eq!(gave_up.actor(), "hub");
    }
}

//! Actors and the other patterns: [`ToActor`], an [`Observer`] that forwards each event to an
//! actor, and a pipeline [`Stage`] that hands each item to one.
//!
//! It is a closure that builds the command around its reply, and one [`Handle::call`]. The
//! answer is a `Result`: a refusal by the actor and an error in the answer both become the
//! observer's or the stage's error.

use std::marker::PhantomData;

use async_trait::async_trait;

use super::{Actor, Handle, Reply};
use crate::http::BoxError;
use crate::observer::Observer;
use crate::pipeline::stream::Stage;

/// An observer, or a pipeline stage, whose work is done by an actor: each event (by
/// reference) or item (by value) becomes the command that `command` builds around its reply.
///
/// As an [`Observer`], a smart-home event becomes a message to the hub:
///
/// ```
/// use std::sync::Arc;
/// use async_patterns::actor::{self, Hub, HubCommand, ToActor};
/// use async_patterns::factory::{Config, device_registry};
/// use async_patterns::observer::Subject;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let hub = Hub::new(Arc::new(device_registry())).with("light", Config::new("hallway"));
/// let hub = actor::spawn("hub", 8, hub);
/// let motion = Subject::<&'static str>::new();
/// let _lights = motion.subscribe(ToActor::new(hub.clone(), |room: &&str, reply| {
///     HubCommand::Send { device: room.to_string(), message: "on".into(), reply }
/// }));
/// assert!(motion.notify(&"hallway").await.all_delivered());
/// assert!(!motion.notify(&"cellar").await.all_delivered()); // the hub has no cellar
/// # }
/// ```
///
/// As a [`Stage`], the actor's answers are the stage's outputs. The actor takes one command at
/// a time, so the stage's concurrency only fills its mailbox; several items in flight still
/// overlap their trips to and from it.
///
/// ```
/// use std::sync::Arc;
/// use async_patterns::actor::{self, Hub, HubCommand, ToActor};
/// use async_patterns::factory::{Config, device_registry};
/// use async_patterns::pipeline::stream::{Pipeline, StageOptions};
/// use futures::StreamExt;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let hub = Hub::new(Arc::new(device_registry())).with("speaker", Config::new("den"));
/// let hub = actor::spawn("hub", 8, hub);
/// let to_hub = ToActor::new(hub, |message: String, reply| HubCommand::Send {
///     device: "den".into(), message, reply,
/// });
/// let answers: Vec<_> = Pipeline::from_iter(["volume 20", "play jazz"].map(String::from))
///     .stage("hub", StageOptions::ordered(2), to_hub)
///     .into_stream()
///     .collect()
///     .await;
/// assert_eq!(answers[1].as_ref().unwrap(), "den: playing jazz at volume 20");
/// # }
/// ```
pub struct ToActor<A: Actor, F, R> {
    handle: Handle<A>,
    command: F,
    answer: PhantomData<fn() -> R>,
}

impl<A: Actor, F, R> ToActor<A, F, R> {
    /// Forward each event or item to the actor behind `handle`, as the command `command`
    /// builds.
    pub fn new(handle: Handle<A>, command: F) -> Self {
        let answer = PhantomData;
        ToActor {
            handle,
            command,
            answer,
        }
    }
}

#[async_trait]
impl<E, A, F, T, X> Observer<E> for ToActor<A, F, Result<T, X>>
where
    E: Send + Sync + 'static,
    A: Actor,
    F: Fn(&E, Reply<Result<T, X>>) -> A::Command + Send + Sync,
    T: Send + 'static,
    X: Into<BoxError> + Send + 'static,
{
    async fn notify(&self, event: &E) -> Result<(), BoxError> {
        let answer = self
            .handle
            .call(|reply| (self.command)(event, reply))
            .await?;
        answer.map(drop).map_err(Into::into)
    }
}

#[async_trait]
impl<I, O, A, F, X> Stage<I, O> for ToActor<A, F, Result<O, X>>
where
    I: Send + 'static,
    O: Send + 'static,
    A: Actor,
    F: Fn(I, Reply<Result<O, X>>) -> A::Command + Send + Sync,
    X: Into<BoxError> + Send + 'static,
{
    async fn process(&self, input: I) -> Result<O, BoxError> {
        let answer = self
            .handle
            .call(|reply| (self.command)(input, reply))
            .await?;
        answer.map_err(Into::into)
    }
}

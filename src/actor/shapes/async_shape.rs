use std::collections::BTreeMap;
use std::future::Future;
use tokio::sync::{mpsc, oneshot};

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

/// The state is gone: its task panicked.
#[derive(Debug, PartialEq)]
pub struct Gone;

/// The handle: every caller sends the task commands, and awaits the answers.
#[derive(Clone)]
pub struct HubHandle {
    mailbox: mpsc::Sender<Command>,
}

impl HubHandle {
    pub fn new(hub: Hub) -> Self {
        let (mailbox, inbox) = mpsc::channel(32);
        tokio::spawn(run(hub, inbox));
        HubHandle { mailbox }
    }

    pub async fn send(&self, device: &str, message: &str) -> Result<String, Gone> {
        let (device, message) = (device.to_owned(), message.to_owned());
        let (reply, answer) = oneshot::channel();
        let command = Command::Send {
            device,
            message,
            reply,
        };
        self.mailbox.send(command).await.map_err(|_| Gone)?;
        answer.await.map_err(|_| Gone)
    }

    pub async fn sent(&self, device: &str) -> Result<u32, Gone> {
        let device = device.to_owned();
        let (reply, answer) = oneshot::channel();
        let command = Command::Sent { device, reply };
        self.mailbox.send(command).await.map_err(|_| Gone)?;
        answer.await.map_err(|_| Gone)
    }
}

/// The lock's replacement: a command per method, each with the channel its answer comes back on.
pub enum Command {
    Send {
        device: String,
        message: String,
        reply: oneshot::Sender<String>,
    },
    Sent {
        device: String,
        reply: oneshot::Sender<u32>,
    },
}

/// The task that owns the state: one command at a time, in arrival order. It may run on any
/// worker thread and outlive the call that spawned it, so its future is `Send + 'static`, and
/// so are the state and every command it holds.
#[allow(clippy::manual_async_fn, reason = "the signature is the lesson")]
fn run(
    mut hub: Hub,
    mut inbox: mpsc::Receiver<Command>,
) -> impl Future<Output = ()> + Send + 'static {
    async move {
        while let Some(command) = inbox.recv().await {
            match command {
                Command::Send {
                    device,
                    message,
                    reply,
                } => {
                    let _ = reply.send(hub.send(&device, &message));
                }
                Command::Sent { device, reply } => {
                    let _ = reply.send(hub.sent(&device));
                }
            }
        }
    }
}

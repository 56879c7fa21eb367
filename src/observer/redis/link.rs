//! [`Link`]: one connection to Redis that reconnects when it breaks and never waits past its
//! timeout.
//!
//! The `redis` crate's multiplexed connection does not come back after the server restarts.
//! A link keeps one, drops it at the first sign of trouble (a broken pipe, a timeout), and
//! connects again at the next command, so a server that restarts costs the commands sent while
//! it was down (each a typed error) and nothing after. Every command is wrapped in
//! `tokio::time::timeout`, so no call waits longer than its block time plus the timeout.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, FromRedisValue};

use super::RemoteError;

/// One connection to Redis, made when first needed and again after it breaks.
pub(crate) struct Link {
    client: Client,
    connection: Option<MultiplexedConnection>,
    timeout: Duration,
}

/// A request: one command, or several sent in one trip (a `MULTI`/`EXEC` transaction, all or
/// none, if the pipeline is `atomic`).
#[derive(Clone, Copy)]
pub(crate) enum Request<'a> {
    One(&'a redis::Cmd),
    Many(&'a redis::Pipeline),
}

/// What a command is, for its errors: its name, its key, and the group it reads, if any.
#[derive(Clone, Copy)]
pub(crate) struct Call<'a> {
    pub(crate) command: &'static str,
    pub(crate) key: &'a str,
    pub(crate) group: Option<&'a str>,
}

impl Link {
    /// A link to `client`'s server whose commands time out after `timeout` (plus their block).
    pub(crate) fn new(client: Client, timeout: Duration) -> Link {
        Link {
            client,
            connection: None,
            timeout,
        }
    }

    /// Run `request`, waiting at most `block` (how long the command itself may block, as
    /// `XREADGROUP`'s `BLOCK`) plus the timeout.
    pub(crate) async fn run<T: FromRedisValue>(
        &mut self,
        request: Request<'_>,
        call: Call<'_>,
        block: Duration,
    ) -> Result<T, RemoteError> {
        // A clone of a multiplexed connection is a handle to the same socket: cheap.
        let mut connection = match &self.connection {
            Some(connection) => connection.clone(),
            None => {
                let connection = self.connect(call.command).await?;
                self.connection.insert(connection).clone()
            }
        };
        let limit = self.timeout.saturating_add(block);
        let query = async {
            match request {
                Request::One(cmd) => cmd.query_async(&mut connection).await,
                Request::Many(pipe) => pipe.query_async(&mut connection).await,
            }
        };
        let error = match tokio::time::timeout(limit, query).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) => RemoteError::of(call.command, call.key, call.group, error),
            Err(_elapsed) => RemoteError::TimedOut {
                command: call.command,
                key: call.key.to_owned(),
                after: limit,
            },
        };
        // A broken or silent connection is dropped: the next command connects again.
        if error.is_transient() {
            self.connection = None;
        }
        Err(error)
    }

    /// A new connection, within the timeout.
    async fn connect(&self, command: &'static str) -> Result<MultiplexedConnection, RemoteError> {
        // Our own timeouts bound every call; the client's default 500 ms response timeout
        // would cut a blocking read short.
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(None);
        let connect = self
            .client
            .get_multiplexed_async_connection_with_config(&config);
        match tokio::time::timeout(self.timeout, connect).await {
            Ok(Ok(connection)) => Ok(connection),
            Ok(Err(source)) => Err(RemoteError::Unavailable { command, source }),
            Err(_elapsed) => Err(RemoteError::TimedOut {
                command: "connect",
                key: String::new(),
                after: self.timeout,
            }),
        }
    }
}

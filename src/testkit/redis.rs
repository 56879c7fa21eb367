//! A real `redis-server` for tests: started from `PATH` on a unix socket in a directory of its
//! own, stopped, restarted, and killed on drop.
//!
//! The Redis backends of [`observer`](crate::observer) and
//! [`pipeline::stream`](crate::pipeline::stream) (feature `redis`) are tested against the real
//! engine, not a fake: a fake would agree with whatever the code believes about Redis. Each
//! test starts its own server, so tests never share state and can run in parallel:
//!
//! * **No TCP port.** `--port 0` turns TCP off and `--unixsocket` serves on a socket file in a
//!   fresh temporary directory, so two servers (or a developer's own Redis) can never clash.
//! * **No persistence unless asked.** `--save ''` and `--appendonly no` by default;
//!   [`RedisServer::start_with`] passes more options (`["--appendonly", "yes"]` for the test
//!   that restarts the server under load and expects acknowledged entries to survive).
//! * **Nothing left running.** [`RedisServer::stop`] asks the server to `SHUTDOWN` (it writes
//!   its append-only file first) and waits for it; dropping the value kills whatever still runs
//!   and removes the directory.
//!
//! # Where redis-server is missing
//! [`RedisServer::start_or_skip`] returns `Ok(None)` and prints one line saying the test was
//! skipped and how to install the server, so `cargo test --all-features` passes on a machine
//! without it. CI sets [`REQUIRE_REDIS`] (`.ci/run` installs Debian's `redis-server` first), and
//! there a missing server is an error, so the Redis tests can never be skipped silently.

#![cfg(unix)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The environment variable that turns a missing `redis-server` into an error instead of a
/// skipped test (set by `.ci/run`).
pub const REQUIRE_REDIS: &str = "ASYNC_PATTERNS_REQUIRE_REDIS";

/// How long a server may take to answer its first `PING`, or to exit after `SHUTDOWN`.
const STARTUP: Duration = Duration::from_secs(10);

/// Why a test Redis server could not be started or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisServerError {
    /// `redis-server` is not on `PATH`, and [`REQUIRE_REDIS`] says it must be.
    #[error(
        "redis-server is not on PATH and {REQUIRE_REDIS} is set: install it (apt-get install redis-server)"
    )]
    Required,
    /// Making the directory, spawning the server or talking to it failed.
    #[error("test redis-server in {dir}: {source}")]
    Io {
        /// The server's directory.
        dir: PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// The server did not answer `PING` (or did not exit) within the limit; its log says why.
    #[error("test redis-server in {dir} did not {what} within {limit:?}; see {dir}/redis.log")]
    TimedOut {
        /// The server's directory.
        dir: PathBuf,
        /// `start` or `stop`.
        what: &'static str,
        /// The limit it exceeded.
        limit: Duration,
    },
}

/// A `redis-server` of this test's own, on a unix socket (see the [module](self) docs).
///
/// ```no_run
/// use async_patterns::testkit::redis::RedisServer;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let Some(server) = RedisServer::start_or_skip("my_test")? else {
///     return Ok(()); // skipped: the line printed says how to install redis-server
/// };
/// let url = server.url(); // "unix:///tmp/.../r.sock", for `redis::Client::open`
/// # let _ = url; Ok(()) }
/// ```
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    dir: PathBuf,
    options: Vec<String>,
}

impl RedisServer {
    /// Whether `redis-server` can be run from `PATH`.
    pub fn available() -> bool {
        Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    /// A server with no persistence, answering `PING`.
    pub fn start() -> Result<RedisServer, RedisServerError> {
        RedisServer::start_with(&[])
    }

    /// A server with extra command-line `options` (`["--appendonly", "yes"]`), answering `PING`.
    pub fn start_with(options: &[&str]) -> Result<RedisServer, RedisServerError> {
        let dir = fresh_dir();
        let io = |source| RedisServerError::Io {
            dir: dir.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        let mut server = RedisServer {
            child: None,
            dir,
            options: options.iter().map(|o| o.to_string()).collect(),
        };
        server.restart()?;
        Ok(server)
    }

    /// [`RedisServer::start`], or `Ok(None)` after printing one line that says `test` was
    /// skipped and how to install the server, when `redis-server` is not on `PATH` and
    /// [`REQUIRE_REDIS`] is not set; with it set, a missing server is an error.
    pub fn start_or_skip(test: &str) -> Result<Option<RedisServer>, RedisServerError> {
        RedisServer::start_with_or_skip(test, &[])
    }

    /// [`RedisServer::start_with`], skipped as [`RedisServer::start_or_skip`] says.
    pub fn start_with_or_skip(
        test: &str,
        options: &[&str],
    ) -> Result<Option<RedisServer>, RedisServerError> {
        if RedisServer::available() {
            return RedisServer::start_with(options).map(Some);
        }
        if std::env::var_os(REQUIRE_REDIS).is_some() {
            return Err(RedisServerError::Required);
        }
        // Written to stderr itself, not through `eprintln!`, which the test harness captures:
        // the line must show in a plain `cargo test`.
        let _ = writeln!(
            std::io::stderr(),
            "skipped {test}: redis-server is not on PATH (apt-get install redis-server, then run the tests again)"
        );
        Ok(None)
    }

    /// The URL a `redis::Client` opens: `unix://` and the socket's absolute path.
    pub fn url(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    /// The socket file the server listens on.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("r.sock")
    }

    /// The server's directory (its log, and its append-only file when persistence is on).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the server process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// Stop the server as an operator would: `SHUTDOWN` (it writes its append-only file first,
    /// when persistence is on), then wait for it to exit; killed if it does not within 10 s.
    pub fn stop(&mut self) -> Result<(), RedisServerError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        // The reply never comes (the server exits), so the write is all that matters.
        if let Ok(mut socket) = UnixStream::connect(self.socket()) {
            let _ = socket.write_all(b"*1\r\n$8\r\nSHUTDOWN\r\n");
        }
        let deadline = Instant::now() + STARTUP;
        while Instant::now() < deadline {
            match child.try_wait() {
                Ok(Some(_status)) => return Ok(()),
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(source) => return Err(self.io(source)),
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        Err(self.timed_out("stop"))
    }

    /// Start the server again (stopping it first if it runs), in the same directory with the
    /// same options and socket, and wait until it answers `PING`. With `--appendonly yes` it
    /// reloads what it had.
    pub fn restart(&mut self) -> Result<(), RedisServerError> {
        self.stop()?;
        let socket = self.socket();
        let child = Command::new("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(&socket)
            .args([
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(self.dir.join("redis.log"))
            // Later options win, so a test's own options override the defaults above.
            .args(&self.options)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| self.io(source))?;
        self.child = Some(child);
        // Ready when it answers PING on the socket: the file alone may exist before it accepts.
        let deadline = Instant::now() + STARTUP;
        while Instant::now() < deadline {
            if ping(&socket) {
                return Ok(());
            }
            if !self.is_running() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Err(self.timed_out("start"))
    }

    fn io(&self, source: std::io::Error) -> RedisServerError {
        let dir = self.dir.clone();
        RedisServerError::Io { dir, source }
    }

    fn timed_out(&self, what: &'static str) -> RedisServerError {
        let (dir, limit) = (self.dir.clone(), STARTUP);
        RedisServerError::TimedOut { dir, what, limit }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // Killed rather than shut down: a drop must not wait, and nothing needs to survive it.
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether a server answers `PING` on `socket` (raw RESP: the testkit needs no Redis client).
fn ping(socket: &Path) -> bool {
    let Ok(mut stream) = UnixStream::connect(socket) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut reply = [0u8; 7];
    stream.write_all(b"*1\r\n$4\r\nPING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}

/// A directory no other server (of this process or another) uses.
fn fresh_dir() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!("async-patterns-redis-{}-{n}-{nanos}", std::process::id());
    std::env::temp_dir().join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_starts_answers_stops_and_restarts_and_its_directory_goes_on_drop() {
        let Some(mut server) = RedisServer::start_or_skip("testkit::redis").unwrap() else {
            return;
        };
        assert!(ping(&server.socket()));
        server.stop().unwrap();
        assert!(!server.is_running() && !ping(&server.socket()));
        server.restart().unwrap();
        assert!(ping(&server.socket()));
        let dir = server.dir().to_owned();
        drop(server);
        assert!(!dir.exists());
    }
}

//! A Redis server of a test's own, which the test may stop and start again.
//!
//! [`TcpProxy`](crate::TcpProxy) cuts the network in front of the shared Redis; a
//! [`PrivateRedis`] is a real `redis-server` process that the test shuts down and starts
//! again on the same port, so clients see what they would see when Redis restarts: refused
//! connections, then an empty server (nothing is persisted).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::private_server::{free_loopback_port, log_tail};
use crate::{service_unavailable, unique_name};

/// How long a server may take to answer after it was started, or to exit after it was
/// told to stop. Generous: it only detects a server that never comes.
const READY_WAIT: Duration = Duration::from_secs(30);

/// How often a starting or stopping server is looked at again.
const POLL: Duration = Duration::from_millis(50);

/// A `redis-server` on a loopback port of its own, in a directory of its own.
///
/// Dropping it kills the server and removes the directory.
///
/// # Example
///
/// ```no_run
/// # async fn example() {
/// let Some(mut redis) = auren_testing::PrivateRedis::create().await else { return };
/// let url = redis.url().to_owned(); // give it to the server under test
/// redis.stop().await;               // connections to `url` are refused now
/// redis.start().await;              // and answered again, on the same port
/// assert_eq!(redis.key_count().await, 0);
/// # }
/// ```
#[derive(Debug)]
pub struct PrivateRedis {
    dir: PathBuf,
    port: u16,
    url: String,
    process: Option<Child>,
}

impl PrivateRedis {
    /// Starts `redis-server` on a free loopback port and waits until it answers `PING`.
    ///
    /// Returns `None` when `redis-server` cannot be run, outside CI.
    ///
    /// # Panics
    ///
    /// When `redis-server` cannot be run under CI, when no directory can be made for it, or
    /// when it runs but never answers.
    pub async fn create() -> Option<Self> {
        if let Err(error) = Command::new("redis-server").arg("--version").output() {
            return service_unavailable("redis-server", &error);
        }

        let dir = std::env::temp_dir().join(unique_name("auren_redis"));

        // A port free when picked may be taken before the server binds it: pick again. A
        // failed attempt removes the directory when it is dropped, so each makes it anew.
        let mut last_error = String::new();
        for _ in 0..3 {
            std::fs::create_dir_all(&dir).expect("a directory for the private Redis");
            let port = free_loopback_port();
            let mut redis = Self {
                dir: dir.clone(),
                port,
                url: format!("redis://127.0.0.1:{port}"),
                process: None,
            };
            match redis.try_start().await {
                Ok(()) => return Some(redis),
                Err(error) => last_error = error,
            }
        }
        panic!("the private Redis did not start: {last_error}");
    }

    /// The URL of the server, for a server or store under test.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The loopback port the server listens on, the same after a restart.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Shuts the server down (`SHUTDOWN NOSAVE`) and waits until the process has exited.
    /// Connections to [`url`](Self::url) are refused afterwards. Does nothing when the
    /// server is stopped already.
    ///
    /// # Panics
    ///
    /// When the process cannot be waited for.
    pub async fn stop(&mut self) {
        let Some(mut process) = self.process.take() else {
            return;
        };

        // A closed connection is the expected answer to SHUTDOWN: the server is gone.
        let _ = self.command("SHUTDOWN NOSAVE").await;

        let deadline = tokio::time::Instant::now() + READY_WAIT;
        while process
            .try_wait()
            .expect("redis-server can be waited for")
            .is_none()
        {
            if tokio::time::Instant::now() > deadline {
                eprintln!("warning: redis-server ignored SHUTDOWN; killing it");
                let _ = process.kill();
                let _ = process.wait();
                break;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Starts the server again on the same port and waits until it answers `PING`. Does
    /// nothing when the server runs already.
    ///
    /// # Panics
    ///
    /// When the server does not come back, for example because something else took its
    /// port meanwhile.
    pub async fn start(&mut self) {
        if self.process.is_some() {
            return;
        }
        if let Err(error) = self.try_start().await {
            panic!("the private Redis did not start again: {error}");
        }
    }

    /// How many keys the server holds (`DBSIZE`).
    ///
    /// # Panics
    ///
    /// When the server does not answer.
    pub async fn key_count(&self) -> i64 {
        let reply = self.command("DBSIZE").await.expect("DBSIZE answers");
        reply
            .strip_prefix(':')
            .and_then(|count| count.trim_end().parse().ok())
            .unwrap_or_else(|| panic!("DBSIZE answered {reply:?}"))
    }

    async fn try_start(&mut self) -> Result<(), String> {
        let log = self.dir.join("redis.log");
        let mut process = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| format!("redis-server does not run: {error}"))?;

        let deadline = tokio::time::Instant::now() + READY_WAIT;
        loop {
            if let Ok(Some(status)) = process.try_wait() {
                return Err(format!(
                    "redis-server exited ({status}): {}",
                    log_tail(&log)
                ));
            }

            if self
                .command("PING")
                .await
                .is_ok_and(|reply| reply.starts_with("+PONG"))
            {
                self.process = Some(process);
                return Ok(());
            }

            if tokio::time::Instant::now() > deadline {
                let _ = process.kill();
                let _ = process.wait();
                return Err(format!("redis-server never answered: {}", log_tail(&log)));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Sends one inline command on a connection of its own; returns the first reply read.
    async fn command(&self, command: &str) -> std::io::Result<String> {
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        let mut stream = TcpStream::connect(address).await?;
        stream
            .write_all(format!("{command}\r\n").as_bytes())
            .await?;

        let mut reply = vec![0_u8; 512];
        let read = tokio::time::timeout(READY_WAIT, stream.read(&mut reply))
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        reply.truncate(read);
        Ok(String::from_utf8_lossy(&reply).into_owned())
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
        if std::fs::remove_dir_all(&self.dir).is_err() {
            eprintln!("warning: {} was not removed", self.dir.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stops_refusing_connections_and_starts_again_on_the_same_port() {
        let Some(mut redis) = PrivateRedis::create().await else {
            return;
        };
        let address = SocketAddr::from(([127, 0, 0, 1], redis.port()));
        redis.command("SET probe 1").await.expect("SET answers");
        assert_eq!(redis.key_count().await, 1);

        redis.stop().await;
        let refused = TcpStream::connect(address).await;
        assert_eq!(
            refused.map(|_| ()).map_err(|error| error.kind()),
            Err(std::io::ErrorKind::ConnectionRefused)
        );

        redis.start().await;
        assert_eq!(redis.port(), address.port());
        assert_eq!(redis.key_count().await, 0, "nothing is persisted");
        let dir = redis.dir.clone();
        drop(redis);
        assert!(!dir.exists(), "the directory is removed on drop");
    }
}

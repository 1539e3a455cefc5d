//! A Postgres cluster of a test's own, which the test may stop and start again.
//!
//! [`TcpProxy`](crate::TcpProxy) cuts the network in front of the shared Postgres; a
//! [`PrivatePostgres`] is a real cluster, made by `initdb` in a temporary directory and run
//! by `pg_ctl`, that the test shuts down and starts again on the same port and data
//! directory, so clients see what they would see when Postgres restarts: their sessions
//! ended, connections refused, then the same data again.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use auren_core::postgres;
use tokio_postgres::NoTls;

use crate::private_server::{free_loopback_port, log_tail};
use crate::{service_unavailable, unique_name};

/// How long `pg_ctl` and the first connection may take. Generous: it only detects a
/// cluster that never comes.
const READY_WAIT: Duration = Duration::from_secs(60);

/// How often a starting cluster is tried again.
const POLL: Duration = Duration::from_millis(100);

/// The OS user that runs the cluster when the tests run as root: Postgres refuses root.
const POSTGRES_OS_USER: &str = "postgres";

/// A Postgres cluster in a temporary directory, on a loopback port of its own.
///
/// The cluster is fresh: [`create`](Self::create) applies the migrations as
/// [`TestDatabase::create`](crate::TestDatabase::create) does, to the `postgres` database
/// that [`url`](Self::url) names. Dropping it stops the cluster (`-m immediate`) and
/// removes the directory.
///
/// # Example
///
/// ```no_run
/// # async fn example() {
/// let Some(mut db) = auren_testing::PrivatePostgres::create().await else { return };
/// let url = db.url().to_owned(); // give it to the server under test
/// db.stop().await;               // sessions end, connections to `url` are refused
/// db.start().await;              // the same data, on the same port
/// db.client().await.simple_query("SELECT 1").await.unwrap();
/// # }
/// ```
#[derive(Debug)]
pub struct PrivatePostgres {
    binaries: PathBuf,
    dir: PathBuf,
    port: u16,
    url: String,
    run_as_postgres_user: bool,
    running: bool,
}

impl PrivatePostgres {
    /// Makes and starts a cluster and applies every migration to its `postgres` database.
    ///
    /// Returns `None` when the Postgres server programs cannot be found or run, outside CI.
    ///
    /// # Panics
    ///
    /// When the programs are missing under CI, or when they are there but the cluster
    /// cannot be made, started or migrated.
    pub async fn create() -> Option<Self> {
        let cluster = Self::create_empty().await?;

        let pool = postgres::connect_with_size(cluster.url(), 1).expect("a valid URL");
        postgres::run_migrations(&pool)
            .await
            .expect("migrations apply to a fresh cluster");
        pool.close();
        Some(cluster)
    }

    /// Makes and starts a cluster with no tables at all.
    ///
    /// # Panics
    ///
    /// As [`create`](Self::create).
    pub async fn create_empty() -> Option<Self> {
        let binaries = match server_binaries() {
            Ok(binaries) => binaries,
            Err(reason) => return service_unavailable("the Postgres server programs", &reason),
        };
        let run_as_postgres_user = match running_as_root() {
            Ok(root) => root,
            Err(reason) => return service_unavailable("the Postgres server programs", &reason),
        };
        if run_as_postgres_user && !user_exists(POSTGRES_OS_USER) {
            let reason = "the tests run as root and there is no `postgres` OS user to run it";
            return service_unavailable("a private Postgres", &reason);
        }

        // The `postgres` user must reach the directory: under /tmp, not under a TMPDIR that
        // may be root's own.
        let parent = if run_as_postgres_user {
            PathBuf::from("/tmp")
        } else {
            std::env::temp_dir()
        };
        let mut cluster = Self {
            binaries,
            dir: parent.join(unique_name("auren_pg")),
            port: 0,
            url: String::new(),
            run_as_postgres_user,
            running: false,
        };
        std::fs::create_dir(&cluster.dir).expect("a directory for the private Postgres");
        if run_as_postgres_user {
            let chowned = Command::new("chown")
                .arg(POSTGRES_OS_USER)
                .arg(&cluster.dir)
                .output();
            check("chown", chowned, &cluster.dir);
        }

        let initdb = cluster
            .command("initdb")
            .arg("-D")
            .arg(cluster.data_dir())
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"])
            .arg("--no-sync")
            .output();
        check("initdb", initdb, &cluster.dir);

        // A port free when picked may be taken before the cluster binds it: pick again.
        let mut last_error = String::new();
        for _ in 0..3 {
            cluster.port = free_loopback_port();
            cluster.url = format!("postgres://postgres@127.0.0.1:{}/postgres", cluster.port);
            match cluster.try_start().await {
                Ok(()) => return Some(cluster),
                Err(error) => last_error = error,
            }
        }
        panic!("the private Postgres did not start: {last_error}");
    }

    /// A connection URL for the `postgres` database, the same after a restart.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The loopback port the cluster listens on, the same after a restart.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A new connection, for a test's own queries and assertions.
    ///
    /// # Panics
    ///
    /// When the cluster does not accept it (it is stopped, for one).
    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.url, NoTls)
            .await
            .expect("the private Postgres accepts a connection");
        tokio::spawn(connection);
        client
    }

    /// Stops the cluster as an operator would (`pg_ctl stop -m fast`: open sessions are
    /// ended, a checkpoint is written) and waits until it is down. Connections to
    /// [`url`](Self::url) are refused afterwards. Does nothing when it is stopped already.
    ///
    /// # Panics
    ///
    /// When `pg_ctl` fails.
    pub async fn stop(&mut self) {
        if !self.running {
            return;
        }

        let stopped = tokio::process::Command::from(self.pg_ctl("stop", &["-m", "fast"]))
            .output()
            .await;
        check("pg_ctl stop", stopped, &self.dir);
        self.running = false;
    }

    /// Starts the cluster again on the same port and data directory, and waits until it
    /// accepts connections. Does nothing when it runs already.
    ///
    /// # Panics
    ///
    /// When the cluster does not come back, for example because something else took its
    /// port meanwhile.
    pub async fn start(&mut self) {
        if self.running {
            return;
        }
        if let Err(error) = self.try_start().await {
            panic!("the private Postgres did not start again: {error}");
        }
    }

    async fn try_start(&mut self) -> Result<(), String> {
        let options = format!(
            "-p {} -k '{}' -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.log_file();
        let mut pg_ctl = self.pg_ctl("start", &["-o", &options]);
        pg_ctl.arg("-l").arg(&log);

        let output = tokio::process::Command::from(pg_ctl)
            .output()
            .await
            .map_err(|error| format!("pg_ctl does not run: {error}"))?;
        if !output.status.success() {
            return Err(format!(
                "pg_ctl start failed ({}): {}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr),
                log_tail(&log)
            ));
        }
        self.running = true;

        // pg_ctl waited for the postmaster; the first connection proves the port is ours.
        let deadline = tokio::time::Instant::now() + READY_WAIT;
        loop {
            match tokio_postgres::connect(&self.url, NoTls).await {
                Ok(_) => return Ok(()),
                Err(error) if tokio::time::Instant::now() > deadline => {
                    return Err(format!("no connection: {error}\n{}", log_tail(&log)));
                }
                Err(_) => tokio::time::sleep(POLL).await,
            }
        }
    }

    /// `pg_ctl <action>` on this cluster, waiting for it to finish.
    fn pg_ctl(&self, action: &str, options: &[&str]) -> Command {
        let mut command = self.command("pg_ctl");
        command
            .arg("-D")
            .arg(self.data_dir())
            .args(["-w", "-t", &READY_WAIT.as_secs().to_string()])
            .args(options)
            .arg(action);
        command
    }

    /// One of the server programs, run as the `postgres` user when the tests run as root.
    fn command(&self, program: &str) -> Command {
        let program = self.binaries.join(program);
        let mut command = if self.run_as_postgres_user {
            let mut runuser = Command::new("runuser");
            runuser.args(["-u", POSTGRES_OS_USER, "--"]).arg(program);
            runuser
        } else {
            Command::new(program)
        };
        // The `postgres` user may not be allowed into the test's working directory.
        command.current_dir(&self.dir).stdin(Stdio::null());
        command
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn log_file(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        if self.running {
            let stopped = self.pg_ctl("stop", &["-m", "immediate"]).output();
            if !stopped.is_ok_and(|output| output.status.success()) {
                eprintln!(
                    "warning: the private Postgres on port {} did not stop",
                    self.port
                );
            }
        }
        if std::fs::remove_dir_all(&self.dir).is_err() {
            eprintln!("warning: {} was not removed", self.dir.display());
        }
    }
}

/// Panics with the program's output and the cluster's log unless it ran and succeeded.
fn check(program: &str, output: std::io::Result<Output>, dir: &Path) {
    let output = output.unwrap_or_else(|error| panic!("{program} does not run: {error}"));
    assert!(
        output.status.success(),
        "{program} failed ({}): {}{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        log_tail(&dir.join("postgres.log"))
    );
}

/// The directory of `initdb` and `pg_ctl`: `pg_config --bindir`, else the newest
/// `/usr/lib/postgresql/<version>/bin`.
fn server_binaries() -> Result<PathBuf, String> {
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()));
    if let Some(bindir) = from_pg_config.filter(|bindir| has_server_programs(bindir)) {
        return Ok(bindir);
    }

    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|error| format!("no pg_config and no /usr/lib/postgresql: {error}"))?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bindir)| has_server_programs(bindir))
        .max_by_key(|(version, _)| *version);
    newest
        .map(|(_, bindir)| bindir)
        .ok_or_else(|| "initdb and pg_ctl are not installed".to_owned())
}

fn has_server_programs(bindir: &Path) -> bool {
    bindir.join("initdb").is_file() && bindir.join("pg_ctl").is_file()
}

/// Whether the effective user is root, as `id -u` says.
fn running_as_root() -> Result<bool, String> {
    let output = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|error| format!("`id -u` does not run: {error}"))?;
    Ok(String::from_utf8_lossy(&output.stdout).trim() == "0")
}

fn user_exists(name: &str) -> bool {
    Command::new("id")
        .arg("-u")
        .arg(name)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stops_refusing_connections_and_starts_again_with_its_data() {
        let Some(mut cluster) = PrivatePostgres::create().await else {
            return;
        };
        let client = cluster.client().await;
        client
            .query_one("SELECT count(*) FROM heart_rate_readings", &[])
            .await
            .expect("the migrated table exists");
        client
            .batch_execute("CREATE TABLE probe (value int); INSERT INTO probe VALUES (7)")
            .await
            .expect("a write");
        let url = cluster.url().to_owned();

        cluster.stop().await;
        assert!(
            client.simple_query("SELECT 1").await.is_err(),
            "the session ended"
        );
        let refused = tokio::net::TcpStream::connect(("127.0.0.1", cluster.port())).await;
        assert_eq!(
            refused.map(|_| ()).map_err(|error| error.kind()),
            Err(std::io::ErrorKind::ConnectionRefused)
        );

        cluster.start().await;
        assert_eq!(cluster.url(), url, "the same port");
        let row = cluster
            .client()
            .await
            .query_one("SELECT value FROM probe", &[])
            .await
            .expect("the data is still there");
        assert_eq!(row.get::<_, i32>(0), 7);

        let dir = cluster.dir.clone();
        drop(cluster);
        assert!(!dir.exists(), "the directory is removed on drop");
    }
}

//! `bare_biometrics`: the readings handlers with no auren layer, the baseline that
//! `scripts/bench-stack.sh` measures beside the full example server.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `BARE_LISTEN` | address and port to listen on | `127.0.0.1:8890` |
//! | `BARE_USER_ID` | the user every request is served as | `bench-bare` |
//! | `DATABASE_URL` | the server's Postgres; readings are kept in memory when unset | unset |
//! | `PHI_MASTER_KEY` | the server's master key (32 bytes, base64); needed with Postgres | |
//!
//! With the server's database and master key it does the same Postgres and PHI work per
//! request as the server's handler. It stops on SIGINT or SIGTERM.
//!
//! ```sh
//! BARE_USER_ID=bench-bare cargo run --release -p auren-benches --bin bare_biometrics
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use auren_core::postgres::{self, PostgresError};
use auren_phi_crypto::{InMemoryKeyStore, MasterKey, PhiCrypto, PhiError, PostgresKeyStore};
use biometric_server::{bare_router, InMemoryReadingStore, PostgresReadingStore, ReadingStore};
use tokio::net::TcpListener;

/// Where the baseline listens when `BARE_LISTEN` is unset.
const DEFAULT_LISTEN: &str = "127.0.0.1:8890";

/// The user served when `BARE_USER_ID` is unset.
const DEFAULT_USER: &str = "bench-bare";

/// Why the baseline server could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
enum BareError {
    /// An environment variable holds an unusable value (never shown).
    #[error("invalid {variable}: {expected}")]
    Config {
        /// The variable at fault.
        variable: &'static str,
        /// What was expected.
        expected: &'static str,
    },
    /// Postgres could not be reached or migrated.
    #[error("Postgres (DATABASE_URL) is not usable: {0}")]
    Postgres(#[from] PostgresError),
    /// The PHI cipher could not start.
    #[error("PHI encryption (PHI_MASTER_KEY) is not usable: {0}")]
    Phi(#[from] PhiError),
    /// The socket could not be opened, or serving failed.
    #[error("serving on {address} failed: {source}")]
    Io {
        /// The address from `BARE_LISTEN`.
        address: SocketAddr,
        /// What the operating system said.
        source: std::io::Error,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("bare_biometrics: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bare_biometrics: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), BareError> {
    let address: SocketAddr = env("BARE_LISTEN")
        .unwrap_or_else(|| DEFAULT_LISTEN.to_owned())
        .parse()
        .map_err(|_| BareError::Config {
            variable: "BARE_LISTEN",
            expected: "an address like 127.0.0.1:8890",
        })?;
    let user_id = env("BARE_USER_ID").unwrap_or_else(|| DEFAULT_USER.to_owned());
    let master = env("PHI_MASTER_KEY")
        .map(|key| MasterKey::from_base64(&key))
        .transpose()
        .map_err(|_| BareError::Config {
            variable: "PHI_MASTER_KEY",
            expected: "32 bytes in base64",
        })?;

    let store = reading_store(env("DATABASE_URL"), master).await?;
    let router = bare_router(store, &user_id);

    let io_error = |source| BareError::Io { address, source };
    let listener = TcpListener::bind(address).await.map_err(io_error)?;
    tracing::info!(%address, "bare baseline listening");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(io_error)
}

/// The store the server would use: Postgres with its data keys, or memory.
async fn reading_store(
    database_url: Option<String>,
    master: Option<MasterKey>,
) -> Result<Arc<dyn ReadingStore>, BareError> {
    let Some(url) = database_url else {
        let master = match master {
            Some(master) => master,
            None => MasterKey::generate()?,
        };
        let phi = PhiCrypto::builder(master, InMemoryKeyStore::new())
            .build()
            .await?;
        return Ok(Arc::new(InMemoryReadingStore::new(phi)));
    };

    let master = master.ok_or(BareError::Config {
        variable: "PHI_MASTER_KEY",
        expected: "required when DATABASE_URL is set",
    })?;
    let pool = postgres::connect(&url)?;
    postgres::run_migrations(&pool).await?;
    let phi = PhiCrypto::builder(master, PostgresKeyStore::new(pool.clone()))
        .build()
        .await?;
    Ok(Arc::new(PostgresReadingStore::new(pool, phi)))
}

/// A variable's value, with empty values counted as unset.
fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}

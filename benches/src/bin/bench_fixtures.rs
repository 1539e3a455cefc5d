//! `bench_fixtures`: the API keys and readings that `scripts/bench-stack.sh` loads into the
//! example server's database before driving it.
//!
//! ```sh
//! # 100,000 user keys over 100 users, written one per line to keys.txt
//! bench_fixtures keys --count 100000 --users 100 --rate-limit 1000000 --out keys.txt
//! # five sealed readings for each of those users and for the bare baseline's user
//! PHI_MASTER_KEY=... bench_fixtures readings --per-user 5 --users 100 --extra-user bench-bare
//! ```
//!
//! Both go straight through the library (`ApiKeys` over `PostgresKeyStore`, and
//! `PostgresReadingStore` sealing with the server's master key), many at a time, so 100,000
//! keys take seconds. `DATABASE_URL` names the database; the server must have started on it
//! once, so the migrations ran and the PHI data key exists.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use auren_auth::{ApiKeys, KeyError, NewKey, PostgresKeyStore};
use auren_core::postgres::{self, PostgresError};
use auren_core::Role;
use auren_phi_crypto::{MasterKey, PhiCrypto, PhiError};
use biometric_server::{NewHeartRate, PostgresReadingStore, ReadingStore, StoreError};
use chrono::{Duration, Utc};
use clap::{Parser, Subcommand};
use futures_util::stream::{self, StreamExt, TryStreamExt};

/// Connections used at most, and operations in flight at once.
const CONCURRENCY: usize = 32;

/// Loads benchmark fixtures into the example server's database.
#[derive(Parser)]
#[command(name = "bench_fixtures")]
struct Cli {
    /// The Postgres database of the server under test.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Issues user keys and writes them, one per line, to a file.
    Keys {
        /// How many keys.
        #[arg(long)]
        count: usize,
        /// Keys are spread round-robin over this many users.
        #[arg(long, default_value_t = 100)]
        users: usize,
        /// The users' ids are this prefix and a number from 0.
        #[arg(long, default_value = "bench-user-")]
        user_prefix: String,
        /// Each key's limit, in requests per minute.
        #[arg(long)]
        rate_limit: u32,
        /// Where the keys are written (secrets: the file is the caller's to remove).
        #[arg(long)]
        out: PathBuf,
    },
    /// Stores sealed heart-rate readings for the users of `keys` and any extra users.
    Readings {
        /// Readings per user.
        #[arg(long, default_value_t = 5)]
        per_user: usize,
        /// Users `<prefix>0` to `<prefix><users - 1>`.
        #[arg(long, default_value_t = 100)]
        users: usize,
        /// The users' id prefix, as for `keys`.
        #[arg(long, default_value = "bench-user-")]
        user_prefix: String,
        /// More users by id (repeatable).
        #[arg(long)]
        extra_user: Vec<String>,
        /// The server's PHI master key (32 bytes, base64).
        #[arg(long, env = "PHI_MASTER_KEY", hide_env_values = true)]
        phi_master_key: String,
    },
}

/// Why loading the fixtures failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
enum FixtureError {
    /// Postgres could not be reached.
    #[error("Postgres is not usable: {0}")]
    Postgres(#[from] PostgresError),
    /// A key could not be issued.
    #[error("a key could not be issued: {0}")]
    Key(#[from] KeyError),
    /// The master key is not valid.
    #[error("PHI_MASTER_KEY is not 32 bytes in base64")]
    MasterKey,
    /// The PHI cipher could not start.
    #[error("PHI encryption is not usable: {0}")]
    Phi(#[from] PhiError),
    /// A reading could not be stored.
    #[error("a reading could not be stored: {0}")]
    Store(#[from] StoreError),
    /// A reading was out of range.
    #[error("a reading is not valid: {0}")]
    Reading(String),
    /// The key file could not be written.
    #[error("the key file could not be written: {0}")]
    Io(#[from] std::io::Error),
}

fn main() -> ExitCode {
    let cli = Cli::parse();

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("bench_fixtures: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench_fixtures: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), FixtureError> {
    let pool = postgres::connect_with_size(&cli.database_url, CONCURRENCY)?;
    let started = Instant::now();

    match cli.command {
        Command::Keys {
            count,
            users,
            user_prefix,
            rate_limit,
            out,
        } => {
            let keys = ApiKeys::new(Arc::new(PostgresKeyStore::new(pool)));
            let settings = KeySettings {
                users: users.max(1),
                user_prefix,
                rate_limit,
            };
            issue_keys(&keys, count, &settings, &out).await?;
            eprintln!("bench_fixtures: {count} keys in {:?}", started.elapsed());
        }
        Command::Readings {
            per_user,
            users,
            user_prefix,
            extra_user,
            phi_master_key,
        } => {
            let master =
                MasterKey::from_base64(&phi_master_key).map_err(|_| FixtureError::MasterKey)?;
            let phi = PhiCrypto::builder(
                master,
                auren_phi_crypto::PostgresKeyStore::new(pool.clone()),
            )
            .build()
            .await?;
            let store = PostgresReadingStore::new(pool, phi);
            let mut user_ids: Vec<String> =
                (0..users).map(|i| format!("{user_prefix}{i}")).collect();
            user_ids.extend(extra_user);
            store_readings(&store, &user_ids, per_user).await?;
            eprintln!(
                "bench_fixtures: {per_user} readings for each of {} users in {:?}",
                user_ids.len(),
                started.elapsed()
            );
        }
    }
    Ok(())
}

/// How the keys are issued.
struct KeySettings {
    users: usize,
    user_prefix: String,
    rate_limit: u32,
}

/// Issues `count` keys, [`CONCURRENCY`] at a time, writing each secret as it comes.
async fn issue_keys(
    keys: &ApiKeys,
    count: usize,
    settings: &KeySettings,
    out: &Path,
) -> Result<(), FixtureError> {
    let mut file = BufWriter::new(File::create(out)?);

    let mut issued = stream::iter(0..count)
        .map(|i| {
            let mut new = NewKey::new(
                format!("{}{}", settings.user_prefix, i % settings.users),
                Role::User,
            );
            new.description = "bench-stack".to_owned();
            new.rate_limit_per_minute = Some(settings.rate_limit);
            keys.create(new)
        })
        .buffer_unordered(CONCURRENCY);
    while let Some(key) = issued.try_next().await? {
        writeln!(file, "{}", key.key.expose_secret())?;
    }

    file.flush()?;
    Ok(())
}

/// Stores `per_user` readings, a minute apart, for each user.
async fn store_readings(
    store: &PostgresReadingStore,
    user_ids: &[String],
    per_user: usize,
) -> Result<(), FixtureError> {
    let now = Utc::now();
    let readings = user_ids
        .iter()
        .flat_map(|user| (0..per_user).map(move |n| (user, n)))
        .map(|(user, n)| {
            let minutes = i64::try_from(n).unwrap_or(i64::MAX);
            let body = NewHeartRate {
                bpm: 55 + i64::try_from(n % 40).unwrap_or(0),
                recorded_at: now - Duration::minutes(minutes),
                note: Some("bench-stack fixture".to_owned()),
            };
            body.into_reading(user)
                .map_err(|error| FixtureError::Reading(error.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;

    stream::iter(readings.iter())
        .map(|reading| store.insert(reading))
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

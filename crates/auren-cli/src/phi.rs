//! `auren phi ...`: rotation of the PHI keys and re-encryption of sealed values.
//!
//! Every command reads the current master key from `PHI_MASTER_KEY` and checks it
//! against the stored data keys before changing anything.

use std::time::Duration;

use auren_phi_crypto::{
    count_rows, reencrypt, MasterKey, PhiCrypto, PostgresKeyStore, ReencryptOptions,
    ReencryptTarget, DEFAULT_BATCH_SIZE,
};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::Failure;

/// The variable that holds the current master key.
const MASTER_KEY_ENV: &str = "PHI_MASTER_KEY";

/// The PHI key commands.
#[derive(Debug, Subcommand)]
pub(crate) enum PhiCommand {
    /// Create a new active data key; the current one is retired and still decrypts.
    RotateDataKey,
    /// Re-wrap every data key under a new master key, in one transaction.
    RotateMasterKey {
        /// The environment variable holding the new master key (32 bytes, base64).
        #[arg(long, value_name = "VARIABLE", default_value = "NEW_PHI_MASTER_KEY")]
        new_key_env: String,
    },
    /// Re-seal values sealed by retired data keys under the active key.
    Reencrypt(ReencryptArgs),
}

/// Which table `auren phi reencrypt` walks; the defaults are the example server's.
#[derive(Debug, Args)]
pub(crate) struct ReencryptArgs {
    /// The table holding sealed values.
    #[arg(long, default_value = "heart_rate_readings")]
    table: String,
    /// Its key column, walked in order.
    #[arg(long, default_value = "id")]
    id_column: String,
    /// The column with the user id each value is bound to.
    #[arg(long, default_value = "user_id")]
    user_column: String,
    /// A sealed column as `COLUMN=FIELD` (bound to a field name) or `COLUMN` (none).
    #[arg(long = "column", value_name = "COLUMN[=FIELD]",
          default_values = ["bpm_sealed=bpm", "note_sealed=note"])]
    columns: Vec<String>,
    /// Rows per batch.
    #[arg(long, default_value_t = DEFAULT_BATCH_SIZE)]
    batch_size: usize,
    /// Resume after this row id (printed by an interrupted run).
    #[arg(long, value_name = "ID")]
    resume_after: Option<String>,
}

/// Runs one `auren phi` command.
pub(crate) async fn run(database_url: &str, command: PhiCommand) -> Result<(), Failure> {
    let master = master_key_from_env(MASTER_KEY_ENV)?;
    let pool = auren_core::postgres::connect(database_url)?;
    auren_core::postgres::run_migrations(&pool).await?;
    let phi = PhiCrypto::builder(master, PostgresKeyStore::new(pool.clone()))
        .build()
        .await?;

    match command {
        PhiCommand::RotateDataKey => {
            let id = phi.rotate_data_key().await?;
            println!("the active PHI data key is now {id}; run `auren phi reencrypt` next");
        }
        PhiCommand::RotateMasterKey { new_key_env } => {
            let new_master = master_key_from_env(&new_key_env)?;
            let count = phi.rotate_master_key(&new_master).await?;

            // Proves the new key opens every stored data key before the operator moves on.
            PhiCrypto::builder(new_master, PostgresKeyStore::new(pool.clone()))
                .build()
                .await?;
            println!(
                "re-wrapped {count} data key(s) under the key in {new_key_env}; \
                 set {MASTER_KEY_ENV} to it on every instance now"
            );
        }
        PhiCommand::Reencrypt(args) => reencrypt_table(&phi, &pool, &args).await?,
    }
    Ok(())
}

fn master_key_from_env(variable: &str) -> Result<MasterKey, Failure> {
    let value = std::env::var(variable)
        .ok()
        .filter(|value| !value.trim().is_empty())
        .ok_or_else(|| Failure(format!("{variable} is not set")))?;
    MasterKey::from_base64(&value).map_err(|error| Failure(format!("invalid {variable}: {error}")))
}

async fn reencrypt_table(
    phi: &PhiCrypto,
    pool: &auren_core::postgres::Pool,
    args: &ReencryptArgs,
) -> Result<(), Failure> {
    let mut target = ReencryptTarget::new(&args.table, &args.id_column, &args.user_column)?;
    for column in &args.columns {
        target = match column.split_once('=') {
            Some((column, field)) => target.column(column, Some(field))?,
            None => target.column(column, None)?,
        };
    }

    let total = count_rows(pool, &target).await?;
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows, {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(250));

    let options = ReencryptOptions {
        batch_size: args.batch_size,
        resume_after: args.resume_after.clone(),
    };
    let mut last_id = args.resume_after.clone();
    let result = reencrypt(phi, pool, &target, &options, |progress| {
        bar.set_position(progress.rows_scanned);
        bar.set_message(format!("{} value(s) re-sealed", progress.values_resealed));
        last_id.clone_from(&progress.last_id);
    })
    .await;
    bar.finish();

    match result {
        Ok(done) => {
            println!(
                "{} row(s) read, {} value(s) re-sealed under the active key",
                done.rows_scanned, done.values_resealed
            );
            Ok(())
        }
        Err(error) => {
            let resume = last_id
                .map(|id| format!("; resume with --resume-after {id}"))
                .unwrap_or_default();
            Err(Failure(format!("{error}{resume}")))
        }
    }
}

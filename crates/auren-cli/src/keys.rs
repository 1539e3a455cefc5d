//! `auren keys ...`: issue, list and revoke API keys directly in the database.
//!
//! Changes reach running servers at once: the `api_keys` triggers announce them on
//! `NOTIFY auren_api_keys`, which every server's key cache listens to.

use std::sync::Arc;

use auren_auth::{ApiKeys, KeyRecord, NewKey, PostgresKeyStore, Revocation};
use auren_core::{KeyId, Role};
use clap::Subcommand;

use crate::Failure;

/// The API key commands.
#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Issue a key and print it once.
    Create {
        /// The user the key acts for (1 to 256 characters).
        #[arg(long)]
        user_id: String,
        /// `user` or `admin`.
        #[arg(long)]
        role: Role,
        /// Requests per minute; 60 for users and 1000 for admins when not given.
        #[arg(long)]
        rate_limit: Option<u32>,
        /// A note for operators.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List keys (never a secret).
    List {
        /// Only the keys of this user.
        #[arg(long)]
        user_id: Option<String>,
    },
    /// Revoke a key: it stops working on every server within a second.
    Revoke {
        /// The key's id, `ak_...`.
        key_id: KeyId,
    },
}

/// Runs one key command.
pub(crate) async fn run(database_url: &str, command: KeysCommand) -> Result<(), Failure> {
    let pool = auren_core::postgres::connect(database_url)?;
    let keys = ApiKeys::new(Arc::new(PostgresKeyStore::new(pool)));

    match command {
        KeysCommand::Create {
            user_id,
            role,
            rate_limit,
            description,
        } => {
            let new = NewKey {
                user_id,
                description,
                role,
                rate_limit_per_minute: rate_limit,
                expires_at: None,
            };
            let issued = keys.create(new).await?;
            print_record(&issued.record);
            println!();
            println!("{}", issued.key.expose_secret());
            eprintln!("This key is shown once: store it in your secret vault now.");
        }
        KeysCommand::List { user_id } => {
            let records = keys.list(user_id.as_deref()).await?;
            println!(
                "{:<29}  {:<10}  {:<6}  {:>6}  {:<8}  USER",
                "KEY ID", "PREFIX", "ROLE", "RPM", "STATE"
            );
            let now = chrono::Utc::now();
            for record in &records {
                let state = match record.check(now) {
                    Ok(()) => "active",
                    Err(auren_auth::KeyState::Revoked) => "revoked",
                    Err(auren_auth::KeyState::Expired) => "expired",
                };
                println!(
                    "{:<29}  {:<10}  {:<6}  {:>6}  {:<8}  {}",
                    record.key_id,
                    record.display_prefix,
                    record.role,
                    record.rate_limit_per_minute,
                    state,
                    record.user_id
                );
            }
        }
        KeysCommand::Revoke { key_id } => match keys.revoke(key_id).await {
            Ok(Revocation::AlreadyRevoked(_)) => {
                println!("{key_id} was already revoked; nothing changed");
            }
            Ok(_) => println!("{key_id} revoked"),
            Err(auren_auth::KeyError::NotFound) => {
                return Err(Failure(format!("no API key has the id {key_id}")))
            }
            Err(error) => return Err(error.into()),
        },
    }
    Ok(())
}

fn print_record(record: &KeyRecord) {
    println!("key_id:     {}", record.key_id);
    println!("user_id:    {}", record.user_id);
    println!("role:       {}", record.role);
    println!("rate_limit: {} per minute", record.rate_limit_per_minute);
}

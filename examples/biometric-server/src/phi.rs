//! Starting PHI encryption: the master key from the configuration, the data keys from
//! Postgres or memory.

use auren_phi_crypto::{InMemoryKeyStore, MasterKey, PhiCrypto, PostgresKeyStore};
use deadpool_postgres::Pool;

use crate::app::StartError;
use crate::config::ServerConfig;

/// The cipher that seals readings' PHI.
///
/// With Postgres, the data keys live in `phi_encryption_keys` and the master key must be
/// configured; a master key that cannot unwrap them stops the start. In memory, an unset
/// master key is replaced by an ephemeral one, and the log says so.
pub(crate) async fn start(
    config: &ServerConfig,
    postgres: Option<&Pool>,
) -> Result<PhiCrypto, StartError> {
    if let Some(pool) = postgres {
        let master = config
            .phi_master_key
            .clone()
            .ok_or(StartError::PhiMasterKeyMissing)?;
        let store = PostgresKeyStore::new(pool.clone());
        return Ok(PhiCrypto::builder(master, store).build().await?);
    }

    let master = match &config.phi_master_key {
        Some(master) => master.clone(),
        None => {
            tracing::warn!(
                "PHI_MASTER_KEY is unset: readings are sealed under an ephemeral key, \
                 generated now and lost at exit"
            );
            MasterKey::generate()?
        }
    };
    Ok(PhiCrypto::builder(master, InMemoryKeyStore::new())
        .build()
        .await?)
}

//! API keys for the server: the key store, the verification cache and the first admin key.

use std::sync::Arc;

use auren_auth::{
    ApiKeys, InMemoryKeyStore, InvalidationListener, KeyError, NewKey, PostgresKeyStore,
    Registration, VerificationCache,
};
use auren_core::postgres::{Pool, PostgresError};
use auren_core::Role;

use crate::app::StartError;
use crate::config::ServerConfig;

/// The user id of the admin keys the server registers or creates at start-up.
pub(crate) const BOOTSTRAP_ADMIN_USER: &str = "admin";

/// The server's keys, and the listener that keeps their cache fresh (Postgres only).
#[derive(Debug)]
pub(crate) struct ServerKeys {
    pub(crate) keys: Arc<ApiKeys>,
    pub(crate) listener: Option<InvalidationListener>,
}

/// Keys in Postgres (cached, with `LISTEN/NOTIFY` invalidation) when a pool is given,
/// otherwise in memory; then makes sure an admin key exists.
///
/// # Errors
///
/// [`StartError::AdminKey`] when the admin key cannot be registered or created.
pub(crate) async fn start(
    config: &ServerConfig,
    postgres: Option<&Pool>,
) -> Result<ServerKeys, StartError> {
    let (keys, listener) = match (postgres, &config.database_url) {
        (Some(pool), Some(url)) => {
            let cache = Arc::new(VerificationCache::new());
            let listener = InvalidationListener::spawn(url, Arc::clone(&cache))
                .map_err(PostgresError::InvalidUrl)?;
            let store = Arc::new(PostgresKeyStore::new(pool.clone()));
            (ApiKeys::new(store).with_cache(cache), Some(listener))
        }
        _ => (ApiKeys::new(Arc::new(InMemoryKeyStore::new())), None),
    };

    ensure_admin_key(&keys, config).await?;
    Ok(ServerKeys {
        keys: Arc::new(keys),
        listener,
    })
}

/// Registers `AUREN_ADMIN_KEY` (idempotently), or, when it is unset and no admin key is
/// usable, creates one and prints it once on stdout.
async fn ensure_admin_key(keys: &ApiKeys, config: &ServerConfig) -> Result<(), KeyError> {
    if let Some(admin_key) = &config.admin_key {
        let mut new = NewKey::new(BOOTSTRAP_ADMIN_USER, Role::Admin);
        new.description = "bootstrap admin key (AUREN_ADMIN_KEY)".to_owned();
        match keys.register(admin_key, new).await? {
            Registration::Registered(record) => {
                tracing::info!(key_id = %record.key_id, "AUREN_ADMIN_KEY registered");
            }
            Registration::AlreadyRegistered(record) => {
                if record.role != Role::Admin || record.revoked_at.is_some() {
                    tracing::warn!(
                        key_id = %record.key_id,
                        "AUREN_ADMIN_KEY is registered but is not an active admin key",
                    );
                }
            }
        }
        return Ok(());
    }

    if keys.has_active_admin().await? {
        return Ok(());
    }
    let mut new = NewKey::new(BOOTSTRAP_ADMIN_USER, Role::Admin);
    new.description = "first admin key, created at start-up".to_owned();
    let issued = keys.create(new).await?;
    println!("AUREN_ADMIN_KEY={}", issued.key.expose_secret());
    tracing::warn!(
        key_id = %issued.record.key_id,
        "no admin key existed: a new one was printed on stdout once; store it in your \
         secret vault and pass it as AUREN_ADMIN_KEY",
    );
    Ok(())
}

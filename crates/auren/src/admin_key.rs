//! The first admin key: registered from the configuration, or created once.

use auren_auth::{ApiKey, ApiKeys, KeyError, NewKey, Registration};
use auren_core::Role;

/// The user id of the admin keys registered or created at start-up.
pub const BOOTSTRAP_ADMIN_USER: &str = "admin";

/// Registers `configured` (idempotently); without one, creates an admin key when no
/// active admin key exists and returns it, for the host to hand to its operator once.
/// Concurrent calls on one store create at most one key.
pub(crate) async fn ensure(
    keys: &ApiKeys,
    configured: Option<&ApiKey>,
) -> Result<Option<ApiKey>, KeyError> {
    if let Some(admin_key) = configured {
        register(keys, admin_key).await?;
        return Ok(None);
    }

    // Checked and created in one atomic step, so instances starting together on one
    // database create one admin key between them.
    let mut new = NewKey::new(BOOTSTRAP_ADMIN_USER, Role::Admin);
    new.description = "first admin key, created at start-up".to_owned();
    let Some(issued) = keys.create_if_no_active_admin(new).await? else {
        return Ok(None);
    };
    tracing::warn!(
        key_id = %issued.record.key_id,
        "no admin key existed: a new one was created; store it in a secret vault and pass \
         it as AUREN_ADMIN_KEY",
    );
    Ok(Some(issued.key))
}

async fn register(keys: &ApiKeys, admin_key: &ApiKey) -> Result<(), KeyError> {
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
    Ok(())
}

//! Rotation: a new data key for new writes, or the data keys re-wrapped under a new
//! master key.

use crate::data_key::{self, DataKey, DataKeyId};
use crate::error::PhiError;
use crate::master_key::MasterKey;
use crate::phi::PhiCrypto;

impl PhiCrypto {
    /// Creates a new active data key and retires the current one.
    ///
    /// New values are sealed with the new key at once by this instance, and by other
    /// instances once their active-key refresh interval has passed
    /// ([`CacheConfig::active_refresh`](crate::CacheConfig::active_refresh)). Values
    /// sealed by the retired key still open; [`reencrypt`](crate::reencrypt) moves them.
    ///
    /// # Example
    ///
    /// ```
    /// use auren_phi_crypto::{InMemoryKeyStore, MasterKey, PhiCrypto};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), auren_phi_crypto::PhiError> {
    /// let phi = PhiCrypto::builder(MasterKey::generate()?, InMemoryKeyStore::new())
    ///     .build()
    ///     .await?;
    /// let old = phi.encrypt_phi_field("resting", "user_1").await?;
    ///
    /// let new_key = phi.rotate_data_key().await?;
    /// assert_eq!(phi.active_key_id().await?, new_key);
    /// assert_eq!(phi.decrypt_phi_field::<String>(&old, "user_1").await?, "resting");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`PhiError::NoActiveKey`] when no key is active, [`PhiError::KeyStore`] when the
    /// store fails or another rotation happened at the same time (`Conflict`: retry).
    pub async fn rotate_data_key(&self) -> Result<DataKeyId, PhiError> {
        let store = self.key_store();
        let keys = store.list().await?;
        let current = store.active().await?.ok_or(PhiError::NoActiveKey)?;
        let version = keys.iter().map(|key| key.version).max().unwrap_or(0) + 1;

        let (key, next) = DataKey::generate(self.master(), version, self.random())?;
        let id = next.id;
        store.rotate(current.id, next).await?;
        tracing::debug!(retired = %current.id, active = %id, "rotated the PHI data key");

        drop(key);
        self.refresh_active().await?;
        Ok(id)
    }

    /// Re-wraps every stored data key under `new_master`, in one transaction; no sealed
    /// field changes. Returns how many keys were re-wrapped.
    ///
    /// Afterwards, this cipher's master key is the old one: build a new [`PhiCrypto`]
    /// with `new_master`, and give every instance the new `PHI_MASTER_KEY`.
    ///
    /// # Errors
    ///
    /// [`PhiError::MasterKeyMismatch`] when a stored key does not unwrap under this
    /// cipher's master key, [`PhiError::KeyStore`] when the store fails; in both cases no
    /// key was changed.
    pub async fn rotate_master_key(&self, new_master: &MasterKey) -> Result<usize, PhiError> {
        let current = self.master().clone();
        let random = self.random().clone();
        let rewrap = move |stored: &data_key::StoredDataKey| {
            let key = DataKey::unwrap(&current, stored)?;
            data_key::wrap(
                new_master,
                stored.id,
                stored.version,
                &key.material,
                &random,
            )
        };

        let count = self.key_store().rewrap_all(&rewrap).await?;
        tracing::debug!(
            keys = count,
            "re-wrapped the PHI data keys under a new master key"
        );
        Ok(count)
    }
}

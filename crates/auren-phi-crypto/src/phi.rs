//! [`PhiCrypto`]: seals and opens field values bound to their user and field.

use std::fmt;
use std::sync::Arc;

use ring::rand::SystemRandom;
use serde::de::DeserializeOwned;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::buffer::{self, SealingBuffer};
use crate::cache::{CacheConfig, CachedDataKey, KeyCache};
use crate::data_key::{DataKey, DataKeyId};
use crate::error::PhiError;
use crate::master_key::MasterKey;
use crate::metrics::{record_cache_lookup, record_operation, KeyCacheKind, Operation};
use crate::sealed::{format_sealed, StoredParts};
use crate::store::KeyStore;

/// What a sealed value is bound to: the user it belongs to and, optionally, the field
/// (column) it is stored in.
///
/// A value sealed for one context does not open in another, so a value copied to another
/// user's row or to another column fails with [`PhiError::WrongContextOrTampered`].
///
/// # Example
///
/// ```
/// use auren_phi_crypto::PhiContext;
///
/// let context = PhiContext::user("user_1").field("bpm");
/// assert_eq!(context.user_id(), "user_1");
/// assert_eq!(context.field_name(), Some("bpm"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhiContext<'a> {
    user_id: &'a str,
    field: Option<&'a str>,
}

impl<'a> PhiContext<'a> {
    /// The context of `user_id`, with no field name.
    pub fn user(user_id: &'a str) -> Self {
        Self {
            user_id,
            field: None,
        }
    }

    /// The same context, also bound to the field `name`.
    pub fn field(self, name: &'a str) -> Self {
        Self {
            field: Some(name),
            ..self
        }
    }

    /// The user id.
    pub fn user_id(&self) -> &'a str {
        self.user_id
    }

    /// The field name, if any.
    pub fn field_name(&self) -> Option<&'a str> {
        self.field
    }
}

/// Field-level encryption of PHI: typed values in, `v1:<key id>:<base64url>` strings out.
///
/// Cheap to clone; clones share the key caches.
///
/// # Example
///
/// ```
/// use auren_phi_crypto::{InMemoryKeyStore, MasterKey, PhiCrypto, PhiError};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), PhiError> {
/// let phi = PhiCrypto::builder(MasterKey::generate()?, InMemoryKeyStore::new())
///     .build()
///     .await?;
///
/// let stored = phi.encrypt_phi_field(&72_u16, "device_123").await?;
/// assert!(stored.starts_with("v1:dk_"));
/// assert_eq!(phi.decrypt_phi_field::<u16>(&stored, "device_123").await?, 72);
///
/// let other_user = phi.decrypt_phi_field::<u16>(&stored, "device_999").await;
/// assert!(matches!(other_user, Err(PhiError::WrongContextOrTampered)));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PhiCrypto {
    inner: Arc<Inner>,
}

struct Inner {
    master: MasterKey,
    store: Arc<dyn KeyStore>,
    random: SystemRandom,
    cache: Option<KeyCache>,
}

impl fmt::Debug for PhiCrypto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PhiCrypto")
            .field("master", &self.inner.master)
            .field("store", &self.inner.store)
            .field("cache", &self.inner.cache)
            .finish()
    }
}

/// Builds a [`PhiCrypto`]; see [`PhiCrypto::builder`].
#[derive(Debug)]
#[must_use = "call `build().await` to get a PhiCrypto"]
pub struct PhiCryptoBuilder {
    master: MasterKey,
    store: Arc<dyn KeyStore>,
    cache: Option<CacheConfig>,
}

impl PhiCryptoBuilder {
    /// Sizes the key caches (the default is [`CacheConfig::default`]).
    pub fn cache(mut self, config: CacheConfig) -> Self {
        self.cache = Some(config);
        self
    }

    /// Turns the key caches off: every call reads the key store, unwraps a data key and
    /// derives the user key. Meant for measuring what the cache saves.
    pub fn without_cache(mut self) -> Self {
        self.cache = None;
        self
    }

    /// Checks the master key against the stored data keys and returns the ready cipher.
    ///
    /// With no data key stored yet, the first one is created. With data keys stored,
    /// every one must unwrap under the master key, so a wrong `PHI_MASTER_KEY` stops the
    /// start instead of orphaning data.
    ///
    /// # Errors
    ///
    /// [`PhiError::MasterKeyMismatch`] when the master key cannot unwrap a stored key,
    /// [`PhiError::NoActiveKey`] when keys are stored but none is active,
    /// [`PhiError::KeyStore`] when the store fails.
    pub async fn build(self) -> Result<PhiCrypto, PhiError> {
        let inner = Inner {
            master: self.master,
            store: self.store,
            random: SystemRandom::new(),
            cache: self.cache.map(KeyCache::new),
        };

        let stored = inner.store.list().await?;
        if stored.is_empty() {
            let (_, first) = DataKey::generate(&inner.master, 1, &inner.random)?;
            let active = inner.store.create_first(first).await?;
            tracing::debug!(key_id = %active.id, "created the first PHI data key");
        } else {
            for key in &stored {
                let unwrapped = DataKey::unwrap(&inner.master, key)?;
                if let Some(cache) = &inner.cache {
                    cache.insert_data_key(Arc::new(CachedDataKey::cached(
                        unwrapped,
                        cache.config(),
                    )));
                }
            }
        }

        let phi = PhiCrypto {
            inner: Arc::new(inner),
        };
        phi.refresh_active().await?;
        Ok(phi)
    }
}

impl PhiCrypto {
    /// Starts building a cipher that unwraps the data keys in `store` with `master`.
    pub fn builder(master: MasterKey, store: impl KeyStore) -> PhiCryptoBuilder {
        Self::builder_shared(master, Arc::new(store))
    }

    /// As [`builder`](Self::builder), for a store already behind an `Arc`.
    pub fn builder_shared(master: MasterKey, store: Arc<dyn KeyStore>) -> PhiCryptoBuilder {
        PhiCryptoBuilder {
            master,
            store,
            cache: Some(CacheConfig::default()),
        }
    }

    /// Seals `value` for `user_id`.
    ///
    /// # Errors
    ///
    /// [`PhiError::Encode`] when `value` cannot be serialized, [`PhiError::KeyStore`]
    /// when the active key must be fetched and the store fails.
    pub async fn encrypt_phi_field<T>(&self, value: &T, user_id: &str) -> Result<String, PhiError>
    where
        T: Serialize + ?Sized,
    {
        self.encrypt(value, PhiContext::user(user_id)).await
    }

    /// Seals `value` for `user_id` and the field `field`.
    ///
    /// # Errors
    ///
    /// As [`encrypt_phi_field`](Self::encrypt_phi_field).
    pub async fn encrypt_phi_field_in<T>(
        &self,
        value: &T,
        user_id: &str,
        field: &str,
    ) -> Result<String, PhiError>
    where
        T: Serialize + ?Sized,
    {
        self.encrypt(value, PhiContext::user(user_id).field(field))
            .await
    }

    /// Opens a value sealed for `user_id` (with no field name).
    ///
    /// # Errors
    ///
    /// [`PhiError::Format`] when `stored` is not a sealed value,
    /// [`PhiError::UnknownKey`] when its data key is not stored,
    /// [`PhiError::WrongContextOrTampered`] when it was sealed for another context or
    /// altered, [`PhiError::Decode`] when it is not a `T`.
    pub async fn decrypt_phi_field<T>(&self, stored: &str, user_id: &str) -> Result<T, PhiError>
    where
        T: DeserializeOwned,
    {
        self.decrypt(stored, PhiContext::user(user_id)).await
    }

    /// Opens a value sealed for `user_id` and the field `field`.
    ///
    /// # Errors
    ///
    /// As [`decrypt_phi_field`](Self::decrypt_phi_field).
    pub async fn decrypt_phi_field_in<T>(
        &self,
        stored: &str,
        user_id: &str,
        field: &str,
    ) -> Result<T, PhiError>
    where
        T: DeserializeOwned,
    {
        self.decrypt(stored, PhiContext::user(user_id).field(field))
            .await
    }

    /// Seals `value` for `context`.
    ///
    /// # Errors
    ///
    /// As [`encrypt_phi_field`](Self::encrypt_phi_field).
    pub async fn encrypt<T>(&self, value: &T, context: PhiContext<'_>) -> Result<String, PhiError>
    where
        T: Serialize + ?Sized,
    {
        record_operation(Operation::Encrypt, self.seal_value(value, context).await)
    }

    async fn seal_value<T>(&self, value: &T, context: PhiContext<'_>) -> Result<String, PhiError>
    where
        T: Serialize + ?Sized,
    {
        let buffer = SealingBuffer::serialize(value)?;

        let data_key = self.active_key().await?;
        self.seal(&data_key, buffer, context)
    }

    /// Opens a value sealed for `context`.
    ///
    /// # Errors
    ///
    /// As [`decrypt_phi_field`](Self::decrypt_phi_field).
    pub async fn decrypt<T>(&self, stored: &str, context: PhiContext<'_>) -> Result<T, PhiError>
    where
        T: DeserializeOwned,
    {
        let opened = self.open(stored, context).await;
        let value = opened.and_then(|plaintext| buffer::deserialize(&plaintext));
        record_operation(Operation::Decrypt, value)
    }

    /// Re-seals `stored` under the active data key when another key sealed it, without
    /// looking at the value's type. Returns `None` when it already uses the active key.
    ///
    /// # Errors
    ///
    /// As [`decrypt_phi_field`](Self::decrypt_phi_field), except for `Decode`.
    pub async fn reseal(
        &self,
        stored: &str,
        context: PhiContext<'_>,
    ) -> Result<Option<String>, PhiError> {
        let active = self.active_key().await?;
        if crate::sealed::sealed_key_id(stored)? == active.id() {
            return Ok(None);
        }

        let plaintext = record_operation(Operation::Decrypt, self.open(stored, context).await)?;
        let buffer = SealingBuffer::with_plaintext(&plaintext);
        record_operation(Operation::Encrypt, self.seal(&active, buffer, context)).map(Some)
    }

    /// The id of the data key new values are sealed with.
    ///
    /// # Errors
    ///
    /// [`PhiError::KeyStore`] when the active key must be fetched and the store fails.
    pub async fn active_key_id(&self) -> Result<DataKeyId, PhiError> {
        Ok(self.active_key().await?.id())
    }

    /// The key store this cipher reads.
    pub fn key_store(&self) -> &Arc<dyn KeyStore> {
        &self.inner.store
    }

    /// The master key, for rotation.
    pub(crate) fn master(&self) -> &MasterKey {
        &self.inner.master
    }

    pub(crate) fn random(&self) -> &SystemRandom {
        &self.inner.random
    }

    fn seal(
        &self,
        data_key: &CachedDataKey,
        buffer: SealingBuffer,
        context: PhiContext<'_>,
    ) -> Result<String, PhiError> {
        let user_key = data_key.user_key(context.user_id)?;
        let payload = data_key.with_aad(context.user_id, context.field, |aad| {
            buffer.seal(&user_key, &self.inner.random, aad)
        })?;

        Ok(format_sealed(data_key.id_text(), &payload))
    }

    /// Opens `stored` for `context` and returns its plaintext (CBOR), wiped on drop.
    async fn open(
        &self,
        stored: &str,
        context: PhiContext<'_>,
    ) -> Result<Zeroizing<Vec<u8>>, PhiError> {
        // Malformed input is reported before any key is looked up.
        let parts = StoredParts::split(stored)?;
        let mut payload = parts.decode_payload()?;

        let data_key = self.data_key(parts.key_id).await?;
        let user_key = data_key.user_key(context.user_id)?;
        data_key.with_aad(context.user_id, context.field, |aad| {
            buffer::open_in_place(&mut payload, &user_key, aad)
        })?;
        Ok(payload)
    }

    async fn active_key(&self) -> Result<Arc<CachedDataKey>, PhiError> {
        if let Some(cache) = &self.inner.cache {
            let active = cache.active();
            record_cache_lookup(KeyCacheKind::DataKey, active.is_some());
            if let Some(active) = active {
                return Ok(active);
            }
        }
        self.refresh_active().await
    }

    /// Looks the active key up in the store and remembers it.
    pub(crate) async fn refresh_active(&self) -> Result<Arc<CachedDataKey>, PhiError> {
        let stored = self
            .inner
            .store
            .active()
            .await?
            .ok_or(PhiError::NoActiveKey)?;

        let Some(cache) = &self.inner.cache else {
            let key = DataKey::unwrap(&self.inner.master, &stored)?;
            return Ok(Arc::new(CachedDataKey::uncached(key)));
        };
        let key = match cache.data_key(stored.id) {
            Some(key) => key,
            None => {
                let key = DataKey::unwrap(&self.inner.master, &stored)?;
                Arc::new(CachedDataKey::cached(key, cache.config()))
            }
        };
        cache.set_active(key.clone());
        Ok(key)
    }

    async fn data_key(&self, id: DataKeyId) -> Result<Arc<CachedDataKey>, PhiError> {
        if let Some(cache) = &self.inner.cache {
            let cached = cache.data_key(id);
            record_cache_lookup(KeyCacheKind::DataKey, cached.is_some());
            if let Some(key) = cached {
                return Ok(key);
            }
        }

        let stored = self
            .inner
            .store
            .get(id)
            .await?
            .ok_or(PhiError::UnknownKey(id))?;
        let key = DataKey::unwrap(&self.inner.master, &stored)?;
        let Some(cache) = &self.inner.cache else {
            return Ok(Arc::new(CachedDataKey::uncached(key)));
        };
        let key = Arc::new(CachedDataKey::cached(key, cache.config()));
        cache.insert_data_key(key.clone());
        Ok(key)
    }
}

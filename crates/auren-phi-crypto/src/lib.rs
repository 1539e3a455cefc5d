//! Field-level encryption of PHI with envelope keys, caching and rotation.
//!
//! A host seals each PHI value before it stores it and opens it after it reads it back:
//!
//! - A [`MasterKey`] (from `PHI_MASTER_KEY`, 32 bytes, base64) wraps random data keys,
//!   which a [`KeyStore`] keeps only in wrapped form ([`PostgresKeyStore`] in the table
//!   `phi_encryption_keys`, [`InMemoryKeyStore`] for the embedded default).
//! - Per-user keys are derived from the active data key with HKDF-SHA256; values are
//!   sealed with AES-256-GCM and a random 96-bit nonce.
//! - The user id, an optional field name, the data key id and the format version are the
//!   associated data: a value moved to another user or column does not open
//!   ([`PhiError::WrongContextOrTampered`]).
//! - The stored form is `v1:<data key id>:<base64url(nonce || ciphertext || tag)>`, safe
//!   for a TEXT column and readable after rotation ([`SealedValue`]).
//! - Unwrapped data keys and derived keys are cached, bounded and expiring
//!   ([`CacheConfig`]); key bytes are wiped on drop and never printed.
//! - Rotation: [`PhiCrypto::rotate_data_key`], [`PhiCrypto::rotate_master_key`] and
//!   [`reencrypt()`] over a host's table.
//!
//! The design, its limits and the rotation runbook are in `docs/phi-crypto.md`.
//!
//! # Example
//!
//! ```
//! use auren_phi_crypto::{InMemoryKeyStore, MasterKey, PhiCrypto, PhiError};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, PartialEq, Serialize, Deserialize)]
//! struct BloodPressure {
//!     systolic: u16,
//!     diastolic: u16,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), PhiError> {
//! let master = MasterKey::generate()?; // in production: MasterKey::from_base64(..)
//! let phi = PhiCrypto::builder(master, InMemoryKeyStore::new()).build().await?;
//!
//! let bpm = phi.encrypt_phi_field(&72_u16, "device_123").await?;
//! assert_eq!(phi.decrypt_phi_field::<u16>(&bpm, "device_123").await?, 72);
//!
//! let reading = BloodPressure { systolic: 120, diastolic: 80 };
//! let stored = phi.encrypt_phi_field_in(&reading, "user_1", "blood_pressure").await?;
//! let opened: BloodPressure =
//!     phi.decrypt_phi_field_in(&stored, "user_1", "blood_pressure").await?;
//! assert_eq!(opened, reading);
//!
//! // The same value in another column does not open.
//! let moved = phi.decrypt_phi_field_in::<BloodPressure>(&stored, "user_1", "weight").await;
//! assert!(matches!(moved, Err(PhiError::WrongContextOrTampered)));
//! # Ok(())
//! # }
//! ```

#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod buffer;
mod cache;
mod data_key;
mod derive;
mod error;
mod master_key;
pub mod metrics;
mod phi;
mod reencrypt;
mod rotation;
mod sealed;
mod store;

pub use cache::CacheConfig;
pub use data_key::{DataKeyId, DataKeyState, StoredDataKey};
pub use error::{FormatError, KeyStoreError, MasterKeyError, PhiError};
pub use master_key::{MasterKey, KEY_LEN};
pub use phi::{PhiContext, PhiCrypto, PhiCryptoBuilder};
pub use reencrypt::{
    count_rows, reencrypt, ReencryptError, ReencryptOptions, ReencryptProgress, ReencryptTarget,
    DEFAULT_BATCH_SIZE,
};
pub use sealed::{sealed_key_id, SealedValue};
pub use store::{InMemoryKeyStore, KeyStore, PostgresKeyStore, Rewrap};

//! What can go wrong: reading a stored value, using the keys, talking to the key store.
//!
//! No message here ever contains a key, a plaintext value or a sealed value.

use crate::data_key::DataKeyId;

/// Why a stored string is not a sealed value at all.
///
/// These are found before any key is used, so they say nothing about the keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The string is empty.
    #[error("the sealed value is empty")]
    Empty,
    /// The string does not have the `<version>:<key id>:<payload>` shape.
    #[error("the sealed value does not have the form v1:<key id>:<payload>")]
    Shape,
    /// The version tag is not one this crate reads.
    #[error("the sealed value has an unsupported version tag")]
    UnsupportedVersion,
    /// The key id is not a data key id.
    #[error("the sealed value names an invalid data key id")]
    KeyId,
    /// The payload is not unpadded base64url.
    #[error("the sealed payload is not valid base64url")]
    Base64,
    /// The payload is too short to hold a nonce and a tag.
    #[error("the sealed payload is too short (truncated)")]
    Truncated,
}

/// Why a `PHI_MASTER_KEY` value is not a master key.
///
/// The message never contains the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MasterKeyError {
    /// The value is not standard or URL-safe base64.
    #[error("the master key is not valid base64")]
    Base64,
    /// The value decodes to a length other than 32 bytes.
    #[error("the master key must decode to exactly 32 bytes, not {0}")]
    Length(usize),
}

/// The key store could not do its work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyStoreError {
    /// Postgres could not be reached or refused a statement.
    #[error("the PHI key store (Postgres) failed")]
    Postgres(#[from] auren_core::postgres::PostgresError),
    /// A stored key row is not valid.
    #[error("a stored PHI data key row is not valid: {0}")]
    Corrupt(&'static str),
    /// Another writer changed the keys at the same time; retrying is safe.
    #[error("the PHI data keys changed concurrently; retry")]
    Conflict,
}

/// An encryption, decryption or key operation that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PhiError {
    /// The stored string is not a sealed value.
    #[error("malformed sealed value: {0}")]
    Format(#[from] FormatError),
    /// Authentication failed: the value was sealed for another context (another user id
    /// or field name, or another row's value was swapped in), or its bytes were changed.
    ///
    /// AES-GCM cannot tell these cases apart, so they share this one variant.
    #[error("the sealed value does not belong to this context or was tampered with")]
    WrongContextOrTampered,
    /// The value names a data key that the key store does not hold.
    #[error("the sealed value names an unknown data key {0}")]
    UnknownKey(DataKeyId),
    /// The master key cannot unwrap a stored data key: it is not the key they were
    /// wrapped with, or the stored key was altered.
    #[error(
        "the PHI master key cannot unwrap data key {0}: PHI_MASTER_KEY is not the key \
         the stored data keys were wrapped with"
    )]
    MasterKeyMismatch(DataKeyId),
    /// The store holds data keys but none is active.
    #[error("the PHI key store holds no active data key")]
    NoActiveKey,
    /// The value could not be serialized.
    #[error("the value could not be serialized for encryption")]
    Encode,
    /// The decrypted bytes are not a value of the requested type.
    #[error("the decrypted value is not a {expected}")]
    Decode {
        /// The requested type.
        expected: &'static str,
    },
    /// The system random generator failed.
    #[error("the system random generator failed")]
    Random,
    /// The cryptographic library refused an operation that cannot fail with valid
    /// inputs (for example, sealing more than AES-GCM allows in one message).
    #[error("a cryptographic operation failed")]
    Crypto,
    /// The key store failed.
    #[error(transparent)]
    KeyStore(#[from] KeyStoreError),
}

impl From<auren_core::postgres::PostgresError> for PhiError {
    fn from(error: auren_core::postgres::PostgresError) -> Self {
        Self::KeyStore(KeyStoreError::Postgres(error))
    }
}

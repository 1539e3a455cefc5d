//! The stored form of a key: its SHA-256 digest.

use std::fmt;

use subtle::ConstantTimeEq;

use crate::ApiKey;

/// The SHA-256 digest of a whole key, which is all a store keeps of the secret.
///
/// Keys carry 190 bits of randomness, so a fast hash is enough: no slow password hash is
/// needed to resist guessing. Stores look records up by digest (a hash map or an indexed
/// column) and the verifier then compares the digests in constant time.
///
/// `Debug` shows nothing of the bytes.
///
/// # Example
///
/// ```
/// use auren_auth::{KeyDigest, KeyFormat};
///
/// let key = KeyFormat::default().generate().unwrap();
/// let digest = KeyDigest::of(&key);
/// assert_eq!(digest, KeyDigest::of(&key));
/// assert_eq!(KeyDigest::from_hex(&digest.to_hex()), Some(digest));
/// ```
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct KeyDigest([u8; 32]);

impl KeyDigest {
    /// The digest of `key`.
    pub fn of(key: &ApiKey) -> Self {
        Self::of_text(key.expose_secret())
    }

    pub(crate) fn of_text(text: &str) -> Self {
        let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(digest.as_ref());
        Self(bytes)
    }

    /// A digest from its 32 raw bytes, as stored; `None` for any other length.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }

    /// A digest from 64 hex characters, as sent in invalidation notices.
    pub fn from_hex(text: &str) -> Option<Self> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).ok()?;
        Some(Self(bytes))
    }

    /// The 32 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The digest as 64 lowercase hex characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Compares two digests in constant time.
    pub fn ct_matches(&self, other: &KeyDigest) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for KeyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyDigest(..)")
    }
}

//! The stored form of a key: its SHA-256 digest.

use std::fmt;
use std::hash::{Hash, Hasher};

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
#[derive(Clone, Copy, PartialEq, Eq)]
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
        // XOR word by word and OR the differences together, without branching, then test
        // the result in constant time: one `subtle` comparison instead of 32.
        let difference = (0..4).fold(0u64, |acc, i| acc | (self.word(i) ^ other.word(i)));
        difference.ct_eq(&0).into()
    }

    /// The `index`th 8 bytes of the digest as a number.
    fn word(&self, index: usize) -> u64 {
        let mut word = [0u8; 8];
        word.copy_from_slice(&self.0[index * 8..index * 8 + 8]);
        u64::from_le_bytes(word)
    }
}

/// Hashes the first 8 bytes only: a SHA-256 digest is uniformly random, so they spread
/// keys as well as all 32 would, and nobody can pick a key for its digest. Equal digests
/// hash equally, as `Eq` requires.
impl Hash for KeyDigest {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.word(0));
    }
}

impl fmt::Debug for KeyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyDigest(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_only_when_every_byte_does() {
        let digest = KeyDigest([7; 32]);
        assert!(digest.ct_matches(&KeyDigest([7; 32])));
        for index in 0..32 {
            let mut other = digest;
            other.0[index] ^= 0x80;
            assert!(!digest.ct_matches(&other), "byte {index}");
        }
    }
}

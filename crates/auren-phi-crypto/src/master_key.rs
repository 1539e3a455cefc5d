//! The master key: the one secret an operator holds, which wraps every data key.

use std::fmt;

use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{MasterKeyError, PhiError};

/// The length of every key in this crate, in bytes.
pub const KEY_LEN: usize = 32;

/// A 256-bit master key, usually read from `PHI_MASTER_KEY`.
///
/// It only ever wraps and unwraps data keys; field values are never sealed with it
/// directly. The bytes are wiped on drop, `Debug` prints nothing of them and equality is
/// checked in constant time.
///
/// # Example
///
/// ```
/// use auren_phi_crypto::MasterKey;
///
/// let key = MasterKey::generate().unwrap();
/// let again = MasterKey::from_base64(&key.to_base64()).unwrap();
/// assert_eq!(key, again);
/// assert_eq!(format!("{key:?}"), "MasterKey(<redacted>)");
/// assert!(MasterKey::from_base64("dG9vIHNob3J0").is_err());
/// ```
#[derive(Clone)]
pub struct MasterKey {
    bytes: Zeroizing<[u8; KEY_LEN]>,
}

impl MasterKey {
    /// Reads a key from base64 (standard or URL-safe, padded or not) of exactly 32 bytes.
    ///
    /// Surrounding whitespace is ignored.
    ///
    /// # Errors
    ///
    /// [`MasterKeyError::Base64`] or [`MasterKeyError::Length`]; neither shows the value.
    pub fn from_base64(encoded: &str) -> Result<Self, MasterKeyError> {
        let encoded = encoded.trim();
        let mut decoded = [&STANDARD, &URL_SAFE, &URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(encoded).ok())
            .or_else(|| {
                base64::engine::general_purpose::STANDARD_NO_PAD
                    .decode(encoded)
                    .ok()
            })
            .ok_or(MasterKeyError::Base64)?;

        let result = <[u8; KEY_LEN]>::try_from(decoded.as_slice())
            .map(Self::from_bytes)
            .map_err(|_| MasterKeyError::Length(decoded.len()));
        decoded.zeroize();
        result
    }

    /// A key from raw bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self {
            bytes: Zeroizing::new(bytes),
        }
    }

    /// A fresh random key from the system generator.
    ///
    /// # Errors
    ///
    /// [`PhiError::Random`] when the system generator fails.
    pub fn generate() -> Result<Self, PhiError> {
        let mut bytes = Zeroizing::new([0_u8; KEY_LEN]);
        SystemRandom::new()
            .fill(bytes.as_mut())
            .map_err(|_| PhiError::Random)?;
        Ok(Self { bytes })
    }

    /// The key as standard padded base64, the form `PHI_MASTER_KEY` takes.
    ///
    /// Handle the result as the secret it is.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.bytes.as_ref())
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }
}

impl PartialEq for MasterKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes.ct_eq(&*other.bytes).into()
    }
}

impl Eq for MasterKey {}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_base64_flavour_is_read() {
        let key = MasterKey::from_bytes([0xfb; KEY_LEN]);
        let bytes = [0xfb; KEY_LEN];
        for encoded in [
            STANDARD.encode(bytes),
            URL_SAFE.encode(bytes),
            URL_SAFE_NO_PAD.encode(bytes),
            format!("  {}\n", STANDARD.encode(bytes)),
        ] {
            assert_eq!(MasterKey::from_base64(&encoded), Ok(key.clone()));
        }
    }

    #[test]
    fn bad_values_are_rejected_without_echoing_them() {
        assert_eq!(
            MasterKey::from_base64("not base64 at all!"),
            Err(MasterKeyError::Base64)
        );
        let short = STANDARD.encode([1_u8; 16]);
        let error = MasterKey::from_base64(&short).expect_err("16 bytes");
        assert_eq!(error, MasterKeyError::Length(16));
        assert!(!error.to_string().contains(&short));
    }

    #[test]
    fn generated_keys_differ_and_debug_is_redacted() {
        let a = MasterKey::generate().expect("random");
        let b = MasterKey::generate().expect("random");
        assert_ne!(a, b);
        assert!(!format!("{a:?}").contains(&a.to_base64()));
    }
}

//! Data keys: random keys that per-user field keys are derived from, stored only wrapped
//! under the master key.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use ulid::Ulid;
use zeroize::Zeroizing;

use crate::error::{FormatError, PhiError};
use crate::master_key::{MasterKey, KEY_LEN};

/// The prefix of every data key id.
const ID_PREFIX: &str = "dk_";

/// Binds a wrapped key to its purpose, so a wrapped key is never mistaken for a field.
const WRAP_DOMAIN: &[u8] = b"auren-phi-crypto/wrap/v1";

/// The length of a wrapped data key: nonce, sealed key and tag.
pub(crate) const WRAPPED_LEN: usize = NONCE_LEN + KEY_LEN + 16;

/// The id of a data key: `dk_` and a ULID, as it appears in every sealed value.
///
/// # Example
///
/// ```
/// use auren_phi_crypto::DataKeyId;
///
/// let id = DataKeyId::new();
/// let parsed: DataKeyId = id.to_string().parse().unwrap();
/// assert_eq!(id, parsed);
/// assert!("dk_nope".parse::<DataKeyId>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DataKeyId(Ulid);

impl DataKeyId {
    /// A new, unique id.
    pub fn new() -> Self {
        Self(Ulid::new())
    }
}

impl Default for DataKeyId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for DataKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{ID_PREFIX}{}", self.0)
    }
}

impl FromStr for DataKeyId {
    type Err = FormatError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let ulid = text.strip_prefix(ID_PREFIX).ok_or(FormatError::KeyId)?;

        // Only the canonical spelling, so one key has exactly one id string.
        let parsed = Ulid::from_string(ulid).map_err(|_| FormatError::KeyId)?;
        let mut canonical = [0_u8; ulid::ULID_LEN];
        if parsed.array_to_str(&mut canonical) != ulid {
            return Err(FormatError::KeyId);
        }
        Ok(Self(parsed))
    }
}

/// Whether new values are sealed with a data key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKeyState {
    /// The one key new values are sealed with.
    Active,
    /// A former key: it still opens the values it sealed, and seals nothing new.
    Retired,
}

impl DataKeyState {
    /// The state's name in the key table.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Retired => "retired",
        }
    }

    /// The state named `text`, if any.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "active" => Some(Self::Active),
            "retired" => Some(Self::Retired),
            _ => None,
        }
    }
}

/// A data key as the key store holds it: wrapped under the master key.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredDataKey {
    /// The key's id.
    pub id: DataKeyId,
    /// Its place in the order of creation, starting at 1.
    pub version: u32,
    /// Nonce, sealed key and tag, under the master key.
    pub wrapped: Vec<u8>,
    /// Whether it seals new values.
    pub state: DataKeyState,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last retired or re-wrapped.
    pub rotated_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for StoredDataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredDataKey")
            .field("id", &self.id)
            .field("version", &self.version)
            .field("wrapped", &format_args!("<{} bytes>", self.wrapped.len()))
            .field("state", &self.state)
            .field("created_at", &self.created_at)
            .field("rotated_at", &self.rotated_at)
            .finish()
    }
}

/// An unwrapped data key; its bytes are wiped on drop.
pub(crate) struct DataKey {
    pub(crate) id: DataKeyId,
    pub(crate) material: Zeroizing<[u8; KEY_LEN]>,
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl DataKey {
    /// A new random data key, and its wrapped form to store, as version `version`.
    pub(crate) fn generate(
        master: &MasterKey,
        version: u32,
        random: &SystemRandom,
    ) -> Result<(Self, StoredDataKey), PhiError> {
        let mut material = Zeroizing::new([0_u8; KEY_LEN]);
        random
            .fill(material.as_mut())
            .map_err(|_| PhiError::Random)?;

        let id = DataKeyId::new();
        let wrapped = wrap(master, id, version, &material, random)?;
        let stored = StoredDataKey {
            id,
            version,
            wrapped,
            state: DataKeyState::Active,
            created_at: Utc::now(),
            rotated_at: None,
        };
        Ok((Self { id, material }, stored))
    }

    /// Unwraps `stored` with `master`.
    ///
    /// # Errors
    ///
    /// [`PhiError::MasterKeyMismatch`] when `master` did not wrap it or it was altered.
    pub(crate) fn unwrap(master: &MasterKey, stored: &StoredDataKey) -> Result<Self, PhiError> {
        let mismatch = || PhiError::MasterKeyMismatch(stored.id);
        if stored.wrapped.len() != WRAPPED_LEN {
            return Err(mismatch());
        }

        let (nonce, sealed) = stored.wrapped.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| mismatch())?;
        let mut buffer = Zeroizing::new(sealed.to_vec());
        let aad = wrap_aad(stored.id, stored.version);
        let plain = master_cipher(master)?
            .open_in_place(nonce, Aad::from(aad.as_slice()), &mut buffer)
            .map_err(|_| mismatch())?;

        let mut material = Zeroizing::new([0_u8; KEY_LEN]);
        material.copy_from_slice(plain);
        Ok(Self {
            id: stored.id,
            material,
        })
    }
}

/// `material` sealed under `master` for key `id` at `version`: nonce, sealed key and tag.
pub(crate) fn wrap(
    master: &MasterKey,
    id: DataKeyId,
    version: u32,
    material: &[u8; KEY_LEN],
    random: &SystemRandom,
) -> Result<Vec<u8>, PhiError> {
    let mut nonce = [0_u8; NONCE_LEN];
    random.fill(&mut nonce).map_err(|_| PhiError::Random)?;

    let mut buffer = Zeroizing::new(material.to_vec());
    let aad = wrap_aad(id, version);
    master_cipher(master)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad.as_slice()),
            &mut *buffer,
        )
        .map_err(|_| PhiError::Crypto)?;

    let mut wrapped = Vec::with_capacity(WRAPPED_LEN);
    wrapped.extend_from_slice(&nonce);
    wrapped.extend_from_slice(&buffer);
    Ok(wrapped)
}

fn master_cipher(master: &MasterKey) -> Result<LessSafeKey, PhiError> {
    // A 32-byte key always fits AES-256; the error branch cannot be taken.
    let key = UnboundKey::new(&AES_256_GCM, master.bytes()).map_err(|_| PhiError::Crypto)?;
    Ok(LessSafeKey::new(key))
}

fn wrap_aad(id: DataKeyId, version: u32) -> Vec<u8> {
    let id = id.to_string();
    let mut aad = Vec::with_capacity(WRAP_DOMAIN.len() + id.len() + 8);
    crate::derive::put_field(&mut aad, WRAP_DOMAIN);
    crate::derive::put_field(&mut aad, id.as_bytes());
    aad.extend_from_slice(&version.to_be_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_keys_unwrap_only_with_their_master_id_and_version() {
        let random = SystemRandom::new();
        let master = MasterKey::generate().expect("random");
        let (key, stored) = DataKey::generate(&master, 1, &random).expect("generate");
        assert_eq!(stored.wrapped.len(), WRAPPED_LEN);

        let unwrapped = DataKey::unwrap(&master, &stored).expect("same master");
        assert_eq!(*unwrapped.material, *key.material);

        let other = MasterKey::generate().expect("random");
        assert!(matches!(
            DataKey::unwrap(&other, &stored),
            Err(PhiError::MasterKeyMismatch(id)) if id == stored.id
        ));
        let bumped = StoredDataKey {
            version: 2,
            ..stored.clone()
        };
        assert!(DataKey::unwrap(&master, &bumped).is_err());
        let truncated = StoredDataKey {
            wrapped: stored.wrapped[..10].to_vec(),
            ..stored.clone()
        };
        assert!(DataKey::unwrap(&master, &truncated).is_err());
    }

    #[test]
    fn ids_parse_only_in_canonical_form() {
        let id = DataKeyId::new();
        assert_eq!(id.to_string().parse::<DataKeyId>(), Ok(id));
        let lower = id.to_string().to_lowercase();
        assert!(lower.parse::<DataKeyId>().is_err());
        for bad in [
            "",
            "dk_",
            "01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "dk_01ARZ3NDEKTSV4RRFFQ69G5FA",
        ] {
            assert!(bad.parse::<DataKeyId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_shows_no_key_bytes() {
        let random = SystemRandom::new();
        let master = MasterKey::generate().expect("random");
        let (key, stored) = DataKey::generate(&master, 1, &random).expect("generate");
        assert!(!format!("{key:?}").contains("material"));
        assert!(format!("{stored:?}").contains("<60 bytes>"));
    }
}

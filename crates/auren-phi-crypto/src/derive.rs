//! Per-user field keys (HKDF-SHA256 from a data key) and the associated data that binds a
//! sealed value to its context.
//!
//! Every variable-length input is length-prefixed (4 bytes, big endian), so no two
//! different contexts ever encode to the same bytes: user `"ab"` with field `"c"` is not
//! user `"a"` with field `"bc"`.

use ring::aead::{LessSafeKey, UnboundKey, AES_256_GCM};
use ring::hkdf::{Salt, HKDF_SHA256};

use crate::data_key::{DataKey, DataKeyId};
use crate::error::PhiError;

/// The HKDF salt: fixed, because the data key is already uniformly random.
const HKDF_SALT: &[u8] = b"auren-phi-crypto/hkdf/v1";

/// Separates the per-user key derivation from any other use of the data key.
const USER_KEY_DOMAIN: &[u8] = b"auren-phi-crypto/user-key/v1";

/// The version tag every sealed value of this format starts with.
pub(crate) const VERSION_TAG: &str = "v1";

/// Appends `bytes` with its length in front.
pub(crate) fn put_field(out: &mut Vec<u8>, bytes: &[u8]) {
    // A length past u32::MAX cannot occur for ids and field names; saturating keeps
    // the encoding total anyway, and the bytes that follow still differ.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The AES-256-GCM key of `user_id` under `data_key`.
pub(crate) fn user_key(data_key: &DataKey, user_id: &str) -> Result<LessSafeKey, PhiError> {
    let prk = Salt::new(HKDF_SHA256, HKDF_SALT).extract(data_key.material.as_ref());

    let mut user = Vec::with_capacity(user_id.len() + 4);
    put_field(&mut user, user_id.as_bytes());
    let mut domain = Vec::with_capacity(USER_KEY_DOMAIN.len() + 4);
    put_field(&mut domain, USER_KEY_DOMAIN);
    let info = [domain.as_slice(), user.as_slice()];

    // `expand` fails only when the output is longer than 255 hash lengths; 32 bytes is
    // one.
    let okm = prk
        .expand(&info, &AES_256_GCM)
        .map_err(|_| PhiError::Crypto)?;
    Ok(LessSafeKey::new(UnboundKey::from(okm)))
}

/// The start of the associated data of every value sealed by `key_id`: the format
/// version and the key id.
pub(crate) fn aad_prefix(key_id: DataKeyId) -> Vec<u8> {
    let key_id = key_id.to_string();
    let mut prefix = Vec::with_capacity(8 + VERSION_TAG.len() + key_id.len());
    put_field(&mut prefix, VERSION_TAG.as_bytes());
    put_field(&mut prefix, key_id.as_bytes());
    prefix
}

/// The associated data of a sealed value: `prefix` (see [`aad_prefix`]), the user id and
/// the optional field.
pub(crate) fn field_aad(prefix: &[u8], user_id: &str, field: Option<&str>) -> Vec<u8> {
    let field_len = field.map_or(0, str::len);
    let mut aad = Vec::with_capacity(prefix.len() + 9 + user_id.len() + field_len);

    aad.extend_from_slice(prefix);
    put_field(&mut aad, user_id.as_bytes());
    match field {
        None => aad.push(0),
        Some(field) => {
            aad.push(1);
            put_field(&mut aad, field.as_bytes());
        }
    }
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_never_collide() {
        let id = aad_prefix(DataKeyId::new());
        let other = aad_prefix(DataKeyId::new());
        let pairs = [
            (
                field_aad(&id, "ab", Some("c")),
                field_aad(&id, "a", Some("bc")),
            ),
            (field_aad(&id, "a", None), field_aad(&id, "a", Some(""))),
            (field_aad(&id, "a", None), field_aad(&other, "a", None)),
        ];
        for (left, right) in pairs {
            assert_ne!(left, right);
        }
    }
}

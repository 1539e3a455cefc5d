//! Per-user field keys (HKDF-SHA256 from a data key) and the associated data that binds a
//! sealed value to its context.
//!
//! Every variable-length input is length-prefixed (4 bytes, big endian), so no two
//! different contexts ever encode to the same bytes: user `"ab"` with field `"c"` is not
//! user `"a"` with field `"bc"`.

use std::io::{self, Write};

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

/// The most bytes of associated data built on the stack: enough for a user id and a
/// field name of about 140 bytes together. Longer contexts are built on the heap.
const INLINE_AAD: usize = 192;

/// Calls `use_aad` with the associated data of a sealed value: `prefix` (see
/// [`aad_prefix`]), the user id and the optional field.
///
/// The bytes are built on the stack when they fit, so the hot path allocates nothing for
/// them; both ways write the same bytes (see [`write_field_aad`]).
pub(crate) fn with_field_aad<R>(
    prefix: &[u8],
    user_id: &str,
    field: Option<&str>,
    use_aad: impl FnOnce(&[u8]) -> R,
) -> R {
    let mut inline = [0_u8; INLINE_AAD];
    let mut free: &mut [u8] = &mut inline;
    if write_field_aad(&mut free, prefix, user_id, field).is_ok() {
        let len = INLINE_AAD - free.len();
        return use_aad(&inline[..len]);
    }

    use_aad(&field_aad(prefix, user_id, field))
}

/// The associated data of a sealed value, on the heap; see [`with_field_aad`].
pub(crate) fn field_aad(prefix: &[u8], user_id: &str, field: Option<&str>) -> Vec<u8> {
    let field_len = field.map_or(0, str::len);
    let mut aad = Vec::with_capacity(prefix.len() + 9 + user_id.len() + field_len);

    // Writing to a `Vec` cannot fail.
    let _ = write_field_aad(&mut aad, prefix, user_id, field);
    aad
}

/// Writes `prefix || len(user id) || user id || field`, where `field` is `0x00` for no
/// field or `0x01 || len(name) || name`. Fails only when `out` is full.
fn write_field_aad(
    out: &mut impl Write,
    prefix: &[u8],
    user_id: &str,
    field: Option<&str>,
) -> io::Result<()> {
    out.write_all(prefix)?;
    write_field(out, user_id.as_bytes())?;
    match field {
        None => out.write_all(&[0]),
        Some(field) => {
            out.write_all(&[1])?;
            write_field(out, field.as_bytes())
        }
    }
}

/// Writes `bytes` with its length in front, as [`put_field`] does.
fn write_field(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.write_all(&len.to_be_bytes())?;
    out.write_all(bytes)
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

    #[test]
    fn the_stack_and_the_heap_build_the_same_bytes() {
        let prefix = aad_prefix(DataKeyId::new());
        let long = "u".repeat(INLINE_AAD);
        let contexts = [
            ("device_123", None),
            ("user_1", Some("bpm")),
            ("", Some("")),
            (long.as_str(), None),
            ("user_1", Some(long.as_str())),
        ];
        for (user_id, field) in contexts {
            let built = with_field_aad(&prefix, user_id, field, <[u8]>::to_vec);
            assert_eq!(built, field_aad(&prefix, user_id, field));

            let mut expected = prefix.clone();
            put_field(&mut expected, user_id.as_bytes());
            match field {
                None => expected.push(0),
                Some(field) => {
                    expected.push(1);
                    put_field(&mut expected, field.as_bytes());
                }
            }
            assert_eq!(built, expected);
        }
    }
}

//! The stored form of an encrypted field: `v1:<key id>:<base64url(nonce || ciphertext ||
//! tag)>`, safe for a TEXT column and self-describing, so old values stay readable after
//! a rotation.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::aead::NONCE_LEN;
use zeroize::Zeroizing;

use crate::data_key::DataKeyId;
use crate::derive::VERSION_TAG;
use crate::error::FormatError;

/// The length of an AES-256-GCM tag.
pub(crate) const TAG_LEN: usize = 16;

/// A parsed sealed value: which data key sealed it, its nonce, and the ciphertext with
/// its tag.
///
/// Parsing checks the shape only; whether the value authenticates is known when it is
/// decrypted.
///
/// # Example
///
/// ```
/// use auren_phi_crypto::{FormatError, SealedValue};
///
/// assert_eq!(SealedValue::parse(""), Err(FormatError::Empty));
/// assert_eq!(SealedValue::parse("v2:x:y"), Err(FormatError::UnsupportedVersion));
/// assert!(SealedValue::parse("v1:dk_01ARZ3NDEKTSV4RRFFQ69G5FAV:AAAA").is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SealedValue {
    key_id: DataKeyId,
    nonce: [u8; NONCE_LEN],
    ciphertext: Vec<u8>,
}

impl SealedValue {
    pub(crate) fn new(key_id: DataKeyId, nonce: [u8; NONCE_LEN], ciphertext: Vec<u8>) -> Self {
        Self {
            key_id,
            nonce,
            ciphertext,
        }
    }

    /// Parses the stored form.
    ///
    /// # Errors
    ///
    /// A [`FormatError`] naming what is wrong; never a panic, whatever the input.
    pub fn parse(stored: &str) -> Result<Self, FormatError> {
        let parts = StoredParts::split(stored)?;
        let payload = parts.decode_payload()?;

        let (nonce, ciphertext) = payload.split_at(NONCE_LEN);
        let mut nonce_bytes = [0_u8; NONCE_LEN];
        nonce_bytes.copy_from_slice(nonce);
        Ok(Self::new(parts.key_id, nonce_bytes, ciphertext.to_vec()))
    }

    /// The id of the data key that sealed the value.
    pub fn key_id(&self) -> DataKeyId {
        self.key_id
    }
}

impl fmt::Display for SealedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut payload = Vec::with_capacity(NONCE_LEN + self.ciphertext.len());
        payload.extend_from_slice(&self.nonce);
        payload.extend_from_slice(&self.ciphertext);

        f.write_str(&format_sealed(&self.key_id.to_string(), &payload))
    }
}

impl fmt::Debug for SealedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedValue")
            .field("key_id", &self.key_id)
            .field("ciphertext_len", &self.ciphertext.len())
            .finish_non_exhaustive()
    }
}

/// A stored value split into its key id and its still encoded payload.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoredParts<'a> {
    pub(crate) key_id: DataKeyId,
    payload: &'a str,
}

impl<'a> StoredParts<'a> {
    /// Checks the shape, the version tag and the key id (in that order, so every input
    /// gets the same error as from [`SealedValue::parse`]).
    pub(crate) fn split(stored: &'a str) -> Result<Self, FormatError> {
        if stored.is_empty() {
            return Err(FormatError::Empty);
        }

        // As `splitn(3, ':')`: the payload keeps any further colons (and then fails to
        // decode).
        let (version, rest) = stored.split_once(':').ok_or(FormatError::Shape)?;
        let (key_id, payload) = rest.split_once(':').ok_or(FormatError::Shape)?;
        if version != VERSION_TAG {
            return Err(FormatError::UnsupportedVersion);
        }
        Ok(Self {
            key_id: key_id.parse()?,
            payload,
        })
    }

    /// The payload, `nonce || ciphertext || tag`, decoded into a buffer that is wiped on
    /// drop: it is opened in place and then holds the plaintext.
    pub(crate) fn decode_payload(&self) -> Result<Zeroizing<Vec<u8>>, FormatError> {
        let capacity = base64::decoded_len_estimate(self.payload.len());
        let mut bytes = Zeroizing::new(Vec::with_capacity(capacity));
        URL_SAFE_NO_PAD
            .decode_vec(self.payload, &mut bytes)
            .map_err(|_| FormatError::Base64)?;

        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(FormatError::Truncated);
        }
        Ok(bytes)
    }
}

/// The text of payloads up to this long (96 bytes: any scalar, most short strings) is
/// encoded on the stack.
const INLINE_TEXT: usize = 128;

/// The stored form of `key_id` and `payload` (`nonce || ciphertext || tag`), written into
/// one string of the exact length.
pub(crate) fn format_sealed(key_id: &str, payload: &[u8]) -> String {
    let encoded_len = base64::encoded_len(payload.len(), false).unwrap_or(0);
    let mut text = String::with_capacity(VERSION_TAG.len() + key_id.len() + 2 + encoded_len);
    text.push_str(VERSION_TAG);
    text.push(':');
    text.push_str(key_id);
    text.push(':');

    // `encode_string` zeroes a 1 KiB buffer on every call, more work than encoding a
    // small payload; it stays for long ones.
    let mut inline = [0_u8; INLINE_TEXT];
    let encoded = URL_SAFE_NO_PAD
        .encode_slice(payload, &mut inline)
        .ok()
        .and_then(|written| std::str::from_utf8(inline.get(..written)?).ok());
    match encoded {
        Some(encoded) => text.push_str(encoded),
        None => URL_SAFE_NO_PAD.encode_string(payload, &mut text),
    }
    text
}

/// The data key id of a stored value, without decoding its payload.
///
/// # Errors
///
/// A [`FormatError`] when the value is not in the sealed form.
pub fn sealed_key_id(stored: &str) -> Result<DataKeyId, FormatError> {
    let mut parts = stored.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(""), None, None) => Err(FormatError::Empty),
        (Some(VERSION_TAG), Some(key_id), Some(_)) => key_id.parse(),
        (Some(_), Some(_), Some(_)) => Err(FormatError::UnsupportedVersion),
        _ => Err(FormatError::Shape),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> SealedValue {
        SealedValue::new(DataKeyId::new(), [7; NONCE_LEN], vec![9; 20])
    }

    #[test]
    fn display_and_parse_round_trip() {
        let value = sample();
        let text = value.to_string();
        assert!(text.starts_with("v1:dk_"));
        assert_eq!(SealedValue::parse(&text), Ok(value.clone()));
        assert_eq!(sealed_key_id(&text), Ok(value.key_id()));
    }

    /// `text` with its payload cut to `chars` characters.
    fn prefix_and(text: &str, chars: usize) -> String {
        let payload_start = text.rfind(':').expect("sealed form") + 1;
        text[..payload_start + chars].to_owned()
    }

    #[test]
    fn each_malformation_has_its_error() {
        let text = sample().to_string();
        let id = sample().key_id();
        let cases = [
            (String::new(), FormatError::Empty),
            ("v1".to_owned(), FormatError::Shape),
            ("v1:abc".to_owned(), FormatError::Shape),
            ("v9:a:b".to_owned(), FormatError::UnsupportedVersion),
            ("v1:k_1:AAAA".to_owned(), FormatError::KeyId),
            (format!("v1:{id}:***"), FormatError::Base64),
            (format!("v1:{id}:AAAAAAAA"), FormatError::Truncated),
            (prefix_and(&text, 41), FormatError::Base64),
            (prefix_and(&text, 32), FormatError::Truncated),
        ];
        for (input, expected) in cases {
            assert_eq!(SealedValue::parse(&input), Err(expected), "{input}");
        }
    }

    proptest! {
        #[test]
        fn parsing_never_panics(input in ".*") {
            let _ = SealedValue::parse(&input);
            let _ = sealed_key_id(&input);
        }

        #[test]
        fn parsing_near_valid_input_never_panics(
            tail in "[A-Za-z0-9_:=-]{0,120}",
        ) {
            let input = format!("v1:{}:{tail}", DataKeyId::new());
            let _ = SealedValue::parse(&input);
        }

        #[test]
        fn valid_values_round_trip(
            nonce in any::<[u8; NONCE_LEN]>(),
            ciphertext in proptest::collection::vec(any::<u8>(), TAG_LEN..200),
        ) {
            let value = SealedValue::new(DataKeyId::new(), nonce, ciphertext);
            prop_assert_eq!(SealedValue::parse(&value.to_string()), Ok(value));
        }
    }
}

//! [Standard Webhooks](https://www.standardwebhooks.com/): `webhook-id`,
//! `webhook-timestamp` and `webhook-signature`.
//!
//! The signature header holds space-separated `v1,<base64>` entries (one per active
//! secret on the sender's side); other versions are ignored. The signed content is
//! `{webhook-id}.{webhook-timestamp}.{body}`. A secret `whsec_<base64>` is the base64 of
//! the key bytes; the prefix is optional, as in the reference libraries.
//!
//! ```
//! use auren_webhook::scheme::standard;
//!
//! let header = standard::sign(b"key bytes", "msg_1", 1_700_000_000, b"{}");
//! assert!(header.starts_with("v1,"));
//!
//! // Unknown versions are ignored; a lone `v1,` is dropped.
//! let signatures = standard::parse_signature_header(&format!("v2,xyz v1, {header}")).unwrap();
//! assert_eq!(signatures.len(), 1);
//! assert!(standard::parse_signature_header("v1,").is_err());
//! ```

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use http::{HeaderMap, HeaderName};
use zeroize::Zeroizing;

use super::{
    canonical_digits, is_valid_message_id, parse_timestamp, required, tag_with, Candidates,
    Presented, SignedHeaders,
};
use crate::{WebhookRejection, WebhookSecret};

/// The header carrying the message id, the same across retries.
pub const ID_HEADER: &str = "webhook-id";

/// The header carrying the Unix timestamp in seconds.
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";

/// The header carrying the space-separated signatures.
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// The optional prefix of a secret.
pub const SECRET_PREFIX: &str = "whsec_";

static ID: HeaderName = HeaderName::from_static(ID_HEADER);
static TIMESTAMP: HeaderName = HeaderName::from_static(TIMESTAMP_HEADER);
static SIGNATURE: HeaderName = HeaderName::from_static(SIGNATURE_HEADER);

/// Reads the three headers.
///
/// # Errors
///
/// `missing_signature`, `duplicate_header`, `malformed_signature`, `malformed_timestamp`
/// or `malformed_message_id`.
pub fn parse(headers: &HeaderMap) -> Result<SignedHeaders, WebhookRejection> {
    presented(headers).map(|presented| presented.to_signed_headers())
}

/// As [`parse`], borrowing from `headers`.
pub(crate) fn presented(headers: &HeaderMap) -> Result<Presented<'_>, WebhookRejection> {
    let id = required(headers, &ID, WebhookRejection::MalformedMessageId)?;
    let timestamp_text = required(headers, &TIMESTAMP, WebhookRejection::MalformedTimestamp)?;
    let signature = required(headers, &SIGNATURE, WebhookRejection::MalformedSignature)?;

    if !is_valid_message_id(id) {
        return Err(WebhookRejection::MalformedMessageId(ID_HEADER));
    }
    let timestamp = parse_timestamp(timestamp_text)
        .ok_or(WebhookRejection::MalformedTimestamp(TIMESTAMP_HEADER))?;
    let signatures = scan_signature_header(signature)?;

    Ok(Presented {
        timestamp: Some(timestamp),
        timestamp_digits: Some(canonical_digits(timestamp_text)),
        message_id: Some(id),
        message_id_signed: true,
        signatures,
    })
}

/// Decodes the `v1` entries of a `webhook-signature` value.
///
/// Entries of other versions, and entries without a comma, are ignored. A `v1` entry
/// whose base64 does not decode to exactly 32 bytes (`v1,` alone, a truncated signature)
/// is dropped. The list may be empty: then nothing can match.
///
/// # Errors
///
/// `malformed_signature` when `v1` entries were present but none could be decoded.
pub fn parse_signature_header(value: &str) -> Result<Vec<[u8; 32]>, WebhookRejection> {
    scan_signature_header(value).map(|signatures| signatures.iter().copied().collect())
}

/// As [`parse_signature_header`], keeping the signatures inline.
fn scan_signature_header(value: &str) -> Result<Candidates, WebhookRejection> {
    let mut signatures = Candidates::default();
    let mut undecodable = false;

    for entry in value.split(' ').filter(|entry| !entry.is_empty()) {
        let Some(("v1", encoded)) = entry.split_once(',') else {
            continue;
        };
        match decode_signature(encoded) {
            Some(signature) => signatures.push(signature),
            None => undecodable = true,
        }
    }

    if signatures.is_empty() && undecodable {
        return Err(WebhookRejection::MalformedSignature(SIGNATURE_HEADER));
    }
    Ok(signatures)
}

/// Decodes standard base64 (with padding) of exactly 32 bytes.
fn decode_signature(encoded: &str) -> Option<[u8; 32]> {
    // 32 bytes are 44 base64 characters; checking first keeps decoding bounded.
    if encoded.len() != 44 {
        return None;
    }
    let mut signature = [0_u8; 32];
    let written = BASE64.decode_slice(encoded, &mut signature).ok()?;
    (written == 32).then_some(signature)
}

/// The key bytes of a secret: the base64 after an optional `whsec_`.
pub(crate) fn key_bytes(secret: &WebhookSecret) -> Option<Zeroizing<Vec<u8>>> {
    let text = std::str::from_utf8(secret.expose()).ok()?;
    let encoded = text.strip_prefix(SECRET_PREFIX).unwrap_or(text);
    BASE64.decode(encoded).ok().map(Zeroizing::new)
}

/// The `webhook-signature` value (`v1,<base64>`) for `body`, with key bytes `key`.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let timestamp = timestamp.to_string();
    format!(
        "v1,{}",
        BASE64.encode(tag_with(key, [id, &timestamp], body))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // The published test vector of the Standard Webhooks reference libraries
    // (github.com/standard-webhooks/standard-webhooks, libraries/*/ tests, e.g. the PHP
    // `testSignFunctionWorks`; the same vector is in the Svix libraries).
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn the_reference_vector_reproduces() {
        let key = key_bytes(&WebhookSecret::new(SECRET)).expect("base64");
        assert_eq!(sign(&key, ID, TIMESTAMP, BODY), SIGNATURE);

        let without_prefix = SECRET.trim_start_matches(SECRET_PREFIX);
        let same = key_bytes(&WebhookSecret::new(without_prefix)).expect("base64");
        assert_eq!(*same, *key);
    }

    #[test]
    fn unknown_versions_are_ignored_and_truncations_dropped() {
        let header = format!("v2,whatever  v1a,x nocomma {SIGNATURE} v1,");
        assert_eq!(parse_signature_header(&header).expect("one v1").len(), 1);

        assert_eq!(parse_signature_header("v2,abc"), Ok(vec![]));
        assert_eq!(parse_signature_header(""), Ok(vec![]));
        for bad in ["v1,", "v1,g0hM9SsE", &SIGNATURE[..40], "v1,!!!!", "v1,=="] {
            assert_eq!(
                parse_signature_header(bad),
                Err(WebhookRejection::MalformedSignature(SIGNATURE_HEADER)),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_secret_that_is_not_base64_has_no_key() {
        assert!(key_bytes(&WebhookSecret::new("whsec_not base64!")).is_none());
        assert!(key_bytes(&WebhookSecret::from_bytes(vec![0xff, 0xfe])).is_none());
    }
}

//! The house scheme: `x-webhook-signature` = hex HMAC-SHA256(secret, `{timestamp}.{body}`).
//!
//! ```
//! use auren_webhook::scheme::auren;
//!
//! let signature = auren::sign(b"secret", 1_700_000_000, b"{}");
//! assert_eq!(signature.len(), 64);
//! assert!(auren::parse_signature(&signature).is_some());
//! assert!(auren::parse_signature(&signature[..8]).is_none());
//! ```

use http::{HeaderMap, HeaderName};

use super::{
    canonical_digits, decode_hex_tag, parse_timestamp, required, tag_with, Candidates, Presented,
    SignedHeaders,
};
use crate::WebhookRejection;

/// The header carrying the hex signature.
pub const SIGNATURE_HEADER: &str = "x-webhook-signature";

/// The header carrying the Unix timestamp in seconds.
pub const TIMESTAMP_HEADER: &str = "x-webhook-timestamp";

static SIGNATURE: HeaderName = HeaderName::from_static(SIGNATURE_HEADER);
static TIMESTAMP: HeaderName = HeaderName::from_static(TIMESTAMP_HEADER);

/// Reads the two headers.
///
/// # Errors
///
/// `missing_signature`, `duplicate_header`, `malformed_signature` or
/// `malformed_timestamp`.
pub fn parse(headers: &HeaderMap) -> Result<SignedHeaders, WebhookRejection> {
    presented(headers).map(|presented| presented.to_signed_headers())
}

/// As [`parse`], borrowing from `headers`.
pub(crate) fn presented(headers: &HeaderMap) -> Result<Presented<'_>, WebhookRejection> {
    let signature = required(headers, &SIGNATURE, WebhookRejection::MalformedSignature)?;
    let timestamp_text = required(headers, &TIMESTAMP, WebhookRejection::MalformedTimestamp)?;

    let signature =
        parse_signature(signature).ok_or(WebhookRejection::MalformedSignature(SIGNATURE_HEADER))?;
    let timestamp = parse_timestamp(timestamp_text)
        .ok_or(WebhookRejection::MalformedTimestamp(TIMESTAMP_HEADER))?;

    Ok(Presented {
        timestamp: Some(timestamp),
        timestamp_digits: Some(canonical_digits(timestamp_text)),
        message_id: None,
        message_id_signed: false,
        signatures: Candidates::one(signature),
    })
}

/// Decodes a signature: exactly 64 hex digits.
pub fn parse_signature(value: &str) -> Option<[u8; 32]> {
    decode_hex_tag(value)
}

/// The `x-webhook-signature` value for `body` sent at `timestamp`, with key bytes `key`.
pub fn sign(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    hex::encode(tag_with(key, [timestamp.to_string().as_str()], body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(signature: &str, timestamp: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            SIGNATURE_HEADER,
            HeaderValue::from_str(signature).expect("ascii"),
        );
        headers.insert(
            TIMESTAMP_HEADER,
            HeaderValue::from_str(timestamp).expect("ascii"),
        );
        headers
    }

    #[test]
    fn signed_content_is_timestamp_dot_body() {
        // Cross-checked by hand with `printf '1700000000.{"a":1}' | openssl dgst -sha256
        // -hmac secret`.
        let signature = sign(b"secret", 1_700_000_000, br#"{"a":1}"#);
        let expected = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"secret"),
            br#"1700000000.{"a":1}"#,
        );
        assert_eq!(signature, hex::encode(expected));
    }

    #[test]
    fn parse_reads_both_headers() {
        let signature = sign(b"k", 42, b"x");
        let parsed = parse(&headers(&signature, "42")).expect("valid");
        assert_eq!(parsed.timestamp(), Some(42));
        assert_eq!(parsed.signed_prefix(), b"42.");
        assert_eq!(parsed.signatures().len(), 1);
    }

    #[test]
    fn empty_truncated_and_non_hex_signatures_are_malformed() {
        let signature = sign(b"k", 42, b"x");
        for bad in [
            "",
            &signature[..8],
            &signature[..63],
            "sha256=00",
            &"g".repeat(64),
        ] {
            assert_eq!(
                parse(&headers(bad, "42")),
                Err(WebhookRejection::MalformedSignature(SIGNATURE_HEADER)),
                "{bad}"
            );
        }
        assert_eq!(
            parse(&headers(&signature, "soon")),
            Err(WebhookRejection::MalformedTimestamp(TIMESTAMP_HEADER))
        );
    }
}

//! Stripe: `Stripe-Signature: t=<unix seconds>,v1=<hex>,v1=<hex>,v0=<hex>`.
//!
//! The signed payload is `{t}.{body}`; the key is the endpoint secret's bytes as shown
//! (`whsec_…` included, not decoded). Only `v1` entries are checked; `v0` (test mode's
//! legacy scheme) and unknown keys are ignored. During a secret roll Stripe sends one
//! `v1` per active secret.
//!
//! Stripe has no message id header, so the replay id is `t` with the tag computed under
//! the provider's first secret: it names the exact signed payload whatever signatures
//! the header lists.
//!
//! ```
//! use auren_webhook::scheme::stripe;
//!
//! let header = stripe::sign(b"whsec_test_secret", 1_492_774_577, b"{}");
//! let (t, signatures) = stripe::parse_signature_header(&header).unwrap();
//! assert_eq!((t, signatures.len()), (1_492_774_577, 1));
//! ```

use http::{HeaderMap, HeaderName};

use super::{
    canonical_digits, decode_hex_tag, parse_timestamp, required, tag_with, Candidates, Presented,
    SignedHeaders,
};
use crate::WebhookRejection;

/// The header, `Stripe-Signature`.
pub const SIGNATURE_HEADER: &str = "stripe-signature";

static SIGNATURE: HeaderName = HeaderName::from_static(SIGNATURE_HEADER);

/// Reads `Stripe-Signature`.
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
    let value = required(headers, &SIGNATURE, WebhookRejection::MalformedSignature)?;
    let scanned = scan_signature_header(value)?;

    Ok(Presented {
        timestamp: Some(scanned.timestamp),
        timestamp_digits: Some(canonical_digits(scanned.timestamp_text)),
        message_id: None,
        message_id_signed: false,
        signatures: scanned.signatures,
    })
}

/// Reads `t` and the decoded `v1` signatures of a `Stripe-Signature` value.
///
/// Items are `key=value` separated by commas. `t` must appear exactly once. A `v1` that
/// is not exactly 64 hex digits is dropped; items with other keys are ignored. The list
/// of signatures may be empty: then nothing can match.
///
/// # Errors
///
/// `malformed_timestamp` for a missing, repeated or non-numeric `t`;
/// `malformed_signature` when `v1` items were present but none could be decoded.
pub fn parse_signature_header(value: &str) -> Result<(i64, Vec<[u8; 32]>), WebhookRejection> {
    let scanned = scan_signature_header(value)?;
    let signatures = scanned.signatures.iter().copied().collect();
    Ok((scanned.timestamp, signatures))
}

/// A `Stripe-Signature` value's parts, borrowed from it.
struct Scanned<'a> {
    timestamp: i64,
    timestamp_text: &'a str,
    signatures: Candidates,
}

/// As [`parse_signature_header`], keeping the signatures inline and `t` as sent.
fn scan_signature_header(value: &str) -> Result<Scanned<'_>, WebhookRejection> {
    let malformed_timestamp = WebhookRejection::MalformedTimestamp(SIGNATURE_HEADER);
    let mut timestamp = None;
    let mut signatures = Candidates::default();
    let mut undecodable = false;

    for item in value.split(',') {
        match item.split_once('=') {
            Some(("t", _)) if timestamp.is_some() => return Err(malformed_timestamp),
            Some(("t", text)) => {
                let seconds = parse_timestamp(text).ok_or(malformed_timestamp.clone())?;
                timestamp = Some((seconds, text));
            }
            Some(("v1", encoded)) => match decode_hex_tag(encoded) {
                Some(signature) => signatures.push(signature),
                None => undecodable = true,
            },
            _ => {}
        }
    }

    let (timestamp, timestamp_text) = timestamp.ok_or(malformed_timestamp)?;
    if signatures.is_empty() && undecodable {
        return Err(WebhookRejection::MalformedSignature(SIGNATURE_HEADER));
    }
    Ok(Scanned {
        timestamp,
        timestamp_text,
        signatures,
    })
}

/// The `Stripe-Signature` value (`t=…,v1=…`) for `body`, with key bytes `key`.
pub fn sign(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    let signature = hex::encode(tag_with(key, [timestamp.to_string().as_str()], body));
    format!("t={timestamp},v1={signature}")
}

#[cfg(test)]
mod tests {
    use super::*;

    // Stripe publishes no fixed vector (its libraries' tests sign at run time with
    // "whsec_test_secret"). This one was computed independently per the documented
    // algorithm: `printf '%s' '1492774577.{"id":"evt_test_webhook","object":"event"}' |
    // openssl dgst -sha256 -hmac whsec_test_secret`.
    const SECRET: &[u8] = b"whsec_test_secret";
    const TIMESTAMP: i64 = 1_492_774_577;
    const BODY: &[u8] = br#"{"id":"evt_test_webhook","object":"event"}"#;
    const V1: &str = "88a022085c6bdb887b02cb26ff76dd681234d9675c0f22844059f55552a8883a";

    #[test]
    fn the_documented_algorithm_reproduces_an_independent_computation() {
        assert_eq!(
            sign(SECRET, TIMESTAMP, BODY),
            format!("t={TIMESTAMP},v1={V1}")
        );
    }

    #[test]
    fn v0_and_unknown_items_are_ignored() {
        let header = format!("t={TIMESTAMP},v0={},v1={V1},x=y,v1=", "ab".repeat(32));
        let (t, signatures) = parse_signature_header(&header).expect("valid");
        assert_eq!(t, TIMESTAMP);
        assert_eq!(signatures.len(), 1);
    }

    #[test]
    fn timestamps_must_appear_once_and_signatures_decode() {
        let stamp = WebhookRejection::MalformedTimestamp(SIGNATURE_HEADER);
        let signature = WebhookRejection::MalformedSignature(SIGNATURE_HEADER);
        let cases = [
            (format!("v1={V1}"), stamp.clone()),
            (format!("t=1,t=2,v1={V1}"), stamp.clone()),
            (format!("t=-1,v1={V1}"), stamp.clone()),
            (format!("t=1,v1={}", &V1[..8]), signature.clone()),
            ("t=1,v1=".to_owned(), signature.clone()),
        ];
        for (header, expected) in cases {
            assert_eq!(parse_signature_header(&header), Err(expected), "{header}");
        }
        assert_eq!(parse_signature_header("t=1"), Ok((1, vec![])));
    }
}

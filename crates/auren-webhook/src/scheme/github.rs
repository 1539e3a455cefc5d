//! GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`, no timestamp.
//!
//! GitHub signs the raw body only, with the webhook secret's bytes as the key. The
//! `X-GitHub-Delivery` GUID names the delivery (redeliveries keep it) but is not signed.
//!
//! ```
//! use auren_webhook::scheme::github;
//!
//! let header = github::sign(b"It's a Secret to Everybody", b"Hello, World!");
//! assert_eq!(
//!     header,
//!     "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
//! );
//! ```

use http::{HeaderMap, HeaderName};

use super::{
    decode_hex_tag, is_valid_message_id, required, tag_with, Candidates, Presented, SignedHeaders,
};
use crate::WebhookRejection;

/// The header carrying `sha256=<hex>`.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// The header carrying the delivery's GUID.
pub const DELIVERY_HEADER: &str = "x-github-delivery";

static SIGNATURE: HeaderName = HeaderName::from_static(SIGNATURE_HEADER);
static DELIVERY: HeaderName = HeaderName::from_static(DELIVERY_HEADER);

/// Reads the signature and delivery headers.
///
/// # Errors
///
/// `missing_signature`, `duplicate_header`, `malformed_signature` or
/// `malformed_message_id`.
pub fn parse(headers: &HeaderMap) -> Result<SignedHeaders, WebhookRejection> {
    presented(headers).map(|presented| presented.to_signed_headers())
}

/// As [`parse`], borrowing from `headers`.
pub(crate) fn presented(headers: &HeaderMap) -> Result<Presented<'_>, WebhookRejection> {
    let signature = required(headers, &SIGNATURE, WebhookRejection::MalformedSignature)?;
    let delivery = required(headers, &DELIVERY, WebhookRejection::MalformedMessageId)?;

    let signature =
        parse_signature(signature).ok_or(WebhookRejection::MalformedSignature(SIGNATURE_HEADER))?;
    if !is_valid_message_id(delivery) {
        return Err(WebhookRejection::MalformedMessageId(DELIVERY_HEADER));
    }

    Ok(Presented {
        timestamp: None,
        timestamp_digits: None,
        message_id: Some(delivery),
        // The delivery GUID is not signed.
        message_id_signed: false,
        signatures: Candidates::one(signature),
    })
}

/// Decodes `sha256=` followed by exactly 64 hex digits.
pub fn parse_signature(value: &str) -> Option<[u8; 32]> {
    decode_hex_tag(value.strip_prefix("sha256=")?)
}

/// The `X-Hub-Signature-256` value for `body`, with key bytes `key`.
pub fn sign(key: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hex::encode(tag_with(key, [], body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sha256_with_a_full_hex_tag_parses() {
        let good = sign(b"k", b"body");
        assert!(parse_signature(&good).is_some());
        for bad in [
            "",
            "sha256=",
            &good[..15],
            &good.replace("sha256=", "sha1="),
            &good.replace("sha256=", "SHA256="),
            &good[7..],
        ] {
            assert!(parse_signature(bad).is_none(), "{bad}");
        }
    }
}

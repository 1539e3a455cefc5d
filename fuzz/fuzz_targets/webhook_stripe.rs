//! Fuzzes the `stripe` scheme's header parsing and verification with arbitrary header bytes.
//!
//! The input is split on NUL into header values, given to every header the scheme reads
//! (a value may repeat a header), then parsed and verified. Nothing may panic.

#![no_main]

use auren_webhook::{scheme, WebhookProvider, WebhookScheme, WebhookSecret};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = scheme::stripe::parse_signature_header(text);
        let _ = scheme::parse_timestamp(text);
    }

    let names = [
        "x-webhook-signature",
        "x-webhook-timestamp",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "stripe-signature",
        "x-hub-signature-256",
        "x-github-delivery",
    ];
    let mut headers = http::HeaderMap::new();
    for (index, value) in data.split(|byte| *byte == 0).enumerate() {
        if let Ok(value) = http::HeaderValue::from_bytes(value) {
            headers.append(names[index % names.len()], value);
        }
    }

    let _ = WebhookScheme::Stripe.parse_headers(&headers);
    let secret = WebhookSecret::new("whsec_c2VjcmV0");
    if let Ok(provider) = WebhookProvider::new("fuzz", WebhookScheme::Stripe, vec![secret]) {
        let _ = provider.verify(&headers, data, chrono::Utc::now());
    }
});

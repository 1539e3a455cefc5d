//! The shared driver of the webhook fuzz targets: one function, one target per scheme.

use auren_webhook::scheme::ALL_HEADER_NAMES;
use auren_webhook::{WebhookProvider, WebhookScheme, WebhookSecret};

/// Fuzzes one scheme with arbitrary bytes; nothing may panic.
///
/// The input is first given whole to the scheme's signature parser and the timestamp
/// parser, then split on NUL into header values (a value may repeat a header), which are
/// parsed and verified against a fixed secret.
pub fn fuzz_scheme(scheme: WebhookScheme, parse_signature: impl Fn(&str), data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        parse_signature(text);
        let _ = auren_webhook::scheme::parse_timestamp(text);
    }

    let mut headers = http::HeaderMap::new();
    for (index, value) in data.split(|byte| *byte == 0).enumerate() {
        if let Ok(value) = http::HeaderValue::from_bytes(value) {
            headers.append(ALL_HEADER_NAMES[index % ALL_HEADER_NAMES.len()], value);
        }
    }

    let _ = scheme.parse_headers(&headers);
    let secret = WebhookSecret::new("whsec_c2VjcmV0");
    if let Ok(provider) = WebhookProvider::new("fuzz", scheme, vec![secret]) {
        let _ = provider.verify(&headers, data, chrono::Utc::now());
    }
}

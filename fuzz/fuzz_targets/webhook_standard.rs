//! Fuzzes the `standard` scheme's header parsing and verification with arbitrary header bytes.

#![no_main]

use auren_webhook::{scheme, WebhookScheme};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parse_signature = |text: &str| {
        let _ = scheme::standard::parse_signature_header(text);
    };
    auren_fuzz::fuzz_scheme(WebhookScheme::Standard, parse_signature, data);
});

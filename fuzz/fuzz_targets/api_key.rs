//! Fuzzes the API key parser with arbitrary text: the default format, a custom prefix,
//! and the digest decoders the key stores read back.
//!
//! Nothing may panic, and a key that parses must keep its shape.

#![no_main]

use auren_auth::{KeyDigest, KeyFormat, CHECKSUM_CHARS, RANDOM_CHARS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = KeyDigest::from_bytes(data);

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = KeyDigest::from_hex(text);

    let format = KeyFormat::default();
    let checked = format.check(text);
    match format.parse(text) {
        Ok(key) => {
            assert!(checked.is_ok(), "parse and check disagree");
            let secret = key.expose_secret();
            assert_eq!(secret.len(), "auren_".len() + RANDOM_CHARS + CHECKSUM_CHARS);
            assert!(!format!("{key:?}").contains(secret), "Debug shows the key");
            let _ = KeyDigest::of(&key);
        }
        Err(_) => assert!(checked.is_err(), "parse and check disagree"),
    }

    // The first line as a prefix, the rest as a key in that format.
    if let Some((prefix, rest)) = text.split_once('\n') {
        if let Ok(custom) = KeyFormat::with_prefix(prefix) {
            let _ = custom.parse(rest);
        }
    }
});

//! Fuzzes the PHI ciphertext parser and the decrypt path with arbitrary stored text.
//!
//! `SealedValue::parse`, `sealed_key_id` and `MasterKey::from_base64` must never panic;
//! decrypting an arbitrary value with a real `PhiCrypto` must fail with an error (a
//! forgery that opens would be a crash here).

#![no_main]

use std::sync::OnceLock;

use auren_phi_crypto::{sealed_key_id, InMemoryKeyStore, MasterKey, PhiCrypto, SealedValue};
use libfuzzer_sys::fuzz_target;

fn runtime() -> &'static (tokio::runtime::Runtime, PhiCrypto) {
    static SHARED: OnceLock<(tokio::runtime::Runtime, PhiCrypto)> = OnceLock::new();
    SHARED.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let phi = runtime.block_on(async {
            PhiCrypto::builder(MasterKey::from_bytes([7; 32]), InMemoryKeyStore::new())
                .build()
                .await
                .expect("an in-memory PhiCrypto")
        });
        (runtime, phi)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = MasterKey::from_base64(text);
    let parsed = SealedValue::parse(text);
    let key_id = sealed_key_id(text);
    if parsed.is_ok() {
        assert!(key_id.is_ok(), "parse accepts what sealed_key_id refuses");
    }

    let (runtime, phi) = runtime();
    let opened = runtime.block_on(phi.decrypt_phi_field::<serde_json::Value>(text, "fuzz"));
    assert!(opened.is_err(), "an arbitrary value decrypted");
});

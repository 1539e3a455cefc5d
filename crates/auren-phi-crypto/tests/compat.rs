//! Values sealed by an earlier build of this crate still open: the stored format, the
//! associated data, the key derivation and the CBOR encoding are byte-compatible.
//!
//! The master key, the wrapped data key and the sealed values below were written once by
//! the crate before its sealing path was rewritten for speed, and must open forever.

use auren_phi_crypto::{
    DataKeyState, InMemoryKeyStore, KeyStore, MasterKey, PhiCrypto, PhiError, StoredDataKey,
};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;

const KEY_ID: &str = "dk_01M909B2KN8BKSJCT5XGPVX06E";
const WRAPPED: &str =
    "Zw7noE/v/ozz8cUNO7CwGt99ThuhYrXCvy85bIdn/i80sq0igiWxMn0JIl2dXm1w7Y8xZsCmRjSEDxU7";

const BPM: &str = "v1:dk_01M909B2KN8BKSJCT5XGPVX06E:XEoc9HdiibxMzdSI1jqqAT4jDVipLyKGVVyoSQTQ";
const NOTE: &str =
    "v1:dk_01M909B2KN8BKSJCT5XGPVX06E:XD_Hkq5W2lykUBYnhLqVBBwx4qQq82BtB3k4Wk3jPdPSdMb7v78eOQ";
const TEMPERATURE: &str =
    "v1:dk_01M909B2KN8BKSJCT5XGPVX06E:p2H-sVvi-ArA5u0x8U_qsZNMghdftT5EX9fQcMXlyQ";
const READING: &str = "v1:dk_01M909B2KN8BKSJCT5XGPVX06E:io-5tvn6n27JYzDwutDyB03n-BYLHM-\
                       LCRTS9sycV5lUq9HHsNdYDPNxN7II9Sxo14P5ZUtbKFj3nJXZp5Od";

#[derive(Debug, PartialEq, Deserialize)]
struct Reading {
    bpm: u16,
    note: String,
    spo2: Option<f32>,
}

/// A cipher over a store that holds only the recorded data key.
async fn recorded_cipher(cached: bool) -> PhiCrypto {
    let store = InMemoryKeyStore::new();
    let stored = StoredDataKey {
        id: KEY_ID.parse().expect("key id"),
        version: 1,
        wrapped: STANDARD.decode(WRAPPED).expect("base64"),
        state: DataKeyState::Active,
        created_at: chrono::Utc::now(),
        rotated_at: None,
    };
    store.create_first(stored).await.expect("store the key");

    let builder = PhiCrypto::builder(MasterKey::from_bytes([7; 32]), store);
    let builder = if cached {
        builder
    } else {
        builder.without_cache()
    };
    builder
        .build()
        .await
        .expect("the recorded master key opens the key")
}

#[tokio::test]
async fn values_sealed_by_an_earlier_build_still_open() {
    for cached in [true, false] {
        let phi = recorded_cipher(cached).await;

        let bpm: u16 = phi.decrypt_phi_field(BPM, "device_123").await.expect("bpm");
        assert_eq!(bpm, 72);

        let note: String = phi
            .decrypt_phi_field_in(NOTE, "user_1", "note")
            .await
            .expect("note");
        assert_eq!(note, "after a run");

        let temperature: f64 = phi
            .decrypt_phi_field_in(TEMPERATURE, "user_1", "temp")
            .await
            .expect("temperature");
        assert_eq!(temperature.to_bits(), (-0.5_f64).to_bits());

        let reading: Reading = phi
            .decrypt_phi_field_in(READING, "user_1", "reading")
            .await
            .expect("reading");
        let expected = Reading {
            bpm: 64,
            note: "résumé ♥".to_owned(),
            spo2: Some(0.97),
        };
        assert_eq!(reading, expected);
    }
}

#[tokio::test]
async fn recorded_values_keep_their_context_binding() {
    let phi = recorded_cipher(true).await;

    let other_user = phi.decrypt_phi_field::<u16>(BPM, "device_124").await;
    assert!(matches!(other_user, Err(PhiError::WrongContextOrTampered)));

    let other_field = phi
        .decrypt_phi_field_in::<String>(NOTE, "user_1", "bpm")
        .await;
    assert!(matches!(other_field, Err(PhiError::WrongContextOrTampered)));

    let no_field = phi.decrypt_phi_field::<String>(NOTE, "user_1").await;
    assert!(matches!(no_field, Err(PhiError::WrongContextOrTampered)));
}

#[tokio::test]
async fn new_values_use_the_recorded_format() {
    let phi = recorded_cipher(true).await;

    let sealed = phi
        .encrypt_phi_field(&72_u16, "device_123")
        .await
        .expect("seal");

    // Same key id, same length as the recorded value: nonce, two CBOR bytes, tag.
    assert!(sealed.starts_with("v1:dk_01M909B2KN8BKSJCT5XGPVX06E:"));
    assert_eq!(sealed.len(), BPM.len());
    assert_ne!(sealed, BPM, "a fresh nonce");
    let bpm: u16 = phi
        .decrypt_phi_field(&sealed, "device_123")
        .await
        .expect("open");
    assert_eq!(bpm, 72);
}

//! `PhiCrypto` over the in-memory key store, with and without its caches, and how two
//! instances sharing one store see each other's rotations.

use std::time::Duration;

use auren_phi_crypto::{
    sealed_key_id, CacheConfig, InMemoryKeyStore, MasterKey, PhiCrypto, PhiError,
};

#[tokio::test]
async fn the_uncached_cipher_reads_and_writes_the_same_values() {
    let master = MasterKey::generate().expect("random");
    let store = InMemoryKeyStore::new();
    let cached = PhiCrypto::builder(master.clone(), store.clone())
        .build()
        .await
        .expect("cached");
    let uncached = PhiCrypto::builder(master, store)
        .without_cache()
        .build()
        .await
        .expect("uncached");

    let a = cached.encrypt_phi_field(&72_u16, "u").await.expect("seal");
    let b = uncached
        .encrypt_phi_field(&73_u16, "u")
        .await
        .expect("seal");
    assert_eq!(
        uncached
            .decrypt_phi_field::<u16>(&a, "u")
            .await
            .expect("open"),
        72
    );
    assert_eq!(
        cached
            .decrypt_phi_field::<u16>(&b, "u")
            .await
            .expect("open"),
        73
    );
    let wrong = uncached.decrypt_phi_field::<u16>(&a, "v").await;
    assert!(matches!(wrong, Err(PhiError::WrongContextOrTampered)));
}

#[tokio::test]
async fn another_instance_picks_up_a_rotation_after_its_refresh_interval() {
    let master = MasterKey::generate().expect("random");
    let store = InMemoryKeyStore::new();
    let rotator = PhiCrypto::builder(master.clone(), store.clone())
        .build()
        .await
        .expect("rotator");
    let fresh = PhiCrypto::builder(master.clone(), store.clone())
        .cache(CacheConfig::default().active_refresh(Duration::ZERO))
        .build()
        .await
        .expect("refreshes every call");
    let lagging = PhiCrypto::builder(master, store)
        .cache(CacheConfig::default().active_refresh(Duration::from_secs(3600)))
        .build()
        .await
        .expect("refreshes hourly");
    let before = lagging.active_key_id().await.expect("active");

    let after = rotator.rotate_data_key().await.expect("rotate");
    let sealed = fresh.encrypt_phi_field("x", "u").await.expect("seal");
    assert_eq!(sealed_key_id(&sealed).expect("sealed"), after);

    // Until its refresh, the lagging instance still seals with the retired key, which
    // every instance opens; reencrypt moves such values later.
    let sealed = lagging.encrypt_phi_field("y", "u").await.expect("seal");
    assert_eq!(sealed_key_id(&sealed).expect("sealed"), before);
    let opened: String = rotator.decrypt_phi_field(&sealed, "u").await.expect("open");
    assert_eq!(opened, "y");

    // A key created after an instance started is fetched from the store on first use.
    let by_new_key = rotator.encrypt_phi_field("z", "u").await.expect("seal");
    let opened: String = lagging
        .decrypt_phi_field(&by_new_key, "u")
        .await
        .expect("open");
    assert_eq!(opened, "z");
}

#[tokio::test]
async fn debug_output_holds_no_key_material() {
    let master = MasterKey::generate().expect("random");
    let encoded = master.to_base64();
    let phi = PhiCrypto::builder(master, InMemoryKeyStore::new())
        .build()
        .await
        .expect("phi");
    let debug = format!("{phi:?}");
    assert!(!debug.contains(&encoded), "{debug}");
    assert!(debug.contains("<redacted>"), "{debug}");
}

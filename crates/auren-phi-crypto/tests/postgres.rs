//! `PhiCrypto` over the Postgres key store: round trips of every kind of value, typed
//! errors for every bad input, rotation of both keys and re-encryption of a host table.

use auren_phi_crypto::{
    reencrypt, sealed_key_id, DataKeyState, FormatError, KeyStoreError, MasterKey, PhiContext,
    PhiCrypto, PhiError, PostgresKeyStore, ReencryptOptions, ReencryptTarget,
};
use auren_testing::TestDatabase;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

async fn phi(db: &TestDatabase, master: &MasterKey) -> PhiCrypto {
    PhiCrypto::builder(master.clone(), PostgresKeyStore::new(db.pool().clone()))
        .build()
        .await
        .expect("the cipher builds")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Vitals {
    bpm: u16,
    spo2: f32,
    note: Option<String>,
    tags: Vec<String>,
}

#[tokio::test]
async fn every_kind_of_value_round_trips_exactly() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let phi = phi(&db, &MasterKey::generate().expect("random")).await;
    let user = "user_1";

    for value in [0_u16, 1, 72, u16::MAX] {
        let stored = phi.encrypt_phi_field(&value, user).await.expect("seal");
        assert_eq!(
            phi.decrypt_phi_field::<u16>(&stored, user)
                .await
                .expect("open"),
            value
        );
    }
    for value in [i64::MIN, -1, 0, i64::MAX] {
        let stored = phi.encrypt_phi_field(&value, user).await.expect("seal");
        assert_eq!(
            phi.decrypt_phi_field::<i64>(&stored, user)
                .await
                .expect("open"),
            value
        );
    }
    for value in [
        0.0_f64,
        -0.0,
        1.5,
        f64::MIN_POSITIVE,
        f64::EPSILON,
        f64::MAX,
        f64::MIN,
        5e-324,
        0.1 + 0.2,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ] {
        let stored = phi.encrypt_phi_field(&value, user).await.expect("seal");
        let opened: f64 = phi.decrypt_phi_field(&stored, user).await.expect("open");
        assert_eq!(opened.to_bits(), value.to_bits(), "{value}");
    }
    let stored = phi.encrypt_phi_field(&f64::NAN, user).await.expect("seal");
    assert!(phi
        .decrypt_phi_field::<f64>(&stored, user)
        .await
        .expect("open")
        .is_nan());

    for value in ["", "resting", "心拍数 ❤️ über", &"x".repeat(10_000)] {
        let stored = phi.encrypt_phi_field(value, user).await.expect("seal");
        let opened: String = phi.decrypt_phi_field(&stored, user).await.expect("open");
        assert_eq!(opened, value);
    }

    let vitals = Vitals {
        bpm: 61,
        spo2: 97.5,
        note: Some("after a run".to_owned()),
        tags: vec!["a".to_owned(), "ß".to_owned()],
    };
    let stored = phi
        .encrypt_phi_field_in(&vitals, user, "vitals")
        .await
        .expect("seal");
    let opened: Vitals = phi
        .decrypt_phi_field_in(&stored, user, "vitals")
        .await
        .expect("open");
    assert_eq!(opened, vitals);
    assert!(!stored.contains("after a run"));

    let none: Option<String> = None;
    let stored = phi.encrypt_phi_field(&none, user).await.expect("seal");
    let opened: Option<String> = phi.decrypt_phi_field(&stored, user).await.expect("open");
    assert_eq!(opened, None);
}

#[tokio::test]
async fn equal_values_seal_differently() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let phi = phi(&db, &MasterKey::generate().expect("random")).await;
    let a = phi.encrypt_phi_field(&72_u16, "u").await.expect("seal");
    let b = phi.encrypt_phi_field(&72_u16, "u").await.expect("seal");
    assert_ne!(a, b, "random nonces");
}

#[tokio::test]
async fn wrong_contexts_and_damaged_values_give_typed_errors() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let phi = phi(&db, &MasterKey::generate().expect("random")).await;
    let bpm = phi
        .encrypt_phi_field_in(&173_u16, "alice", "bpm")
        .await
        .expect("seal");
    let note = phi
        .encrypt_phi_field_in("chest pain", "alice", "note")
        .await
        .expect("seal");
    let bobs = phi
        .encrypt_phi_field_in(&60_u16, "bob", "bpm")
        .await
        .expect("seal");

    let wrong = |result: Result<u16, PhiError>| {
        assert!(
            matches!(result, Err(PhiError::WrongContextOrTampered)),
            "{result:?}"
        );
    };
    // Another user, another field, no field, a value swapped in from another row.
    wrong(phi.decrypt_phi_field_in(&bpm, "bob", "bpm").await);
    wrong(phi.decrypt_phi_field_in(&bpm, "alice", "note").await);
    wrong(phi.decrypt_phi_field(&bpm, "alice").await);
    wrong(phi.decrypt_phi_field_in(&bobs, "alice", "bpm").await);
    let swapped: Result<String, _> = phi.decrypt_phi_field_in(&bpm, "alice", "note").await;
    assert!(matches!(swapped, Err(PhiError::WrongContextOrTampered)));

    // Every flipped byte of the payload (nonce, ciphertext, tag) is detected.
    let (prefix, payload) = bpm.rsplit_once(':').expect("sealed form");
    let bytes = URL_SAFE_NO_PAD.decode(payload).expect("base64url");
    for index in 0..bytes.len() {
        let mut flipped = bytes.clone();
        flipped[index] ^= 0x01;
        let damaged = format!("{prefix}:{}", URL_SAFE_NO_PAD.encode(&flipped));
        wrong(phi.decrypt_phi_field_in(&damaged, "alice", "bpm").await);
    }

    // Truncated: too short to hold a tag, or one byte short.
    let short = format!("{prefix}:{}", URL_SAFE_NO_PAD.encode(&bytes[..20]));
    let result = phi
        .decrypt_phi_field_in::<u16>(&short, "alice", "bpm")
        .await;
    assert!(matches!(
        result,
        Err(PhiError::Format(FormatError::Truncated))
    ));
    let one_less = format!(
        "{prefix}:{}",
        URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() - 1])
    );
    wrong(phi.decrypt_phi_field_in(&one_less, "alice", "bpm").await);
    for cut in 1..bpm.len() {
        let result = phi
            .decrypt_phi_field_in::<u16>(&bpm[..cut], "alice", "bpm")
            .await;
        assert!(result.is_err(), "cut at {cut}");
    }

    // Another data key id: unknown, or known but not the sealing one.
    let unknown = format!("v1:{}:{payload}", auren_phi_crypto::DataKeyId::new());
    let result = phi
        .decrypt_phi_field_in::<u16>(&unknown, "alice", "bpm")
        .await;
    assert!(matches!(result, Err(PhiError::UnknownKey(_))), "{result:?}");
    let old_key = sealed_key_id(&bpm).expect("key id");
    phi.rotate_data_key().await.expect("rotate");
    let fresh = phi
        .encrypt_phi_field_in(&173_u16, "alice", "bpm")
        .await
        .expect("seal");
    let relabelled = fresh.replacen(
        &sealed_key_id(&fresh).expect("key id").to_string(),
        &old_key.to_string(),
        1,
    );
    wrong(phi.decrypt_phi_field_in(&relabelled, "alice", "bpm").await);

    // Not a sealed value at all.
    let cases = [
        ("", FormatError::Empty),
        ("173", FormatError::Shape),
        ("v2:dk_x:AAAA", FormatError::UnsupportedVersion),
        ("v1:not-a-key:AAAA", FormatError::KeyId),
        ("v1:dk_01ARZ3NDEKTSV4RRFFQ69G5FAV:!!", FormatError::Base64),
    ];
    for (input, expected) in cases {
        let result = phi.decrypt_phi_field_in::<u16>(input, "alice", "bpm").await;
        assert!(
            matches!(&result, Err(PhiError::Format(found)) if *found == expected),
            "{input}: {result:?}"
        );
    }

    // The right context but the wrong type is a decode error naming the type only.
    let result = phi
        .decrypt_phi_field_in::<u16>(&note, "alice", "note")
        .await;
    let error = result.expect_err("a string is not a u16");
    assert!(matches!(error, PhiError::Decode { .. }));
    assert!(!error.to_string().contains("chest pain"));
}

#[tokio::test]
async fn old_values_decrypt_after_both_rotations() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let first_master = MasterKey::generate().expect("random");
    let phi_a = phi(&db, &first_master).await;

    let mut sealed = Vec::new();
    for round in 0..3_u16 {
        let value = 60 + round;
        let stored = phi_a.encrypt_phi_field(&value, "u").await.expect("seal");
        sealed.push((stored, value));
        phi_a.rotate_data_key().await.expect("rotate the data key");
    }
    let keys = PostgresKeyStore::new(db.pool().clone());
    let listed = auren_phi_crypto::KeyStore::list(&keys).await.expect("list");
    assert_eq!(listed.len(), 4);
    let active: Vec<_> = listed
        .iter()
        .filter(|key| key.state == DataKeyState::Active)
        .collect();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].version, 4);
    for (stored, value) in &sealed {
        assert_eq!(
            phi_a
                .decrypt_phi_field::<u16>(stored, "u")
                .await
                .expect("open"),
            *value
        );
    }

    let second_master = MasterKey::generate().expect("random");
    assert_eq!(
        phi_a
            .rotate_master_key(&second_master)
            .await
            .expect("rewrap"),
        4
    );

    // A fresh instance with the new master key (nothing cached) opens every old value.
    let phi_b = phi(&db, &second_master).await;
    for (stored, value) in &sealed {
        assert_eq!(
            phi_b
                .decrypt_phi_field::<u16>(stored, "u")
                .await
                .expect("open"),
            *value
        );
    }

    // And the old master key no longer starts.
    let stale = PhiCrypto::builder(first_master, keys.clone()).build().await;
    assert!(
        matches!(stale, Err(PhiError::MasterKeyMismatch(_))),
        "{stale:?}"
    );
}

#[tokio::test]
async fn a_wrong_master_key_fails_at_start_and_creates_nothing() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let right = MasterKey::generate().expect("random");
    phi(&db, &right).await;

    let wrong = MasterKey::generate().expect("random");
    let store = PostgresKeyStore::new(db.pool().clone());
    let error = PhiCrypto::builder(wrong, store.clone())
        .build()
        .await
        .expect_err("a wrong master key");
    assert!(matches!(error, PhiError::MasterKeyMismatch(_)));
    assert!(error.to_string().contains("PHI_MASTER_KEY"), "{error}");
    let keys = auren_phi_crypto::KeyStore::list(&store)
        .await
        .expect("list");
    assert_eq!(keys.len(), 1, "no new key was created");
}

#[tokio::test]
async fn instances_starting_together_share_one_first_key() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let master = MasterKey::generate().expect("random");
    let (a, b, c) = tokio::join!(phi(&db, &master), phi(&db, &master), phi(&db, &master));
    let a = a.active_key_id().await.expect("active");
    assert_eq!(b.active_key_id().await.expect("active"), a);
    assert_eq!(c.active_key_id().await.expect("active"), a);
}

#[tokio::test]
async fn a_stale_rotation_conflicts_instead_of_making_two_active_keys() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let master = MasterKey::generate().expect("random");
    let phi = phi(&db, &master).await;
    let store = PostgresKeyStore::new(db.pool().clone());
    let current = phi.active_key_id().await.expect("active");
    phi.rotate_data_key().await.expect("rotate");

    let listed = auren_phi_crypto::KeyStore::list(&store)
        .await
        .expect("list");
    let mut stale = listed[1].clone();
    stale.id = auren_phi_crypto::DataKeyId::new();
    stale.version = 9;
    let result = auren_phi_crypto::KeyStore::rotate(&store, current, stale).await;
    assert!(matches!(result, Err(KeyStoreError::Conflict)), "{result:?}");
}

#[tokio::test]
async fn reencrypt_moves_every_value_to_the_active_key_and_resumes() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let master = MasterKey::generate().expect("random");
    let phi = phi(&db, &master).await;
    let client = db.pool().get().await.expect("connection");

    let mut expected = Vec::new();
    for index in 0..25_u16 {
        if index % 10 == 0 {
            phi.rotate_data_key().await.expect("rotate");
        }
        let id = format!("r{index:03}");
        let user = format!("user_{}", index % 3);
        let bpm = 50 + index;
        let note = (index % 2 == 0).then(|| format!("note {index}"));
        let bpm_sealed = phi
            .encrypt_phi_field_in(&bpm, &user, "bpm")
            .await
            .expect("seal");
        let note_sealed = match &note {
            Some(note) => Some(
                phi.encrypt_phi_field_in(note, &user, "note")
                    .await
                    .expect("seal"),
            ),
            None => None,
        };
        client
            .execute(
                "INSERT INTO heart_rate_readings \
                 (id, user_id, bpm_sealed, note_sealed, recorded_at) \
                 VALUES ($1, $2, $3, $4, now())",
                &[&id, &user, &bpm_sealed, &note_sealed],
            )
            .await
            .expect("insert");
        expected.push((id, user, bpm, note));
    }
    let active = phi.rotate_data_key().await.expect("rotate");

    let target = ReencryptTarget::new("heart_rate_readings", "id", "user_id")
        .expect("valid")
        .column("bpm_sealed", Some("bpm"))
        .expect("valid")
        .column("note_sealed", Some("note"))
        .expect("valid");

    // A first run stopped after two batches of 4, then resumed from where it stopped.
    let options = ReencryptOptions {
        batch_size: 4,
        resume_after: None,
    };
    let mut stopped_at = None;
    let mut batches = 0;
    let first = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        let mut progress_seen = Vec::new();
        let result = reencrypt(&phi, db.pool(), &target, &options, |progress| {
            progress_seen.push(progress.clone());
        })
        .await;
        (result, progress_seen)
    })
    .await
    .expect("finishes");
    let (result, seen) = first;
    let total = result.expect("reencrypt");
    assert_eq!(total.rows_scanned, 25);
    assert_eq!(total.values_resealed, 25 + 13);
    for progress in &seen {
        batches += 1;
        if batches == 2 {
            stopped_at = progress.last_id.clone();
        }
    }
    assert_eq!(batches, 7);
    assert_eq!(stopped_at.as_deref(), Some("r007"));

    // Nothing names a retired key any more, and every value opens as it was.
    let rows = client
        .query(
            "SELECT id, user_id, bpm_sealed, note_sealed FROM heart_rate_readings ORDER BY id",
            &[],
        )
        .await
        .expect("select");
    for (row, (id, user, bpm, note)) in rows.iter().zip(&expected) {
        assert_eq!(row.get::<_, String>(0), *id);
        let bpm_sealed: String = row.get(2);
        assert_eq!(sealed_key_id(&bpm_sealed).expect("sealed"), active);
        let opened: u16 = phi
            .decrypt(&bpm_sealed, PhiContext::user(user).field("bpm"))
            .await
            .expect("open");
        assert_eq!(opened, *bpm);
        let note_sealed: Option<String> = row.get(3);
        assert_eq!(note_sealed.is_some(), note.is_some());
        if let (Some(sealed), Some(note)) = (note_sealed, note) {
            assert_eq!(sealed_key_id(&sealed).expect("sealed"), active);
            let opened: String = phi
                .decrypt_phi_field_in(&sealed, user, "note")
                .await
                .expect("open");
            assert_eq!(opened, *note);
        }
    }

    // Resuming (or running again) finds nothing left to do.
    let resumed = reencrypt(
        &phi,
        db.pool(),
        &target,
        &ReencryptOptions {
            batch_size: 4,
            resume_after: stopped_at,
        },
        |_| {},
    )
    .await
    .expect("resume");
    assert_eq!(resumed.rows_scanned, 17);
    assert_eq!(resumed.values_resealed, 0);
}

#[tokio::test]
async fn reencrypt_names_the_row_of_a_damaged_value() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let phi = phi(&db, &MasterKey::generate().expect("random")).await;
    let moved = phi
        .encrypt_phi_field_in(&80_u16, "bob", "bpm")
        .await
        .expect("seal");
    phi.rotate_data_key().await.expect("rotate");
    let client = db.pool().get().await.expect("connection");
    client
        .execute(
            "INSERT INTO heart_rate_readings (id, user_id, bpm_sealed, recorded_at) \
             VALUES ('r1', 'alice', $1, now())",
            &[&moved],
        )
        .await
        .expect("insert");

    let target = ReencryptTarget::new("heart_rate_readings", "id", "user_id")
        .expect("valid")
        .column("bpm_sealed", Some("bpm"))
        .expect("valid");
    let error = reencrypt(
        &phi,
        db.pool(),
        &target,
        &ReencryptOptions::default(),
        |_| {},
    )
    .await
    .expect_err("bob's value in alice's row");
    let message = error.to_string();
    assert!(
        message.contains("r1") && message.contains("bpm_sealed"),
        "{message}"
    );
}

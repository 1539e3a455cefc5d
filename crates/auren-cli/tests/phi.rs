//! `auren phi ...` end to end over a real database: rotate the data key, rotate the master
//! key, re-encrypt the example's readings, and every value still opens.

use std::process::{Command, Output};

use auren_phi_crypto::{sealed_key_id, MasterKey, PhiCrypto, PostgresKeyStore};
use auren_testing::TestDatabase;

fn auren(db: &TestDatabase, master: &MasterKey, args: &[&str], extra: &[(&str, String)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_auren"));
    command
        .env_clear()
        .env("DATABASE_URL", db.url())
        .env("PHI_MASTER_KEY", master.to_base64())
        .args(args);
    for (name, value) in extra {
        command.env(name, value);
    }
    command.output().expect("auren runs")
}

fn assert_ok(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test]
async fn rotations_and_reencrypt_keep_every_value_readable() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let first = MasterKey::generate().expect("random");
    let phi = PhiCrypto::builder(first.clone(), PostgresKeyStore::new(db.pool().clone()))
        .build()
        .await
        .expect("phi");
    let client = db.pool().get().await.expect("connection");
    for index in 0..5_u16 {
        let user = format!("user_{index}");
        let bpm = phi
            .encrypt_phi_field_in(&(60 + index), &user, "bpm")
            .await
            .expect("seal");
        let note = phi
            .encrypt_phi_field_in(&format!("note {index}"), &user, "note")
            .await
            .expect("seal");
        client
            .execute(
                "INSERT INTO heart_rate_readings (id, user_id, bpm_sealed, note_sealed, \
                 recorded_at) VALUES ($1, $2, $3, $4, now())",
                &[&format!("r{index}"), &user, &bpm, &note],
            )
            .await
            .expect("insert");
    }

    let stdout = assert_ok(&auren(&db, &first, &["phi", "rotate-data-key"], &[]));
    assert!(stdout.contains("dk_"), "{stdout}");

    let second = MasterKey::generate().expect("random");
    let new_key = [("NEW_PHI_MASTER_KEY", second.to_base64())];
    let stdout = assert_ok(&auren(
        &db,
        &first,
        &[
            "phi",
            "rotate-master-key",
            "--new-key-env",
            "NEW_PHI_MASTER_KEY",
        ],
        &new_key,
    ));
    assert!(stdout.contains("re-wrapped 2 data key(s)"), "{stdout}");

    // The old master key no longer works; the message says why.
    let stale = auren(&db, &first, &["phi", "reencrypt"], &[]);
    assert!(!stale.status.success());
    assert!(String::from_utf8_lossy(&stale.stderr).contains("PHI_MASTER_KEY"));

    let stdout = assert_ok(&auren(
        &db,
        &second,
        &["phi", "reencrypt", "--batch-size", "2"],
        &[],
    ));
    assert!(
        stdout.contains("5 row(s) read, 10 value(s) re-sealed"),
        "{stdout}"
    );

    let phi = PhiCrypto::builder(second, PostgresKeyStore::new(db.pool().clone()))
        .build()
        .await
        .expect("the new master key opens the keys");
    let active = phi.active_key_id().await.expect("active");
    let rows = client
        .query(
            "SELECT id, user_id, bpm_sealed, note_sealed FROM heart_rate_readings ORDER BY id",
            &[],
        )
        .await
        .expect("select");
    assert_eq!(rows.len(), 5);
    for (index, row) in rows.iter().enumerate() {
        let user: String = row.get(1);
        let bpm: String = row.get(2);
        let note: String = row.get(3);
        assert_eq!(sealed_key_id(&bpm).expect("sealed"), active);
        assert_eq!(sealed_key_id(&note).expect("sealed"), active);
        let bpm: u16 = phi
            .decrypt_phi_field_in(&bpm, &user, "bpm")
            .await
            .expect("open");
        let note: String = phi
            .decrypt_phi_field_in(&note, &user, "note")
            .await
            .expect("open");
        assert_eq!(usize::from(bpm), 60 + index);
        assert_eq!(note, format!("note {index}"));
    }
}

#[test]
fn a_missing_master_key_is_named() {
    let output = Command::new(env!("CARGO_BIN_EXE_auren"))
        .env_clear()
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none")
        .args(["phi", "rotate-data-key"])
        .output()
        .expect("auren runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("PHI_MASTER_KEY is not set"), "{stderr}");

    let output = Command::new(env!("CARGO_BIN_EXE_auren"))
        .env_clear()
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none")
        .env("PHI_MASTER_KEY", "c2VjcmV0LXRvby1zaG9ydA==")
        .args(["phi", "rotate-data-key"])
        .output()
        .expect("auren runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("invalid PHI_MASTER_KEY"), "{stderr}");
    assert!(!stderr.contains("c2VjcmV0"), "{stderr}");
}

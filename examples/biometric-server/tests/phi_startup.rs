//! PHI encryption at start-up: the master key is required with Postgres, must be valid,
//! and must be the key the stored data keys were wrapped with.

use std::process::Command;

use auren::phi_crypto::{MasterKey, PhiCrypto, PostgresKeyStore};
use biometric_server::{App, ServerConfig, StartError};

#[test]
fn a_missing_or_invalid_master_key_exits_2_naming_the_variable() {
    for key in [None, Some("too-short"), Some("aGVsbG8=")] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_biometric-server"));
        command
            .env_clear()
            .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none");
        if let Some(key) = key {
            command.env("PHI_MASTER_KEY", key);
        }
        let output = command.output().expect("the binary runs");

        assert_eq!(output.status.code(), Some(2), "{key:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("PHI_MASTER_KEY"), "{stderr}");
        if let Some(key) = key {
            assert!(!stderr.contains(key), "the value is not echoed: {stderr}");
        }
    }
}

#[test]
fn config_reads_the_master_key_and_hides_it() {
    let key = MasterKey::generate().expect("random");
    let encoded = key.to_base64();
    let config = ServerConfig::from_lookup(|name| match name {
        "DATABASE_URL" => Some("postgres://postgres@127.0.0.1/db".to_owned()),
        "PHI_MASTER_KEY" => Some(encoded.clone()),
        _ => None,
    })
    .expect("valid");
    assert_eq!(config.auren.phi_master_key, Some(key));
    assert!(!format!("{config:?}").contains(&encoded));

    let memory = ServerConfig::from_lookup(|_| None).expect("memory mode needs no key");
    assert!(memory.auren.phi_master_key.is_none());
}

#[tokio::test]
async fn a_master_key_that_cannot_unwrap_the_stored_keys_stops_the_start() {
    let Some(db) = auren_testing::TestDatabase::create().await else {
        return;
    };
    let right = MasterKey::generate().expect("random");
    PhiCrypto::builder(right.clone(), PostgresKeyStore::new(db.pool().clone()))
        .build()
        .await
        .expect("the first data key");

    let mut wrong = ServerConfig::for_tests();
    wrong.auren.database_url = Some(db.url().to_owned());
    wrong.auren.phi_master_key = Some(MasterKey::generate().expect("random"));
    let error = App::build(&wrong).await.expect_err("a wrong master key");
    assert!(
        matches!(error, StartError::Auren(auren::StartError::Phi(_))),
        "{error}"
    );
    assert!(error.to_string().contains("PHI_MASTER_KEY"), "{error}");

    let mut missing = wrong.clone();
    missing.auren.phi_master_key = None;
    let error = App::build(&missing).await.expect_err("no master key");
    assert!(
        matches!(error, StartError::Auren(auren::StartError::Config(_))),
        "{error}"
    );
    assert!(error.to_string().contains("PHI_MASTER_KEY"), "{error}");

    let mut right_config = wrong;
    right_config.auren.phi_master_key = Some(right);
    let right = right_config;
    App::build(&right)
        .await
        .expect("the right master key starts");

    // The binary says the same and exits non-zero.
    let output = Command::new(env!("CARGO_BIN_EXE_biometric-server"))
        .env_clear()
        .env("DATABASE_URL", db.url())
        .env("AUREN_LISTEN", "127.0.0.1:0")
        .env(
            "PHI_MASTER_KEY",
            MasterKey::generate().expect("random").to_base64(),
        )
        .output()
        .expect("the binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot unwrap"), "{stderr}");
}

#[tokio::test]
async fn memory_mode_without_a_master_key_starts_with_an_ephemeral_one() {
    let mut config = ServerConfig::for_tests();
    config.auren.phi_master_key = None;
    App::build(&config)
        .await
        .expect("an ephemeral key is generated");
}

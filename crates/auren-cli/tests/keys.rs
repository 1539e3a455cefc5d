//! The `auren` binary against a database of its own: migrate, then create, list and
//! revoke API keys, and the errors an operator sees.

use std::process::{Command, Output};

use auren_auth::{KeyDigest, KeyFormat};
use auren_testing::TestDatabase;

/// Runs `auren args...` with `DATABASE_URL` set to `database_url`.
fn auren(database_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auren"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env_remove("RUST_LOG")
        .output()
        .expect("the auren binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts a clean failure: a non-zero exit with `expected` on stderr, and no panic.
fn assert_fails_with(output: &Output, expected: &str) {
    let err = stderr(output);
    assert!(!output.status.success(), "should fail: {}", stdout(output));
    assert!(err.contains(expected), "stderr: {err}");
    assert!(!err.contains("panicked"), "stderr: {err}");
}

/// The value of `name:` in the record `keys create` prints.
fn field<'a>(printed: &'a str, name: &str) -> &'a str {
    printed
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {name} in {printed}"))
}

#[tokio::test]
async fn keys_are_created_listed_and_revoked() {
    let Some(db) = TestDatabase::create_empty().await else {
        return;
    };
    let url = db.url().to_owned();

    let migrated = auren(&url, &["migrate"]);
    assert!(migrated.status.success(), "migrate: {}", stderr(&migrated));

    let created = auren(
        &url,
        &[
            "keys",
            "create",
            "--user-id",
            "alice",
            "--role",
            "user",
            "--rate-limit",
            "5",
            "--description",
            "alice's laptop",
        ],
    );
    assert!(created.status.success(), "create: {}", stderr(&created));
    let printed = stdout(&created);
    let secret = printed
        .lines()
        .last()
        .expect("the key, last")
        .trim()
        .to_owned();
    let key = KeyFormat::default()
        .parse(&secret)
        .expect("a well-formed key");
    assert_eq!(
        printed.matches(&secret).count(),
        1,
        "the key is printed once"
    );
    assert_eq!(field(&printed, "user_id"), "alice");
    assert_eq!(field(&printed, "role"), "user");
    assert_eq!(field(&printed, "rate_limit"), "5 per minute");
    let key_id = field(&printed, "key_id").to_owned();
    assert!(key_id.starts_with("ak_"), "{key_id}");

    let listed = auren(&url, &["keys", "list"]);
    assert!(listed.status.success(), "list: {}", stderr(&listed));
    let list = stdout(&listed);
    let row = list
        .lines()
        .find(|line| line.starts_with(&key_id))
        .unwrap_or_else(|| panic!("{key_id} not listed: {list}"));
    for shown in [key.display_prefix(), "user", "5", "active", "alice"] {
        assert!(
            row.split_whitespace().any(|cell| cell == shown),
            "{shown}: {row}"
        );
    }
    let random = &secret[key.display_prefix().len()..];
    let digest = KeyDigest::of(&key).to_hex();
    assert!(!list.contains(random), "the secret is listed: {list}");
    assert!(
        !list.to_lowercase().contains(&digest),
        "the digest is listed"
    );

    let revoked = auren(&url, &["keys", "revoke", &key_id]);
    assert!(revoked.status.success(), "revoke: {}", stderr(&revoked));
    assert!(stdout(&revoked).contains("revoked"));
    let list = stdout(&auren(&url, &["keys", "list", "--user-id", "alice"]));
    let row = list
        .lines()
        .find(|line| line.starts_with(&key_id))
        .unwrap_or_else(|| panic!("{key_id} not listed: {list}"));
    assert!(
        row.split_whitespace().any(|cell| cell == "revoked"),
        "{row}"
    );

    let again = auren(&url, &["keys", "revoke", &key_id]);
    assert!(again.status.success(), "revoking twice: {}", stderr(&again));
    assert!(stdout(&again).contains("already revoked"));

    let unknown = "ak_01ARZ3NDEKTSV4RRFFQ69G5FAV";
    let output = auren(&url, &["keys", "revoke", unknown]);
    assert_fails_with(&output, &format!("no API key has the id {unknown}"));
}

#[tokio::test]
async fn bad_arguments_fail_clearly() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let url = db.url().to_owned();

    let output = auren(
        &url,
        &["keys", "create", "--user-id", "bob", "--role", "superuser"],
    );
    assert_fails_with(&output, "superuser");
    assert!(stdout(&output).is_empty(), "nothing issued");

    let output = auren(&url, &["keys", "revoke", "not-a-key-id"]);
    assert_fails_with(&output, "not-a-key-id");

    let output = auren(
        &url,
        &[
            "keys",
            "create",
            "--user-id",
            "bob",
            "--role",
            "user",
            "--rate-limit",
            "0",
        ],
    );
    assert_fails_with(&output, "rate_limit");

    let listed = stdout(&auren(&url, &["keys", "list"]));
    assert!(!listed.contains("bob"), "no key was issued: {listed}");
}

#[test]
fn a_missing_database_url_fails_clearly() {
    let output = Command::new(env!("CARGO_BIN_EXE_auren"))
        .args(["keys", "list"])
        .env_remove("DATABASE_URL")
        .output()
        .expect("the auren binary runs");
    assert_fails_with(&output, "DATABASE_URL is not set");
}

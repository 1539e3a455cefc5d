//! [`ApiKeys`] over both stores: the life cycle, the cache and cross-instance invalidation.

use std::sync::Arc;
use std::time::Duration;

use auren_auth::{
    ApiKeys, InMemoryKeyStore, InvalidationListener, KeyError, KeyStore, KeyUpdate, NewKey,
    PostgresKeyStore, Registration, Revocation, VerificationCache,
};
use auren_core::{ManualClock, Role};

async fn life_cycle(store: Arc<dyn KeyStore>, cache: Option<Arc<VerificationCache>>) {
    let clock = ManualClock::starting_now();
    let mut keys = ApiKeys::new(store).with_clock(Arc::new(clock.clone()));
    if let Some(cache) = cache {
        keys = keys.with_cache(cache);
    }

    let mut new = NewKey::new("user_1", Role::User);
    new.description = "phone".into();
    let issued = keys.create(new).await.expect("create");
    let secret = issued.key.expose_secret().to_owned();
    assert_eq!(issued.record.rate_limit_per_minute, 60);

    let caller = keys.verify(&secret).await.expect("valid");
    assert_eq!(caller.user_id(), "user_1");
    assert_eq!(caller.key_id(), issued.record.key_id);

    let updated = keys
        .update(
            issued.record.key_id,
            &KeyUpdate {
                rate_limit_per_minute: Some(5),
                description: None,
            },
        )
        .await
        .expect("update");
    assert_eq!(updated.description, "phone");
    let caller = keys.verify(&secret).await.expect("valid");
    assert_eq!(caller.rate_limit_per_minute(), 5, "updates apply at once");

    let rotation = keys
        .rotate(issued.record.key_id, Duration::from_secs(60))
        .await
        .expect("rotate");
    let replacement = rotation.new.key.expose_secret().to_owned();
    assert_eq!(rotation.new.record.rate_limit_per_minute, 5);
    assert!(
        keys.verify(&secret).await.is_ok(),
        "the old key works during the grace"
    );
    assert!(keys.verify(&replacement).await.is_ok());
    clock.advance(chrono::Duration::seconds(61));
    assert_eq!(
        keys.verify(&secret).await.expect_err("expired").code(),
        "expired_key"
    );
    assert!(keys.verify(&replacement).await.is_ok());

    let listed = keys.list(Some("user_1")).await.expect("list");
    assert_eq!(listed.len(), 2);
    assert!(keys.list(Some("user_2")).await.expect("list").is_empty());

    let key_id = rotation.new.record.key_id;
    assert!(matches!(
        keys.revoke(key_id).await.expect("revoke"),
        Revocation::Revoked(_)
    ));
    assert!(matches!(
        keys.revoke(key_id).await.expect("revoke twice"),
        Revocation::AlreadyRevoked(_)
    ));
    assert_eq!(
        keys.verify(&replacement).await.expect_err("revoked").code(),
        "revoked_key"
    );
    assert!(matches!(
        keys.rotate(key_id, Duration::ZERO).await,
        Err(KeyError::Revoked)
    ));
    assert!(matches!(
        keys.revoke(auren_core::KeyId::new()).await,
        Err(KeyError::NotFound)
    ));

    let unknown = keys.format().generate().expect("random");
    assert_eq!(
        keys.verify(unknown.expose_secret())
            .await
            .expect_err("unknown")
            .code(),
        "invalid_credentials"
    );

    let admin = keys.format().generate().expect("random");
    assert!(!keys.has_active_admin().await.expect("query"));
    let first = keys
        .register(&admin, NewKey::new("ops", Role::Admin))
        .await
        .expect("register");
    assert!(matches!(first, Registration::Registered(_)));
    let again = keys
        .register(&admin, NewKey::new("someone-else", Role::User))
        .await
        .expect("register again");
    assert!(matches!(again, Registration::AlreadyRegistered(record) if record.user_id == "ops"));
    assert!(keys.has_active_admin().await.expect("query"));
    assert!(keys.verify(admin.expose_secret()).await.is_ok());
}

#[tokio::test]
async fn life_cycle_in_memory() {
    life_cycle(Arc::new(InMemoryKeyStore::new()), None).await;
}

#[tokio::test]
async fn life_cycle_in_postgres_with_a_cache() {
    let Some(db) = auren_testing::TestDatabase::create().await else {
        return;
    };
    let store = Arc::new(PostgresKeyStore::new(db.pool().clone()));
    life_cycle(store.clone(), None).await;

    let Some(db) = auren_testing::TestDatabase::create().await else {
        return;
    };
    let store = Arc::new(PostgresKeyStore::new(db.pool().clone()));
    life_cycle(store, Some(Arc::new(VerificationCache::new()))).await;
}

/// Two instances share a database; each caches. A revocation through one is seen by the
/// other through `NOTIFY`, within about a second.
#[tokio::test]
async fn a_revocation_reaches_another_instance_through_notify() {
    let Some(db) = auren_testing::TestDatabase::create().await else {
        return;
    };
    let instance = |cache: Arc<VerificationCache>| {
        ApiKeys::new(Arc::new(PostgresKeyStore::new(db.pool().clone()))).with_cache(cache)
    };
    let cache_a = Arc::new(VerificationCache::new());
    let cache_b = Arc::new(VerificationCache::new());
    let _listener_b = InvalidationListener::spawn(db.url(), cache_b.clone()).expect("url");
    let a = instance(cache_a);
    let b = instance(cache_b.clone());

    for _ in 0..100 {
        if cache_b.is_live() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(cache_b.is_live(), "the listener connects");

    let issued = a
        .create(NewKey::new("u", Role::User))
        .await
        .expect("create");
    let secret = issued.key.expose_secret().to_owned();
    assert!(b.verify(&secret).await.is_ok());
    assert!(b.verify(&secret).await.is_ok(), "now served from b's cache");

    a.revoke(issued.record.key_id).await.expect("revoke");
    let mut seen = false;
    for _ in 0..50 {
        if b.verify(&secret).await.is_err() {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(seen, "instance b still accepts a revoked key");
    assert_eq!(
        b.verify(&secret).await.expect_err("revoked").code(),
        "revoked_key"
    );
}

/// An unknown digest is cached negatively; a key registered afterwards is still found at
/// once, because the insert is announced too.
#[tokio::test]
async fn negative_entries_are_dropped_when_the_key_is_registered() {
    let Some(db) = auren_testing::TestDatabase::create().await else {
        return;
    };
    let cache = Arc::new(VerificationCache::new());
    let _listener = InvalidationListener::spawn(db.url(), cache.clone()).expect("url");
    for _ in 0..100 {
        if cache.is_live() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let keys =
        ApiKeys::new(Arc::new(PostgresKeyStore::new(db.pool().clone()))).with_cache(cache.clone());
    let other = ApiKeys::new(Arc::new(PostgresKeyStore::new(db.pool().clone())));

    let key = keys.format().generate().expect("random");
    assert!(keys.verify(key.expose_secret()).await.is_err());
    other
        .register(&key, NewKey::new("ops", Role::Admin))
        .await
        .expect("register");

    let mut found = false;
    for _ in 0..50 {
        if keys.verify(key.expose_secret()).await.is_ok() {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(found);
}

/// Callers racing to create the first admin key create one between them.
async fn one_first_admin_key(keys: Arc<ApiKeys>) {
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let keys = Arc::clone(&keys);
            tokio::spawn(async move {
                let new = NewKey::new("admin", Role::Admin);
                keys.create_if_no_active_admin(new).await.expect("store")
            })
        })
        .collect();
    let mut created = 0;
    for racer in racers {
        created += usize::from(racer.await.expect("task").is_some());
    }
    assert_eq!(created, 1);

    let records = keys.list(None).await.expect("list");
    assert_eq!(records.len(), 1);

    let revoked = keys.revoke(records[0].key_id).await.expect("revoke");
    assert!(matches!(revoked, Revocation::Revoked(_)));
    let new = NewKey::new("admin", Role::Admin);
    let replacement = keys.create_if_no_active_admin(new).await.expect("store");
    assert!(replacement.is_some(), "a revoked admin key does not count");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_first_admin_keys_in_memory() {
    one_first_admin_key(Arc::new(ApiKeys::new(Arc::new(InMemoryKeyStore::new())))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_first_admin_keys_on_postgres() {
    let Some(db) = auren_testing::TestDatabase::create().await else {
        return;
    };
    let store = Arc::new(PostgresKeyStore::new(db.pool().clone()));
    one_first_admin_key(Arc::new(ApiKeys::new(store))).await;
}

//! The first admin key: instances starting together on one empty database create exactly
//! one between them, and later starts create none.

use auren::{Auren, AurenConfig, Role, BOOTSTRAP_ADMIN_USER};

/// Instances started at once on one database.
const INSTANCES: usize = 6;

fn config(database_url: &str) -> AurenConfig {
    AurenConfig::from_lookup(|name| match name {
        "DATABASE_URL" => Some(database_url.to_owned()),
        "PHI_MASTER_KEY" => Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned()),
        _ => None,
    })
    .expect("valid")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_starts_create_one_admin_key() {
    let Some(db) = auren_testing::TestDatabase::create().await else {
        return;
    };

    let starts: Vec<_> = (0..INSTANCES)
        .map(|_| tokio::spawn(Auren::start(config(db.url()))))
        .collect();
    let mut instances = Vec::new();
    for start in starts {
        instances.push(start.await.expect("task").expect("starts"));
    }

    let created: Vec<_> = instances
        .iter_mut()
        .filter_map(Auren::take_created_admin_key)
        .collect();
    assert_eq!(
        created.len(),
        1,
        "exactly one instance creates the admin key"
    );

    let records = instances[0].keys().list(None).await.expect("list");
    let admins: Vec<_> = records
        .iter()
        .filter(|record| record.role == Role::Admin)
        .collect();
    assert_eq!(admins.len(), 1, "{records:?}");
    assert_eq!(admins[0].user_id, BOOTSTRAP_ADMIN_USER);
    let caller = instances[0]
        .keys()
        .verify(created[0].expose_secret())
        .await
        .expect("the created key works");
    assert!(caller.is_admin());

    let mut again = Auren::start(config(db.url())).await.expect("restarts");
    assert!(
        again.take_created_admin_key().is_none(),
        "an admin key exists"
    );
    again.shutdown().await;
    for instance in instances {
        instance.shutdown().await;
    }
}

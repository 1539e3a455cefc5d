//! A Postgres database of a test's own.

use auren_core::postgres::{self, Pool};
use tokio_postgres::NoTls;

use crate::{service_unavailable, unique_name};

/// The server the tests use: `DATABASE_URL`, or the local default.
pub fn base_database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A freshly created and migrated database, dropped again on drop.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    url: String,
    admin_url: String,
    pool: Pool,
}

impl TestDatabase {
    /// Creates and migrates a database named `auren_test_<ulid>`.
    ///
    /// Returns `None` when Postgres is unreachable outside CI.
    ///
    /// # Panics
    ///
    /// When Postgres is unreachable under CI, or a migration fails.
    pub async fn create() -> Option<Self> {
        let database = Self::create_empty().await?;
        postgres::run_migrations(&database.pool)
            .await
            .expect("migrations apply to a fresh database");
        Some(database)
    }

    /// Creates a database with no tables at all.
    ///
    /// # Panics
    ///
    /// When Postgres is unreachable under CI.
    pub async fn create_empty() -> Option<Self> {
        let admin_url = base_database_url();
        let (client, connection) = match tokio_postgres::connect(&admin_url, NoTls).await {
            Ok(pair) => pair,
            Err(error) => return service_unavailable("Postgres", &error),
        };
        tokio::spawn(connection);

        let name = unique_name("auren_test");
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("the test role may create databases");

        let url = with_database(&admin_url, &name);
        let pool = postgres::connect_with_size(&url, 8).expect("a valid URL");
        Some(Self {
            name,
            url,
            admin_url,
            pool,
        })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A connection URL for the database, for a server under test.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A pool of connections to the database.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        self.pool.close();
        let admin_url = self.admin_url.clone();
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);

        // Drop runs inside or outside a runtime; a thread of its own with a runtime of its
        // own works in both cases.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let (client, connection) = tokio_postgres::connect(&admin_url, NoTls)
                    .await
                    .map_err(std::io::Error::other)?;
                tokio::spawn(connection);
                client
                    .batch_execute(&statement)
                    .await
                    .map_err(std::io::Error::other)
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: test database {} was not dropped", self.name);
        }
    }
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_end = base
        .find("://")
        .map(|scheme_end| scheme_end + 3)
        .and_then(|start| base[start..].find('/').map(|slash| start + slash))
        .unwrap_or(base.len());
    let mut out = format!("{}/{name}", &base[..authority_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "t1"),
            "postgres://u@h:5432/t1"
        );
        assert_eq!(with_database("postgres://u@h", "t1"), "postgres://u@h/t1");
        assert_eq!(
            with_database("postgres://u@h/db?sslmode=disable", "t1"),
            "postgres://u@h/t1?sslmode=disable"
        );
    }

    #[tokio::test]
    async fn databases_are_created_migrated_and_dropped() {
        let Some(db) = super::TestDatabase::create().await else {
            return;
        };
        let name = db.name().to_owned();
        let client = db.pool().get().await.expect("connection");
        client
            .query_one("SELECT count(*) FROM heart_rate_readings", &[])
            .await
            .expect("the migrated table exists");
        drop(client);
        drop(db);

        let (client, connection) =
            tokio_postgres::connect(&super::base_database_url(), tokio_postgres::NoTls)
                .await
                .expect("connect");
        tokio::spawn(connection);
        let left = client
            .query_one(
                "SELECT count(*) FROM pg_database WHERE datname = $1",
                &[&name],
            )
            .await
            .expect("query");
        assert_eq!(left.get::<_, i64>(0), 0);
    }
}

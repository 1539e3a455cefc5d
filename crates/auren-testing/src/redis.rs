//! A Redis key prefix of a test's own.

use std::time::Duration;

use fred::prelude::{Builder, Client, ClientLike, Config, KeysInterface};
use fred::types::CustomCommand;

use crate::{service_unavailable, unique_name};

/// The server the tests use: `REDIS_URL`, or the local default.
pub fn base_redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A unique key prefix on the test Redis; every key under it is deleted on drop.
#[derive(Debug)]
pub struct TestRedis {
    url: String,
    prefix: String,
    client: Client,
}

impl TestRedis {
    /// Connects and picks a prefix `auren_test_<ulid>:`.
    ///
    /// Returns `None` when Redis is unreachable outside CI.
    ///
    /// # Panics
    ///
    /// When Redis is unreachable under CI.
    pub async fn create() -> Option<Self> {
        let url = base_redis_url();
        let client = match connect(&url).await {
            Ok(client) => client,
            Err(error) => return service_unavailable("Redis", &error),
        };
        Some(Self {
            url,
            prefix: format!("{}:", unique_name("auren_test")),
            client,
        })
    }

    /// The Redis URL, for a server or store under test.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The key prefix reserved for this test.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A connected client, for assertions on the raw keys.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The keys that exist under the prefix now.
    ///
    /// # Panics
    ///
    /// When Redis does not answer.
    pub async fn keys(&self) -> Vec<String> {
        let pattern = format!("{}*", self.prefix);
        self.client
            .custom(
                CustomCommand::new_static("KEYS", None, false),
                vec![pattern],
            )
            .await
            .expect("KEYS answers")
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let url = self.url.clone();
        let pattern = format!("{}*", self.prefix);
        let cleaned = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| error.to_string())?;
            runtime.block_on(async move {
                let client = connect(&url).await.map_err(|error| error.to_string())?;
                let keys: Vec<String> = client
                    .custom(
                        CustomCommand::new_static("KEYS", None, false),
                        vec![pattern],
                    )
                    .await
                    .map_err(|error| error.to_string())?;
                if !keys.is_empty() {
                    let _: i64 = client.del(keys).await.map_err(|error| error.to_string())?;
                }
                client.quit().await.map_err(|error| error.to_string())
            })
        })
        .join();
        if !matches!(cleaned, Ok(Ok(()))) {
            eprintln!("warning: test keys under {} were not deleted", self.prefix);
        }
    }
}

async fn connect(url: &str) -> Result<Client, String> {
    let config = Config::from_url(url).map_err(|error| error.to_string())?;
    let client = Builder::from_config(config)
        .build()
        .map_err(|error| error.to_string())?;
    match tokio::time::timeout(Duration::from_secs(3), client.init()).await {
        Ok(Ok(_)) => Ok(client),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("connecting timed out".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use fred::prelude::KeysInterface;

    #[tokio::test]
    async fn keys_under_the_prefix_are_deleted_on_drop() {
        let Some(redis) = super::TestRedis::create().await else {
            return;
        };
        let key = format!("{}probe", redis.prefix());
        let _: () = redis
            .client()
            .set(&key, "1", None, None, false)
            .await
            .expect("SET");
        assert_eq!(redis.keys().await, vec![key.clone()]);
        let client = redis.client().clone();
        drop(redis);
        let exists: i64 = client.exists(&key).await.expect("EXISTS");
        assert_eq!(exists, 0);
    }
}

//! Starts the example server in-process on an ephemeral port, for tests over real HTTP.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;

use auren::core::ErrorBody;
use biometric_server::{App, ServerConfig};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running example server.
pub struct TestServer {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    admin_key: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// Builds the app from `config` and serves it on `127.0.0.1:0`.
    ///
    /// Unless the config names one, a fresh bootstrap admin key is generated and passed as
    /// `AUREN_ADMIN_KEY` would be; [`TestServer::admin_key`] returns it.
    pub async fn start(mut config: ServerConfig) -> Self {
        config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        let admin_key = config
            .auren
            .admin_key
            .get_or_insert_with(|| {
                auren::auth::KeyFormat::default()
                    .generate()
                    .expect("random admin key")
            })
            .expose_secret()
            .to_owned();
        let app = App::build(&config).await.expect("the app builds");
        let listener = app.bind(&config).await.expect("bind an ephemeral port");
        let address = listener.local_addr().expect("local address");

        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.serve(listener, async move {
            let _ = stopped.await;
        }));
        Self {
            address,
            client: reqwest::Client::new(),
            admin_key,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    /// A server whose stores are in the test database `db`.
    pub async fn on_postgres(db: &auren_testing::TestDatabase) -> Self {
        let mut config = ServerConfig::for_tests();
        config.auren.database_url = Some(db.url().to_owned());
        Self::start(config).await
    }

    /// An in-memory server.
    pub async fn in_memory() -> Self {
        Self::start(ServerConfig::for_tests()).await
    }

    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// A fresh `user`-role key for `user_id`, created over `POST /admin/api-keys`, for
    /// `Authorization: Bearer`.
    pub async fn user_key(&self, user_id: &str) -> String {
        self.create_key(&serde_json::json!({"user_id": user_id, "role": "user"}))
            .await
    }

    /// The bootstrap admin key the server was started with.
    pub async fn admin_key(&self) -> String {
        self.admin_key.clone()
    }

    /// Creates a key over `POST /admin/api-keys` with `body`; returns the secret key.
    pub async fn create_key(&self, body: &serde_json::Value) -> String {
        let response = self
            .client
            .post(self.url("/admin/api-keys"))
            .bearer_auth(&self.admin_key)
            .json(body)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 201, "creating a key");
        let created: serde_json::Value = response.json().await.expect("json");
        created["api_key"].as_str().expect("api_key").to_owned()
    }

    /// Shuts down gracefully and waits until the server has stopped.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task")
                .expect("server stops cleanly");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// The response's `x-request-id`, checked to be a ULID.
pub fn request_id(response: &reqwest::Response) -> String {
    let id = response.headers()["x-request-id"]
        .to_str()
        .expect("ASCII request id")
        .to_owned();
    assert!(ulid::Ulid::from_string(&id).is_ok(), "{id} is not a ULID");
    id
}

/// Reads an error answer and checks it against the shared error body: JSON, a code, a
/// message and the same request id as the header. Returns the code.
pub async fn error_code(response: reqwest::Response) -> String {
    let id = request_id(&response);
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "error answers are JSON"
    );
    let body: ErrorBody = response.json().await.expect("the shared error body");
    assert_eq!(body.error.request_id.as_deref(), Some(id.as_str()));
    assert!(!body.error.message.is_empty());
    body.error.code
}

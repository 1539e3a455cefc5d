//! An existing axum app, secured by auren: `cargo run -p secure-existing-app`.
//!
//! Every route under `/api` needs an API key and keeps to its rate limit; every request
//! gets a request id and the JSON error body, and is audited; `/admin` serves key, audit,
//! rate-limit and metrics endpoints to admin keys. `AurenConfig::from_env` reads
//! `DATABASE_URL`, `REDIS_URL`, `PHI_MASTER_KEY`, ...; unset, everything stays in memory.
#![allow(clippy::print_stdout)]

use auren::{Auren, AurenConfig};
use axum::{routing::get, Router};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut auren = Auren::start(AurenConfig::from_env()?).await?;
    if let Some(key) = auren.take_created_admin_key() {
        println!("AUREN_ADMIN_KEY={}", key.expose_secret()); // once: store it
    }

    // The app as it was, with one `.layer` per group of routes.
    let api = Router::new().route("/readings", get(|| async { "[]" }));
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .nest("/api", api.layer(auren.key_layer()))
        .nest("/admin", auren.admin_router())
        .layer(auren.edge_layer());

    let address = std::env::var("APP_LISTEN").unwrap_or_else(|_| "127.0.0.1:8899".into());
    let listener = tokio::net::TcpListener::bind(address).await?;
    println!("listening on {}", listener.local_addr()?);
    // Like `axum::serve`, with a 10 s deadline on request headers (slowloris).
    auren::serve(listener, app)
        .with_graceful_shutdown(async { drop(tokio::signal::ctrl_c().await) })
        .await?;
    auren.shutdown().await; // writes every queued audit event
    Ok(())
}

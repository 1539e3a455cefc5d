//! The admin routes of a running stack, behind an admin key.

use std::sync::Arc;

use auren_auth::{AuthLayer, RequireRoleLayer};
use axum::Router;

use crate::stack::Auren;

impl Auren {
    /// The admin API — `/api-keys`, `/audit-logs`, `/rate-limits` and, unless metrics are
    /// `off`, the Prometheus scrape route `/metrics` — behind an API key with the `admin`
    /// role. Nest it where the host wants it, usually `/admin`.
    ///
    /// # Example
    ///
    /// ```
    /// use auren::{Auren, AurenConfig};
    /// use axum::Router;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let auren = Auren::start(AurenConfig::default()).await?;
    /// let app: Router = Router::new()
    ///     .nest("/admin", auren.admin_router())
    ///     .layer(auren.edge_layer());
    /// # Ok(())
    /// # }
    /// ```
    pub fn admin_router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let mut admin = Router::new()
            .merge(auren_admin::api_keys::router(Arc::clone(self.keys())))
            .merge(auren_admin::audit_logs::router(Arc::clone(
                self.audit_sink(),
            )))
            .merge(auren_admin::rate_limits::router(self.limiter().clone()));
        if let Some(handle) = self.prometheus() {
            admin = admin.merge(auren_admin::metrics::router(handle.clone()));
        }

        admin
            .layer(RequireRoleLayer::admin())
            .layer(AuthLayer::new(Arc::clone(self.keys())))
    }
}

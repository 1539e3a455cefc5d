//! Prometheus metrics (`/admin/metrics`): the process-wide recorder and its scrape route.
//!
//! The auren crates record through the `metrics` facade; nothing is kept until a recorder
//! is installed. [`install_prometheus_recorder`] installs one that keeps every metric in
//! memory, and [`router`] serves them in the Prometheus text format:
//!
//! | request | answer |
//! |---|---|
//! | `GET /metrics` | `200`, `text/plain; version=0.0.4`: every metric, as Prometheus reads them |
//!
//! The router adds no authentication: mount it under `/admin` behind the auth layer with
//! the admin role required, like the other admin routers. Call
//! [`install_prometheus_recorder`] early, before building the layers, so that nothing
//! recorded at start-up is missed. `docs/observability/metrics.md` lists the metrics.
//!
//! # Example
//!
//! ```
//! use axum::Router;
//!
//! let handle = auren_admin::metrics::install_prometheus_recorder();
//! let admin: Router = Router::new().nest("/admin", auren_admin::metrics::router(handle));
//! # drop(admin);
//! ```

use std::sync::OnceLock;
use std::time::Duration;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{BuildError, PrometheusBuilder};

pub use metrics_exporter_prometheus::PrometheusHandle;

/// The content type of the Prometheus text exposition format.
pub const CONTENT_TYPE_PROMETHEUS: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Histogram bucket bounds, in seconds: from 50 µs (a cached key check) to 10 s (a
/// batch written while Postgres struggles).
pub const LATENCY_BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0,
];

/// How often histogram samples are folded into their buckets, so memory stays flat
/// between scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder as this process's global `metrics` recorder, once,
/// and returns a handle to it; every later call returns a clone of the same handle.
///
/// Histograms use [`LATENCY_BUCKETS`]. A background thread folds histogram samples into
/// their buckets every five seconds. When another recorder was installed first (by the
/// host), a `warn` is logged and the handle returned belongs to a recorder that is not
/// installed: it renders nothing, and the other recorder keeps receiving the metrics.
///
/// # Example
///
/// ```
/// let handle = auren_admin::metrics::install_prometheus_recorder();
/// let again = auren_admin::metrics::install_prometheus_recorder();
/// assert_eq!(handle.render(), again.render());
/// ```
pub fn install_prometheus_recorder() -> PrometheusHandle {
    HANDLE.get_or_init(install).clone()
}

/// The scrape route, `GET /metrics`, rendering `handle`; nest it under `/admin` behind
/// the auth layer and the admin role.
///
/// # Example
///
/// ```
/// use axum::Router;
/// use metrics_exporter_prometheus::PrometheusBuilder;
///
/// // A recorder that is not installed, as a test would use.
/// let handle = PrometheusBuilder::new().build_recorder().handle();
/// let admin: Router = Router::new().nest("/admin", auren_admin::metrics::router(handle));
/// # drop(admin);
/// ```
pub fn router<S>(handle: PrometheusHandle) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/metrics", get(render))
        .with_state(handle)
}

async fn render(State(handle): State<PrometheusHandle>) -> Response {
    let mut response = handle.render().into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(CONTENT_TYPE_PROMETHEUS),
    );
    response
}

fn install() -> PrometheusHandle {
    match builder().install_recorder() {
        Ok(handle) => {
            start_upkeep(handle.clone());
            tracing::debug!("Prometheus metrics recorder installed");
            handle
        }
        Err(error) => {
            tracing::warn!(
                error = %error,
                "the Prometheus recorder was not installed: another metrics recorder is; \
                 /metrics will stay empty",
            );
            builder().build_recorder().handle()
        }
    }
}

fn builder() -> PrometheusBuilder {
    let buckets: Result<PrometheusBuilder, BuildError> =
        PrometheusBuilder::new().set_buckets(LATENCY_BUCKETS);

    // `set_buckets` only refuses an empty list, and LATENCY_BUCKETS is not empty.
    buckets.unwrap_or_else(|_| PrometheusBuilder::new())
}

/// Folds histogram samples into buckets in the background, for the life of the process.
fn start_upkeep(handle: PrometheusHandle) {
    let spawned = std::thread::Builder::new()
        .name("auren-metrics-upkeep".into())
        .spawn(move || loop {
            std::thread::sleep(UPKEEP_INTERVAL);
            handle.run_upkeep();
        });
    if let Err(error) = spawned {
        tracing::warn!(
            error = %error,
            "metrics upkeep thread not started; histograms are folded at each scrape only",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    #[tokio::test]
    async fn the_route_serves_what_was_recorded_in_the_text_format() {
        let handle = install_prometheus_recorder();
        metrics::counter!("auren_admin_test_scrapes_total", "result" => "ok").increment(3);
        metrics::histogram!("auren_admin_test_duration_seconds").record(0.000_2);
        let again = install_prometheus_recorder();

        let app: Router = Router::new().nest("/admin", router(again));
        let request = http::Request::get("/admin/metrics")
            .body(Body::empty())
            .expect("request");
        let response = app.oneshot(request).await.expect("infallible");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()[CONTENT_TYPE], CONTENT_TYPE_PROMETHEUS);

        let bytes = response.into_body().collect().await.expect("body");
        let text = String::from_utf8(bytes.to_bytes().to_vec()).expect("utf-8");
        assert!(
            text.contains("auren_admin_test_scrapes_total{result=\"ok\"} 3"),
            "{text}"
        );
        assert!(
            text.contains("auren_admin_test_duration_seconds_bucket{le=\"0.00025\"} 1"),
            "{text}"
        );
        assert!(handle.render().contains("auren_admin_test_scrapes_total"));
    }

    #[test]
    fn the_router_merges_into_a_stateless_router() {
        let handle = PrometheusBuilder::new().build_recorder().handle();
        let app: Router = Router::new().merge(router(handle));
        drop(app);
    }
}

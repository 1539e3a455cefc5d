//! The metrics this crate records, by name, and the helpers that record them.
//!
//! Everything goes through the [`metrics`] facade, so nothing is kept until the host
//! installs a recorder (`auren_admin::metrics::install_prometheus_recorder` exports them
//! in the Prometheus text format). Label values are fixed words, never anything taken
//! from a request. `docs/observability/metrics.md` lists every metric of every crate.
//!
//! # Example
//!
//! ```
//! use auren_core::metrics::{HTTP_REQUESTS_TOTAL, HTTP_REQUEST_DURATION_SECONDS};
//!
//! assert_eq!(HTTP_REQUESTS_TOTAL, "auren_http_requests_total");
//! assert!(HTTP_REQUEST_DURATION_SECONDS.ends_with("_seconds"));
//! ```

use std::time::Duration;

use http::StatusCode;

/// Counter of answered requests, labelled `outcome`: `success` (status below 400),
/// `denied` (401, 403 or 429), `client_error` (any other 4xx) or `error` (5xx, or the
/// inner service failed). Recorded by [`RequestMetricsLayer`](crate::RequestMetricsLayer).
pub const HTTP_REQUESTS_TOTAL: &str = "auren_http_requests_total";

/// Histogram of the seconds between a request entering
/// [`RequestMetricsLayer`](crate::RequestMetricsLayer) and its response head being ready.
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "auren_http_request_duration_seconds";

/// What became of a request, as the `outcome` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Success,
    Denied,
    ClientError,
    Error,
}

impl Outcome {
    /// The outcome of a response with `status`.
    pub(crate) fn of(status: StatusCode) -> Self {
        match status.as_u16() {
            401 | 403 | 429 => Self::Denied,
            400..=499 => Self::ClientError,
            500.. => Self::Error,
            _ => Self::Success,
        }
    }
}

/// Counts one answered request and records how long it took.
pub(crate) fn record_request(outcome: Outcome, elapsed: Duration) {
    // Literal label values keep the metric keys static: no allocation per request.
    let counter = match outcome {
        Outcome::Success => metrics::counter!(HTTP_REQUESTS_TOTAL, "outcome" => "success"),
        Outcome::Denied => metrics::counter!(HTTP_REQUESTS_TOTAL, "outcome" => "denied"),
        Outcome::ClientError => {
            metrics::counter!(HTTP_REQUESTS_TOTAL, "outcome" => "client_error")
        }
        Outcome::Error => metrics::counter!(HTTP_REQUESTS_TOTAL, "outcome" => "error"),
    };
    counter.increment(1);
    metrics::histogram!(HTTP_REQUEST_DURATION_SECONDS).record(elapsed.as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_fall_into_the_four_outcomes() {
        let cases = [
            (200, Outcome::Success),
            (304, Outcome::Success),
            (401, Outcome::Denied),
            (403, Outcome::Denied),
            (429, Outcome::Denied),
            (400, Outcome::ClientError),
            (404, Outcome::ClientError),
            (413, Outcome::ClientError),
            (500, Outcome::Error),
            (503, Outcome::Error),
        ];
        for (status, outcome) in cases {
            let status = StatusCode::from_u16(status).expect("valid status");
            assert_eq!(Outcome::of(status), outcome, "{status}");
        }
    }
}

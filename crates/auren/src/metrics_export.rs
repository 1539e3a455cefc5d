//! Where the stack's metrics go: a Prometheus scrape route, or the host's own recorder.

/// How [`Auren::start`](crate::Auren::start) exports the metrics every part records.
///
/// | `AUREN_METRICS` | meaning |
/// |---|---|
/// | `prometheus` (default) | install the Prometheus recorder; `GET /metrics` in [`Auren::admin_router`](crate::Auren::admin_router) renders it |
/// | `off` | install nothing: the host's own `metrics` recorder, if any, receives everything |
///
/// # Example
///
/// ```
/// use auren::MetricsExport;
///
/// assert_eq!(MetricsExport::default(), MetricsExport::Prometheus);
/// assert_eq!(MetricsExport::parse("off"), Some(MetricsExport::Off));
/// assert_eq!(MetricsExport::parse("statsd"), None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetricsExport {
    /// The process-wide Prometheus recorder, scraped over the admin API.
    #[default]
    Prometheus,
    /// No recorder from auren.
    Off,
}

impl MetricsExport {
    /// Reads `prometheus` or `off`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "prometheus" => Some(MetricsExport::Prometheus),
            "off" => Some(MetricsExport::Off),
            _ => None,
        }
    }
}

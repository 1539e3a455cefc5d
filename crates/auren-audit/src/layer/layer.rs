//! The layer: which paths are audited, through which writer, on which clock.

use std::sync::Arc;

use auren_core::{SharedClock, SystemClock};
use tower::Layer;

use super::AuditService;
use crate::AuditWriter;

/// Records one audit event per request to an audited path. See the [module docs](super).
#[derive(Debug, Clone)]
pub struct AuditLayer {
    writer: AuditWriter,
    prefixes: Arc<[String]>,
    clock: SharedClock,
}

impl AuditLayer {
    /// A layer auditing every path through `writer`.
    pub fn new(writer: AuditWriter) -> Self {
        Self {
            writer,
            prefixes: Arc::from(Vec::new()),
            clock: SystemClock::shared(),
        }
    }

    /// Audits only paths equal to one of `prefixes` or below it (`/api` matches `/api`
    /// and `/api/x`, not `/apix`). An empty list audits every path.
    pub fn audit_paths<I, P>(mut self, prefixes: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        let prefixes: Vec<String> = prefixes
            .into_iter()
            .map(|prefix| prefix.into().trim_end_matches('/').to_owned())
            .collect();
        self.prefixes = Arc::from(prefixes);
        self
    }

    /// Takes event timestamps from `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }
}

impl<S> Layer<S> for AuditLayer {
    type Service = AuditService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuditService::new(
            inner,
            self.writer.clone(),
            self.prefixes.clone(),
            self.clock.clone(),
        )
    }
}

//! The PHI access log of the server: Postgres when configured, memory otherwise.

use std::sync::Arc;

use auren_audit::partitions::{self, DEFAULT_MONTHS_AHEAD};
use auren_audit::{
    AuditLayer, AuditWriter, AuditWriterConfig, MemorySink, PostgresSink, SharedSink,
};
use auren_core::postgres::Pool;

/// The path prefixes whose requests are audited; `/health` is not.
pub(crate) const AUDITED_PATHS: [&str; 3] = ["/api", "/admin", "/webhooks"];

/// The audit writer and the sink it writes to.
#[derive(Debug, Clone)]
pub(crate) struct ServerAudit {
    writer: AuditWriter,
    sink: SharedSink,
}

impl ServerAudit {
    /// Starts the writer over Postgres (creating this and the next months' partitions) or,
    /// without Postgres, over a bounded in-memory sink.
    pub(crate) async fn start(postgres: Option<&Pool>) -> Self {
        let sink: SharedSink = match postgres {
            Some(pool) => {
                let now = chrono::Utc::now();
                // The writer creates a missing partition itself before writing into it, so
                // a failure here only delays that work; it does not stop the server.
                if let Err(error) = partitions::create_ahead(pool, now, DEFAULT_MONTHS_AHEAD).await
                {
                    tracing::warn!(error = %error, "audit partitions could not be created ahead");
                }
                tracing::info!("audit events are stored in Postgres");
                Arc::new(PostgresSink::new(pool.clone()))
            }
            None => {
                tracing::info!("audit events are kept in memory (bounded) and lost at exit");
                Arc::new(MemorySink::new())
            }
        };
        let writer = AuditWriter::start(Arc::clone(&sink), AuditWriterConfig::default());
        Self { writer, sink }
    }

    /// The layer that records every request to an audited path.
    pub(crate) fn layer(&self) -> AuditLayer {
        AuditLayer::new(self.writer.clone()).audit_paths(AUDITED_PATHS)
    }

    /// The sink, for the admin query route.
    pub(crate) fn sink(&self) -> SharedSink {
        Arc::clone(&self.sink)
    }

    /// Writes every queued event; called once the HTTP server has stopped.
    pub(crate) async fn shutdown(&self) {
        self.writer.shutdown().await;
    }
}

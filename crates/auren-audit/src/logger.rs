//! Recording what a handler does beyond the request itself.

use auren_core::{CallerIdentity, RequestId};

use crate::{Action, AuditEvent, AuditWriter, Outcome, RecordError};

/// Records accesses that the [`AuditLayer`](crate::AuditLayer) cannot see: a handler that
/// reads another user's records, an export, a background job touching PHI.
///
/// Cheap to clone; it writes through the same queue and chain as the layer.
///
/// # Example
///
/// ```
/// use auren_audit::{Action, AuditWriter, AuditWriterConfig, MemorySink, Outcome};
/// use std::sync::Arc;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let sink = MemorySink::new();
/// let writer = AuditWriter::start(Arc::new(sink.clone()), AuditWriterConfig::default());
/// let logger = writer.logger();
/// logger
///     .log_access(None, None, Action::custom("export").unwrap(), "/exports/42", Outcome::Success)
///     .await
///     .unwrap();
/// writer.shutdown().await;
/// assert_eq!(sink.rows()[0].event().action().as_str(), "export");
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct AuditLogger {
    writer: AuditWriter,
}

impl AuditLogger {
    /// A logger writing through `writer`.
    pub fn new(writer: AuditWriter) -> Self {
        Self { writer }
    }

    /// Records that `caller` did `action` on `resource` within request `request_id`.
    ///
    /// # Errors
    ///
    /// [`RecordError`] when the queue refuses the event (full under `Reject`, or closed).
    pub async fn log_access(
        &self,
        request_id: Option<RequestId>,
        caller: Option<&CallerIdentity>,
        action: Action,
        resource: &str,
        outcome: Outcome,
    ) -> Result<(), RecordError> {
        let event = AuditEvent::new(action, resource, outcome)
            .with_request_id(request_id)
            .with_caller(caller);
        self.log(event).await
    }

    /// Records a fully built event.
    ///
    /// # Errors
    ///
    /// As for [`log_access`](Self::log_access).
    pub async fn log(&self, event: AuditEvent) -> Result<(), RecordError> {
        self.writer.record(event).await
    }
}

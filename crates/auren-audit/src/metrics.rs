//! The metrics this crate records, by name, and the helpers that record them.
//!
//! Recorded through the [`metrics`] facade, so nothing is kept until the host installs a
//! recorder. No metric carries a label: nothing of an event ever reaches them.
//! `docs/observability/metrics.md` lists every metric.
//!
//! # Example
//!
//! ```
//! use auren_audit::metrics::{AUDIT_QUEUE_DEPTH, AUDIT_WRITE_FAILURES_TOTAL};
//!
//! assert_eq!(AUDIT_QUEUE_DEPTH, "auren_audit_queue_depth");
//! assert_eq!(AUDIT_WRITE_FAILURES_TOTAL, "auren_audit_write_failures_total");
//! ```

use std::time::Duration;

/// Gauge of the events waiting in the [`AuditWriter`](crate::AuditWriter)'s queue, set
/// before and after every batch and after every failed attempt.
pub const AUDIT_QUEUE_DEPTH: &str = "auren_audit_queue_depth";

/// Histogram of the seconds one attempt to store one batch takes, failed attempts included.
pub const AUDIT_WRITE_DURATION_SECONDS: &str = "auren_audit_write_duration_seconds";

/// Counter of events stored by the sink.
pub const AUDIT_EVENTS_WRITTEN_TOTAL: &str = "auren_audit_events_written_total";

/// Counter of failed attempts to reach storage (writing a batch or opening the chain);
/// each is retried, so events wait in the queue rather than being lost.
pub const AUDIT_WRITE_FAILURES_TOTAL: &str = "auren_audit_write_failures_total";

/// Counter of events refused because the queue was full under
/// [`QueueFullPolicy::Reject`](crate::QueueFullPolicy::Reject): each one's request was
/// answered `503 audit_unavailable`.
pub const AUDIT_EVENTS_REJECTED_TOTAL: &str = "auren_audit_events_rejected_total";

/// Sets the queue depth.
pub(crate) fn record_queue_depth(depth: usize) {
    metrics::gauge!(AUDIT_QUEUE_DEPTH).set(depth as f64);
}

/// Records how long one attempt to store a batch took.
pub(crate) fn record_write_duration(elapsed: Duration) {
    metrics::histogram!(AUDIT_WRITE_DURATION_SECONDS).record(elapsed.as_secs_f64());
}

/// Counts `events` stored.
pub(crate) fn record_written(events: usize) {
    metrics::counter!(AUDIT_EVENTS_WRITTEN_TOTAL).increment(events as u64);
}

/// Counts one failed attempt to reach storage.
pub(crate) fn record_write_failure() {
    metrics::counter!(AUDIT_WRITE_FAILURES_TOTAL).increment(1);
}

/// Counts one event refused by a full queue.
pub(crate) fn record_rejected() {
    metrics::counter!(AUDIT_EVENTS_REJECTED_TOTAL).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use async_trait::async_trait;
    use chrono::{DateTime, Utc};
    use metrics::{SharedString, Unit};
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    use metrics_util::CompositeKey;

    use crate::{
        Action, AuditEvent, AuditPage, AuditQuery, AuditSink, AuditWriter, AuditWriterConfig,
        MemorySink, Outcome, QueueFullPolicy, RecordError, SealedEvent, SinkError, VerifyReport,
    };

    type Recorded = Vec<(CompositeKey, Option<Unit>, Option<SharedString>, DebugValue)>;

    /// Every metric recorded while `work` ran on a current-thread runtime.
    fn record(work: impl Future<Output = ()>) -> Recorded {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        metrics::with_local_recorder(&recorder, || runtime.block_on(work));
        snapshotter.snapshot().into_vec()
    }

    /// The value of the unlabelled metric `name`.
    fn value<'a>(recorded: &'a Recorded, name: &str) -> &'a DebugValue {
        recorded
            .iter()
            .find(|(key, ..)| key.key().name() == name)
            .map(|(.., value)| value)
            .unwrap_or_else(|| panic!("{name} was not recorded"))
    }

    /// A memory sink whose first batch write fails.
    #[derive(Debug, Default)]
    struct FlakySink {
        failed_once: AtomicBool,
        inner: MemorySink,
    }

    #[async_trait]
    impl AuditSink for FlakySink {
        async fn open_chain(&self, chain_id: &str) -> Result<(), SinkError> {
            self.inner.open_chain(chain_id).await
        }

        async fn write_batch(&self, batch: &[SealedEvent]) -> Result<(), SinkError> {
            if !self.failed_once.swap(true, Ordering::SeqCst) {
                return Err(SinkError::Malformed("storage is down".into()));
            }
            self.inner.write_batch(batch).await
        }

        async fn query(&self, query: &AuditQuery) -> Result<AuditPage, SinkError> {
            self.inner.query(query).await
        }

        async fn verify(
            &self,
            from: Option<DateTime<Utc>>,
            to: Option<DateTime<Utc>>,
        ) -> Result<VerifyReport, SinkError> {
            self.inner.verify(from, to).await
        }
    }

    fn event() -> AuditEvent {
        AuditEvent::new(Action::Read, "/api/biometrics", Outcome::Success)
    }

    #[test]
    fn writes_failures_rejections_and_the_queue_are_recorded() {
        let recorded = record(async {
            let config = AuditWriterConfig {
                queue_capacity: 2,
                when_full: QueueFullPolicy::Reject,
                initial_backoff: Duration::from_millis(1),
                ..AuditWriterConfig::default()
            };
            let writer = AuditWriter::start(Arc::new(FlakySink::default()), config);

            // The writer's task has not run yet on this one thread, so the queue fills.
            writer.record(event()).await.expect("queued");
            writer.record(event()).await.expect("queued");
            let refused = writer.record(event()).await;
            assert_eq!(refused, Err(RecordError::QueueFull));

            writer.shutdown().await;
            assert_eq!(writer.stats().written, 2);
        });

        let written = value(&recorded, AUDIT_EVENTS_WRITTEN_TOTAL);
        assert_eq!(written, &DebugValue::Counter(2));
        let failures = value(&recorded, AUDIT_WRITE_FAILURES_TOTAL);
        assert_eq!(failures, &DebugValue::Counter(1));
        let rejected = value(&recorded, AUDIT_EVENTS_REJECTED_TOTAL);
        assert_eq!(rejected, &DebugValue::Counter(1));
        match value(&recorded, AUDIT_WRITE_DURATION_SECONDS) {
            DebugValue::Histogram(samples) => assert_eq!(samples.len(), 2, "a failure, a write"),
            other => panic!("not a histogram: {other:?}"),
        }
        let depth = value(&recorded, AUDIT_QUEUE_DEPTH);
        assert_eq!(
            depth,
            &DebugValue::Gauge(0.0.into()),
            "empty after the flush"
        );
    }
}

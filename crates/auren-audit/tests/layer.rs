//! The layer against a sink that stalls: a full queue makes requests wait, or answers 503.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use auren_audit::{
    AuditLayer, AuditPage, AuditQuery, AuditSink, AuditWriter, AuditWriterConfig, MemorySink,
    QueueFullPolicy, SealedEvent, SinkError, VerifyReport,
};
use auren_core::{ErrorBody, RequestId, RequestIdLayer};
use axum::body::Body;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use http_body_util::BodyExt;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// A memory sink whose writes wait until the test opens the gate.
#[derive(Debug, Clone)]
struct GatedSink {
    inner: MemorySink,
    gate: Arc<Semaphore>,
}

#[async_trait]
impl AuditSink for GatedSink {
    async fn open_chain(&self, chain_id: &str) -> Result<(), SinkError> {
        self.inner.open_chain(chain_id).await
    }

    async fn write_batch(&self, batch: &[SealedEvent]) -> Result<(), SinkError> {
        let _permit = self.gate.acquire().await.expect("open");
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

fn setup(when_full: QueueFullPolicy) -> (GatedSink, AuditWriter, Router) {
    let sink = GatedSink {
        inner: MemorySink::new(),
        gate: Arc::new(Semaphore::new(0)),
    };
    let config = AuditWriterConfig {
        queue_capacity: 1,
        max_batch: 1,
        when_full,
        ..AuditWriterConfig::default()
    };
    let writer = AuditWriter::start(Arc::new(sink.clone()), config);
    let app = Router::new()
        .route("/api/x", get(|| async { "ok" }))
        .layer(AuditLayer::new(writer.clone()))
        .layer(RequestIdLayer::new());
    (sink, writer, app)
}

async fn call(app: &Router) -> (u16, Option<String>, RequestId) {
    let request = http::Request::get("/api/x")
        .body(Body::empty())
        .expect("request");
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status().as_u16();
    let id = response.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("ulid");
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let code = serde_json::from_slice::<ErrorBody>(&bytes)
        .ok()
        .map(|b| b.error.code);
    (status, code, id)
}

#[tokio::test]
async fn a_full_queue_under_reject_answers_503_and_records_the_rest() {
    let (sink, writer, app) = setup(QueueFullPolicy::Reject);

    let mut served = 0;
    let mut refused = None;
    for _ in 0..20 {
        match call(&app).await {
            (200, _, _) => served += 1,
            (status, code, id) => {
                refused = Some((status, code, id));
                break;
            }
        }
        tokio::task::yield_now().await;
    }
    let (status, code, _) = refused.expect("the queue filled up");
    assert_eq!((status, code.as_deref()), (503, Some("audit_unavailable")));
    assert_eq!(writer.stats().rejected, 1);

    sink.gate.add_permits(1_000);
    writer.shutdown().await;
    assert_eq!(
        sink.inner.len(),
        served,
        "every served request was recorded"
    );
}

#[tokio::test]
async fn a_full_queue_under_wait_holds_requests_until_there_is_room() {
    let (sink, writer, app) = setup(QueueFullPolicy::Wait);

    let requests: Vec<_> = (0..6)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { call(&app).await })
        })
        .collect();
    // Storage is stalled: two events are in flight (one being written, the next waiting
    // for its turn to commit), one waits in the queue, and the other requests must wait
    // for room instead of being answered.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let waiting = requests.iter().filter(|task| !task.is_finished()).count();
    assert!(waiting >= 3, "{waiting} requests wait");

    sink.gate.add_permits(1_000);
    let mut ids = Vec::new();
    for request in requests {
        let (status, _, id) = request.await.expect("task");
        assert_eq!(status, 200);
        ids.push(id.to_string());
    }
    writer.shutdown().await;

    let mut recorded: Vec<String> = sink
        .inner
        .rows()
        .iter()
        .filter_map(|row| row.event().request_id().map(str::to_owned))
        .collect();
    recorded.sort();
    ids.sort();
    assert_eq!(recorded, ids);
    assert!(sink.inner.verify_now(None, None).is_ok());
}

//! The bounded queue and the background task that drains it into a sink in batches.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;

use crate::metrics::{
    record_queue_depth, record_rejected, record_write_duration, record_write_failure,
    record_written,
};
use crate::{AuditEvent, ChainState, RecordError, SealedEvent, SharedSink};

/// What happens to a request whose event finds the queue full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueFullPolicy {
    /// The request waits for room (backpressure). Nothing is lost; the default.
    #[default]
    Wait,
    /// The request fails with `503 audit_unavailable`; it is not served unaudited.
    Reject,
}

/// How the writer queues and batches.
#[derive(Debug, Clone, Copy)]
pub struct AuditWriterConfig {
    /// Events the queue holds before [`QueueFullPolicy`] applies.
    pub queue_capacity: usize,
    /// Most events written in one statement.
    pub max_batch: usize,
    /// What a full queue does to requests.
    pub when_full: QueueFullPolicy,
    /// The first pause after a failed write; it doubles up to `max_backoff`.
    pub initial_backoff: Duration,
    /// The longest pause between retries.
    pub max_backoff: Duration,
}

impl Default for AuditWriterConfig {
    fn default() -> Self {
        Self {
            queue_capacity: 65_536,
            max_batch: 2_000,
            when_full: QueueFullPolicy::Wait,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// A snapshot of the writer's counters, for metrics and health checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuditWriterStats {
    /// Events waiting in the queue now.
    pub queue_depth: usize,
    /// The queue's capacity.
    pub queue_capacity: usize,
    /// Events accepted into the queue since start.
    pub accepted: u64,
    /// Events refused because the queue was full (policy `Reject`).
    pub rejected: u64,
    /// Events stored by the sink.
    pub written: u64,
    /// Batches stored.
    pub batches: u64,
    /// Failed write attempts (each retried).
    pub write_failures: u64,
    /// Whether the last write attempt failed.
    pub failing: bool,
}

#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    rejected: AtomicU64,
    written: AtomicU64,
    batches: AtomicU64,
    write_failures: AtomicU64,
    failing: AtomicBool,
}

/// The result of handing an event over without waiting.
#[derive(Debug)]
pub(crate) enum Handoff {
    /// Queued.
    Queued,
    /// The queue is full and the policy is `Wait`: the caller should wait with the event.
    Full(Box<AuditEvent>),
    /// Refused: full under `Reject`, or closed.
    Refused(RecordError),
}

/// The handle to the audit writer: a bounded queue in front of a background task that
/// seals events into this writer's hash chain and stores them in batches.
///
/// When the sink fails (Postgres down), the task retries the same batch with exponential
/// backoff until it is stored; meanwhile the queue fills and [`QueueFullPolicy`] applies.
/// Nothing is dropped. [`shutdown`](Self::shutdown) stops accepting, flushes the queue and
/// waits for the last batch. Clones share the queue.
///
/// # Example
///
/// ```
/// use auren_audit::{Action, AuditEvent, AuditWriter, AuditWriterConfig, MemorySink, Outcome};
/// use std::sync::Arc;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let sink = MemorySink::new();
/// let writer = AuditWriter::start(Arc::new(sink.clone()), AuditWriterConfig::default());
/// writer.record(AuditEvent::new(Action::Read, "/api/x", Outcome::Success)).await.unwrap();
/// writer.shutdown().await;
/// assert_eq!(sink.len(), 1);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct AuditWriter {
    sender: mpsc::Sender<AuditEvent>,
    when_full: QueueFullPolicy,
    counters: Arc<Counters>,
    stop: Arc<Notify>,
    task: Arc<Mutex<Option<JoinHandle<()>>>>,
    chain_id: Arc<str>,
}

impl AuditWriter {
    /// Starts the background task on the current Tokio runtime.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime.
    pub fn start(sink: SharedSink, config: AuditWriterConfig) -> Self {
        let (sender, receiver) = mpsc::channel(config.queue_capacity.max(1));
        let counters = Arc::new(Counters::default());
        let stop = Arc::new(Notify::new());
        let chain = ChainState::new();
        let chain_id: Arc<str> = Arc::from(chain.chain_id());

        let drain = Drain {
            receiver,
            sink,
            chain,
            counters: counters.clone(),
            config,
        };
        let task = tokio::spawn(drain.run(stop.clone()));
        Self {
            sender,
            when_full: config.when_full,
            counters,
            stop,
            task: Arc::new(Mutex::new(Some(task))),
            chain_id,
        }
    }

    /// The id of this writer's chain.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// Queues an event; under [`QueueFullPolicy::Wait`] waits for room when full.
    ///
    /// # Errors
    ///
    /// [`RecordError::QueueFull`] when full under `Reject`, [`RecordError::Closed`] after
    /// shutdown.
    pub async fn record(&self, event: AuditEvent) -> Result<(), RecordError> {
        match self.try_hand_off(event) {
            Handoff::Queued => Ok(()),
            Handoff::Full(event) => self.wait_and_send(*event).await,
            Handoff::Refused(error) => Err(error),
        }
    }

    /// Queues without waiting; a full queue under `Wait` gives the event back.
    pub(crate) fn try_hand_off(&self, event: AuditEvent) -> Handoff {
        match self.sender.try_send(event) {
            Ok(()) => {
                self.counters.accepted.fetch_add(1, Ordering::Relaxed);
                Handoff::Queued
            }
            Err(mpsc::error::TrySendError::Full(event)) => match self.when_full {
                QueueFullPolicy::Wait => Handoff::Full(Box::new(event)),
                QueueFullPolicy::Reject => {
                    self.counters.rejected.fetch_add(1, Ordering::Relaxed);
                    record_rejected();
                    tracing::warn!("the audit queue is full; a request was refused");
                    Handoff::Refused(RecordError::QueueFull)
                }
            },
            Err(mpsc::error::TrySendError::Closed(_)) => Handoff::Refused(RecordError::Closed),
        }
    }

    /// Waits for room and queues the event.
    pub(crate) async fn wait_and_send(&self, event: AuditEvent) -> Result<(), RecordError> {
        tracing::debug!("the audit queue is full; the request waits");
        self.sender
            .send(event)
            .await
            .map_err(|_| RecordError::Closed)?;
        self.counters.accepted.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// The counters now.
    pub fn stats(&self) -> AuditWriterStats {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let capacity = self.sender.max_capacity();
        AuditWriterStats {
            queue_depth: capacity - self.sender.capacity(),
            queue_capacity: capacity,
            accepted: load(&self.counters.accepted),
            rejected: load(&self.counters.rejected),
            written: load(&self.counters.written),
            batches: load(&self.counters.batches),
            write_failures: load(&self.counters.write_failures),
            failing: self.counters.failing.load(Ordering::Relaxed),
        }
    }

    /// A logger that records through this writer.
    pub fn logger(&self) -> crate::AuditLogger {
        crate::AuditLogger::new(self.clone())
    }

    /// Stops accepting events, writes every queued event and waits for the task to end.
    ///
    /// While the sink is down this waits for it to come back: events are never dropped.
    /// Calling it again returns at once.
    pub async fn shutdown(&self) {
        self.stop.notify_one();
        let task = self
            .task
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(task) = task {
            if task.await.is_err() {
                tracing::error!("the audit writer task failed during shutdown");
            }
        }
    }
}

/// The background task's state.
struct Drain {
    receiver: mpsc::Receiver<AuditEvent>,
    sink: SharedSink,
    chain: ChainState,
    counters: Arc<Counters>,
    config: AuditWriterConfig,
}

impl Drain {
    async fn run(mut self, stop: Arc<Notify>) {
        let chain_id = self.chain.chain_id().to_owned();
        self.retry("open the audit chain", |sink| {
            let chain_id = chain_id.clone();
            async move { sink.open_chain(&chain_id).await }
        })
        .await;

        let mut closing = false;
        loop {
            let mut events = Vec::with_capacity(self.config.max_batch);
            let max = self.config.max_batch.max(1);
            let received = if closing {
                self.receiver.recv_many(&mut events, max).await
            } else {
                tokio::select! {
                    received = self.receiver.recv_many(&mut events, max) => received,
                    () = stop.notified() => {
                        self.receiver.close();
                        closing = true;
                        continue;
                    }
                }
            };
            if received == 0 {
                break;
            }
            self.write(events).await;
        }
        tracing::debug!(chain_id = %chain_id, "audit writer stopped; the queue is flushed");
    }

    async fn write(&mut self, events: Vec<AuditEvent>) {
        let depth = self.receiver.len();
        record_queue_depth(depth);
        if depth > self.config.queue_capacity / 2 {
            tracing::warn!(
                queue_depth = depth,
                "the audit queue is more than half full"
            );
        }

        let batch: Vec<SealedEvent> = events.into_iter().map(|e| self.chain.seal(e)).collect();
        let batch = Arc::new(batch);
        self.retry("write audit events", |sink| {
            let batch = batch.clone();
            async move {
                let started = Instant::now();
                let result = sink.write_batch(&batch).await;
                record_write_duration(started.elapsed());
                result
            }
        })
        .await;

        record_written(batch.len());
        record_queue_depth(self.receiver.len());
        self.counters
            .written
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        self.counters.batches.fetch_add(1, Ordering::Relaxed);
        tracing::trace!(
            events = batch.len(),
            queue_depth = depth,
            "audit batch stored"
        );
    }

    /// Runs `attempt` until it succeeds, pausing with exponential backoff in between.
    async fn retry<F, Fut>(&self, what: &str, attempt: F)
    where
        F: Fn(SharedSink) -> Fut,
        Fut: std::future::Future<Output = Result<(), crate::SinkError>>,
    {
        let mut backoff = self.config.initial_backoff;
        let mut failures: u64 = 0;
        loop {
            match attempt(self.sink.clone()).await {
                Ok(()) => {
                    if failures > 0 {
                        tracing::warn!(failures, "audit storage is back; writes resumed");
                    }
                    self.counters.failing.store(false, Ordering::Relaxed);
                    return;
                }
                Err(error) => {
                    failures += 1;
                    self.counters.write_failures.fetch_add(1, Ordering::Relaxed);
                    self.counters.failing.store(true, Ordering::Relaxed);
                    record_write_failure();
                    record_queue_depth(self.receiver.len());
                    tracing::warn!(
                        error = %error,
                        attempt = failures,
                        retry_in_ms = backoff.as_millis() as u64,
                        queue_depth = self.receiver.len(),
                        "cannot {what}; retrying",
                    );
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.config.max_backoff);
                }
            }
        }
    }
}

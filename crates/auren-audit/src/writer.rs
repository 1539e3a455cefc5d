//! The bounded queue and the background task that drains it into a sink in batches.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;

use crate::metrics::{
    record_queue_depth, record_rejected, record_write_duration, record_write_failure,
    record_written,
};
use crate::{AuditEvent, ChainState, CommitTurn, RecordError, SealedEvent, SharedSink, TurnDone};

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
    /// Batches being written at once, each on a connection of its own (at least 1). They
    /// still commit one after the other, in chain order, so a crash never leaves a hole.
    pub max_in_flight: usize,
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
            max_in_flight: 2,
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
/// Up to [`AuditWriterConfig::max_in_flight`] batches are written at once while the next
/// one is sealed; they commit one after the other, in chain order ([`CommitTurn`]).
/// When the sink fails (Postgres down), the same batch is retried with exponential
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

        let store = Store {
            sink,
            counters: counters.clone(),
            queue: sender.downgrade(),
            queue_capacity: config.queue_capacity,
            initial_backoff: config.initial_backoff,
            max_backoff: config.max_backoff,
        };
        let drain = Drain {
            receiver,
            chain,
            store: Arc::new(store),
            max_batch: config.max_batch.max(1),
            max_in_flight: config.max_in_flight.max(1),
            in_flight: VecDeque::new(),
            next_turn: CommitTurn::now(),
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
    chain: ChainState,
    store: Arc<Store>,
    max_batch: usize,
    max_in_flight: usize,
    in_flight: VecDeque<JoinHandle<()>>,
    next_turn: CommitTurn,
}

/// What every batch's write task shares.
struct Store {
    sink: SharedSink,
    counters: Arc<Counters>,
    queue: mpsc::WeakSender<AuditEvent>,
    queue_capacity: usize,
    initial_backoff: Duration,
    max_backoff: Duration,
}

impl Drain {
    async fn run(mut self, stop: Arc<Notify>) {
        let chain_id = self.chain.chain_id().to_owned();
        self.store
            .retry("open the audit chain", |sink| {
                let chain_id = chain_id.clone();
                async move { sink.open_chain(&chain_id).await }
            })
            .await;

        let mut closing = false;
        loop {
            self.wait_for_room(self.max_in_flight - 1).await;

            let mut events = Vec::with_capacity(self.max_batch);
            let received = if closing {
                self.receiver.recv_many(&mut events, self.max_batch).await
            } else {
                tokio::select! {
                    received = self.receiver.recv_many(&mut events, self.max_batch) => received,
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
            self.start_write(events);
        }

        self.wait_for_room(0).await;
        tracing::debug!(chain_id = %chain_id, "audit writer stopped; the queue is flushed");
    }

    /// Waits until at most `in_flight` writes are running.
    async fn wait_for_room(&mut self, in_flight: usize) {
        while self.in_flight.len() > in_flight {
            let Some(oldest) = self.in_flight.pop_front() else {
                return;
            };
            if oldest.await.is_err() {
                tracing::error!("an audit batch write task failed; its events are lost");
            }
        }
    }

    /// Seals `events` into the chain and starts writing them; the batch commits only after
    /// the batch before it.
    fn start_write(&mut self, events: Vec<AuditEvent>) {
        let depth = self.receiver.len();
        record_queue_depth(depth);
        if depth > self.store.queue_capacity / 2 {
            tracing::warn!(
                queue_depth = depth,
                "the audit queue is more than half full"
            );
        }

        let batch: Vec<SealedEvent> = events.into_iter().map(|e| self.chain.seal(e)).collect();
        let done = TurnDone::new();
        let turn = std::mem::replace(&mut self.next_turn, done.next_turn());
        let write = self.store.clone().write(batch, turn, done);
        self.in_flight.push_back(tokio::spawn(write));
    }
}

impl Store {
    /// Stores one batch in its turn, retrying until it is stored.
    async fn write(self: Arc<Self>, batch: Vec<SealedEvent>, turn: CommitTurn, done: TurnDone) {
        let batch = Arc::new(batch);
        self.retry("write audit events", |sink| {
            let batch = batch.clone();
            let turn = turn.clone();
            async move {
                let started = Instant::now();
                let result = sink.write_batch_in_turn(&batch, &turn).await;
                record_write_duration(started.elapsed());
                result
            }
        })
        .await;
        done.mark();

        record_written(batch.len());
        record_queue_depth(self.queue_depth());
        self.counters
            .written
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        self.counters.batches.fetch_add(1, Ordering::Relaxed);
        tracing::trace!(events = batch.len(), "audit batch stored");
    }

    /// Events waiting in the queue; zero once every handle is gone.
    fn queue_depth(&self) -> usize {
        self.queue
            .upgrade()
            .map_or(0, |sender| sender.max_capacity() - sender.capacity())
    }

    /// Runs `attempt` until it succeeds, pausing with exponential backoff in between.
    async fn retry<F, Fut>(&self, what: &str, attempt: F)
    where
        F: Fn(SharedSink) -> Fut,
        Fut: std::future::Future<Output = Result<(), crate::SinkError>>,
    {
        let mut backoff = self.initial_backoff;
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
                    let queue_depth = self.queue_depth();
                    record_queue_depth(queue_depth);
                    tracing::warn!(
                        error = %error,
                        attempt = failures,
                        retry_in_ms = backoff.as_millis() as u64,
                        queue_depth,
                        "cannot {what}; retrying",
                    );
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.max_backoff);
                }
            }
        }
    }
}

//! A bounded in-memory sink, for the embedded default and for tests.

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::chain::HASH_LEN;
use crate::verify::Verifier;
use crate::{AuditPage, AuditQuery, AuditSink, SealedEvent, SinkError, VerifyReport};

/// Events the memory sink keeps by default before evicting the oldest.
pub const DEFAULT_MEMORY_CAPACITY: usize = 100_000;

/// Keeps the newest events in memory, up to a capacity.
///
/// It is a real sink, not a stand-in: queries, chains and verification work as with
/// Postgres. It is not durable (everything is lost at exit) and it is bounded: past its
/// capacity the oldest events are evicted, and the last evicted row of each chain is kept
/// as an anchor so verification of the rest still works, exactly as after a retention
/// drop in Postgres. Clones share the same events.
///
/// # Example
///
/// ```
/// use auren_audit::{Action, AuditEvent, ChainState, MemorySink, Outcome};
///
/// let sink = MemorySink::with_capacity(2);
/// let mut chain = ChainState::new();
/// sink.open_chain_now(chain.chain_id());
/// for path in ["/a", "/b", "/c"] {
///     sink.store(vec![chain.seal(AuditEvent::new(Action::Read, path, Outcome::Success))]);
/// }
/// assert_eq!(sink.len(), 2);
/// assert!(sink.verify_now(None, None).is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct MemorySink {
    log: Arc<Mutex<MemoryLog>>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct MemoryLog {
    rows: VecDeque<SealedEvent>,
    chains: HashSet<String>,
    anchors: HashMap<String, (i64, [u8; HASH_LEN])>,
}

impl MemorySink {
    /// A sink keeping up to [`DEFAULT_MEMORY_CAPACITY`] events.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_MEMORY_CAPACITY)
    }

    /// A sink keeping up to `capacity` events (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            log: Arc::new(Mutex::new(MemoryLog::default())),
            capacity: capacity.max(1),
        }
    }

    /// The number of events held.
    pub fn len(&self) -> usize {
        self.lock().rows.len()
    }

    /// Whether no event is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of every event held, oldest first.
    pub fn rows(&self) -> Vec<SealedEvent> {
        self.lock().rows.iter().cloned().collect()
    }

    /// Registers a chain, as [`AuditSink::open_chain`] does.
    pub fn open_chain_now(&self, chain_id: &str) {
        self.lock().chains.insert(chain_id.to_owned());
    }

    /// Stores sealed events, skipping any already held, evicting the oldest past capacity.
    pub fn store(&self, batch: Vec<SealedEvent>) {
        let mut log = self.lock();
        let held: HashSet<_> = log
            .rows
            .iter()
            .rev()
            .take(batch.len() * 2)
            .map(|row| row.event().event_id())
            .collect();
        for row in batch {
            if !held.contains(&row.event().event_id()) {
                log.rows.push_back(row);
            }
        }

        while log.rows.len() > self.capacity {
            if let Some(evicted) = log.rows.pop_front() {
                log.anchors.insert(
                    evicted.chain_id().to_owned(),
                    (evicted.seq(), *evicted.hash()),
                );
            }
        }
    }

    /// One page of events, newest first.
    pub fn query_now(&self, query: &AuditQuery) -> AuditPage {
        let log = self.lock();
        let mut events: Vec<_> = log
            .rows
            .iter()
            .map(SealedEvent::event)
            .filter(|event| query.matches(event))
            .cloned()
            .collect();
        drop(log);

        events.sort_by_key(|event| Reverse((event.occurred_at(), event.event_id())));
        events.truncate(query.limit() as usize + 1);
        AuditPage::from_overfetch(events, query.limit())
    }

    /// Verifies every chain, or only the rows with `from <= timestamp < to`.
    pub fn verify_now(
        &self,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> VerifyReport {
        let log = self.lock();
        let in_range = |row: &SealedEvent| {
            let at = row.event().occurred_at();
            from.is_none_or(|from| at >= from) && to.is_none_or(|to| at < to)
        };

        let mut verifier = Verifier::new(log.chains.clone());
        for (chain_id, (seq, hash)) in &log.anchors {
            verifier.allow_link(chain_id, *seq, *hash);
        }
        let mut rows: Vec<&SealedEvent> = Vec::new();
        for row in &log.rows {
            if in_range(row) {
                rows.push(row);
            } else {
                verifier.allow_link(row.chain_id(), row.seq(), *row.hash());
            }
        }

        rows.sort_by(|a, b| (a.chain_id(), a.seq()).cmp(&(b.chain_id(), b.seq())));
        rows.into_iter().for_each(|row| verifier.push(row));
        verifier.finish()
    }

    fn lock(&self) -> MutexGuard<'_, MemoryLog> {
        self.log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for MemorySink {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl AuditSink for MemorySink {
    async fn open_chain(&self, chain_id: &str) -> Result<(), SinkError> {
        self.open_chain_now(chain_id);
        Ok(())
    }

    async fn write_batch(&self, batch: &[SealedEvent]) -> Result<(), SinkError> {
        self.store(batch.to_vec());
        Ok(())
    }

    async fn query(&self, query: &AuditQuery) -> Result<AuditPage, SinkError> {
        Ok(self.query_now(query))
    }

    async fn verify(
        &self,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<VerifyReport, SinkError> {
        Ok(self.verify_now(from, to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Action, AuditEvent, AuditQueryRequest, ChainState, Outcome};
    use chrono::Duration;

    fn filled(n: usize, capacity: usize) -> (MemorySink, Vec<SealedEvent>) {
        let sink = MemorySink::with_capacity(capacity);
        let mut chain = ChainState::new();
        sink.open_chain_now(chain.chain_id());
        let start = Utc::now() - Duration::days(1);
        let rows: Vec<_> = (0..n)
            .map(|i| {
                let user = format!("user{}", i % 3);
                let outcome = if i % 4 == 0 {
                    Outcome::Denied
                } else {
                    Outcome::Success
                };
                let event = AuditEvent::new(Action::Read, "/api/x", outcome)
                    .with_user(Some(&user), None)
                    .at(start + Duration::seconds(i as i64));
                chain.seal(event)
            })
            .collect();
        sink.store(rows.clone());
        (sink, rows)
    }

    fn query(json: &str) -> AuditQuery {
        serde_json::from_str::<AuditQueryRequest>(json)
            .expect("json")
            .validate()
            .expect("valid")
    }

    #[test]
    fn pages_are_newest_first_and_complete() {
        let (sink, rows) = filled(25, 100);
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let json = match &cursor {
                Some(cursor) => format!(r#"{{"user_id":"user1","limit":4,"cursor":"{cursor}"}}"#),
                None => r#"{"user_id":"user1","limit":4}"#.to_owned(),
            };
            let page = sink.query_now(&query(&json));
            seen.extend(page.events.iter().map(|e| e.event_id()));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let expected: Vec<_> = rows
            .iter()
            .rev()
            .filter(|row| row.event().user_id() == Some("user1"))
            .map(|row| row.event().event_id())
            .collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn filters_combine() {
        let (sink, _) = filled(24, 100);
        let page = sink.query_now(&query(r#"{"outcome":"denied","user_id":"user0"}"#));
        assert!(!page.events.is_empty());
        assert!(page
            .events
            .iter()
            .all(|e| e.outcome() == Outcome::Denied && e.user_id() == Some("user0")));
    }

    #[test]
    fn eviction_keeps_verification_working_and_tampering_is_found() {
        let (sink, rows) = filled(10, 4);
        assert_eq!(sink.len(), 4);
        assert!(sink.verify_now(None, None).is_ok());

        let from = rows[7].event().occurred_at();
        assert_eq!(sink.verify_now(Some(from), None).rows_checked, 3);

        sink.store(vec![rows[9].clone()]);
        assert_eq!(sink.len(), 4, "a repeated event is stored once");

        let mut log = sink.lock();
        let row = log.rows.remove(1).expect("row");
        drop(log);
        let report = sink.verify_now(None, None);
        let problem = report.first_problem.expect("the gap is found");
        assert_eq!(problem.seq, row.seq() + 1);
    }
}

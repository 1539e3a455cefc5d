//! The hash chain: each writer links its events with SHA-256 over a canonical encoding.
//!
//! Every writer instance opens a chain of its own (a fresh ULID), so concurrent writers
//! and instances never race for "the previous row". A row's hash covers every field of the
//! event, the chain id, its sequence number and the previous row's hash. The encoding is
//! a version tag followed by each field as a 4-byte big-endian length and its bytes, so
//! no two different events encode alike.

use chrono::{DateTime, Utc};
use ring::digest;
use ulid::Ulid;

use crate::AuditEvent;

/// The length of a chain hash.
pub const HASH_LEN: usize = 32;

/// The "previous hash" of a chain's first row.
pub const GENESIS_HASH: [u8; HASH_LEN] = [0; HASH_LEN];

/// Tags the encoding, so a future format cannot be confused with this one.
const ENCODING_VERSION: &[u8] = b"auren-audit-v1";

/// An event with its place in a chain.
///
/// ```
/// use auren_audit::{Action, AuditEvent, ChainState, Outcome};
///
/// let mut chain = ChainState::new();
/// let first = chain.seal(AuditEvent::new(Action::Read, "/a", Outcome::Success));
/// let second = chain.seal(AuditEvent::new(Action::Read, "/b", Outcome::Success));
/// assert_eq!(second.prev_hash(), first.hash());
/// assert!(second.hash_is_valid());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedEvent {
    event: AuditEvent,
    chain_id: String,
    seq: i64,
    prev_hash: [u8; HASH_LEN],
    hash: [u8; HASH_LEN],
}

impl SealedEvent {
    /// Builds a sealed event from stored parts, without checking the hash.
    pub fn from_stored(
        event: AuditEvent,
        chain_id: String,
        seq: i64,
        prev_hash: [u8; HASH_LEN],
        hash: [u8; HASH_LEN],
    ) -> Self {
        Self {
            event,
            chain_id,
            seq,
            prev_hash,
            hash,
        }
    }

    /// The event.
    pub fn event(&self) -> &AuditEvent {
        &self.event
    }

    /// The chain the event belongs to.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// The position in the chain, from 1.
    pub fn seq(&self) -> i64 {
        self.seq
    }

    /// The hash of the previous row in the chain ([`GENESIS_HASH`] for the first).
    pub fn prev_hash(&self) -> &[u8; HASH_LEN] {
        &self.prev_hash
    }

    /// This row's hash.
    pub fn hash(&self) -> &[u8; HASH_LEN] {
        &self.hash
    }

    /// Whether the stored hash matches the one computed from the fields.
    pub fn hash_is_valid(&self) -> bool {
        chain_hash(&self.event, &self.chain_id, self.seq, &self.prev_hash) == self.hash
    }
}

/// One writer's chain: its id, the next sequence number and the last hash.
#[derive(Debug, Clone)]
pub struct ChainState {
    chain_id: String,
    next_seq: i64,
    prev_hash: [u8; HASH_LEN],
    last_at: Option<DateTime<Utc>>,
}

impl ChainState {
    /// A fresh chain with a new id.
    pub fn new() -> Self {
        Self {
            chain_id: Ulid::new().to_string(),
            next_seq: 1,
            prev_hash: GENESIS_HASH,
            last_at: None,
        }
    }

    /// The chain's id.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// Links `event` to the chain.
    ///
    /// Timestamps within one chain never go backwards: an event that arrives with an
    /// earlier timestamp than its predecessor (a few milliseconds of queueing skew) takes
    /// its predecessor's timestamp. So a month's partition holds a contiguous stretch of
    /// each chain, and dropping it leaves a chain that still links.
    pub fn seal(&mut self, mut event: AuditEvent) -> SealedEvent {
        if let Some(last_at) = self.last_at {
            if event.occurred_at() < last_at {
                event.set_occurred_at(last_at);
            }
        }
        self.last_at = Some(event.occurred_at());

        let seq = self.next_seq;
        let hash = chain_hash(&event, &self.chain_id, seq, &self.prev_hash);
        let sealed = SealedEvent {
            event,
            chain_id: self.chain_id.clone(),
            seq,
            prev_hash: self.prev_hash,
            hash,
        };
        self.next_seq += 1;
        self.prev_hash = hash;
        sealed
    }
}

impl Default for ChainState {
    fn default() -> Self {
        Self::new()
    }
}

/// SHA-256 over the canonical encoding of a row.
pub fn chain_hash(
    event: &AuditEvent,
    chain_id: &str,
    seq: i64,
    prev_hash: &[u8; HASH_LEN],
) -> [u8; HASH_LEN] {
    let mut context = digest::Context::new(&digest::SHA256);
    let mut field = |bytes: &[u8]| {
        // Fields are short (bounded by the event's own limits), so the length fits.
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        context.update(&len.to_be_bytes());
        context.update(bytes);
    };
    let optional = |value: Option<&str>| match value {
        Some(text) => [b"\x01".as_slice(), text.as_bytes()].concat(),
        None => b"\x00".to_vec(),
    };

    field(ENCODING_VERSION);
    field(chain_id.as_bytes());
    field(&seq.to_be_bytes());
    field(prev_hash);
    field(event.event_id().to_string().as_bytes());
    field(&optional(event.request_id()));
    field(&event.occurred_at().timestamp_millis().to_be_bytes());
    field(&optional(event.user_id()));
    field(&optional(event.key_id()));
    field(event.action().as_str().as_bytes());
    field(event.resource().as_bytes());
    field(event.method().as_bytes());
    field(event.outcome().as_str().as_bytes());
    field(&event.status_code().to_be_bytes());
    field(&event.response_time_ms().to_be_bytes());
    field(&optional(event.client_addr()));
    field(&optional(event.user_agent()));

    let mut hash = [0_u8; HASH_LEN];
    hash.copy_from_slice(context.finish().as_ref());
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Action, Outcome};

    #[test]
    fn every_field_changes_the_hash() {
        let event = AuditEvent::new(Action::Read, "/a", Outcome::Success);
        let base = chain_hash(&event, "c", 1, &GENESIS_HASH);
        let variants = [
            chain_hash(&event, "d", 1, &GENESIS_HASH),
            chain_hash(&event, "c", 2, &GENESIS_HASH),
            chain_hash(&event, "c", 1, &[1; HASH_LEN]),
            chain_hash(&event.clone().with_status(200), "c", 1, &GENESIS_HASH),
            chain_hash(&event.clone().with_user_agent("x"), "c", 1, &GENESIS_HASH),
            chain_hash(
                &event.clone().with_user(Some(""), None),
                "c",
                1,
                &GENESIS_HASH,
            ),
        ];
        for variant in variants {
            assert_ne!(variant, base);
        }
    }

    #[test]
    fn timestamps_never_go_backwards_within_a_chain() {
        let mut chain = ChainState::new();
        let now = Utc::now();
        let first = chain.seal(AuditEvent::new(Action::Read, "/", Outcome::Success).at(now));
        let earlier = now - chrono::Duration::milliseconds(5);
        let second = chain.seal(AuditEvent::new(Action::Read, "/", Outcome::Success).at(earlier));
        assert_eq!(second.event().occurred_at(), first.event().occurred_at());
        assert!(second.hash_is_valid());
    }
}

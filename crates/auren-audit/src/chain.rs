//! The hash chain: each writer links its events with SHA-256 over a canonical encoding.
//!
//! Every writer instance opens a chain of its own (a fresh ULID), so concurrent writers
//! and instances never race for "the previous row". A row's hash covers every field of the
//! event, the chain id, its sequence number and the previous row's hash. The encoding is
//! a version tag followed by each field as a 4-byte big-endian length and its bytes, so
//! no two different events encode alike.

use chrono::{DateTime, Utc};
use ring::digest;
use ulid::{Ulid, ULID_LEN};

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
    let mut encoding = Encoding {
        context: digest::Context::new(&digest::SHA256),
    };
    let mut event_id = [0_u8; ULID_LEN];

    encoding.field(ENCODING_VERSION);
    encoding.field(chain_id.as_bytes());
    encoding.field(&seq.to_be_bytes());
    encoding.field(prev_hash);
    encoding.field(event.event_id().array_to_str(&mut event_id).as_bytes());
    encoding.optional(event.request_id());
    encoding.field(&event.occurred_at().timestamp_millis().to_be_bytes());
    encoding.optional(event.user_id());
    encoding.optional(event.key_id());
    encoding.field(event.action().as_str().as_bytes());
    encoding.field(event.resource().as_bytes());
    encoding.field(event.method().as_bytes());
    encoding.field(event.outcome().as_str().as_bytes());
    encoding.field(&event.status_code().to_be_bytes());
    encoding.field(&event.response_time_ms().to_be_bytes());
    encoding.optional(event.client_addr());
    encoding.optional(event.user_agent());

    let mut hash = [0_u8; HASH_LEN];
    hash.copy_from_slice(encoding.context.finish().as_ref());
    hash
}

/// The canonical encoding, fed straight into the digest without building it in memory.
struct Encoding {
    context: digest::Context,
}

impl Encoding {
    /// A field: its length as 4 bytes big-endian, then its bytes.
    fn field(&mut self, bytes: &[u8]) {
        self.prefix(bytes.len());
        self.context.update(bytes);
    }

    /// An optional field: a presence byte (`1` then the text, or a lone `0`) encoded as
    /// one field.
    fn optional(&mut self, value: Option<&str>) {
        match value {
            Some(text) => {
                self.prefix(1 + text.len());
                self.context.update(b"\x01");
                self.context.update(text.as_bytes());
            }
            None => self.field(b"\x00"),
        }
    }

    fn prefix(&mut self, len: usize) {
        // Fields are short (bounded by the event's own limits), so the length fits.
        let len = u32::try_from(len).unwrap_or(u32::MAX);
        self.context.update(&len.to_be_bytes());
    }
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

    /// A fixed event, so the encoding's hash can be pinned.
    fn pinned_event(user_agent: Option<&str>) -> AuditEvent {
        use chrono::TimeZone;
        AuditEvent::from_parts(crate::event::EventParts {
            event_id: "01JEZ5S8ZQ8M1V3Q2X9W5K7T4B".parse().expect("ulid"),
            request_id: Some("01JEZ5S8ZQ0000000000000000".into()),
            occurred_at: Utc
                .timestamp_millis_opt(1_764_844_800_123)
                .single()
                .expect("time"),
            user_id: Some("alice".into()),
            key_id: None,
            action: Action::Read,
            resource: "/api/biometrics".into(),
            method: "GET".into(),
            outcome: Outcome::Success,
            status_code: 200,
            response_time_ms: 7,
            client_addr: Some("10.0.0.1".into()),
            user_agent: user_agent.map(str::to_owned),
        })
    }

    #[test]
    fn the_encoding_is_stable() {
        // Stored chains must verify forever: this hash may never change.
        let hash = chain_hash(&pinned_event(Some("curl/8.0")), "chain", 42, &[7; HASH_LEN]);
        assert_eq!(hex::encode(hash), PINNED_HASH);
        let without = chain_hash(&pinned_event(None), "chain", 42, &[7; HASH_LEN]);
        assert_eq!(hex::encode(without), PINNED_HASH_WITHOUT_AGENT);
    }

    const PINNED_HASH: &str = "b3b86bfd590e06a3bff4ab1232c0fa6f642d3d48eb18e8fd8095fa9a3a0a83a2";
    const PINNED_HASH_WITHOUT_AGENT: &str =
        "3d6ceee1bd6b94036ac3c8fedf0a2a7a9085614c8005b3bccc98097fa90c916a";

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

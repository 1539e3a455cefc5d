//! Coalescing `last_used_at` writes: at most one per key per interval, never on the hot path.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use auren_core::KeyId;
use chrono::{DateTime, Utc};

/// Keys tracked at most; past it the map is cleared, which costs only extra writes.
const MAX_TRACKED_KEYS: usize = 100_000;

/// Remembers when each key's use was last written, so a busy key costs one write per
/// interval instead of one per request.
///
/// The common case (written recently) takes a shared lock and one hash probe.
#[derive(Debug)]
pub(crate) struct LastUsedGate {
    interval: Duration,
    noted: RwLock<HashMap<KeyId, DateTime<Utc>>>,
}

impl LastUsedGate {
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            interval,
            noted: RwLock::new(HashMap::new()),
        }
    }

    /// Whether a use of `key_id` now should be written; if so, it counts as written.
    ///
    /// `now` is the verification's own reading of the clock, so the hot path reads it once.
    pub(crate) fn should_write(&self, key_id: KeyId, now: DateTime<Utc>) -> bool {
        let recent = |noted: &HashMap<KeyId, DateTime<Utc>>| {
            noted.get(&key_id).is_some_and(|at| {
                (now - *at)
                    .to_std()
                    .is_ok_and(|elapsed| elapsed < self.interval)
                    || now < *at
            })
        };

        // Poisoning cannot leave the map inconsistent: each change is one insert or a clear.
        let noted = self.noted.read().unwrap_or_else(|p| p.into_inner());
        if recent(&noted) {
            return false;
        }
        drop(noted);

        let mut noted = self.noted.write().unwrap_or_else(|p| p.into_inner());
        if recent(&noted) {
            return false;
        }
        if noted.len() >= MAX_TRACKED_KEYS {
            noted.clear();
        }
        noted.insert(key_id, now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_write_per_interval() {
        let now = Utc::now();
        let gate = LastUsedGate::new(Duration::from_secs(60));
        let key = KeyId::new();
        assert!(gate.should_write(key, now));
        assert!(!gate.should_write(key, now + chrono::Duration::seconds(59)));
        assert!(gate.should_write(KeyId::new(), now));
        assert!(gate.should_write(key, now + chrono::Duration::seconds(60)));
    }
}

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
/// The verifier asks it only when the stamp in its [`CachedKey`](crate::CachedKey) says a
/// write may be due, so the common case never reaches it. Asked, it takes a shared lock
/// and one hash probe, and a write lock only when a write is due.
#[derive(Debug)]
pub(crate) struct LastUsedGate {
    interval: Duration,
    interval_ns: i64,
    noted: RwLock<HashMap<KeyId, DateTime<Utc>>>,
}

impl LastUsedGate {
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            interval,
            interval_ns: i64::try_from(interval.as_nanos()).unwrap_or(i64::MAX),
            noted: RwLock::new(HashMap::new()),
        }
    }

    /// The interval in nanoseconds, as [`CachedKey`](crate::CachedKey) stamps compare it.
    pub(crate) fn interval_ns(&self) -> i64 {
        self.interval_ns
    }

    /// Whether a use of `key_id` at `now` should be written (and then counts as written),
    /// or when the last write was, if it is recent.
    ///
    /// `now` is the verification's own reading of the clock, so the hot path reads it once.
    pub(crate) fn check(&self, key_id: KeyId, now: DateTime<Utc>) -> LastWrite {
        let recent = |noted: &HashMap<KeyId, DateTime<Utc>>| {
            noted.get(&key_id).copied().filter(|at| {
                (now - *at)
                    .to_std()
                    .is_ok_and(|elapsed| elapsed < self.interval)
                    || now < *at
            })
        };

        // Poisoning cannot leave the map inconsistent: each change is one insert or a clear.
        let noted = self.noted.read().unwrap_or_else(|p| p.into_inner());
        if let Some(at) = recent(&noted) {
            return LastWrite::Recent(at);
        }
        drop(noted);

        let mut noted = self.noted.write().unwrap_or_else(|p| p.into_inner());
        if let Some(at) = recent(&noted) {
            return LastWrite::Recent(at);
        }
        if noted.len() >= MAX_TRACKED_KEYS {
            noted.clear();
        }
        noted.insert(key_id, now);
        LastWrite::Due
    }
}

/// What [`LastUsedGate::check`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LastWrite {
    /// Write the use now; it already counts as written.
    Due,
    /// The use was written at this time, within the interval: skip it.
    Recent(DateTime<Utc>),
}

#[cfg(test)]
mod tests {
    use super::*;

    impl LastUsedGate {
        fn should_write(&self, key_id: KeyId, now: DateTime<Utc>) -> bool {
            self.check(key_id, now) == LastWrite::Due
        }
    }

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

    #[test]
    fn a_recent_write_reports_its_time() {
        let now = Utc::now();
        let gate = LastUsedGate::new(Duration::from_secs(60));
        let key = KeyId::new();
        assert_eq!(gate.check(key, now), LastWrite::Due);
        let later = now + chrono::Duration::seconds(5);
        assert_eq!(gate.check(key, later), LastWrite::Recent(now));
    }
}

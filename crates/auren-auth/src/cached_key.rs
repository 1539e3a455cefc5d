//! [`CachedKey`]: a stored key in the form the verifier checks it on the hot path.

use std::sync::atomic::{AtomicI64, Ordering};

use auren_core::CallerIdentity;

use crate::store::StoredKey;
use crate::unix_time::unix_ns;
use crate::KeyState;

/// A stored key as the verifier holds it: the record and digest, its revocation and
/// expiry as integers, and when this instance last knew the key's use to be written.
///
/// The stamp lets the hot path skip the `last_used_at` write with one relaxed atomic load
/// and no lock. It starts at the record's own `last_used_at` (a write by any instance
/// counts) and only ever serves to skip a write that is not due.
///
/// # Example
///
/// ```
/// use auren_auth::{CachedKey, KeyDigest, KeyFormat, KeyRecord, NewKey, StoredKey};
/// use auren_core::Role;
///
/// let key = KeyFormat::default().generate().unwrap();
/// let record = KeyRecord::new(NewKey::new("u", Role::User), "p".into(), chrono::Utc::now());
/// let cached = CachedKey::new(StoredKey { record, digest: KeyDigest::of(&key) });
/// assert_eq!(cached.stored().record.user_id, "u");
/// ```
#[derive(Debug)]
pub struct CachedKey {
    stored: StoredKey,
    identity: CallerIdentity,
    /// `revoked_at` in Unix nanoseconds; `i64::MAX` if not revoked.
    revoked_ns: i64,
    /// `expires_at` in Unix nanoseconds; `i64::MAX` if it never expires.
    expires_ns: i64,
    /// Unix nanoseconds of the last `last_used_at` write known here; `i64::MIN` if none.
    last_used_ns: AtomicI64,
}

impl CachedKey {
    /// Wraps `stored`, taking its `last_used_at` as the last known write.
    pub fn new(stored: StoredKey) -> Self {
        let record = &stored.record;
        let revoked_ns = record.revoked_at.map_or(i64::MAX, unix_ns);
        let expires_ns = record.expires_at.map_or(i64::MAX, unix_ns);
        let last_used_ns = record.last_used_at.map_or(i64::MIN, unix_ns);
        let identity = record.identity();
        Self {
            stored,
            identity,
            revoked_ns,
            expires_ns,
            last_used_ns: AtomicI64::new(last_used_ns),
        }
    }

    /// The stored record and digest.
    pub fn stored(&self) -> &StoredKey {
        &self.stored
    }

    /// The identity a request authenticated by this key acts as, built once.
    pub fn identity(&self) -> &CallerIdentity {
        &self.identity
    }

    /// Whether the key may be used at `now_ns`: exactly
    /// [`KeyRecord::check`](crate::KeyRecord::check), on integers.
    pub(crate) fn check(&self, now_ns: i64) -> Result<(), KeyState> {
        if self.revoked_ns <= now_ns {
            return Err(KeyState::Revoked);
        }
        if self.expires_ns <= now_ns {
            return Err(KeyState::Expired);
        }
        Ok(())
    }

    /// Whether a write of the key's use at `now_ns` would come within `interval_ns` of the
    /// last known one (or before it, should clocks disagree), and can be skipped.
    pub(crate) fn used_recently(&self, now_ns: i64, interval_ns: i64) -> bool {
        // Relaxed: the stamp only ever skips a write, and a stale read costs one trip
        // through the last-used gate, which decides for itself.
        let last = self.last_used_ns.load(Ordering::Relaxed);
        now_ns.saturating_sub(last) < interval_ns
    }

    /// Records that the key's use is known to be written at `at_ns`.
    pub(crate) fn note_written(&self, at_ns: i64) {
        self.last_used_ns.fetch_max(at_ns, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KeyDigest, KeyRecord, NewKey};
    use auren_core::Role;
    use chrono::{Duration, Utc};

    fn cached(edit: impl FnOnce(&mut KeyRecord)) -> CachedKey {
        let now = Utc::now();
        let mut record = KeyRecord::new(NewKey::new("u", Role::User), "p".into(), now);
        edit(&mut record);
        let digest = KeyDigest::from_bytes(&[1; 32]).expect("32 bytes");
        CachedKey::new(StoredKey { record, digest })
    }

    /// The integer check agrees with the record's own, at and around each boundary.
    #[test]
    fn the_check_matches_the_records() {
        let at = Utc::now();
        let records = [
            cached(|_| {}),
            cached(|r| r.expires_at = Some(at)),
            cached(|r| r.revoked_at = Some(at)),
            cached(|r| {
                r.revoked_at = Some(at);
                r.expires_at = Some(at - Duration::seconds(1));
            }),
            cached(|r| r.expires_at = Some(chrono::DateTime::<Utc>::MAX_UTC)),
        ];
        for key in &records {
            for offset in [-1_000_000_000, -1, 0, 1, 1_000_000_000] {
                let now = at + Duration::nanoseconds(offset);
                let expected = key.stored().record.check(now);
                assert_eq!(key.check(unix_ns(now)), expected, "{offset}");
            }
        }
    }

    #[test]
    fn the_stamp_starts_at_the_records_last_use() {
        let at = Utc::now();
        let interval = 60_000_000_000;
        let fresh = cached(|_| {});
        assert!(!fresh.used_recently(unix_ns(at), interval));

        let used = cached(|r| r.last_used_at = Some(at));
        assert!(used.used_recently(unix_ns(at) + interval - 1, interval));
        assert!(!used.used_recently(unix_ns(at) + interval, interval));

        used.note_written(unix_ns(at) + interval);
        assert!(used.used_recently(unix_ns(at) + interval, interval));
    }
}

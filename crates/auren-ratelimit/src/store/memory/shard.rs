//! One shard of the memory store: a hash table of key states, found with a hash the store
//! computes once per check.

use std::hash::BuildHasher;

use auren_core::KeyId;
use hashbrown::HashTable;

use crate::Gcra;

/// The GCRA state of one key, in 16 bytes so that a slot fills half a cache line.
#[derive(Debug, Clone, Copy)]
pub(super) struct Entry {
    /// The theoretical arrival time, in microseconds.
    pub(super) tat_us: i64,
    /// The limit of the last admitted request.
    pub(super) limit: u32,
    /// The emission interval of `limit` in microseconds, kept so that the next check with
    /// the same limit does not divide again; zero when it does not fit (periods over an
    /// hour and ten minutes with a limit of one).
    interval_us: u32,
}

impl Entry {
    /// The state after `gcra` admitted a request, leaving the TAT at `tat_us`.
    #[inline]
    pub(super) fn new(gcra: &Gcra, tat_us: i64) -> Self {
        Self {
            tat_us,
            limit: gcra.limit(),
            interval_us: u32::try_from(gcra.interval_us()).unwrap_or(0),
        }
    }

    /// The GCRA parameters of `limit` requests per `period_us`, from the kept interval
    /// when `limit` is the stored one.
    #[inline]
    pub(super) fn gcra(&self, limit: u32, period_us: i64) -> Gcra {
        if limit == self.limit && self.interval_us != 0 {
            Gcra::from_interval_us(limit, i64::from(self.interval_us))
        } else {
            Gcra::from_period_us(limit, period_us)
        }
    }
}

/// A key and its state, as the table holds them.
#[derive(Debug, Clone, Copy)]
pub(super) struct Slot {
    pub(super) key: KeyId,
    pub(super) entry: Entry,
}

/// The keys of one shard.
pub(super) type Shard = HashTable<Slot>;

/// Hashes key ids by mixing their 128 bits with a per-store random seed.
///
/// Key ids are ULIDs issued by the server (80 random bits each), never chosen by a caller,
/// so a fast mix is enough; SipHash, the standard default, costs more than the rest of a
/// check.
#[derive(Debug, Clone, Copy)]
pub(super) struct KeyHasher {
    seed: u64,
}

impl KeyHasher {
    /// A hasher with a fresh random seed.
    pub(super) fn new() -> Self {
        Self {
            seed: std::collections::hash_map::RandomState::new().hash_one(0_u8),
        }
    }

    /// The hash of `key`: the shard comes from bits 32 and up, the table uses the low bits
    /// for buckets and the top 7 as tags.
    #[inline]
    pub(super) fn hash(&self, key: KeyId) -> u64 {
        let bits = key.ulid().0;
        // Truncation is the point: the two halves are folded together.
        let folded = (bits as u64) ^ ((bits >> 64) as u64);
        mix(self.seed ^ folded)
    }

    /// The index of `hash`'s shard among `shards` (a power of two).
    pub(super) fn shard_index(hash: u64, shards: usize) -> usize {
        ((hash >> 32) as usize) & (shards - 1)
    }
}

/// A 64-bit finaliser (from splitmix64): every input bit moves every output bit.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Frees one slot in a full shard: idle keys (TAT at or before `now_us`) first, else the
/// key closest to idle.
pub(super) fn make_room(shard: &mut Shard, now_us: i64) {
    let before = shard.len();
    shard.retain(|slot| slot.entry.tat_us > now_us);
    if shard.len() < before {
        return;
    }

    let closest_to_idle = shard
        .iter()
        .min_by_key(|slot| slot.entry.tat_us)
        .map(|slot| slot.key);
    if let Some(key) = closest_to_idle {
        shard.retain(|slot| slot.key != key);
    }
}

/// Removes `key`, whose hash is `hash`, from `shard`; returns whether it was there.
pub(super) fn remove(shard: &mut Shard, key: KeyId, hash: u64) -> bool {
    shard
        .find_entry(hash, |slot| slot.key == key)
        .map(|occupied| occupied.remove())
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(key: KeyId, tat_us: i64) -> Slot {
        Slot {
            key,
            entry: Entry::new(&Gcra::per_minute(1), tat_us),
        }
    }

    fn insert(shard: &mut Shard, hasher: &KeyHasher, slot: Slot) {
        shard.insert_unique(hasher.hash(slot.key), slot, |s| hasher.hash(s.key));
    }

    #[test]
    fn making_room_drops_idle_keys_first_else_the_closest_to_idle() {
        let hasher = KeyHasher::new();
        let mut shard = Shard::new();
        let (idle, soon, later) = (KeyId::new(), KeyId::new(), KeyId::new());
        insert(&mut shard, &hasher, slot(idle, 5));
        insert(&mut shard, &hasher, slot(soon, 20));
        insert(&mut shard, &hasher, slot(later, 30));

        make_room(&mut shard, 10);
        assert_eq!(shard.len(), 2);

        make_room(&mut shard, 10);
        let left: Vec<KeyId> = shard.iter().map(|slot| slot.key).collect();
        assert_eq!(left, vec![later]);
    }

    #[test]
    fn removal_reports_whether_the_key_was_there() {
        let hasher = KeyHasher::new();
        let mut shard = Shard::new();
        let key = KeyId::new();
        insert(&mut shard, &hasher, slot(key, 1));

        assert!(remove(&mut shard, key, hasher.hash(key)));
        assert!(!remove(&mut shard, key, hasher.hash(key)));
    }

    #[test]
    fn the_kept_interval_serves_the_same_limit_and_a_new_limit_is_computed() {
        let period_us = 60_000_000;
        let entry = Entry::new(&Gcra::from_period_us(60, period_us), 0);
        assert_eq!(entry.gcra(60, period_us), Gcra::per_minute(60));
        assert_eq!(entry.gcra(120, period_us), Gcra::per_minute(120));

        let day_us = 86_400_000_000;
        let entry = Entry::new(&Gcra::from_period_us(1, day_us), 0);
        assert_eq!(entry.gcra(1, day_us), Gcra::from_period_us(1, day_us));
    }

    #[test]
    fn shard_indexes_stay_in_range() {
        let hasher = KeyHasher::new();
        for _ in 0..1_000 {
            let index = KeyHasher::shard_index(hasher.hash(KeyId::new()), 64);
            assert!(index < 64);
        }
    }
}

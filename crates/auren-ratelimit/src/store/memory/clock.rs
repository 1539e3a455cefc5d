//! The memory store's time: the CPU's time-stamp counter, or a clock a test moves.

use std::time::{SystemTime, UNIX_EPOCH};

use auren_core::SharedClock;

/// Where a [`MemoryStore`](super::MemoryStore) reads the time, in microseconds since the
/// Unix epoch.
///
/// By default the counter through `quanta`: reading the system clock costs about three
/// times as much as the rest of a check on a virtual machine, while the counter is read in
/// a few nanoseconds. It is anchored to the wall clock once, when the store is built, and
/// then only moves forward; a TAT never needs more than that, since all of a store's
/// times come from the same source.
#[derive(Debug, Clone)]
pub(super) enum StoreClock {
    /// Microseconds since the anchor, counted by `quanta`, added to the wall time of the
    /// anchor.
    Counter {
        clock: quanta::Clock,
        anchor_raw: u64,
        anchor_us: i64,
    },
    /// A clock given by the host, such as a test's manual clock.
    Shared(SharedClock),
}

impl StoreClock {
    /// The counter, anchored now.
    pub(super) fn counter() -> Self {
        let clock = quanta::Clock::new();
        let anchor_raw = clock.raw();
        let anchor_us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| {
                i64::try_from(since.as_micros()).unwrap_or(i64::MAX / 2)
            });

        Self::Counter {
            clock,
            anchor_raw,
            anchor_us,
        }
    }

    /// The current time in microseconds since the Unix epoch.
    #[inline]
    pub(super) fn now_us(&self) -> i64 {
        match self {
            Self::Counter {
                clock,
                anchor_raw,
                anchor_us,
            } => {
                let elapsed_ns = clock.delta_as_nanos(*anchor_raw, clock.raw());
                let elapsed_us = i64::try_from(elapsed_ns / 1_000).unwrap_or(i64::MAX / 2);
                anchor_us.saturating_add(elapsed_us)
            }
            Self::Shared(clock) => clock.now().timestamp_micros(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auren_core::ManualClock;
    use std::sync::Arc;

    #[test]
    fn the_counter_starts_at_the_wall_time_and_never_goes_back() {
        let wall_before = chrono::Utc::now().timestamp_micros();
        let clock = StoreClock::counter();
        let first = clock.now_us();
        let second = clock.now_us();
        let wall_after = chrono::Utc::now().timestamp_micros();

        assert!(first >= wall_before);
        assert!(second >= first);
        assert!(second <= wall_after + 1_000_000);
    }

    #[test]
    fn a_shared_clock_is_followed() {
        let manual = ManualClock::starting_now();
        let clock = StoreClock::Shared(Arc::new(manual.clone()));
        let before = clock.now_us();

        manual.advance(chrono::Duration::seconds(3));
        assert_eq!(clock.now_us() - before, 3_000_000);
    }
}

//! Times on the hot path as nanoseconds since the Unix epoch: one system clock reading per
//! verification, compared as integers, with no calendar arithmetic.

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};

/// The system's wall clock in nanoseconds since the Unix epoch (0 before it).
pub(crate) fn system_now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_nanos()).unwrap_or(i64::MAX)
        })
}

/// `at` in nanoseconds since the Unix epoch, clamped to `i64` (years 1677 to 2262), which
/// keeps every comparison with a present time exact.
pub(crate) fn unix_ns(at: DateTime<Utc>) -> i64 {
    at.timestamp_nanos_opt().unwrap_or(if at.timestamp() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// The time `ns` nanoseconds after the Unix epoch.
pub(crate) fn from_unix_ns(ns: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_trip_and_clamp() {
        let now = Utc::now();
        assert_eq!(from_unix_ns(unix_ns(now)), now);
        assert_eq!(unix_ns(DateTime::<Utc>::MAX_UTC), i64::MAX);
        assert_eq!(unix_ns(DateTime::<Utc>::MIN_UTC), i64::MIN);
        assert!((system_now_ns() - unix_ns(now)).abs() < 60 * 1_000_000_000);
    }
}

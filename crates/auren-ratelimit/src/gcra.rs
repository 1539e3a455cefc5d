//! The generic cell rate algorithm (GCRA), as pure arithmetic on microseconds.
//!
//! A key's whole state is one instant, its *theoretical arrival time* (TAT). Each admitted
//! request pushes the TAT one *emission interval* `T = period / limit` further; a request
//! is admitted when the pushed TAT lies at most `limit × T` (about one period) ahead of
//! now. So a fresh key admits exactly `limit` requests at once, then one more every `T`.
//! A TAT in the past carries no information: such a key is as good as fresh.

use std::time::Duration;

use crate::RateLimitDecision;

/// The default period of a limit: one minute.
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(60);

/// The GCRA parameters of one limit: `limit` requests per `period`.
///
/// Times are microseconds on any monotonic or wall clock; the Redis store uses the
/// server's `TIME`, the memory store its [`Clock`](auren_core::Clock).
///
/// # Example
///
/// ```
/// use auren_ratelimit::Gcra;
///
/// let gcra = Gcra::per_minute(3);
/// let mut tat = None;
/// let mut admitted = 0;
/// for _ in 0..10 {
///     let (decision, new_tat) = gcra.check(tat, 0);
///     admitted += u32::from(decision.allowed);
///     tat = new_tat.or(tat);
/// }
/// assert_eq!(admitted, 3);
///
/// // 20 s later (one emission interval) exactly one more passes.
/// let (decision, _) = gcra.check(tat, 20_000_000);
/// assert!(decision.allowed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gcra {
    limit: u32,
    interval_us: i64,
    tolerance_us: i64,
}

impl Gcra {
    /// `limit` requests per minute. A limit of zero is raised to one: the caller is
    /// expected to handle zero (block everything) before asking.
    pub fn per_minute(limit: u32) -> Self {
        Self::new(limit, DEFAULT_PERIOD)
    }

    /// `limit` requests per `period`. A zero limit is raised to one, and the emission
    /// interval is at least one microsecond.
    pub fn new(limit: u32, period: Duration) -> Self {
        Self::from_period_us(limit, period_us(period))
    }

    /// As [`new`](Self::new), with the period already in microseconds.
    pub(crate) fn from_period_us(limit: u32, period_us: i64) -> Self {
        let limit = limit.max(1);
        Self::from_interval_us(limit, (period_us / i64::from(limit)).max(1))
    }

    /// The parameters of `limit` (at least one) with an emission interval computed
    /// before, so a store that keeps it skips the division.
    #[inline]
    pub(crate) fn from_interval_us(limit: u32, interval_us: i64) -> Self {
        Self {
            limit,
            interval_us,
            tolerance_us: interval_us.saturating_mul(i64::from(limit)),
        }
    }

    /// The limit, in requests per period.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// The emission interval `T`, in microseconds.
    pub fn interval_us(&self) -> i64 {
        self.interval_us
    }

    /// The burst tolerance `limit × T`, in microseconds (at most the period).
    pub fn tolerance_us(&self) -> i64 {
        self.tolerance_us
    }

    /// Checks one request at `now_us` against the stored `tat_us`.
    ///
    /// Returns the decision and, when admitted, the TAT to store.
    #[inline]
    pub fn check(&self, tat_us: Option<i64>, now_us: i64) -> (RateLimitDecision, Option<i64>) {
        let tat = tat_us.map_or(now_us, |tat| tat.max(now_us));
        let new_tat = tat.saturating_add(self.interval_us);

        if new_tat - now_us <= self.tolerance_us {
            (self.decision(true, new_tat - now_us), Some(new_tat))
        } else {
            (self.decision(false, tat - now_us), None)
        }
    }

    /// The decision for a request that was `allowed` or not, leaving the key's TAT
    /// `debt_us` microseconds ahead of now (after the update).
    #[inline]
    pub fn decision(&self, allowed: bool, debt_us: i64) -> RateLimitDecision {
        let debt = debt_us.max(0);
        let remaining = (self.tolerance_us - debt) / self.interval_us;
        let retry_after = (!allowed).then(|| {
            micros(debt.saturating_add(self.interval_us) - self.tolerance_us)
                .max(Duration::from_micros(1))
        });

        RateLimitDecision {
            allowed,
            limit: self.limit,
            remaining: u32::try_from(remaining.max(0))
                .unwrap_or(self.limit)
                .min(self.limit),
            reset: micros(debt),
            retry_after,
        }
    }

    /// What the key has left at `now_us` without making a request.
    pub fn status(&self, tat_us: i64, now_us: i64) -> RateLimitDecision {
        self.decision(true, tat_us - now_us)
    }
}

/// A period in microseconds, capped far below overflow.
pub(crate) fn period_us(period: Duration) -> i64 {
    i64::try_from(period.as_micros()).unwrap_or(i64::MAX / 4)
}

#[inline]
fn micros(us: i64) -> Duration {
    Duration::from_micros(u64::try_from(us).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn burst(gcra: &Gcra, tat: &mut Option<i64>, now: i64, n: u32) -> u32 {
        let mut admitted = 0;
        for _ in 0..n {
            let (decision, new_tat) = gcra.check(*tat, now);
            if decision.allowed {
                admitted += 1;
                *tat = new_tat;
            }
        }
        admitted
    }

    #[test]
    fn fresh_key_admits_exactly_the_limit_and_counts_down() {
        let gcra = Gcra::per_minute(5);
        let mut tat = None;
        for expected in (0..5).rev() {
            let (decision, new_tat) = gcra.check(tat, 1_000);
            assert!(decision.allowed);
            assert_eq!(decision.remaining, expected);
            tat = new_tat;
        }
        let (decision, new_tat) = gcra.check(tat, 1_000);
        assert!(!decision.allowed);
        assert_eq!(new_tat, None);
        assert_eq!(decision.retry_after, Some(Duration::from_secs(12)));
        assert_eq!(decision.reset, Duration::from_secs(60));
    }

    #[test]
    fn a_limit_change_keeps_the_used_share_of_the_window() {
        let mut tat = None;
        assert_eq!(burst(&Gcra::per_minute(60), &mut tat, 0, 30), 30);
        let status = Gcra::per_minute(120).status(tat.unwrap_or(0), 0);
        assert_eq!(status.remaining, 60);
        let status = Gcra::per_minute(10).status(tat.unwrap_or(0), 0);
        assert_eq!(status.remaining, 5);
    }

    proptest! {
        #[test]
        fn a_burst_at_one_instant_admits_exactly_the_limit(
            limit in 1_u32..2_000, extra in 0_u32..50, now in 0_i64..1 << 50,
        ) {
            let gcra = Gcra::per_minute(limit);
            let mut tat = None;
            prop_assert_eq!(burst(&gcra, &mut tat, now, limit + extra), limit);
        }

        #[test]
        fn no_window_of_one_period_admits_more_than_limit_plus_refills(
            limit in 1_u32..100,
            gaps in proptest::collection::vec(0_i64..3_000_000, 1..400),
        ) {
            let gcra = Gcra::per_minute(limit);
            let mut tat = None;
            let mut now = 0;
            let mut admitted_at = Vec::new();
            for gap in gaps {
                now += gap;
                let (decision, new_tat) = gcra.check(tat, now);
                if decision.allowed {
                    admitted_at.push(now);
                    tat = new_tat;
                }
            }
            // In any span of length d, at most limit + d / T requests pass.
            for (i, start) in admitted_at.iter().enumerate() {
                for (j, end) in admitted_at.iter().enumerate().skip(i) {
                    let refills = (end - start) / gcra.interval_us();
                    prop_assert!((j - i + 1) as i64 <= i64::from(limit) + refills);
                }
            }
        }

        #[test]
        fn remaining_never_exceeds_limit_and_denials_say_when(
            limit in 1_u32..500, tat in proptest::option::of(0_i64..200_000_000),
            now in 0_i64..200_000_000,
        ) {
            let gcra = Gcra::per_minute(limit);
            let (decision, _) = gcra.check(tat, now);
            prop_assert!(decision.remaining <= limit);
            prop_assert_eq!(decision.allowed, decision.retry_after.is_none());
            if let Some(wait) = decision.retry_after {
                let later = now + i64::try_from(wait.as_micros()).unwrap_or(0);
                prop_assert!(gcra.check(tat, later).0.allowed);
            }
        }
    }
}

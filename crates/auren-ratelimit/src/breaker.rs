//! A circuit breaker, so a failing store is not asked by every request.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use self::micros::Instant;
use auren_core::SharedClock;

/// Whether a call to the store may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Permit {
    /// The breaker is closed: call.
    Call,
    /// The cool-down has passed: this one call probes whether the store is back.
    Probe,
    /// The breaker is open: do not call.
    Reject,
}

/// A change of the breaker's state that an operator should hear of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transition {
    /// Too many consecutive failures: the store is considered down.
    Opened,
    /// A probe succeeded after an outage: the store is back.
    Recovered,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { since: Instant },
}

/// Opens after `threshold` consecutive failures; after `cool_down`, lets one probe through
/// and closes again when it succeeds. A probe that never reports (its request was dropped)
/// is replaced by another after one more cool-down.
#[derive(Debug)]
pub(crate) struct CircuitBreaker {
    state: Mutex<State>,
    threshold: u32,
    cool_down: Duration,
    clock: SharedClock,
}

impl CircuitBreaker {
    pub(crate) fn new(threshold: u32, cool_down: Duration, clock: SharedClock) -> Self {
        Self {
            state: Mutex::new(State::Closed { failures: 0 }),
            threshold,
            cool_down,
            clock,
        }
    }

    pub(crate) fn permit(&self) -> Permit {
        let now = self.now();
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => Permit::Call,
            State::Open { until } | State::HalfOpen { since: until } if now >= until => {
                *state = State::HalfOpen {
                    since: now + self.cool_down,
                };
                Permit::Probe
            }
            State::Open { .. } | State::HalfOpen { .. } => Permit::Reject,
        }
    }

    pub(crate) fn on_success(&self) -> Option<Transition> {
        let mut state = self.lock();
        let was_down = !matches!(*state, State::Closed { .. });
        *state = State::Closed { failures: 0 };
        was_down.then_some(Transition::Recovered)
    }

    pub(crate) fn on_failure(&self) -> Option<Transition> {
        let until = self.now() + self.cool_down;
        let mut state = self.lock();
        match *state {
            State::Closed { failures } if failures + 1 >= self.threshold => {
                *state = State::Open { until };
                Some(Transition::Opened)
            }
            State::Closed { failures } => {
                *state = State::Closed {
                    failures: failures + 1,
                };
                None
            }
            State::Open { .. } | State::HalfOpen { .. } => {
                *state = State::Open { until };
                None
            }
        }
    }

    fn now(&self) -> Instant {
        Instant(self.clock.now().timestamp_micros())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

mod micros {
    use std::ops::Add;
    use std::time::Duration;

    /// Far enough to never come, short of overflowing.
    const NEVER: i64 = 1 << 60;

    /// Microseconds on the breaker's clock.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub(crate) struct Instant(pub(crate) i64);

    impl Add<Duration> for Instant {
        type Output = Instant;

        fn add(self, duration: Duration) -> Instant {
            let micros = i64::try_from(duration.as_micros()).unwrap_or(NEVER);
            Instant(self.0.saturating_add(micros))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auren_core::ManualClock;
    use std::sync::Arc;

    #[test]
    fn opens_after_threshold_probes_after_cool_down_and_recovers() {
        let clock = ManualClock::starting_now();
        let breaker = CircuitBreaker::new(3, Duration::from_secs(1), Arc::new(clock.clone()));

        assert_eq!(breaker.on_failure(), None);
        assert_eq!(breaker.on_failure(), None);
        assert_eq!(breaker.on_failure(), Some(Transition::Opened));
        assert_eq!(breaker.permit(), Permit::Reject);

        clock.advance(chrono::Duration::milliseconds(1_000));
        assert_eq!(breaker.permit(), Permit::Probe);
        assert_eq!(breaker.permit(), Permit::Reject);
        assert_eq!(
            breaker.on_failure(),
            None,
            "a failed probe is the same outage"
        );
        assert_eq!(breaker.permit(), Permit::Reject);

        clock.advance(chrono::Duration::milliseconds(1_000));
        assert_eq!(breaker.permit(), Permit::Probe);
        assert_eq!(breaker.on_success(), Some(Transition::Recovered));
        assert_eq!(breaker.permit(), Permit::Call);
        assert_eq!(breaker.on_success(), None);
    }

    #[test]
    fn a_lost_probe_is_replaced_after_another_cool_down() {
        let clock = ManualClock::starting_now();
        let breaker = CircuitBreaker::new(1, Duration::from_secs(1), Arc::new(clock.clone()));
        breaker.on_failure();
        clock.advance(chrono::Duration::seconds(1));
        assert_eq!(breaker.permit(), Permit::Probe);
        clock.advance(chrono::Duration::seconds(1));
        assert_eq!(breaker.permit(), Permit::Probe);
    }

    #[test]
    fn a_success_resets_the_failure_count() {
        let clock = ManualClock::starting_now();
        let breaker = CircuitBreaker::new(2, Duration::from_secs(1), Arc::new(clock));
        breaker.on_failure();
        breaker.on_success();
        assert_eq!(breaker.on_failure(), None);
        assert_eq!(breaker.permit(), Permit::Call);
    }
}

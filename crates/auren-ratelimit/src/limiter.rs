//! The limiter: a store, plus the timeout, circuit breaker and failure policy around it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use auren_core::{KeyId, SharedClock, SystemClock};

use crate::breaker::{CircuitBreaker, Permit, Transition};
use crate::metrics::{record_decision, record_store_available, record_store_error};
use crate::{
    ConfigError, FailurePolicy, KeyStatus, MemoryStore, RateLimitDecision, RateLimitStore,
    StatusPage, StoreError,
};

/// The default bound on one store call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(50);

/// Consecutive failures that open the circuit breaker, by default.
pub const DEFAULT_FAILURE_THRESHOLD: u32 = 5;

/// How long the breaker stays open before a probe, by default.
pub const DEFAULT_COOL_DOWN: Duration = Duration::from_secs(1);

/// How long an admin call (status, reset, listing) may take.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(2);

/// The result of checking one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckOutcome {
    /// The store (or the local fallback) decided.
    Decided(RateLimitDecision),
    /// The store failed and the policy is [`FailurePolicy::FailOpen`]: pass, unchecked.
    Unchecked,
    /// The store failed and the policy is [`FailurePolicy::FailClosed`]: refuse.
    Unavailable,
}

/// Checks requests of keys against their limits: a [`RateLimitStore`] behind a bounded
/// timeout and a circuit breaker, with a [`FailurePolicy`] for when the store fails.
///
/// Cheap to clone; clones share the store, the breaker and the fallback.
///
/// # Example
///
/// ```
/// use auren_core::KeyId;
/// use auren_ratelimit::{CheckOutcome, MemoryStore, RateLimiter};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let limiter = RateLimiter::in_memory(MemoryStore::new());
/// let key = KeyId::new();
/// let CheckOutcome::Decided(decision) = limiter.check(key, 1).await else { panic!() };
/// assert!(decision.allowed);
/// let CheckOutcome::Decided(decision) = limiter.check(key, 1).await else { panic!() };
/// assert!(!decision.allowed);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    backend: Backend,
    policy: FailurePolicy,
    fallback: Option<MemoryStore>,
    breaker: CircuitBreaker,
    timeout: Duration,
    /// Whether a check has set the availability gauge yet: the recorder may have been
    /// installed after the limiter was built.
    availability_recorded: AtomicBool,
}

#[derive(Debug)]
enum Backend {
    /// Checked in place: a memory store cannot fail or stall.
    Memory(MemoryStore),
    /// Checked through the timeout and the breaker.
    Remote(Arc<dyn RateLimitStore>),
}

impl RateLimiter {
    /// A limiter over an in-memory store, for one process. No timeout or breaker is
    /// needed: the memory store answers in place and cannot fail.
    pub fn in_memory(store: MemoryStore) -> Self {
        Self::from_parts(
            Backend::Memory(store),
            FailurePolicy::FailClosed,
            None,
            Self::builder_defaults_breaker(SystemClock::shared()),
            DEFAULT_TIMEOUT,
        )
    }

    /// A builder over a shared store such as [`RedisStore`](crate::RedisStore).
    pub fn builder(store: impl RateLimitStore) -> RateLimiterBuilder {
        RateLimiterBuilder {
            store: Arc::new(store),
            policy: FailurePolicy::default(),
            timeout: DEFAULT_TIMEOUT,
            failure_threshold: DEFAULT_FAILURE_THRESHOLD,
            cool_down: DEFAULT_COOL_DOWN,
            clock: SystemClock::shared(),
            fallback_max_keys: crate::DEFAULT_MAX_KEYS,
        }
    }

    fn builder_defaults_breaker(clock: SharedClock) -> CircuitBreaker {
        CircuitBreaker::new(DEFAULT_FAILURE_THRESHOLD, DEFAULT_COOL_DOWN, clock)
    }

    fn from_parts(
        backend: Backend,
        policy: FailurePolicy,
        fallback: Option<MemoryStore>,
        breaker: CircuitBreaker,
        timeout: Duration,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                backend,
                policy,
                fallback,
                breaker,
                timeout,
                availability_recorded: AtomicBool::new(false),
            }),
        }
    }

    /// The policy applied while the store fails.
    pub fn policy(&self) -> FailurePolicy {
        self.inner.policy
    }

    /// The period the store counts a limit over.
    pub fn period(&self) -> Duration {
        self.store().period()
    }

    /// The outcome right away when the store answers in place (the memory store), without
    /// a future; `None` when [`check`](Self::check) must be awaited.
    pub fn check_in_place(&self, key: KeyId, limit: u32) -> Option<CheckOutcome> {
        match &self.inner.backend {
            Backend::Memory(store) => Some(decided(store.check_now(key, limit))),
            Backend::Remote(_) => None,
        }
    }

    /// Checks and counts one request of `key`, limited to `limit` requests per period.
    ///
    /// Never waits longer than the configured timeout for the store.
    pub async fn check(&self, key: KeyId, limit: u32) -> CheckOutcome {
        let inner = &*self.inner;
        let store = match &inner.backend {
            Backend::Memory(store) => return decided(store.check_now(key, limit)),
            Backend::Remote(store) => store,
        };

        let permit = inner.breaker.permit();
        if permit == Permit::Reject {
            return self.degrade(key, limit, &StoreError::CircuitOpen);
        }

        let result = match tokio::time::timeout(inner.timeout, store.check(key, limit)).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::Timeout(inner.timeout)),
        };

        match result {
            Ok(decision) => {
                if inner.breaker.on_success() == Some(Transition::Recovered) {
                    tracing::warn!("rate-limit store answers again; limits are shared again");
                    record_store_available(true);
                } else if !inner.availability_recorded.load(Ordering::Relaxed) {
                    inner.availability_recorded.store(true, Ordering::Relaxed);
                    record_store_available(true);
                }
                decided(decision)
            }
            Err(error) => {
                if inner.breaker.on_failure() == Some(Transition::Opened) {
                    record_store_available(false);
                    tracing::warn!(
                        error = %error,
                        policy = inner.policy.name(),
                        "rate-limit store is failing; applying the failure policy until it \
                         answers again",
                    );
                }
                self.degrade(key, limit, &error)
            }
        }
    }

    fn degrade(&self, key: KeyId, limit: u32, error: &StoreError) -> CheckOutcome {
        record_store_error();
        tracing::debug!(key_id = %key, error = %error, "rate-limit store unavailable");

        match (&self.inner.policy, &self.inner.fallback) {
            (FailurePolicy::FailOpen, _) => CheckOutcome::Unchecked,
            (policy @ FailurePolicy::LocalFallback { .. }, Some(fallback)) => {
                let local_limit = if limit == 0 {
                    0
                } else {
                    policy.fallback_limit(limit).unwrap_or(1)
                };
                decided(fallback.check_now(key, local_limit))
            }
            _ => CheckOutcome::Unavailable,
        }
    }

    /// The state of one key in the store.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store fails or takes longer than two seconds.
    pub async fn status(&self, key: KeyId) -> Result<Option<KeyStatus>, StoreError> {
        bounded(self.store().status(key)).await
    }

    /// Forgets a key's state in the store (and in the local fallback), so its full limit
    /// is available at once. Returns whether the store had state for it.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store fails or takes longer than two seconds.
    pub async fn reset(&self, key: KeyId) -> Result<bool, StoreError> {
        if let Some(fallback) = &self.inner.fallback {
            fallback.reset(key).await?;
        }
        bounded(self.store().reset(key)).await
    }

    /// One page of the keys with state in the store.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidCursor`] for a foreign cursor, or a store failure.
    pub async fn list(&self, cursor: Option<&str>, limit: usize) -> Result<StatusPage, StoreError> {
        bounded(self.store().list(cursor, limit)).await
    }

    fn store(&self) -> &dyn RateLimitStore {
        match &self.inner.backend {
            Backend::Memory(store) => store,
            Backend::Remote(store) => store.as_ref(),
        }
    }
}

/// The outcome of a decision, counted.
fn decided(decision: RateLimitDecision) -> CheckOutcome {
    record_decision(&decision);
    CheckOutcome::Decided(decision)
}

async fn bounded<T>(
    call: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(ADMIN_TIMEOUT, call)
        .await
        .unwrap_or(Err(StoreError::Timeout(ADMIN_TIMEOUT)))
}

/// Configures a [`RateLimiter`] over a shared store.
///
/// ```
/// use std::time::Duration;
/// use auren_ratelimit::{FailurePolicy, MemoryStore, RateLimiter};
///
/// let limiter = RateLimiter::builder(MemoryStore::new())
///     .timeout(Duration::from_millis(30))
///     .failure_policy(FailurePolicy::FailClosed)
///     .circuit_breaker(3, Duration::from_secs(2))
///     .build()
///     .unwrap();
/// assert_eq!(limiter.policy(), FailurePolicy::FailClosed);
///
/// let invalid = RateLimiter::builder(MemoryStore::new())
///     .failure_policy(FailurePolicy::LocalFallback { share: 1.5 })
///     .build();
/// assert!(invalid.is_err());
/// ```
#[derive(Debug)]
pub struct RateLimiterBuilder {
    store: Arc<dyn RateLimitStore>,
    policy: FailurePolicy,
    timeout: Duration,
    failure_threshold: u32,
    cool_down: Duration,
    clock: SharedClock,
    fallback_max_keys: usize,
}

impl RateLimiterBuilder {
    /// What happens while the store fails (default: a local fallback at half the limit).
    pub fn failure_policy(mut self, policy: FailurePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The bound on one store call (default 50 ms).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Open the breaker after `failures` consecutive failures; probe again after
    /// `cool_down` (defaults: 5 and one second).
    pub fn circuit_breaker(mut self, failures: u32, cool_down: Duration) -> Self {
        self.failure_threshold = failures;
        self.cool_down = cool_down;
        self
    }

    /// The clock of the breaker and the local fallback (default: the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The key cap of the local fallback's memory store (default 100 000).
    pub fn fallback_max_keys(mut self, max_keys: usize) -> Self {
        self.fallback_max_keys = max_keys;
        self
    }

    /// The limiter.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for a share outside `(0, 1]`, a zero timeout or threshold.
    pub fn build(self) -> Result<RateLimiter, ConfigError> {
        if self.timeout.is_zero() {
            return Err(ConfigError::ZeroTimeout);
        }
        if self.failure_threshold == 0 {
            return Err(ConfigError::ZeroFailureThreshold);
        }

        let fallback = match self.policy {
            FailurePolicy::LocalFallback { share } => {
                if !(share > 0.0 && share <= 1.0) {
                    return Err(ConfigError::InvalidShare(share));
                }
                let store = MemoryStore::builder()
                    .max_keys(self.fallback_max_keys)
                    .period(self.store.period())
                    .shared_clock(self.clock.clone())
                    .build()?;
                Some(store)
            }
            FailurePolicy::FailOpen | FailurePolicy::FailClosed => None,
        };

        let breaker = CircuitBreaker::new(self.failure_threshold, self.cool_down, self.clock);
        record_store_available(true);
        Ok(RateLimiter::from_parts(
            Backend::Remote(self.store),
            self.policy,
            fallback,
            breaker,
            self.timeout,
        ))
    }
}

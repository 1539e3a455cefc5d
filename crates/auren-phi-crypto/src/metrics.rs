//! The metrics this crate records, by name, and the helpers that record them.
//!
//! Recorded through the [`metrics`] facade, so nothing is kept until the host installs a
//! recorder. Labels are fixed words (an operation, an error kind, a cache and its
//! result): never a key, a key id, a user id, a field name or a value.
//! `docs/observability/metrics.md` lists every metric.
//!
//! # Example
//!
//! ```
//! use auren_phi_crypto::metrics::{PHI_ERRORS_TOTAL, PHI_OPERATIONS_TOTAL};
//!
//! assert_eq!(PHI_OPERATIONS_TOTAL, "auren_phi_operations_total");
//! assert_eq!(PHI_ERRORS_TOTAL, "auren_phi_errors_total");
//! ```

use metrics::{Key, Label, Level, Metadata};

use crate::error::PhiError;

/// Counter of encryptions and decryptions, successful or not, labelled `operation`:
/// `encrypt` or `decrypt`. A re-seal counts as one of each.
pub const PHI_OPERATIONS_TOTAL: &str = "auren_phi_operations_total";

/// Counter of failed operations, labelled `operation` and `kind`: `malformed` (not a
/// sealed value), `wrong_context` (sealed for another user or field, or tampered with),
/// `unknown_key`, `master_key_mismatch`, `no_active_key`, `store` (the key store
/// failed), `encode`, `decode`, `random` or `crypto`.
pub const PHI_ERRORS_TOTAL: &str = "auren_phi_errors_total";

/// Counter of key cache lookups, labelled `cache` (`data_key`: an unwrapped data key,
/// found without the key store; `derived_key`: a per-user key, found without HKDF) and
/// `result` (`hit` or `miss`). A cipher built without caches records none.
pub const PHI_KEY_CACHE_LOOKUPS_TOTAL: &str = "auren_phi_key_cache_lookups_total";

/// Which way an operation went, as the `operation` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    Encrypt,
    Decrypt,
}

/// Which key cache was looked up, as the `cache` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyCacheKind {
    DataKey,
    DerivedKey,
}

// The keys are built at compile time (`Key::from_static_parts` is `const`, hash included);
// `metrics::counter!` with a name held in a constant would build and hash its key on
// every call, which cost more than the rest of a warm lookup.
static ENCRYPTS: Key = operation_key(&ENCRYPT_LABELS);
static ENCRYPT_LABELS: [Label; 1] = [Label::from_static_parts("operation", "encrypt")];
static DECRYPTS: Key = operation_key(&DECRYPT_LABELS);
static DECRYPT_LABELS: [Label; 1] = [Label::from_static_parts("operation", "decrypt")];

static DATA_KEY_HITS: Key = lookup_key(&DATA_KEY_HIT_LABELS);
static DATA_KEY_HIT_LABELS: [Label; 2] = lookup_labels("data_key", "hit");
static DATA_KEY_MISSES: Key = lookup_key(&DATA_KEY_MISS_LABELS);
static DATA_KEY_MISS_LABELS: [Label; 2] = lookup_labels("data_key", "miss");
static DERIVED_KEY_HITS: Key = lookup_key(&DERIVED_KEY_HIT_LABELS);
static DERIVED_KEY_HIT_LABELS: [Label; 2] = lookup_labels("derived_key", "hit");
static DERIVED_KEY_MISSES: Key = lookup_key(&DERIVED_KEY_MISS_LABELS);
static DERIVED_KEY_MISS_LABELS: [Label; 2] = lookup_labels("derived_key", "miss");

/// What `metrics::counter!` would attach from this module.
static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

const fn operation_key(labels: &'static [Label]) -> Key {
    Key::from_static_parts(PHI_OPERATIONS_TOTAL, labels)
}

const fn lookup_key(labels: &'static [Label]) -> Key {
    Key::from_static_parts(PHI_KEY_CACHE_LOOKUPS_TOTAL, labels)
}

const fn lookup_labels(cache: &'static str, result: &'static str) -> [Label; 2] {
    [
        Label::from_static_parts("cache", cache),
        Label::from_static_parts("result", result),
    ]
}

/// Adds one to the counter `key` of the recorder in place now (none: nothing is kept).
fn increment(key: &'static Key) {
    metrics::with_recorder(|recorder| recorder.register_counter(key, &METADATA)).increment(1);
}

/// Counts one operation and, when it failed, its error; hands the result on.
pub(crate) fn record_operation<T>(
    operation: Operation,
    result: Result<T, PhiError>,
) -> Result<T, PhiError> {
    increment(match operation {
        Operation::Encrypt => &ENCRYPTS,
        Operation::Decrypt => &DECRYPTS,
    });

    if let Err(error) = &result {
        let operation = match operation {
            Operation::Encrypt => "encrypt",
            Operation::Decrypt => "decrypt",
        };
        metrics::counter!(PHI_ERRORS_TOTAL, "operation" => operation, "kind" => kind(error))
            .increment(1);
    }
    result
}

/// Counts one key cache lookup.
pub(crate) fn record_cache_lookup(cache: KeyCacheKind, hit: bool) {
    increment(match (cache, hit) {
        (KeyCacheKind::DataKey, true) => &DATA_KEY_HITS,
        (KeyCacheKind::DataKey, false) => &DATA_KEY_MISSES,
        (KeyCacheKind::DerivedKey, true) => &DERIVED_KEY_HITS,
        (KeyCacheKind::DerivedKey, false) => &DERIVED_KEY_MISSES,
    });
}

/// The `kind` label of an error: a fixed word, never a value the error carries.
fn kind(error: &PhiError) -> &'static str {
    match error {
        PhiError::Format(_) => "malformed",
        PhiError::WrongContextOrTampered => "wrong_context",
        PhiError::UnknownKey(_) => "unknown_key",
        PhiError::MasterKeyMismatch(_) => "master_key_mismatch",
        PhiError::NoActiveKey => "no_active_key",
        PhiError::Encode => "encode",
        PhiError::Decode { .. } => "decode",
        PhiError::Random => "random",
        PhiError::Crypto => "crypto",
        PhiError::KeyStore(_) => "store",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;

    use metrics::{SharedString, Unit};
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    use metrics_util::CompositeKey;

    use crate::{InMemoryKeyStore, MasterKey, PhiContext, PhiCrypto};

    type Recorded = Vec<(CompositeKey, Option<Unit>, Option<SharedString>, DebugValue)>;

    /// Every metric recorded while `work` ran on a current-thread runtime.
    fn record(work: impl Future<Output = ()>) -> Recorded {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        metrics::with_local_recorder(&recorder, || runtime.block_on(work));
        snapshotter.snapshot().into_vec()
    }

    /// The value of the metric `name` whose labels are exactly `labels`.
    fn value<'a>(recorded: &'a Recorded, name: &str, labels: &[(&str, &str)]) -> &'a DebugValue {
        recorded
            .iter()
            .find(|(key, ..)| {
                let key = key.key();
                let found = key.labels().map(|label| (label.key(), label.value()));
                key.name() == name && found.eq(labels.iter().copied())
            })
            .map(|(.., value)| value)
            .unwrap_or_else(|| panic!("{name} {labels:?} was not recorded"))
    }

    #[test]
    fn operations_errors_and_cache_lookups_are_counted() {
        let recorded = record(async {
            let master = MasterKey::generate().expect("random");
            let phi = PhiCrypto::builder(master, InMemoryKeyStore::new())
                .build()
                .await
                .expect("cipher");

            let sealed = phi
                .encrypt_phi_field(&72_u16, "user_1")
                .await
                .expect("seal");
            let opened: u16 = phi
                .decrypt_phi_field(&sealed, "user_1")
                .await
                .expect("open");
            assert_eq!(opened, 72);
            let moved = phi
                .decrypt::<u16>(&sealed, PhiContext::user("user_2"))
                .await;
            assert!(matches!(moved, Err(PhiError::WrongContextOrTampered)));
            let garbage = phi.decrypt_phi_field::<u16>("not sealed", "user_1").await;
            assert!(matches!(garbage, Err(PhiError::Format(_))));
        });

        let operations = |op| value(&recorded, PHI_OPERATIONS_TOTAL, &[("operation", op)]);
        assert_eq!(operations("encrypt"), &DebugValue::Counter(1));
        assert_eq!(operations("decrypt"), &DebugValue::Counter(3));
        let errors = |kind| {
            let labels = [("operation", "decrypt"), ("kind", kind)];
            value(&recorded, PHI_ERRORS_TOTAL, &labels)
        };
        assert_eq!(errors("wrong_context"), &DebugValue::Counter(1));
        assert_eq!(errors("malformed"), &DebugValue::Counter(1));

        let lookups = |cache, result| {
            let labels = [("cache", cache), ("result", result)];
            value(&recorded, PHI_KEY_CACHE_LOOKUPS_TOTAL, &labels)
        };
        assert_eq!(lookups("data_key", "hit"), &DebugValue::Counter(3));
        assert_eq!(
            lookups("derived_key", "miss"),
            &DebugValue::Counter(2),
            "two users"
        );
        assert_eq!(lookups("derived_key", "hit"), &DebugValue::Counter(1));
    }
}

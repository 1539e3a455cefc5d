//! One configuration for the whole stack, built in code or read from the environment.

use std::fmt;
#[cfg(feature = "ratelimit")]
use std::time::Duration;

use crate::config_error::{ConfigError, ConfigProblem};
#[cfg(feature = "ratelimit")]
use crate::rate_limit_settings::{OnRedisFailure, RateLimitSettings};

/// The path prefixes audited when `AUREN_AUDIT_PATHS` is unset: every request.
pub const DEFAULT_AUDIT_PATHS: &[&str] = &["/"];

/// What the stack needs to start: where its services are and how each part behaves.
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `DATABASE_URL` | Postgres for keys, PHI data keys and the audit log | in memory |
/// | `REDIS_URL` | Redis for rate limits | in memory |
/// | `PHI_MASTER_KEY` | 32 bytes, base64; wraps the PHI data keys; required with Postgres | ephemeral |
/// | `AUREN_ADMIN_KEY` | an `auren_…` key registered as an admin key at start-up | unset |
/// | `AUREN_AUDIT_PATHS` | comma-separated path prefixes whose requests are audited | `/` |
/// | `AUREN_RATE_LIMIT_ON_FAILURE`, `AUREN_RATE_LIMIT_TIMEOUT_MS` | see [`RateLimitSettings`] | |
/// | `AUREN_METRICS` | `prometheus` or `off`, see [`MetricsExport`](crate::MetricsExport) | `prometheus` |
///
/// Empty values count as unset. Reading checks every variable and reports every problem
/// together ([`ConfigError`]); a configuration built in code is checked by
/// [`AurenConfig::validate`], which [`Auren::start`](crate::Auren::start) calls. `Debug`
/// shows neither the URLs, which may hold passwords, nor any key.
///
/// # Example
///
/// ```
/// use auren::AurenConfig;
///
/// // In code: everything in memory, nothing to configure.
/// let config = AurenConfig::default();
/// assert!(config.validate().is_ok());
///
/// // From variables: Postgres without a master key is refused.
/// let error = AurenConfig::from_lookup(|name| {
///     (name == "DATABASE_URL").then(|| "postgres://127.0.0.1/app".to_owned())
/// })
/// .unwrap_err();
/// assert_eq!(error.problems()[0].variable(), "PHI_MASTER_KEY");
/// ```
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct AurenConfig {
    /// Postgres connection URL; `None` keeps everything in memory.
    pub database_url: Option<String>,
    /// Redis connection URL; `None` keeps rate limits in memory.
    pub redis_url: Option<String>,
    /// The PHI master key; without Postgres, `None` means an ephemeral key.
    #[cfg(feature = "phi")]
    pub phi_master_key: Option<auren_phi_crypto::MasterKey>,
    /// An admin key to register at start-up; a secret.
    #[cfg(feature = "auth")]
    pub admin_key: Option<auren_auth::ApiKey>,
    /// The path prefixes whose requests are audited; empty means the default, every path.
    #[cfg(feature = "audit")]
    pub audit_paths: Vec<String>,
    /// How the audit writer queues and what a full queue does (code only; waiting, and
    /// so losing nothing, by default).
    #[cfg(feature = "audit")]
    pub audit_writer: auren_audit::AuditWriterConfig,
    /// Rate limiting.
    #[cfg(feature = "ratelimit")]
    pub rate_limit: RateLimitSettings,
    /// How metrics are exported.
    #[cfg(feature = "admin")]
    pub metrics: crate::MetricsExport,
}

impl AurenConfig {
    /// Reads the configuration from the process environment.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming every invalid variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, which maps a variable name to its value.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming every invalid variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let lookup = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let mut problems = ConfigError::default();
        let mut config = Self {
            database_url: lookup("DATABASE_URL"),
            redis_url: lookup("REDIS_URL"),
            ..Self::default()
        };

        #[cfg(feature = "phi")]
        if let Some(key) = lookup("PHI_MASTER_KEY") {
            match auren_phi_crypto::MasterKey::from_base64(key.trim()) {
                Ok(key) => config.phi_master_key = Some(key),
                Err(_) => problems.push(ConfigProblem::new(
                    "PHI_MASTER_KEY",
                    "expected 32 bytes in base64",
                )),
            }
        }

        #[cfg(feature = "auth")]
        if let Some(key) = lookup("AUREN_ADMIN_KEY") {
            match auren_auth::KeyFormat::default().parse(key.trim()) {
                Ok(key) => config.admin_key = Some(key),
                Err(_) => problems.push(ConfigProblem::new(
                    "AUREN_ADMIN_KEY",
                    "expected a valid auren_ key",
                )),
            }
        }

        #[cfg(feature = "audit")]
        if let Some(paths) = lookup("AUREN_AUDIT_PATHS") {
            config.audit_paths = paths
                .split(',')
                .map(str::trim)
                .filter(|path| !path.is_empty())
                .map(str::to_owned)
                .collect();
        }

        #[cfg(feature = "ratelimit")]
        read_rate_limit(&lookup, &mut config.rate_limit, &mut problems);

        #[cfg(feature = "admin")]
        if let Some(text) = lookup("AUREN_METRICS") {
            match crate::MetricsExport::parse(text.trim()) {
                Some(export) => config.metrics = export,
                None => problems.push(ConfigProblem::new(
                    "AUREN_METRICS",
                    "expected `prometheus` or `off`",
                )),
            }
        }

        // Checks that span variables, and the formats, are the same as for a config built
        // in code; the problems found while reading come first.
        if let Err(more) = config.validate() {
            problems.extend(more);
        }
        problems.or_ok(config)
    }

    /// Checks the whole configuration and reports every problem together.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming every field at fault (by its variable's name).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = ConfigError::default();

        if let Some(url) = &self.database_url {
            if url.parse::<tokio_postgres::Config>().is_err() {
                problems.push(ConfigProblem::new(
                    "DATABASE_URL",
                    "expected a postgres:// connection URL",
                ));
            }
        }

        if let Some(url) = &self.redis_url {
            if !is_redis_url(url) {
                problems.push(ConfigProblem::new(
                    "REDIS_URL",
                    "expected a redis:// connection URL",
                ));
            }
        }

        #[cfg(feature = "phi")]
        if self.database_url.is_some() && self.phi_master_key.is_none() {
            problems.push(ConfigProblem::new(
                "PHI_MASTER_KEY",
                "required when DATABASE_URL is set (32 bytes in base64)",
            ));
        }

        #[cfg(feature = "audit")]
        if self.audit_paths.iter().any(|path| !path.starts_with('/')) {
            problems.push(ConfigProblem::new(
                "AUREN_AUDIT_PATHS",
                "expected path prefixes starting with `/`, separated by commas",
            ));
        }

        #[cfg(feature = "ratelimit")]
        if self.rate_limit.timeout.is_zero() {
            problems.push(ConfigProblem::new(
                "AUREN_RATE_LIMIT_TIMEOUT_MS",
                "expected a whole number of milliseconds above zero",
            ));
        }

        problems.or_ok(())
    }

    /// The audited path prefixes: the configured ones, or [`DEFAULT_AUDIT_PATHS`].
    #[cfg(feature = "audit")]
    pub fn audited_paths(&self) -> Vec<String> {
        if self.audit_paths.is_empty() {
            DEFAULT_AUDIT_PATHS
                .iter()
                .map(|&path| path.to_owned())
                .collect()
        } else {
            self.audit_paths.clone()
        }
    }
}

#[cfg(feature = "ratelimit")]
fn read_rate_limit(
    lookup: &dyn Fn(&str) -> Option<String>,
    settings: &mut RateLimitSettings,
    problems: &mut ConfigError,
) {
    if let Some(text) = lookup("AUREN_RATE_LIMIT_ON_FAILURE") {
        match OnRedisFailure::parse(text.trim()) {
            Some(on_failure) => settings.on_failure = on_failure,
            None => problems.push(ConfigProblem::new(
                "AUREN_RATE_LIMIT_ON_FAILURE",
                "expected `open`, `closed` or `local`",
            )),
        }
    }

    if let Some(text) = lookup("AUREN_RATE_LIMIT_TIMEOUT_MS") {
        match text.trim().parse::<u64>() {
            Ok(millis) if millis > 0 => settings.timeout = Duration::from_millis(millis),
            _ => problems.push(ConfigProblem::new(
                "AUREN_RATE_LIMIT_TIMEOUT_MS",
                "expected a whole number of milliseconds above zero",
            )),
        }
    }
}

fn is_redis_url(url: &str) -> bool {
    let known_scheme = [
        "redis://",
        "rediss://",
        "redis-cluster://",
        "redis-sentinel://",
    ]
    .iter()
    .any(|scheme| url.starts_with(scheme));
    known_scheme && fred::types::config::Config::from_url(url).is_ok()
}

impl fmt::Debug for AurenConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |set: bool| if set { "<set>" } else { "<unset>" };
        let mut debug = f.debug_struct("AurenConfig");
        debug
            .field("database_url", &shown(self.database_url.is_some()))
            .field("redis_url", &shown(self.redis_url.is_some()));
        #[cfg(feature = "phi")]
        debug.field("phi_master_key", &shown(self.phi_master_key.is_some()));
        #[cfg(feature = "auth")]
        debug.field("admin_key", &shown(self.admin_key.is_some()));
        #[cfg(feature = "audit")]
        debug
            .field("audit_paths", &self.audit_paths)
            .field("audit_writer", &self.audit_writer);
        #[cfg(feature = "ratelimit")]
        debug.field("rate_limit", &self.rate_limit);
        #[cfg(feature = "admin")]
        debug.field("metrics", &self.metrics);
        debug.finish()
    }
}

#[cfg(all(test, feature = "phi", feature = "audit", feature = "ratelimit"))]
mod tests {
    use super::*;

    const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn read(pairs: &[(&'static str, &'static str)]) -> Result<AurenConfig, ConfigError> {
        let pairs = pairs.to_vec();
        AurenConfig::from_lookup(move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    fn variables(error: &ConfigError) -> Vec<&str> {
        error
            .problems()
            .iter()
            .map(ConfigProblem::variable)
            .collect()
    }

    #[test]
    fn defaults_need_no_services() {
        let config = read(&[]).expect("defaults are valid");

        assert_eq!(config.database_url, None);
        assert_eq!(config.redis_url, None);
        assert_eq!(config.audited_paths(), ["/"]);
        assert_eq!(config.rate_limit, RateLimitSettings::default());
    }

    #[test]
    fn every_bad_variable_is_reported_at_once_without_its_value() {
        let error = read(&[
            ("DATABASE_URL", "postgres://u:hunter2@h:notaport/db"),
            ("REDIS_URL", "http://hunter2@host"),
            ("PHI_MASTER_KEY", "hunter2"),
            ("AUREN_ADMIN_KEY", "auren_hunter2"),
            ("AUREN_AUDIT_PATHS", "api"),
            ("AUREN_RATE_LIMIT_ON_FAILURE", "sometimes"),
            ("AUREN_RATE_LIMIT_TIMEOUT_MS", "0"),
            ("AUREN_METRICS", "statsd"),
        ])
        .expect_err("all invalid");

        let mut named = variables(&error);
        named.sort_unstable();
        named.dedup();
        assert_eq!(
            named,
            [
                "AUREN_ADMIN_KEY",
                "AUREN_AUDIT_PATHS",
                "AUREN_METRICS",
                "AUREN_RATE_LIMIT_ON_FAILURE",
                "AUREN_RATE_LIMIT_TIMEOUT_MS",
                "DATABASE_URL",
                "PHI_MASTER_KEY",
                "REDIS_URL",
            ]
        );
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }

    #[test]
    fn postgres_needs_a_master_key() {
        let error = read(&[("DATABASE_URL", "postgres://127.0.0.1/app")]).expect_err("no key");
        assert_eq!(variables(&error), ["PHI_MASTER_KEY"]);

        let config = read(&[
            ("DATABASE_URL", "postgres://127.0.0.1/app"),
            ("PHI_MASTER_KEY", MASTER_KEY),
        ])
        .expect("valid");
        assert!(config.phi_master_key.is_some());
    }

    #[test]
    fn settings_are_read() {
        let config = read(&[
            ("AUREN_AUDIT_PATHS", " /api, /admin ,"),
            ("AUREN_RATE_LIMIT_ON_FAILURE", "open"),
            ("AUREN_RATE_LIMIT_TIMEOUT_MS", "25"),
        ])
        .expect("valid");

        assert_eq!(config.audited_paths(), ["/api", "/admin"]);
        assert_eq!(config.rate_limit.on_failure, OnRedisFailure::Open);
        assert_eq!(config.rate_limit.timeout, Duration::from_millis(25));
    }

    #[test]
    fn a_config_built_in_code_is_validated_too() {
        let config = AurenConfig {
            redis_url: Some("not a url".to_owned()),
            audit_paths: vec!["admin".to_owned()],
            ..AurenConfig::default()
        };

        let error = config.validate().expect_err("invalid");

        assert_eq!(variables(&error), ["REDIS_URL", "AUREN_AUDIT_PATHS"]);
    }

    #[test]
    fn debug_hides_urls_and_keys() {
        let config = read(&[
            ("DATABASE_URL", "postgres://u:hunter2@h/db"),
            ("PHI_MASTER_KEY", MASTER_KEY),
        ])
        .expect("valid");

        let shown = format!("{config:?}");

        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains(MASTER_KEY), "{shown}");
    }
}

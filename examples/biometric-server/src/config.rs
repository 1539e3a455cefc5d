//! The server's configuration, read once from the environment at start-up.

use std::borrow::Cow;
use std::fmt;
use std::net::SocketAddr;

use crate::webhooks::WebhookConfig;

/// Where the server listens when `AUREN_LISTEN` is unset.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8888";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// The example server's configuration.
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `AUREN_LISTEN` | address and port to listen on | `127.0.0.1:8888` |
/// | `DATABASE_URL` | Postgres for readings; in memory when unset | unset |
/// | `REDIS_URL` | Redis; in memory when unset | unset |
/// | `AUREN_LOG_FORMAT` | `text` or `json` | `text` |
/// | `AUREN_RATE_LIMIT_ON_FAILURE` | `open`, `closed` or `local` (`RateLimitConfig`) | `local` |
/// | `AUREN_ADMIN_KEY` | an `auren_…` key registered as an admin key at start-up | unset |
/// | `AUREN_WEBHOOK_SECRET_<NAME>`, `AUREN_WEBHOOK_SCHEME_<NAME>` | see [`WebhookConfig`] | none |
/// | `PHI_MASTER_KEY` | 32 bytes, base64; seals PHI; required with `DATABASE_URL` | ephemeral |
///
/// Empty values count as unset. `Debug` never shows the URLs, which may hold passwords,
/// nor the master key.
///
/// # Example
///
/// ```
/// use biometric_server::ServerConfig;
///
/// let config = ServerConfig::from_lookup(|name| match name {
///     "AUREN_LISTEN" => Some("127.0.0.1:0".to_owned()),
///     _ => None,
/// })
/// .unwrap();
/// assert!(config.database_url.is_none());
///
/// let error = ServerConfig::from_lookup(|name| {
///     (name == "AUREN_LISTEN").then(|| "nowhere".to_owned())
/// })
/// .unwrap_err();
/// assert_eq!(error.variable(), "AUREN_LISTEN");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// Postgres connection URL; `None` keeps everything in memory.
    pub database_url: Option<String>,
    /// Redis connection URL; `None` keeps everything in memory.
    pub redis_url: Option<String>,
    /// How log lines are written.
    pub log_format: LogFormat,
    /// An admin key to register at start-up (`AUREN_ADMIN_KEY`); a secret.
    pub admin_key: Option<auren_auth::ApiKey>,
    /// The PHI master key; `None` in memory mode makes the server use an ephemeral one.
    pub phi_master_key: Option<auren_phi_crypto::MasterKey>,
    /// The webhook providers (`AUREN_WEBHOOK_SECRET_<NAME>`); secrets.
    pub webhooks: WebhookConfig,
    /// Rate limiting (`AUREN_RATE_LIMIT_ON_FAILURE`).
    pub rate_limit: crate::RateLimitConfig,
}

impl ServerConfig {
    /// Reads the configuration from the process environment.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first invalid variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut config = Self::from_lookup(|name| std::env::var(name).ok())?;

        // A lookup cannot list names, so webhook providers are found in the whole
        // environment (variables whose name or value is not Unicode are skipped).
        let vars = std::env::vars_os().filter_map(|(name, value)| {
            Some((name.into_string().ok()?, value.into_string().ok()?))
        });
        config.webhooks = WebhookConfig::from_vars(vars)?;
        Ok(config)
    }

    /// Reads the configuration through `lookup`, which maps a variable name to its value.
    ///
    /// Webhook providers are not read here (a lookup cannot list the names): see
    /// [`ServerConfig::from_env`] and [`WebhookConfig::from_vars`].
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first invalid variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let lookup = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());

        let listen = lookup("AUREN_LISTEN")
            .unwrap_or_else(|| DEFAULT_LISTEN.to_owned())
            .parse()
            .map_err(|_| {
                ConfigError::new("AUREN_LISTEN", "expected an address like 127.0.0.1:8888")
            })?;

        let database_url = lookup("DATABASE_URL");
        if let Some(url) = &database_url {
            url.parse::<tokio_postgres::Config>().map_err(|_| {
                ConfigError::new("DATABASE_URL", "expected a postgres:// connection URL")
            })?;
        }

        let redis_url = lookup("REDIS_URL");
        if let Some(url) = &redis_url {
            let known_scheme = [
                "redis://",
                "rediss://",
                "redis-cluster://",
                "redis-sentinel://",
            ]
            .iter()
            .any(|scheme| url.starts_with(scheme));
            if !known_scheme || fred::types::config::Config::from_url(url).is_err() {
                return Err(ConfigError::new(
                    "REDIS_URL",
                    "expected a redis:// connection URL",
                ));
            }
        }

        let log_format = match lookup("AUREN_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(_) => {
                return Err(ConfigError::new(
                    "AUREN_LOG_FORMAT",
                    "expected `text` or `json`",
                ))
            }
        };

        let phi_master_key = lookup("PHI_MASTER_KEY")
            .map(|key| auren_phi_crypto::MasterKey::from_base64(&key))
            .transpose()
            .map_err(|_| ConfigError::new("PHI_MASTER_KEY", "expected 32 bytes in base64"))?;
        if database_url.is_some() && phi_master_key.is_none() {
            return Err(ConfigError::new(
                "PHI_MASTER_KEY",
                "required when DATABASE_URL is set (32 bytes in base64)",
            ));
        }

        let rate_limit = crate::RateLimitConfig::from_lookup(&lookup)?;

        let admin_key = lookup("AUREN_ADMIN_KEY")
            .map(|key| auren_auth::KeyFormat::default().parse(key.trim()))
            .transpose()
            .map_err(|_| ConfigError::new("AUREN_ADMIN_KEY", "expected a valid auren_ key"))?;

        Ok(Self {
            listen,
            database_url,
            redis_url,
            log_format,
            phi_master_key,
            admin_key,
            webhooks: WebhookConfig::default(),
            rate_limit,
        })
    }

    /// A configuration for tests: an ephemeral port on loopback, everything in memory.
    pub fn for_tests() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: None,
            redis_url: None,
            log_format: LogFormat::Text,
            admin_key: None,
            // A key of the test's own, so a test may add a `database_url`; `None` only if
            // the system random generator fails, and then the server makes its own.
            phi_master_key: auren_phi_crypto::MasterKey::generate().ok(),
            webhooks: WebhookConfig::default(),
            rate_limit: crate::RateLimitConfig::default(),
        }
    }
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |url: &Option<String>| if url.is_some() { "<set>" } else { "<unset>" };
        let shown_key = |key: &Option<_>| if key.is_some() { "<set>" } else { "<unset>" };
        f.debug_struct("ServerConfig")
            .field("listen", &self.listen)
            .field("database_url", &shown(&self.database_url))
            .field("redis_url", &shown(&self.redis_url))
            .field("log_format", &self.log_format)
            .field("admin_key", &self.admin_key.as_ref().map(|_| "<set>"))
            .field("phi_master_key", &shown_key(&self.phi_master_key))
            .field("webhooks", &self.webhooks)
            .field("rate_limit", &self.rate_limit)
            .finish()
    }
}

/// An environment variable with an unusable value.
///
/// The message names the variable and what was expected, never the value itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {variable}: {expected}")]
pub struct ConfigError {
    variable: Cow<'static, str>,
    expected: &'static str,
}

impl ConfigError {
    pub(crate) fn new(variable: impl Into<Cow<'static, str>>, expected: &'static str) -> Self {
        Self {
            variable: variable.into(),
            expected,
        }
    }

    /// The variable at fault.
    pub fn variable(&self) -> &str {
        &self.variable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<ServerConfig, ConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        ServerConfig::from_lookup(move |name| {
            pairs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_need_no_services() {
        let config = config(&[]).expect("defaults are valid");
        assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(config.database_url, None);
        assert_eq!(config.redis_url, None);
        assert_eq!(config.log_format, LogFormat::Text);
    }

    #[test]
    fn each_bad_variable_is_named_without_its_value() {
        for (name, value) in [
            ("AUREN_LISTEN", "localhost"),
            ("DATABASE_URL", "postgres://u:hunter2@h:notaport/db"),
            ("REDIS_URL", "http://hunter2@host"),
            ("AUREN_LOG_FORMAT", "yaml"),
        ] {
            let error = config(&[(name, value)]).expect_err(name);
            assert_eq!(error.variable(), name);
            assert!(!error.to_string().contains("hunter2"));
        }
    }

    #[test]
    fn debug_hides_urls() {
        let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let config = config(&[
            ("DATABASE_URL", "postgres://u:hunter2@h/db"),
            ("PHI_MASTER_KEY", key),
        ])
        .expect("valid");
        assert!(!format!("{config:?}").contains("hunter2"));
        assert!(!format!("{config:?}").contains(key));
    }
}

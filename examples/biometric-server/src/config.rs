//! The server's configuration, read once from the environment at start-up.

use std::fmt;
use std::net::SocketAddr;

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
///
/// Empty values count as unset. `Debug` never shows the URLs, which may hold passwords.
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
}

impl ServerConfig {
    /// Reads the configuration from the process environment.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first invalid variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, which maps a variable name to its value.
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

        Ok(Self {
            listen,
            database_url,
            redis_url,
            log_format,
        })
    }

    /// A configuration for tests: an ephemeral port on loopback, everything in memory.
    pub fn for_tests() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: None,
            redis_url: None,
            log_format: LogFormat::Text,
        }
    }
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |url: &Option<String>| if url.is_some() { "<set>" } else { "<unset>" };
        f.debug_struct("ServerConfig")
            .field("listen", &self.listen)
            .field("database_url", &shown(&self.database_url))
            .field("redis_url", &shown(&self.redis_url))
            .field("log_format", &self.log_format)
            .finish()
    }
}

/// An environment variable with an unusable value.
///
/// The message names the variable and what was expected, never the value itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {variable}: {expected}")]
pub struct ConfigError {
    variable: &'static str,
    expected: &'static str,
}

impl ConfigError {
    fn new(variable: &'static str, expected: &'static str) -> Self {
        Self { variable, expected }
    }

    /// The variable at fault.
    pub fn variable(&self) -> &'static str {
        self.variable
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
        let config = config(&[("DATABASE_URL", "postgres://u:hunter2@h/db")]).expect("valid");
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}

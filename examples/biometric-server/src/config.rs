//! The server's configuration, read once from the environment at start-up.

use std::net::SocketAddr;

use auren::AurenConfig;
pub use auren::{ConfigError, ConfigProblem};

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

/// The path prefixes audited when `AUREN_AUDIT_PATHS` is unset; `/health` is not.
pub const AUDITED_PATHS: [&str; 3] = ["/api", "/admin", "/webhooks"];

/// The example server's configuration: its own settings beside the stack's.
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `AUREN_LISTEN` | address and port to listen on | `127.0.0.1:8888` |
/// | `AUREN_LOG_FORMAT` | `text` or `json` | `text` |
/// | `AUREN_WEBHOOK_SECRET_<NAME>`, `AUREN_WEBHOOK_SCHEME_<NAME>` | see [`WebhookConfig`] | none |
/// | `DATABASE_URL`, `REDIS_URL`, `PHI_MASTER_KEY`, `AUREN_ADMIN_KEY`, ... | see [`AurenConfig`] | in memory |
///
/// `AUREN_AUDIT_PATHS` defaults to [`AUDITED_PATHS`] here. Empty values count as unset.
/// Every invalid variable is reported at once. `Debug` never shows the URLs, which may
/// hold passwords, nor any key.
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
/// assert!(config.auren.database_url.is_none());
///
/// let error = ServerConfig::from_lookup(|name| match name {
///     "AUREN_LISTEN" => Some("nowhere".to_owned()),
///     "AUREN_LOG_FORMAT" => Some("yaml".to_owned()),
///     _ => None,
/// })
/// .unwrap_err();
/// let variables: Vec<&str> = error.problems().iter().map(|p| p.variable()).collect();
/// assert_eq!(variables, ["AUREN_LISTEN", "AUREN_LOG_FORMAT"]);
/// ```
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// How log lines are written.
    pub log_format: LogFormat,
    /// The webhook providers (`AUREN_WEBHOOK_SECRET_<NAME>`); secrets.
    pub webhooks: WebhookConfig,
    /// The auren stack: services, keys, audit, rate limits.
    pub auren: AurenConfig,
}

impl ServerConfig {
    /// Reads the configuration from the process environment.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming every invalid variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        let config = Self::from_lookup(|name| std::env::var(name).ok());

        // A lookup cannot list names, so webhook providers are found in the whole
        // environment (variables whose name or value is not Unicode are skipped).
        let vars = std::env::vars_os().filter_map(|(name, value)| {
            Some((name.into_string().ok()?, value.into_string().ok()?))
        });
        let webhooks = WebhookConfig::from_vars(vars);

        match (config, webhooks) {
            (Ok(mut config), Ok(webhooks)) => {
                config.webhooks = webhooks;
                Ok(config)
            }
            (Ok(_), Err(problems)) | (Err(problems), Ok(_)) => Err(problems),
            (Err(mut problems), Err(more)) => {
                problems.extend(more);
                Err(problems)
            }
        }
    }

    /// Reads the configuration through `lookup`, which maps a variable name to its value.
    ///
    /// Webhook providers are not read here (a lookup cannot list the names): see
    /// [`ServerConfig::from_env`] and [`WebhookConfig::from_vars`].
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming every invalid variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let lookup = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let mut problems = ConfigError::default();

        let listen = lookup("AUREN_LISTEN")
            .unwrap_or_else(|| DEFAULT_LISTEN.to_owned())
            .parse()
            .unwrap_or_else(|_| {
                problems.push(ConfigProblem::new(
                    "AUREN_LISTEN",
                    "expected an address like 127.0.0.1:8888",
                ));
                SocketAddr::from(([127, 0, 0, 1], 8888))
            });

        let log_format = match lookup("AUREN_LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(_) => {
                problems.push(ConfigProblem::new(
                    "AUREN_LOG_FORMAT",
                    "expected `text` or `json`",
                ));
                LogFormat::Text
            }
        };

        let auren = match AurenConfig::from_lookup(lookup) {
            Ok(auren) => Some(auren),
            Err(more) => {
                problems.extend(more);
                None
            }
        };

        match auren {
            Some(auren) if problems.is_empty() => Ok(Self {
                listen,
                log_format,
                webhooks: WebhookConfig::default(),
                auren: with_default_audit_paths(auren),
            }),
            _ => Err(problems),
        }
    }

    /// A configuration for tests: an ephemeral port on loopback, everything in memory.
    pub fn for_tests() -> Self {
        let mut auren = AurenConfig::default();
        // A key of the test's own, so a test may add a `database_url`; `None` only if the
        // system random generator fails, and then the stack makes its own.
        auren.phi_master_key = auren::phi_crypto::MasterKey::generate().ok();

        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            log_format: LogFormat::Text,
            webhooks: WebhookConfig::default(),
            auren: with_default_audit_paths(auren),
        }
    }
}

fn with_default_audit_paths(mut auren: AurenConfig) -> AurenConfig {
    if auren.audit_paths.is_empty() {
        auren.audit_paths = AUDITED_PATHS.map(str::to_owned).to_vec();
    }
    auren
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

    fn variables(error: &ConfigError) -> Vec<&str> {
        error
            .problems()
            .iter()
            .map(ConfigProblem::variable)
            .collect()
    }

    #[test]
    fn defaults_need_no_services() {
        let config = config(&[]).expect("defaults are valid");

        assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(config.auren.database_url, None);
        assert_eq!(config.auren.redis_url, None);
        assert_eq!(config.log_format, LogFormat::Text);
        assert_eq!(config.auren.audited_paths(), AUDITED_PATHS);
    }

    #[test]
    fn every_bad_variable_is_named_at_once_without_its_value() {
        let error = config(&[
            ("AUREN_LISTEN", "localhost"),
            ("DATABASE_URL", "postgres://u:hunter2@h:notaport/db"),
            ("REDIS_URL", "http://hunter2@host"),
            ("AUREN_LOG_FORMAT", "yaml"),
        ])
        .expect_err("all invalid");

        let mut named = variables(&error);
        named.sort_unstable();
        assert_eq!(
            named,
            [
                "AUREN_LISTEN",
                "AUREN_LOG_FORMAT",
                "DATABASE_URL",
                "PHI_MASTER_KEY",
                "REDIS_URL"
            ]
        );
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }

    #[test]
    fn audit_paths_can_be_chosen() {
        let config = config(&[("AUREN_AUDIT_PATHS", "/api")]).expect("valid");

        assert_eq!(config.auren.audited_paths(), ["/api"]);
    }

    #[test]
    fn debug_hides_urls_and_keys() {
        let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let config = config(&[
            ("DATABASE_URL", "postgres://u:hunter2@h/db"),
            ("PHI_MASTER_KEY", key),
        ])
        .expect("valid");

        let shown = format!("{config:?}");

        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains(key), "{shown}");
    }
}

//! Device providers' webhooks: `POST /webhooks/{provider}`, verified by auren-webhook.
//!
//! Each provider is configured by environment variables named after it:
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `AUREN_WEBHOOK_SECRET_<NAME>` | one or more secrets, separated by spaces | required |
//! | `AUREN_WEBHOOK_SCHEME_<NAME>` | `auren`, `standard`, `stripe` or `github` | `auren` |
//!
//! `<NAME>` lowercased is the provider's name in the path: `AUREN_WEBHOOK_SECRET_OURA`
//! serves `POST /webhooks/oura`. The signature is the authentication, so these routes are
//! not behind the API-key layer. An accepted body is a provider's batch of heart-rate
//! readings, checked like `POST /api/biometrics/heart-rate` and stored through the same
//! [`ReadingStore`](crate::ReadingStore); the answer is `202`.

use std::collections::BTreeMap;
use std::sync::Arc;

use auren::core::ApiError;
use auren::webhook::replay::{InMemoryReplayStore, RedisReplayStore, ReplayStore};
use auren::webhook::{
    VerifiedWebhook, WebhookConfigError, WebhookLayer, WebhookProvider, WebhookScheme,
    WebhookSecret,
};
use auren::Auren;
use axum::extract::State;
use axum::routing::{any, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::config::ConfigError;
use crate::readings::NewHeartRate;
use crate::state::AppState;

/// The variables that hold a provider's secrets start with this.
pub const WEBHOOK_SECRET_PREFIX: &str = "AUREN_WEBHOOK_SECRET_";

/// The variables that name a provider's scheme start with this.
pub const WEBHOOK_SCHEME_PREFIX: &str = "AUREN_WEBHOOK_SCHEME_";

/// The most readings one delivery may carry.
pub const MAX_READINGS_PER_DELIVERY: usize = 1000;

/// The longest `user_id` accepted, in characters.
const MAX_USER_ID_CHARS: usize = 128;

/// One webhook provider as configured. `Debug` never shows the secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookProviderConfig {
    /// The name in the path, `/webhooks/{name}`.
    pub name: String,
    /// How the provider signs.
    pub scheme: WebhookScheme,
    /// The active secrets; a delivery signed with any one of them passes.
    pub secrets: Vec<WebhookSecret>,
}

impl WebhookProviderConfig {
    /// The provider, checked.
    ///
    /// # Errors
    ///
    /// [`WebhookConfigError`] for a bad name or secret.
    pub fn build(&self) -> Result<WebhookProvider, WebhookConfigError> {
        WebhookProvider::new(&self.name, self.scheme, self.secrets.clone())
    }
}

/// The webhook part of the server's configuration.
///
/// # Example
///
/// ```
/// use biometric_server::WebhookConfig;
///
/// let vars = [
///     ("AUREN_WEBHOOK_SECRET_OURA", "old-secret new-secret"),
///     ("AUREN_WEBHOOK_SCHEME_GH", "github"),
///     ("AUREN_WEBHOOK_SECRET_GH", "It's-a-secret"),
/// ];
/// let config = WebhookConfig::from_vars(vars.map(|(n, v)| (n.to_owned(), v.to_owned())))
///     .unwrap();
/// assert_eq!(config.providers.len(), 2);
/// assert!(!format!("{config:?}").contains("old-secret"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WebhookConfig {
    /// The configured providers, by name.
    pub providers: Vec<WebhookProviderConfig>,
    /// A prefix before every replay key in Redis (tests isolate with it); empty by default.
    pub replay_key_prefix: String,
}

impl WebhookConfig {
    /// Finds the providers among `vars` (name, value pairs, as `std::env::vars`).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the variable at fault: an empty secret, an unknown
    /// scheme, a scheme without secrets, a bad name, or a `standard` secret that is not
    /// `whsec_` and base64.
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let vars: BTreeMap<String, String> = vars.into_iter().collect();
        let mut providers = Vec::new();

        for (variable, value) in &vars {
            if let Some(suffix) = variable.strip_prefix(WEBHOOK_SCHEME_PREFIX) {
                if !vars.contains_key(&format!("{WEBHOOK_SECRET_PREFIX}{suffix}")) {
                    return Err(ConfigError::single(
                        variable.clone(),
                        "a scheme needs AUREN_WEBHOOK_SECRET_<NAME> too",
                    ));
                }
            }
            let Some(suffix) = variable.strip_prefix(WEBHOOK_SECRET_PREFIX) else {
                continue;
            };
            providers.push(provider(&vars, variable, suffix, value)?);
        }

        Ok(Self {
            providers,
            replay_key_prefix: String::new(),
        })
    }

    /// Adds a provider, for tests and embedding.
    ///
    /// # Errors
    ///
    /// [`WebhookConfigError`] for a bad name or secret.
    pub fn with_provider(
        mut self,
        name: &str,
        scheme: WebhookScheme,
        secrets: &str,
    ) -> Result<Self, WebhookConfigError> {
        let provider = WebhookProviderConfig {
            name: name.to_owned(),
            scheme,
            secrets: WebhookSecret::list(secrets),
        };
        provider.build()?;
        self.providers.push(provider);
        Ok(self)
    }
}

fn provider(
    vars: &BTreeMap<String, String>,
    variable: &str,
    suffix: &str,
    value: &str,
) -> Result<WebhookProviderConfig, ConfigError> {
    let scheme_variable = format!("{WEBHOOK_SCHEME_PREFIX}{suffix}");
    let scheme = match vars.get(&scheme_variable).map(|s| s.trim()) {
        None | Some("") => WebhookScheme::Auren,
        Some(name) => name.parse().map_err(|_| {
            ConfigError::single(
                scheme_variable,
                "expected auren, standard, stripe or github",
            )
        })?,
    };

    let provider = WebhookProviderConfig {
        name: suffix.to_ascii_lowercase(),
        scheme,
        secrets: WebhookSecret::list(value),
    };
    provider.build().map_err(|error| {
        let expected = match error {
            WebhookConfigError::ProviderName { .. } => "a name of A-Z, 0-9, `-` and `_`",
            WebhookConfigError::SecretEncoding { .. } => {
                "secrets `whsec_` followed by base64 for the standard scheme"
            }
            _ => "one or more non-empty secrets separated by spaces",
        };
        ConfigError::single(variable.to_owned(), expected)
    })?;
    Ok(provider)
}

/// The replay store: Redis when configured (shared by every instance), else memory.
pub(crate) fn replay_store(auren: &Auren, config: &WebhookConfig) -> Arc<dyn ReplayStore> {
    match auren.redis() {
        Some(client) => Arc::new(
            RedisReplayStore::new(client.clone()).with_prefix(config.replay_key_prefix.clone()),
        ),
        None => Arc::new(InMemoryReplayStore::new()),
    }
}

/// `POST /webhooks/{name}` for each provider, and `404 unknown_provider` for the rest.
///
/// # Errors
///
/// [`WebhookConfigError`] for a provider that does not build (checked at start-up).
pub(crate) fn routes(
    config: &WebhookConfig,
    replay: &Arc<dyn ReplayStore>,
) -> Result<Router<AppState>, WebhookConfigError> {
    let mut router = Router::new().route("/webhooks/{provider}", any(unknown_provider));
    for provider in &config.providers {
        let layer = WebhookLayer::new(provider.build()?, replay.clone());
        let path = format!("/webhooks/{}", provider.name);
        router = router.route(&path, post(receive).layer(layer));
    }
    Ok(router)
}

async fn unknown_provider() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown_provider",
        "No webhook provider is configured under this name.",
    )
}

/// A provider's delivery: readings of one user.
#[derive(Debug, Deserialize)]
struct Delivery {
    user_id: String,
    readings: Vec<DeliveredReading>,
}

/// One reading in a delivery. Providers add fields over time; unknown ones are ignored.
#[derive(Debug, Deserialize)]
struct DeliveredReading {
    bpm: i64,
    recorded_at: DateTime<Utc>,
}

/// The answer to an accepted delivery.
#[derive(Debug, Serialize, Deserialize)]
pub struct WebhookAccepted {
    /// The provider's name.
    pub provider: String,
    /// How many readings were stored.
    pub accepted: usize,
}

/// Stores a verified delivery's readings; every reading is checked before any is stored.
async fn receive(
    State(state): State<AppState>,
    webhook: VerifiedWebhook,
) -> Result<(StatusCode, Json<WebhookAccepted>), ApiError> {
    let delivery = parse(webhook.body())?;

    let user_id = delivery.user_id.trim();
    if user_id.is_empty() || user_id.chars().count() > MAX_USER_ID_CHARS {
        return Err(invalid_field("user_id must be 1 to 128 characters."));
    }
    if delivery.readings.is_empty() || delivery.readings.len() > MAX_READINGS_PER_DELIVERY {
        return Err(invalid_field("readings must hold 1 to 1000 readings."));
    }

    let readings = delivery
        .readings
        .into_iter()
        .map(|reading| {
            let body = NewHeartRate {
                bpm: reading.bpm,
                recorded_at: reading.recorded_at,
                note: None,
            };
            body.into_reading(user_id)
        })
        .collect::<Result<Vec<_>, ApiError>>()?;

    for reading in &readings {
        state.readings.insert(reading).await.map_err(|error| {
            tracing::warn!(error = %error, "storing a webhook reading failed");
            ApiError::unavailable(
                "storage_unavailable",
                "Readings cannot be stored right now.",
            )
        })?;
    }

    tracing::debug!(
        provider = webhook.provider(),
        count = readings.len(),
        "webhook stored"
    );
    let accepted = WebhookAccepted {
        provider: webhook.provider().to_owned(),
        accepted: readings.len(),
    };
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

/// Parses the body without echoing any of it: serde's messages may quote PHI.
fn parse(body: &[u8]) -> Result<Delivery, ApiError> {
    serde_json::from_slice(body).map_err(|error| match error.classify() {
        serde_json::error::Category::Data => invalid_field(
            "The body must be {\"user_id\": ..., \"readings\": [{\"bpm\", \"recorded_at\"}]}.",
        ),
        _ => ApiError::bad_request("invalid_json", "The body is not valid JSON."),
    })
}

fn invalid_field(message: &'static str) -> ApiError {
    ApiError::unprocessable("invalid_field", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Result<WebhookConfig, ConfigError> {
        WebhookConfig::from_vars(
            pairs
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
        )
    }

    #[test]
    fn providers_are_found_by_their_secret_variable() {
        let config = vars(&[
            ("AUREN_WEBHOOK_SECRET_OURA", "one  two"),
            ("AUREN_WEBHOOK_SECRET_STRIPE", "whsec_abc"),
            ("AUREN_WEBHOOK_SCHEME_STRIPE", "stripe"),
            ("UNRELATED", "x"),
        ])
        .expect("valid");
        let found: Vec<_> = config
            .providers
            .iter()
            .map(|p| (p.name.as_str(), p.scheme, p.secrets.len()))
            .collect();
        assert_eq!(
            found,
            vec![
                ("oura", WebhookScheme::Auren, 2),
                ("stripe", WebhookScheme::Stripe, 1)
            ]
        );
    }

    #[test]
    fn each_bad_variable_is_named_without_its_value() {
        let cases: [(&[(&str, &str)], &str); 5] = [
            (
                &[("AUREN_WEBHOOK_SECRET_OURA", "  ")],
                "AUREN_WEBHOOK_SECRET_OURA",
            ),
            (
                &[
                    ("AUREN_WEBHOOK_SECRET_OURA", "hunter2"),
                    ("AUREN_WEBHOOK_SCHEME_OURA", "svix"),
                ],
                "AUREN_WEBHOOK_SCHEME_OURA",
            ),
            (
                &[("AUREN_WEBHOOK_SCHEME_OURA", "github")],
                "AUREN_WEBHOOK_SCHEME_OURA",
            ),
            (
                &[
                    ("AUREN_WEBHOOK_SECRET_STD", "whsec_hunter2!"),
                    ("AUREN_WEBHOOK_SCHEME_STD", "standard"),
                ],
                "AUREN_WEBHOOK_SECRET_STD",
            ),
            (
                &[("AUREN_WEBHOOK_SECRET_O.R", "hunter2")],
                "AUREN_WEBHOOK_SECRET_O.R",
            ),
        ];
        for (pairs, variable) in cases {
            let error = vars(pairs).expect_err(variable);
            assert_eq!(error.problems()[0].variable(), variable);
            assert!(!error.to_string().contains("hunter2"));
        }
    }
}

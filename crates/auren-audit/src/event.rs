//! One audit event: who did what to which resource, and how it ended.

use std::fmt;
use std::str::FromStr;

use auren_core::{CallerIdentity, KeyId, RequestId};
use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use ulid::Ulid;

/// Longest user agent kept, in characters; the rest is cut.
pub const MAX_USER_AGENT_CHARS: usize = 256;

/// Longest resource (path) kept, in characters.
pub const MAX_RESOURCE_CHARS: usize = 512;

/// Longest host-chosen action name.
pub const MAX_ACTION_CHARS: usize = 64;

/// What was done: one of the standard verbs, or a name the host chooses.
///
/// ```
/// use auren_audit::Action;
///
/// assert_eq!("read".parse::<Action>().unwrap(), Action::Read);
/// assert_eq!(Action::custom("export_csv").unwrap().as_str(), "export_csv");
/// assert!(Action::custom("Bad Name!").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    /// Data was read.
    Read,
    /// Data was created.
    Create,
    /// Data was changed.
    Update,
    /// Data was deleted.
    Delete,
    /// A caller tried to authenticate (failed authentications are recorded with it).
    Authenticate,
    /// A name the host chose: lowercase ASCII letters, digits, `_`, `.` or `-`.
    Custom(String),
}

/// A text that is not a valid action name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an action is 1 to 64 lowercase ASCII letters, digits, `_`, `.` or `-`")]
pub struct ActionError;

impl Action {
    /// A host-chosen action, checked.
    ///
    /// # Errors
    ///
    /// [`ActionError`] when `name` is empty, too long or has other characters.
    pub fn custom(name: &str) -> Result<Self, ActionError> {
        name.parse()
    }

    /// The action's name, as stored.
    pub fn as_str(&self) -> &str {
        match self {
            Action::Read => "read",
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Authenticate => "authenticate",
            Action::Custom(name) => name,
        }
    }

    /// The usual action for an HTTP method: `GET`/`HEAD` read, `POST` create,
    /// `PUT`/`PATCH` update, `DELETE` delete; anything else keeps the method's name.
    pub fn for_method(method: &http::Method) -> Self {
        match *method {
            http::Method::GET | http::Method::HEAD | http::Method::OPTIONS => Action::Read,
            http::Method::POST => Action::Create,
            http::Method::PUT | http::Method::PATCH => Action::Update,
            http::Method::DELETE => Action::Delete,
            _ => Action::Custom(method.as_str().to_ascii_lowercase()),
        }
    }
}

impl FromStr for Action {
    type Err = ActionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let standard = match s {
            "read" => Some(Action::Read),
            "create" => Some(Action::Create),
            "update" => Some(Action::Update),
            "delete" => Some(Action::Delete),
            "authenticate" => Some(Action::Authenticate),
            _ => None,
        };
        if let Some(action) = standard {
            return Ok(action);
        }

        let valid_char =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-');
        if s.is_empty() || s.len() > MAX_ACTION_CHARS || !s.chars().all(valid_char) {
            return Err(ActionError);
        }
        Ok(Action::Custom(s.to_owned()))
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// How the access ended.
///
/// ```
/// use auren_audit::Outcome;
///
/// assert_eq!(Outcome::for_status(200), Outcome::Success);
/// assert_eq!(Outcome::for_status(401), Outcome::Denied);
/// assert_eq!(Outcome::for_status(503), Outcome::Error);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The access was allowed and served.
    Success,
    /// Authentication, authorisation or a rate limit refused it.
    Denied,
    /// The request was malformed or the service failed.
    Error,
}

/// A text that is not an [`Outcome`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an outcome is `success`, `denied` or `error`")]
pub struct OutcomeError;

impl Outcome {
    /// The outcome's name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Error => "error",
        }
    }

    /// The outcome an HTTP status implies: 401, 403 and 429 are `denied`, other 4xx and
    /// 5xx are `error`, the rest `success`.
    pub fn for_status(status: u16) -> Self {
        match status {
            401 | 403 | 429 => Outcome::Denied,
            400..=599 => Outcome::Error,
            _ => Outcome::Success,
        }
    }
}

impl FromStr for Outcome {
    type Err = OutcomeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "success" => Ok(Outcome::Success),
            "denied" => Ok(Outcome::Denied),
            "error" => Ok(Outcome::Error),
            _ => Err(OutcomeError),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One audited access.
///
/// It holds no body, no query string and no header value other than the (truncated,
/// sanitised) user agent, so no PHI and no secret can enter it through the layer.
/// Timestamps are kept to the millisecond.
///
/// # Example
///
/// ```
/// use auren_audit::{Action, AuditEvent, Outcome};
///
/// let event = AuditEvent::new(Action::Read, "/api/biometrics?user=x", Outcome::Success)
///     .with_method("GET")
///     .with_status(200)
///     .with_user_agent("curl/8.0\n\u{7}");
/// assert_eq!(event.resource(), "/api/biometrics");
/// assert_eq!(event.user_agent(), Some("curl/8.0"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    event_id: Ulid,
    request_id: Option<String>,
    occurred_at: DateTime<Utc>,
    user_id: Option<String>,
    key_id: Option<String>,
    action: Action,
    resource: String,
    method: String,
    outcome: Outcome,
    status_code: u16,
    response_time_ms: u32,
    client_addr: Option<String>,
    user_agent: Option<String>,
}

impl AuditEvent {
    /// An event happening now, with no caller, method `-`, status 0 and no timing.
    ///
    /// `resource` loses any query string and is cut to [`MAX_RESOURCE_CHARS`].
    pub fn new(action: Action, resource: &str, outcome: Outcome) -> Self {
        Self {
            event_id: Ulid::new(),
            request_id: None,
            occurred_at: Utc::now().trunc_subsecs(3),
            user_id: None,
            key_id: None,
            action,
            resource: clean_resource(resource),
            method: "-".to_owned(),
            outcome,
            status_code: 0,
            response_time_ms: 0,
            client_addr: None,
            user_agent: None,
        }
    }

    /// Sets when the access happened (cut to the millisecond).
    pub fn at(mut self, occurred_at: DateTime<Utc>) -> Self {
        self.occurred_at = occurred_at.trunc_subsecs(3);
        self
    }

    /// Sets the request the access belongs to.
    pub fn with_request_id(mut self, request_id: Option<RequestId>) -> Self {
        self.request_id = request_id.map(|id| id.to_string());
        self
    }

    /// Sets the caller from the identity the auth layer attached.
    pub fn with_caller(mut self, caller: Option<&CallerIdentity>) -> Self {
        self.user_id = caller.map(|caller| caller.user_id().to_owned());
        self.key_id = caller.map(|caller| caller.key_id().to_string());
        self
    }

    /// Sets the user id and key id directly.
    pub fn with_user(mut self, user_id: Option<&str>, key_id: Option<KeyId>) -> Self {
        self.user_id = user_id.map(str::to_owned);
        self.key_id = key_id.map(|id| id.to_string());
        self
    }

    /// Sets the HTTP method (or another short verb for non-HTTP access).
    pub fn with_method(mut self, method: &str) -> Self {
        self.method = sanitise(method, 16);
        self
    }

    /// Sets the status code.
    pub fn with_status(mut self, status_code: u16) -> Self {
        self.status_code = status_code;
        self
    }

    /// Sets the response time in milliseconds.
    pub fn with_response_time_ms(mut self, response_time_ms: u32) -> Self {
        self.response_time_ms = response_time_ms;
        self
    }

    /// Sets the client address.
    pub fn with_client_addr(mut self, client_addr: Option<std::net::IpAddr>) -> Self {
        self.client_addr = client_addr.map(|address| address.to_string());
        self
    }

    /// Sets the user agent, cut to [`MAX_USER_AGENT_CHARS`] with control characters removed.
    pub fn with_user_agent(mut self, user_agent: &str) -> Self {
        let cleaned = sanitise(user_agent, MAX_USER_AGENT_CHARS);
        self.user_agent = (!cleaned.is_empty()).then_some(cleaned);
        self
    }

    /// The event's own id, unique per event; a retried write is recognised by it.
    pub fn event_id(&self) -> Ulid {
        self.event_id
    }

    /// The request id, as sent in `x-request-id`.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// When the access happened, to the millisecond.
    pub fn occurred_at(&self) -> DateTime<Utc> {
        self.occurred_at
    }

    /// The caller's user id, if authenticated.
    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }

    /// The caller's key id, if authenticated.
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// What was done.
    pub fn action(&self) -> &Action {
        &self.action
    }

    /// The path, without the query string.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The HTTP method.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// How it ended.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// The status code.
    pub fn status_code(&self) -> u16 {
        self.status_code
    }

    /// How long the response took, in milliseconds.
    pub fn response_time_ms(&self) -> u32 {
        self.response_time_ms
    }

    /// The client's address.
    pub fn client_addr(&self) -> Option<&str> {
        self.client_addr.as_deref()
    }

    /// The user agent.
    pub fn user_agent(&self) -> Option<&str> {
        self.user_agent.as_deref()
    }

    /// Rebuilds an event read back from storage.
    pub(crate) fn from_parts(parts: EventParts) -> Self {
        Self {
            event_id: parts.event_id,
            request_id: parts.request_id,
            occurred_at: parts.occurred_at,
            user_id: parts.user_id,
            key_id: parts.key_id,
            action: parts.action,
            resource: parts.resource,
            method: parts.method,
            outcome: parts.outcome,
            status_code: parts.status_code,
            response_time_ms: parts.response_time_ms,
            client_addr: parts.client_addr,
            user_agent: parts.user_agent,
        }
    }

    /// Moves the timestamp, used to keep timestamps within one chain non-decreasing.
    pub(crate) fn set_occurred_at(&mut self, occurred_at: DateTime<Utc>) {
        self.occurred_at = occurred_at;
    }
}

/// The stored fields of an event, as read back from a sink.
#[derive(Debug)]
pub(crate) struct EventParts {
    pub(crate) event_id: Ulid,
    pub(crate) request_id: Option<String>,
    pub(crate) occurred_at: DateTime<Utc>,
    pub(crate) user_id: Option<String>,
    pub(crate) key_id: Option<String>,
    pub(crate) action: Action,
    pub(crate) resource: String,
    pub(crate) method: String,
    pub(crate) outcome: Outcome,
    pub(crate) status_code: u16,
    pub(crate) response_time_ms: u32,
    pub(crate) client_addr: Option<String>,
    pub(crate) user_agent: Option<String>,
}

/// The path without a query string or fragment, cut to [`MAX_RESOURCE_CHARS`].
fn clean_resource(resource: &str) -> String {
    let path = resource.split(['?', '#']).next().unwrap_or_default();
    sanitise(path, MAX_RESOURCE_CHARS)
}

/// `text` without control characters, cut to `max_chars` characters.
fn sanitise(text: &str, max_chars: usize) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(max_chars)
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agent_is_cut_and_cleaned() {
        let long = "a".repeat(1000);
        let event = AuditEvent::new(Action::Read, "/", Outcome::Success).with_user_agent(&long);
        assert_eq!(event.user_agent().map(str::len), Some(MAX_USER_AGENT_CHARS));

        let event = AuditEvent::new(Action::Read, "/", Outcome::Success)
            .with_user_agent("x\r\nInjected: yes\u{1b}[31m");
        assert_eq!(event.user_agent(), Some("xInjected: yes[31m"));

        let event = AuditEvent::new(Action::Read, "/", Outcome::Success).with_user_agent("\n");
        assert_eq!(event.user_agent(), None);
    }

    #[test]
    fn resource_drops_query_and_fragment() {
        let event = AuditEvent::new(Action::Read, "/a/b?ssn=123#x", Outcome::Success);
        assert_eq!(event.resource(), "/a/b");
    }

    #[test]
    fn actions_round_trip_and_reject_bad_names() {
        for name in [
            "read",
            "create",
            "update",
            "delete",
            "authenticate",
            "export.csv",
        ] {
            assert_eq!(name.parse::<Action>().expect(name).as_str(), name);
        }
        for bad in ["", "UPPER", "with space", &"x".repeat(65)] {
            assert!(bad.parse::<Action>().is_err(), "{bad}");
        }
    }

    #[test]
    fn timestamps_keep_milliseconds_only() {
        let at = DateTime::from_timestamp(1_700_000_000, 123_456_789).expect("valid");
        let event = AuditEvent::new(Action::Read, "/", Outcome::Success).at(at);
        assert_eq!(event.occurred_at().timestamp_subsec_nanos(), 123_000_000);
    }
}

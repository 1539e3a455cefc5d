//! Finding events: filters, newest first, with an opaque keyset cursor.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::{Action, AuditEvent, Outcome, QueryError};

/// Events per page when the query names no limit.
pub const DEFAULT_LIMIT: u32 = 100;

/// The largest page.
pub const MAX_LIMIT: u32 = 1000;

/// A query as it arrives over HTTP or from the command line, not yet checked.
///
/// Unknown fields are refused. Dates are `YYYY-MM-DD` (a whole day: `end_date` includes
/// that day) or RFC 3339 (`end_date` includes that instant).
///
/// ```
/// use auren_audit::AuditQueryRequest;
///
/// let request: AuditQueryRequest =
///     serde_json::from_str(r#"{"user_id": "u1", "start_date": "2026-01-31"}"#).unwrap();
/// let query = request.validate().unwrap();
/// assert_eq!(query.limit(), 100);
///
/// assert!(serde_json::from_str::<AuditQueryRequest>(r#"{"colour": "red"}"#).is_err());
/// let bad = AuditQueryRequest { limit: Some(0), ..Default::default() };
/// assert!(bad.validate().is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQueryRequest {
    /// Only this user's events.
    pub user_id: Option<String>,
    /// Only this key's events.
    pub key_id: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// Only this outcome: `success`, `denied` or `error`.
    pub outcome: Option<String>,
    /// Only this exact resource (path).
    pub resource: Option<String>,
    /// Events at or after this date or instant.
    pub start_date: Option<String>,
    /// Events on or before this date or instant.
    pub end_date: Option<String>,
    /// Events per page, 1 to 1000 (default 100).
    pub limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl AuditQueryRequest {
    /// Checks every field and builds the query.
    ///
    /// # Errors
    ///
    /// [`QueryError::Invalid`] naming the first bad field.
    pub fn validate(self) -> Result<AuditQuery, QueryError> {
        let invalid = |message: &str| QueryError::Invalid(message.to_owned());

        let limit = match self.limit {
            None => DEFAULT_LIMIT,
            Some(limit @ 1..=1000) => limit as u32,
            Some(_) => return Err(invalid("limit must be between 1 and 1000")),
        };
        let action = match self.action.as_deref() {
            None => None,
            Some(text) => Some(text.parse().map_err(|_| invalid("action is not valid"))?),
        };
        let outcome = match self.outcome.as_deref() {
            None => None,
            Some(text) => Some(
                text.parse()
                    .map_err(|_| invalid("outcome must be success, denied or error"))?,
            ),
        };

        let start = match self.start_date.as_deref() {
            None => None,
            Some(text) => Some(parse_bound(text, false).ok_or_else(|| {
                invalid("start_date must be YYYY-MM-DD or an RFC 3339 timestamp")
            })?),
        };
        let end =
            match self.end_date.as_deref() {
                None => None,
                Some(text) => Some(parse_bound(text, true).ok_or_else(|| {
                    invalid("end_date must be YYYY-MM-DD or an RFC 3339 timestamp")
                })?),
            };
        if let (Some(start), Some(end)) = (start, end) {
            if start >= end {
                return Err(invalid("start_date must be before end_date"));
            }
        }

        let cursor = match self.cursor.as_deref() {
            None => None,
            Some(text) => Some(Cursor::decode(text).ok_or_else(|| invalid("cursor is not valid"))?),
        };

        Ok(AuditQuery {
            user_id: self.user_id,
            key_id: self.key_id,
            action,
            outcome,
            resource: self.resource,
            start,
            end,
            limit,
            cursor,
        })
    }
}

/// A checked query: every filter optional, newest events first.
///
/// Build one from an [`AuditQueryRequest`]. The time range is `start <= t < end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    pub(crate) user_id: Option<String>,
    pub(crate) key_id: Option<String>,
    pub(crate) action: Option<Action>,
    pub(crate) outcome: Option<Outcome>,
    pub(crate) resource: Option<String>,
    pub(crate) start: Option<DateTime<Utc>>,
    pub(crate) end: Option<DateTime<Utc>>,
    pub(crate) limit: u32,
    pub(crate) cursor: Option<Cursor>,
}

impl AuditQuery {
    /// Events per page.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// The time range, `start <= t < end`, either end open.
    pub fn time_range(&self) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        (self.start, self.end)
    }

    /// Whether `event` passes every filter and lies past the cursor.
    pub fn matches(&self, event: &AuditEvent) -> bool {
        let equal = |filter: &Option<String>, value: Option<&str>| {
            filter.as_deref().is_none_or(|wanted| Some(wanted) == value)
        };
        equal(&self.user_id, event.user_id())
            && equal(&self.key_id, event.key_id())
            && equal(&self.resource, Some(event.resource()))
            && self.action.as_ref().is_none_or(|a| a == event.action())
            && self.outcome.is_none_or(|o| o == event.outcome())
            && self.start.is_none_or(|start| event.occurred_at() >= start)
            && self.end.is_none_or(|end| event.occurred_at() < end)
            && self
                .cursor
                .as_ref()
                .is_none_or(|cursor| cursor.is_after(event))
    }
}

/// One page of events, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    /// The events.
    pub events: Vec<AuditEvent>,
    /// Pass this as `cursor` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

impl AuditPage {
    /// A page from up to `limit + 1` events sorted newest first: the extra one, if there,
    /// only says that another page exists.
    pub(crate) fn from_overfetch(mut events: Vec<AuditEvent>, limit: u32) -> Self {
        let limit = limit as usize;
        let more = events.len() > limit;
        events.truncate(limit);
        let next_cursor = match events.last() {
            Some(last) if more => Some(Cursor::after(last).encode()),
            _ => None,
        };
        Self {
            events,
            next_cursor,
        }
    }
}

/// The position after an event in newest-first order: its timestamp and event id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub(crate) occurred_at: DateTime<Utc>,
    pub(crate) event_id: Ulid,
}

impl Cursor {
    fn after(event: &AuditEvent) -> Self {
        Self {
            occurred_at: event.occurred_at(),
            event_id: event.event_id(),
        }
    }

    fn encode(&self) -> String {
        let text = format!("{}.{}", self.occurred_at.timestamp_millis(), self.event_id);
        URL_SAFE_NO_PAD.encode(text)
    }

    fn decode(text: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (millis, id) = text.split_once('.')?;
        Some(Self {
            occurred_at: DateTime::from_timestamp_millis(millis.parse().ok()?)?,
            event_id: Ulid::from_string(id).ok()?,
        })
    }

    /// Whether `event` comes after the cursor in newest-first order.
    fn is_after(&self, event: &AuditEvent) -> bool {
        (event.occurred_at(), event.event_id()) < (self.occurred_at, self.event_id)
    }
}

/// A date (the day's start, or the next day's start for an end bound) or an RFC 3339
/// instant (one millisecond later for an end bound, so the instant itself is included).
fn parse_bound(text: &str, is_end: bool) -> Option<DateTime<Utc>> {
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let day = if is_end { date.succ_opt()? } else { date };
        return Some(day.and_hms_opt(0, 0, 0)?.and_utc());
    }
    let instant = DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc);
    if is_end {
        instant.checked_add_signed(Duration::milliseconds(1))
    } else {
        Some(instant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: &str) -> Result<AuditQuery, String> {
        let request: AuditQueryRequest =
            serde_json::from_str(json).map_err(|error| error.to_string())?;
        request.validate().map_err(|error| error.to_string())
    }

    #[test]
    fn bad_inputs_are_refused() {
        for json in [
            r#"{"limit": 0}"#,
            r#"{"limit": 1000000}"#,
            r#"{"start_date": "2026-13-01"}"#,
            r#"{"end_date": "yesterday"}"#,
            r#"{"start_date": "2026-02-01", "end_date": "2026-01-01"}"#,
            r#"{"outcome": "maybe"}"#,
            r#"{"cursor": "!!!"}"#,
            r#"{"unknown": 1}"#,
        ] {
            assert!(request(json).is_err(), "{json}");
        }
    }

    #[test]
    fn dates_cover_whole_days() {
        let query =
            request(r#"{"start_date": "2026-01-31", "end_date": "2026-01-31"}"#).expect("valid");
        assert_eq!(
            query.start.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-01-31T00:00:00+00:00")
        );
        assert_eq!(
            query.end.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-02-01T00:00:00+00:00")
        );
    }

    #[test]
    fn cursors_round_trip() {
        let event = AuditEvent::new(Action::Read, "/", Outcome::Success);
        let cursor = Cursor::after(&event);
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        assert!(!cursor.is_after(&event));
    }
}

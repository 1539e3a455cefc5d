//! Heart-rate readings: what a client sends, what is stored, and the HTTP handlers.

use auren::core::{ApiError, ApiJson, ApiQuery};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::caller::Caller;
use crate::state::AppState;

/// The lowest heart rate accepted, in beats per minute.
pub const MIN_BPM: i64 = 20;
/// The highest heart rate accepted, in beats per minute.
pub const MAX_BPM: i64 = 300;
/// The longest note accepted, in characters.
pub(crate) const MAX_NOTE_CHARS: usize = 1000;
/// How many readings a list returns when `limit` is not given.
pub(crate) const DEFAULT_LIST_LIMIT: u32 = 100;
/// The most readings one list returns.
pub(crate) const MAX_LIST_LIMIT: u32 = 1000;

/// A stored heart-rate reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeartRateReading {
    /// The reading's id.
    pub id: Ulid,
    /// The user it belongs to.
    pub user_id: String,
    /// Beats per minute.
    pub bpm: u16,
    /// A free-text note.
    pub note: Option<String>,
    /// When the device took the reading.
    pub recorded_at: DateTime<Utc>,
    /// When the server stored it.
    pub created_at: DateTime<Utc>,
}

/// The body of `POST /api/biometrics/heart-rate`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewHeartRate {
    /// Beats per minute, 20 to 300.
    pub bpm: i64,
    /// When the device took the reading, RFC 3339.
    pub recorded_at: DateTime<Utc>,
    /// An optional note, at most 1000 characters.
    #[serde(default)]
    pub note: Option<String>,
}

impl NewHeartRate {
    /// Checks the ranges and turns the body into a reading of `user_id`.
    ///
    /// # Errors
    ///
    /// `422 invalid_field` naming the field out of range.
    pub fn into_reading(self, user_id: &str) -> Result<HeartRateReading, ApiError> {
        let bpm = u16::try_from(self.bpm)
            .ok()
            .filter(|bpm| (MIN_BPM..=MAX_BPM).contains(&i64::from(*bpm)))
            .ok_or_else(|| {
                ApiError::unprocessable("invalid_field", "bpm must be between 20 and 300.")
            })?;
        if self
            .note
            .as_ref()
            .is_some_and(|note| note.chars().count() > MAX_NOTE_CHARS)
        {
            return Err(ApiError::unprocessable(
                "invalid_field",
                "note must be at most 1000 characters.",
            ));
        }
        Ok(HeartRateReading {
            id: Ulid::new(),
            user_id: user_id.to_owned(),
            bpm,
            note: self.note,
            recorded_at: self.recorded_at,
            created_at: Utc::now(),
        })
    }
}

/// The query of the list endpoints.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    /// How many readings at most, 1 to 1000.
    pub(crate) limit: Option<u32>,
}

impl ListQuery {
    fn limit(&self) -> Result<usize, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIST_LIMIT);
        if !(1..=MAX_LIST_LIMIT).contains(&limit) {
            return Err(ApiError::unprocessable(
                "invalid_query",
                "limit must be between 1 and 1000.",
            ));
        }
        Ok(limit as usize)
    }
}

/// The answer of the list endpoints.
#[derive(Debug, Serialize, Deserialize)]
pub struct ReadingList {
    /// The caller's readings, newest first.
    pub readings: Vec<HeartRateReading>,
}

/// `POST /api/biometrics/heart-rate`: stores a reading for the caller.
pub(crate) async fn create_heart_rate(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewHeartRate>,
) -> Result<(StatusCode, Json<HeartRateReading>), ApiError> {
    let reading = body.into_reading(caller.user_id())?;
    state.readings.insert(&reading).await.map_err(|error| {
        tracing::warn!(error = %error, "storing a reading failed");
        ApiError::unavailable(
            "storage_unavailable",
            "Readings cannot be stored right now.",
        )
    })?;
    Ok((StatusCode::CREATED, Json(reading)))
}

/// `GET /api/biometrics` and `GET /api/biometrics/heart-rate`: the caller's readings.
pub(crate) async fn list_heart_rate(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<ReadingList>, ApiError> {
    let limit = query.limit()?;
    let readings = state
        .readings
        .list(caller.user_id(), limit)
        .await
        .map_err(|error| {
            tracing::warn!(error = %error, "listing readings failed");
            ApiError::unavailable("storage_unavailable", "Readings cannot be read right now.")
        })?;
    Ok(Json(ReadingList { readings }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(bpm: i64, note: Option<&str>) -> NewHeartRate {
        NewHeartRate {
            bpm,
            recorded_at: Utc::now(),
            note: note.map(str::to_owned),
        }
    }

    #[test]
    fn bpm_bounds_are_inclusive() {
        for bpm in [20, 72, 300] {
            assert_eq!(
                body(bpm, None).into_reading("u").expect("valid").bpm as i64,
                bpm
            );
        }
        for bpm in [i64::MIN, -1, 0, 19, 301, 10_000, i64::MAX] {
            let error = body(bpm, None).into_reading("u").expect_err("out of range");
            assert_eq!(error.code(), "invalid_field");
        }
    }

    #[test]
    fn notes_are_counted_in_characters() {
        let at_limit = "é".repeat(MAX_NOTE_CHARS);
        assert!(body(60, Some(&at_limit)).into_reading("u").is_ok());
        let over = "a".repeat(MAX_NOTE_CHARS + 1);
        assert!(body(60, Some(&over)).into_reading("u").is_err());
    }
}

//! What a store keeps about a key: everything except the secret.

use auren_core::{CallerIdentity, KeyId, Role};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The longest user id accepted, in characters.
pub const MAX_USER_ID_CHARS: usize = 256;

/// The longest description accepted, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;

/// The highest rate limit accepted, in requests per minute.
pub const MAX_RATE_LIMIT_PER_MINUTE: u32 = 1_000_000;

/// One API key as stored and listed: never the secret, never its digest.
///
/// # Example
///
/// ```
/// use auren_auth::{KeyRecord, NewKey};
/// use auren_core::Role;
///
/// let record = KeyRecord::new(
///     NewKey::new("user_42", Role::User),
///     "auren_AbCd".to_owned(),
///     chrono::Utc::now(),
/// );
/// assert_eq!(record.rate_limit_per_minute, 60);
/// assert!(record.check(chrono::Utc::now()).is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// The key's public id.
    pub key_id: KeyId,
    /// The user the key acts for.
    pub user_id: String,
    /// A note for operators.
    pub description: String,
    /// What the key may do.
    pub role: Role,
    /// Requests per minute the rate limiter allows the key.
    pub rate_limit_per_minute: u32,
    /// The key's first characters, for operators to recognise it.
    pub display_prefix: String,
    /// When the key was issued.
    pub created_at: DateTime<Utc>,
    /// When the key stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When the key was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When the key was last used, to within the coalescing interval.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl KeyRecord {
    /// A fresh record for `new`, created at `now`.
    pub fn new(new: NewKey, display_prefix: String, now: DateTime<Utc>) -> Self {
        let rate_limit_per_minute = new
            .rate_limit_per_minute
            .unwrap_or_else(|| new.role.default_rate_limit_per_minute());
        Self {
            key_id: KeyId::new(),
            user_id: new.user_id,
            description: new.description,
            role: new.role,
            rate_limit_per_minute,
            display_prefix,
            created_at: now,
            expires_at: new.expires_at,
            revoked_at: None,
            last_used_at: None,
        }
    }

    /// Whether the key may be used at `now`.
    ///
    /// # Errors
    ///
    /// [`KeyState::Revoked`] or [`KeyState::Expired`]; revocation wins when both hold.
    pub fn check(&self, now: DateTime<Utc>) -> Result<(), KeyState> {
        if self.revoked_at.is_some_and(|at| at <= now) {
            return Err(KeyState::Revoked);
        }
        if self.expires_at.is_some_and(|at| at <= now) {
            return Err(KeyState::Expired);
        }
        Ok(())
    }

    /// The identity a request authenticated by this key acts as.
    pub fn identity(&self) -> CallerIdentity {
        CallerIdentity::new(
            self.user_id.clone(),
            self.key_id,
            self.role,
            self.rate_limit_per_minute,
        )
    }
}

/// Why a known key may not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// The key was revoked.
    Revoked,
    /// The key's expiry has passed.
    Expired,
}

/// The settings of a key to issue.
///
/// ```
/// use auren_auth::NewKey;
/// use auren_core::Role;
///
/// let new = NewKey::new("", Role::User);
/// assert!(new.validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKey {
    /// The user the key acts for: 1 to 256 characters.
    pub user_id: String,
    /// A note for operators, at most 1000 characters.
    pub description: String,
    /// What the key may do.
    pub role: Role,
    /// Requests per minute; the role's default when `None`.
    pub rate_limit_per_minute: Option<u32>,
    /// When the key stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
}

impl NewKey {
    /// A key for `user_id` with `role`, no description, the role's rate limit, no expiry.
    pub fn new(user_id: impl Into<String>, role: Role) -> Self {
        Self {
            user_id: user_id.into(),
            description: String::new(),
            role,
            rate_limit_per_minute: None,
            expires_at: None,
        }
    }

    /// Checks every field.
    ///
    /// # Errors
    ///
    /// [`InvalidKeySettings`] naming the first field out of range.
    pub fn validate(&self) -> Result<(), InvalidKeySettings> {
        let user_chars = self.user_id.chars().count();
        if user_chars == 0 || user_chars > MAX_USER_ID_CHARS {
            return Err(InvalidKeySettings::UserId);
        }
        if self.user_id.chars().any(char::is_control) {
            return Err(InvalidKeySettings::UserId);
        }
        validate_description(&self.description)?;
        if let Some(limit) = self.rate_limit_per_minute {
            validate_rate_limit(limit)?;
        }
        Ok(())
    }
}

/// A change to a key's settings; `None` fields are left as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyUpdate {
    /// A new rate limit, in requests per minute.
    pub rate_limit_per_minute: Option<u32>,
    /// A new description.
    pub description: Option<String>,
}

impl KeyUpdate {
    /// Checks every field that is set.
    ///
    /// # Errors
    ///
    /// [`InvalidKeySettings`] naming the first field out of range.
    pub fn validate(&self) -> Result<(), InvalidKeySettings> {
        if let Some(limit) = self.rate_limit_per_minute {
            validate_rate_limit(limit)?;
        }
        if let Some(description) = &self.description {
            validate_description(description)?;
        }
        Ok(())
    }
}

fn validate_rate_limit(limit: u32) -> Result<(), InvalidKeySettings> {
    if limit == 0 || limit > MAX_RATE_LIMIT_PER_MINUTE {
        return Err(InvalidKeySettings::RateLimit);
    }
    Ok(())
}

fn validate_description(description: &str) -> Result<(), InvalidKeySettings> {
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(InvalidKeySettings::Description);
    }
    Ok(())
}

/// A key setting out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidKeySettings {
    /// The user id is empty, longer than 256 characters or holds control characters.
    #[error("user_id must be 1 to 256 characters without control characters")]
    UserId,
    /// The rate limit is zero or above the maximum.
    #[error("rate_limit must be between 1 and 1000000 requests per minute")]
    RateLimit,
    /// The description is too long.
    #[error("description must be at most 1000 characters")]
    Description,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn revocation_and_expiry_are_checked_against_the_given_time() {
        let now = Utc::now();
        let mut record = KeyRecord::new(NewKey::new("u", Role::Admin), "p".into(), now);
        assert_eq!(record.rate_limit_per_minute, 1000);
        record.expires_at = Some(now + Duration::seconds(10));
        assert_eq!(record.check(now), Ok(()));
        assert_eq!(
            record.check(now + Duration::seconds(10)),
            Err(KeyState::Expired)
        );
        record.revoked_at = Some(now);
        assert_eq!(
            record.check(now + Duration::seconds(10)),
            Err(KeyState::Revoked)
        );
    }

    #[test]
    fn settings_are_validated() {
        let mut new = NewKey::new("u".repeat(256), Role::User);
        assert_eq!(new.validate(), Ok(()));
        new.user_id.push('u');
        assert_eq!(new.validate(), Err(InvalidKeySettings::UserId));
        new.user_id = "u\n".into();
        assert_eq!(new.validate(), Err(InvalidKeySettings::UserId));
        new.user_id = "u".into();
        new.rate_limit_per_minute = Some(0);
        assert_eq!(new.validate(), Err(InvalidKeySettings::RateLimit));
        let update = KeyUpdate {
            description: Some("d".repeat(1001)),
            ..KeyUpdate::default()
        };
        assert_eq!(update.validate(), Err(InvalidKeySettings::Description));
    }
}

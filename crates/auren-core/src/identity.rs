//! Who is calling: the identity the auth layer attaches to each request.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use ulid::Ulid;

/// An API key's public id: `ak_` followed by a ULID.
///
/// Key ids are not secret: they appear in logs, audit events and admin answers.
///
/// # Example
///
/// ```
/// use auren_core::KeyId;
///
/// let id = KeyId::new();
/// assert!(id.to_string().starts_with("ak_"));
/// assert_eq!(id.to_string().parse::<KeyId>().unwrap(), id);
/// assert!("ak_nope".parse::<KeyId>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(Ulid);

impl KeyId {
    /// The text every key id starts with.
    pub const PREFIX: &'static str = "ak_";

    /// A fresh id.
    pub fn new() -> Self {
        Self(Ulid::new())
    }

    /// The id for a given ULID.
    pub fn from_ulid(ulid: Ulid) -> Self {
        Self(ulid)
    }

    /// The ULID inside.
    pub fn ulid(&self) -> Ulid {
        self.0
    }
}

impl Default for KeyId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", Self::PREFIX, self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// Why a text is not a [`KeyId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyIdError {
    /// The text does not start with `ak_`.
    #[error("a key id starts with `ak_`")]
    MissingPrefix,
    /// The rest is not a ULID.
    #[error("a key id is `ak_` followed by a 26-character ULID")]
    InvalidUlid,
}

impl FromStr for KeyId {
    type Err = KeyIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s
            .strip_prefix(Self::PREFIX)
            .ok_or(KeyIdError::MissingPrefix)?;
        if rest.len() != ulid::ULID_LEN {
            return Err(KeyIdError::InvalidUlid);
        }
        Ulid::from_string(rest)
            .map(Self)
            .map_err(|_| KeyIdError::InvalidUlid)
    }
}

impl Serialize for KeyId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KeyId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What a key may do.
///
/// ```
/// use auren_core::Role;
///
/// assert_eq!("admin".parse::<Role>().unwrap(), Role::Admin);
/// assert_eq!(Role::User.to_string(), "user");
/// assert!("root".parse::<Role>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads and writes the caller's own data.
    User,
    /// Everything a user may, plus the admin endpoints.
    Admin,
}

impl Role {
    /// The default rate limit, in requests per minute, for keys of this role.
    pub fn default_rate_limit_per_minute(self) -> u32 {
        match self {
            Role::User => 60,
            Role::Admin => 1000,
        }
    }

    /// The role's name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a text is not a [`Role`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a role is `user` or `admin`")]
pub struct RoleError;

impl FromStr for Role {
    type Err = RoleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "user" => Ok(Role::User),
            "admin" => Ok(Role::Admin),
            _ => Err(RoleError),
        }
    }
}

/// The authenticated caller of one request.
///
/// The auth layer inserts it into the request's extensions for the layers and handlers
/// behind it, and into the response's extensions for the layers in front of it (audit,
/// metrics), which only see the response. It holds no secret.
///
/// # Example
///
/// ```
/// use auren_core::{CallerIdentity, KeyId, Role};
///
/// let caller = CallerIdentity::new("user_42", KeyId::new(), Role::User, 60);
/// let mut extensions = http::Extensions::new();
/// extensions.insert(caller.clone());
/// assert_eq!(CallerIdentity::from_extensions(&extensions), Some(&caller));
/// assert_eq!(caller.user_id(), "user_42");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    // Shared, so a cached identity is handed to each request without an allocation.
    user_id: Arc<str>,
    key_id: KeyId,
    role: Role,
    rate_limit_per_minute: u32,
}

impl CallerIdentity {
    /// An identity for a key of `user_id` with the given role and rate limit.
    pub fn new(
        user_id: impl Into<Arc<str>>,
        key_id: KeyId,
        role: Role,
        rate_limit_per_minute: u32,
    ) -> Self {
        Self {
            user_id: user_id.into(),
            key_id,
            role,
            rate_limit_per_minute,
        }
    }

    /// The identity in these extensions, if a layer put one there.
    pub fn from_extensions(extensions: &http::Extensions) -> Option<&CallerIdentity> {
        extensions.get::<CallerIdentity>()
    }

    /// The user the key belongs to.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The key that authenticated the request.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The key's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The key's limit in requests per minute, as it stood when the key was verified.
    pub fn rate_limit_per_minute(&self) -> u32 {
        self.rate_limit_per_minute
    }

    /// Whether the caller holds the admin role.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_id_rejects_near_misses() {
        let good = KeyId::new().to_string();
        for bad in [
            "",
            "ak_",
            &good[3..],
            &format!("AK_{}", &good[3..]),
            &format!("{good}0"),
            &good[..good.len() - 1],
        ] {
            assert!(bad.parse::<KeyId>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn key_id_serialises_as_text() {
        let id = KeyId::new();
        let json = serde_json::to_string(&id).expect("json");
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<KeyId>(&json).expect("parse"), id);
    }
}

//! The Redis store: one Lua script checks and counts atomically, with Redis's own time.

use std::time::Duration;

use async_trait::async_trait;
use auren_core::KeyId;
use fred::prelude::{Client, KeysInterface, LuaInterface};
use fred::types::Value;
use futures_util::future::try_join_all;

use super::{KeyStatus, RateLimitStore, StatusPage};
use crate::{ConfigError, Gcra, RateLimitDecision, StoreError, DEFAULT_PERIOD};

const CHECK_LUA: &str = include_str!("check.lua");
const STATUS_LUA: &str = include_str!("status.lua");

/// The part of every key name after the prefix and before the hash-tagged key id.
const KEY_SPACE: &str = "rate_limit:";

/// GCRA state in Redis, shared by every instance that points at the same server.
///
/// Each key's state is one string, `<prefix>rate_limit:{<key id>}` (the braces are a hash
/// tag, so the scripts also run on Redis Cluster), holding "<TAT> <last limit>".
/// Every check is one `EVALSHA` of a script that reads Redis `TIME`, decides, and writes
/// with `SET .. PX`, so keys expire on their own once idle. The scripts are sent with
/// `SCRIPT LOAD` again whenever Redis answers `NOSCRIPT` (after a restart or `SCRIPT
/// FLUSH`).
///
/// # Example
///
/// ```no_run
/// use auren_core::KeyId;
/// use auren_ratelimit::{RateLimitStore, RedisStore};
/// use fred::prelude::*;
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Builder::from_config(Config::from_url("redis://127.0.0.1:6379")?).build()?;
/// client.init().await?;
/// let store = RedisStore::builder(client).prefix("myapp:").build()?;
///
/// let decision = store.check(KeyId::new(), 60).await?;
/// assert!(decision.allowed);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RedisStore {
    client: Client,
    prefix: String,
    period: Duration,
    check_script: LuaScript,
    status_script: LuaScript,
}

impl RedisStore {
    /// A builder around a connected (or connecting) client.
    pub fn builder(client: Client) -> RedisStoreBuilder {
        RedisStoreBuilder {
            client,
            prefix: String::new(),
            period: DEFAULT_PERIOD,
        }
    }

    /// The Redis key that holds `key`'s state.
    ///
    /// ```no_run
    /// # fn example(store: auren_ratelimit::RedisStore, key: auren_core::KeyId) {
    /// assert!(store.redis_key(key).ends_with(&format!("rate_limit:{{{key}}}")));
    /// # }
    /// ```
    pub fn redis_key(&self, key: KeyId) -> String {
        format!("{}{KEY_SPACE}{{{key}}}", self.prefix)
    }

    /// The client, for the `EVALSHA` baseline of the benches and for health checks.
    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn status_of(&self, key: KeyId) -> Result<Option<KeyStatus>, StoreError> {
        let reply = self
            .status_script
            .call(&self.client, self.redis_key(key), Vec::new());
        let Some([debt, limit]) = integers(reply.await?)? else {
            return Ok(None);
        };
        if debt <= 0 {
            return Ok(None);
        }
        let limit = u32::try_from(limit).map_err(|_| StoreError::UnexpectedReply("limit"))?;
        let gcra = Gcra::new(limit, self.period);
        Ok(Some(KeyStatus::new(key, &gcra.decision(true, debt))))
    }

    fn pattern(&self) -> String {
        let mut pattern = String::with_capacity(self.prefix.len() + 16);
        for c in self.prefix.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push_str(KEY_SPACE);
        pattern.push_str("{ak_*}");
        pattern
    }

    fn key_id_of(&self, redis_key: &str) -> Option<KeyId> {
        redis_key
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix(KEY_SPACE)?
            .strip_prefix('{')?
            .strip_suffix('}')?
            .parse()
            .ok()
    }
}

#[async_trait]
impl RateLimitStore for RedisStore {
    fn period(&self) -> Duration {
        self.period
    }

    async fn check(&self, key: KeyId, limit: u32) -> Result<RateLimitDecision, StoreError> {
        if limit == 0 {
            return Ok(RateLimitDecision::blocked(self.period));
        }
        let gcra = Gcra::new(limit, self.period);
        let args = vec![
            gcra.interval_us(),
            gcra.tolerance_us(),
            i64::from(gcra.limit()),
        ];

        let reply = self
            .check_script
            .call(&self.client, self.redis_key(key), args)
            .await?;
        let Some([allowed, debt]) = integers(reply)? else {
            return Err(StoreError::UnexpectedReply("nil from the check script"));
        };
        Ok(gcra.decision(allowed == 1, debt))
    }

    async fn status(&self, key: KeyId) -> Result<Option<KeyStatus>, StoreError> {
        self.status_of(key).await
    }

    async fn reset(&self, key: KeyId) -> Result<bool, StoreError> {
        let deleted: i64 = self.client.del(self.redis_key(key)).await?;
        Ok(deleted > 0)
    }

    async fn list(&self, cursor: Option<&str>, limit: usize) -> Result<StatusPage, StoreError> {
        let mut cursor = match cursor {
            Some(text) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
                text.to_owned()
            }
            Some(_) => return Err(StoreError::InvalidCursor),
            None => "0".to_owned(),
        };
        let count = u32::try_from(limit.clamp(1, 1_000)).unwrap_or(1_000);

        // SCAN may return empty pages; a few rounds fill most pages without looping long.
        let mut names = Vec::new();
        for _ in 0..8 {
            let reply: Value = self
                .client
                .scan_page(cursor.clone(), self.pattern(), Some(count), None)
                .await?;
            let (next, page) = scan_reply(reply)?;
            names.extend(page);
            cursor = next;
            if cursor == "0" || names.len() >= limit {
                break;
            }
        }

        let keys: Vec<KeyId> = names
            .iter()
            .filter_map(|name| self.key_id_of(name))
            .collect();
        let statuses = try_join_all(keys.into_iter().map(|key| self.status_of(key))).await?;
        let next_cursor = (cursor != "0").then_some(cursor);
        Ok(StatusPage::new(
            statuses.into_iter().flatten().collect(),
            next_cursor,
        ))
    }
}

/// Configures a [`RedisStore`].
#[derive(Debug)]
pub struct RedisStoreBuilder {
    client: Client,
    prefix: String,
    period: Duration,
}

impl RedisStoreBuilder {
    /// A prefix for every key name, such as `myapp:` (default: none).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The period a limit counts over (default one minute).
    pub fn period(mut self, period: Duration) -> Self {
        self.period = period;
        self
    }

    /// The store. Nothing is sent to Redis yet: the scripts load on first use.
    ///
    /// # Errors
    ///
    /// [`ConfigError::PeriodTooShort`] for a period under a millisecond.
    pub fn build(self) -> Result<RedisStore, ConfigError> {
        if self.period < Duration::from_millis(1) {
            return Err(ConfigError::PeriodTooShort(self.period));
        }
        Ok(RedisStore {
            client: self.client,
            prefix: self.prefix,
            period: self.period,
            check_script: LuaScript::new(CHECK_LUA),
            status_script: LuaScript::new(STATUS_LUA),
        })
    }
}

/// A Lua script called by its SHA-1, loaded again whenever Redis has forgotten it.
#[derive(Debug, Clone)]
struct LuaScript {
    source: &'static str,
    sha1: String,
}

impl LuaScript {
    fn new(source: &'static str) -> Self {
        let digest =
            ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, source.as_bytes());
        Self {
            source,
            sha1: hex::encode(digest.as_ref()),
        }
    }

    async fn call(
        &self,
        client: &Client,
        key: String,
        args: Vec<i64>,
    ) -> Result<Value, StoreError> {
        match client
            .evalsha(self.sha1.as_str(), key.clone(), args.clone())
            .await
        {
            Err(error) if error.details().starts_with("NOSCRIPT") => {
                tracing::debug!("rate-limit script missing on Redis; loading it again");
                let _: String = client.script_load(self.source).await?;
                Ok(client.evalsha(self.sha1.as_str(), key, args).await?)
            }
            result => Ok(result?),
        }
    }
}

/// Two integers from a script, or `None` for a nil reply.
fn integers(reply: Value) -> Result<Option<[i64; 2]>, StoreError> {
    match reply {
        Value::Null => Ok(None),
        Value::Array(values) => match values.as_slice() {
            [Value::Integer(a), Value::Integer(b)] => Ok(Some([*a, *b])),
            _ => Err(StoreError::UnexpectedReply("expected two integers")),
        },
        _ => Err(StoreError::UnexpectedReply("expected an array")),
    }
}

/// The cursor and key names of one `SCAN` reply.
fn scan_reply(reply: Value) -> Result<(String, Vec<String>), StoreError> {
    let Value::Array(mut parts) = reply else {
        return Err(StoreError::UnexpectedReply("SCAN did not answer an array"));
    };
    if parts.len() != 2 {
        return Err(StoreError::UnexpectedReply("SCAN answered the wrong shape"));
    }
    let names = parts.pop().map(|names| names.convert::<Vec<String>>());
    let cursor = parts.pop().map(|cursor| cursor.convert::<String>());
    match (cursor, names) {
        (Some(Ok(cursor)), Some(Ok(names))) => Ok((cursor, names)),
        _ => Err(StoreError::UnexpectedReply("SCAN answered the wrong types")),
    }
}

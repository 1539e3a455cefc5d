-- API keys (auren-auth). The secret is never stored: only its SHA-256 digest.
CREATE TABLE api_keys (
    key_id                TEXT        PRIMARY KEY,
    digest                BYTEA       NOT NULL UNIQUE CHECK (octet_length(digest) = 32),
    display_prefix        TEXT        NOT NULL,
    user_id               TEXT        NOT NULL
        CHECK (char_length(user_id) BETWEEN 1 AND 256),
    description           TEXT        NOT NULL DEFAULT '',
    role                  TEXT        NOT NULL CHECK (role IN ('user', 'admin')),
    rate_limit_per_minute INTEGER     NOT NULL CHECK (rate_limit_per_minute > 0),
    created_at            TIMESTAMPTZ NOT NULL,
    expires_at            TIMESTAMPTZ,
    revoked_at            TIMESTAMPTZ,
    last_used_at          TIMESTAMPTZ
);

CREATE INDEX api_keys_user_id ON api_keys (user_id, created_at);

-- Every change that matters to verification is announced on channel `auren_api_keys`
-- with the key's digest in hex, so every instance drops its cached entry within a moment.
-- Updates of last_used_at alone are not announced.
CREATE FUNCTION api_keys_notify() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('auren_api_keys', encode(OLD.digest, 'hex'));
    ELSE
        PERFORM pg_notify('auren_api_keys', encode(NEW.digest, 'hex'));
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER api_keys_notify_insert_delete
    AFTER INSERT OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION api_keys_notify();

CREATE TRIGGER api_keys_notify_update
    AFTER UPDATE ON api_keys
    FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
       OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
       OR OLD.role IS DISTINCT FROM NEW.role
       OR OLD.user_id IS DISTINCT FROM NEW.user_id
       OR OLD.rate_limit_per_minute IS DISTINCT FROM NEW.rate_limit_per_minute
       OR OLD.digest IS DISTINCT FROM NEW.digest)
    EXECUTE FUNCTION api_keys_notify();

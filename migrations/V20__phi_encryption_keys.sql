-- PHI data keys, stored only wrapped under the master key (PHI_MASTER_KEY).
-- Keys are never deleted: a retired key still opens the values it sealed.
CREATE TABLE phi_encryption_keys (
    id          TEXT        PRIMARY KEY,
    version     INTEGER     NOT NULL UNIQUE CHECK (version > 0),
    wrapped_key BYTEA       NOT NULL,
    state       TEXT        NOT NULL CHECK (state IN ('active', 'retired')),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    rotated_at  TIMESTAMPTZ
);

-- At most one active key at any time.
CREATE UNIQUE INDEX phi_encryption_keys_one_active
    ON phi_encryption_keys (state) WHERE state = 'active';

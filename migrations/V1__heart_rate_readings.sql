-- Heart-rate readings of the example biometric server.
-- bpm and note are PHI: they are stored sealed by auren-phi-crypto
-- (`v1:<data key id>:<base64url>`), bound to the row's user id and the field name.
CREATE TABLE heart_rate_readings (
    id          TEXT        PRIMARY KEY,
    user_id     TEXT        NOT NULL,
    bpm_sealed  TEXT        NOT NULL,
    note_sealed TEXT,
    recorded_at TIMESTAMPTZ NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX heart_rate_readings_user_recorded
    ON heart_rate_readings (user_id, recorded_at DESC, id DESC);

-- Heart-rate readings of the example biometric server.
CREATE TABLE heart_rate_readings (
    id          TEXT        PRIMARY KEY,
    user_id     TEXT        NOT NULL,
    bpm         SMALLINT    NOT NULL,
    note        TEXT,
    recorded_at TIMESTAMPTZ NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX heart_rate_readings_user_recorded
    ON heart_rate_readings (user_id, recorded_at DESC, id DESC);

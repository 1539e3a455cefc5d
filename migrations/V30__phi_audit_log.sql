-- The PHI access log: append-only, partitioned by month, hash-chained per writer.
-- Partitions are created by the application (`auren audit maintain`, and at start-up),
-- never here, because their names depend on the current date.
CREATE TABLE phi_audit_log (
    occurred_at      TIMESTAMPTZ NOT NULL,
    event_id         TEXT        NOT NULL,
    request_id       TEXT,
    user_id          TEXT,
    key_id           TEXT,
    action           TEXT        NOT NULL,
    resource         TEXT        NOT NULL,
    method           TEXT        NOT NULL,
    outcome          TEXT        NOT NULL CHECK (outcome IN ('success', 'denied', 'error')),
    status_code      SMALLINT    NOT NULL,
    response_time_ms INTEGER     NOT NULL,
    client_addr      TEXT,
    user_agent       TEXT,
    chain_id         TEXT        NOT NULL,
    chain_seq        BIGINT      NOT NULL,
    prev_hash        BYTEA       NOT NULL,
    hash             BYTEA       NOT NULL,
    -- The event id makes a retried batch idempotent (ON CONFLICT DO NOTHING).
    PRIMARY KEY (occurred_at, event_id)
) PARTITION BY RANGE (occurred_at);

-- One user's newest events in a time range.
CREATE INDEX phi_audit_log_user_time
    ON phi_audit_log (user_id, occurred_at DESC, event_id DESC);
-- Denied and failed events in a time range; success is the bulk and needs no index here.
CREATE INDEX phi_audit_log_outcome_time
    ON phi_audit_log (outcome, occurred_at DESC, event_id DESC)
    WHERE outcome <> 'success';
-- Chain verification walks each chain in order.
CREATE INDEX phi_audit_log_chain
    ON phi_audit_log (chain_id, chain_seq);

-- Every chain a writer opened; a row naming an unknown chain was inserted by hand.
CREATE TABLE phi_audit_chains (
    chain_id   TEXT        PRIMARY KEY,
    opened_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- What the retention job dropped: for each chain, the last sequence number and hash of the
-- rows removed with a partition, so the first remaining row still links to something.
CREATE TABLE phi_audit_anchors (
    chain_id   TEXT        NOT NULL,
    month      DATE        NOT NULL,
    last_seq   BIGINT      NOT NULL,
    last_hash  BYTEA       NOT NULL,
    row_count  BIGINT      NOT NULL,
    dropped_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, month)
);

-- Rows are never updated or deleted; only whole partitions are dropped by the retention job.
CREATE FUNCTION phi_audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER phi_audit_log_append_only
    BEFORE UPDATE OR DELETE ON phi_audit_log
    FOR EACH ROW EXECUTE FUNCTION phi_audit_refuse_change();
CREATE TRIGGER phi_audit_log_no_truncate
    BEFORE TRUNCATE ON phi_audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION phi_audit_refuse_change();
CREATE TRIGGER phi_audit_chains_append_only
    BEFORE UPDATE OR DELETE ON phi_audit_chains
    FOR EACH ROW EXECUTE FUNCTION phi_audit_refuse_change();
CREATE TRIGGER phi_audit_anchors_append_only
    BEFORE UPDATE OR DELETE ON phi_audit_anchors
    FOR EACH ROW EXECUTE FUNCTION phi_audit_refuse_change();

-- The application's role may insert and read, nothing more. Roles are cluster-wide and
-- databases migrate in parallel in tests, so creation tolerates a concurrent twin.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'auren_app') THEN
        CREATE ROLE auren_app NOLOGIN;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
END;
$$;

GRANT SELECT, INSERT ON phi_audit_log, phi_audit_chains TO auren_app;
GRANT SELECT ON phi_audit_anchors TO auren_app;

-- Tally app store, PostgreSQL. Audit rows are append-only: a trigger refuses every UPDATE, and
-- a DELETE only passes while the retention purge holds a permit in the same transaction.

CREATE TABLE audit (
    seq             BIGINT PRIMARY KEY,
    ts              TEXT    NOT NULL,
    ts_ms           BIGINT  NOT NULL,
    event           TEXT    NOT NULL,
    request_id      TEXT,
    method          TEXT,
    route           TEXT,
    status          BIGINT,
    subject         TEXT,
    role            TEXT,
    workspace       TEXT,
    token_id        TEXT,
    query_id        TEXT,
    conversation_id TEXT,
    question        TEXT,
    translator      TEXT,
    dsl             TEXT,
    dsl_hash        TEXT,
    sql_hash        TEXT,
    outcome         TEXT,
    code            TEXT,
    detail          TEXT,
    row_count       BIGINT,
    latency_ms      DOUBLE PRECISION,
    tokens_in       BIGINT,
    tokens_out      BIGINT,
    cost_usd        DOUBLE PRECISION,
    prev_hash       TEXT    NOT NULL,
    hash            TEXT    NOT NULL
);
CREATE INDEX audit_query_id ON audit (query_id);
CREATE INDEX audit_ts_ms ON audit (ts_ms);

CREATE TABLE audit_anchor (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    anchor_seq  BIGINT NOT NULL,
    anchor_hash TEXT   NOT NULL
);

CREATE TABLE audit_purge_permit (id BIGINT PRIMARY KEY);

CREATE FUNCTION tally_audit_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'audit rows are append-only';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM audit_purge_permit) THEN
        RAISE EXCEPTION 'audit rows are removed only by the retention purge';
    END IF;
    RETURN OLD;
END;
$$;

CREATE TRIGGER audit_guard BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION tally_audit_guard();

CREATE TABLE revoked_tokens (
    jti        TEXT PRIMARY KEY,
    revoked_at TEXT NOT NULL,
    revoked_by TEXT NOT NULL
);

CREATE TABLE revoked_subjects (
    subject     TEXT PRIMARY KEY,
    before_unix BIGINT NOT NULL,
    revoked_at  TEXT   NOT NULL,
    revoked_by  TEXT   NOT NULL
);

CREATE TABLE conversations (
    id         TEXT PRIMARY KEY,
    subject    TEXT   NOT NULL,
    workspace  TEXT   NOT NULL,
    created_at TEXT   NOT NULL,
    updated_ms BIGINT NOT NULL,
    turns      BIGINT NOT NULL,
    last_dsl   TEXT,
    tokens_in  BIGINT NOT NULL,
    tokens_out BIGINT NOT NULL,
    cost_usd   DOUBLE PRECISION NOT NULL
);

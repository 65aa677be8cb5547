-- Tally app store, SQLite. Audit rows are append-only: a trigger refuses every UPDATE, and a
-- DELETE only passes while the retention purge holds a permit in the same transaction.

CREATE TABLE audit (
    seq             INTEGER PRIMARY KEY,
    ts              TEXT    NOT NULL,
    ts_ms           INTEGER NOT NULL,
    event           TEXT    NOT NULL,
    request_id      TEXT,
    method          TEXT,
    route           TEXT,
    status          INTEGER,
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
    row_count       INTEGER,
    latency_ms      REAL,
    tokens_in       INTEGER,
    tokens_out      INTEGER,
    cost_usd        REAL,
    prev_hash       TEXT    NOT NULL,
    hash            TEXT    NOT NULL
);
CREATE INDEX audit_query_id ON audit (query_id);
CREATE INDEX audit_ts_ms ON audit (ts_ms);

-- Where the chain starts after a purge: the hash of the last purged row.
CREATE TABLE audit_anchor (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    anchor_seq  INTEGER NOT NULL,
    anchor_hash TEXT    NOT NULL
);

CREATE TABLE audit_purge_permit (id INTEGER PRIMARY KEY);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit rows are append-only');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
WHEN NOT EXISTS (SELECT 1 FROM audit_purge_permit)
BEGIN
    SELECT RAISE(ABORT, 'audit rows are removed only by the retention purge');
END;

CREATE TABLE revoked_tokens (
    jti        TEXT PRIMARY KEY,
    revoked_at TEXT NOT NULL,
    revoked_by TEXT NOT NULL
);

-- Every token of `subject` issued before `before_unix` is revoked.
CREATE TABLE revoked_subjects (
    subject     TEXT PRIMARY KEY,
    before_unix INTEGER NOT NULL,
    revoked_at  TEXT    NOT NULL,
    revoked_by  TEXT    NOT NULL
);

CREATE TABLE conversations (
    id         TEXT PRIMARY KEY,
    subject    TEXT    NOT NULL,
    workspace  TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    updated_ms INTEGER NOT NULL,
    turns      INTEGER NOT NULL,
    last_dsl   TEXT,
    tokens_in  INTEGER NOT NULL,
    tokens_out INTEGER NOT NULL,
    cost_usd   REAL    NOT NULL
);

-- Hardening (issue 11): revocations scoped to workspaces, the audit head, result hashes,
-- redaction flags, a table the readiness probe writes, and an index for token lookups.

-- What a rerun compares against, and whether the question was redacted before it was stored.
-- Both stay NULL on older rows, and a row's hash covers them only when they are set, so the
-- chain of rows written before this migration still verifies.
ALTER TABLE audit ADD COLUMN result_hash TEXT;
ALTER TABLE audit ADD COLUMN redacted INTEGER;
CREATE INDEX audit_token_id ON audit (token_id);

-- The newest row's number and hash, moved in the same transaction as every append, so that
-- deleting the newest rows shows in `tally audit verify`.
CREATE TABLE audit_head (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    head_seq  INTEGER NOT NULL,
    head_hash TEXT    NOT NULL
);
INSERT INTO audit_head (id, head_seq, head_hash)
    SELECT 1, seq, hash FROM audit ORDER BY seq DESC LIMIT 1;

-- A revocation applies in one workspace (`*`: every workspace, for rows from before scoping).
-- kind `token`: the token `id` (its jti); kind `subject`: every token of subject `id` issued
-- before `before_unix`.
CREATE TABLE revocations (
    kind        TEXT    NOT NULL CHECK (kind IN ('token', 'subject')),
    id          TEXT    NOT NULL,
    workspace   TEXT    NOT NULL,
    before_unix INTEGER,
    revoked_at  TEXT    NOT NULL,
    revoked_by  TEXT    NOT NULL,
    PRIMARY KEY (kind, id, workspace)
);
INSERT INTO revocations (kind, id, workspace, before_unix, revoked_at, revoked_by)
    SELECT 'token', jti, '*', NULL, revoked_at, revoked_by FROM revoked_tokens;
INSERT INTO revocations (kind, id, workspace, before_unix, revoked_at, revoked_by)
    SELECT 'subject', subject, '*', before_unix, revoked_at, revoked_by FROM revoked_subjects;
DROP TABLE revoked_tokens;
DROP TABLE revoked_subjects;

-- `/readyz` writes here to prove the store takes writes.
CREATE TABLE store_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    ts TEXT    NOT NULL
);

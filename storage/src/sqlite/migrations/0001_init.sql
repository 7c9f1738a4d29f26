-- Portcullis storage schema, version 1 (SQLite).

CREATE TABLE teams (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    scope       TEXT NOT NULL,      -- JSON
    metadata    TEXT NOT NULL,      -- JSON
    created_at  INTEGER NOT NULL,   -- unix ms
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE keys (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    team_id         TEXT REFERENCES teams (id) ON DELETE CASCADE,
    display_prefix  TEXT NOT NULL,
    display_last4   TEXT NOT NULL,
    scope           TEXT NOT NULL,
    metadata        TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    expires_at      INTEGER,
    revoked_at      INTEGER
) STRICT;
CREATE INDEX keys_by_team ON keys (team_id, id);

-- Every hash a key answers to: its current one (grace_until NULL) and, after a rotation,
-- its previous one. The primary key makes lookups by hash an index probe and every hash unique.
CREATE TABLE key_hashes (
    hash         BLOB PRIMARY KEY,
    key_id       TEXT NOT NULL REFERENCES keys (id) ON DELETE CASCADE,
    grace_until  INTEGER
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX key_hashes_current ON key_hashes (key_id) WHERE grace_until IS NULL;
CREATE UNIQUE INDEX key_hashes_previous ON key_hashes (key_id) WHERE grace_until IS NOT NULL;

CREATE TABLE spend (
    time_ms             INTEGER NOT NULL,
    request_id          TEXT NOT NULL,
    key_id              TEXT NOT NULL,
    team_id             TEXT,
    model_group         TEXT NOT NULL,
    deployment          TEXT NOT NULL,
    tokens_in           INTEGER NOT NULL,
    tokens_out          INTEGER NOT NULL,
    tokens_cached       INTEGER NOT NULL,
    tokens_cache_write  INTEGER NOT NULL,
    cost_micro_usd      INTEGER NOT NULL,
    unpriced            INTEGER NOT NULL,
    latency_ms          INTEGER NOT NULL,
    status              INTEGER NOT NULL
) STRICT;
CREATE INDEX spend_by_time ON spend (time_ms);
CREATE INDEX spend_by_key ON spend (key_id, time_ms);
CREATE INDEX spend_by_team ON spend (team_id, time_ms);

CREATE TABLE audit (
    seq        INTEGER PRIMARY KEY,
    time_ms    INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    before     TEXT,
    after      TEXT,
    prev_hash  BLOB NOT NULL,
    hash       BLOB NOT NULL
) STRICT;

-- The newest record's seq and hash (seq 0: empty log), written with every append.
CREATE TABLE audit_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   INTEGER NOT NULL,
    hash  BLOB NOT NULL
) STRICT;
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, zeroblob(32));

-- Portcullis storage schema, version 1 (PostgreSQL). Ids use the "C" collation so that
-- paging by id orders bytes exactly as the other backends do.

CREATE TABLE teams (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT NOT NULL,
    scope       TEXT NOT NULL,      -- JSON
    metadata    TEXT NOT NULL,      -- JSON
    created_at  BIGINT NOT NULL,    -- unix ms
    updated_at  BIGINT NOT NULL
);

CREATE TABLE keys (
    id              TEXT COLLATE "C" PRIMARY KEY,
    name            TEXT NOT NULL,
    team_id         TEXT COLLATE "C" REFERENCES teams (id) ON DELETE CASCADE,
    display_prefix  TEXT NOT NULL,
    display_last4   TEXT NOT NULL,
    scope           TEXT NOT NULL,
    metadata        TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    expires_at      BIGINT,
    revoked_at      BIGINT
);
CREATE INDEX keys_by_team ON keys (team_id, id);

-- Every hash a key answers to: current (grace_until NULL) and, after a rotation, previous.
CREATE TABLE key_hashes (
    hash         BYTEA PRIMARY KEY,
    key_id       TEXT COLLATE "C" NOT NULL REFERENCES keys (id) ON DELETE CASCADE,
    grace_until  BIGINT
);
CREATE UNIQUE INDEX key_hashes_current ON key_hashes (key_id) WHERE grace_until IS NULL;
CREATE UNIQUE INDEX key_hashes_previous ON key_hashes (key_id) WHERE grace_until IS NOT NULL;

CREATE TABLE spend (
    time_ms             BIGINT NOT NULL,
    request_id          TEXT NOT NULL,
    key_id              TEXT COLLATE "C" NOT NULL,
    team_id             TEXT COLLATE "C",
    model_group         TEXT COLLATE "C" NOT NULL,
    deployment          TEXT NOT NULL,
    tokens_in           BIGINT NOT NULL,
    tokens_out          BIGINT NOT NULL,
    tokens_cached       BIGINT NOT NULL,
    tokens_cache_write  BIGINT NOT NULL,
    cost_micro_usd      BIGINT NOT NULL,
    unpriced            BOOLEAN NOT NULL,
    latency_ms          BIGINT NOT NULL,
    status              INTEGER NOT NULL
);
CREATE INDEX spend_by_time ON spend (time_ms);
CREATE INDEX spend_by_key ON spend (key_id, time_ms);
CREATE INDEX spend_by_team ON spend (team_id, time_ms);

CREATE TABLE audit (
    seq        BIGINT PRIMARY KEY,
    time_ms    BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    before     TEXT,
    after      TEXT,
    prev_hash  BYTEA NOT NULL,
    hash       BYTEA NOT NULL
);

-- The chain head: locked FOR UPDATE by every append, so appends from any number of
-- processes are serialised in the database and form one chain. seq 0: empty log.
CREATE TABLE audit_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   BIGINT NOT NULL,
    hash  BYTEA NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

-- Heartbeats (dead man's switches): a job beats with a secret key; a
-- heartbeat not seen by its due time raises an alert on its service. The key
-- is stored only as a hash; key_prefix is its first characters, for display.
CREATE TABLE heartbeats (
    id               INTEGER PRIMARY KEY,
    service_id       INTEGER NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    name             TEXT    NOT NULL,
    key_hash         TEXT    NOT NULL UNIQUE,
    key_prefix       TEXT    NOT NULL,
    interval_seconds INTEGER NOT NULL,
    grace_seconds    INTEGER NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'new',
    last_seen_at     INTEGER,
    due_at           INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    version          INTEGER NOT NULL DEFAULT 1,
    UNIQUE (service_id, name)
);
-- The check reads only heartbeats that are up and past due.
CREATE INDEX heartbeats_due ON heartbeats(due_at) WHERE status = 'up';

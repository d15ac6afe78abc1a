-- Event rules, silences, maintenance windows and inhibit rules. Each change
-- bumps rules_revision, so every replica knows when to reload its compiled
-- copy.
CREATE TABLE event_rules (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    service_id INTEGER REFERENCES services(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    condition  TEXT    NOT NULL,
    actions    TEXT    NOT NULL,
    stop       INTEGER NOT NULL DEFAULT 0,
    enabled    INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version    INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX event_rules_service ON event_rules(service_id, position);

CREATE TABLE silences (
    id         INTEGER PRIMARY KEY,
    matchers   TEXT    NOT NULL,
    starts_at  INTEGER NOT NULL,
    ends_at    INTEGER NOT NULL,
    created_by TEXT    NOT NULL,
    comment    TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX silences_ends ON silences(ends_at);

CREATE TABLE maintenance_windows (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version    INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE inhibit_rules (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE rules_revision (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL
);
INSERT INTO rules_revision (id, revision) VALUES (1, 1);

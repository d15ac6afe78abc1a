-- Services (what alerts are routed to), their integration keys, raw events
-- (append-only, few indexes) and alerts (the dedup state: one open alert per
-- service and dedup key).
CREATE TABLE services (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE,
    description    TEXT    NOT NULL DEFAULT '',
    team_id        INTEGER REFERENCES teams(id) ON DELETE SET NULL,
    criticality    TEXT    NOT NULL DEFAULT 'medium',
    labels         TEXT    NOT NULL DEFAULT '{}',
    auto_resolve   INTEGER NOT NULL DEFAULT 1,
    group_by       TEXT    NOT NULL DEFAULT '[]',
    group_window_s INTEGER NOT NULL DEFAULT 300,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    version        INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX services_team ON services(team_id);

CREATE TABLE integration_keys (
    id           INTEGER PRIMARY KEY,
    service_id   INTEGER NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    key          TEXT    NOT NULL UNIQUE,
    created_by   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX integration_keys_service ON integration_keys(service_id);

CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    received_at INTEGER NOT NULL,
    service_id  INTEGER NOT NULL,
    alert_id    INTEGER,
    source      TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    dedup_key   TEXT    NOT NULL,
    body        TEXT    NOT NULL
);
CREATE INDEX events_alert ON events(alert_id);

CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY,
    service_id      INTEGER NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    dedup_key       TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    severity        TEXT    NOT NULL,
    summary         TEXT    NOT NULL,
    host            TEXT    NOT NULL DEFAULT '',
    source          TEXT    NOT NULL,
    labels          TEXT    NOT NULL DEFAULT '{}',
    count           INTEGER NOT NULL DEFAULT 1,
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    acknowledged_at INTEGER,
    resolved_at     INTEGER,
    incident_id     INTEGER,
    last_event      TEXT    NOT NULL DEFAULT '{}'
);
-- Dedup: at most one open alert per (dedup key, service); looked up by key.
CREATE UNIQUE INDEX alerts_open_key ON alerts(dedup_key, service_id) WHERE status <> 'resolved';
CREATE INDEX alerts_service ON alerts(service_id, id);
CREATE INDEX alerts_incident ON alerts(incident_id);

-- Incidents: alerts grouped per service (and group labels) within a window,
-- with a priority from impact × urgency, a lifecycle and a timeline.
CREATE TABLE incidents (
    id               INTEGER PRIMARY KEY,
    title            TEXT    NOT NULL,
    service_id       INTEGER REFERENCES services(id) ON DELETE SET NULL,
    team_id          INTEGER REFERENCES teams(id) ON DELETE SET NULL,
    assignee_id      INTEGER REFERENCES users(id) ON DELETE SET NULL,
    status           TEXT    NOT NULL,
    impact           INTEGER NOT NULL,
    urgency          INTEGER NOT NULL,
    priority         TEXT    NOT NULL,
    severity         TEXT    NOT NULL,
    major            INTEGER NOT NULL DEFAULT 0,
    security         INTEGER NOT NULL DEFAULT 0,
    group_key        TEXT    NOT NULL DEFAULT '',
    alert_count      INTEGER NOT NULL DEFAULT 0,
    open_alert_count INTEGER NOT NULL DEFAULT 0,
    tags             TEXT    NOT NULL DEFAULT '[]',
    resolution       TEXT    NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    last_alert_at    INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    acknowledged_at  INTEGER,
    resolved_at      INTEGER,
    closed_at        INTEGER,
    version          INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX incidents_open_group ON incidents(service_id, group_key, id) WHERE status IN ('triggered', 'acknowledged', 'investigating', 'on_hold');
CREATE INDEX incidents_status ON incidents(status, id);
CREATE INDEX incidents_service ON incidents(service_id, id);

CREATE TABLE incident_timeline (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    actor_type  TEXT    NOT NULL,
    actor_id    TEXT    NOT NULL,
    actor_name  TEXT    NOT NULL,
    body        TEXT    NOT NULL DEFAULT '',
    data        TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX incident_timeline_incident ON incident_timeline(incident_id, id);

CREATE TABLE incident_links (
    incident_id INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    related_id  INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    PRIMARY KEY (incident_id, related_id)
);

ALTER TABLE alerts ADD COLUMN suppressed TEXT NOT NULL DEFAULT '';

-- Full-text search over incidents: title, and the rest (resolution, notes,
-- tags, service), kept up to date by the incident package.
CREATE VIRTUAL TABLE incident_search USING fts5(title, body, tokenize = 'porter unicode61');

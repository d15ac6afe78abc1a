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

-- SLA targets per priority: time to acknowledge and to resolve, counted on a
-- calendar (JSON; {"always":true} is 24×7).
CREATE TABLE sla_policies (
    priority          TEXT    PRIMARY KEY,
    ack_seconds       INTEGER NOT NULL,
    resolve_seconds   INTEGER NOT NULL,
    calendar          TEXT    NOT NULL,
    updated_at        INTEGER NOT NULL
);
INSERT INTO sla_policies (priority, ack_seconds, resolve_seconds, calendar, updated_at) VALUES
    ('P1', 300, 14400, '{"name":"24x7","always":true}', 0),
    ('P2', 900, 28800, '{"name":"24x7","always":true}', 0),
    ('P3', 3600, 86400, '{"name":"24x7","always":true}', 0),
    ('P4', 14400, 259200, '{"name":"business hours","time_zone":"UTC","hours":{"mon":[{"start":"09:00","end":"17:00"}],"tue":[{"start":"09:00","end":"17:00"}],"wed":[{"start":"09:00","end":"17:00"}],"thu":[{"start":"09:00","end":"17:00"}],"fri":[{"start":"09:00","end":"17:00"}]}}', 0),
    ('P5', 28800, 432000, '{"name":"business hours","time_zone":"UTC","hours":{"mon":[{"start":"09:00","end":"17:00"}],"tue":[{"start":"09:00","end":"17:00"}],"wed":[{"start":"09:00","end":"17:00"}],"thu":[{"start":"09:00","end":"17:00"}],"fri":[{"start":"09:00","end":"17:00"}]}}', 0);

-- The SLA clocks of each incident: the intervals during which each ran, its
-- due time, and when it was met or breached. Breaches are found by a job
-- that reads due_at, so a restart misses none.
CREATE TABLE incident_slas (
    incident_id INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL,
    priority    TEXT    NOT NULL,
    target_ms   INTEGER NOT NULL,
    calendar    TEXT    NOT NULL,
    running     TEXT    NOT NULL,
    due_at      INTEGER,
    met_at      INTEGER,
    breached_at INTEGER,
    PRIMARY KEY (incident_id, kind)
);
CREATE INDEX incident_slas_due ON incident_slas(due_at) WHERE met_at IS NULL AND breached_at IS NULL;

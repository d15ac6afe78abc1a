-- Paging: the escalation of each incident (a durable timer: next_at) and the
-- outbox of messages with their delivery attempts.
CREATE TABLE escalations (
    incident_id    INTEGER PRIMARY KEY REFERENCES incidents(id) ON DELETE CASCADE,
    policy_id      INTEGER REFERENCES escalation_policies(id) ON DELETE SET NULL,
    epoch          INTEGER NOT NULL,  -- bumped by each restart (reopen, reassign)
    pass           INTEGER NOT NULL,  -- 0 for the first run of the policy
    level          INTEGER NOT NULL,  -- next level to page; -1 pages the assignee first
    state          TEXT    NOT NULL,  -- active, acknowledged, exhausted, stopped
    next_at        INTEGER,           -- due time of the next step; NULL when not active
    assignee_id    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    team_id        INTEGER REFERENCES teams(id) ON DELETE SET NULL,
    started_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX escalations_due ON escalations(next_at) WHERE next_at IS NOT NULL;

CREATE TABLE outbox (
    id                INTEGER PRIMARY KEY,
    idempotency_key   TEXT    NOT NULL UNIQUE,
    kind              TEXT    NOT NULL,  -- page, summary, test
    status            TEXT    NOT NULL,  -- pending, sending, delivered, failed, cancelled, held, summarized
    user_id           INTEGER REFERENCES users(id) ON DELETE SET NULL,
    contact_method_id INTEGER REFERENCES contact_methods(id) ON DELETE SET NULL,
    channel           TEXT    NOT NULL,
    address           TEXT    NOT NULL,
    incident_id       INTEGER REFERENCES incidents(id) ON DELETE CASCADE,
    summary_id        INTEGER REFERENCES outbox(id) ON DELETE SET NULL,
    subject           TEXT    NOT NULL,
    body              TEXT    NOT NULL,  -- the message and its data, JSON
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   INTEGER NOT NULL,
    lease_until       INTEGER,
    last_error        TEXT    NOT NULL DEFAULT '',
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    delivered_at      INTEGER
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_lease ON outbox(lease_until) WHERE status = 'sending';
CREATE INDEX outbox_status ON outbox(status, id);
CREATE INDEX outbox_user ON outbox(user_id, id);
CREATE INDEX outbox_incident ON outbox(incident_id) WHERE incident_id IS NOT NULL;
CREATE INDEX outbox_method ON outbox(contact_method_id, created_at);
CREATE INDEX outbox_summary ON outbox(summary_id) WHERE summary_id IS NOT NULL;

CREATE TABLE outbox_attempts (
    id          INTEGER PRIMARY KEY,
    outbox_id   INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    ok          INTEGER NOT NULL,
    error       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX outbox_attempts_item ON outbox_attempts(outbox_id, id);

-- Escalation policies: ordered levels of targets (users, schedules, teams),
-- each paged DelayMinutes after the previous one unless the incident is
-- acknowledged; the whole policy runs 1 + repeat_count times. A service names
-- the policy that pages for it. Targets point at users, schedules or teams by
-- kind and id, without a foreign key: a target whose object is gone is left
-- out when the policy is loaded (see docs/escalation.md).
CREATE TABLE escalation_policies (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE,
    description  TEXT    NOT NULL DEFAULT '',
    team_id      INTEGER REFERENCES teams(id) ON DELETE SET NULL,
    repeat_count INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    version      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX escalation_policies_team ON escalation_policies(team_id);

CREATE TABLE escalation_levels (
    policy_id     INTEGER NOT NULL REFERENCES escalation_policies(id) ON DELETE CASCADE,
    level         INTEGER NOT NULL,
    delay_minutes INTEGER NOT NULL,
    PRIMARY KEY (policy_id, level)
);

CREATE TABLE escalation_targets (
    policy_id INTEGER NOT NULL,
    level     INTEGER NOT NULL,
    position  INTEGER NOT NULL,
    kind      TEXT    NOT NULL,
    target_id INTEGER NOT NULL,
    PRIMARY KEY (policy_id, level, position),
    FOREIGN KEY (policy_id, level) REFERENCES escalation_levels(policy_id, level) ON DELETE CASCADE
);
CREATE INDEX escalation_targets_target ON escalation_targets(kind, target_id);

ALTER TABLE services ADD COLUMN escalation_policy_id INTEGER REFERENCES escalation_policies(id);
CREATE INDEX services_escalation_policy ON services(escalation_policy_id);

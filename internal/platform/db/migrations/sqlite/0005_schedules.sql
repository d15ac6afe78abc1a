-- On-call schedules: layers of rotations in a time zone, their participants,
-- overrides, and the keys of the iCalendar feeds (stored hashed).
CREATE TABLE schedules (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL DEFAULT '',
    time_zone   TEXT    NOT NULL,
    team_id     INTEGER REFERENCES teams(id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1
);

-- A layer's start and end are local date-times in the schedule's zone
-- ("2026-11-02T09:00"); restrictions is a JSON array of weekly windows.
CREATE TABLE schedule_layers (
    id           INTEGER PRIMARY KEY,
    schedule_id  INTEGER NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    name         TEXT    NOT NULL,
    start_local  TEXT    NOT NULL,
    end_local    TEXT,
    shift_unit   TEXT    NOT NULL,
    shift_length INTEGER NOT NULL,
    restrictions TEXT    NOT NULL DEFAULT '[]'
);
CREATE INDEX schedule_layers_schedule ON schedule_layers(schedule_id, position);

CREATE TABLE schedule_layer_members (
    layer_id INTEGER NOT NULL REFERENCES schedule_layers(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (layer_id, position)
);
CREATE INDEX schedule_layer_members_user ON schedule_layer_members(user_id);

CREATE TABLE schedule_overrides (
    id               INTEGER PRIMARY KEY,
    schedule_id      INTEGER NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
    user_id          INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    replaces_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    starts_at        INTEGER NOT NULL,
    ends_at          INTEGER NOT NULL,
    note             TEXT    NOT NULL DEFAULT '',
    created_by       TEXT    NOT NULL,
    created_at       INTEGER NOT NULL
);
CREATE INDEX schedule_overrides_schedule ON schedule_overrides(schedule_id, ends_at);
CREATE INDEX schedule_overrides_user ON schedule_overrides(user_id, ends_at);

-- One feed key per schedule or per user: exactly one of the two is set.
CREATE TABLE oncall_feed_keys (
    id          INTEGER PRIMARY KEY,
    schedule_id INTEGER UNIQUE REFERENCES schedules(id) ON DELETE CASCADE,
    user_id     INTEGER UNIQUE REFERENCES users(id) ON DELETE CASCADE,
    key_hash    TEXT    NOT NULL UNIQUE,
    hint        TEXT    NOT NULL,
    created_by  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    CHECK ((schedule_id IS NULL) <> (user_id IS NULL))
);

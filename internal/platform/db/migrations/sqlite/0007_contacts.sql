-- Contact methods (how to reach a user) and notification rules (which
-- method, how many minutes after the user is paged). A rule belongs to the
-- user of its method: the foreign key on (user_id, contact_method_id) keeps
-- the two together, and deleting a method deletes its rules.
CREATE TABLE contact_methods (
    id                  INTEGER PRIMARY KEY,
    user_id             INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind                TEXT    NOT NULL CHECK (kind IN ('email', 'webhook', 'slack', 'teams')),
    label               TEXT    NOT NULL DEFAULT '',
    address             TEXT    NOT NULL,
    secret              TEXT    NOT NULL DEFAULT '',
    headers             TEXT    NOT NULL DEFAULT '{}',
    rate_limit          INTEGER NOT NULL DEFAULT 10,
    rate_window_seconds INTEGER NOT NULL DEFAULT 600,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    version             INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX contact_methods_user ON contact_methods(user_id, id);

CREATE TABLE notification_rules (
    id                INTEGER PRIMARY KEY,
    user_id           INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    contact_method_id INTEGER NOT NULL REFERENCES contact_methods(id) ON DELETE CASCADE,
    delay_minutes     INTEGER NOT NULL CHECK (delay_minutes BETWEEN 0 AND 1440),
    created_at        INTEGER NOT NULL,
    FOREIGN KEY (user_id, contact_method_id) REFERENCES contact_methods(user_id, id) ON DELETE CASCADE
);
CREATE INDEX notification_rules_user ON notification_rules(user_id, delay_minutes, id);
CREATE UNIQUE INDEX notification_rules_method_delay ON notification_rules(contact_method_id, delay_minutes);

-- An admin's replacement of a built-in message template, one row per kind
-- ("page", "summary", "test"). No row means the built-in template is used;
-- deleting the row resets the kind to it.
CREATE TABLE notification_templates (
    kind       TEXT   PRIMARY KEY,
    subject    TEXT   NOT NULL,
    text_body  TEXT   NOT NULL,
    html_body  TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT   NOT NULL
);

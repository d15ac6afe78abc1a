-- Fixes to the CMDB schema.

-- A CI's history outlives the CI: deleting a CI writes a last "deleted"
-- row, and its history stays readable by its id. ci_history loses its
-- foreign key (SQLite cannot drop one: the table is rebuilt).
CREATE TABLE ci_history_new (
    id         INTEGER PRIMARY KEY,
    ci_id      INTEGER NOT NULL,  -- the CI, which may have been deleted
    at         INTEGER NOT NULL,
    actor_type TEXT    NOT NULL,
    actor_id   TEXT    NOT NULL,
    actor_name TEXT    NOT NULL,
    field      TEXT    NOT NULL,  -- "name", "attributes.os", "relation:+runs_on:12", "deleted", …
    before     TEXT,              -- JSON, NULL when there was none
    after      TEXT               -- JSON, NULL when there is none
);
INSERT INTO ci_history_new (id, ci_id, at, actor_type, actor_id, actor_name, field, before, after)
    SELECT id, ci_id, at, actor_type, actor_id, actor_name, field, before, after FROM ci_history;
DROP TABLE ci_history;
ALTER TABLE ci_history_new RENAME TO ci_history;
CREATE INDEX ci_history_ci ON ci_history(ci_id, id);

-- Deleting a CI clears alerts.ci_id (ON DELETE SET NULL): without an
-- index, every delete would read all alerts.
CREATE INDEX alerts_ci ON alerts(ci_id) WHERE ci_id IS NOT NULL;

-- Unique attributes hold under concurrent writes: the values of attributes
-- that their class defines as unique are marked, and a partial unique
-- index refuses a second CI of the class with the same value.
ALTER TABLE ci_attribute_values ADD COLUMN is_unique INTEGER NOT NULL DEFAULT 0;
UPDATE ci_attribute_values SET is_unique = 1 WHERE EXISTS (
    SELECT 1 FROM ci_classes k, json_each(k.attributes) a
    WHERE k.id = ci_attribute_values.class_id AND json_extract(a.value, '$.key') = ci_attribute_values.key
      AND json_extract(a.value, '$.unique') = 1);
-- A value that already repeats stays marked on its first CI only (the
-- others are still refused by the check on their next change).
UPDATE ci_attribute_values SET is_unique = 0 WHERE is_unique = 1 AND EXISTS (
    SELECT 1 FROM ci_attribute_values o WHERE o.is_unique = 1 AND o.class_id = ci_attribute_values.class_id
      AND o.key = ci_attribute_values.key AND o.value = ci_attribute_values.value AND o.ci_id < ci_attribute_values.ci_id);
CREATE UNIQUE INDEX ci_attribute_unique ON ci_attribute_values(class_id, key, value) WHERE is_unique = 1;

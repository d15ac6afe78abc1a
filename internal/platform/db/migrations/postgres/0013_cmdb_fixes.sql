-- Fixes to the CMDB schema.

-- A CI's history outlives the CI: deleting a CI writes a last "deleted"
-- row, and its history stays readable by its id.
ALTER TABLE ci_history DROP CONSTRAINT ci_history_ci_id_fkey;

-- Deleting a CI clears alerts.ci_id (ON DELETE SET NULL): without an
-- index, every delete would read all alerts.
CREATE INDEX alerts_ci ON alerts(ci_id) WHERE ci_id IS NOT NULL;

-- Unique attributes hold under concurrent writes: the values of attributes
-- that their class defines as unique are marked, and a partial unique
-- index refuses a second CI of the class with the same value.
ALTER TABLE ci_attribute_values ADD COLUMN is_unique BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE ci_attribute_values v SET is_unique = TRUE
    FROM ci_classes k, json_array_elements(k.attributes::json) a
    WHERE k.id = v.class_id AND a->>'key' = v.key AND a->>'unique' = 'true';
-- A value that already repeats stays marked on its first CI only (the
-- others are still refused by the check on their next change).
UPDATE ci_attribute_values v SET is_unique = FALSE WHERE is_unique AND EXISTS (
    SELECT 1 FROM ci_attribute_values o WHERE o.is_unique AND o.class_id = v.class_id
      AND o.key = v.key AND o.value = v.value AND o.ci_id < v.ci_id);
CREATE UNIQUE INDEX ci_attribute_unique ON ci_attribute_values(class_id, key, value) WHERE is_unique;

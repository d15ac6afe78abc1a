-- Each replica keeps the CIs of open incidents (incident_cis) in memory for
-- grouping alerts by topology. incident_cis_revision changes in the same
-- transaction as every change to incident_cis and every incident reopened,
-- so that a replica knows when its copy is stale. The application sets a
-- new random value, on condition that it is still the one it read, so that
-- a revision names one state of incident_cis; the triggers below add one.
CREATE TABLE incident_cis_revision (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL
);
INSERT INTO incident_cis_revision (id, revision) VALUES (1, 1);

-- A reopened incident's CIs count again: copies leave resolved incidents out.
CREATE TRIGGER incidents_reopened_cis AFTER UPDATE OF status ON incidents
WHEN old.status NOT IN ('triggered', 'acknowledged', 'investigating', 'on_hold')
    AND new.status IN ('triggered', 'acknowledged', 'investigating', 'on_hold')
BEGIN
    UPDATE incident_cis_revision SET revision = revision + 1 WHERE id = 1;
END;

-- A deleted CI takes its incident_cis rows with it (ON DELETE CASCADE).
CREATE TRIGGER cis_deleted_incident_cis BEFORE DELETE ON cis
WHEN EXISTS (SELECT 1 FROM incident_cis WHERE ci_id = old.id)
BEGIN
    UPDATE incident_cis_revision SET revision = revision + 1 WHERE id = 1;
END;

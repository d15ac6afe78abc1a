-- The state of SQLite's deferred repeats (see the SQLite migration of the
-- same number and internal/event/deferred.go). PostgreSQL writes every
-- repeat in its own commit, since several servers may share its alerts; the
-- table is here so that both schemas stay the same.
CREATE TABLE ingest_state (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    applied_event_id BIGINT  NOT NULL,
    alert_epoch      BIGINT  NOT NULL
);
INSERT INTO ingest_state (id, applied_event_id, alert_epoch)
SELECT 1, COALESCE(MAX(id), 0), 0 FROM events;

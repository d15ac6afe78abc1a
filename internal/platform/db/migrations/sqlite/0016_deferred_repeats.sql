-- Under a sustained burst, SQLite's ingest writes the counters and last
-- payload of repeated alerts behind their events (internal/event/deferred.go):
-- the events are stored before they are answered, and each alert is written
-- once per flush instead of once per commit.
--
-- applied_event_id: every raw event up to it is reflected in its alert, so
-- that after a crash only the events past it are replayed into their alerts.
-- alert_epoch: moves whenever an alert's status changes or an alert is
-- deleted, by whatever statement, so that the ingester knows when the open
-- alerts it remembers may be stale.
CREATE TABLE ingest_state (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    applied_event_id INTEGER NOT NULL,
    alert_epoch      INTEGER NOT NULL
);
INSERT INTO ingest_state (id, applied_event_id, alert_epoch)
SELECT 1, COALESCE(MAX(id), 0), 0 FROM events;

CREATE TRIGGER alerts_status_epoch AFTER UPDATE OF status ON alerts
WHEN new.status <> old.status
BEGIN
    UPDATE ingest_state SET alert_epoch = alert_epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER alerts_deleted_epoch AFTER DELETE ON alerts
BEGIN
    UPDATE ingest_state SET alert_epoch = alert_epoch + 1 WHERE id = 1;
END;

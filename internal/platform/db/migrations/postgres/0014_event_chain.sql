-- The raw events of an alert form a chain, newest first: alerts.last_event_id
-- is the alert's newest event, and each event's prev_id the one before it.
-- Ingest appends to the events table without an index to keep up (an index
-- on alert_id cost a random page write per event); an alert's events are
-- read by walking its chain. Its last payload is its newest trigger
-- (alerts.trigger_event_id); retention copies that into alerts.last_event
-- before it prunes it.
ALTER TABLE events ADD COLUMN prev_id BIGINT;
ALTER TABLE alerts ADD COLUMN last_event_id BIGINT;
ALTER TABLE alerts ADD COLUMN trigger_event_id BIGINT;

UPDATE events SET prev_id = c.prev
FROM (SELECT id, lag(id) OVER (PARTITION BY alert_id ORDER BY id) AS prev FROM events WHERE alert_id IS NOT NULL) AS c
WHERE events.id = c.id AND c.prev IS NOT NULL;

UPDATE alerts SET last_event_id = (SELECT max(e.id) FROM events e WHERE e.alert_id = alerts.id),
    trigger_event_id = (SELECT max(e.id) FROM events e WHERE e.alert_id = alerts.id AND e.action = 'trigger');

DROP INDEX events_alert;

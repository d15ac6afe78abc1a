package event

import (
	"context"
	"encoding/json"
	"math"
	"time"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/page"
)

// Raw is one stored inbound event, as it was normalized on arrival.
type Raw struct {
	ID         int64     `json:"id"`
	ReceivedAt time.Time `json:"received_at"`
	ServiceID  int64     `json:"service_id"`
	AlertID    *int64    `json:"alert_id"`
	Event      Event     `json:"event"`
}

// RawFilter selects raw events: of one alert, or of the alerts of one incident.
type RawFilter struct {
	AlertID    int64
	IncidentID int64
}

// ListRaw lists stored events newest first. The caller checks that the
// alert or incident may be read.
//
// There is no index of events by alert (ingest would pay a random page
// write per event for it): each alert points at its newest event and each
// event at the one before it of the same alert, so a page walks those
// chains from their heads, at most a page's worth of events below the
// cursor from each, and keeps the newest of what it found.
func ListRaw(ctx context.Context, d *db.DB, f RawFilter, p page.Request) (page.List[Raw], error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return page.List[Raw]{}, err
	}
	heads := "SELECT last_event_id FROM alerts WHERE id = $1 AND last_event_id IS NOT NULL"
	id := f.AlertID
	if id == 0 {
		heads = "SELECT last_event_id FROM alerts WHERE incident_id = $1 AND last_event_id IS NOT NULL"
		id = f.IncidentID
	}
	before := int64(math.MaxInt64)
	if p.After > 0 {
		before = p.After
	}
	// walk(id, n): an event of a chain and how many events below the
	// cursor the chain gave before it.
	q := `WITH RECURSIVE walk(id, n) AS (
			SELECT h.last_event_id, 0 FROM (` + heads + `) AS h
			UNION ALL
			SELECT e.prev_id, CASE WHEN e.id < $2 THEN w.n + 1 ELSE w.n END
			FROM walk w JOIN events e ON e.id = w.id
			WHERE e.prev_id IS NOT NULL AND (CASE WHEN e.id < $2 THEN w.n + 1 ELSE w.n END) < $3)
		SELECT e.id, e.received_at, e.service_id, e.alert_id, e.body FROM walk w JOIN events e ON e.id = w.id
		WHERE e.id < $2 ORDER BY e.id DESC LIMIT $3`
	out, err := db.All(ctx, d.R, func(r db.Scanner) (Raw, error) {
		var e Raw
		var at int64
		var body string
		var alert *int64
		if err := r.Scan(&e.ID, &at, &e.ServiceID, &alert, &body); err != nil {
			return e, err
		}
		e.ReceivedAt, e.AlertID = clock.FromMillis(at), alert
		_ = json.Unmarshal([]byte(body), &e.Event)
		return e, nil
	}, q, id, before, p.Limit+1)
	if err != nil {
		return page.List[Raw]{}, err
	}
	return page.Cut(out, p, func(e Raw) int64 { return e.ID }), nil
}

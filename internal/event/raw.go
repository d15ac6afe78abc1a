package event

import (
	"context"
	"encoding/json"
	"strconv"
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
func ListRaw(ctx context.Context, d *db.DB, f RawFilter, p page.Request) (page.List[Raw], error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return page.List[Raw]{}, err
	}
	q := "SELECT id, received_at, service_id, alert_id, body FROM events WHERE "
	var args []any
	switch {
	case f.AlertID != 0:
		q += "alert_id = $1"
		args = append(args, f.AlertID)
	default:
		q += "alert_id IN (SELECT id FROM alerts WHERE incident_id = $1)"
		args = append(args, f.IncidentID)
	}
	if p.After > 0 {
		args = append(args, p.After)
		q += " AND id < $" + strconv.Itoa(len(args))
	}
	args = append(args, p.Limit+1)
	q += " ORDER BY id DESC LIMIT $" + strconv.Itoa(len(args))
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
	}, q, args...)
	if err != nil {
		return page.List[Raw]{}, err
	}
	return page.Cut(out, p, func(e Raw) int64 { return e.ID }), nil
}

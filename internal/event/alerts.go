package event

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/page"
)

// Alert statuses. An alert is open while it is triggered or acknowledged; at
// most one alert per service and dedup key is open.
const (
	StatusTriggered    = "triggered"
	StatusAcknowledged = "acknowledged"
	StatusResolved     = "resolved"
	// StatusOpen is a filter, not a status: triggered or acknowledged.
	StatusOpen = "open"
)

// Alert is the dedup state of events with one dedup key on one service: how
// often they came, when first and last, and where the alert stands.
type Alert struct {
	ID             int64             `json:"id"`
	ServiceID      int64             `json:"service_id"`
	DedupKey       string            `json:"dedup_key"`
	Status         string            `json:"status"`
	Severity       Severity          `json:"severity"`
	Summary        string            `json:"summary"`
	Host           string            `json:"host"`
	Source         Source            `json:"source"`
	Labels         map[string]string `json:"labels"`
	Count          int64             `json:"count"`
	FirstSeen      time.Time         `json:"first_seen"`
	LastSeen       time.Time         `json:"last_seen"`
	AcknowledgedAt *time.Time        `json:"acknowledged_at"`
	ResolvedAt     *time.Time        `json:"resolved_at"`
	IncidentID     *int64            `json:"incident_id"`
	// Suppressed lists why the alert pages nobody ("silence:3,maintenance:1");
	// empty when it may page.
	Suppressed string `json:"suppressed"`
	// LastEvent is the last event that triggered or updated the alert; only
	// GetAlert fills it in.
	LastEvent *Event `json:"last_event,omitempty"`
}

// AlertFilter selects alerts; zero values select everything.
type AlertFilter struct {
	ServiceID int64
	// Status is triggered, acknowledged, resolved, or open (not resolved).
	Status   string
	DedupKey string
	// IncidentID selects the alerts grouped into one incident.
	IncidentID int64
}

// Validate names the invalid filters.
func (f AlertFilter) Validate() error {
	var fe errs.Fields
	switch f.Status {
	case "", StatusTriggered, StatusAcknowledged, StatusResolved, StatusOpen:
	default:
		fe.Add("status", "must be triggered, acknowledged, resolved or open")
	}
	fe.Check(len(f.DedupKey) > MaxDedupKey, "dedup_key", "is longer than "+strconv.Itoa(MaxDedupKey)+" characters")
	return fe.Err()
}

const alertCols = "id, service_id, dedup_key, status, severity, summary, host, source, labels, count, first_seen, last_seen, acknowledged_at, resolved_at, incident_id, suppressed"

func scanAlert(r db.Scanner, extra ...any) (Alert, error) {
	var a Alert
	var labels string
	var first, last int64
	var acked, resolved, incident sql.NullInt64
	dest := append([]any{&a.ID, &a.ServiceID, &a.DedupKey, &a.Status, &a.Severity, &a.Summary, &a.Host, &a.Source,
		&labels, &a.Count, &first, &last, &acked, &resolved, &incident, &a.Suppressed}, extra...)
	if err := r.Scan(dest...); err != nil {
		return a, err
	}
	if err := json.Unmarshal([]byte(labels), &a.Labels); err != nil || a.Labels == nil {
		a.Labels = map[string]string{}
	}
	a.FirstSeen, a.LastSeen = clock.FromMillis(first), clock.FromMillis(last)
	a.AcknowledgedAt, a.ResolvedAt = db.NullMillis(acked), db.NullMillis(resolved)
	if incident.Valid {
		a.IncidentID = &incident.Int64
	}
	return a, nil
}

// ListAlerts lists alerts newest first (by id, descending); the cursor is
// the id of the last alert of the previous page.
func ListAlerts(ctx context.Context, d *db.DB, f AlertFilter, p page.Request) (page.List[Alert], error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return page.List[Alert]{}, err
	}
	if err := f.Validate(); err != nil {
		return page.List[Alert]{}, err
	}
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.ServiceID != 0 {
		add("service_id = ?", f.ServiceID)
	}
	switch f.Status {
	case "":
	case StatusOpen:
		where = append(where, "status <> 'resolved'")
	default:
		add("status = ?", f.Status)
	}
	if f.DedupKey != "" {
		add("dedup_key = ?", f.DedupKey)
	}
	if f.IncidentID != 0 {
		add("incident_id = ?", f.IncidentID)
	}
	if p.After > 0 {
		add("id < ?", p.After)
	}
	q := "SELECT " + alertCols + " FROM alerts"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, p.Limit+1)
	q += " ORDER BY id DESC LIMIT $" + strconv.Itoa(len(args))
	out, err := db.All(ctx, d.R, func(r db.Scanner) (Alert, error) { return scanAlert(r) }, q, args...)
	if err != nil {
		return page.List[Alert]{}, err
	}
	return page.Cut(out, p, func(a Alert) int64 { return a.ID }), nil
}

// GetAlert returns one alert with its last event: the raw event of its
// newest trigger, or, once retention has pruned that, the copy kept in the
// alert row.
func GetAlert(ctx context.Context, d *db.DB, id int64) (Alert, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return Alert{}, err
	}
	var last string
	a, err := scanAlert(d.R.QueryRowContext(ctx, "SELECT "+alertCols+
		", COALESCE((SELECT e.body FROM events e WHERE e.id = alerts.trigger_event_id), last_event) FROM alerts WHERE id = $1", id), &last)
	if errors.Is(err, sql.ErrNoRows) {
		return a, errs.NotFound("alert %d not found", id)
	}
	if err != nil {
		return a, db.Classify(err)
	}
	var ev Event
	if json.Unmarshal([]byte(last), &ev) == nil && ev.Action != "" {
		a.LastEvent = &ev
	}
	return a, nil
}

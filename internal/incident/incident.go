// Package incident is incident management: alerts become incidents (grouped
// per service and group labels within a time window), each with a priority
// from impact × urgency, an owner, a lifecycle and a timeline of everything
// that happened to it.
package incident

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/reqctx"
)

// Status is where an incident is in its lifecycle.
type Status string

const (
	Triggered     Status = "triggered"
	Acknowledged  Status = "acknowledged"
	Investigating Status = "investigating"
	// OnHold waits on someone outside the team (a vendor); it pauses the SLA clock.
	OnHold   Status = "on_hold"
	Resolved Status = "resolved"
	Closed   Status = "closed"
)

// Open reports whether s is a state in which work is still to be done.
func (s Status) Open() bool {
	return s == Triggered || s == Acknowledged || s == Investigating || s == OnHold
}

func (s Status) valid() bool { return s.Open() || s == Resolved || s == Closed }

// openStatuses is the SQL list of open states.
const openStatuses = "('triggered', 'acknowledged', 'investigating', 'on_hold')"

// Incident is one incident.
type Incident struct {
	ID             int64      `json:"id"`
	Number         string     `json:"number"` // INC-<id>
	Title          string     `json:"title"`
	ServiceID      *int64     `json:"service_id"`
	TeamID         *int64     `json:"team_id"`
	AssigneeID     *int64     `json:"assignee_id"`
	Status         Status     `json:"status"`
	Impact         int        `json:"impact"`
	Urgency        int        `json:"urgency"`
	Priority       string     `json:"priority"`
	Severity       string     `json:"severity"`
	Major          bool       `json:"major"`
	Security       bool       `json:"security"`
	GroupKey       string     `json:"group_key"`
	AlertCount     int        `json:"alert_count"`
	OpenAlertCount int        `json:"open_alert_count"`
	Tags           []string   `json:"tags"`
	Resolution     string     `json:"resolution"`
	CreatedAt      time.Time  `json:"created_at"`
	LastAlertAt    time.Time  `json:"last_alert_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	AcknowledgedAt *time.Time `json:"acknowledged_at"`
	ResolvedAt     *time.Time `json:"resolved_at"`
	ClosedAt       *time.Time `json:"closed_at"`
	Version        int64      `json:"version"`
}

// Number formats an incident id as its human number.
func Number(id int64) string { return "INC-" + strconv.FormatInt(id, 10) }

// ParseNumber reads "INC-42" or "42".
func ParseNumber(s string) (int64, bool) {
	s = strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "INC-")
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

const cols = `id, title, service_id, team_id, assignee_id, status, impact, urgency, priority, severity, major, security,
	group_key, alert_count, open_alert_count, tags, resolution, created_at, last_alert_at, updated_at,
	acknowledged_at, resolved_at, closed_at, version`

func scan(r db.Scanner) (Incident, error) {
	var in Incident
	var svc, team, assignee, acked, resolved, closed sql.NullInt64
	var tags string
	var created, lastAlert, updated int64
	err := r.Scan(&in.ID, &in.Title, &svc, &team, &assignee, &in.Status, &in.Impact, &in.Urgency, &in.Priority,
		&in.Severity, &in.Major, &in.Security, &in.GroupKey, &in.AlertCount, &in.OpenAlertCount, &tags, &in.Resolution,
		&created, &lastAlert, &updated, &acked, &resolved, &closed, &in.Version)
	if err != nil {
		return in, err
	}
	in.Number = Number(in.ID)
	in.ServiceID, in.TeamID, in.AssigneeID = db.IDPtr(svc), db.IDPtr(team), db.IDPtr(assignee)
	in.CreatedAt, in.LastAlertAt, in.UpdatedAt = clock.FromMillis(created), clock.FromMillis(lastAlert), clock.FromMillis(updated)
	in.AcknowledgedAt, in.ResolvedAt, in.ClosedAt = db.NullMillis(acked), db.NullMillis(resolved), db.NullMillis(closed)
	if err := json.Unmarshal([]byte(tags), &in.Tags); err != nil || in.Tags == nil {
		in.Tags = []string{}
	}
	return in, nil
}

// Manager runs incidents.
type Manager struct {
	DB     *db.DB
	Audit  *audit.Log
	Clock  clock.Clock
	Log    *slog.Logger
	Matrix Matrix
	// OnBreach, when set, is told of each SLA breach (for metrics).
	OnBreach func(kind, priority string)
	// OnChange, when set, is told of each lifecycle step (escalation reacts
	// to them) inside the transaction that made it; its error undoes the step.
	OnChange func(ctx context.Context, tx *sql.Tx, c Change) error
	// Topology, when set, groups alerts that name CIs by the CMDB's
	// topology and records the CIs of incidents (see topology.go).
	Topology Topology
	big      bigIncidents
	cis      ciCache // the open incidents' CIs (see topology_cache.go)
}

// Change kinds handed to OnChange.
const (
	ChangeOpened       = "opened"
	ChangeAcknowledged = "acknowledged" // also investigating or on hold, from triggered
	ChangeResolved     = "resolved"     // also closed
	ChangeReopened     = "reopened"
	ChangeReassigned   = "reassigned" // a new assignee or team on an open incident
)

// Change is one lifecycle step of an incident.
type Change struct {
	IncidentID int64
	ServiceID  *int64
	Kind       string
	AssigneeID *int64
	TeamID     *int64
}

func (m *Manager) changed(ctx context.Context, tx *sql.Tx, c Change) error {
	if m.OnChange == nil {
		return nil
	}
	return m.OnChange(ctx, tx, c)
}

// Note appends an entry to an incident's timeline in tx, as the actor of ctx
// (for capabilities that act on incidents: escalation, notifications).
func (m *Manager) Note(ctx context.Context, tx *sql.Tx, incidentID int64, kind, body string, data map[string]any) error {
	return m.note(ctx, tx, incidentID, kind, body, data)
}

// New returns a manager with the ITIL default priority matrix.
func New(d *db.DB, a *audit.Log, c clock.Clock, log *slog.Logger) *Manager {
	return &Manager{DB: d, Audit: a, Clock: c, Log: log, Matrix: DefaultMatrix()}
}

func get(ctx context.Context, q db.Querier, id int64) (Incident, error) {
	in, err := scan(q.QueryRowContext(ctx, "SELECT "+cols+" FROM incidents WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return in, errs.NotFound("incident %s not found", Number(id))
	}
	return in, db.Classify(err)
}

// Entry is one line of an incident's timeline.
type Entry struct {
	ID        int64          `json:"id"`
	At        time.Time      `json:"at"`
	Kind      string         `json:"kind"`
	ActorType string         `json:"actor_type"`
	ActorID   string         `json:"actor_id"`
	ActorName string         `json:"actor_name"`
	Body      string         `json:"body"`
	Data      map[string]any `json:"data"`
}

// note appends a timeline entry in tx, as the actor of ctx.
func (m *Manager) note(ctx context.Context, tx *sql.Tx, incidentID int64, kind, body string, data map[string]any) error {
	a := reqctx.ActorFrom(ctx)
	if data == nil {
		data = map[string]any{}
	}
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("timeline data: %w", err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO incident_timeline (incident_id, at, kind, actor_type, actor_id, actor_name, body, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, incidentID, m.Clock.Now().UnixMilli(), kind, a.Type, a.ID, a.Name, body, string(b))
	return err
}

func scanEntry(r db.Scanner) (Entry, error) {
	var e Entry
	var at int64
	var data string
	err := r.Scan(&e.ID, &at, &e.Kind, &e.ActorType, &e.ActorID, &e.ActorName, &e.Body, &data)
	e.At = clock.FromMillis(at)
	if json.Unmarshal([]byte(data), &e.Data) != nil || e.Data == nil {
		e.Data = map[string]any{}
	}
	return e, err
}

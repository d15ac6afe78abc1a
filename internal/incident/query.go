package incident

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/page"
)

// mayRead reports whether the caller may read a security incident: admins
// and members of its team may; nobody else learns it exists.
func mayRead(ctx context.Context, q db.Querier, in Incident) (bool, error) {
	if !in.Security {
		return true, nil
	}
	p, ok := iam.PrincipalFrom(ctx)
	if !ok || p.Role.AtLeast(iam.RoleAdmin) {
		return true, nil
	}
	if in.TeamID == nil || p.UserID == 0 {
		return false, nil
	}
	var n int
	err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM team_members WHERE team_id = $1 AND user_id = $2", *in.TeamID, p.UserID).Scan(&n)
	return n > 0, db.Classify(err)
}

// visible loads an incident the caller may read.
func (m *Manager) visible(ctx context.Context, q db.Querier, id int64) (Incident, error) {
	in, err := get(ctx, q, id)
	if err != nil {
		return in, err
	}
	ok, err := mayRead(ctx, q, in)
	if err != nil {
		return in, err
	}
	if !ok {
		return Incident{}, errs.NotFound("incident %s not found", Number(id))
	}
	return in, nil
}

// Get returns one incident.
func (m *Manager) Get(ctx context.Context, id int64) (Incident, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return Incident{}, err
	}
	return m.visible(ctx, m.DB.R, id)
}

// Filter selects incidents; zero fields match all.
type Filter struct {
	ServiceID  int64
	TeamID     int64
	AssigneeID int64
	Statuses   []Status
	Priority   string
	Major      *bool
	Tag        string
}

// Validate checks the filter's values.
func (f Filter) Validate() error {
	var fe errs.Fields
	for _, s := range f.Statuses {
		fe.Check(!s.valid() && s != "open", "status", "must be triggered, acknowledged, investigating, on_hold, resolved, closed or open")
	}
	fe.Check(f.Priority != "" && !ValidPriority(f.Priority), "priority", "must be P1, P2, P3, P4 or P5")
	return fe.Err()
}

// List lists incidents newest first.
func (m *Manager) List(ctx context.Context, f Filter, p page.Request) (page.List[Incident], error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return page.List[Incident]{}, err
	}
	if err := f.Validate(); err != nil {
		return page.List[Incident]{}, err
	}
	var where []string
	var args []any
	add := func(cond string, v ...any) {
		for _, x := range v {
			args = append(args, x)
			cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(args)), 1)
		}
		where = append(where, cond)
	}
	if p.After > 0 {
		add("id < ?", p.After)
	}
	if f.ServiceID != 0 {
		add("service_id = ?", f.ServiceID)
	}
	if f.TeamID != 0 {
		add("team_id = ?", f.TeamID)
	}
	if f.AssigneeID != 0 {
		add("assignee_id = ?", f.AssigneeID)
	}
	if len(f.Statuses) > 0 {
		var ph []string
		var vals []any
		for _, s := range f.Statuses {
			if s == "open" {
				for _, o := range []Status{Triggered, Acknowledged, Investigating, OnHold} {
					ph, vals = append(ph, "?"), append(vals, string(o))
				}
				continue
			}
			ph, vals = append(ph, "?"), append(vals, string(s))
		}
		add("status IN ("+strings.Join(ph, ", ")+")", vals...)
	}
	if f.Priority != "" {
		add("priority = ?", f.Priority)
	}
	if f.Major != nil {
		add("major = ?", *f.Major)
	}
	if f.Tag != "" {
		add(`tags LIKE ? ESCAPE '\'`, "%\""+db.LikeEscape(strings.ToLower(f.Tag))+"\"%")
	}
	if cond, vargs := visibility(ctx, len(args)+1); cond != "" {
		args = append(args, vargs...)
		where = append(where, cond)
	}
	q := "SELECT " + cols + " FROM incidents"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, p.Limit+1)
	q += " ORDER BY id DESC LIMIT $" + strconv.Itoa(len(args))
	var out []Incident
	var err error
	if m.DB.Dialect == db.Postgres {
		out, err = customPlan(ctx, m.DB, func(q2 db.Querier) ([]Incident, error) { return db.All(ctx, q2, scan, q, args...) })
	} else {
		out, err = db.All(ctx, m.DB.R, scan, q, args...)
	}
	if err != nil {
		return page.List[Incident]{}, err
	}
	return page.Cut(out, p, func(in Incident) int64 { return in.ID }), nil
}

// Timeline returns everything that happened to an incident, in order.
func (m *Manager) Timeline(ctx context.Context, id int64) ([]Entry, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return nil, err
	}
	if _, err := m.visible(ctx, m.DB.R, id); err != nil {
		return nil, err
	}
	out, err := db.All(ctx, m.DB.R, scanEntry, `SELECT id, at, kind, actor_type, actor_id, actor_name, body, data
		FROM incident_timeline WHERE incident_id = $1 ORDER BY id`, id)
	if out == nil {
		out = []Entry{}
	}
	return out, err
}

// Related lists the incidents linked to one.
func (m *Manager) Related(ctx context.Context, id int64) ([]Incident, error) {
	if _, err := m.Get(ctx, id); err != nil {
		return nil, err
	}
	all, err := db.All(ctx, m.DB.R, scan, "SELECT "+cols+` FROM incidents WHERE id IN
		(SELECT related_id FROM incident_links WHERE incident_id = $1) ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	out := []Incident{}
	for _, in := range all {
		if ok, err := mayRead(ctx, m.DB.R, in); err == nil && ok {
			out = append(out, in)
		}
	}
	return out, nil
}

// Alerts lists the alerts grouped into an incident, newest first.
func (m *Manager) Alerts(ctx context.Context, id int64, p page.Request) (page.List[event.Alert], error) {
	if _, err := m.Get(ctx, id); err != nil {
		return page.List[event.Alert]{}, err
	}
	return event.ListAlerts(ctx, m.DB, event.AlertFilter{IncidentID: id}, p)
}

// Events lists the raw events of an incident's alerts, newest first.
func (m *Manager) Events(ctx context.Context, id int64, p page.Request) (page.List[event.Raw], error) {
	if _, err := m.Get(ctx, id); err != nil {
		return page.List[event.Raw]{}, err
	}
	return event.ListRaw(ctx, m.DB, event.RawFilter{IncidentID: id}, p)
}

// customPlan runs a list query on PostgreSQL with a plan made for its actual
// values. A prepared statement otherwise falls back to a generic plan after
// five runs, and for a selective filter on a later page that plan walks the
// primary key over the whole table (about a second at a million incidents,
// against 3 ms for the custom plan).
func customPlan[T any](ctx context.Context, d *db.DB, run func(db.Querier) ([]T, error)) ([]T, error) {
	tx, err := d.R.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, db.Classify(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SET LOCAL plan_cache_mode = force_custom_plan"); err != nil {
		return nil, db.Classify(err)
	}
	return run(tx)
}

package incident

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/page"
)

// Reads that pages (and other clients) need around incidents: which actions
// an incident offers, the names behind the ids of a list, counts for a
// dashboard, and alerts with the visibility rules of their incidents.

// NextStatuses lists the states an incident in s may move to, so that a
// client offers only the actions that can succeed.
func NextStatuses(s Status) []Status { return slices.Clone(next[s]) }

// Names maps ids to display names.
type Names struct {
	Services map[int64]string
	Teams    map[int64]string
	Users    map[int64]string
}

// Service, Team and User return the name of an id, "" when unknown or nil.
func (n Names) Service(id *int64) string { return lookup(n.Services, id) }
func (n Names) Team(id *int64) string    { return lookup(n.Teams, id) }
func (n Names) User(id *int64) string    { return lookup(n.Users, id) }

func lookup(m map[int64]string, id *int64) string {
	if id == nil {
		return ""
	}
	return m[*id]
}

// maxNames bounds one lookup; lists are paged far below it.
const maxNames = 1000

// Names looks up the names of services, teams and users with one query per
// kind, for a page that shows many incidents or alerts.
func (m *Manager) Names(ctx context.Context, serviceIDs, teamIDs, userIDs []int64) (Names, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return Names{}, err
	}
	var n Names
	var err error
	if n.Services, err = m.names(ctx, "SELECT id, name FROM services WHERE id IN ", serviceIDs); err != nil {
		return n, err
	}
	if n.Teams, err = m.names(ctx, "SELECT id, name FROM teams WHERE id IN ", teamIDs); err != nil {
		return n, err
	}
	n.Users, err = m.names(ctx, "SELECT id, name FROM users WHERE id IN ", userIDs)
	return n, err
}

func (m *Manager) names(ctx context.Context, q string, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	ids = uniqueIDs(ids)
	if len(ids) == 0 {
		return out, nil
	}
	if len(ids) > maxNames {
		return nil, errs.Invalid("ids", "too many names asked for at once")
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := m.DB.R.QueryContext(ctx, q+"("+m.DB.Dialect.Params(1, len(ids))+")", args...)
	if err != nil {
		return nil, db.Classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, err
		}
		out[id] = name
	}
	return out, db.Classify(rows.Err())
}

func uniqueIDs(ids []int64) []int64 {
	out := make([]int64, 0, len(ids))
	seen := map[int64]bool{}
	for _, id := range ids {
		if id > 0 && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// NamesOf looks up the names that a list of incidents shows.
func (m *Manager) NamesOf(ctx context.Context, ins ...Incident) (Names, error) {
	var svc, team, user []int64
	for _, in := range ins {
		if in.ServiceID != nil {
			svc = append(svc, *in.ServiceID)
		}
		if in.TeamID != nil {
			team = append(team, *in.TeamID)
		}
		if in.AssigneeID != nil {
			user = append(user, *in.AssigneeID)
		}
	}
	return m.Names(ctx, svc, team, user)
}

// visibility is the SQL condition (on a table with security and team_id
// columns) that keeps only the incidents the caller may read, with its
// argument; "" when the caller may read everything. (A security incident of
// no team makes it NULL, which a WHERE clause treats as false: hidden.)
func visibility(ctx context.Context, param int) (string, []any) {
	p, ok := iam.PrincipalFrom(ctx)
	if !ok || p.Role.AtLeast(iam.RoleAdmin) {
		return "", nil
	}
	return "(NOT security OR team_id IN (SELECT team_id FROM team_members WHERE user_id = $" + strconv.Itoa(param) + "))",
		[]any{p.UserID}
}

// OpenCounts counts the open incidents per priority that the caller may
// read; without a caller (metrics), all of them.
func (m *Manager) OpenCounts(ctx context.Context) (map[string]int, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return nil, err
	}
	q := "SELECT priority, COUNT(*) FROM incidents WHERE status IN " + openStatuses
	cond, args := visibility(ctx, 1)
	if cond != "" {
		q += " AND " + cond
	}
	rows, err := m.DB.R.QueryContext(ctx, q+" GROUP BY priority", args...)
	if err != nil {
		return nil, db.Classify(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var p string
		var n int
		if err := rows.Scan(&p, &n); err != nil {
			return nil, err
		}
		out[p] = n
	}
	return out, db.Classify(rows.Err())
}

// hidden returns which of the incidents the caller may not read: security
// incidents of no team of theirs (or of no team at all), unless they are an admin.
func (m *Manager) hidden(ctx context.Context, ids []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	ids = uniqueIDs(ids)
	p, ok := iam.PrincipalFrom(ctx)
	if len(ids) == 0 || !ok || p.Role.AtLeast(iam.RoleAdmin) {
		return out, nil
	}
	args := make([]any, 0, len(ids)+1)
	ph := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		ph[i] = "$" + strconv.Itoa(i+1)
	}
	args = append(args, p.UserID)
	rows, err := m.DB.R.QueryContext(ctx, "SELECT id FROM incidents WHERE id IN ("+strings.Join(ph, ", ")+`) AND security
		AND (team_id IS NULL OR team_id NOT IN (SELECT team_id FROM team_members WHERE user_id = $`+strconv.Itoa(len(ids)+1)+"))", args...)
	if err != nil {
		return nil, db.Classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, db.Classify(rows.Err())
}

// ListAlerts lists alerts like event.ListAlerts, leaving out the alerts of
// security incidents the caller may not read (a page may so hold fewer
// items; its next cursor stays right).
func (m *Manager) ListAlerts(ctx context.Context, f event.AlertFilter, p page.Request) (page.List[event.Alert], error) {
	l, err := event.ListAlerts(ctx, m.DB, f, p)
	if err != nil {
		return l, err
	}
	var ids []int64
	for _, a := range l.Items {
		if a.IncidentID != nil {
			ids = append(ids, *a.IncidentID)
		}
	}
	hide, err := m.hidden(ctx, ids)
	if err != nil || len(hide) == 0 {
		return l, err
	}
	kept := l.Items[:0]
	for _, a := range l.Items {
		if a.IncidentID == nil || !hide[*a.IncidentID] {
			kept = append(kept, a)
		}
	}
	l.Items = kept
	return l, nil
}

// GetAlert returns one alert with its last event, unless it belongs to a
// security incident the caller may not read.
func (m *Manager) GetAlert(ctx context.Context, id int64) (event.Alert, error) {
	a, err := event.GetAlert(ctx, m.DB, id)
	if err != nil || a.IncidentID == nil {
		return a, err
	}
	hide, err := m.hidden(ctx, []int64{*a.IncidentID})
	if err != nil {
		return event.Alert{}, err
	}
	if hide[*a.IncidentID] {
		return event.Alert{}, errs.NotFound("alert %d not found", id)
	}
	return a, nil
}

// AlertEvents lists the raw events of an alert the caller may read, newest first.
func (m *Manager) AlertEvents(ctx context.Context, alertID int64, p page.Request) (page.List[event.Raw], error) {
	if _, err := m.GetAlert(ctx, alertID); err != nil {
		return page.List[event.Raw]{}, err
	}
	return event.ListRaw(ctx, m.DB, event.RawFilter{AlertID: alertID}, p)
}

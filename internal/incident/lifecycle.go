package incident

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// next lists where each state may go. Acknowledge, resolve and the like on an
// incident already there succeed and change nothing, as PagerDuty's do.
var next = map[Status][]Status{
	Triggered:     {Acknowledged, Investigating, OnHold, Resolved},
	Acknowledged:  {Investigating, OnHold, Resolved},
	Investigating: {OnHold, Resolved},
	OnHold:        {Investigating, Resolved},
	Resolved:      {Closed, Triggered},
	Closed:        {Triggered},
}

func allowed(from, to Status) bool {
	for _, s := range next[from] {
		if s == to {
			return true
		}
	}
	return false
}

// SetStatus moves an incident to a new state, with a note (the resolution,
// when resolving). Moving back to triggered from resolved or closed reopens
// it. ifVersion > 0 refuses a stale change.
func (m *Manager) SetStatus(ctx context.Context, id int64, to Status, text string, ifVersion int64) (Incident, error) {
	if err := iam.Require(ctx, iam.RoleResponder); err != nil {
		return Incident{}, err
	}
	if !to.valid() {
		return Incident{}, errs.Invalid("status", "must be triggered, acknowledged, investigating, on_hold, resolved or closed")
	}
	if len(text) > 20000 {
		return Incident{}, errs.Invalid("note", "must be at most 20000 characters")
	}
	var out Incident
	err := m.DB.Tx(ctx, func(tx *sql.Tx) error {
		in, err := m.visible(ctx, tx, id)
		if err != nil {
			return err
		}
		if ifVersion > 0 && in.Version != ifVersion {
			return errs.PreconditionFailed("incident %s has changed (version %d, not %d)", in.Number, in.Version, ifVersion)
		}
		// Acknowledging work that is already further along changes nothing.
		if in.Status == to || (to == Acknowledged && (in.Status == Investigating || in.Status == OnHold)) {
			out = in
			return nil
		}
		if !allowed(in.Status, to) {
			return errs.Conflict("incident %s is %s and cannot become %s", in.Number, in.Status, to)
		}
		now := m.Clock.Now().UnixMilli()
		q := "UPDATE incidents SET status = $1, updated_at = $2, version = version + 1"
		kind, body := string(to), "status changed to "+strings.ReplaceAll(string(to), "_", " ")
		switch to {
		case Acknowledged:
			q += ", acknowledged_at = COALESCE(acknowledged_at, $2)"
			if _, err := tx.ExecContext(ctx, "UPDATE alerts SET status = 'acknowledged', acknowledged_at = $1 WHERE incident_id = $2 AND status = 'triggered'", now, id); err != nil {
				return err
			}
			body = "acknowledged"
		case Resolved:
			q += ", resolved_at = $2, open_alert_count = 0, resolution = $4"
			if _, err := tx.ExecContext(ctx, "UPDATE alerts SET status = 'resolved', resolved_at = $1 WHERE incident_id = $2 AND status <> 'resolved'", now, id); err != nil {
				return err
			}
			body = "resolved"
			if text != "" {
				body += ": " + text
			}
		case Closed:
			q += ", closed_at = $2"
			body = "closed"
		case Triggered:
			q += ", resolved_at = NULL, closed_at = NULL"
			kind, body = "reopened", "reopened"
			if text != "" {
				body += ": " + text
			}
		}
		args := []any{string(to), now, id}
		if to == Resolved {
			args = append(args, text)
		}
		if _, err := tx.ExecContext(ctx, q+" WHERE id = $3", args...); err != nil {
			return err
		}
		if text != "" && to != Resolved && to != Triggered {
			body += ": " + text
		}
		if err := m.slaMoved(ctx, tx, id, in.Status, to, time.UnixMilli(now)); err != nil {
			return err
		}
		if err := m.note(ctx, tx, id, kind, body, map[string]any{"from": in.Status, "to": to}); err != nil {
			return err
		}
		if c := lifecycleChange(in.Status, to); c != "" {
			if err := m.changed(ctx, tx, Change{IncidentID: id, ServiceID: in.ServiceID, Kind: c,
				AssigneeID: in.AssigneeID, TeamID: in.TeamID}); err != nil {
				return err
			}
		}
		if to == Resolved {
			if err := m.reindex(ctx, tx, id); err != nil {
				return err
			}
		}
		if err := m.Audit.Record(ctx, tx, audit.Event{Action: "incident." + kind, ObjectType: "incident", ObjectID: id,
			Summary: in.Number + " " + body, Changes: audit.Diff("status", in.Status, to)}); err != nil {
			return err
		}
		out, err = get(ctx, tx, id)
		return err
	})
	return out, err
}

// Assign gives an incident to a user and/or a team; 0 clears one.
func (m *Manager) Assign(ctx context.Context, id int64, assigneeID, teamID *int64) (Incident, error) {
	if err := iam.Require(ctx, iam.RoleResponder); err != nil {
		return Incident{}, err
	}
	var out Incident
	err := m.DB.Tx(ctx, func(tx *sql.Tx) error {
		in, err := m.visible(ctx, tx, id)
		if err != nil {
			return err
		}
		a, t := in.AssigneeID, in.TeamID
		if assigneeID != nil {
			a = zeroNil(*assigneeID)
		}
		if teamID != nil {
			t = zeroNil(*teamID)
		}
		var names []string
		if a != nil {
			var email string
			if err := tx.QueryRowContext(ctx, "SELECT email FROM users WHERE id = $1", *a).Scan(&email); err != nil {
				return errs.Invalid("assignee_id", "names no user")
			}
			names = append(names, email)
		}
		if t != nil {
			var name string
			if err := tx.QueryRowContext(ctx, "SELECT name FROM teams WHERE id = $1", *t).Scan(&name); err != nil {
				return errs.Invalid("team_id", "names no team")
			}
			names = append(names, "team "+name)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE incidents SET assignee_id = $1, team_id = $2, updated_at = $3, version = version + 1 WHERE id = $4",
			db.IDOrNil(a), db.IDOrNil(t), m.Clock.Now().UnixMilli(), id); err != nil {
			return err
		}
		body := "unassigned"
		if len(names) > 0 {
			body = "assigned to " + strings.Join(names, " and ")
		}
		if err := m.note(ctx, tx, id, "assigned", body, map[string]any{"assignee_id": a, "team_id": t}); err != nil {
			return err
		}
		// A new person is paged; a new team only when nobody is assigned.
		newPerson := a != nil && audit.IDText(a) != audit.IDText(in.AssigneeID)
		newTeam := a == nil && t != nil && audit.IDText(t) != audit.IDText(in.TeamID)
		if in.Status.Open() && (newPerson || newTeam) {
			if err := m.changed(ctx, tx, Change{IncidentID: id, ServiceID: in.ServiceID, Kind: ChangeReassigned,
				AssigneeID: a, TeamID: t}); err != nil {
				return err
			}
		}
		if err := m.Audit.Record(ctx, tx, audit.Event{Action: "incident.assign", ObjectType: "incident", ObjectID: id,
			Summary: in.Number + " " + body, Changes: audit.Diff("assignee_id", audit.IDText(in.AssigneeID), audit.IDText(a), "team_id", audit.IDText(in.TeamID), audit.IDText(t))}); err != nil {
			return err
		}
		out, err = get(ctx, tx, id)
		return err
	})
	return out, err
}

// lifecycleChange names the step a status change is for escalation: leaving
// triggered for work stops it, an end stops everything, a reopen restarts it.
func lifecycleChange(from, to Status) string {
	switch {
	case to == Resolved || to == Closed:
		if from.Open() {
			return ChangeResolved
		}
	case to == Triggered:
		return ChangeReopened
	case from == Triggered:
		return ChangeAcknowledged
	}
	return ""
}

func zeroNil(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}

// AddNote writes a note on the timeline.
func (m *Manager) AddNote(ctx context.Context, id int64, text string) (Entry, error) {
	if err := iam.Require(ctx, iam.RoleResponder); err != nil {
		return Entry{}, err
	}
	text = strings.TrimSpace(text)
	if text == "" || len(text) > 20000 || !utf8.ValidString(text) || strings.ContainsRune(text, 0) {
		return Entry{}, errs.Invalid("body", "must be 1 to 20000 characters of text")
	}
	var out Entry
	err := m.DB.Tx(ctx, func(tx *sql.Tx) error {
		in, err := m.visible(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := m.note(ctx, tx, id, "note", text, nil); err != nil {
			return err
		}
		if err := m.reindex(ctx, tx, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE incidents SET updated_at = $1 WHERE id = $2", m.Clock.Now().UnixMilli(), id); err != nil {
			return err
		}
		if err := m.Audit.Record(ctx, tx, audit.Event{Action: "incident.note", ObjectType: "incident", ObjectID: id,
			Summary: "note on " + in.Number}); err != nil {
			return err
		}
		out, err = scanEntry(tx.QueryRowContext(ctx, `SELECT id, at, kind, actor_type, actor_id, actor_name, body, data
			FROM incident_timeline WHERE incident_id = $1 ORDER BY id DESC LIMIT 1`, id))
		return err
	})
	return out, err
}

// Patch changes an incident's description fields; nil fields stay.
type Patch struct {
	Title    *string   `json:"title,omitempty"`
	Impact   *int      `json:"impact,omitempty"`
	Urgency  *int      `json:"urgency,omitempty"`
	Major    *bool     `json:"major,omitempty"`
	Security *bool     `json:"security,omitempty"`
	Tags     *[]string `json:"tags,omitempty"`
}

func checkTitle(f *errs.Fields, t string) {
	f.Check(t == "", "title", "is required")
	f.Check(len(t) > 500 || strings.ContainsRune(t, 0), "title", "must be at most 500 characters of text")
}

func normTags(tags []string, f *errs.Fields) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, t := range tags {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" || seen[t] {
			continue
		}
		f.Check(len(t) > 64 || strings.ContainsAny(t, ",\x00"), "tags", "each tag must be at most 64 characters, without commas")
		seen[t] = true
		out = append(out, t)
	}
	f.Check(len(out) > 50, "tags", "must be at most 50")
	sort.Strings(out)
	return out
}

// Update changes title, impact, urgency (and so the priority), the major and
// security flags and the tags. ifVersion > 0 refuses a stale write.
func (m *Manager) Update(ctx context.Context, id int64, p Patch, ifVersion int64) (Incident, error) {
	if err := iam.Require(ctx, iam.RoleResponder); err != nil {
		return Incident{}, err
	}
	var out Incident
	err := m.DB.Tx(ctx, func(tx *sql.Tx) error {
		old, err := m.visible(ctx, tx, id)
		if err != nil {
			return err
		}
		if ifVersion > 0 && old.Version != ifVersion {
			return errs.PreconditionFailed("incident %s has changed (version %d, not %d)", old.Number, old.Version, ifVersion)
		}
		in := old
		var f errs.Fields
		if p.Title != nil {
			in.Title = strings.TrimSpace(*p.Title)
			checkTitle(&f, in.Title)
		}
		if p.Impact != nil {
			in.Impact = *p.Impact
			f.Check(in.Impact < 1 || in.Impact > 3, "impact", "must be 1 (high), 2 (medium) or 3 (low)")
		}
		if p.Urgency != nil {
			in.Urgency = *p.Urgency
			f.Check(in.Urgency < 1 || in.Urgency > 3, "urgency", "must be 1 (high), 2 (medium) or 3 (low)")
		}
		if p.Major != nil {
			in.Major = *p.Major
		}
		if p.Security != nil {
			in.Security = *p.Security
		}
		if p.Tags != nil {
			in.Tags = normTags(*p.Tags, &f)
		}
		if err := f.Err(); err != nil {
			return err
		}
		in.Priority = m.Matrix.Priority(in.Impact, in.Urgency)
		tags, _ := json.Marshal(in.Tags)
		if _, err := tx.ExecContext(ctx, `UPDATE incidents SET title = $1, impact = $2, urgency = $3, priority = $4, major = $5,
			security = $6, tags = $7, updated_at = $8, version = version + 1 WHERE id = $9`,
			in.Title, in.Impact, in.Urgency, in.Priority, in.Major, in.Security, string(tags), m.Clock.Now().UnixMilli(), id); err != nil {
			return err
		}
		ch := audit.Diff("title", old.Title, in.Title, "priority", old.Priority, in.Priority, "major", old.Major, in.Major,
			"security", old.Security, in.Security, "tags", strings.Join(old.Tags, ","), strings.Join(in.Tags, ","))
		if len(ch) > 0 {
			var parts []string
			for _, k := range []string{"title", "priority", "major", "security", "tags"} {
				if c, ok := ch[k].(map[string]any); ok {
					parts = append(parts, fmt.Sprintf("%s %v → %v", k, c["from"], c["to"]))
				}
			}
			if err := m.note(ctx, tx, id, "updated", strings.Join(parts, "; "), ch); err != nil {
				return err
			}
		}
		if err := m.reindex(ctx, tx, id); err != nil {
			return err
		}
		if in.Priority != old.Priority {
			if err := m.retarget(ctx, tx, id, in.Priority); err != nil {
				return err
			}
		}
		if err := m.Audit.Record(ctx, tx, audit.Event{Action: "incident.update", ObjectType: "incident", ObjectID: id,
			Summary: "updated " + old.Number, Changes: ch}); err != nil {
			return err
		}
		out, err = get(ctx, tx, id)
		return err
	})
	return out, err
}

// NewIncident is an incident opened by hand.
type NewIncident struct {
	Title       string   `json:"title"`
	ServiceID   *int64   `json:"service_id,omitempty"`
	TeamID      *int64   `json:"team_id,omitempty"`
	AssigneeID  *int64   `json:"assignee_id,omitempty"`
	Impact      int      `json:"impact,omitempty"`
	Urgency     int      `json:"urgency,omitempty"`
	Description string   `json:"description,omitempty"`
	Major       bool     `json:"major,omitempty"`
	Security    bool     `json:"security,omitempty"`
	Tags        []string `json:"tags,omitempty"`
}

// Create opens an incident by hand (a phone call, a customer report).
func (m *Manager) Create(ctx context.Context, n NewIncident) (Incident, error) {
	if err := iam.Require(ctx, iam.RoleResponder); err != nil {
		return Incident{}, err
	}
	n.Title = strings.TrimSpace(n.Title)
	var f errs.Fields
	checkTitle(&f, n.Title)
	if n.Impact == 0 {
		n.Impact = Medium
	}
	if n.Urgency == 0 {
		n.Urgency = Medium
	}
	f.Check(n.Impact < 1 || n.Impact > 3, "impact", "must be 1 (high), 2 (medium) or 3 (low)")
	f.Check(n.Urgency < 1 || n.Urgency > 3, "urgency", "must be 1 (high), 2 (medium) or 3 (low)")
	f.Check(len(n.Description) > 20000, "description", "must be at most 20000 characters")
	tags := normTags(n.Tags, &f)
	if err := f.Err(); err != nil {
		return Incident{}, err
	}
	var out Incident
	err := m.DB.Tx(ctx, func(tx *sql.Tx) error {
		now := m.Clock.Now().UnixMilli()
		team := n.TeamID
		if n.ServiceID != nil && team == nil {
			var t sql.NullInt64
			if err := tx.QueryRowContext(ctx, "SELECT team_id FROM services WHERE id = $1", *n.ServiceID).Scan(&t); err != nil {
				return errs.Invalid("service_id", "names no service")
			}
			team = db.IDPtr(t)
		}
		tj, _ := json.Marshal(tags)
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO incidents (title, service_id, team_id, assignee_id, status, impact, urgency,
			priority, severity, major, security, tags, created_at, last_alert_at, updated_at)
			VALUES ($1, $2, $3, $4, 'triggered', $5, $6, $7, 'error', $8, $9, $10, $11, $11, $11) RETURNING id`,
			n.Title, db.IDOrNil(n.ServiceID), db.IDOrNil(team), db.IDOrNil(n.AssigneeID), n.Impact, n.Urgency,
			m.Matrix.Priority(n.Impact, n.Urgency), n.Major, n.Security, string(tj), now).Scan(&id)
		if err != nil {
			if db.IsForeignKeyViolation(err) {
				return &errs.Error{Kind: errs.KindInvalid, Message: "invalid input", Fields: []errs.FieldError{
					{Field: "service_id", Detail: "names no service, or"}, {Field: "team_id", Detail: "names no team, or"},
					{Field: "assignee_id", Detail: "names no user"}}}
			}
			return err
		}
		body := "opened by hand"
		if n.Description != "" {
			body += ": " + n.Description
		}
		if err := m.note(ctx, tx, id, "opened", body, map[string]any{"priority": m.Matrix.Priority(n.Impact, n.Urgency)}); err != nil {
			return err
		}
		if err := m.reindex(ctx, tx, id); err != nil {
			return err
		}
		if err := m.startSLAs(ctx, tx, id, m.Matrix.Priority(n.Impact, n.Urgency), time.UnixMilli(now)); err != nil {
			return err
		}
		if err := m.changed(ctx, tx, Change{IncidentID: id, ServiceID: n.ServiceID, Kind: ChangeOpened,
			AssigneeID: n.AssigneeID, TeamID: team}); err != nil {
			return err
		}
		if err := m.Audit.Record(ctx, tx, audit.Event{Action: "incident.create", ObjectType: "incident", ObjectID: id,
			Summary: "opened " + Number(id) + ": " + n.Title}); err != nil {
			return err
		}
		out, err = get(ctx, tx, id)
		return err
	})
	return out, err
}

// Link records that two incidents are related (both ways).
func (m *Manager) Link(ctx context.Context, id, related int64) error {
	if err := iam.Require(ctx, iam.RoleResponder); err != nil {
		return err
	}
	if id == related {
		return errs.Invalid("related_id", "an incident cannot be related to itself")
	}
	return m.DB.Tx(ctx, func(tx *sql.Tx) error {
		a, err := m.visible(ctx, tx, id)
		if err != nil {
			return err
		}
		b, err := m.visible(ctx, tx, related)
		if err != nil {
			if errs.Is(err, errs.KindNotFound) {
				return errs.Invalid("related_id", "names no incident")
			}
			return err
		}
		for _, pair := range [][2]int64{{id, related}, {related, id}} {
			if _, err := tx.ExecContext(ctx, `INSERT INTO incident_links (incident_id, related_id) VALUES ($1, $2)
				ON CONFLICT DO NOTHING`, pair[0], pair[1]); err != nil {
				return err
			}
		}
		if err := m.note(ctx, tx, id, "linked", "related to "+b.Number, map[string]any{"related_id": related}); err != nil {
			return err
		}
		if err := m.note(ctx, tx, related, "linked", "related to "+a.Number, map[string]any{"related_id": id}); err != nil {
			return err
		}
		return m.Audit.Record(ctx, tx, audit.Event{Action: "incident.link", ObjectType: "incident", ObjectID: id,
			Summary: a.Number + " related to " + b.Number})
	})
}

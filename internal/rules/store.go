package rules

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// Store keeps event rules, silences, maintenance windows and inhibit rules in
// the database, and a compiled snapshot of them in memory for the ingest
// path. Every change bumps a revision; Refresh reloads the snapshot when the
// revision moved, so replicas converge within one refresh interval.
type Store struct {
	DB    *db.DB
	Audit *audit.Log
	Clock clock.Clock
	Log   *slog.Logger

	snap   atomic.Pointer[Snapshot]
	loadMu sync.Mutex
}

// Snapshot is the compiled state that decisions are made against.
type Snapshot struct {
	Revision    int64
	Engine      *Engine
	Silences    []Silence
	Maintenance []MaintenanceWindow
	Inhibitor   *Inhibitor
}

// NewStore returns a store; call Load before deciding.
func NewStore(d *db.DB, a *audit.Log, c clock.Clock, log *slog.Logger) *Store {
	s := &Store{DB: d, Audit: a, Clock: c, Log: log}
	s.snap.Store(&Snapshot{})
	return s
}

// Empty reports whether there is nothing to decide with: no rules, silences,
// windows or inhibit rules. Ingest then skips the decision altogether.
func (sn *Snapshot) Empty() bool {
	return (sn.Engine == nil || sn.Engine.Len() == 0) && len(sn.Silences) == 0 && len(sn.Maintenance) == 0 &&
		(sn.Inhibitor == nil || !sn.Inhibitor.HasRules())
}

// Current is the snapshot in use.
func (s *Store) Current() *Snapshot { return s.snap.Load() }

// Decide judges one event against the current snapshot.
func (s *Store) Decide(ev *event.Event, serviceID int64) Decision {
	sn := s.snap.Load()
	return Decide(Input{Event: ev, ServiceID: serviceID, Now: s.Clock.Now(), Engine: sn.Engine,
		Silences: sn.Silences, Maintenance: sn.Maintenance, Inhibitor: sn.Inhibitor})
}

// AlertsChanged keeps the inhibitor's index of open alerts current after an
// ingest commit: open alerts may inhibit others, resolved ones no longer do.
func (s *Store) AlertsChanged(changes []event.AlertChange) {
	inh := s.snap.Load().Inhibitor
	if !inh.HasRules() {
		// It would keep nothing; a rule added later loads the open
		// alerts from the database.
		return
	}
	for _, c := range changes {
		if c.AlertID == 0 || c.Event == nil {
			continue
		}
		id := fmt.Sprint(c.AlertID)
		switch c.Change {
		case "created", "updated":
			inh.Set(id, MatchLabels(c.Event))
		case "resolved":
			inh.Delete(id)
		}
	}
}

func (s *Store) revision(ctx context.Context) (int64, error) {
	var rev int64
	err := s.DB.R.QueryRowContext(ctx, "SELECT revision FROM rules_revision WHERE id = 1").Scan(&rev)
	return rev, db.Classify(err)
}

// Refresh reloads the snapshot if the rules changed since it was built.
func (s *Store) Refresh(ctx context.Context) error {
	rev, err := s.revision(ctx)
	if err != nil {
		return err
	}
	if rev == s.snap.Load().Revision {
		return nil
	}
	return s.Load(ctx)
}

// Load builds a new snapshot from the database. A rule that no longer
// compiles is left out and logged; the others still apply.
func (s *Store) Load(ctx context.Context) error {
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	rev, err := s.revision(ctx)
	if err != nil {
		return err
	}
	rules, err := s.listRules(ctx, s.DB.R)
	if err != nil {
		return err
	}
	engine, err := Compile(rules)
	if err != nil && s.Log != nil {
		s.Log.Warn("event rules: some rules are left out", "error", err)
	}
	sil, err := s.listSilences(ctx, false)
	if err != nil {
		return err
	}
	win, err := s.listWindows(ctx)
	if err != nil {
		return err
	}
	inhRules, err := s.listInhibit(ctx)
	if err != nil {
		return err
	}
	inh, err := NewInhibitor(inhRules)
	if err != nil && s.Log != nil {
		s.Log.Warn("inhibit rules: some rules are left out", "error", err)
	}
	if inh != nil && len(inhRules) > 0 {
		rows, err := s.DB.R.QueryContext(ctx, "SELECT id, labels, severity, host, source FROM alerts WHERE status <> 'resolved'")
		if err != nil {
			return db.Classify(err)
		}
		for rows.Next() {
			var id int64
			var labels string
			var ev event.Event
			if err := rows.Scan(&id, &labels, &ev.Severity, &ev.Host, &ev.Source); err != nil {
				rows.Close()
				return err
			}
			_ = json.Unmarshal([]byte(labels), &ev.Labels)
			inh.Set(fmt.Sprint(id), MatchLabels(&ev))
		}
		rows.Close()
	}
	s.snap.Store(&Snapshot{Revision: rev, Engine: engine, Silences: sil, Maintenance: win, Inhibitor: inh})
	return nil
}

// bump marks a change, inside the change's transaction.
func bump(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, "UPDATE rules_revision SET revision = revision + 1 WHERE id = 1")
	return err
}

// change runs fn in a transaction that also bumps the revision and records
// an audit entry, then reloads the snapshot so this server applies the
// change at once.
func (s *Store) change(ctx context.Context, ev func() audit.Event, fn func(tx *sql.Tx) error) error {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return err
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if err := bump(ctx, tx); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, ev())
	})
	if err != nil {
		return err
	}
	return s.Load(ctx)
}

func now(c clock.Clock) int64 { return c.Now().UnixMilli() }

// ---- event rules ----

func scanRule(r db.Scanner) (Rule, error) {
	var ru Rule
	var svc sql.NullInt64
	var actions string
	if err := r.Scan(&ru.ID, &ru.Name, &svc, &ru.Position, &ru.Condition, &actions, &ru.Stop, &ru.Enabled); err != nil {
		return ru, err
	}
	ru.ServiceID = svc.Int64
	if err := json.Unmarshal([]byte(actions), &ru.Actions); err != nil {
		return ru, fmt.Errorf("rule %d: actions: %w", ru.ID, err)
	}
	return ru, nil
}

const ruleCols = "id, name, service_id, position, condition, actions, stop, enabled"

func (s *Store) listRules(ctx context.Context, q db.Querier) ([]Rule, error) {
	out, err := db.All(ctx, q, scanRule, "SELECT "+ruleCols+" FROM event_rules ORDER BY service_id IS NOT NULL, service_id, position, id")
	if out == nil {
		out = []Rule{}
	}
	return out, err
}

// Rules lists every event rule: global ones first, then per service, in order.
func (s *Store) Rules(ctx context.Context) ([]Rule, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return nil, err
	}
	return s.listRules(ctx, s.DB.R)
}

// GetRule returns one rule.
func (s *Store) GetRule(ctx context.Context, id int64) (Rule, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return Rule{}, err
	}
	r, err := scanRule(s.DB.R.QueryRowContext(ctx, "SELECT "+ruleCols+" FROM event_rules WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, errs.NotFound("event rule %d not found", id)
	}
	return r, db.Classify(err)
}

func ruleArgs(r Rule) []any {
	var svc any
	if r.ServiceID != 0 {
		svc = r.ServiceID
	}
	return []any{strings.TrimSpace(r.Name), svc, r.Position, r.Condition, db.JSON(r.Actions), r.Stop, r.Enabled}
}

func fkService(err error, field string) error {
	if db.IsForeignKeyViolation(err) {
		return errs.Invalid(field, "names no service")
	}
	return err
}

// CreateRule adds an event rule; its condition must compile.
func (s *Store) CreateRule(ctx context.Context, r Rule) (Rule, error) {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return Rule{}, err
	}
	r.Name = strings.TrimSpace(r.Name)
	if err := r.Validate(); err != nil {
		return Rule{}, err
	}
	err := s.change(ctx, func() audit.Event {
		return audit.Event{Action: "rule.create", ObjectType: "event_rule", ObjectID: r.ID, Summary: "created event rule " + r.Name,
			Changes: map[string]any{"condition": r.Condition, "actions": r.Actions, "service_id": r.ServiceID}}
	}, func(tx *sql.Tx) error {
		t := now(s.Clock)
		err := tx.QueryRowContext(ctx, `INSERT INTO event_rules (name, service_id, position, condition, actions, stop, enabled, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id`, append(ruleArgs(r), t)...).Scan(&r.ID)
		return fkService(err, "service_id")
	})
	return r, err
}

// UpdateRule replaces an event rule.
func (s *Store) UpdateRule(ctx context.Context, id int64, r Rule) (Rule, error) {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return Rule{}, err
	}
	r.ID, r.Name = id, strings.TrimSpace(r.Name)
	if err := r.Validate(); err != nil {
		return Rule{}, err
	}
	err := s.change(ctx, func() audit.Event {
		return audit.Event{Action: "rule.update", ObjectType: "event_rule", ObjectID: id, Summary: "changed event rule " + r.Name,
			Changes: map[string]any{"condition": r.Condition, "actions": r.Actions, "enabled": r.Enabled}}
	}, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE event_rules SET name = $1, service_id = $2, position = $3, condition = $4, actions = $5,
			stop = $6, enabled = $7, updated_at = $8, version = version + 1 WHERE id = $9`, append(ruleArgs(r), now(s.Clock), id)...)
		if err != nil {
			return fkService(err, "service_id")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.NotFound("event rule %d not found", id)
		}
		return nil
	})
	return r, err
}

// deleteRow removes one row of a rules table, or says it does not exist.
// action is the audit prefix of the kind ("rule", "maintenance", "inhibit").
func (s *Store) deleteRow(ctx context.Context, table, action, what string, id int64) error {
	return s.change(ctx, func() audit.Event {
		return audit.Event{Action: action + ".delete", ObjectType: strings.ReplaceAll(what, " ", "_"), ObjectID: id,
			Summary: fmt.Sprintf("deleted %s %d", what, id)}
	}, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE id = $1", id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.NotFound("%s %d not found", what, id)
		}
		return nil
	})
}

// DeleteRule removes an event rule.
func (s *Store) DeleteRule(ctx context.Context, id int64) error {
	return s.deleteRow(ctx, "event_rules", "rule", "event rule", id)
}

// Test evaluates a rule's condition against a sample event without saving
// anything: for a "try it" button.
func (s *Store) Test(ctx context.Context, r Rule, ev event.Event) (bool, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return false, err
	}
	if err := (Rule{Name: "test", Condition: r.Condition, Actions: Actions{Suppress: true}}).Validate(); err != nil {
		return false, err
	}
	return EvalCondition(r.Condition, &ev, r.ServiceID)
}

// ---- silences ----

func scanSilence(r db.Scanner) (Silence, error) {
	var si Silence
	var m string
	var starts, ends int64
	if err := r.Scan(&si.ID, &m, &starts, &ends, &si.CreatedBy, &si.Comment); err != nil {
		return si, err
	}
	si.StartsAt, si.EndsAt = clock.FromMillis(starts), clock.FromMillis(ends)
	return si, json.Unmarshal([]byte(m), &si.Matchers)
}

func (s *Store) listSilences(ctx context.Context, expired bool) ([]Silence, error) {
	q := "SELECT id, matchers, starts_at, ends_at, created_by, comment FROM silences"
	var args []any
	if !expired {
		q += " WHERE ends_at > $1"
		args = append(args, now(s.Clock))
	}
	out, err := db.All(ctx, s.DB.R, scanSilence, q+" ORDER BY ends_at DESC, id DESC", args...)
	if out == nil {
		out = []Silence{}
	}
	return out, err
}

// Silences lists silences that have not ended (all of them with expired).
func (s *Store) Silences(ctx context.Context, expired bool) ([]Silence, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return nil, err
	}
	return s.listSilences(ctx, expired)
}

// CreateSilence adds a silence. Responders may silence what they work on.
func (s *Store) CreateSilence(ctx context.Context, si Silence) (Silence, error) {
	if err := iam.Require(ctx, iam.RoleResponder); err != nil {
		return Silence{}, err
	}
	if si.StartsAt.IsZero() {
		si.StartsAt = s.Clock.Now().UTC().Truncate(time.Millisecond)
	}
	if p, ok := iam.PrincipalFrom(ctx); ok {
		si.CreatedBy = p.Actor().Name
	} else if si.CreatedBy == "" {
		si.CreatedBy = "steady"
	}
	si.Comment = strings.TrimSpace(si.Comment)
	if err := si.Validate(); err != nil {
		return Silence{}, err
	}
	if !si.EndsAt.After(s.Clock.Now()) {
		return Silence{}, errs.Invalid("ends_at", "must be in the future")
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO silences (matchers, starts_at, ends_at, created_by, comment, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, db.JSON(si.Matchers), si.StartsAt.UnixMilli(), si.EndsAt.UnixMilli(),
			si.CreatedBy, si.Comment, now(s.Clock)).Scan(&si.ID); err != nil {
			return err
		}
		if err := bump(ctx, tx); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "silence.create", ObjectType: "silence", ObjectID: si.ID,
			Summary: "silenced " + si.Matchers.String() + " until " + si.EndsAt.UTC().Format(time.RFC3339) + ": " + si.Comment})
	})
	if err != nil {
		return Silence{}, err
	}
	return si, s.Load(ctx)
}

// ExpireSilence ends a silence now; it stays listed with expired silences.
func (s *Store) ExpireSilence(ctx context.Context, id int64) error {
	if err := iam.Require(ctx, iam.RoleResponder); err != nil {
		return err
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		t := now(s.Clock)
		res, err := tx.ExecContext(ctx, "UPDATE silences SET ends_at = $1 WHERE id = $2 AND ends_at > $1", t, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var x int
			if err := tx.QueryRowContext(ctx, "SELECT 1 FROM silences WHERE id = $1", id).Scan(&x); errors.Is(err, sql.ErrNoRows) {
				return errs.NotFound("silence %d not found", id)
			}
			return nil // already over
		}
		if err := bump(ctx, tx); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "silence.expire", ObjectType: "silence", ObjectID: id, Summary: fmt.Sprintf("ended silence %d", id)})
	})
	if err != nil {
		return err
	}
	return s.Load(ctx)
}

// ---- maintenance windows ----

func scanWindow(r db.Scanner) (MaintenanceWindow, error) {
	var w MaintenanceWindow
	var id int64
	var body string
	if err := r.Scan(&id, &body); err != nil {
		return w, err
	}
	if err := json.Unmarshal([]byte(body), &w); err != nil {
		return w, fmt.Errorf("maintenance window %d: %w", id, err)
	}
	w.ID = id
	return w, nil
}

func (s *Store) listWindows(ctx context.Context) ([]MaintenanceWindow, error) {
	out, err := db.All(ctx, s.DB.R, scanWindow, "SELECT id, body FROM maintenance_windows ORDER BY id")
	if out == nil {
		out = []MaintenanceWindow{}
	}
	return out, err
}

// Windows lists maintenance windows.
func (s *Store) Windows(ctx context.Context) ([]MaintenanceWindow, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return nil, err
	}
	return s.listWindows(ctx)
}

// GetWindow returns one maintenance window.
func (s *Store) GetWindow(ctx context.Context, id int64) (MaintenanceWindow, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return MaintenanceWindow{}, err
	}
	w, err := scanWindow(s.DB.R.QueryRowContext(ctx, "SELECT id, body FROM maintenance_windows WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return w, errs.NotFound("maintenance window %d not found", id)
	}
	return w, db.Classify(err)
}

// SaveWindow creates (id 0) or replaces a maintenance window.
func (s *Store) SaveWindow(ctx context.Context, id int64, w MaintenanceWindow) (MaintenanceWindow, error) {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return MaintenanceWindow{}, err
	}
	w.ID, w.Name = id, strings.TrimSpace(w.Name)
	if err := w.Validate(); err != nil {
		return MaintenanceWindow{}, err
	}
	body := db.JSON(w)
	err := s.change(ctx, func() audit.Event {
		return audit.Event{Action: "maintenance.save", ObjectType: "maintenance_window", ObjectID: w.ID, Summary: "saved maintenance window " + w.Name,
			Changes: map[string]any{"window": json.RawMessage(body)}}
	}, func(tx *sql.Tx) error {
		for _, sid := range w.ServiceIDs {
			var x int
			if err := tx.QueryRowContext(ctx, "SELECT 1 FROM services WHERE id = $1", sid).Scan(&x); err != nil {
				return errs.Invalid("service_ids", fmt.Sprintf("%d names no service", sid))
			}
		}
		t := now(s.Clock)
		if id == 0 {
			return tx.QueryRowContext(ctx, "INSERT INTO maintenance_windows (name, body, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING id",
				w.Name, body, t).Scan(&w.ID)
		}
		res, err := tx.ExecContext(ctx, "UPDATE maintenance_windows SET name = $1, body = $2, updated_at = $3, version = version + 1 WHERE id = $4",
			w.Name, body, t, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.NotFound("maintenance window %d not found", id)
		}
		return nil
	})
	return w, err
}

// DeleteWindow removes a maintenance window.
func (s *Store) DeleteWindow(ctx context.Context, id int64) error {
	return s.deleteRow(ctx, "maintenance_windows", "maintenance", "maintenance window", id)
}

// ---- inhibit rules ----

func scanInhibit(r db.Scanner) (InhibitRule, error) {
	var ir InhibitRule
	var id int64
	var body string
	if err := r.Scan(&id, &body); err != nil {
		return ir, err
	}
	if err := json.Unmarshal([]byte(body), &ir); err != nil {
		return ir, fmt.Errorf("inhibit rule %d: %w", id, err)
	}
	ir.ID = id
	return ir, nil
}

func (s *Store) listInhibit(ctx context.Context) ([]InhibitRule, error) {
	out, err := db.All(ctx, s.DB.R, scanInhibit, "SELECT id, body FROM inhibit_rules ORDER BY id")
	if out == nil {
		out = []InhibitRule{}
	}
	return out, err
}

// InhibitRules lists inhibit rules.
func (s *Store) InhibitRules(ctx context.Context) ([]InhibitRule, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return nil, err
	}
	return s.listInhibit(ctx)
}

// CreateInhibitRule adds an inhibit rule.
func (s *Store) CreateInhibitRule(ctx context.Context, r InhibitRule) (InhibitRule, error) {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return InhibitRule{}, err
	}
	r.Name = strings.TrimSpace(r.Name)
	if err := r.Validate(); err != nil {
		return InhibitRule{}, err
	}
	err := s.change(ctx, func() audit.Event {
		return audit.Event{Action: "inhibit.create", ObjectType: "inhibit_rule", ObjectID: r.ID, Summary: "created inhibit rule " + r.Name}
	}, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, "INSERT INTO inhibit_rules (name, body, created_at) VALUES ($1, $2, $3) RETURNING id",
			r.Name, db.JSON(r), now(s.Clock)).Scan(&r.ID)
	})
	return r, err
}

// DeleteInhibitRule removes an inhibit rule.
func (s *Store) DeleteInhibitRule(ctx context.Context, id int64) error {
	return s.deleteRow(ctx, "inhibit_rules", "inhibit", "inhibit rule", id)
}

package incident

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/calendar"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/reqctx"
)

// SLA clocks. Each incident has two: time to acknowledge (runs while it is
// triggered) and time to resolve (runs while it is open, paused while it is
// on hold, and resumed with what it had counted when it is reopened). Both
// count working time on the calendar of the priority's policy. A clock keeps
// the intervals it ran, so elapsed time survives any number of pauses and
// reassignments, and the exact breach instant can be worked out afterwards.

// SLA kinds.
const (
	SLAAcknowledge = "acknowledge"
	SLAResolve     = "resolve"
)

// Policy is the SLA of a priority.
type Policy struct {
	Priority       string            `json:"priority"`
	AckSeconds     int64             `json:"ack_seconds"`
	ResolveSeconds int64             `json:"resolve_seconds"`
	Calendar       calendar.Calendar `json:"calendar"`
	UpdatedAt      time.Time         `json:"updated_at"`
}

// Validate checks a policy.
func (p Policy) Validate() error {
	var f errs.Fields
	f.Check(!ValidPriority(p.Priority), "priority", "must be P1, P2, P3, P4 or P5")
	f.Check(p.AckSeconds < 1 || p.AckSeconds > 365*86400, "ack_seconds", "must be from 1 second to a year")
	f.Check(p.ResolveSeconds < 1 || p.ResolveSeconds > 365*86400, "resolve_seconds", "must be from 1 second to a year")
	if err := p.Calendar.Validate(); err != nil {
		if e, ok := errs.As(err); ok {
			for _, fe := range e.Fields {
				f.Add("calendar."+fe.Field, fe.Detail)
			}
		}
	}
	return f.Err()
}

func scanPolicy(r db.Scanner) (Policy, error) {
	var p Policy
	var cal string
	var at int64
	if err := r.Scan(&p.Priority, &p.AckSeconds, &p.ResolveSeconds, &cal, &at); err != nil {
		return p, err
	}
	p.UpdatedAt = clock.FromMillis(at)
	if err := json.Unmarshal([]byte(cal), &p.Calendar); err != nil {
		return p, fmt.Errorf("SLA policy %s: calendar: %w", p.Priority, err)
	}
	return p, nil
}

// Policies lists the SLA policies, P1 first.
func (m *Manager) Policies(ctx context.Context) ([]Policy, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return nil, err
	}
	return db.All(ctx, m.DB.R, scanPolicy, "SELECT priority, ack_seconds, resolve_seconds, calendar, updated_at FROM sla_policies ORDER BY priority")
}

// SetPolicy changes the SLA of a priority. Open incidents of that priority
// keep the targets they started with; new incidents use the new ones.
func (m *Manager) SetPolicy(ctx context.Context, p Policy) (Policy, error) {
	if err := iam.Require(ctx, iam.RoleAdmin); err != nil {
		return Policy{}, err
	}
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	cal, _ := json.Marshal(p.Calendar)
	var out Policy
	err := m.DB.Tx(ctx, func(tx *sql.Tx) error {
		old, err := scanPolicy(tx.QueryRowContext(ctx, "SELECT priority, ack_seconds, resolve_seconds, calendar, updated_at FROM sla_policies WHERE priority = $1", p.Priority))
		if err != nil {
			return err
		}
		out, err = scanPolicy(tx.QueryRowContext(ctx, `UPDATE sla_policies SET ack_seconds = $1, resolve_seconds = $2, calendar = $3,
			updated_at = $4 WHERE priority = $5 RETURNING priority, ack_seconds, resolve_seconds, calendar, updated_at`,
			p.AckSeconds, p.ResolveSeconds, string(cal), m.Clock.Now().UnixMilli(), p.Priority))
		if err != nil {
			return err
		}
		oldCal, _ := json.Marshal(old.Calendar)
		return m.Audit.Record(ctx, tx, audit.Event{Action: "sla.policy.update", ObjectType: "sla_policy", ObjectID: p.Priority,
			Summary: "changed the SLA of " + p.Priority, Changes: audit.Diff("ack_seconds", old.AckSeconds, out.AckSeconds,
				"resolve_seconds", old.ResolveSeconds, out.ResolveSeconds, "calendar", string(oldCal), string(cal))})
	})
	return out, err
}

// clockRow is one SLA clock as stored.
type clockRow struct {
	kind      string
	priority  string
	watch     calendar.Stopwatch
	calendar  string
	dueAt     sql.NullInt64
	metAt     sql.NullInt64
	breachedA sql.NullInt64
}

func loadClocks(ctx context.Context, q db.Querier, id int64) ([]*clockRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT kind, priority, target_ms, calendar, running, due_at, met_at, breached_at
		FROM incident_slas WHERE incident_id = $1 ORDER BY kind`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*clockRow
	for rows.Next() {
		c := &clockRow{}
		var target int64
		var running string
		if err := rows.Scan(&c.kind, &c.priority, &target, &c.calendar, &running, &c.dueAt, &c.metAt, &c.breachedA); err != nil {
			return nil, err
		}
		c.watch.Target = time.Duration(target) * time.Millisecond
		var cal calendar.Calendar
		if err := json.Unmarshal([]byte(c.calendar), &cal); err == nil {
			c.watch.Calendar = &cal
		}
		if err := json.Unmarshal([]byte(running), &c.watch.Running); err != nil {
			return nil, fmt.Errorf("SLA clock %s of incident %d: %w", c.kind, id, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func millisOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// save writes a clock back, with its due time while it runs.
func (c *clockRow) save(ctx context.Context, tx *sql.Tx, id int64) error {
	running, err := json.Marshal(c.watch.Running)
	if err != nil {
		return err
	}
	var due any
	if c.watch.Running.Open() && !c.metAt.Valid && !c.breachedA.Valid {
		due = millisOrNil(c.watch.Due(time.Time{}))
	}
	_, err = tx.ExecContext(ctx, `UPDATE incident_slas SET priority = $1, target_ms = $2, calendar = $3, running = $4,
		due_at = $5, met_at = $6, breached_at = $7 WHERE incident_id = $8 AND kind = $9`,
		c.priority, c.watch.Target.Milliseconds(), c.calendar, string(running), due, nullArg(c.metAt), nullArg(c.breachedA), id, c.kind)
	return err
}

func nullArg(n sql.NullInt64) any {
	if !n.Valid {
		return nil
	}
	return n.Int64
}

// startSLAs starts both clocks of a new incident.
func (m *Manager) startSLAs(ctx context.Context, tx *sql.Tx, id int64, priority string, at time.Time) error {
	p, err := scanPolicy(tx.QueryRowContext(ctx, "SELECT priority, ack_seconds, resolve_seconds, calendar, updated_at FROM sla_policies WHERE priority = $1", priority))
	if errors.Is(err, sql.ErrNoRows) {
		return nil // no SLA for this priority
	}
	if err != nil {
		return err
	}
	cal, _ := json.Marshal(p.Calendar)
	for _, k := range []struct {
		kind   string
		target int64
	}{{SLAAcknowledge, p.AckSeconds}, {SLAResolve, p.ResolveSeconds}} {
		w := calendar.Stopwatch{Target: time.Duration(k.target) * time.Second, Calendar: &p.Calendar, Running: calendar.Intervals{}.Start(at)}
		running, _ := json.Marshal(w.Running)
		if _, err := tx.ExecContext(ctx, `INSERT INTO incident_slas (incident_id, kind, priority, target_ms, calendar, running, due_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, k.kind, priority, w.Target.Milliseconds(), string(cal), string(running),
			millisOrNil(w.Due(at))); err != nil {
			return err
		}
	}
	return nil
}

// slaMoved moves the clocks of an incident that went from one state to another.
func (m *Manager) slaMoved(ctx context.Context, tx *sql.Tx, id int64, from, to Status, at time.Time) error {
	clocks, err := loadClocks(ctx, tx, id)
	if err != nil {
		return err
	}
	for _, c := range clocks {
		before := c.watch.Running
		switch {
		case c.kind == SLAAcknowledge && from == Triggered && to != Triggered:
			c.watch.Running = c.watch.Running.Stop(at)
		case c.kind == SLAResolve && (to == Resolved || to == Closed):
			c.watch.Running = c.watch.Running.Stop(at)
		case c.kind == SLAResolve && to == OnHold:
			c.watch.Running = c.watch.Running.Pause(at)
		case c.kind == SLAResolve && to.Open() && (from == OnHold || from == Resolved || from == Closed):
			c.watch.Running = c.watch.Running.Resume(at)
			c.metAt = sql.NullInt64{} // reopened: the clock counts on
		default:
			continue
		}
		stopped := before.Open() && !c.watch.Running.Open() && to != OnHold
		if stopped && !c.breachedA.Valid {
			if when, ok := c.watch.BreachedAt(); ok && !when.After(at) {
				if err := m.breach(ctx, tx, id, c, when); err != nil {
					return err
				}
			} else {
				c.metAt = sql.NullInt64{Int64: at.UnixMilli(), Valid: true}
			}
		}
		if err := c.save(ctx, tx, id); err != nil {
			return err
		}
	}
	return nil
}

// retarget applies a new priority's targets to the clocks, keeping what they counted.
func (m *Manager) retarget(ctx context.Context, tx *sql.Tx, id int64, priority string) error {
	p, err := scanPolicy(tx.QueryRowContext(ctx, "SELECT priority, ack_seconds, resolve_seconds, calendar, updated_at FROM sla_policies WHERE priority = $1", priority))
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	clocks, err := loadClocks(ctx, tx, id)
	if err != nil {
		return err
	}
	cal, _ := json.Marshal(p.Calendar)
	for _, c := range clocks {
		if c.metAt.Valid || c.breachedA.Valid {
			continue // a finished clock keeps the target it was measured against
		}
		c.priority, c.calendar = priority, string(cal)
		c.watch.Calendar = &p.Calendar
		c.watch.Target = time.Duration(p.AckSeconds) * time.Second
		if c.kind == SLAResolve {
			c.watch.Target = time.Duration(p.ResolveSeconds) * time.Second
		}
		if err := c.save(ctx, tx, id); err != nil {
			return err
		}
	}
	return nil
}

func slaName(kind string) string {
	if kind == SLAAcknowledge {
		return "time to acknowledge"
	}
	return "time to resolve"
}

// breach records that a clock crossed its target at when.
func (m *Manager) breach(ctx context.Context, tx *sql.Tx, id int64, c *clockRow, when time.Time) error {
	c.breachedA = sql.NullInt64{Int64: when.UnixMilli(), Valid: true}
	if m.OnBreach != nil {
		m.OnBreach(c.kind, c.priority)
	}
	return m.note(reqctx.WithActor(ctx, reqctx.Actor{Type: "system", ID: "sla", Name: "SLA clock"}), tx, id, "sla_breached",
		fmt.Sprintf("SLA breached: %s of %s (%s) passed at %s", slaName(c.kind), Human(c.watch.Target), c.priority, stamp(when)),
		map[string]any{"sla": c.kind, "priority": c.priority, "target_seconds": int64(c.watch.Target.Seconds()), "breached_at": when})
}

// CheckSLAs finds running clocks past their due time and records each breach
// once (a conditional update, so several replicas may run it at once). It is
// called periodically; it reads everything from the database, so breaches
// that fell due while Steady was down are found on the next run.
func (m *Manager) CheckSLAs(ctx context.Context) (int, error) {
	now := m.Clock.Now()
	rows, err := m.DB.R.QueryContext(ctx, `SELECT incident_id FROM incident_slas
		WHERE met_at IS NULL AND breached_at IS NULL AND due_at <= $1 ORDER BY due_at LIMIT 500`, now.UnixMilli())
	if err != nil {
		return 0, db.Classify(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	n := 0
	for _, id := range ids {
		err := m.DB.Tx(ctx, func(tx *sql.Tx) error {
			clocks, err := loadClocks(ctx, tx, id)
			if err != nil {
				return err
			}
			for _, c := range clocks {
				if c.metAt.Valid || c.breachedA.Valid || !c.watch.Breached(now) {
					continue
				}
				when, _ := c.watch.BreachedAt()
				res, err := tx.ExecContext(ctx, `UPDATE incident_slas SET breached_at = $1, due_at = NULL
					WHERE incident_id = $2 AND kind = $3 AND breached_at IS NULL`, when.UnixMilli(), id, c.kind)
				if err != nil {
					return err
				}
				if k, _ := res.RowsAffected(); k == 0 {
					continue
				}
				if err := m.breach(ctx, tx, id, c, when); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// SLA is the state of one clock, for people.
type SLA struct {
	Kind       string     `json:"kind"`
	Priority   string     `json:"priority"`
	Target     string     `json:"target"`
	TargetSec  int64      `json:"target_seconds"`
	ElapsedSec int64      `json:"elapsed_seconds"`
	Running    bool       `json:"running"`
	Paused     bool       `json:"paused"`
	DueAt      *time.Time `json:"due_at"`
	MetAt      *time.Time `json:"met_at"`
	BreachedAt *time.Time `json:"breached_at"`
	Calendar   string     `json:"calendar"`
}

// SLAs returns the clocks of an incident.
func (m *Manager) SLAs(ctx context.Context, id int64) ([]SLA, error) {
	if _, err := m.Get(ctx, id); err != nil {
		return nil, err
	}
	clocks, err := loadClocks(ctx, m.DB.R, id)
	if err != nil {
		return nil, db.Classify(err)
	}
	now := m.Clock.Now()
	out := []SLA{}
	for _, c := range clocks {
		s := SLA{Kind: c.kind, Priority: c.priority, Target: Human(c.watch.Target), TargetSec: int64(c.watch.Target.Seconds()),
			ElapsedSec: int64(c.watch.Elapsed(now).Seconds()), Running: c.watch.Running.Open(), Paused: c.watch.Paused() && !c.metAt.Valid,
			MetAt: db.NullMillis(c.metAt), BreachedAt: db.NullMillis(c.breachedA)}
		if c.watch.Calendar != nil {
			s.Calendar = c.watch.Calendar.Name
		}
		if s.Running && !c.breachedA.Valid {
			if d := c.watch.Due(now); !d.IsZero() {
				d = d.UTC()
				s.DueAt = &d
			}
		}
		out = append(out, s)
	}
	return out, nil
}

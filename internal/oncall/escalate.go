package oncall

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/steadyhq/steady/internal/incident"
	"github.com/steadyhq/steady/internal/notify"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/jobs"
)

// Engine walks incidents through their escalation policies on timers kept in
// the database (table escalations: one row per incident, next_at is the
// timer). A step pages a level's people and moves the timer in one
// transaction, so a restart neither skips nor repeats a step; the messages it
// queues carry idempotency keys made of the step, so even a step replayed by
// a second replica queues nothing twice.
type Engine struct {
	DB        *db.DB
	Clock     clock.Clock
	Log       *slog.Logger
	Schedules *Schedules
	Policies  *Policies
	// Notify queues the messages that page one user (in tx) and returns how
	// (e.g. "email, webhook after 5m"); nothing when the user cannot be
	// reached.
	Notify func(ctx context.Context, tx *sql.Tx, p notify.Page) ([]string, error)
	// Cancel drops an incident's messages not yet sent (acknowledge, resolve).
	Cancel func(ctx context.Context, tx *sql.Tx, incidentID int64) error
	// Note writes the incident's timeline.
	Note func(ctx context.Context, tx *sql.Tx, incidentID int64, kind, body string, data map[string]any) error
	// Wake is poked when a step is due at once (an incident opened), so the
	// runner need not wait for its next tick.
	Wake jobs.Signal
}

// Escalation states.
const (
	StateActive       = "active"
	StateAcknowledged = "acknowledged"
	StateExhausted    = "exhausted"
	StateStopped      = "stopped"
)

// directLevel is the level that pages the incident's assignee, or its team's
// members, before the policy's first level (after a reassignment).
const directLevel = -1

// TickBatch is how many due escalations one query of Tick takes.
const TickBatch = 200

// retryStep is how long a step that failed waits before it is tried again.
const retryStep = 30 * time.Second

// OnChange is the incident manager's lifecycle hook: it starts, restarts and
// stops escalations in the transaction of the change.
func (e *Engine) OnChange(ctx context.Context, tx *sql.Tx, c incident.Change) error {
	now := e.Clock.Now().UnixMilli()
	switch c.Kind {
	case incident.ChangeAcknowledged:
		if _, err := tx.ExecContext(ctx, `UPDATE escalations SET state = $1, next_at = NULL, updated_at = $2
			WHERE incident_id = $3 AND state = $4`, StateAcknowledged, now, c.IncidentID, StateActive); err != nil {
			return err
		}
		return e.cancel(ctx, tx, c.IncidentID)
	case incident.ChangeResolved:
		if _, err := tx.ExecContext(ctx, `UPDATE escalations SET state = $1, next_at = NULL, updated_at = $2
			WHERE incident_id = $3 AND state <> $1`, StateStopped, now, c.IncidentID); err != nil {
			return err
		}
		return e.cancel(ctx, tx, c.IncidentID)
	case incident.ChangeOpened, incident.ChangeReopened, incident.ChangeReassigned:
	default:
		return nil
	}
	var policy *int64
	if c.ServiceID != nil {
		id, ok, err := e.Policies.OfService(ctx, tx, *c.ServiceID)
		if err != nil {
			return err
		}
		if ok {
			policy = &id
		}
	}
	level := 0
	var assignee, team *int64
	if c.Kind != incident.ChangeReopened && (c.AssigneeID != nil || (c.Kind == incident.ChangeReassigned && c.TeamID != nil)) {
		// A new target is paged first; the policy follows.
		level, assignee, team = directLevel, c.AssigneeID, c.TeamID
		if c.Kind == incident.ChangeReassigned && c.AssigneeID == nil {
			// A team without a person: the team's own policy, if it has
			// one, else its members.
			var id int64
			err := tx.QueryRowContext(ctx, "SELECT id FROM escalation_policies WHERE team_id = $1 ORDER BY id LIMIT 1", *c.TeamID).Scan(&id)
			switch {
			case err == nil:
				policy, level, team = &id, 0, nil
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
	}
	if c.Kind != incident.ChangeOpened {
		// A restart: what the escalation before it queued and has not sent
		// (delayed rules of the people it paged) is dropped.
		if err := e.cancel(ctx, tx, c.IncidentID); err != nil {
			return err
		}
	}
	if policy == nil && level != directLevel {
		// Nothing to run: an escalation from before stops.
		_, err := tx.ExecContext(ctx, `UPDATE escalations SET state = $1, next_at = NULL, updated_at = $2
			WHERE incident_id = $3 AND state = $4`, StateStopped, now, c.IncidentID, StateActive)
		return err
	}
	if team != nil && assignee != nil {
		team = nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO escalations (incident_id, policy_id, epoch, pass, level, state, next_at,
			assignee_id, team_id, started_at, updated_at)
		VALUES ($1, $2, 1, 0, $3, $4, $5, $6, $7, $5, $5)
		ON CONFLICT (incident_id) DO UPDATE SET policy_id = excluded.policy_id, epoch = escalations.epoch + 1,
			pass = 0, level = excluded.level, state = excluded.state, next_at = excluded.next_at,
			assignee_id = excluded.assignee_id, team_id = excluded.team_id, started_at = excluded.started_at,
			updated_at = excluded.updated_at`,
		c.IncidentID, db.IDOrNil(policy), level, StateActive, now, db.IDOrNil(assignee), db.IDOrNil(team))
	if err != nil {
		return err
	}
	e.Wake.Poke()
	return nil
}

func (e *Engine) cancel(ctx context.Context, tx *sql.Tx, incidentID int64) error {
	if e.Cancel == nil {
		return nil
	}
	return e.Cancel(ctx, tx, incidentID)
}

// Tick runs every escalation step that is due, each in its own transaction,
// and returns how many it ran. Its cost depends on the due steps only: the
// query reads the partial index on next_at, which holds active escalations
// alone, however many incidents are open.
func (e *Engine) Tick(ctx context.Context) (int, error) {
	done := 0
	for {
		now := e.Clock.Now()
		ids, err := db.All(ctx, e.DB.R, func(r db.Scanner) (int64, error) {
			var id int64
			return id, r.Scan(&id)
		}, `SELECT incident_id FROM escalations WHERE next_at IS NOT NULL AND next_at <= $1 ORDER BY next_at LIMIT $2`,
			now.UnixMilli(), TickBatch)
		if err != nil {
			return done, err
		}
		failed := false
		for _, id := range ids {
			ran := false
			err := e.DB.Tx(ctx, func(tx *sql.Tx) error {
				var err error
				ran, err = e.step(ctx, tx, id, now)
				return err
			})
			if err != nil {
				if ctx.Err() != nil {
					return done, ctx.Err()
				}
				// One broken escalation must not hold up the others: it is
				// tried again a little later, behind the ones due now.
				failed = true
				e.Log.Warn("escalation step", "incident", id, "error", err)
				if _, err := e.DB.W.ExecContext(ctx, `UPDATE escalations SET next_at = $1 WHERE incident_id = $2 AND state = $3`,
					now.Add(retryStep).UnixMilli(), id, StateActive); err != nil {
					e.Log.Warn("postpone an escalation step", "incident", id, "error", err)
				}
				continue
			}
			if ran {
				done++
			}
		}
		if len(ids) < TickBatch || failed {
			return done, nil
		}
	}
}

type escRow struct {
	policy   sql.NullInt64
	epoch    int
	pass     int
	level    int
	state    string
	nextAt   sql.NullInt64
	assignee sql.NullInt64
	team     sql.NullInt64
}

// recipient is a user a step pages, and why.
type recipient struct {
	id     int64
	reason string
}

// step runs one due escalation step of an incident.
func (e *Engine) step(ctx context.Context, tx *sql.Tx, id int64, now time.Time) (bool, error) {
	q := `SELECT policy_id, epoch, pass, level, state, next_at, assignee_id, team_id FROM escalations WHERE incident_id = $1`
	if e.DB.Dialect == db.Postgres {
		q += " FOR UPDATE SKIP LOCKED" // another replica runs this step now
	}
	var r escRow
	err := tx.QueryRowContext(ctx, q, id).Scan(&r.policy, &r.epoch, &r.pass, &r.level, &r.state, &r.nextAt, &r.assignee, &r.team)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if r.state != StateActive || !r.nextAt.Valid || r.nextAt.Int64 > now.UnixMilli() {
		return false, nil // another runner took it
	}
	var status string
	if err := tx.QueryRowContext(ctx, "SELECT status FROM incidents WHERE id = $1", id).Scan(&status); err != nil {
		return false, err
	}
	st := incident.Status(status)
	switch {
	case !st.Open():
		return true, e.finish(ctx, tx, id, r, StateStopped, "")
	case st != incident.Triggered && r.level != directLevel:
		return true, e.finish(ctx, tx, id, r, StateAcknowledged, "")
	}

	var pol Policy
	hasPolicy := false
	if r.policy.Valid {
		var err error
		if pol, err = e.Policies.Load(ctx, tx, r.policy.Int64); err == nil && len(pol.Levels) > 0 {
			hasPolicy = true
		} else if err != nil && !isNotFound(err) {
			return false, err
		}
	}
	var who []recipient
	var what string
	if r.level == directLevel {
		what = "the new assignee"
		if r.assignee.Valid {
			who = []recipient{{id: r.assignee.Int64, reason: "assigned to the incident"}}
		} else if r.team.Valid {
			what = "the assigned team"
			if who, err = e.teamMembers(ctx, tx, r.team.Int64, "member of the assigned team"); err != nil {
				return false, err
			}
		}
	} else {
		if !hasPolicy || r.level >= len(pol.Levels) {
			return true, e.finish(ctx, tx, id, r, StateStopped, "escalation stopped: its policy no longer exists or has no such level")
		}
		what = fmt.Sprintf("level %d of %s", r.level+1, pol.Name)
		if r.pass > 0 {
			what += fmt.Sprintf(" (repeat %d)", r.pass)
		}
		if who, err = e.targets(ctx, tx, pol.Levels[r.level], now); err != nil {
			return false, err
		}
	}
	paged, unreachable, err := e.page(ctx, tx, id, r, who)
	if err != nil {
		return false, err
	}
	body := "Escalated to " + what + ": "
	if len(paged) == 0 {
		body += "nobody to page"
	} else {
		body += "paged " + strings.Join(paged, "; ")
	}
	if len(unreachable) > 0 {
		body += "; not reachable (no contact methods, and no mail server is configured): " + strings.Join(unreachable, ", ")
	}

	// The next step.
	next, nextAt := r, sql.NullInt64{}
	delay := time.Duration(0)
	switch {
	case r.level == directLevel && st != incident.Triggered:
		next.state = StateAcknowledged
	case r.level == directLevel && hasPolicy:
		next.level, delay = 0, time.Duration(pol.Levels[0].DelayMinutes)*time.Minute
	case r.level == directLevel:
		next.state = StateExhausted
	default:
		delay = time.Duration(pol.Levels[r.level].DelayMinutes) * time.Minute
		next.level = r.level + 1
		if next.level >= len(pol.Levels) {
			if r.pass < pol.Repeat {
				next.pass, next.level = r.pass+1, 0
			} else {
				next.state = StateExhausted
			}
		}
	}
	if len(paged) == 0 {
		delay = 0 // nobody was paged: the next level at once
	}
	if next.state == StateActive {
		nextAt = sql.NullInt64{Int64: now.Add(delay).UnixMilli(), Valid: true}
	} else if next.state == StateExhausted {
		body += "; the escalation policy is exhausted"
	}
	if err := e.Note(ctx, tx, id, "escalated", body, map[string]any{"level": r.level + 1, "pass": r.pass, "paged": len(paged)}); err != nil {
		return false, err
	}
	res, err := tx.ExecContext(ctx, `UPDATE escalations SET pass = $1, level = $2, state = $3, next_at = $4, updated_at = $5
		WHERE incident_id = $6 AND epoch = $7`, next.pass, next.level, next.state, nextAt, now.UnixMilli(), id, r.epoch)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return false, fmt.Errorf("escalation of incident %d changed during its step", id)
	}
	return true, nil
}

func isNotFound(err error) bool {
	return errs.Is(err, errs.KindNotFound) || errors.Is(err, sql.ErrNoRows)
}

// finish ends an escalation that should not page anyone any more.
func (e *Engine) finish(ctx context.Context, tx *sql.Tx, id int64, r escRow, state, why string) error {
	if why != "" {
		if err := e.Note(ctx, tx, id, "escalated", why, nil); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, `UPDATE escalations SET state = $1, next_at = NULL, updated_at = $2 WHERE incident_id = $3 AND epoch = $4`,
		state, e.Clock.Now().UnixMilli(), id, r.epoch)
	return err
}

// targets resolves a level to users: users themselves, whoever is on call in
// a schedule now, every member of a team. A user named twice is paged once.
func (e *Engine) targets(ctx context.Context, tx *sql.Tx, lv Level, now time.Time) ([]recipient, error) {
	var out []recipient
	for _, t := range lv.Targets {
		switch t.Kind {
		case TargetUser:
			out = append(out, recipient{id: t.ID, reason: "named in the policy"})
		case TargetSchedule:
			ids, err := e.Schedules.OnCallAt(ctx, tx, t.ID, now)
			if err != nil {
				return nil, fmt.Errorf("who is on call in schedule %d: %w", t.ID, err)
			}
			for _, u := range ids {
				out = append(out, recipient{id: u, reason: "on call in " + orID(t.Name, "schedule", t.ID)})
			}
		case TargetTeam:
			m, err := e.teamMembers(ctx, tx, t.ID, "member of "+orID(t.Name, "team", t.ID))
			if err != nil {
				return nil, err
			}
			out = append(out, m...)
		}
	}
	return out, nil
}

func orID(name, kind string, id int64) string {
	if name != "" {
		return name
	}
	return fmt.Sprintf("%s %d", kind, id)
}

func (e *Engine) teamMembers(ctx context.Context, tx *sql.Tx, team int64, reason string) ([]recipient, error) {
	return db.All(ctx, tx, func(r db.Scanner) (recipient, error) {
		var x recipient
		x.reason = reason
		return x, r.Scan(&x.id)
	}, "SELECT user_id FROM team_members WHERE team_id = $1 ORDER BY user_id", team)
}

// page queues the messages of one step: each enabled user once. It returns
// who was paged, and who could not be reached (no contact methods and no
// mail server).
func (e *Engine) page(ctx context.Context, tx *sql.Tx, id int64, r escRow, who []recipient) (paged, unreachable []string, err error) {
	var seen []int64
	for _, w := range who {
		if slices.Contains(seen, w.id) {
			continue
		}
		seen = append(seen, w.id)
		var name string
		var disabled bool
		err := tx.QueryRowContext(ctx, "SELECT name, disabled FROM users WHERE id = $1", w.id).Scan(&name, &disabled)
		if errors.Is(err, sql.ErrNoRows) || disabled {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		how, err := e.Notify(ctx, tx, notify.Page{IncidentID: id, UserID: w.id, Epoch: r.epoch, Pass: r.pass, Level: r.level + 1, Reason: w.reason})
		if err != nil {
			return nil, nil, fmt.Errorf("page user %d: %w", w.id, err)
		}
		if len(how) == 0 {
			unreachable = append(unreachable, name)
			continue
		}
		paged = append(paged, name+" ("+w.reason+"; "+strings.Join(how, ", ")+")")
	}
	return paged, unreachable, nil
}

// Package heartbeat is the dead man's switch: a heartbeat that is not seen
// within its interval raises an alert on its service, and the next beat
// resolves it.
//
// A job beats by POSTing to its heartbeat's secret URL. Each beat moves the
// heartbeat's deadline to now + interval + grace. Check, run every few
// seconds, finds the heartbeats that are up and past their deadline, sends
// one trigger event each through the normal event pipeline (so a missed beat
// becomes an alert and an incident like any other), and marks them down. The
// next beat of a down heartbeat sends the resolve event.
//
// Events are sent before the row changes: a crash in between sends the same
// event again on the next run, and the alert's dedup key ("heartbeat-<id>")
// makes the repeat harmless. Rows change with conditional updates, so a beat
// that arrives while Check runs wins over the check.
package heartbeat

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/ids"
	"github.com/steadyhq/steady/internal/platform/page"
)

// Submit stores events durably (the event ingester's Submit).
type Submit func(ctx context.Context, items []event.Routed) ([]event.Result, error)

// Monitor stores heartbeats and checks them.
type Monitor struct {
	DB     *db.DB
	Audit  *audit.Log
	Clock  clock.Clock
	Submit Submit
}

// New returns the heartbeat monitor.
func New(d *db.DB, a *audit.Log, c clock.Clock, submit Submit) *Monitor {
	return &Monitor{DB: d, Audit: a, Clock: c, Submit: submit}
}

// Status is where a heartbeat stands.
type Status string

const (
	// StatusNew: created and never beaten; it is not checked until its first beat.
	StatusNew Status = "new"
	// StatusUp: beating; due_at is its deadline.
	StatusUp Status = "up"
	// StatusDown: missed its deadline; its alert is open until the next beat.
	StatusDown Status = "down"
	// StatusPaused: not checked; beats only update last_seen_at.
	StatusPaused Status = "paused"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	return s == StatusNew || s == StatusUp || s == StatusDown || s == StatusPaused
}

// Limits and defaults.
const (
	MinInterval  = 30               // seconds
	MaxInterval  = 7 * 24 * 60 * 60 // a week
	MaxGrace     = 24 * 60 * 60     // a day
	DefaultGrace = 60
	MaxName      = 100
	// KeyPrefix starts every heartbeat key, so that a leaked one is easy to spot.
	KeyPrefix = "hb"
	// BeatPath is the path a job POSTs to, followed by the key.
	BeatPath = "/api/v1/heartbeats/"
	// EventHost is the affected system named in the events a heartbeat sends.
	EventHost = "steady-heartbeat"
	// checkBatch is how many due heartbeats one round of Check handles.
	checkBatch = 100
)

// Heartbeat is a dead man's switch on a service. The key itself is never
// stored; KeyPrefix shows its first characters.
type Heartbeat struct {
	ID              int64  `json:"id"`
	ServiceID       int64  `json:"service_id"`
	ServiceName     string `json:"service_name"`
	Name            string `json:"name"`
	KeyPrefix       string `json:"key_prefix"`
	IntervalSeconds int    `json:"interval_seconds"`
	GraceSeconds    int    `json:"grace_seconds"`
	Status          Status `json:"status"`
	// LastSeenAt is the last beat; nil before the first.
	LastSeenAt *time.Time `json:"last_seen_at"`
	// DueAt is the deadline of the next beat while up (and when it went down);
	// nil while new or paused.
	DueAt     *time.Time `json:"due_at"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	Version   int64      `json:"version"`
}

// DedupKey is the dedup key of the heartbeat's alert.
func (h Heartbeat) DedupKey() string { return "heartbeat-" + strconv.FormatInt(h.ID, 10) }

// Created is a heartbeat with its secret key, answered once: when it is
// created and when its key is rotated.
type Created struct {
	Heartbeat
	Key string `json:"key"`
	// BeatPath is the path to POST a beat to (the key included).
	BeatPath string `json:"beat_path"`
}

// Fields is the writable part of a heartbeat, for create and update.
type Fields struct {
	ServiceID       *int64  `json:"service_id,omitempty"`
	Name            *string `json:"name,omitempty"`
	IntervalSeconds *int    `json:"interval_seconds,omitempty"`
	GraceSeconds    *int    `json:"grace_seconds,omitempty"`
}

// BeatResult is the answer to a beat.
type BeatResult struct {
	Status Status `json:"status"`
	// DueAt is the deadline of the next beat; nil for a paused heartbeat.
	DueAt *time.Time `json:"due_at"`
}

// Filter selects heartbeats.
type Filter struct {
	ServiceID int64
	Status    Status
}

// Validate names the invalid filters.
func (f Filter) Validate() error {
	if f.Status != "" && !f.Status.Valid() {
		return errs.Invalid("status", "must be new, up, down or paused")
	}
	return nil
}

// validate checks a heartbeat's writable fields and names every invalid one.
func validate(h Heartbeat) error {
	var fe errs.Fields
	fe.Check(h.ServiceID < 1, "service_id", "is required")
	n := utf8.RuneCountInString(h.Name)
	fe.Check(n == 0, "name", "is required")
	fe.Check(n > MaxName, "name", fmt.Sprintf("must be at most %d characters", MaxName))
	fe.Check(!utf8.ValidString(h.Name) || strings.ContainsFunc(h.Name, unicode.IsControl), "name", "must be one line of text")
	fe.Check(h.IntervalSeconds < MinInterval || h.IntervalSeconds > MaxInterval, "interval_seconds",
		fmt.Sprintf("must be from %d (30 seconds) to %d (7 days)", MinInterval, MaxInterval))
	fe.Check(h.GraceSeconds < 0 || h.GraceSeconds > MaxGrace, "grace_seconds",
		fmt.Sprintf("must be from 0 to %d (1 day)", MaxGrace))
	return fe.Err()
}

// apply copies set fields onto h and validates the result.
func (f Fields) apply(h *Heartbeat) error {
	if f.ServiceID != nil {
		h.ServiceID = *f.ServiceID
	}
	if f.Name != nil {
		h.Name = strings.TrimSpace(*f.Name)
	}
	if f.IntervalSeconds != nil {
		h.IntervalSeconds = *f.IntervalSeconds
	}
	if f.GraceSeconds != nil {
		h.GraceSeconds = *f.GraceSeconds
	}
	return validate(*h)
}

// period is interval + grace: how long after a beat the next one is due.
func (h Heartbeat) period() time.Duration {
	return time.Duration(h.IntervalSeconds+h.GraceSeconds) * time.Second
}

const cols = `h.id, h.service_id, s.name, h.name, h.key_prefix, h.interval_seconds, h.grace_seconds, h.status,
	h.last_seen_at, h.due_at, h.created_at, h.updated_at, h.version`

const from = " FROM heartbeats h JOIN services s ON s.id = h.service_id"

func scan(r db.Scanner) (Heartbeat, error) {
	var h Heartbeat
	var seen, due sql.NullInt64
	var created, updated int64
	err := r.Scan(&h.ID, &h.ServiceID, &h.ServiceName, &h.Name, &h.KeyPrefix, &h.IntervalSeconds, &h.GraceSeconds,
		&h.Status, &seen, &due, &created, &updated, &h.Version)
	h.LastSeenAt, h.DueAt = db.NullMillis(seen), db.NullMillis(due)
	h.CreatedAt, h.UpdatedAt = clock.FromMillis(created), clock.FromMillis(updated)
	return h, err
}

func get(ctx context.Context, q db.Querier, id int64) (Heartbeat, error) {
	h, err := scan(q.QueryRowContext(ctx, "SELECT "+cols+from+" WHERE h.id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return h, errs.NotFound("heartbeat %d not found", id)
	}
	return h, db.Classify(err)
}

// newKey makes a key and its stored forms.
func newKey() (key, hash, prefix string) {
	key = ids.Secret(KeyPrefix)
	return key, ids.Hash(key), key[:len(KeyPrefix)+7] + "…"
}

func created(h Heartbeat, key string) Created {
	return Created{Heartbeat: h, Key: key, BeatPath: BeatPath + key}
}

// writeError turns constraint violations into errors that name the field.
func writeError(err error) error {
	switch {
	case db.IsUniqueViolation(err):
		return &errs.Error{Kind: errs.KindConflict, Message: "the service has a heartbeat with this name",
			Fields: []errs.FieldError{{Field: "name", Detail: "is already taken on this service"}}}
	case db.IsForeignKeyViolation(err):
		return errs.Invalid("service_id", "names no service")
	}
	return err
}

// Create adds a heartbeat; its key is in the answer and nowhere else.
// Managers and admins may.
func (m *Monitor) Create(ctx context.Context, f Fields) (Created, error) {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return Created{}, err
	}
	h := Heartbeat{GraceSeconds: DefaultGrace}
	if err := f.apply(&h); err != nil {
		return Created{}, err
	}
	key, hash, prefix := newKey()
	var out Heartbeat
	err := m.DB.Tx(ctx, func(tx *sql.Tx) error {
		now := m.Clock.Now().UnixMilli()
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO heartbeats (service_id, name, key_hash, key_prefix, interval_seconds,
			grace_seconds, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'new', $7, $7) RETURNING id`,
			h.ServiceID, h.Name, hash, prefix, h.IntervalSeconds, h.GraceSeconds, now).Scan(&id); err != nil {
			return writeError(err)
		}
		var err error
		if out, err = get(ctx, tx, id); err != nil {
			return err
		}
		return m.Audit.Record(ctx, tx, audit.Event{Action: "heartbeat.create", ObjectType: "heartbeat", ObjectID: id,
			Summary: "created heartbeat " + out.Name + " on service " + out.ServiceName,
			Changes: map[string]any{"service_id": out.ServiceID, "name": out.Name, "interval_seconds": out.IntervalSeconds,
				"grace_seconds": out.GraceSeconds}})
	})
	if err != nil {
		return Created{}, err
	}
	return created(out, key), nil
}

// Get returns one heartbeat.
func (m *Monitor) Get(ctx context.Context, id int64) (Heartbeat, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return Heartbeat{}, err
	}
	return get(ctx, m.DB.R, id)
}

// List lists heartbeats by id.
func (m *Monitor) List(ctx context.Context, f Filter, p page.Request) (page.List[Heartbeat], error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return page.List[Heartbeat]{}, err
	}
	if err := f.Validate(); err != nil {
		return page.List[Heartbeat]{}, err
	}
	q := "SELECT " + cols + from + " WHERE h.id > $1"
	args := []any{p.After}
	if f.ServiceID != 0 {
		args = append(args, f.ServiceID)
		q += " AND h.service_id = $" + strconv.Itoa(len(args))
	}
	if f.Status != "" {
		args = append(args, string(f.Status))
		q += " AND h.status = $" + strconv.Itoa(len(args))
	}
	args = append(args, p.Limit+1)
	q += " ORDER BY h.id LIMIT $" + strconv.Itoa(len(args))
	out, err := db.All(ctx, m.DB.R, scan, q, args...)
	if err != nil {
		return page.List[Heartbeat]{}, err
	}
	return page.Cut(out, p, func(h Heartbeat) int64 { return h.ID }), nil
}

// Update changes a heartbeat; ifVersion > 0 refuses a stale write. A new
// interval or grace moves the deadline of a heartbeat that is up (from its
// last beat). Moving a down heartbeat to another service resolves its alert
// on the old service and makes it due at once, so the next check raises it
// on the new one.
func (m *Monitor) Update(ctx context.Context, id int64, f Fields, ifVersion int64) (Heartbeat, error) {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return Heartbeat{}, err
	}
	old, err := get(ctx, m.DB.R, id)
	if err != nil {
		return Heartbeat{}, err
	}
	if ifVersion > 0 && old.Version != ifVersion {
		return Heartbeat{}, errs.PreconditionFailed("heartbeat %d has changed (version %d, not %d)", id, old.Version, ifVersion)
	}
	h := old
	if err := f.apply(&h); err != nil {
		return Heartbeat{}, err
	}
	moved := h.ServiceID != old.ServiceID
	if moved && old.Status == StatusDown {
		if err := m.send(ctx, old, event.Resolve); err != nil {
			return Heartbeat{}, err
		}
	}
	var out Heartbeat
	err = m.DB.Tx(ctx, func(tx *sql.Tx) error {
		cur, err := get(ctx, tx, id)
		if err != nil {
			return err
		}
		if ifVersion > 0 && cur.Version != ifVersion {
			return errs.PreconditionFailed("heartbeat %d has changed (version %d, not %d)", id, cur.Version, ifVersion)
		}
		h := cur
		if err := f.apply(&h); err != nil {
			return err
		}
		now := m.Clock.Now()
		status, due := cur.Status, db.MillisOrNil(cur.DueAt)
		switch {
		case cur.Status == StatusUp && cur.LastSeenAt != nil:
			due = cur.LastSeenAt.Add(h.period()).UnixMilli()
		case cur.Status == StatusDown && h.ServiceID != cur.ServiceID:
			status, due = StatusUp, now.UnixMilli()
		}
		if _, err := tx.ExecContext(ctx, `UPDATE heartbeats SET service_id = $1, name = $2, interval_seconds = $3,
			grace_seconds = $4, status = $5, due_at = $6, updated_at = $7, version = version + 1 WHERE id = $8`,
			h.ServiceID, h.Name, h.IntervalSeconds, h.GraceSeconds, string(status), due, now.UnixMilli(), id); err != nil {
			return writeError(err)
		}
		if out, err = get(ctx, tx, id); err != nil {
			return err
		}
		return m.Audit.Record(ctx, tx, audit.Event{Action: "heartbeat.update", ObjectType: "heartbeat", ObjectID: id,
			Summary: "updated heartbeat " + out.Name,
			Changes: audit.Diff("service_id", cur.ServiceID, out.ServiceID, "name", cur.Name, out.Name,
				"interval_seconds", cur.IntervalSeconds, out.IntervalSeconds, "grace_seconds", cur.GraceSeconds, out.GraceSeconds)})
	})
	return out, err
}

// Delete removes a heartbeat. The alert of a down heartbeat is resolved first.
func (m *Monitor) Delete(ctx context.Context, id int64) error {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return err
	}
	h, err := get(ctx, m.DB.R, id)
	if err != nil {
		return err
	}
	if h.Status == StatusDown {
		if err := m.send(ctx, h, event.Resolve); err != nil {
			return err
		}
	}
	return m.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM heartbeats WHERE id = $1", id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.NotFound("heartbeat %d not found", id)
		}
		return m.Audit.Record(ctx, tx, audit.Event{Action: "heartbeat.delete", ObjectType: "heartbeat", ObjectID: id,
			Summary: "deleted heartbeat " + h.Name + " of service " + h.ServiceName})
	})
}

// RotateKey gives a heartbeat a new key; the old one stops working at once.
// The new key is in the answer and nowhere else.
func (m *Monitor) RotateKey(ctx context.Context, id int64) (Created, error) {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return Created{}, err
	}
	key, hash, prefix := newKey()
	var out Heartbeat
	err := m.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE heartbeats SET key_hash = $1, key_prefix = $2, updated_at = $3, version = version + 1 WHERE id = $4",
			hash, prefix, m.Clock.Now().UnixMilli(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.NotFound("heartbeat %d not found", id)
		}
		if out, err = get(ctx, tx, id); err != nil {
			return err
		}
		return m.Audit.Record(ctx, tx, audit.Event{Action: "heartbeat.key.rotate", ObjectType: "heartbeat", ObjectID: id,
			Summary: "rotated the key of heartbeat " + out.Name, Changes: map[string]any{"key_prefix": prefix}})
	})
	if err != nil {
		return Created{}, err
	}
	return created(out, key), nil
}

// Pause stops checking a heartbeat. The alert of a down heartbeat is
// resolved first: a paused heartbeat pages nobody.
func (m *Monitor) Pause(ctx context.Context, id int64) (Heartbeat, error) {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return Heartbeat{}, err
	}
	h, err := get(ctx, m.DB.R, id)
	if err != nil || h.Status == StatusPaused {
		return h, err
	}
	if h.Status == StatusDown {
		if err := m.send(ctx, h, event.Resolve); err != nil {
			return Heartbeat{}, err
		}
	}
	return m.setStatus(ctx, id, "heartbeat.pause", "paused", func(cur Heartbeat, now time.Time) (Status, *time.Time, bool) {
		return StatusPaused, nil, cur.Status != StatusPaused
	})
}

// Resume checks a paused heartbeat again: one that has beaten before is up
// with a full interval (and grace) from now; one that never did is new.
func (m *Monitor) Resume(ctx context.Context, id int64) (Heartbeat, error) {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return Heartbeat{}, err
	}
	return m.setStatus(ctx, id, "heartbeat.resume", "resumed", func(cur Heartbeat, now time.Time) (Status, *time.Time, bool) {
		if cur.Status != StatusPaused {
			return cur.Status, cur.DueAt, false
		}
		if cur.LastSeenAt == nil {
			return StatusNew, nil, true
		}
		due := now.Add(cur.period())
		return StatusUp, &due, true
	})
}

// setStatus moves a heartbeat to the status next decides, with an audit
// entry; nothing is written when next says there is no change.
func (m *Monitor) setStatus(ctx context.Context, id int64, action, verb string,
	next func(cur Heartbeat, now time.Time) (Status, *time.Time, bool)) (Heartbeat, error) {
	var out Heartbeat
	err := m.DB.Tx(ctx, func(tx *sql.Tx) error {
		cur, err := get(ctx, tx, id)
		if err != nil {
			return err
		}
		now := m.Clock.Now()
		status, due, change := next(cur, now)
		if !change {
			out = cur
			return nil
		}
		if _, err := tx.ExecContext(ctx, "UPDATE heartbeats SET status = $1, due_at = $2, updated_at = $3, version = version + 1 WHERE id = $4",
			string(status), db.MillisOrNil(due), now.UnixMilli(), id); err != nil {
			return err
		}
		if out, err = get(ctx, tx, id); err != nil {
			return err
		}
		return m.Audit.Record(ctx, tx, audit.Event{Action: action, ObjectType: "heartbeat", ObjectID: id,
			Summary: verb + " heartbeat " + out.Name, Changes: audit.Diff("status", cur.Status, out.Status)})
	})
	return out, err
}

// Beat records a beat of the heartbeat whose key this is. It needs no
// role: the key is the secret. An unknown key is KindNotFound. A down
// heartbeat's alert is resolved before the row changes, so a crash in
// between sends the resolve again on the next beat.
func (m *Monitor) Beat(ctx context.Context, key string) (BeatResult, error) {
	if !strings.HasPrefix(key, KeyPrefix+"_") || len(key) > 200 {
		return BeatResult{}, errs.NotFound("no heartbeat has this key")
	}
	hash := ids.Hash(key)
	// A beat races only with checks, pauses and other beats; each write is
	// conditional on the status it read, and a lost race reads again.
	for range 5 {
		h, err := scan(m.DB.R.QueryRowContext(ctx, "SELECT "+cols+from+" WHERE h.key_hash = $1", hash))
		if errors.Is(err, sql.ErrNoRows) {
			return BeatResult{}, errs.NotFound("no heartbeat has this key")
		}
		if err != nil {
			return BeatResult{}, db.Classify(err)
		}
		now := m.Clock.Now()
		if h.Status == StatusPaused {
			res, err := m.DB.W.ExecContext(ctx, "UPDATE heartbeats SET last_seen_at = $1 WHERE id = $2 AND status = 'paused'",
				now.UnixMilli(), h.ID)
			if err != nil {
				return BeatResult{}, db.Classify(err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				return BeatResult{Status: StatusPaused}, nil
			}
			continue
		}
		if h.Status == StatusDown {
			if err := m.send(ctx, h, event.Resolve); err != nil {
				return BeatResult{}, err
			}
		}
		due := now.Add(h.period())
		res, err := m.DB.W.ExecContext(ctx, "UPDATE heartbeats SET status = 'up', last_seen_at = $1, due_at = $2 WHERE id = $3 AND status = $4",
			now.UnixMilli(), due.UnixMilli(), h.ID, string(h.Status))
		if err != nil {
			return BeatResult{}, db.Classify(err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			due = due.UTC().Truncate(time.Millisecond)
			return BeatResult{Status: StatusUp, DueAt: &due}, nil
		}
	}
	return BeatResult{}, errs.Unavailable(nil, "the heartbeat is changing; beat again")
}

// Check raises an alert for every heartbeat past its deadline; it returns
// how many it raised.
//
// For each heartbeat that is up and due it sends a trigger event, then marks
// the heartbeat down only if it is still up with the same deadline. When
// that update finds the row changed (a beat, a pause or a delete came in
// between), the trigger it sent is withdrawn with a resolve, unless another
// check already marked the heartbeat down.
func (m *Monitor) Check(ctx context.Context) (int, error) {
	now := m.Clock.Now()
	raised := 0
	var afterDue, afterID int64 = -1 << 62, 0
	for {
		due, err := db.All(ctx, m.DB.R, scan, "SELECT "+cols+from+` WHERE h.status = 'up' AND h.due_at <= $1
			AND (h.due_at > $2 OR (h.due_at = $2 AND h.id > $3)) ORDER BY h.due_at, h.id LIMIT $4`,
			now.UnixMilli(), afterDue, afterID, checkBatch)
		if err != nil {
			return raised, err
		}
		if len(due) == 0 {
			return raised, nil
		}
		items := make([]event.Routed, 0, len(due))
		for _, h := range due {
			items = append(items, event.Routed{ServiceID: h.ServiceID, Event: h.event(event.Trigger, now)})
		}
		if _, err := m.Submit(ctx, items); err != nil {
			return raised, err
		}
		var withdraw []event.Routed
		for _, h := range due {
			res, err := m.DB.W.ExecContext(ctx, "UPDATE heartbeats SET status = 'down' WHERE id = $1 AND status = 'up' AND due_at = $2",
				h.ID, h.DueAt.UnixMilli())
			if err != nil {
				return raised, db.Classify(err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				raised++
				continue
			}
			cur, err := get(ctx, m.DB.R, h.ID)
			if err != nil && !errs.Is(err, errs.KindNotFound) {
				return raised, err
			}
			if err == nil && cur.Status == StatusDown {
				continue // another check raised it
			}
			withdraw = append(withdraw, event.Routed{ServiceID: h.ServiceID, Event: h.event(event.Resolve, m.Clock.Now())})
		}
		if len(withdraw) > 0 {
			if _, err := m.Submit(ctx, withdraw); err != nil {
				return raised, err
			}
		}
		last := due[len(due)-1]
		afterDue, afterID = last.DueAt.UnixMilli(), last.ID
		if len(due) < checkBatch {
			return raised, nil
		}
	}
}

// send submits one event about a heartbeat to its service.
func (m *Monitor) send(ctx context.Context, h Heartbeat, action event.Action) error {
	_, err := m.Submit(ctx, []event.Routed{{ServiceID: h.ServiceID, Event: h.event(action, m.Clock.Now())}})
	return err
}

// event is the trigger or resolve event of a heartbeat's alert.
func (h Heartbeat) event(action event.Action, now time.Time) event.Event {
	ev := event.Event{Source: event.SourceGeneric, Action: action, DedupKey: h.DedupKey(), Severity: event.Critical,
		Host: EventHost, Component: h.Name, Client: "Steady heartbeats", Labels: map[string]string{"heartbeat": h.Name},
		Details:    map[string]any{"heartbeat_id": h.ID, "interval_seconds": h.IntervalSeconds, "grace_seconds": h.GraceSeconds},
		OccurredAt: now, ReceivedAt: now}
	since := "it was created"
	if h.LastSeenAt != nil {
		since = h.LastSeenAt.UTC().Format(time.RFC3339)
		ev.Details["last_seen_at"] = since
	}
	switch action {
	case event.Trigger:
		ev.Summary = fmt.Sprintf("Heartbeat %s missed: no beat since %s (expected every %s)", h.Name, since,
			FormatSeconds(h.IntervalSeconds))
		if h.DueAt != nil {
			ev.OccurredAt = *h.DueAt
		}
	default:
		ev.Summary = fmt.Sprintf("Heartbeat %s is beating again", h.Name)
	}
	return ev
}

// FormatSeconds writes a duration in seconds compactly: "45s", "5m", "1h30m", "2d", "1d12h".
func FormatSeconds(sec int) string {
	if sec <= 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		n    int
		unit string
	}{{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}} {
		if sec >= u.n {
			b.WriteString(strconv.Itoa(sec / u.n))
			b.WriteString(u.unit)
			sec %= u.n
		}
	}
	return b.String()
}

// ParseDuration reads a duration as people write it for a heartbeat: Go's
// "90s", "5m", "1h30m", and days ("7d", "1d12h"). It returns whole seconds.
func ParseDuration(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	days := 0
	if i := strings.Index(s, "d"); i > 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil || n < 0 || n > 365 {
			return 0, false
		}
		days, s = n, s[i+1:]
	}
	var d time.Duration
	if s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d < 0 || d%time.Second != 0 {
			return 0, false
		}
	}
	total := int64(days)*86400 + int64(d/time.Second)
	if total > 1<<31-1 {
		return 0, false
	}
	return int(total), true
}

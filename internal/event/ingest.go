package event

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// Routed is an event on its way in, with the service its integration key
// routes it to.
type Routed struct {
	ServiceID int64
	Event     Event
}

// Result says what became of one event.
type Result struct {
	// AlertID is the alert the event opened or updated; 0 when an acknowledge
	// or resolve found no open alert (it is stored, and changes nothing).
	AlertID  int64
	DedupKey string
	// Change is "created", "updated", "acknowledged", "resolved" or "ignored".
	Change string
}

// AlertChange is handed to the hook in the commit's transaction, for the
// capabilities that react to alerts (incidents).
type AlertChange struct {
	AlertID   int64
	ServiceID int64
	Change    string
	Event     *Event
}

// Hook runs inside the ingest transaction after the alerts are written; an
// error fails the whole batch, so nothing is half done.
type Hook func(ctx context.Context, tx *sql.Tx, changes []AlertChange) error

// Ingester writes events durably in groups: each request waits until its
// events are committed, and all requests that arrive while one commit runs go
// into the next, so a burst costs few transactions and an idle server adds
// no delay.
type Ingester struct {
	DB    *db.DB
	Clock clock.Clock
	Log   *slog.Logger
	Hook  Hook
	// MaxBatch caps the events in one transaction.
	MaxBatch int

	reqs    chan *request
	stop    chan struct{}
	done    chan struct{}
	startMu sync.Once
}

type request struct {
	items   []Routed
	results []Result
	err     error
	done    chan struct{}
}

// ErrStopped is returned for events submitted after Stop.
var ErrStopped = errs.Unavailable(nil, "Steady is shutting down")

// Start runs the committer until Stop.
func (in *Ingester) Start() {
	in.startMu.Do(func() {
		if in.MaxBatch <= 0 {
			in.MaxBatch = 5000
		}
		in.reqs = make(chan *request, 4096)
		in.stop = make(chan struct{})
		in.done = make(chan struct{})
		go in.loop()
	})
}

// Stop commits what was submitted and stops.
func (in *Ingester) Stop() {
	close(in.stop)
	<-in.done
}

// Submit stores events and returns once they are committed (or failed
// together). The order of items is kept within and across requests.
func (in *Ingester) Submit(ctx context.Context, items []Routed) ([]Result, error) {
	if len(items) == 0 {
		return nil, nil
	}
	r := &request{items: items, done: make(chan struct{})}
	select {
	case in.reqs <- r:
	case <-in.stop:
		return nil, ErrStopped
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	// Once queued, the commit goes ahead even if the client leaves: the
	// answer may be lost, never the event.
	<-r.done
	return r.results, r.err
}

func (in *Ingester) loop() {
	defer close(in.done)
	for {
		var first *request
		select {
		case first = <-in.reqs:
		case <-in.stop:
			// Drain what is queued, then stop.
			for {
				select {
				case r := <-in.reqs:
					in.commit([]*request{r})
				default:
					return
				}
			}
		}
		batch := []*request{first}
		n := len(first.items)
	collect:
		for n < in.MaxBatch {
			select {
			case r := <-in.reqs:
				batch = append(batch, r)
				n += len(r.items)
			default:
				break collect
			}
		}
		in.commit(batch)
	}
}

// commit writes one group. If it fails as a whole, each request is retried on
// its own so that one bad request cannot fail its neighbours.
func (in *Ingester) commit(batch []*request) {
	err := in.write(batch)
	if err != nil && len(batch) > 1 {
		for _, r := range batch {
			r.err = in.write([]*request{r})
			close(r.done)
		}
		return
	}
	for _, r := range batch {
		r.err = err
		close(r.done)
	}
}

// alertState is the open alert of one (service, dedup key) while a batch is
// worked out in memory.
type alertState struct {
	id        int64 // filled in by the insert for an alert this batch creates
	status    string
	serviceID int64
	key       string
}

type alertWrite struct {
	state          *alertState
	ev             *Event
	count          int
	firstSeen      int64
	lastSeen       int64
	acknowledgedAt *int64
	resolvedAt     *int64
	changed        bool
}

func (in *Ingester) write(batch []*request) error {
	ctx := context.Background()
	return in.DB.Tx(ctx, func(tx *sql.Tx) error {
		// 1. The open alerts of every key in the batch.
		open, err := loadOpen(ctx, in.DB.Dialect, tx, batch)
		if err != nil {
			return err
		}
		// 2. Work out the end state of each alert in memory, in order.
		var inserts, updates []*alertWrite
		byState := map[*alertState]*alertWrite{}
		var changes []AlertChange
		var touched []*alertState // per event, the alert it wrote to (nil if none)
		for _, r := range batch {
			r.results = make([]Result, len(r.items))
			for i := range r.items {
				it := &r.items[i]
				ev := &it.Event
				k := stateKey{it.ServiceID, ev.DedupKey}
				st := open[k]
				res := &r.results[i]
				res.DedupKey = ev.DedupKey
				seen := ev.ReceivedAt.UnixMilli()
				switch ev.Action {
				case Trigger:
					if st == nil {
						st = &alertState{status: "triggered", serviceID: it.ServiceID, key: ev.DedupKey}
						open[k] = st
						w := &alertWrite{state: st, ev: ev, count: 1, firstSeen: seen, lastSeen: seen, changed: true}
						inserts = append(inserts, w)
						byState[st] = w
						res.Change = "created"
					} else {
						w := byState[st]
						if w == nil {
							w = &alertWrite{state: st}
							updates = append(updates, w)
							byState[st] = w
						}
						w.ev, w.count, w.lastSeen, w.changed = ev, w.count+1, max(w.lastSeen, seen), true
						res.Change = "updated"
					}
				case Acknowledge, Resolve:
					if st == nil {
						res.Change = "ignored"
						touched = append(touched, nil)
						changes = append(changes, AlertChange{ServiceID: it.ServiceID, Change: res.Change, Event: ev})
						continue
					}
					w := byState[st]
					if w == nil {
						w = &alertWrite{state: st}
						updates = append(updates, w)
						byState[st] = w
					}
					if ev.Action == Acknowledge {
						if st.status == "triggered" {
							st.status, w.acknowledgedAt, w.changed = "acknowledged", &seen, true
							res.Change = "acknowledged"
						} else {
							res.Change = "ignored"
						}
					} else {
						st.status, w.resolvedAt, w.changed = "resolved", &seen, true
						delete(open, k)
						res.Change = "resolved"
					}
				}
				touched = append(touched, st)
				changes = append(changes, AlertChange{ServiceID: it.ServiceID, Change: res.Change, Event: ev})
			}
		}
		// 3. Write the alerts: updates first, so that an alert resolved in
		// this batch is closed before its key opens a new one.
		if err := updateAlerts(ctx, in.DB.Dialect, tx, updates); err != nil {
			return err
		}
		if err := insertAlerts(ctx, in.DB.Dialect, tx, inserts); err != nil {
			return err
		}
		// 4. Fill in the alert ids and store the raw events.
		ci := 0
		raws := make([]rawEvent, 0, len(touched))
		for _, r := range batch {
			for i := range r.items {
				var id int64
				if st := touched[ci]; st != nil {
					id = st.id
				}
				r.results[i].AlertID = id
				changes[ci].AlertID = id
				raws = append(raws, rawEvent{serviceID: r.items[i].ServiceID, alertID: id, ev: &r.items[i].Event})
				ci++
			}
		}
		if err := insertRaw(ctx, in.DB.Dialect, tx, raws); err != nil {
			return err
		}
		if in.Hook != nil {
			return in.Hook(ctx, tx, changes)
		}
		return nil
	})
}

type stateKey struct {
	service int64
	key     string
}

func loadOpen(ctx context.Context, d db.Dialect, tx *sql.Tx, batch []*request) (map[stateKey]*alertState, error) {
	keys := map[string]bool{}
	for _, r := range batch {
		for _, it := range r.items {
			keys[it.Event.DedupKey] = true
		}
	}
	open := make(map[stateKey]*alertState, len(keys))
	list := make([]any, 0, len(keys))
	for k := range keys {
		list = append(list, k)
	}
	const chunk = 500
	for i := 0; i < len(list); i += chunk {
		part := list[i:min(i+chunk, len(list))]
		rows, err := tx.QueryContext(ctx, "SELECT id, service_id, dedup_key, status FROM alerts WHERE dedup_key IN ("+
			d.Params(1, len(part))+") AND status <> 'resolved'", part...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			st := &alertState{}
			if err := rows.Scan(&st.id, &st.serviceID, &st.key, &st.status); err != nil {
				rows.Close()
				return nil, err
			}
			open[stateKey{st.serviceID, st.key}] = st
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return open, nil
}

func labelsJSON(ev *Event) string {
	if len(ev.Labels) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(ev.Labels)
	return string(b)
}

func eventJSON(ev *Event) string {
	b, _ := json.Marshal(ev)
	return string(b)
}

func insertAlerts(ctx context.Context, d db.Dialect, tx *sql.Tx, ws []*alertWrite) error {
	const per = 15
	const chunk = 400
	for i := 0; i < len(ws); i += chunk {
		part := ws[i:min(i+chunk, len(ws))]
		var b strings.Builder
		b.WriteString(`INSERT INTO alerts (service_id, dedup_key, status, severity, summary, host, source, labels, count,
			first_seen, last_seen, acknowledged_at, resolved_at, incident_id, last_event) VALUES `)
		args := make([]any, 0, len(part)*per)
		for j, w := range part {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(" + d.Params(len(args)+1, per) + ")")
			ev := w.ev
			args = append(args, w.state.serviceID, w.state.key, w.state.status, string(ev.Severity), ev.Summary, ev.Host,
				string(ev.Source), labelsJSON(ev), w.count, w.firstSeen, w.lastSeen, ptrOrNil(w.acknowledgedAt),
				ptrOrNil(w.resolvedAt), nil, eventJSON(ev))
		}
		b.WriteString(" RETURNING id")
		rows, err := tx.QueryContext(ctx, b.String(), args...)
		if err != nil {
			return fmt.Errorf("insert alerts: %w", err)
		}
		j := 0
		for rows.Next() {
			if err := rows.Scan(&part[j].state.id); err != nil {
				rows.Close()
				return err
			}
			j++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if j != len(part) {
			return errors.New("insert alerts: fewer ids returned than rows inserted")
		}
	}
	return nil
}

func ptrOrNil(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// updateAlerts writes the new state of existing alerts. On PostgreSQL it is
// one statement per chunk, UPDATE … FROM a VALUES list (every value is CAST so
// that PostgreSQL knows its type), because each statement is a network round
// trip. On SQLite, in process, a prepared statement per row is faster.
func updateAlerts(ctx context.Context, d db.Dialect, tx *sql.Tx, ws []*alertWrite) error {
	const per = 11
	const chunk = 300
	changed := make([]*alertWrite, 0, len(ws))
	for _, w := range ws {
		if w.changed {
			changed = append(changed, w)
		}
	}
	if d == db.SQLite {
		return updateAlertsRowByRow(ctx, tx, changed)
	}
	types := []string{"BIGINT", "TEXT", "BIGINT", "BIGINT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "BIGINT", "BIGINT"}
	for i := 0; i < len(changed); i += chunk {
		part := changed[i:min(i+chunk, len(changed))]
		var b strings.Builder
		b.WriteString("WITH v(id, status, n, last_seen, severity, summary, host, labels, last_event, ack, res) AS (VALUES ")
		args := make([]any, 0, len(part)*per)
		for j, w := range part {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('(')
			for k, p := range strings.Split(d.Params(len(args)+1, per), ",") {
				if k > 0 {
					b.WriteByte(',')
				}
				b.WriteString("CAST(" + p + " AS " + types[k] + ")")
			}
			b.WriteByte(')')
			var sev, sum, host, labels, last any
			if w.ev != nil {
				sev, sum, host, labels, last = string(w.ev.Severity), w.ev.Summary, w.ev.Host, labelsJSON(w.ev), eventJSON(w.ev)
			}
			args = append(args, w.state.id, w.state.status, w.count, w.lastSeen, sev, sum, host, labels, last,
				ptrOrNil(w.acknowledgedAt), ptrOrNil(w.resolvedAt))
		}
		b.WriteString(`) UPDATE alerts SET status = v.status, count = alerts.count + v.n,
			last_seen = CASE WHEN v.last_seen > alerts.last_seen THEN v.last_seen ELSE alerts.last_seen END,
			severity = COALESCE(v.severity, alerts.severity), summary = COALESCE(v.summary, alerts.summary),
			host = COALESCE(v.host, alerts.host), labels = COALESCE(v.labels, alerts.labels),
			last_event = COALESCE(v.last_event, alerts.last_event),
			acknowledged_at = COALESCE(alerts.acknowledged_at, v.ack), resolved_at = COALESCE(v.res, alerts.resolved_at)
			FROM v WHERE alerts.id = v.id`)
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("update alerts: %w", err)
		}
	}
	return nil
}

func updateAlertsRowByRow(ctx context.Context, tx *sql.Tx, ws []*alertWrite) error {
	stmt, err := tx.PrepareContext(ctx, `UPDATE alerts SET status = ?, count = count + ?,
		last_seen = CASE WHEN ? > last_seen THEN ? ELSE last_seen END,
		severity = COALESCE(?, severity), summary = COALESCE(?, summary), host = COALESCE(?, host),
		labels = COALESCE(?, labels), last_event = COALESCE(?, last_event),
		acknowledged_at = COALESCE(acknowledged_at, ?), resolved_at = COALESCE(?, resolved_at)
		WHERE id = ?`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, w := range ws {
		var sev, sum, host, labels, last any
		if w.ev != nil {
			sev, sum, host, labels, last = string(w.ev.Severity), w.ev.Summary, w.ev.Host, labelsJSON(w.ev), eventJSON(w.ev)
		}
		if _, err := stmt.ExecContext(ctx, w.state.status, w.count, w.lastSeen, w.lastSeen, sev, sum, host, labels, last,
			ptrOrNil(w.acknowledgedAt), ptrOrNil(w.resolvedAt), w.state.id); err != nil {
			return fmt.Errorf("update alert %d: %w", w.state.id, err)
		}
	}
	return nil
}

type rawEvent struct {
	serviceID, alertID int64
	ev                 *Event
}

func insertRaw(ctx context.Context, d db.Dialect, tx *sql.Tx, raws []rawEvent) error {
	const per = 7
	const chunk = 800
	for i := 0; i < len(raws); i += chunk {
		part := raws[i:min(i+chunk, len(raws))]
		var b strings.Builder
		b.WriteString("INSERT INTO events (received_at, service_id, alert_id, source, action, dedup_key, body) VALUES ")
		args := make([]any, 0, len(part)*per)
		for j, r := range part {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(" + d.Params(len(args)+1, per) + ")")
			var alert any
			if r.alertID != 0 {
				alert = r.alertID
			}
			args = append(args, r.ev.ReceivedAt.UnixMilli(), r.serviceID, alert, string(r.ev.Source), string(r.ev.Action),
				r.ev.DedupKey, eventJSON(r.ev))
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
	}
	return nil
}

package event

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/steadyhq/steady/internal/platform/db"
)

// Deferred repeats (SQLite).
//
// Under a sustained burst most events repeat alerts that are already open,
// and writing each of those alerts in every commit was over half of the
// commit loop. So when a commit is big (deferMin events or more), its
// repeats are not written to their alerts: their raw events are stored and
// chained as always, before anyone is answered, while the alerts' count,
// last seen and last payload wait in memory, merged per alert, until a
// flush writes each waiting alert once. A flush is part of the first commit
// that is small, of the first commit after the oldest repeat waited
// deferFor or once deferMax alerts wait, and of a commit of its own once
// the loop has had nothing to do for deferIdle (and at Stop). A status change
// (acknowledge, resolve) of a waiting alert writes its repeats with it. New
// alerts, status changes and incidents never wait; readers may see a
// repeated alert's count and last payload up to deferFor behind during a
// burst.
//
// Nothing acknowledged can be lost: the raw events are committed, and
// ingest_state.applied_event_id says up to which raw event every alert is
// written. After a crash, the loop first replays the newer events into
// their alerts (recoverDeferred).
//
// The open alerts the loop remembers (opencache.go) are checked differently
// from a write: ingest_state.alert_epoch moves whenever any statement
// changes an alert's status or deletes an alert (triggers, migration 0016).
// Each commit reads it first; if it moved other than by the loop's own
// status changes, the waiting repeats are written at once (they came
// before that change) and the remembered alerts are read again.
//
// It is on only for an ingester that is the one writer of its alerts
// (Ingester.Defer: a SQLite server's). PostgreSQL writes every repeat in
// its commit: several servers may share its alerts, and a repeat must not
// wait in one of them.

const (
	deferMin     = 256                    // events in a commit before its repeats may wait
	deferFor     = 250 * time.Millisecond // the longest a repeat waits
	deferIdle    = 20 * time.Millisecond  // how long the loop stays idle before it writes what waits
	deferMax     = 50_000                 // alerts waiting at most
	appliedEvery = 10 * time.Second       // how often applied_event_id moves when nothing waits
)

// pendingTouch is what waits for one alert: repeats not yet written.
type pendingTouch struct {
	id        int64
	key       stateKey
	count     int     // triggers not yet counted
	lastSeen  int64   // the newest of them
	it        *Routed // the newest trigger: the alert's last payload
	lastEvent int64   // the alert's newest raw event
}

// deferred is the commit loop's state of waiting repeats.
type deferred struct {
	m       map[int64]*pendingTouch // by alert id
	since   time.Time               // when the oldest waiting repeat came
	epoch   int64                   // alert_epoch as the loop's last commit left it
	known   bool                    // epoch was read
	applied time.Time               // when applied_event_id was last written
	lastRaw int64                   // the newest raw event committed

	// For tests (export_test.go): hold keeps repeats waiting until a commit
	// must write them (no idle or age flush); abandon makes Stop leave them
	// unwritten, as a killed process does.
	hold, abandon bool
}

// deferPlan is one commit's part in it.
type deferPlan struct {
	on      bool                    // SQLite: this commit read the epoch and may defer
	flush   bool                    // this commit writes every waiting repeat
	waiting map[int64]*pendingTouch // what waited when it began (nil: written at its start)
	epoch   int64                   // alert_epoch read at its start
	bumps   int64                   // status changes it makes itself
	touches []*alertWrite           // its repeats, to wait when it does not flush
	written []*pendingTouch         // what its flush wrote
	taken   []int64                 // waiting alerts its status changes wrote
	had     bool                    // something waited when it began
	applied bool                    // it moved applied_event_id
}

func (d *deferred) pending() bool { return len(d.m) > 0 }

// idleFlush says whether the loop writes what waits when it is idle.
func (d *deferred) idleFlush() bool { return len(d.m) > 0 && !d.hold }

// begin starts a commit of n events.
func (d *deferred) begin(bw *batchWriter, cache *openCache, n int, on bool) (*deferPlan, error) {
	p := &deferPlan{}
	if !on || bw.d != db.SQLite {
		return p, nil
	}
	p.on, p.waiting, p.had = true, d.m, len(d.m) > 0
	if err := bw.tx.QueryRowContext(bw.ctx, "SELECT alert_epoch FROM ingest_state WHERE id = 1").Scan(&p.epoch); err != nil {
		return nil, fmt.Errorf("read the alert epoch: %w", err)
	}
	stale := !d.known || p.epoch != d.epoch
	p.flush = stale || n < deferMin || len(d.m) >= deferMax || (len(d.m) > 0 && !d.hold && time.Since(d.since) >= deferFor)
	if stale {
		// Something else changed alerts: what waits came before it and is
		// written first; the remembered open alerts are read again.
		cache.clear()
		if len(d.m) > 0 {
			p.written = d.list(nil, nil)
			if err := bw.writeTouches(p.written); err != nil {
				return nil, err
			}
			p.waiting = nil
		}
	}
	return p, nil
}

// list returns what waits, but for the alerts in skip.
func (d *deferred) list(skip map[int64]bool, out []*pendingTouch) []*pendingTouch {
	for id, t := range d.m {
		if !skip[id] {
			out = append(out, t)
		}
	}
	return out
}

// resume gives the alerts read from the database their newest raw event,
// which a waiting repeat may have moved past the stored one.
func (p *deferPlan) resume(open map[stateKey]*alertState) {
	if len(p.waiting) == 0 {
		return
	}
	for _, st := range open {
		if t := p.waiting[st.id]; t != nil {
			st.lastEvent = t.lastEvent
		}
	}
}

// split takes the batch's repeats out of its alert writes (on SQLite) and
// adds to each remaining write (a status change) what waits for its alert.
func (p *deferPlan) split(updates []*alertWrite) []*alertWrite {
	if !p.on {
		return updates
	}
	rows := updates[:0:0]
	for _, w := range updates {
		if w.it != nil && !w.statusChanged && w.acknowledgedAt == nil && w.resolvedAt == nil {
			p.touches = append(p.touches, w)
			continue
		}
		if t := p.waiting[w.state.id]; t != nil {
			p.taken = append(p.taken, t.id)
			w.count += t.count
			w.lastSeen = max(w.lastSeen, t.lastSeen)
			if w.it == nil {
				w.it = t.it
			}
		}
		if w.statusChanged {
			p.bumps++
		}
		rows = append(rows, w)
	}
	return rows
}

// write writes the batch's repeats with everything that waits, when this
// commit flushes; else it leaves them to wait (done).
func (p *deferPlan) write(bw *batchWriter, d *deferred, rows []*alertWrite) error {
	if !p.on || !p.flush {
		return nil
	}
	mine := make(map[int64]bool, len(p.touches)+len(rows))
	for _, w := range rows {
		mine[w.state.id] = true // written with its status change
	}
	ts := make([]*pendingTouch, 0, len(p.touches)+len(p.waiting))
	for _, w := range p.touches {
		t := &pendingTouch{id: w.state.id, key: stateKey{w.state.serviceID, w.state.key}, count: w.count,
			lastSeen: w.lastSeen, it: w.it, lastEvent: w.state.lastEvent}
		if old := p.waiting[t.id]; old != nil {
			t.count += old.count
			t.lastSeen = max(t.lastSeen, old.lastSeen)
		}
		mine[t.id] = true
		ts = append(ts, t)
		w.state.stored = w.state.lastEvent
	}
	if p.waiting != nil {
		ts = d.list(mine, ts)
	}
	if err := bw.writeTouches(ts); err != nil {
		return err
	}
	p.written = append(p.written, ts...)
	p.touches = nil
	return nil
}

// finish ends the commit's statements: after a flush, every raw event up to
// the newest is in its alert, which applied_event_id records (when
// something waited, or now and then).
func (p *deferPlan) finish(bw *batchWriter, d *deferred, lastRaw int64) error {
	if !p.on || !p.flush || (!p.had && time.Since(d.applied) < appliedEvery) {
		return nil
	}
	if _, err := bw.tx.ExecContext(bw.ctx, "UPDATE ingest_state SET applied_event_id = ? WHERE id = 1", max(lastRaw, d.lastRaw)); err != nil {
		return fmt.Errorf("record the applied events: %w", err)
	}
	p.applied = true
	return nil
}

// done takes in a committed plan.
func (d *deferred) done(p *deferPlan, cache *openCache, lastRaw int64) {
	d.lastRaw = max(d.lastRaw, lastRaw)
	if !p.on {
		return
	}
	d.epoch, d.known = p.epoch+p.bumps, true
	if p.applied {
		d.applied = time.Now()
	}
	if p.flush {
		for _, t := range p.written {
			cache.stored(t.key, t.id, t.lastEvent)
		}
		clear(d.m)
		return
	}
	for _, id := range p.taken {
		delete(d.m, id)
	}
	if d.m == nil {
		d.m = make(map[int64]*pendingTouch)
	}
	if len(d.m) == 0 {
		d.since = time.Now()
	}
	for _, w := range p.touches {
		t := d.m[w.state.id]
		if t == nil {
			t = &pendingTouch{id: w.state.id, key: stateKey{w.state.serviceID, w.state.key}}
			d.m[t.id] = t
		}
		t.count += w.count
		t.lastSeen = max(t.lastSeen, w.lastSeen)
		t.it, t.lastEvent = w.it, w.state.lastEvent
	}
}

// deferredTouchSQL writes waiting repeats, many alerts in one statement.
// Unlike a status change it does not check the alert against what the
// loop remembers (the epoch does), and an alert deleted meanwhile is
// skipped: its repeats went with it.
const deferredTouchPer = 9

var deferredTouchSQL = sqlBySize(touchChunk, func(n int) string {
	return rowsSQL(`UPDATE alerts SET count = count + v.column2, last_seen = max(last_seen, v.column3),
			severity = v.column4, summary = v.column5, host = v.column6, labels = v.column7, last_event_id = v.column8,
			trigger_event_id = v.column9
			FROM (VALUES `, deferredTouchPer, n, `) AS v WHERE alerts.id = v.column1`)
})

func (bw *batchWriter) writeTouches(ts []*pendingTouch) error {
	args := make([]any, 0, touchChunk*deferredTouchPer)
	i := 0
	for _, n := range chunks(len(ts), touchChunk) {
		args = args[:0]
		for _, t := range ts[i : i+n] {
			ev := &t.it.Event
			_, l := t.it.stored()
			args = append(args, t.id, t.count, t.lastSeen, string(ev.Severity), ev.Summary, ev.Host, l, t.lastEvent, t.it.rawID)
		}
		i += n
		if err := bw.exec(deferredTouchSQL[n], args...); err != nil {
			return fmt.Errorf("write repeated alerts: %w", err)
		}
	}
	return nil
}

// recoverDeferred replays into their alerts the raw events a crash left
// unwritten: those past applied_event_id and past their alert's newest
// written event. They are repeats (everything else is written in its
// commit): each adds to the count when it is a trigger, and the newest
// trigger is the alert's last payload.
func (in *Ingester) recoverDeferred(ctx context.Context) (int, error) {
	n := 0
	err := in.DB.Tx(ctx, func(tx *sql.Tx) error {
		var applied int64
		if err := tx.QueryRowContext(ctx, "SELECT applied_event_id FROM ingest_state WHERE id = 1").Scan(&applied); err != nil {
			return err
		}
		type replay struct {
			alert, triggers, seen, last int64
			trigger                     sql.NullInt64
		}
		rs, err := db.All(ctx, tx, func(r db.Scanner) (replay, error) {
			var x replay
			var seen sql.NullInt64
			err := r.Scan(&x.alert, &x.triggers, &seen, &x.last, &x.trigger)
			x.seen = seen.Int64
			return x, err
		}, `SELECT e.alert_id, SUM(CASE WHEN e.action = 'trigger' THEN 1 ELSE 0 END),
				MAX(CASE WHEN e.action = 'trigger' THEN e.received_at END), MAX(e.id),
				MAX(CASE WHEN e.action = 'trigger' THEN e.id END)
			FROM events e JOIN alerts a ON a.id = e.alert_id
			WHERE e.id > ? AND e.id > COALESCE(a.last_event_id, 0)
			GROUP BY e.alert_id`, applied)
		if err != nil {
			return err
		}
		for _, x := range rs {
			var sev, sum, host, labels any
			if x.trigger.Valid {
				var body string
				if err := tx.QueryRowContext(ctx, "SELECT body FROM events WHERE id = ?", x.trigger.Int64).Scan(&body); err != nil {
					return err
				}
				var ev Event
				if err := json.Unmarshal([]byte(body), &ev); err != nil {
					return fmt.Errorf("raw event %d: %w", x.trigger.Int64, err)
				}
				sev, sum, host, labels = string(ev.Severity), ev.Summary, ev.Host, labelsJSON(&ev)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE alerts SET count = count + ?, last_seen = max(last_seen, COALESCE(?, last_seen)),
				severity = COALESCE(?, severity), summary = COALESCE(?, summary), host = COALESCE(?, host),
				labels = COALESCE(?, labels), last_event_id = ?, trigger_event_id = COALESCE(?, trigger_event_id)
				WHERE id = ?`, x.triggers, nullIfZero(x.seen), sev, sum, host, labels, x.last, x.trigger, x.alert); err != nil {
				return err
			}
			n++
		}
		_, err = tx.ExecContext(ctx, "UPDATE ingest_state SET applied_event_id = (SELECT COALESCE(MAX(id), 0) FROM events) WHERE id = 1")
		return err
	})
	return n, err
}

func nullIfZero(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

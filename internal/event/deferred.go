package event

import (
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
// flush writes each waiting alert once. Repeats wait only during a burst (a
// request that finds the loop idle for deferIdle is written whole). A flush
// is part of the first commit that is small or that found the loop idle,
// of the first commit after the oldest repeat waited
// deferFor or once deferMax alerts wait, and of a commit of its own once
// the loop has had nothing to do for deferIdle (and at Stop). A status change
// (acknowledge, resolve) of a waiting alert writes its repeats with it. New
// alerts, status changes and incidents never wait; readers may see a
// repeated alert's count and last payload up to deferFor behind during a
// burst.
//
// Nothing acknowledged can be lost: the raw events are committed, and
// ingest_state.applied_event_id says up to which raw event every alert is
// written. After a crash, the loop's first commit replays the newer events
// into their alerts (replay); until that succeeds, nothing is committed.
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

// The longer repeats wait, the more of them a flush writes as one row per
// alert: in a storm over 10,000 keys, a second instead of 250 ms wrote a
// quarter of the rows and took the batch load 16 % further (BENCHMARKS.md).
const (
	deferMin     = 256                   // events in a commit before its repeats may wait
	deferFor     = time.Second           // the longest a repeat waits
	deferIdle    = 20 * time.Millisecond // how long the loop stays idle before it writes what waits
	deferMax     = 50_000                // alerts waiting at most
	appliedEvery = 10 * time.Second      // how often applied_event_id moves when nothing waits
)

// pendingTouch is what waits for one alert: repeats not yet written.
type pendingTouch struct {
	id        int64
	key       stateKey
	count     int         // triggers not yet counted
	lastSeen  int64       // the newest of them
	trigger   lastTrigger // the newest of them: the alert's last payload
	lastEvent int64       // the alert's newest raw event
}

// deferred is the commit loop's state of waiting repeats.
type deferred struct {
	m       map[int64]*pendingTouch // by alert id
	since   time.Time               // when the oldest waiting repeat came
	epoch   int64                   // alert_epoch as the loop's last commit left it
	known   bool                    // epoch was read
	applied time.Time               // when applied_event_id was last written
	lastRaw int64                   // the newest raw event committed
	busy    bool                    // the commit's first request came within deferIdle of the last commit (set by the loop)
	started bool                    // a commit replayed what an unclean stop left (replay)

	// For tests (export_test.go): hold keeps repeats waiting until a commit
	// must write them (no idle or age flush, and as if requests queued up);
	// abandon makes Stop leave them unwritten, as a killed process does.
	hold, abandon bool
}

// deferPlan is one commit's part in it.
type deferPlan struct {
	on       bool                    // SQLite: this commit read the epoch and may defer
	flush    bool                    // this commit writes every waiting repeat
	waiting  map[int64]*pendingTouch // what waited when it began (nil: written at its start)
	epoch    int64                   // alert_epoch read at its start
	bumps    int64                   // status changes it makes itself
	touches  []*alertWrite           // its repeats, to wait when it does not flush
	written  []*pendingTouch         // what its flush wrote
	taken    []int64                 // waiting alerts its status changes wrote
	replayed int                     // alerts it replayed repeats into after an unclean stop
	had      bool                    // something waited when it began
	applied  bool                    // it moved applied_event_id
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
	if !d.started {
		var err error
		if p.replayed, err = bw.replay(); err != nil {
			return nil, fmt.Errorf("replay the repeats an unclean stop left unwritten: %w", err)
		}
	}
	p.epoch = bw.epoch
	stale := !d.known || p.epoch != d.epoch
	p.flush = stale || (!d.busy && !d.hold) || n < deferMin || len(d.m) >= deferMax || (len(d.m) > 0 && !d.hold && time.Since(d.since) >= deferFor)
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
		if w.repeat() {
			p.touches = append(p.touches, w)
			continue
		}
		if t := p.waiting[w.state.id]; t != nil {
			p.taken = append(p.taken, t.id)
			w.count += t.count
			w.lastSeen = max(w.lastSeen, t.lastSeen)
			if w.it == nil {
				w.waited = &t.trigger
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
			lastSeen: w.lastSeen, trigger: w.it.lastTrigger(), lastEvent: w.state.lastEvent}
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
	d.epoch, d.known, d.started = p.epoch+p.bumps, true, true
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
		t.trigger, t.lastEvent = w.it.lastTrigger(), w.state.lastEvent
	}
}

// deferredTouchSQL writes waiting repeats, many alerts in one statement.
// Unlike touchSQL it does not check the alert against what the loop
// remembers (the epoch does), and an alert deleted meanwhile is skipped:
// its repeats went with it.
const deferredTouchPer = 9

var deferredTouchSQL = touchStatements(deferredTouchPer, "")

func (bw *batchWriter) writeTouches(ts []*pendingTouch) error {
	return inChunks(len(ts), touchChunk, func(args []any, i int) []any {
		t := ts[i]
		return touchArgs(args, t.id, t.count, t.lastSeen, t.trigger, t.lastEvent)
	}, func(n int, args []any) error {
		if err := bw.exec(deferredTouchSQL[n], args...); err != nil {
			return fmt.Errorf("write repeated alerts: %w", err)
		}
		return nil
	})
}

// replay writes into their alerts the raw events an unclean stop left
// unwritten: those past applied_event_id and past their alert's newest
// written event. They are repeats (everything else is written in its
// commit): each trigger adds to the count, and the newest trigger is the
// alert's last payload. It returns how many alerts it wrote.
func (bw *batchWriter) replay() (int, error) {
	var applied int64
	if err := bw.tx.QueryRowContext(bw.ctx, "SELECT applied_event_id FROM ingest_state WHERE id = 1").Scan(&applied); err != nil {
		return 0, err
	}
	type unwritten struct {
		t       pendingTouch
		trigger int64
	}
	us, err := db.All(bw.ctx, bw.tx, func(r db.Scanner) (unwritten, error) {
		var u unwritten
		var seen, trigger sql.NullInt64
		err := r.Scan(&u.t.id, &u.t.count, &seen, &u.t.lastEvent, &trigger)
		u.t.lastSeen, u.trigger = seen.Int64, trigger.Int64
		return u, err
	}, `SELECT e.alert_id, SUM(CASE WHEN e.action = 'trigger' THEN 1 ELSE 0 END),
			MAX(CASE WHEN e.action = 'trigger' THEN e.received_at END), MAX(e.id),
			MAX(CASE WHEN e.action = 'trigger' THEN e.id END)
		FROM events e JOIN alerts a ON a.id = e.alert_id
		WHERE e.id > ? AND e.id > COALESCE(a.last_event_id, 0)
		GROUP BY e.alert_id`, applied)
	if err != nil {
		return 0, err
	}
	ts := make([]*pendingTouch, 0, len(us))
	for i := range us {
		u := &us[i]
		if u.trigger == 0 {
			continue // cannot be: a repeat that waits holds a trigger
		}
		var body string
		if err := bw.tx.QueryRowContext(bw.ctx, "SELECT body FROM events WHERE id = ?", u.trigger).Scan(&body); err != nil {
			return 0, err
		}
		it := &Routed{rawID: u.trigger}
		if err := json.Unmarshal([]byte(body), &it.Event); err != nil {
			return 0, fmt.Errorf("raw event %d: %w", u.trigger, err)
		}
		it.encode()
		u.t.trigger = it.lastTrigger()
		ts = append(ts, &u.t)
	}
	if err := bw.writeTouches(ts); err != nil {
		return 0, err
	}
	_, err = bw.tx.ExecContext(bw.ctx, "UPDATE ingest_state SET applied_event_id = (SELECT COALESCE(MAX(id), 0) FROM events) WHERE id = 1")
	return len(ts), err
}

package event

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// Routed is an event on its way in, with the service its integration key
// routes it to.
type Routed struct {
	ServiceID int64
	Event     Event
	// Suppressed lists why the event pages nobody ("silence:3,maintenance:1");
	// empty for an event that may page. Set by the Decide hook.
	Suppressed string
	// Priority, when an event rule set one, is the priority of the incident
	// the event opens (P1 … P5).
	Priority string
	// CIID is the configuration item the event names (0: none), found by
	// the Ingester's CIOf hook in the caller's goroutine; a new alert
	// stores it (alerts.ci_id).
	CIID int64

	// The event and its labels as stored (JSON), encoded by Submit in the
	// caller's goroutine so that the single commit loop does not.
	body, labels string
	// rawID is the id of the stored raw event, given out by the commit.
	rawID int64
}

// encode fills in the stored JSON of the event.
func (r *Routed) encode() {
	r.body = eventJSON(&r.Event)
	r.labels = labelsJSON(&r.Event)
}

// Result says what became of one event.
type Result struct {
	// AlertID is the alert the event opened or updated; 0 when an acknowledge
	// or resolve found no open alert (it is stored, and changes nothing).
	AlertID  int64
	DedupKey string
	// Change is "created", "updated", "acknowledged", "resolved", "ignored"
	// (an acknowledge or resolve of no open alert), "dropped" (an event rule
	// discarded it) or "unsuppressed" (a repeat that may page, of an alert
	// that was suppressed).
	Change string
}

// AlertChange is handed to the hook in the commit's transaction, for the
// capabilities that react to alerts (incidents).
type AlertChange struct {
	AlertID   int64
	ServiceID int64
	Change    string
	Event     *Event
	// Suppressed: the event pages nobody (no incident for a new alert).
	Suppressed bool
	// Priority set by an event rule, if any.
	Priority string
	// CIID is the configuration item the event names, 0 if none.
	CIID int64
	// IncidentID is set by the hook, on the change that creates an alert,
	// to the incident the alert joins: see Hook.
	IncidentID int64
}

// Hook runs inside the ingest transaction after the batch's existing alerts
// are written and before its new alerts are: their ids are known (in the
// changes) but their rows are not there yet, so the hook does not write
// them; it sets the incident a new alert joins in the IncidentID of its
// "created" change, and the alert is inserted with it. The batch's raw
// events are stored after it, or on PostgreSQL, when the batch updates
// alerts, with those updates before it. An error fails the whole batch, so
// nothing is half done; anything kept in memory belongs in AfterCommit,
// since the batch may still fail after the hook.
type Hook func(ctx context.Context, tx *sql.Tx, changes []AlertChange) error

// Ingester writes events durably in groups: each request waits until its
// events are committed, and all requests that arrive while one commit runs go
// into the next, so a burst costs few transactions and an idle server adds
// no delay.
//
// The commit loop is the one serial part of ingest, so it does as little as
// it can: events are encoded to JSON by Submit in the callers' goroutines,
// and a batch costs a fixed handful of statements (batchwriter.go) whatever
// its size: one to look up the open alerts of the keys it does not remember
// (opencache.go), one to number its raw events and new alerts, one to
// update the alerts, one to insert new ones (with their incident: Hook),
// one to store the raw events, each chained to the alert's event before it
// (SQLite: multi-row statements in chunks, kept prepared by the driver's
// statement cache; PostgreSQL: VALUES lists or array parameters, each
// statement being a network round trip, so the raw events go with the
// alert updates). On SQLite a burst's repeats are written to their alerts
// once per flush instead of once per commit (deferred.go).
type Ingester struct {
	DB    *db.DB
	Clock clock.Clock
	Log   *slog.Logger
	Hook  Hook
	// AfterCommit, when set, is told the changes of each committed batch,
	// in the commit loop: for what is kept in memory (the inhibitor's open
	// alerts), which a rolled-back batch must not touch.
	AfterCommit func([]AlertChange)
	// Defer lets a burst's repeats wait in memory and be written to their
	// alerts once per flush (SQLite only, deferred.go). Set it only for the
	// one ingester writing its database's alerts, as a SQLite server's is
	// (the database belongs to one process): a second writer's events
	// would not be seen by the first.
	Defer bool
	// Decide, when set, judges each event before it is queued (event rules,
	// silences, maintenance, inhibition): it may change the event, its
	// service, Suppressed and Priority, and returns false to drop it.
	Decide func(*Routed) bool
	// CIOf, when set, names the configuration item of a trigger event (0:
	// none). It runs in the callers' goroutines, after Decide, and must be
	// cheap: an in-memory lookup.
	CIOf func(*Event) int64
	// MaxBatch caps the events in one transaction.
	MaxBatch int

	cache   openCache // open alerts, used by the commit loop only
	later   deferred  // repeats whose alerts are not written yet (SQLite: deferred.go), commit loop only
	stats   loopStats // what the commit loop did (stats.go)
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
	var dropped []int // indexes of items an event rule dropped
	if in.Decide != nil {
		kept := items[:0:0]
		for i := range items {
			if in.Decide(&items[i]) {
				kept = append(kept, items[i])
			} else {
				dropped = append(dropped, i)
			}
		}
		if len(dropped) > 0 {
			all := items
			if len(kept) == 0 {
				out := make([]Result, len(all))
				for i := range all {
					out[i] = Result{DedupKey: all[i].Event.DedupKey, Change: "dropped"}
				}
				return out, nil
			}
			res, err := in.submit(ctx, kept)
			if err != nil {
				return nil, err
			}
			out := make([]Result, 0, len(all))
			k, d := 0, 0
			for i := range all {
				if d < len(dropped) && dropped[d] == i {
					out = append(out, Result{DedupKey: all[i].Event.DedupKey, Change: "dropped"})
					d++
					continue
				}
				out = append(out, res[k])
				k++
			}
			return out, nil
		}
	}
	return in.submit(ctx, items)
}

func (in *Ingester) submit(ctx context.Context, items []Routed) ([]Result, error) {
	for i := range items {
		items[i].encode()
		if in.CIOf != nil && items[i].Event.Action == Trigger {
			items[i].CIID = in.CIOf(&items[i].Event)
		}
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
	// answer may be lost, never the event. A request queued as the loop
	// stopped is never taken: it was not stored.
	select {
	case <-r.done:
	case <-in.done:
		select {
		case <-r.done:
		default:
			return nil, ErrStopped
		}
	}
	return r.results, r.err
}

func (in *Ingester) loop() {
	defer close(in.done)
	for {
		first, burst := in.next()
		if first == nil {
			// Stopped: drain what is queued and write what waits, then stop.
			for {
				select {
				case r := <-in.reqs:
					in.commit([]*request{r})
				default:
					if in.later.abandon || !in.later.pending() || in.flushDeferred() != nil {
						return
					}
				}
			}
		}
		// A burst's repeats may wait; a request that finds the loop idle
		// is written whole.
		in.later.busy = burst
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

// next waits for the next request (nil: Stop); burst says it came within
// deferIdle of the last commit. While repeats wait to be written
// (deferred.go), it writes them once the loop has been idle for deferIdle:
// not between two requests of a burst, whose senders come back within a
// few milliseconds.
func (in *Ingester) next() (r *request, burst bool) {
	select {
	case r := <-in.reqs:
		return r, true
	default:
	}
	idleSince := time.Now()
	var t *time.Timer
	var idle <-chan time.Time
	if in.later.idleFlush() {
		t = time.NewTimer(deferIdle)
		defer t.Stop()
		idle = t.C
	}
	for {
		select {
		case r := <-in.reqs:
			return r, time.Since(idleSince) < deferIdle
		case <-idle:
			idle = nil
			if in.flushDeferred() != nil {
				// Tried again later, not only at the next request.
				t.Reset(deferFor)
				idle = t.C
			}
		case <-in.stop:
			return nil, false
		}
	}
}

// flushDeferred writes the repeats that wait, in a commit of their own.
func (in *Ingester) flushDeferred() error {
	err := in.write(nil)
	if err != nil && in.Log != nil {
		in.Log.Error("ingest: write deferred repeats", "error", err)
	}
	return err
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
	id         int64  // for an alert this batch creates, reserved before it is inserted (batchWriter.ids)
	lastEvent  int64  // the alert's newest raw event (0: none), moved along as the batch adds events
	stored     int64  // its newest raw event as the database has it (behind lastEvent while repeats wait: deferred.go)
	loaded     string // its status and stored newest raw event when the batch began (asLoaded): every write checks they still are
	suppressed string
	status     string
	serviceID  int64
	key        string
}

// repeat says the write only repeats triggers on an open alert (no status
// change): what deferred.go lets wait.
func (w *alertWrite) repeat() bool {
	return w.it != nil && !w.statusChanged && w.acknowledgedAt == nil && w.resolvedAt == nil
}

type alertWrite struct {
	state          *alertState
	it             *Routed      // the last event that triggered the alert; nil if none did
	waited         *lastTrigger // for a write without one: the newest trigger of the repeats that waited for the alert (deferred.go)
	count          int
	firstSeen      int64
	lastSeen       int64
	acknowledgedAt *int64
	resolvedAt     *int64
	statusChanged  bool
	created        bool  // inserted by this batch (else updated)
	incident       int64 // for a created alert: the incident the hook joined it to (0: none)
}

// payload is the newest trigger the write carries into the alert: its own,
// or one that waited; ok is false when it has none.
func (w *alertWrite) payload() (t lastTrigger, ok bool) {
	switch {
	case w.it != nil:
		return w.it.lastTrigger(), true
	case w.waited != nil:
		return *w.waited, true
	}
	return t, false
}

// lastTrigger is what an alert keeps of its newest trigger, its last
// payload: what a repeat writes into it. Repeats that wait (deferred.go)
// keep this copy rather than the event, which would keep its whole request
// in memory.
type lastTrigger struct {
	severity, summary, host, labels string
	rawID                           int64 // its raw event
}

func (r *Routed) lastTrigger() lastTrigger {
	_, l := r.stored()
	return lastTrigger{string(r.Event.Severity), r.Event.Summary, r.Event.Host, l, r.rawID}
}

// write commits one group. Its first try takes the open alerts it knows from
// the cache; if an alert changed meanwhile, it tries again from the
// database, locking the alerts it reads (PostgreSQL: another server may be
// writing the same alerts), so that the second try cannot find them changed.
func (in *Ingester) write(batch []*request) error {
	err := in.writeOnce(batch, &in.cache, false)
	if errors.Is(err, errStale) {
		in.cache.clear()
		err = in.writeOnce(batch, &in.cache, true)
	}
	return err
}

func (in *Ingester) writeOnce(batch []*request, cache *openCache, lock bool) (err error) {
	ctx := context.Background()
	n := 0
	for _, r := range batch {
		n += len(r.items)
	}
	defer in.stats.counted(time.Now(), n, &err, &in.later)
	var keys []stateKey
	var open map[stateKey]*alertState
	var changes []AlertChange // what the batch did, for the hook and AfterCommit
	var plan *deferPlan
	var lastRaw int64
	err = in.DB.Tx(ctx, func(tx *sql.Tx) error {
		bw := &batchWriter{ctx: ctx, tx: tx, d: in.DB.Dialect}
		if err := bw.start(); err != nil {
			return err
		}
		var err error
		if plan, err = in.later.begin(bw, cache, n, in.Defer); err != nil {
			return err
		}
		// 1. The open alerts of every key in the batch.
		if open, keys, err = bw.loadOpen(batch, cache, lock); err != nil {
			return err
		}
		plan.resume(open)
		// 2. Work out the end state of each alert in memory, in order.
		var inserts, updates []*alertWrite
		byState := map[*alertState]*alertWrite{}
		changes = make([]AlertChange, 0, n)
		touched := make([]*alertState, 0, n) // per event, the alert it wrote to (nil if none)
		var marks []*alertState              // alerts whose suppression is set or lifted
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
						st = &alertState{status: "triggered", serviceID: it.ServiceID, key: ev.DedupKey, suppressed: it.Suppressed}
						open[k] = st
						if it.Suppressed != "" {
							marks = append(marks, st)
						}
						w := &alertWrite{state: st, it: it, count: 1, firstSeen: seen, lastSeen: seen, created: true}
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
						w.it, w.count, w.lastSeen = it, w.count+1, max(w.lastSeen, seen)
						res.Change = "updated"
						if st.suppressed != "" && it.Suppressed == "" {
							// The silence or window is over and the alert still
							// fires: from now on it pages.
							st.suppressed, res.Change = "", "unsuppressed"
							marks = append(marks, st)
						}
					}
				case Acknowledge, Resolve:
					if st == nil {
						res.Change = "ignored"
						touched = append(touched, nil)
						changes = append(changes, AlertChange{ServiceID: it.ServiceID, Change: res.Change, Event: ev,
							Suppressed: it.Suppressed != "", Priority: it.Priority, CIID: it.CIID})
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
							st.status, w.acknowledgedAt, w.statusChanged = "acknowledged", &seen, true
							res.Change = "acknowledged"
						} else {
							// Stored all the same, and chained to the alert
							// (which updateAlerts writes, as every alert in
							// updates).
							res.Change = "ignored"
						}
					} else {
						st.status, w.resolvedAt, w.statusChanged = "resolved", &seen, true
						delete(open, k)
						res.Change = "resolved"
					}
				}
				touched = append(touched, st)
				changes = append(changes, AlertChange{ServiceID: it.ServiceID, Change: res.Change, Event: ev,
					Suppressed: it.Suppressed != "", Priority: it.Priority, CIID: it.CIID})
			}
		}
		// 3. Number the raw events and the new alerts, and chain each raw
		// event to the one before it of the same alert, so that the alerts
		// can point at their newest.
		eventIDs, alertIDs, err := bw.ids(len(touched), len(inserts))
		if err != nil {
			return err
		}
		for i, w := range inserts {
			w.state.id = alertIDs[i]
		}
		raws := make([]rawEvent, 0, len(touched))
		ci := 0
		for _, r := range batch {
			for i := range r.items {
				raw := rawEvent{id: eventIDs[ci], it: &r.items[i]}
				r.items[i].rawID = raw.id
				if st := touched[ci]; st != nil {
					raw.prevID, st.lastEvent = st.lastEvent, raw.id
					raw.alertID = st.id
				}
				r.results[i].AlertID = raw.alertID
				changes[ci].AlertID = raw.alertID
				raws = append(raws, raw)
				ci++
			}
		}
		// 4. Update the alerts that exist, the suppression of those that
		// begin or end it; then the hook (incidents), which chooses the
		// incident of each new alert, and the new alerts with it. Updates go
		// first, so that an alert resolved in this batch is closed before
		// its key opens a new one.
		if len(eventIDs) > 0 {
			lastRaw = eventIDs[len(eventIDs)-1]
		}
		updates = plan.split(updates)
		// On PostgreSQL the raw events travel in the statement of the
		// updates, a round trip fewer: events have no foreign keys, and an
		// update that finds an alert changed rolls both back.
		var withUpdates []rawEvent
		if bw.d == db.Postgres && len(updates) > 0 {
			withUpdates, raws = raws, nil
		}
		if err := bw.updateAlerts(updates, withUpdates); err != nil {
			return err
		}
		for _, w := range updates {
			w.state.stored = w.state.lastEvent
		}
		if err := plan.write(bw, &in.later, updates); err != nil {
			return err
		}
		for _, st := range marks {
			if byState[st].created {
				continue // inserted with it
			}
			if err := bw.exec("UPDATE alerts SET suppressed = "+bw.d.Params(1, 1)+" WHERE id = "+bw.d.Params(2, 1), st.suppressed, st.id); err != nil {
				return err
			}
		}
		if in.Hook != nil && len(changes) > 0 {
			if err := in.Hook(ctx, tx, changes); err != nil {
				return err
			}
			for ci, c := range changes {
				if c.IncidentID != 0 {
					if w := byState[touched[ci]]; w != nil && w.created {
						w.incident = c.IncidentID
					}
				}
			}
		}
		if err := bw.insertAlerts(inserts); err != nil {
			return err
		}
		for _, w := range inserts {
			w.state.stored = w.state.lastEvent
		}
		// 5. The raw events (unless they went with the updates).
		if err := bw.insertRaw(raws); err != nil {
			return err
		}
		return plan.finish(bw, &in.later, lastRaw)
	})
	if err == nil {
		// Waiting repeats written by a flush first, then the batch's own
		// alerts, which may have been written again after them.
		in.later.done(plan, cache, lastRaw)
		cache.keep(keys, open)
		if plan.replayed > 0 && in.Log != nil {
			in.Log.Info("ingest: replayed into their alerts the repeats an unclean stop left unwritten", "alerts", plan.replayed)
		}
		if in.AfterCommit != nil {
			in.AfterCommit(changes)
		}
	}
	return err
}

// stateKey names an open alert: its service and dedup key.
type stateKey struct {
	service int64
	key     string
}

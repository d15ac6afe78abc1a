package event_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/service"
	"github.com/steadyhq/steady/internal/testkit"
)

func newService(t *testing.T, s *testkit.Server, name string) int64 {
	t.Helper()
	c := service.New(s.App.DB, s.App.Audit, s.Clock)
	svc, err := c.Create(context.Background(), service.Fields{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	return svc.ID
}

// started starts in and stops it when the test ends.
func started(t testing.TB, in *event.Ingester) *event.Ingester {
	in.Start()
	t.Cleanup(in.Stop)
	return in
}

func ev(action event.Action, key string) event.Event {
	return event.Event{Source: event.SourceGeneric, Action: action, DedupKey: key, Severity: event.Error, Summary: "s " + key}
}

type alertRow struct {
	id     int64
	status string
	count  int
}

func alerts(t *testing.T, d *db.DB, svc int64, key string) []alertRow {
	t.Helper()
	rows, err := d.R.Query("SELECT id, status, count FROM alerts WHERE service_id = $1 AND dedup_key = $2 ORDER BY id", svc, key)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []alertRow
	for rows.Next() {
		var a alertRow
		if err := rows.Scan(&a.id, &a.status, &a.count); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

func count(t *testing.T, d *db.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := d.R.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestIngestDedup(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		in := started(t, &event.Ingester{DB: s.App.DB, Clock: s.Clock})
		ctx := context.Background()
		svc := newService(t, s, "api")
		other := newService(t, s, "db")
		submit := func(items ...event.Routed) []event.Result {
			t.Helper()
			res, err := in.Submit(ctx, items)
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		on := func(svc int64, e event.Event) event.Routed { return event.Routed{ServiceID: svc, Event: e} }

		// Repeats update one alert.
		r := submit(on(svc, ev(event.Trigger, "k1")), on(svc, ev(event.Trigger, "k1")))
		r = append(r, submit(on(svc, ev(event.Trigger, "k1")))...)
		if r[0].Change != "created" || r[1].Change != "updated" || r[2].Change != "updated" || r[0].AlertID != r[2].AlertID || r[0].AlertID == 0 {
			t.Fatalf("results %+v", r)
		}
		if a := alerts(t, s.App.DB, svc, "k1"); len(a) != 1 || a[0].count != 3 || a[0].status != "triggered" {
			t.Fatalf("alerts %+v", a)
		}
		// Acknowledge sticks through later triggers; resolve closes; a new
		// trigger opens a new alert.
		submit(on(svc, ev(event.Acknowledge, "k1")))
		submit(on(svc, ev(event.Trigger, "k1")))
		if a := alerts(t, s.App.DB, svc, "k1"); len(a) != 1 || a[0].status != "acknowledged" || a[0].count != 4 {
			t.Fatalf("after ack: %+v", a)
		}
		r = submit(on(svc, ev(event.Resolve, "k1")), on(svc, ev(event.Trigger, "k1")))
		if r[0].Change != "resolved" || r[1].Change != "created" || r[0].AlertID == r[1].AlertID {
			t.Fatalf("resolve then trigger: %+v", r)
		}
		if a := alerts(t, s.App.DB, svc, "k1"); len(a) != 2 || a[0].status != "resolved" || a[1].status != "triggered" || a[1].count != 1 {
			t.Fatalf("after resolve and trigger: %+v", a)
		}
		// One request: trigger, resolve, trigger of a new key.
		submit(on(svc, ev(event.Trigger, "k2")), on(svc, ev(event.Resolve, "k2")), on(svc, ev(event.Trigger, "k2")))
		if a := alerts(t, s.App.DB, svc, "k2"); len(a) != 2 || a[0].status != "resolved" || a[1].status != "triggered" {
			t.Fatalf("in-batch sequence: %+v", a)
		}
		// Acknowledge and resolve of nothing are stored, and change nothing.
		r = submit(on(svc, ev(event.Resolve, "nothing")), on(svc, ev(event.Acknowledge, "nothing")))
		if r[0].Change != "ignored" || r[0].AlertID != 0 || len(alerts(t, s.App.DB, svc, "nothing")) != 0 {
			t.Fatalf("ignored: %+v", r)
		}
		if n := count(t, s.App.DB, "SELECT COUNT(*) FROM events WHERE dedup_key = 'nothing' AND alert_id IS NULL"); n != 2 {
			t.Fatalf("%d raw events for ignored actions", n)
		}
		// The same key on two services is two alerts.
		submit(on(other, ev(event.Trigger, "k2")))
		if len(alerts(t, s.App.DB, other, "k2")) != 1 || len(alerts(t, s.App.DB, svc, "k2")) != 2 {
			t.Fatal("keys are per service")
		}
		if n := count(t, s.App.DB, "SELECT COUNT(*) FROM events"); n != 13 {
			t.Fatalf("%d raw events, want 13", n)
		}
	})
}

func TestIngestConcurrentAndAtomic(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		fail := false
		var mu sync.Mutex
		in := &event.Ingester{DB: s.App.DB, Clock: s.Clock, Hook: func(ctx context.Context, tx *sql.Tx, ch []event.AlertChange) error {
			mu.Lock()
			defer mu.Unlock()
			if fail {
				return errors.New("hook refuses")
			}
			return nil
		}}
		started(t, in)
		svc := newService(t, s, "api")

		const clients, per, keys = 32, 50, 40
		var wg sync.WaitGroup
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func(c int) {
				defer wg.Done()
				for i := 0; i < per; i++ {
					k := fmt.Sprintf("key-%d", (c*per+i)%keys)
					if _, err := in.Submit(context.Background(), []event.Routed{{ServiceID: svc, Event: ev(event.Trigger, k)}}); err != nil {
						t.Error(err)
						return
					}
				}
			}(c)
		}
		wg.Wait()
		if n := count(t, s.App.DB, "SELECT COUNT(*) FROM alerts WHERE status = 'triggered'"); n != keys {
			t.Fatalf("%d open alerts, want %d", n, keys)
		}
		if n := count(t, s.App.DB, "SELECT SUM(count) FROM alerts"); n != clients*per {
			t.Fatalf("alert counts sum to %d, want %d", n, clients*per)
		}
		if n := count(t, s.App.DB, "SELECT COUNT(*) FROM events"); n != clients*per {
			t.Fatalf("%d raw events, want %d", n, clients*per)
		}

		// A failing hook fails the batch: nothing of it is stored.
		mu.Lock()
		fail = true
		mu.Unlock()
		if _, err := in.Submit(context.Background(), []event.Routed{{ServiceID: svc, Event: ev(event.Trigger, "doomed")}}); err == nil {
			t.Fatal("the hook's error was not returned")
		}
		if n := count(t, s.App.DB, "SELECT COUNT(*) FROM events WHERE dedup_key = 'doomed'"); n != 0 {
			t.Fatal("a failed batch left raw events")
		}
		if len(alerts(t, s.App.DB, svc, "doomed")) != 0 {
			t.Fatal("a failed batch left an alert")
		}
		// So does one that first updated alerts (on PostgreSQL, in the
		// statement that also inserts the raw events).
		if _, err := in.Submit(context.Background(), []event.Routed{{ServiceID: svc, Event: ev(event.Trigger, "key-1")},
			{ServiceID: svc, Event: ev(event.Trigger, "doomed")}}); err == nil {
			t.Fatal("the hook's error was not returned")
		}
		if n := count(t, s.App.DB, "SELECT COUNT(*) FROM events"); n != clients*per {
			t.Fatalf("a failed batch of repeats left raw events: %d, want %d", n, clients*per)
		}
		if n := count(t, s.App.DB, "SELECT SUM(count) FROM alerts"); n != clients*per {
			t.Fatalf("a failed batch of repeats changed the counts: %d, want %d", n, clients*per)
		}
	})
}

// A new alert is inserted after the hook, with the incident the hook set in
// its change; AfterCommit hears of committed batches only.
func TestIngestNewAlertIncidentAndAfterCommit(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		svc := newService(t, s, "api")
		var incident int64
		if err := s.App.DB.W.QueryRow(`INSERT INTO incidents (title, service_id, status, impact, urgency, priority, severity,
			group_key, alert_count, open_alert_count, created_at, last_alert_at, updated_at)
			VALUES ('t', $1, 'triggered', 2, 2, 'P3', 'error', '', 0, 0, 0, 0, 0) RETURNING id`, svc).Scan(&incident); err != nil {
			t.Fatal(err)
		}
		fail := false
		var heard [][]event.AlertChange
		in := &event.Ingester{DB: s.App.DB, Clock: s.Clock,
			Hook: func(ctx context.Context, tx *sql.Tx, ch []event.AlertChange) error {
				for i := range ch {
					if ch[i].Change == "created" {
						// Not written yet: the hook sees no row.
						var n int
						if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM alerts WHERE id = $1", ch[i].AlertID).Scan(&n); err != nil || n != 0 {
							return fmt.Errorf("new alert %d visible to the hook (%d rows, %v)", ch[i].AlertID, n, err)
						}
						ch[i].IncidentID = incident
					}
				}
				if fail {
					return errors.New("hook refuses")
				}
				return nil
			},
			AfterCommit: func(ch []event.AlertChange) { heard = append(heard, ch) }}
		started(t, in)

		res, err := in.Submit(context.Background(), []event.Routed{{ServiceID: svc, Event: ev(event.Trigger, "a")}})
		if err != nil {
			t.Fatal(err)
		}
		var got sql.NullInt64
		if err := s.App.DB.R.QueryRow("SELECT incident_id FROM alerts WHERE id = $1", res[0].AlertID).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got.Int64 != incident {
			t.Fatalf("alert's incident %v, want %d", got, incident)
		}
		if len(heard) != 1 || len(heard[0]) != 1 || heard[0][0].AlertID != res[0].AlertID || heard[0][0].Change != "created" {
			t.Fatalf("AfterCommit heard %+v", heard)
		}

		fail = true
		if _, err := in.Submit(context.Background(), []event.Routed{{ServiceID: svc, Event: ev(event.Trigger, "b")}}); err == nil {
			t.Fatal("a failing hook failed nothing")
		}
		if len(heard) != 1 {
			t.Fatalf("AfterCommit heard a rolled-back batch: %+v", heard[1:])
		}
		if rows := alerts(t, s.App.DB, svc, "b"); len(rows) != 0 {
			t.Fatalf("rolled-back alert stored: %+v", rows)
		}
	})
}

// The commit loop counts its transactions, the events they committed and
// the ones that rolled back (steady_ingest_* metrics).
func TestIngesterStats(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		var fail atomic.Bool
		in := &event.Ingester{DB: s.App.DB, Clock: s.Clock, Hook: func(context.Context, *sql.Tx, []event.AlertChange) error {
			if fail.Load() {
				return errors.New("the hook fails")
			}
			return nil
		}}
		started(t, in)
		svc := newService(t, s, "counted")
		send := func(keys ...string) error {
			var items []event.Routed
			for _, k := range keys {
				e := ev(event.Trigger, k)
				e.ReceivedAt = s.Clock.Now()
				items = append(items, event.Routed{ServiceID: svc, Event: e})
			}
			_, err := in.Submit(context.Background(), items)
			return err
		}
		if err := send("a", "b", "c"); err != nil {
			t.Fatal(err)
		}
		if err := send("a"); err != nil {
			t.Fatal(err)
		}
		if st := in.Stats(); st.Transactions != 2 || st.Events != 4 || st.Failed != 0 || st.Busy <= 0 {
			t.Fatalf("after two commits: %+v", st)
		}
		fail.Store(true)
		if err := send("d", "e"); err == nil {
			t.Fatal("a failing hook fails the submit")
		}
		if st := in.Stats(); st.Transactions != 3 || st.Events != 4 || st.Failed != 1 {
			t.Fatalf("after a failed commit: %+v", st)
		}
	})
}

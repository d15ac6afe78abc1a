package event_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// burst is n triggers of keys k0…k(n-1) with a summary, in one submit: a
// commit big enough for its repeats to wait (deferred.go).
func burst(t *testing.T, s *testkit.Server, in *event.Ingester, svc int64, n int, summary string, extra ...event.Event) {
	t.Helper()
	items := make([]event.Routed, 0, n+len(extra))
	for _, e := range extra {
		e.ReceivedAt = s.Clock.Now()
		items = append(items, event.Routed{ServiceID: svc, Event: e})
	}
	for i := range n {
		e := ev(event.Trigger, fmt.Sprintf("k%d", i))
		e.Summary = summary
		e.ReceivedAt = s.Clock.Now()
		items = append(items, event.Routed{ServiceID: svc, Event: e})
	}
	if _, err := in.Submit(context.Background(), items); err != nil {
		t.Fatal(err)
	}
}

// heldIngester starts a deferring ingester whose repeats wait until a
// commit must write them, and a service with two bursts of n keys sent:
// every alert created, then repeated once.
func heldIngester(t *testing.T, s *testkit.Server, n int) (*event.Ingester, int64) {
	t.Helper()
	in := &event.Ingester{DB: s.App.DB, Clock: s.Clock, Defer: true}
	event.HoldDeferred(in)
	in.Start()
	svc := newService(t, s, "api")
	burst(t, s, in, svc, n, "first")
	burst(t, s, in, svc, n, "second")
	return in, svc
}

// summaries counts the alerts of svc by (status, count, summary).
func summaries(t *testing.T, d *db.DB, svc int64) map[string]int {
	t.Helper()
	rows, err := d.R.Query("SELECT status, count, summary FROM alerts WHERE service_id = $1", svc)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var status, summary string
		var n int
		if err := rows.Scan(&status, &n, &summary); err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprintf("%s/%d/%s", status, n, summary)]++
	}
	return out
}

// A burst's repeats wait in memory on SQLite and are written once; an
// acknowledge takes its alert's waiting repeats with it; after a crash the
// next ingester replays the repeats into their alerts, chains included.
// PostgreSQL writes every repeat at once: the same end state.
func TestDeferredRepeatsSurviveACrash(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		const n = 300
		in, svc := heldIngester(t, s, n)
		if d == db.SQLite {
			if got := summaries(t, s.App.DB, svc); got["triggered/1/first"] != n || int(in.Stats().Waiting) != n {
				t.Fatalf("after the second burst: %v, %d waiting; want every repeat waiting", got, int(in.Stats().Waiting))
			}
		}
		// A burst whose first event acknowledges k0: k0 is written with
		// everything that waited for it.
		burst(t, s, in, svc, n, "third", ev(event.Acknowledge, "k0"))
		if a := alerts(t, s.App.DB, svc, "k0"); len(a) != 1 || a[0].status != "acknowledged" || a[0].count != 3 {
			t.Fatalf("k0 after its acknowledge: %+v; want acknowledged with all 3 triggers", a)
		}
		if d == db.SQLite && int(in.Stats().Waiting) != n-1 {
			t.Fatalf("%d alerts waiting; want %d", int(in.Stats().Waiting), n-1)
		}
		event.Crash(in)

		again := started(t, &event.Ingester{DB: s.App.DB, Clock: s.Clock, Defer: true})
		// The replay runs before the first commit: a submit waits for it.
		if _, err := again.Submit(context.Background(), []event.Routed{{ServiceID: svc, Event: ev(event.Trigger, "other")}}); err != nil {
			t.Fatal(err)
		}
		got := summaries(t, s.App.DB, svc)
		if got["triggered/3/third"] != n-1 || got["acknowledged/3/third"] != 1 {
			t.Fatalf("alerts after the crash: %v; want %d triggered with 3 triggers and the third summary", got, n-1)
		}
		for _, key := range []string{"k0", "k1", fmt.Sprint("k", n-1)} {
			a := alerts(t, s.App.DB, svc, key)
			want := rawIDsBySQL(t, s.App.DB, "SELECT id FROM events WHERE alert_id = $1 ORDER BY id DESC", a[0].id)
			if chain := rawIDs(t, s.App.DB, event.RawFilter{AlertID: a[0].id}, 10); fmt.Sprint(chain) != fmt.Sprint(want) {
				t.Fatalf("%s lists events %v; want %v", key, chain, want)
			}
		}
		var lastSeen, newest int64
		if err := s.App.DB.R.QueryRow(`SELECT a.last_seen, (SELECT MAX(received_at) FROM events WHERE alert_id = a.id)
			FROM alerts a WHERE a.service_id = $1 AND a.dedup_key = 'k1'`, svc).Scan(&lastSeen, &newest); err != nil || lastSeen != newest {
			t.Fatalf("k1 last seen %d, newest event %d: %v", lastSeen, newest, err)
		}
	})
}

// An alert resolved behind the ingester's back while repeats wait for it:
// they are counted on it (they came first), and the next trigger opens a
// new alert. Deleting a service's alerts moves the epoch too.
func TestDeferredRepeatsAndChangesElsewhere(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		const n = 300
		in, svc := heldIngester(t, s, n)
		old := alerts(t, s.App.DB, svc, "k1")[0].id
		// As resolving its incident does.
		if _, err := s.App.DB.W.Exec("UPDATE alerts SET status = 'resolved' WHERE id = $1", old); err != nil {
			t.Fatal(err)
		}
		burst(t, s, in, svc, n, "third")
		a := alerts(t, s.App.DB, svc, "k1")
		if len(a) != 2 || a[0].id != old || a[0].status != "resolved" || a[0].count != 2 || a[1].status != "triggered" || a[1].count != 1 {
			t.Fatalf("k1: %+v; want the resolved alert with its 2 triggers and a new one", a)
		}
		in.Stop()
		if got := summaries(t, s.App.DB, svc); got["triggered/3/third"] != n-1 {
			t.Fatalf("alerts after Stop: %v", got)
		}
		if d != db.SQLite {
			return
		}
		epoch := func() int64 {
			var e int64
			if err := s.App.DB.R.QueryRow("SELECT alert_epoch FROM ingest_state WHERE id = 1").Scan(&e); err != nil {
				t.Fatal(err)
			}
			return e
		}
		before := epoch()
		if _, err := s.App.DB.W.Exec("DELETE FROM services WHERE id = $1", svc); err != nil {
			t.Fatal(err)
		}
		if after := epoch(); after <= before {
			t.Fatalf("alert epoch %d → %d after a service and its alerts were deleted", before, after)
		}
	})
}

// An acknowledge alone of an alert whose repeats wait writes them with it:
// their count, and the newest one as the alert's last payload.
func TestDeferredRepeatsTakenByAnAcknowledge(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		const n = 300
		in, svc := heldIngester(t, s, n)
		t.Cleanup(in.Stop)
		if _, err := in.Submit(context.Background(), []event.Routed{{ServiceID: svc, Event: ev(event.Acknowledge, "k1")}}); err != nil {
			t.Fatal(err)
		}
		if got := summaries(t, s.App.DB, svc); got["acknowledged/2/second"] != 1 || got["triggered/2/second"] != n-1 {
			t.Fatalf("alerts after an acknowledge of k1: %v; want k1 acknowledged with both triggers and the second summary", got)
		}
	})
}

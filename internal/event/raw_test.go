package event_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/page"
	"github.com/steadyhq/steady/internal/testkit"
)

// rawIDs pages through ListRaw with pages of size and returns the event ids
// in the order listed, checking that each page is newest first.
func rawIDs(t *testing.T, d *db.DB, f event.RawFilter, size int) []int64 {
	t.Helper()
	var out []int64
	p := page.Request{Limit: size}
	for range 100 {
		l, err := event.ListRaw(context.Background(), d, f, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) > size {
			t.Fatalf("page of %d items; limit %d", len(l.Items), size)
		}
		for _, e := range l.Items {
			if len(out) > 0 && e.ID >= out[len(out)-1] {
				t.Fatalf("not newest first: %d after %d", e.ID, out[len(out)-1])
			}
			out = append(out, e.ID)
		}
		if l.Next == "" {
			return out
		}
		after, ok := page.Decode(l.Next)
		if !ok {
			t.Fatalf("cursor %q", l.Next)
		}
		p.After = after
	}
	t.Fatal("paging did not end")
	return nil
}

// rawIDsBySQL is what the chains must give: every stored event of the
// alerts, newest first.
func rawIDsBySQL(t *testing.T, d *db.DB, q string, args ...any) []int64 {
	t.Helper()
	rows, err := d.R.Query(q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

func TestRawEventsOfAlertsAndIncidents(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		in := started(t, &event.Ingester{DB: s.App.DB, Clock: s.Clock})
		svc := newService(t, s, "api")
		ctx := context.Background()
		// Three alerts, their events interleaved within and across batches;
		// "c" is resolved and opens again, which is a new alert.
		submit := func(evs ...event.Event) {
			t.Helper()
			items := make([]event.Routed, len(evs))
			for i, e := range evs {
				e.ReceivedAt = s.Clock.Now()
				items[i] = event.Routed{ServiceID: svc, Event: e}
			}
			if _, err := in.Submit(ctx, items); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 7 {
			submit(ev(event.Trigger, "a"), ev(event.Trigger, "b"), ev(event.Trigger, "a"))
			if i%3 == 0 {
				submit(ev(event.Trigger, "c"))
			}
		}
		submit(ev(event.Acknowledge, "a"), ev(event.Acknowledge, "a"), ev(event.Resolve, "c"), ev(event.Trigger, "c"))
		submit(ev(event.Resolve, "nothing-open"))

		alertOf := func(key string) []alertRow { return alerts(t, s.App.DB, svc, key) }
		a, b, c := alertOf("a")[0].id, alertOf("b")[0].id, alertOf("c")
		if len(c) != 2 {
			t.Fatalf("alerts of c: %+v", c)
		}
		for _, id := range []int64{a, b, c[0].id, c[1].id} {
			want := rawIDsBySQL(t, s.App.DB, "SELECT id FROM events WHERE alert_id = $1 ORDER BY id DESC", id)
			for _, size := range []int{1, 3, 50} {
				got := rawIDs(t, s.App.DB, event.RawFilter{AlertID: id}, size)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("alert %d, pages of %d: %v; want %v", id, size, got, want)
				}
			}
		}
		if n := len(rawIDs(t, s.App.DB, event.RawFilter{AlertID: a}, 50)); n != 16 {
			t.Fatalf("alert a has %d raw events; want 14 triggers and 2 acknowledges", n)
		}

		// An incident's events are its alerts' events, merged newest first.
		if _, err := s.App.DB.W.Exec("UPDATE alerts SET incident_id = 99 WHERE id IN ($1, $2, $3)", a, c[0].id, c[1].id); err != nil {
			t.Fatal(err)
		}
		want := rawIDsBySQL(t, s.App.DB, "SELECT id FROM events WHERE alert_id IN ($1, $2, $3) ORDER BY id DESC", a, c[0].id, c[1].id)
		for _, size := range []int{1, 4, 7, 100} {
			got := rawIDs(t, s.App.DB, event.RawFilter{IncidentID: 99}, size)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("incident, pages of %d: %v; want %v", size, got, want)
			}
		}
		if got := rawIDs(t, s.App.DB, event.RawFilter{IncidentID: 12345}, 10); len(got) != 0 {
			t.Fatalf("an incident without alerts lists %v", got)
		}

		// The alert's last payload is its newest trigger, not the acknowledge.
		got, err := event.GetAlert(ctx, s.App.DB, a)
		if err != nil || got.LastEvent == nil || got.LastEvent.Action != event.Trigger || got.LastEvent.DedupKey != "a" {
			t.Fatalf("alert a: %+v, %v", got.LastEvent, err)
		}
	})
}

func TestPruneRawKeepsLastPayload(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		in := started(t, &event.Ingester{DB: s.App.DB, Clock: s.Clock})
		svc := newService(t, s, "api")
		ctx := context.Background()
		old := ev(event.Trigger, "quiet")
		old.Summary = "the last words"
		old.ReceivedAt = s.Clock.Now().Add(-40 * 24 * time.Hour)
		chatty := ev(event.Trigger, "chatty")
		chatty.ReceivedAt = old.ReceivedAt
		again := ev(event.Trigger, "chatty")
		again.Summary = "still firing"
		again.ReceivedAt = s.Clock.Now()
		if _, err := in.Submit(ctx, []event.Routed{{ServiceID: svc, Event: old}, {ServiceID: svc, Event: chatty}, {ServiceID: svc, Event: again}}); err != nil {
			t.Fatal(err)
		}
		if n, err := event.PruneRaw(ctx, s.App.DB, s.Clock.Now().Add(-event.DefaultRetention)); err != nil || n != 2 {
			t.Fatalf("pruned %d: %v", n, err)
		}
		quiet := alerts(t, s.App.DB, svc, "quiet")[0].id
		got, err := event.GetAlert(ctx, s.App.DB, quiet)
		if err != nil || got.LastEvent == nil || got.LastEvent.Summary != "the last words" {
			t.Fatalf("the pruned alert's last payload: %+v, %v", got.LastEvent, err)
		}
		if ids := rawIDs(t, s.App.DB, event.RawFilter{AlertID: quiet}, 10); len(ids) != 0 {
			t.Fatalf("pruned events still listed: %v", ids)
		}
		live := alerts(t, s.App.DB, svc, "chatty")[0].id
		got, err = event.GetAlert(ctx, s.App.DB, live)
		if err != nil || got.LastEvent == nil || got.LastEvent.Summary != "still firing" {
			t.Fatalf("the live alert's last payload: %+v, %v", got.LastEvent, err)
		}
		if ids := rawIDs(t, s.App.DB, event.RawFilter{AlertID: live}, 10); len(ids) != 1 {
			t.Fatalf("the live alert lists %v; want its one fresh event", ids)
		}
	})
}

// The commit loop remembers open alerts; an alert changed by anything else
// (an incident resolving it, a second writer) must never be written over.
func TestIngestAfterChangesElsewhere(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		one := started(t, &event.Ingester{DB: s.App.DB, Clock: s.Clock})
		two := started(t, &event.Ingester{DB: s.App.DB, Clock: s.Clock})
		svc := newService(t, s, "api")
		ctx := context.Background()
		send := func(in *event.Ingester, e event.Event) event.Result {
			t.Helper()
			e.ReceivedAt = s.Clock.Now()
			res, err := in.Submit(ctx, []event.Routed{{ServiceID: svc, Event: e}, {ServiceID: svc, Event: ev(event.Trigger, "other")}})
			if err != nil {
				t.Fatal(err)
			}
			return res[0]
		}
		send(one, ev(event.Trigger, "k"))
		send(one, ev(event.Trigger, "k"))
		// Resolved behind the ingester's back, as resolving its incident does.
		first := alerts(t, s.App.DB, svc, "k")[0].id
		if _, err := s.App.DB.W.Exec("UPDATE alerts SET status = 'resolved' WHERE id = $1", first); err != nil {
			t.Fatal(err)
		}
		if r := send(one, ev(event.Trigger, "k")); r.Change != "created" || r.AlertID == first {
			t.Fatalf("a trigger after the alert was resolved elsewhere: %+v", r)
		}
		got := alerts(t, s.App.DB, svc, "k")
		if len(got) != 2 || got[0].count != 2 || got[0].status != "resolved" || got[1].count != 1 || got[1].status != "triggered" {
			t.Fatalf("alerts of k: %+v", got)
		}
		// A second writer adds events to the same alert in between.
		send(two, ev(event.Trigger, "k"))
		send(one, ev(event.Trigger, "k"))
		send(two, ev(event.Acknowledge, "k"))
		if r := send(one, ev(event.Resolve, "k")); r.Change != "resolved" || r.AlertID != got[1].id {
			t.Fatalf("resolve: %+v", r)
		}
		want := rawIDsBySQL(t, s.App.DB, "SELECT id FROM events WHERE alert_id = $1 ORDER BY id DESC", got[1].id)
		if list := rawIDs(t, s.App.DB, event.RawFilter{AlertID: got[1].id}, 2); fmt.Sprint(list) != fmt.Sprint(want) || len(want) != 5 {
			t.Fatalf("events of the alert both wrote to: %v; want %v (5)", list, want)
		}
		if a := alerts(t, s.App.DB, svc, "k"); len(a) != 2 || a[1].count != 3 || a[1].status != "resolved" {
			t.Fatalf("alerts of k at the end: %+v", a)
		}
	})
}

// Commits that repeat many alerts, one of them changed elsewhere meanwhile,
// are tried again from the database: each raw event is stored once, on its
// alert's chain. The two shapes are many alerts with a repeat each and a few
// alerts with many repeats (on PostgreSQL, the raw events then go with the
// updates as arrays, or as a VALUES list with arrays).
func TestIngestManyRepeatsAfterChangeElsewhere(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		in := started(t, &event.Ingester{DB: s.App.DB, Clock: s.Clock})
		for _, shape := range []struct{ keys, repeats int }{{100, 1}, {10, 10}} {
			svc := newService(t, s, fmt.Sprintf("svc-%d", shape.keys))
			submit := func(repeats int) {
				t.Helper()
				var items []event.Routed
				for r := range repeats {
					for k := range shape.keys {
						e := ev(event.Trigger, fmt.Sprintf("k%d", k))
						e.ReceivedAt = s.Clock.Now().Add(time.Duration(r) * time.Millisecond)
						items = append(items, event.Routed{ServiceID: svc, Event: e})
					}
				}
				if _, err := in.Submit(context.Background(), items); err != nil {
					t.Fatal(err)
				}
			}
			submit(1)
			if _, err := s.App.DB.W.Exec("UPDATE alerts SET status = 'acknowledged' WHERE service_id = $1 AND dedup_key = 'k3'", svc); err != nil {
				t.Fatal(err)
			}
			submit(shape.repeats)
			if n := count(t, s.App.DB, "SELECT COUNT(*) FROM events WHERE service_id = $1", svc); n != shape.keys*(1+shape.repeats) {
				t.Fatalf("%+v: %d raw events, want %d", shape, n, shape.keys*(1+shape.repeats))
			}
			for k := range shape.keys {
				a := alerts(t, s.App.DB, svc, fmt.Sprintf("k%d", k))
				if len(a) != 1 {
					t.Fatalf("%+v k%d: alerts %+v", shape, k, a)
				}
				want := rawIDsBySQL(t, s.App.DB, "SELECT id FROM events WHERE alert_id = $1 ORDER BY id DESC", a[0].id)
				got := rawIDs(t, s.App.DB, event.RawFilter{AlertID: a[0].id}, 100)
				if a[0].count != 1+shape.repeats || len(want) != 1+shape.repeats || fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("%+v k%d: alerts %+v, chain %v, table %v", shape, k, a, got, want)
				}
				if (k == 3) != (a[0].status == "acknowledged") {
					t.Fatalf("%+v k%d: status %s", shape, k, a[0].status)
				}
			}
		}
	})
}

// An incident acknowledging its alerts changes their status behind the
// commit loop's back: a repeat must not set it back, and an acknowledge
// event must find the alert acknowledged already.
func TestIngestAfterIncidentAcknowledge(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		in := started(t, &event.Ingester{DB: s.App.DB, Clock: s.Clock})
		svc := newService(t, s, "api")
		ctx := context.Background()
		send := func(e event.Event) event.Result {
			t.Helper()
			e.ReceivedAt = s.Clock.Now()
			res, err := in.Submit(ctx, []event.Routed{{ServiceID: svc, Event: e}})
			if err != nil {
				t.Fatal(err)
			}
			return res[0]
		}
		send(ev(event.Trigger, "k"))
		id := alerts(t, s.App.DB, svc, "k")[0].id
		// As acknowledging its incident does.
		if _, err := s.App.DB.W.Exec("UPDATE alerts SET status = 'acknowledged', acknowledged_at = 1 WHERE id = $1 AND status = 'triggered'", id); err != nil {
			t.Fatal(err)
		}
		send(ev(event.Trigger, "k"))
		if a := alerts(t, s.App.DB, svc, "k"); len(a) != 1 || a[0].status != "acknowledged" || a[0].count != 2 {
			t.Fatalf("a repeat after the incident was acknowledged: %+v", a)
		}
		if r := send(ev(event.Acknowledge, "k")); r.Change != "ignored" {
			t.Fatalf("an acknowledge of an acknowledged alert: %q; want ignored", r.Change)
		}
	})
}

// Retention never frees the highest raw event id: SQLite numbers events
// after it, and chains of pruned alerts still point at old ids.
func TestPruneRawNeverReusesIDs(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		in := started(t, &event.Ingester{DB: s.App.DB, Clock: s.Clock})
		a, b := newService(t, s, "a"), newService(t, s, "b")
		ctx := context.Background()
		submit := func(svc int64, key string, at time.Time) {
			t.Helper()
			var items []event.Routed
			for range 3 {
				e := ev(event.Trigger, key)
				e.ReceivedAt = at
				items = append(items, event.Routed{ServiceID: svc, Event: e})
			}
			if _, err := in.Submit(ctx, items); err != nil {
				t.Fatal(err)
			}
		}
		submit(a, "x", s.Clock.Now().Add(-40*24*time.Hour))
		if n, err := event.PruneRaw(ctx, s.App.DB, s.Clock.Now().Add(-event.DefaultRetention)); err != nil || n != 2 {
			t.Fatalf("pruned %d, %v; want all but the newest", n, err)
		}
		submit(b, "y", s.Clock.Now())
		x := alerts(t, s.App.DB, a, "x")[0].id
		kept := rawIDsBySQL(t, s.App.DB, "SELECT id FROM events WHERE alert_id = $1", x)
		if got := rawIDs(t, s.App.DB, event.RawFilter{AlertID: x}, 10); fmt.Sprint(got) != fmt.Sprint(kept) || len(kept) != 1 {
			t.Fatalf("alert x lists %v; want only its own kept event %v", got, kept)
		}
		y := alerts(t, s.App.DB, b, "y")[0].id
		for _, id := range rawIDs(t, s.App.DB, event.RawFilter{AlertID: y}, 10) {
			if id <= kept[0] {
				t.Fatalf("event id %d handed out again", id)
			}
		}
	})
}

// Two servers receiving the same alerts at once (an Alertmanager pair
// behind a load balancer): no submit fails, and every event is on its
// alert's chain.
func TestIngestTwoWritersSameAlerts(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		ins := []*event.Ingester{{DB: s.App.DB, Clock: s.Clock}, {DB: s.App.DB, Clock: s.Clock}}
		for _, in := range ins {
			started(t, in)
		}
		svc := newService(t, s, "api")
		ctx := context.Background()
		pair := func() []event.Routed {
			var out []event.Routed
			for _, key := range []string{"hot", "hot2"} {
				e := ev(event.Trigger, key)
				e.ReceivedAt = s.Clock.Now()
				out = append(out, event.Routed{ServiceID: svc, Event: e})
			}
			return out
		}
		if _, err := ins[0].Submit(ctx, pair()); err != nil {
			t.Fatal(err)
		}
		var ok, failed atomic.Int64
		ok.Add(1)
		var wg sync.WaitGroup
		for g := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 40 {
					if _, err := ins[g%2].Submit(ctx, pair()); err != nil {
						failed.Add(1)
						t.Log(err)
					} else {
						ok.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		if failed.Load() > 0 {
			t.Fatalf("%d submits failed", failed.Load())
		}
		for _, key := range []string{"hot", "hot2"} {
			a := alerts(t, s.App.DB, svc, key)
			want := rawIDsBySQL(t, s.App.DB, "SELECT id FROM events WHERE alert_id = $1 ORDER BY id DESC", a[0].id)
			got := rawIDs(t, s.App.DB, event.RawFilter{AlertID: a[0].id}, 100)
			if len(a) != 1 || fmt.Sprint(got) != fmt.Sprint(want) || int64(len(want)) != ok.Load() || int64(a[0].count) != ok.Load() {
				t.Fatalf("%s: chain %d events, table %d, count %+v, submits %d", key, len(got), len(want), a, ok.Load())
			}
		}
	})
}

// TestIngestIDsNotInOneRange has another writer's ids fall between those a
// commit takes from the PostgreSQL sequences (made to step by more than one,
// as interleaved writers would leave them): every raw event and new alert
// still gets an id the sequence gave, new alerts in the order of their
// events, and each alert's chain lists its events newest first (rawIDs).
// The same events again repeat every alert. SQLite, which numbers after
// the highest ids, runs the same ingest.
func TestIngestIDsNotInOneRange(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		if d == db.Postgres {
			for _, q := range []string{
				"SELECT setval(pg_get_serial_sequence('events', 'id'), 1000)",
				"SELECT setval(pg_get_serial_sequence('alerts', 'id'), 500)",
			} {
				if _, err := s.App.DB.W.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			for table, step := range map[string]int{"events": 3, "alerts": 2} {
				var seq string
				if err := s.App.DB.R.QueryRow("SELECT pg_get_serial_sequence($1, 'id')", table).Scan(&seq); err != nil {
					t.Fatal(err)
				}
				if _, err := s.App.DB.W.Exec(fmt.Sprintf("ALTER SEQUENCE %s INCREMENT BY %d", seq, step)); err != nil {
					t.Fatal(err)
				}
			}
		}
		in := started(t, &event.Ingester{DB: s.App.DB, Clock: s.Clock})
		svc := newService(t, s, "api")
		var items []event.Routed
		for i := range 40 {
			items = append(items, event.Routed{ServiceID: svc, Event: ev(event.Trigger, fmt.Sprintf("k%d", i%7))})
		}
		res, err := in.Submit(context.Background(), items)
		if err != nil {
			t.Fatal(err)
		}
		// Again: repeats only, whose raw events take ids from the sequence
		// in the statement of their alerts' update.
		if _, err := in.Submit(context.Background(), items); err != nil {
			t.Fatal(err)
		}
		var last int64
		for _, table := range []string{"events", "alerts"} {
			rows, err := s.App.DB.R.Query("SELECT id FROM " + table + " ORDER BY id")
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				if d == db.Postgres && ((table == "events" && (id-1000)%3 != 0) || (table == "alerts" && (id-500)%2 != 0)) {
					t.Fatalf("%s id %d is not one the sequence gave", table, id)
				}
				n++
			}
			rows.Close()
			if want := map[string]int{"events": 80, "alerts": 7}[table]; n != want {
				t.Fatalf("%d %s, want %d", n, table, want)
			}
		}
		for k := range 7 {
			got := rawIDs(t, s.App.DB, event.RawFilter{AlertID: res[k].AlertID}, 100)
			if want := 2 * ((40 - k + 6) / 7); len(got) != want {
				t.Fatalf("alert of k%d lists %d events, want %d", k, len(got), want)
			}
			if res[k].AlertID <= last {
				t.Fatalf("alert ids out of order: %d after %d", res[k].AlertID, last)
			}
			last = res[k].AlertID
		}
	})
}

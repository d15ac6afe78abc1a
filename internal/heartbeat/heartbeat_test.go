package heartbeat_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/app"
	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/heartbeat"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// manual stops the server's own heartbeat checks, so that the test alone
// decides when Check runs.
var manual = testkit.Options{Modify: func(o *app.Options) { o.ManualOnCall = true }}

func ptr[T any](v T) *T { return &v }

// alertsOf returns the status and count of each alert of a heartbeat, oldest first.
func alertsOf(t *testing.T, s *testkit.Server, h heartbeat.Heartbeat) (statuses []string, counts []int) {
	t.Helper()
	rows, err := s.App.DB.R.Query("SELECT status, count FROM alerts WHERE dedup_key = $1 ORDER BY id", h.DedupKey())
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			t.Fatal(err)
		}
		statuses, counts = append(statuses, st), append(counts, n)
	}
	return statuses, counts
}

func status(t *testing.T, m *heartbeat.Monitor, id int64) heartbeat.Status {
	t.Helper()
	h, err := m.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return h.Status
}

// started makes a heartbeat (interval 60 s, no grace) and beats it once.
func started(t *testing.T, s *testkit.Server, name string) heartbeat.Created {
	t.Helper()
	ctx := context.Background()
	svc := s.NewService("svc " + name)
	c, err := s.App.Heartbeats.Create(ctx, heartbeat.Fields{ServiceID: &svc.ID, Name: &name,
		IntervalSeconds: ptr(60), GraceSeconds: ptr(0)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.Heartbeats.Beat(ctx, c.Key); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestBeatRacingCheck: a beat that lands after Check sent its trigger but
// before it marked the heartbeat down wins; the trigger is withdrawn.
func TestBeatRacingCheck(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d, manual)
		ctx := context.Background()
		c := started(t, s, "racer")
		s.Clock.Advance(61 * time.Second)
		raced := false
		m := heartbeat.New(s.App.DB, s.App.Audit, s.Clock, func(ctx context.Context, items []event.Routed) ([]event.Result, error) {
			res, err := s.App.Ingester.Submit(ctx, items)
			if !raced && items[0].Event.Action == event.Trigger {
				raced = true
				if b, err := s.App.Heartbeats.Beat(ctx, c.Key); err != nil || b.Status != heartbeat.StatusUp {
					t.Errorf("beat during the check: %v %v", b, err)
				}
			}
			return res, err
		})
		n, err := m.Check(ctx)
		if err != nil || n != 0 || !raced {
			t.Fatalf("Check: %d %v (raced %v); want 0 raised", n, err, raced)
		}
		if st := status(t, m, c.ID); st != heartbeat.StatusUp {
			t.Fatalf("status %s; the beat must win", st)
		}
		if st, _ := alertsOf(t, s, c.Heartbeat); len(st) != 1 || st[0] != "resolved" {
			t.Fatalf("alerts %v; want the withdrawn trigger resolved", st)
		}
		// It is due again one interval after the beat, not before.
		if n, err := m.Check(ctx); n != 0 || err != nil {
			t.Fatalf("second check: %d %v", n, err)
		}
		s.Clock.Advance(61 * time.Second)
		if n, err := m.Check(ctx); n != 1 || err != nil {
			t.Fatalf("check after the next deadline: %d %v", n, err)
		}
	})
}

// TestCheckCrashBeforeUpdate: when the trigger is stored but the heartbeat is
// not marked down (a crash in between), the next check sends it again and
// dedup keeps one alert.
func TestCheckCrashBeforeUpdate(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d, manual)
		ctx := context.Background()
		c := started(t, s, "crash")
		s.Clock.Advance(2 * time.Minute)
		crash := heartbeat.New(s.App.DB, s.App.Audit, s.Clock, func(ctx context.Context, items []event.Routed) ([]event.Result, error) {
			if _, err := s.App.Ingester.Submit(ctx, items); err != nil {
				return nil, err
			}
			return nil, errors.New("power cut")
		})
		if _, err := crash.Check(ctx); err == nil {
			t.Fatal("the crashing check did not fail")
		}
		if st := status(t, crash, c.ID); st != heartbeat.StatusUp {
			t.Fatalf("status %s after the crash; want still up", st)
		}
		if n, err := s.App.Heartbeats.Check(ctx); n != 1 || err != nil {
			t.Fatalf("Check after the crash: %d %v", n, err)
		}
		st, counts := alertsOf(t, s, c.Heartbeat)
		if len(st) != 1 || st[0] != "triggered" || counts[0] != 2 {
			t.Fatalf("alerts %v %v; want one triggered alert that took both triggers", st, counts)
		}
		// A crash between the resolve and the update of a beat: the next
		// beat resolves again, harmlessly.
		failing := heartbeat.New(s.App.DB, s.App.Audit, s.Clock, func(ctx context.Context, items []event.Routed) ([]event.Result, error) {
			if _, err := s.App.Ingester.Submit(ctx, items); err != nil {
				return nil, err
			}
			return nil, errors.New("power cut")
		})
		if _, err := failing.Beat(ctx, c.Key); err == nil {
			t.Fatal("the crashing beat did not fail")
		}
		if st := status(t, crash, c.ID); st != heartbeat.StatusDown {
			t.Fatalf("status %s after the crashed beat; want still down", st)
		}
		if b, err := s.App.Heartbeats.Beat(ctx, c.Key); err != nil || b.Status != heartbeat.StatusUp {
			t.Fatalf("beat: %v %v", b, err)
		}
		if st, _ := alertsOf(t, s, c.Heartbeat); len(st) != 1 || st[0] != "resolved" {
			t.Fatalf("alerts %v", st)
		}
	})
}

// TestCheckManyDue: Check works through more due heartbeats than one batch.
func TestCheckManyDue(t *testing.T) {
	s := testkit.Start(t, db.SQLite, manual)
	ctx := context.Background()
	svc := s.NewService("fleet")
	const n = 230
	for i := range n {
		name := "host-" + string(rune('a'+i%26)) + "-" + time.Duration(i).String()
		c, err := s.App.Heartbeats.Create(ctx, heartbeat.Fields{ServiceID: &svc.ID, Name: &name, IntervalSeconds: ptr(60 + i%5)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.App.Heartbeats.Beat(ctx, c.Key); err != nil {
			t.Fatal(err)
		}
	}
	s.Clock.Advance(time.Hour)
	if got, err := s.App.Heartbeats.Check(ctx); got != n || err != nil {
		t.Fatalf("Check: %d %v; want %d", got, err, n)
	}
	var open int
	if err := s.App.DB.R.QueryRow("SELECT COUNT(*) FROM alerts WHERE service_id = $1 AND status = 'triggered'", svc.ID).Scan(&open); err != nil || open != n {
		t.Fatalf("%d open alerts (%v); want %d", open, err, n)
	}
	if got, err := s.App.Heartbeats.Check(ctx); got != 0 || err != nil {
		t.Fatalf("second Check: %d %v", got, err)
	}
}

func TestDurations(t *testing.T) {
	for in, want := range map[string]int{"30s": 30, "5m": 300, "1h30m": 5400, "7d": 604800, "1d12h": 129600, "90s": 90, "2d": 172800} {
		if got, ok := heartbeat.ParseDuration(in); !ok || got != want {
			t.Errorf("ParseDuration(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "5", "x", "-5m", "1.5s", "d", "1d-1h", "500ms"} {
		if got, ok := heartbeat.ParseDuration(in); ok {
			t.Errorf("ParseDuration(%q) = %d; want an error", in, got)
		}
	}
	for in, want := range map[int]string{30: "30s", 300: "5m", 5400: "1h30m", 604800: "7d", 129600: "1d12h", 3661: "1h1m1s"} {
		if got := heartbeat.FormatSeconds(in); got != want {
			t.Errorf("FormatSeconds(%d) = %q; want %q", in, got, want)
		}
	}
}

package event_test

import (
	"context"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

func TestPruneRaw(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		in := started(t, &event.Ingester{DB: s.App.DB, Clock: s.Clock})
		svc := newService(t, s, "api")
		old := ev(event.Trigger, "old")
		old.ReceivedAt = s.Clock.Now().Add(-40 * 24 * time.Hour)
		fresh := ev(event.Trigger, "fresh")
		fresh.ReceivedAt = s.Clock.Now()
		if _, err := in.Submit(context.Background(), []event.Routed{{ServiceID: svc, Event: old}, {ServiceID: svc, Event: fresh}}); err != nil {
			t.Fatal(err)
		}
		n, err := event.PruneRaw(context.Background(), s.App.DB, s.Clock.Now().Add(-event.DefaultRetention))
		if err != nil || n != 1 {
			t.Fatalf("pruned %d: %v", n, err)
		}
		if c := count(t, s.App.DB, "SELECT COUNT(*) FROM events"); c != 1 {
			t.Fatalf("%d raw events left", c)
		}
		if c := count(t, s.App.DB, "SELECT COUNT(*) FROM alerts"); c != 2 {
			t.Fatalf("alerts must stay: %d", c)
		}
	})
}

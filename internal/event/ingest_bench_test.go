package event_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/app"
	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// The ingester alone, without HTTP: what group commit and dedup cost.
//
//	go test -run '^$' -bench Ingester -benchtime 5s ./internal/event/
func BenchmarkIngester(b *testing.B) {
	for _, d := range []db.Dialect{db.SQLite, db.Postgres} {
		for _, batch := range []int{1, 500} {
			b.Run(string(d)+"/batch="+strconv.Itoa(batch), func(b *testing.B) {
				s := testkit.Start(b, d, testkit.Options{Modify: func(o *app.Options) { o.Synchronous = "full" }})
				// As the server runs it: on SQLite the one writer, whose
				// burst repeats wait (deferred.go).
				in := started(b, &event.Ingester{DB: s.App.DB, Clock: s.Clock, Defer: true})
				svc := newService(&testing.T{}, s, "bench")
				var n atomic.Int64
				now := time.Now()
				b.SetParallelism(16)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					items := make([]event.Routed, batch)
					for pb.Next() {
						for i := range items {
							k := n.Add(1) % 10000
							e := ev(event.Trigger, "key-"+strconv.FormatInt(k, 10))
							e.ReceivedAt, e.OccurredAt = now, now
							e.Labels = map[string]string{"alertname": "HighLatency", "instance": "host-" + strconv.FormatInt(k, 10)}
							items[i] = event.Routed{ServiceID: svc, Event: e}
						}
						if _, err := in.Submit(context.Background(), items); err != nil {
							b.Fatal(err)
						}
					}
				})
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}

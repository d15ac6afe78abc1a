package notify_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/app"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// BenchmarkDeliverWebhook queues 10,000 pages in the outbox (durably, as an
// escalation step does) and times their delivery to a webhook receiver on
// loopback, each attempt recorded and each item settled in the database:
//
//	go test -run '^$' -bench DeliverWebhook -benchtime 3x ./internal/notify/
func BenchmarkDeliverWebhook(b *testing.B) {
	for _, d := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			s := testkit.Start(b, d, testkit.Options{Modify: func(o *app.Options) {
				o.ManualOnCall = true
				o.Synchronous = "full"
			}})
			benchDeliver(b, s)
		})
	}
}

const perRound = 10000

func benchDeliver(b *testing.B, s *testkit.Server) {
	ctx := context.Background()
	var got atomic.Int64
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	u := s.NewUser(iam.RoleResponder)
	var m struct {
		ID int64 `json:"id"`
	}
	s.Do("POST", fmt.Sprintf("/api/v1/users/%d/contact-methods", u.ID), s.AdminToken,
		map[string]any{"kind": "webhook", "address": rcv.URL, "rate_limit": 1000}).Want(201).JSON(&m)
	body := `{"message":{"Subject":"INC-1 checkout is failing","Text":"checkout is failing","HTML":""},"data":{"Kind":"page","Recipient":"Ann"}}`
	var total time.Duration
	for i := range b.N {
		b.StopTimer()
		now := s.Clock.Now().UnixMilli()
		err := s.App.DB.Tx(ctx, func(tx *sql.Tx) error {
			for j := range perRound {
				if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (idempotency_key, kind, status, user_id, contact_method_id, channel,
					address, subject, body, next_attempt_at, created_at, updated_at)
					VALUES ($1, 'page', 'pending', $2, $3, 'webhook', $4, 'INC-1 checkout is failing', $5, $6, $6, $6)`,
					fmt.Sprintf("bench-%d-%d", i, j), u.ID, m.ID, rcv.URL, body, now); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		sent := 0
		for sent < perRound {
			n, err := s.App.Outbox.Deliver(ctx)
			if err != nil {
				b.Fatal(err)
			}
			sent += n
		}
		total += time.Since(start)
	}
	if got.Load() != int64(b.N*perRound) {
		b.Fatalf("the receiver got %d, want %d", got.Load(), b.N*perRound)
	}
	b.ReportMetric(float64(b.N*perRound)/total.Minutes(), "notifications/min")
}

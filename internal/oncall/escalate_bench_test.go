package oncall_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/steadyhq/steady/internal/app"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// BenchmarkEscalationTick times one tick of the escalation engine with 20
// steps due, beside 1,000 and 100,000 other open incidents whose escalations
// wait (acknowledged, or due later). The cost must not grow with them:
//
//	go test -run '^$' -bench EscalationTick -benchtime 200x ./internal/oncall/
func BenchmarkEscalationTick(b *testing.B) {
	for _, d := range []db.Dialect{db.SQLite, db.Postgres} {
		for _, open := range []int{1000, 100000} {
			b.Run(fmt.Sprintf("%s/open=%d", d, open), func(b *testing.B) {
				s := testkit.Start(b, d, testkit.Options{Modify: func(o *app.Options) { o.ManualOnCall = true }})
				benchTick(b, s, open)
			})
		}
	}
}

const dueSteps = 20

func benchTick(b *testing.B, s *testkit.Server, open int) {
	ctx := context.Background()
	u := s.NewUser(iam.RoleResponder)
	// Each step queues a real page (rendered, rate-limit counted, in the
	// outbox); nothing delivers it here.
	var m struct {
		ID int64 `json:"id"`
	}
	s.Do("POST", fmt.Sprintf("/api/v1/users/%d/contact-methods", u.ID), s.AdminToken,
		map[string]any{"kind": "webhook", "address": "http://127.0.0.1:9/hook", "rate_limit": 1000}).Want(201).JSON(&m)
	s.Do("POST", fmt.Sprintf("/api/v1/users/%d/notification-rules", u.ID), s.AdminToken,
		map[string]any{"contact_method_id": m.ID, "delay_minutes": 0}).Want(201)
	var p struct {
		ID int64 `json:"id"`
	}
	s.Do("POST", "/api/v1/escalation-policies", s.AdminToken, map[string]any{"name": "Bench", "levels": []map[string]any{
		{"delay_minutes": 5, "targets": []map[string]any{{"kind": "user", "id": u.ID}}}}}).Want(201).JSON(&p)
	now := s.Clock.Now().UnixMilli()
	// Open incidents in bulk: half acknowledged (no timer), half due in an hour.
	err := s.App.DB.Tx(ctx, func(tx *sql.Tx) error {
		for i := 1; i <= open; i++ {
			if _, err := tx.ExecContext(ctx, `INSERT INTO incidents (id, title, status, impact, urgency, priority, severity,
				created_at, last_alert_at, updated_at) VALUES ($1, 'bench', 'triggered', 2, 2, 'P3', 'error', $2, $2, $2)`, i, now); err != nil {
				return err
			}
			state, next := "acknowledged", any(nil)
			if i%2 == 0 {
				state, next = "active", now+3600_000
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO escalations (incident_id, policy_id, epoch, pass, level, state, next_at,
				started_at, updated_at) VALUES ($1, $2, 1, 0, 0, $3, $4, $5, $5)`, i, p.ID, state, next, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	// The bulk load is not part of a tick: statistics (PostgreSQL) and the
	// write-ahead log (SQLite) are settled first.
	settle := "ANALYZE"
	if s.Dialect == db.SQLite {
		settle = "PRAGMA wal_checkpoint(TRUNCATE)"
	}
	if _, err := s.App.DB.W.ExecContext(ctx, settle); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		// Make dueSteps escalations (odd ids, acknowledged ones) of the
		// newest incidents due now: it is new incidents that escalate.
		first := (open - 2*dueSteps) | 1
		if _, err := s.App.DB.W.ExecContext(ctx, `UPDATE escalations SET state = 'active', level = 0, epoch = epoch + 1, next_at = $1
			WHERE incident_id >= $2 AND incident_id < $3 AND incident_id % 2 = 1`, s.Clock.Now().UnixMilli(), first, first+2*dueSteps); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		n, err := s.App.Escalation.Tick(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if n != dueSteps {
			b.Fatalf("tick ran %d steps, want %d", n, dueSteps)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*dueSteps), "µs/step")
}

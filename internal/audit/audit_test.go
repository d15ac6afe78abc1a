package audit_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/page"
	"github.com/steadyhq/steady/internal/platform/reqctx"
	"github.com/steadyhq/steady/internal/testkit"
)

// fixture is a migrated database with an audit log on a fake clock.
type fixture struct {
	t   *testing.T
	db  *db.DB
	log *audit.Log
	clk *clock.Fake
}

func newFixture(t *testing.T, d db.Dialect) *fixture {
	t.Helper()
	cfg := db.Config{Synchronous: "normal", DataDir: t.TempDir()}
	if d == db.Postgres {
		cfg = db.Config{URL: testkit.NewPostgresURL(t), MaxConns: 16}
	}
	ctx := context.Background()
	x, err := db.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	clk := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	if _, err := x.Migrate(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, db: x, log: &audit.Log{DB: x, Clock: clk}, clk: clk}
}

var alice = reqctx.Actor{Type: "user", ID: "7", Name: "alice@example.com"}

func (f *fixture) ctx(actor reqctx.Actor, requestID string) context.Context {
	ctx := reqctx.WithActor(context.Background(), actor)
	ctx = reqctx.WithRequestID(ctx, requestID)
	return reqctx.WithSource(ctx, "api")
}

// record appends n entries, one transaction each.
func (f *fixture) record(n int) {
	f.t.Helper()
	for i := range n {
		ctx := f.ctx(alice, fmt.Sprintf("REQ%d", i))
		err := f.db.Tx(ctx, func(tx *sql.Tx) error {
			return f.log.Record(ctx, tx, audit.Event{Action: "thing.update", ObjectType: "thing", ObjectID: i,
				Summary: fmt.Sprintf("updated thing %d", i), Changes: map[string]any{"n": i}})
		})
		if err != nil {
			f.t.Fatal(err)
		}
		f.clk.Advance(time.Second)
	}
}

func (f *fixture) exec(q string, args ...any) {
	f.t.Helper()
	if _, err := f.db.W.ExecContext(context.Background(), q, args...); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
}

func (f *fixture) verify() audit.VerifyResult {
	f.t.Helper()
	res, err := audit.Verify(context.Background(), f.db)
	if err != nil {
		f.t.Fatalf("verify: %v", err)
	}
	return res
}

func (f *fixture) wantBroken(seq int64, problem string) {
	f.t.Helper()
	res := f.verify()
	if res.OK || res.BrokenAt != seq || !strings.Contains(res.Problem, problem) {
		f.t.Fatalf("verify = %+v; want broken at %d with %q", res, seq, problem)
	}
}

func TestRecordAndList(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		f := newFixture(t, d)
		start := f.clk.Now()
		f.record(3)
		ctx := f.ctx(reqctx.Actor{Type: "token", ID: "9", Name: "ci"}, "REQX")
		if err := f.db.Tx(ctx, func(tx *sql.Tx) error {
			return f.log.Record(ctx, tx, audit.Event{Action: "user.create", ObjectType: "user", ObjectID: int64(42), Summary: "created"})
		}); err != nil {
			t.Fatal(err)
		}
		l, err := f.log.List(context.Background(), audit.Filter{}, page.Request{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) != 4 || l.Next != "" {
			t.Fatalf("listed %d entries, next %q", len(l.Items), l.Next)
		}
		e := l.Items[0]
		if e.Seq != 4 || e.ActorType != "token" || e.ActorID != "9" || e.ActorName != "ci" || e.Action != "user.create" ||
			e.ObjectType != "user" || e.ObjectID != "42" || e.RequestID != "REQX" || e.Source != "api" ||
			e.Changes == nil || e.PrevHash != l.Items[1].Hash || len(e.Hash) != 64 || !e.At.Equal(start.Add(3*time.Second)) {
			t.Fatalf("newest entry %+v", e)
		}
		if l.Items[3].Seq != 1 || l.Items[3].PrevHash != "" || l.Items[3].Changes["n"] != float64(0) {
			t.Fatalf("oldest entry %+v", l.Items[3])
		}

		// Without an actor in the context, Steady itself acts.
		if err := f.db.Tx(context.Background(), func(tx *sql.Tx) error {
			return f.log.Record(context.Background(), tx, audit.Event{Action: "job.run", ObjectType: "job", ObjectID: "prune"})
		}); err != nil {
			t.Fatal(err)
		}
		l, _ = f.log.List(context.Background(), audit.Filter{Action: "job.run"}, page.Request{Limit: 10})
		if len(l.Items) != 1 || l.Items[0].ActorType != "system" || l.Items[0].Source != "system" {
			t.Fatalf("system entry %+v", l.Items)
		}

		// Filters and paging.
		t1 := start.Add(time.Second)
		t3 := start.Add(3 * time.Second)
		for name, c := range map[string]struct {
			f    audit.Filter
			want []int64
		}{
			"actor":           {audit.Filter{ActorID: "7"}, []int64{3, 2, 1}},
			"action exact":    {audit.Filter{Action: "user.create"}, []int64{4}},
			"action prefix":   {audit.Filter{Action: "thing."}, []int64{3, 2, 1}},
			"action partial":  {audit.Filter{Action: "thing"}, nil},
			"action wildcard": {audit.Filter{Action: "_hing."}, nil},
			"action percent":  {audit.Filter{Action: "%."}, nil},
			"object":          {audit.Filter{ObjectType: "thing", ObjectID: "1"}, []int64{2}},
			"since":           {audit.Filter{Since: &t1}, []int64{5, 4, 3, 2}},
			"until":           {audit.Filter{Until: &t1}, []int64{1}},
			"since and until": {audit.Filter{Since: &t1, Until: &t3}, []int64{3, 2}},
		} {
			l, err := f.log.List(context.Background(), c.f, page.Request{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, e := range l.Items {
				got = append(got, e.Seq)
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) && !(len(got) == 0 && len(c.want) == 0) {
				t.Errorf("%s: seqs %v; want %v", name, got, c.want)
			}
		}
		var seen []int64
		p := page.Request{Limit: 2}
		for range 10 {
			l, err := f.log.List(context.Background(), audit.Filter{}, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range l.Items {
				seen = append(seen, e.Seq)
			}
			if l.Next == "" {
				break
			}
			p.After, _ = page.Decode(l.Next)
		}
		if fmt.Sprint(seen) != "[5 4 3 2 1]" {
			t.Fatalf("paged through %v", seen)
		}
		if res := f.verify(); !res.OK || res.Checked != 5 {
			t.Fatalf("verify %+v", res)
		}
	})
}

func TestRecordRollsBackWithItsTransaction(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		f := newFixture(t, d)
		f.record(2)
		ctx := f.ctx(alice, "R")
		boom := errors.New("the change failed")
		err := f.db.Tx(ctx, func(tx *sql.Tx) error {
			if err := f.log.Record(ctx, tx, audit.Event{Action: "x.y", ObjectType: "x", ObjectID: 1}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		f.record(1)
		if res := f.verify(); !res.OK || res.Checked != 3 {
			t.Fatalf("after a rolled-back entry: %+v; want a gap-free chain of 3", res)
		}
	})
}

func TestVerifyFindsTampering(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		cases := []struct {
			name    string
			tamper  func(f *fixture)
			seq     int64
			problem string
		}{
			{"empty log", func(f *fixture) { f.exec("DELETE FROM audit_log"); f.exec("UPDATE audit_head SET seq = 0, hash = ''") }, 0, ""},
			{"summary edited", func(f *fixture) { f.exec("UPDATE audit_log SET summary = 'nothing happened' WHERE seq = 3") }, 3, "edited"},
			{"actor edited", func(f *fixture) { f.exec("UPDATE audit_log SET actor_name = 'mallory' WHERE seq = 2") }, 2, "edited"},
			{"changes edited", func(f *fixture) { f.exec(`UPDATE audit_log SET changes = '{"n":99}' WHERE seq = 4`) }, 4, "edited"},
			{"time edited", func(f *fixture) { f.exec("UPDATE audit_log SET at = at + 1 WHERE seq = 1") }, 1, "edited"},
			{"last row edited", func(f *fixture) { f.exec("UPDATE audit_log SET action = 'x' WHERE seq = 5") }, 5, "edited"},
			{"hash recomputed by hand", func(f *fixture) {
				// Editing a row and its hash breaks the link to the next row.
				f.exec("UPDATE audit_log SET summary = 'x', hash = 'ffff' WHERE seq = 2")
			}, 2, "edited"},
			{"previous hash edited", func(f *fixture) { f.exec("UPDATE audit_log SET prev_hash = 'abc' WHERE seq = 3") }, 3, "previous-hash"},
			{"middle row deleted", func(f *fixture) { f.exec("DELETE FROM audit_log WHERE seq = 3") }, 3, "missing"},
			{"first row deleted", func(f *fixture) { f.exec("DELETE FROM audit_log WHERE seq = 1") }, 1, "missing"},
			{"tail truncated", func(f *fixture) { f.exec("DELETE FROM audit_log WHERE seq >= 4") }, 4, "truncated"},
			{"everything deleted", func(f *fixture) { f.exec("DELETE FROM audit_log") }, 1, "truncated"},
			{"row inserted out of band", func(f *fixture) {
				var hash string
				if err := f.db.R.QueryRow("SELECT hash FROM audit_log WHERE seq = 5").Scan(&hash); err != nil {
					f.t.Fatal(err)
				}
				f.exec(`INSERT INTO audit_log (seq, at, actor_type, actor_id, actor_name, action, object_type, object_id, summary, changes, request_id, source, prev_hash, hash)
					VALUES (6, 0, 'user', '1', 'mallory', 'user.update', 'user', '1', 'made myself admin', '{}', '', 'api', $1, 'beef')`, hash)
			}, 6, "edited"},
			{"well-formed row inserted behind the head", func(f *fixture) {
				// A row with a correct hash, as someone who knows the
				// algorithm would write it, but without moving the head.
				var seq int64
				var hash string
				if err := f.db.R.QueryRow("SELECT seq, hash FROM audit_head").Scan(&seq, &hash); err != nil {
					f.t.Fatal(err)
				}
				f.record(1)
				f.exec("UPDATE audit_head SET seq = $1, hash = $2", seq, hash)
			}, 6, "out of band"},
			{"head moved back", func(f *fixture) { f.exec("UPDATE audit_head SET seq = 4") }, 5, "out of band"},
			{"head hash edited", func(f *fixture) { f.exec("UPDATE audit_head SET hash = 'abc'") }, 5, "head"},
			{"head row deleted", func(f *fixture) { f.exec("DELETE FROM audit_head") }, 1, "head"},
		}
		base := newFixture(t, d)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				// One database for every case: each starts from an empty log.
				f := *base
				f.t = t
				f.exec("DELETE FROM audit_log")
				f.exec("DELETE FROM audit_head")
				f.exec("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '')")
				f.record(5)
				if res := f.verify(); !res.OK || res.Checked != 5 || res.BrokenAt != 0 {
					t.Fatalf("an untouched chain: %+v", res)
				}
				c.tamper(&f)
				if c.problem == "" {
					if res := f.verify(); !res.OK {
						t.Fatalf("verify %+v", res)
					}
					return
				}
				f.wantBroken(c.seq, c.problem)
			})
		}
	})
}

// TestConcurrentRecording appends from many goroutines at once, some of
// whose transactions roll back, while others verify: the chain stays gap-free
// and every check along the way sees a consistent chain.
func TestConcurrentRecording(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		f := newFixture(t, d)
		const writers, each = 8, 25
		var wg sync.WaitGroup
		errc := make(chan error, writers*each+100)
		done := make(chan struct{})
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					ctx := f.ctx(reqctx.Actor{Type: "user", ID: fmt.Sprint(w), Name: "w"}, fmt.Sprintf("W%dI%d", w, i))
					rollback := i%5 == 4
					err := f.db.Tx(ctx, func(tx *sql.Tx) error {
						if err := f.log.Record(ctx, tx, audit.Event{Action: "thing.update", ObjectType: "thing", ObjectID: i,
							Summary: "concurrent"}); err != nil {
							return err
						}
						if rollback {
							return errRollback
						}
						return nil
					})
					if err != nil && !errors.Is(err, errRollback) {
						errc <- fmt.Errorf("writer %d, entry %d: %w", w, i, err)
					}
				}
			}()
		}
		var vwg sync.WaitGroup
		vwg.Add(1)
		go func() {
			defer vwg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				res, err := audit.Verify(context.Background(), f.db)
				if err != nil {
					errc <- fmt.Errorf("verify during writes: %w", err)
					return
				}
				if !res.OK {
					errc <- fmt.Errorf("verify during writes: %+v", res)
					return
				}
			}
		}()
		wg.Wait()
		close(done)
		vwg.Wait()
		close(errc)
		for err := range errc {
			t.Error(err)
		}
		want := int64(writers * (each - each/5))
		res := f.verify()
		if !res.OK || res.Checked != want {
			t.Fatalf("after concurrent writes: %+v; want an intact chain of %d", res, want)
		}
		var n, maxSeq int64
		if err := f.db.R.QueryRow("SELECT COUNT(*), MAX(seq) FROM audit_log").Scan(&n, &maxSeq); err != nil {
			t.Fatal(err)
		}
		if n != want || maxSeq != want {
			t.Fatalf("%d rows up to seq %d; want %d with no gaps", n, maxSeq, want)
		}
	})
}

var errRollback = errors.New("roll back")

func TestDiff(t *testing.T) {
	got := audit.Diff("name", "a", "b", "role", "viewer", "viewer", "disabled", false, true)
	if len(got) != 2 {
		t.Fatalf("diff %v", got)
	}
	if m := got["name"].(map[string]any); m["from"] != "a" || m["to"] != "b" {
		t.Fatalf("name %v", m)
	}
	if _, ok := got["role"]; ok {
		t.Fatal("an unchanged field is listed")
	}
	if len(audit.Diff()) != 0 || len(audit.Diff("x", 1)) != 0 {
		t.Fatal("incomplete triples are listed")
	}
}

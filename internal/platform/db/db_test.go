package db_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/testkit"
)

// open returns an empty database of dialect d, closed when the test ends.
func open(t *testing.T, d db.Dialect, url string) *db.DB {
	t.Helper()
	cfg := db.Config{Synchronous: "normal"}
	if d == db.Postgres {
		if url == "" {
			url = testkit.NewPostgresURL(t)
		}
		cfg.URL, cfg.MaxConns = url, 4
	} else {
		cfg.DataDir = url
		if cfg.DataDir == "" {
			cfg.DataDir = t.TempDir()
		}
	}
	d2, err := db.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open %s: %v", d, err)
	}
	t.Cleanup(func() { d2.Close() })
	return d2
}

func TestMigrationsMatchAcrossDialects(t *testing.T) {
	lite, err := db.Migrations(db.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := db.Migrations(db.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) == 0 || len(lite) != len(pg) {
		t.Fatalf("sqlite has %d migrations, postgres %d", len(lite), len(pg))
	}
	for i := range lite {
		if lite[i].Version != i+1 || pg[i].Version != i+1 || lite[i].Name != pg[i].Name {
			t.Errorf("migration %d: sqlite %d_%s, postgres %d_%s", i+1, lite[i].Version, lite[i].Name, pg[i].Version, pg[i].Name)
		}
	}
}

func TestMigrate(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		ctx := context.Background()
		all, _ := db.Migrations(d)
		x := open(t, d, "")
		res, err := x.Migrate(ctx, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if !res.Fresh || len(res.Applied) != len(all) {
			t.Fatalf("first migrate: fresh %v, applied %d of %d", res.Fresh, len(res.Applied), len(all))
		}
		res, err = x.Migrate(ctx, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if res.Fresh || len(res.Applied) != 0 {
			t.Fatalf("second migrate: fresh %v, applied %d", res.Fresh, len(res.Applied))
		}
		v, err := x.SchemaVersion(ctx)
		if err != nil || v != len(all) {
			t.Fatalf("schema version %d, %v; want %d", v, err, len(all))
		}
		// A schema newer than the binary is refused.
		if _, err := x.W.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'future', 0)", len(all)+1); err != nil {
			t.Fatal(err)
		}
		if _, err := x.Migrate(ctx, time.Now()); err == nil {
			t.Fatal("migrate accepted a schema newer than the binary")
		}
	})
}

// TestMigrateReplicasTogether starts several replicas on one new PostgreSQL
// database at once: the advisory lock lets exactly one of them migrate.
func TestMigrateReplicasTogether(t *testing.T) {
	url := testkit.NewPostgresURL(t)
	const n = 4
	dbs := make([]*db.DB, n)
	for i := range dbs {
		dbs[i] = open(t, db.Postgres, url)
	}
	all, _ := db.Migrations(db.Postgres)
	var wg sync.WaitGroup
	results := make([]db.MigrateResult, n)
	failed := make([]error, n)
	for i := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], failed[i] = dbs[i].Migrate(context.Background(), time.Now())
		}()
	}
	wg.Wait()
	applied := 0
	for i := range n {
		if failed[i] != nil {
			t.Fatalf("replica %d: %v", i, failed[i])
		}
		applied += len(results[i].Applied)
	}
	if applied != len(all) {
		t.Fatalf("replicas applied %d migrations in total; want each of the %d exactly once", applied, len(all))
	}
}

func TestTx(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		ctx := context.Background()
		x := open(t, d, "")
		if _, err := x.Migrate(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
		count := func() int {
			t.Helper()
			var n int
			if err := x.R.QueryRowContext(ctx, "SELECT COUNT(*) FROM settings").Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		insert := func(tx *sql.Tx, k string) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO settings (key, value) VALUES ($1, 'v')", k)
			return err
		}

		if err := x.Tx(ctx, func(tx *sql.Tx) error { return insert(tx, "a") }); err != nil {
			t.Fatal(err)
		}
		if count() != 1 {
			t.Fatal("a committed transaction left no row")
		}

		boom := errs.Conflict("boom")
		err := x.Tx(ctx, func(tx *sql.Tx) error {
			if err := insert(tx, "b"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Tx returned %v; want the function's error", err)
		}
		if count() != 1 {
			t.Fatal("a failed transaction wrote a row")
		}

		func() {
			defer func() {
				if p := recover(); p != "panic in tx" {
					t.Fatalf("recovered %v; want the panic to pass through", p)
				}
			}()
			_ = x.Tx(ctx, func(tx *sql.Tx) error {
				_ = insert(tx, "c")
				panic("panic in tx")
			})
		}()
		if count() != 1 {
			t.Fatal("a panicking transaction wrote a row")
		}
		// The connection is usable after the panic (SQLite has only one writer).
		if err := x.Tx(ctx, func(tx *sql.Tx) error { return insert(tx, "d") }); err != nil {
			t.Fatalf("write after a panic: %v", err)
		}

		err = x.Tx(ctx, func(tx *sql.Tx) error { return insert(tx, "a") })
		if !db.IsUniqueViolation(err) || db.IsForeignKeyViolation(err) {
			t.Fatalf("duplicate key: %v is not a unique violation", err)
		}
		if errs.KindOf(db.Classify(err)) == errs.KindUnavailable {
			t.Fatalf("a unique violation is classified as unavailable")
		}
		err = x.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO team_members (team_id, user_id, role, created_at) VALUES (999, 999, 'member', 0)")
			return err
		})
		if !db.IsForeignKeyViolation(err) || db.IsUniqueViolation(err) {
			t.Fatalf("missing parent: %v is not a foreign-key violation", err)
		}
	})
}

func TestClassify(t *testing.T) {
	if db.Classify(nil) != nil {
		t.Fatal("Classify(nil) != nil")
	}
	if !errors.Is(db.Classify(sql.ErrNoRows), sql.ErrNoRows) {
		t.Fatal("ErrNoRows changed")
	}
	e := errs.NotFound("x")
	if db.Classify(e) != e {
		t.Fatal("a kinded error changed")
	}
	if !errs.Is(db.Classify(sql.ErrConnDone), errs.KindUnavailable) {
		t.Fatal("ErrConnDone is not unavailable")
	}
	if !errors.Is(db.Classify(context.Canceled), context.Canceled) {
		t.Fatal("context.Canceled changed")
	}
}

func TestSQLiteSettings(t *testing.T) {
	ctx := context.Background()
	x := open(t, db.SQLite, "")
	var fk int
	var mode string
	if err := x.W.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys = %d, %v", fk, err)
	}
	if err := x.W.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v", mode, err)
	}
	if x.W.Stats().MaxOpenConnections != 1 {
		t.Fatalf("the writer has %d connections; want 1", x.W.Stats().MaxOpenConnections)
	}
	if _, err := x.R.ExecContext(ctx, "CREATE TABLE t (x INTEGER)"); err == nil {
		t.Fatal("the read pool accepted a write")
	}
	if err := x.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRejects(t *testing.T) {
	ctx := context.Background()
	if _, err := db.Open(ctx, db.Config{URL: "mysql://x"}); err == nil {
		t.Error("opened a non-postgres URL")
	}
	if _, err := db.Open(ctx, db.Config{DataDir: t.TempDir(), Synchronous: "off"}); err == nil {
		t.Error("accepted synchronous=off")
	}
	if _, err := db.Open(ctx, db.Config{DataDir: t.TempDir(), ReadOnly: true}); err == nil {
		t.Error("opened a missing database read-only")
	}
}

func TestPingClosed(t *testing.T) {
	x := open(t, db.SQLite, "")
	x.Close()
	if err := x.Ping(context.Background()); !errs.Is(err, errs.KindUnavailable) {
		t.Fatalf("Ping on a closed database: %v; want unavailable", err)
	}
}

func TestLockDir(t *testing.T) {
	dir := t.TempDir()
	release, err := db.LockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.LockDir(dir); !errors.Is(err, db.ErrLocked) {
		t.Fatalf("second lock: %v; want ErrLocked", err)
	}
	release()
	release2, err := db.LockDir(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	release2()
}

func TestMillis(t *testing.T) {
	if db.NullMillis(sql.NullInt64{}) != nil || db.MillisOrNil(nil) != nil {
		t.Fatal("null times are not nil")
	}
	at := time.UnixMilli(1_700_000_000_123).UTC()
	got := db.NullMillis(sql.NullInt64{Int64: db.MillisOrNil(&at).(int64), Valid: true})
	if got == nil || !got.Equal(at) || got.Location() != time.UTC {
		t.Fatalf("round trip %v; want %v in UTC", got, at)
	}
}

func TestLikeEscape(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		ctx := context.Background()
		x := open(t, d, "")
		if _, err := x.Migrate(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{`50% off`, `500 off`, `a_b`, `axb`, `back\slash`, `backxslash`} {
			if _, err := x.W.ExecContext(ctx, "INSERT INTO settings (key, value) VALUES ($1, '')", k); err != nil {
				t.Fatal(err)
			}
		}
		for text, want := range map[string]string{`0%`: `50% off`, `_`: `a_b`, `\`: `back\slash`, `%`: `50% off`, `off`: `50% off,500 off`} {
			rows, err := x.R.QueryContext(ctx, `SELECT key FROM settings WHERE key LIKE $1 ESCAPE '\' ORDER BY key`, "%"+db.LikeEscape(text)+"%")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for rows.Next() {
				var k string
				_ = rows.Scan(&k)
				got = append(got, k)
			}
			rows.Close()
			if strings.Join(got, ",") != want {
				t.Errorf("contains %q: %v; want %s", text, got, want)
			}
		}
	})
}

package db_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/steadyhq/steady/internal/platform/db"
)

// The SQLite connections keep their statements prepared: the same text run
// again while its rows are still open must get a statement of its own, and
// more texts than the cache holds must keep working.
func TestStatementCache(t *testing.T) {
	ctx := context.Background()
	d, err := db.Open(ctx, db.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	err = d.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
			return err
		}
		for i := range 5 {
			if _, err := tx.ExecContext(ctx, "INSERT INTO t (v) VALUES (?)", fmt.Sprint("v", i)); err != nil {
				return err
			}
		}
		// The same query, nested in its own open rows.
		const q = "SELECT id, v FROM t WHERE id >= ? ORDER BY id"
		outer, err := tx.QueryContext(ctx, q, 1)
		if err != nil {
			return err
		}
		pairs := 0
		for outer.Next() {
			var id int64
			var v string
			if err := outer.Scan(&id, &v); err != nil {
				return err
			}
			inner, err := tx.QueryContext(ctx, q, id)
			if err != nil {
				return err
			}
			for inner.Next() {
				pairs++
			}
			inner.Close()
		}
		outer.Close()
		if err := outer.Err(); err != nil {
			return err
		}
		if pairs != 15 {
			return fmt.Errorf("nested queries saw %d pairs, want 15", pairs)
		}
		// Many distinct texts: the cache evicts and keeps answering.
		for i := range 1200 {
			var n int
			if err := tx.QueryRowContext(ctx, fmt.Sprintf("SELECT COUNT(*) + %d FROM t", i)).Scan(&n); err != nil {
				return err
			}
			if n != 5+i {
				return fmt.Errorf("query %d: %d", i, n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Reads on the pool see the committed rows through their own caches.
	for range 3 {
		var n int
		if err := d.R.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n); err != nil || n != 5 {
			t.Fatalf("count %d %v", n, err)
		}
	}
}

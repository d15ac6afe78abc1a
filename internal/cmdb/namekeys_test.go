package cmdb_test

import (
	"context"
	"testing"

	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// A name lowered by SQL (SQLite's lower() is ASCII only) is lowered again as
// Go lowers it, once.
func TestFixNameKeys(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		sv := s.NewService("Zürich")
		ctx := context.Background()
		w := s.App.DB.W
		if _, err := w.ExecContext(ctx, "UPDATE cis SET name_key = 'zÜrich' WHERE name = 'Zürich'"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.ExecContext(ctx, "DELETE FROM settings WHERE key = 'cmdb_name_keys_fixed'"); err != nil {
			t.Fatal(err)
		}
		if err := s.App.CMDB.FixNameKeys(ctx); err != nil {
			t.Fatal(err)
		}
		var key string
		if err := s.App.DB.R.QueryRowContext(ctx, "SELECT c.name_key FROM cis c JOIN services s ON s.ci_id = c.id WHERE s.id = $1", sv.ID).Scan(&key); err != nil {
			t.Fatal(err)
		}
		if key != "zürich" {
			t.Fatalf("name_key %q", key)
		}
	})
}

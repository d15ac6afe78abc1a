package cmdb

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/steadyhq/steady/internal/platform/db"
)

// FixNameKeys makes every CI's name_key the lower-cased name as Go lowers
// it, once per database: the migration that made the services CIs lowered
// their names in SQL, and SQLite's lower() leaves non-ASCII letters
// ("Zürich") alone, so name lookups and event mapping would miss them.
func (s *Store) FixNameKeys(ctx context.Context) error {
	const done = "cmdb_name_keys_fixed"
	var v string
	err := s.DB.R.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = $1", done).Scan(&v)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		type row struct {
			id        int64
			name, key string
		}
		rows, err := db.All(ctx, tx, func(r db.Scanner) (row, error) {
			var x row
			return x, r.Scan(&x.id, &x.name, &x.key)
		}, "SELECT id, name, name_key FROM cis")
		if err != nil {
			return err
		}
		for _, r := range rows {
			if k := strings.ToLower(r.name); k != r.key {
				if _, err := tx.ExecContext(ctx, "UPDATE cis SET name_key = $1 WHERE id = $2", k, r.id); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, "UPDATE ci_attribute_values SET name_key = $1 WHERE ci_id = $2", k, r.id); err != nil {
					return err
				}
			}
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO settings (key, value) VALUES ($1, '1') ON CONFLICT (key) DO NOTHING", done)
		return err
	})
}

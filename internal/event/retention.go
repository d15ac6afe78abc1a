package event

import (
	"context"
	"database/sql"
	"time"

	"github.com/steadyhq/steady/internal/platform/db"
)

// DefaultRetention is how long raw events are kept when nothing is configured.
const DefaultRetention = 30 * 24 * time.Hour

// PruneRaw deletes raw events received before cutoff, in chunks so that the
// single SQLite writer is never held for long, and returns how many it
// deleted. Alerts and incidents are kept: they hold the counts, and an
// alert whose newest trigger goes keeps a copy of it (alerts.last_event),
// so its last payload survives; its chain of events ends there. The newest
// event of all is kept, so that raw event ids are never used twice. Raw event ids grow with time, so the oldest
// rows are found by walking the primary key.
func PruneRaw(ctx context.Context, d *db.DB, cutoff time.Time) (int64, error) {
	var total int64
	at := cutoff.UnixMilli()
	for {
		var n int64
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			var upto sql.NullInt64
			// The newest event stays, whatever its age: SQLite numbers new
			// events after the highest id, and an id must never be handed
			// out again while a chain may still point at it.
			if err := tx.QueryRowContext(ctx, `SELECT MAX(id) FROM
				(SELECT id FROM events WHERE received_at < $1 AND id < (SELECT MAX(id) FROM events)
				ORDER BY id LIMIT 5000) AS c`, at).Scan(&upto); err != nil {
				return err
			}
			if !upto.Valid {
				return nil
			}
			if _, err := tx.ExecContext(ctx, `UPDATE alerts SET
				last_event = COALESCE((SELECT e.body FROM events e WHERE e.id = alerts.trigger_event_id), last_event),
				trigger_event_id = NULL
				WHERE id IN (SELECT alert_id FROM events WHERE id <= $1 AND received_at < $2 AND alert_id IS NOT NULL)
				AND trigger_event_id IN (SELECT id FROM events WHERE id <= $1 AND received_at < $2)`, upto.Int64, at); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, "DELETE FROM events WHERE id <= $1 AND received_at < $2", upto.Int64, at)
			if err != nil {
				return err
			}
			n, _ = res.RowsAffected()
			return nil
		})
		if err != nil {
			return total, db.Classify(err)
		}
		total += n
		if n < 5000 || ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
}

package event

import (
	"context"
	"time"

	"github.com/steadyhq/steady/internal/platform/db"
)

// DefaultRetention is how long raw events are kept when nothing is configured.
const DefaultRetention = 30 * 24 * time.Hour

// PruneRaw deletes raw events received before cutoff, in chunks so that the
// single SQLite writer is never held for long, and returns how many it
// deleted. Alerts and incidents are kept: they hold the counts and the last
// event of every alert. Raw event ids grow with time, so the oldest rows are
// found by walking the primary key.
func PruneRaw(ctx context.Context, d *db.DB, cutoff time.Time) (int64, error) {
	var total int64
	for {
		res, err := d.W.ExecContext(ctx, `DELETE FROM events WHERE id IN
			(SELECT id FROM events WHERE received_at < $1 ORDER BY id LIMIT 5000)`, cutoff.UnixMilli())
		if err != nil {
			return total, db.Classify(err)
		}
		n, _ := res.RowsAffected()
		total += n
		if n < 5000 || ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
}

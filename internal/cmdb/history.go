package cmdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/page"
)

// HistoryEntry is one recorded change of a CI's field: who, when, before
// and after (nil when there was none, or is none).
type HistoryEntry struct {
	ID        int64     `json:"id"`
	CIID      int64     `json:"ci_id"`
	At        time.Time `json:"at"`
	ActorType string    `json:"actor_type"`
	ActorID   string    `json:"actor_id"`
	ActorName string    `json:"actor_name"`
	Field     string    `json:"field"`
	Before    any       `json:"before"`
	After     any       `json:"after"`
}

func scanHistory(r db.Scanner) (HistoryEntry, error) {
	var h HistoryEntry
	var at int64
	var before, after sql.NullString
	if err := r.Scan(&h.ID, &h.CIID, &at, &h.ActorType, &h.ActorID, &h.ActorName, &h.Field, &before, &after); err != nil {
		return h, err
	}
	h.At = clock.FromMillis(at)
	if before.Valid {
		_ = json.Unmarshal([]byte(before.String), &h.Before)
	}
	if after.Valid {
		_ = json.Unmarshal([]byte(after.String), &h.After)
	}
	return h, nil
}

// History lists the changes of a CI, newest first. The history of a
// deleted CI stays readable (its newest entry is "deleted"); an id that
// names no CI and has no history is not found.
func (s *Store) History(ctx context.Context, ciID int64, p page.Request) (page.List[HistoryEntry], error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return page.List[HistoryEntry]{}, err
	}
	if _, err := s.ciByID(ctx, s.DB.R, ciID); errs.Is(err, errs.KindNotFound) {
		var x int
		err := s.DB.R.QueryRowContext(ctx, "SELECT 1 FROM ci_history WHERE ci_id = $1 LIMIT 1", ciID).Scan(&x)
		if errors.Is(err, sql.ErrNoRows) {
			return page.List[HistoryEntry]{}, errs.NotFound("CI %d not found", ciID)
		} else if err != nil {
			return page.List[HistoryEntry]{}, db.Classify(err)
		}
	} else if err != nil {
		return page.List[HistoryEntry]{}, err
	}
	q := "SELECT id, ci_id, at, actor_type, actor_id, actor_name, field, before, after FROM ci_history WHERE ci_id = $1"
	args := []any{ciID}
	if p.After != 0 {
		q += " AND id < $2"
		args = append(args, p.After)
	}
	args = append(args, p.Limit+1)
	q += " ORDER BY id DESC LIMIT $" + itoa(len(args))
	out, err := db.All(ctx, s.DB.R, scanHistory, q, args...)
	if err != nil {
		return page.List[HistoryEntry]{}, err
	}
	return page.Cut(out, p, func(h HistoryEntry) int64 { return h.ID }), nil
}

package cmdb

import (
	"context"
	"database/sql"
	"io"
	"regexp"
	"strconv"
	"time"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/reqctx"
)

// Discovery: a source (a scanner, a cloud inventory, a Kubernetes
// controller) sends the full set of items it currently sees, in the shape
// of a JSON or YAML import. Steady reconciles: it creates the new items,
// updates the changed ones, notes when each was last seen, and marks the
// CIs of that source that the feed no longer holds as missing. Nothing is
// ever deleted: a missing CI stays, flagged, until the source sees it
// again (or someone retires it).

// DiscoveryResult is what a discovery feed changed.
type DiscoveryResult struct {
	Source    string `json:"source"`
	Items     int    `json:"items"`
	Created   int    `json:"created"`
	Updated   int    `json:"updated"`
	Unchanged int    `json:"unchanged"`
	// Missing counts the source's CIs that the feed did not hold (marked
	// missing now or earlier); Returned those seen again after missing.
	Missing  int           `json:"missing"`
	Returned int           `json:"returned"`
	Errors   []ImportError `json:"errors"`
}

var sourceRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// ValidSource reports whether s can name a discovery source.
func ValidSource(s string) bool { return sourceRe.MatchString(s) }

// Discover reconciles the CIs of source with the items of a feed (JSON or
// YAML, the shape of an import). Items with errors are reported and left
// out; the valid ones are applied. Managers only (a discovery tool uses a
// manager's API token).
func (s *Store) Discover(ctx context.Context, source string, r io.Reader, format string) (DiscoveryResult, error) {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return DiscoveryResult{}, err
	}
	if !ValidSource(source) {
		return DiscoveryResult{}, errs.Invalid("source", "must be 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if format == "" {
		format = FormatJSON
	}
	if format = ParseFormat(format); format == "" || format == FormatCSV {
		return DiscoveryResult{}, errs.Invalid("format", "must be json or yaml")
	}
	classes, err := s.classMap(ctx, s.DB.R)
	if err != nil {
		return DiscoveryResult{}, err
	}
	doc, err := parseFile(r, format, classes)
	if err != nil {
		return DiscoveryResult{}, err
	}
	out := DiscoveryResult{Source: source}
	res, err := s.run(ctx, doc, runOptions{format: format, validOnly: true, classes: classes, discovery: source, seen: &out})
	if err != nil {
		return DiscoveryResult{}, err
	}
	out.Items, out.Created, out.Updated, out.Unchanged = res.Counts.Rows, res.Counts.Created, res.Counts.Updated, res.Counts.Unchanged
	out.Errors = res.Errors
	return out, nil
}

// reconcileSeen marks the CIs of source that the feed holds as seen now
// (clearing missing_since) and the others as missing (missing_since set the
// first time only). A changed missing_since goes into the CI's history.
func (s *Store) reconcileSeen(ctx context.Context, tx *sql.Tx, source string, rows []rowState, out *DiscoveryResult) error {
	inFeed := make(map[string]bool, len(rows))
	for _, r := range rows {
		if r.item.ExternalID != "" {
			inFeed[r.item.ExternalID] = true
		}
	}
	now := s.Clock.Now().UTC()
	t := now.UnixMilli()
	var seen, gone, back []int64
	backSince := map[int64]int64{}
	q, err := tx.QueryContext(ctx, "SELECT id, external_id, missing_since FROM cis WHERE source = $1 AND external_id IS NOT NULL ORDER BY id", source)
	if err != nil {
		return err
	}
	for q.Next() {
		var id int64
		var ext string
		var missing sql.NullInt64
		if err := q.Scan(&id, &ext, &missing); err != nil {
			q.Close()
			return err
		}
		switch {
		case inFeed[ext]:
			seen = append(seen, id)
			if missing.Valid {
				back = append(back, id)
				backSince[id] = missing.Int64
			}
		case missing.Valid:
			out.Missing++
		default:
			out.Missing++
			gone = append(gone, id)
		}
	}
	q.Close()
	if err := q.Err(); err != nil {
		return err
	}
	out.Returned = len(back)
	ts := strconv.FormatInt(t, 10) // a number of our own: safe to write into the statement
	if err := s.updateIDs(ctx, tx, "UPDATE cis SET last_seen_at = "+ts+", missing_since = NULL WHERE id IN ", seen); err != nil {
		return err
	}
	if err := s.updateIDs(ctx, tx, "UPDATE cis SET missing_since = "+ts+" WHERE missing_since IS NULL AND id IN ", gone); err != nil {
		return err
	}
	a := reqctx.ActorFrom(ctx)
	for _, id := range back {
		since := clock.FromMillis(backSince[id])
		if err := insertHistory(ctx, tx, id, t, a, Change{Field: "missing_since", Before: since, After: nil}); err != nil {
			return err
		}
	}
	for _, id := range gone {
		if err := insertHistory(ctx, tx, id, t, a, Change{Field: "missing_since", Before: nil, After: now.Truncate(time.Millisecond)}); err != nil {
			return err
		}
	}
	return nil
}

// idChunk bounds the ids of one IN list.
const idChunk = 500

// updateIDs runs stmt (ending in "id IN ") for ids, in chunks.
func (s *Store) updateIDs(ctx context.Context, tx *sql.Tx, stmt string, ids []int64) error {
	for start := 0; start < len(ids); start += idChunk {
		chunk := ids[start:min(start+idChunk, len(ids))]
		a := make([]any, 0, len(chunk))
		for _, id := range chunk {
			a = append(a, id)
		}
		if _, err := tx.ExecContext(ctx, stmt+"("+s.DB.Dialect.Params(1, len(chunk))+")", a...); err != nil {
			return db.Classify(err)
		}
	}
	return nil
}

package cmdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/reqctx"
)

// Redundancy is the rule of a group, the target of member_of relations: it
// stays up while at least MinUp of its members are up. The rule may ask for
// more members than the group has; impact analysis counts the missing ones
// as down.
type Redundancy struct {
	CIID  int64 `json:"ci_id"`
	MinUp int   `json:"min_up"`
	// Members is how many CIs are member_of the group now.
	Members int `json:"members"`
}

// MaxMinUp bounds a redundancy rule.
const MaxMinUp = 1_000_000

func (s *Store) redundancy(ctx context.Context, q db.Querier, ciID int64) (Redundancy, error) {
	r := Redundancy{CIID: ciID}
	err := q.QueryRowContext(ctx, `SELECT min_up, (SELECT COUNT(*) FROM ci_relations WHERE target_id = $1 AND type = $2)
		FROM ci_redundancy WHERE ci_id = $1`, ciID, RelMemberOf).Scan(&r.MinUp, &r.Members)
	if errors.Is(err, sql.ErrNoRows) {
		return r, errs.NotFound("CI %d has no redundancy rule", ciID)
	}
	return r, db.Classify(err)
}

// GetRedundancy returns the redundancy rule of a group.
func (s *Store) GetRedundancy(ctx context.Context, ciID int64) (Redundancy, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return Redundancy{}, err
	}
	if _, err := ciName(ctx, s.DB.R, ciID, "ci_id"); err != nil {
		return Redundancy{}, asNotFound(err, ciID)
	}
	return s.redundancy(ctx, s.DB.R, ciID)
}

// asNotFound turns "names no CI" of a path's CI into a not-found error.
func asNotFound(err error, ciID int64) error {
	if errs.Is(err, errs.KindInvalid) {
		return errs.NotFound("CI %d not found", ciID)
	}
	return err
}

func redundancyHistory(ctx context.Context, tx *sql.Tx, at, ciID int64, before, after any) error {
	a := reqctx.ActorFrom(ctx)
	var b, af any
	if before != nil {
		b = fmt.Sprint(before)
	}
	if after != nil {
		af = fmt.Sprint(after)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO ci_history (ci_id, at, actor_type, actor_id, actor_name, field, before, after)
		VALUES ($1, $2, $3, $4, $5, 'redundancy.min_up', $6, $7)`, ciID, at, a.Type, a.ID, a.Name, b, af)
	return err
}

// SetRedundancy gives a group its redundancy rule (or changes it), for a
// manager: the group stays up while at least minUp of its members are up.
func (s *Store) SetRedundancy(ctx context.Context, ciID int64, minUp int) (Redundancy, error) {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return Redundancy{}, err
	}
	if minUp < 1 || minUp > MaxMinUp {
		return Redundancy{}, errs.Invalid("min_up", fmt.Sprintf("must be a whole number from 1 to %d", MaxMinUp))
	}
	var out Redundancy
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		name, err := ciName(ctx, tx, ciID, "ci_id")
		if err != nil {
			return asNotFound(err, ciID)
		}
		var before any
		var old int
		switch err := tx.QueryRowContext(ctx, "SELECT min_up FROM ci_redundancy WHERE ci_id = $1", ciID).Scan(&old); {
		case err == nil:
			before = old
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ci_redundancy (ci_id, min_up) VALUES ($1, $2)
			ON CONFLICT (ci_id) DO UPDATE SET min_up = excluded.min_up`, ciID, minUp); err != nil {
			return err
		}
		if before != minUp {
			if err := redundancyHistory(ctx, tx, s.Clock.Now().UnixMilli(), ciID, before, minUp); err != nil {
				return err
			}
		}
		if err := bump(ctx, tx); err != nil {
			return err
		}
		if out, err = s.redundancy(ctx, tx, ciID); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "ci_redundancy.set", ObjectType: "ci", ObjectID: ciID,
			Summary: fmt.Sprintf("%s stays up while at least %d of its members are up", name, minUp),
			Changes: map[string]any{"min_up": map[string]any{"from": before, "to": minUp}}})
	})
	s.graphChanged()
	return out, err
}

// ClearRedundancy removes a group's redundancy rule, for a manager: any
// member down then affects the group.
func (s *Store) ClearRedundancy(ctx context.Context, ciID int64) error {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return err
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		name, err := ciName(ctx, tx, ciID, "ci_id")
		if err != nil {
			return asNotFound(err, ciID)
		}
		cur, err := s.redundancy(ctx, tx, ciID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM ci_redundancy WHERE ci_id = $1", ciID); err != nil {
			return err
		}
		if err := redundancyHistory(ctx, tx, s.Clock.Now().UnixMilli(), ciID, cur.MinUp, nil); err != nil {
			return err
		}
		if err := bump(ctx, tx); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "ci_redundancy.clear", ObjectType: "ci", ObjectID: ciID,
			Summary: fmt.Sprintf("removed the redundancy rule of %s", name), Changes: map[string]any{"min_up": map[string]any{"from": cur.MinUp, "to": nil}}})
	})
	s.graphChanged()
	return err
}

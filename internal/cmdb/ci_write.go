package cmdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// CreateCI adds a CI, with an audit entry. Managers may.
func (s *Store) CreateCI(ctx context.Context, in CIInput) (CI, error) {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return CI{}, err
	}
	var out CI
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if in.ExternalID != nil && strings.TrimSpace(*in.ExternalID) != "" {
			// A create never updates: a taken external id is a conflict.
			if old, err := s.ciByExternal(ctx, tx, strings.TrimSpace(in.Source), strings.TrimSpace(*in.ExternalID)); err == nil {
				return &errs.Error{Kind: errs.KindConflict, Message: "a CI with this source and external id exists",
					Fields: []errs.FieldError{{Field: "external_id", Detail: fmt.Sprintf("is taken by CI %d", old.ID)}}}
			}
		}
		ci, d, err := s.UpsertTx(ctx, tx, in, UpsertOptions{})
		if err != nil {
			return err
		}
		out = ci
		return s.Audit.Record(ctx, tx, audit.Event{Action: "ci.create", ObjectType: "ci", ObjectID: ci.ID,
			Summary: fmt.Sprintf("created %s %s", ci.Class, ci.Name), Changes: changesMap(d.Changes)})
	})
	return out, err
}

// CIPatch is a partial update of a CI: nil fields stay as they are. TeamID
// 0 and an empty ExternalID clear them; an attribute set to null or "" is
// removed, the attributes not named stay.
type CIPatch struct {
	Class       *string        `json:"class,omitempty"`
	Name        *string        `json:"name,omitempty"`
	TeamID      *int64         `json:"team_id,omitempty"`
	Environment *string        `json:"environment,omitempty"`
	Location    *string        `json:"location,omitempty"`
	Lifecycle   *string        `json:"lifecycle,omitempty"`
	Source      *string        `json:"source,omitempty"`
	ExternalID  *string        `json:"external_id,omitempty"`
	Attributes  map[string]any `json:"attributes,omitempty"`
	// ReplaceAttributes replaces all attributes with Attributes instead of
	// merging them (an edit form sends every attribute).
	ReplaceAttributes bool `json:"-"`
}

// Input is the CI as an input that UpsertTx would leave unchanged.
func (c CI) Input() CIInput {
	attrs := make(map[string]any, len(c.Attributes))
	for k, v := range c.Attributes {
		attrs[k] = v
	}
	return CIInput{Class: c.Class, Name: c.Name, TeamID: c.TeamID, Environment: c.Environment, Location: c.Location,
		Lifecycle: c.Lifecycle, Source: c.Source, ExternalID: c.ExternalID, Attributes: attrs}
}

// apply merges the patch into in.
func (p CIPatch) apply(in *CIInput) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&in.Class, p.Class)
	set(&in.Name, p.Name)
	set(&in.Environment, p.Environment)
	set(&in.Location, p.Location)
	set(&in.Lifecycle, p.Lifecycle)
	set(&in.Source, p.Source)
	if p.TeamID != nil {
		if *p.TeamID == 0 {
			in.TeamID = nil
		} else {
			in.TeamID = p.TeamID
		}
	}
	if p.ExternalID != nil {
		if strings.TrimSpace(*p.ExternalID) == "" {
			in.ExternalID = nil
		} else {
			in.ExternalID = p.ExternalID
		}
	}
	if p.ReplaceAttributes {
		in.Attributes = map[string]any{}
	}
	for k, v := range p.Attributes {
		if empty(v) {
			delete(in.Attributes, k)
		} else {
			in.Attributes[k] = v
		}
	}
}

// UpdateCI changes a CI; ifVersion, when not 0, refuses a stale write.
func (s *Store) UpdateCI(ctx context.Context, id int64, p CIPatch, ifVersion int64) (CI, error) {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return CI{}, err
	}
	var out CI
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		old, err := s.ciByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if ifVersion != 0 && old.Version != ifVersion {
			return errs.PreconditionFailed("CI %d has changed (version %d, not %d)", id, old.Version, ifVersion)
		}
		in := old.Input()
		p.apply(&in)
		ci, d, err := s.UpsertTx(ctx, tx, in, UpsertOptions{ID: id})
		if err != nil {
			return err
		}
		out = ci
		if d.Action == ActionUnchanged {
			return nil
		}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "ci.update", ObjectType: "ci", ObjectID: id,
			Summary: fmt.Sprintf("changed %s %s", ci.Class, ci.Name), Changes: changesMap(d.Changes)})
	})
	return out, err
}

// SetLifecycle moves a CI to another lifecycle state, if its current state
// allows it.
func (s *Store) SetLifecycle(ctx context.Context, id int64, state string, ifVersion int64) (CI, error) {
	return s.UpdateCI(ctx, id, CIPatch{Lifecycle: &state}, ifVersion)
}

// DeleteCI removes a CI with its relationships (see DeleteTx); its history
// stays. The CI of a service goes with its service only.
func (s *Store) DeleteCI(ctx context.Context, id int64) error {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		ci, err := s.ciByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if ci.ServiceID != nil {
			return errs.Conflict("CI %d is service %d; delete the service instead", id, *ci.ServiceID)
		}
		if err := s.DeleteTx(ctx, tx, id); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "ci.delete", ObjectType: "ci", ObjectID: id,
			Summary: fmt.Sprintf("deleted %s %s", ci.Class, ci.Name)})
	})
}

// DeleteTx removes a CI inside tx and bumps the revision; no audit entry.
// Each of its relationships is removed first, with a history row on both
// CIs; its attribute values go with it, and references to it from other
// CIs' attributes are removed (with history). Its own history stays, ending
// with a "deleted" row whose before is the CI as it was.
func (s *Store) DeleteTx(ctx context.Context, tx *sql.Tx, id int64) error {
	ci, err := s.ciByID(ctx, tx, id)
	if err != nil {
		return err
	}
	rels, err := db.All(ctx, tx, func(r db.Scanner) (int64, error) {
		var x int64
		return x, r.Scan(&x)
	}, "SELECT id FROM ci_relations WHERE source_id = $1 UNION SELECT id FROM ci_relations WHERE target_id = $1 ORDER BY 1", id)
	if err != nil {
		return err
	}
	for _, rel := range rels {
		if _, err := s.Unrelate(ctx, tx, rel); err != nil {
			return err
		}
	}
	if err := s.writeHistory(ctx, tx, id, s.Clock.Now().UnixMilli(), []Change{{Field: "deleted", Before: ci.Input()}}); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, "DELETE FROM cis WHERE id = $1", id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.NotFound("CI %d not found", id)
	}
	if err := s.dropReferences(ctx, tx, id); err != nil {
		return err
	}
	s.graphChanged()
	return bump(ctx, tx)
}

// dropReferences removes ref attributes that name a deleted CI, with a
// history row on each CI that had one.
func (s *Store) dropReferences(ctx context.Context, tx *sql.Tx, id int64) error {
	// The keys of reference attributes, from the class definitions.
	cls, err := db.All(ctx, tx, scanClass, "SELECT "+classCols+" FROM ci_classes")
	if err != nil {
		return err
	}
	refKeys := map[string]bool{}
	for _, c := range cls {
		for _, a := range c.Attributes {
			if a.Type == TypeRef {
				refKeys[a.Key] = true
			}
		}
	}
	type hit struct {
		ci  int64
		key string
	}
	var hits []hit
	for _, k := range sortedKeys(refKeys) {
		ids, err := db.All(ctx, tx, func(r db.Scanner) (int64, error) {
			var x int64
			return x, r.Scan(&x)
		}, "SELECT ci_id FROM ci_attribute_values WHERE key = $1 AND value = $2", k, fmt.Sprint(id))
		if err != nil {
			return err
		}
		for _, ci := range ids {
			hits = append(hits, hit{ci, k})
		}
	}
	for _, h := range hits {
		ci, err := s.ciByID(ctx, tx, h.ci)
		if err != nil {
			return err
		}
		cls, err := s.classByID(ctx, tx, ci.ClassID)
		if err != nil {
			return err
		}
		if def, ok := cls.Attr(h.key); !ok || def.Type != TypeRef {
			continue
		}
		before := ci.Attributes[h.key]
		delete(ci.Attributes, h.key)
		t := s.Clock.Now().UnixMilli()
		if _, err := tx.ExecContext(ctx, "UPDATE cis SET attributes = $1, updated_at = $2, version = version + 1 WHERE id = $3",
			db.JSON(ci.Attributes), t, ci.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM ci_attribute_values WHERE ci_id = $1 AND key = $2", ci.ID, h.key); err != nil {
			return err
		}
		if err := s.writeHistory(ctx, tx, ci.ID, t, []Change{{Field: "attributes." + h.key, Before: before}}); err != nil {
			return err
		}
	}
	return nil
}

// changesMap is an audit entry's view of a diff.
func changesMap(cs []Change) map[string]any {
	out := make(map[string]any, len(cs))
	for _, c := range cs {
		out[c.Field] = map[string]any{"from": c.Before, "to": c.After}
	}
	return out
}

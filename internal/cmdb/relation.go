package cmdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/reqctx"
)

// Relationships are typed, directed edges "source <type> target" (the app
// runs_on the VM). Relate and Unrelate work inside a caller's transaction
// (the import uses them for relationship rows); CreateRelation and
// DeleteRelation are the same with access control and an audit entry.
//
// Each change writes a history row on both CIs. The field names the edge
// from the CI's side: on the source "relation:+runs_on:12" (this CI now
// runs_on CI 12), on the target "relation:+5:runs_on" (CI 5 now runs_on this
// one); a removal has "-" in place of "+". The row's value is the relation
// with both names.

// RelationTypeNames lists the relationship types in a stable order.
func RelationTypeNames() []string {
	out := make([]string, 0, len(RelationTypes))
	for t := range RelationTypes {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return relTypeRank(out[i]) < relTypeRank(out[j]) })
	return out
}

// relTypeRank orders the types as people read them: the propagating ones
// first, from the most common.
func relTypeRank(t string) int {
	switch t {
	case RelDependsOn:
		return 0
	case RelRunsOn:
		return 1
	case RelHostedOn:
		return 2
	case RelMemberOf:
		return 3
	case RelConnectsTo:
		return 4
	case RelBackedUpBy:
		return 5
	}
	return 6
}

// relationDoc is a relation as a history row records it.
type relationDoc struct {
	ID         int64  `json:"id"`
	SourceID   int64  `json:"source_id"`
	SourceName string `json:"source_name"`
	Type       string `json:"type"`
	TargetID   int64  `json:"target_id"`
	TargetName string `json:"target_name"`
}

func relationJSON(r Relation) string {
	b, _ := json.Marshal(relationDoc{ID: r.ID, SourceID: r.SourceID, SourceName: r.SourceName, Type: r.Type,
		TargetID: r.TargetID, TargetName: r.TargetName})
	return string(b)
}

// relationHistory writes the history rows of an added (sign "+") or removed
// ("-") relation on both of its CIs.
func relationHistory(ctx context.Context, tx *sql.Tx, at int64, r Relation, sign string) error {
	a := reqctx.ActorFrom(ctx)
	doc := relationJSON(r)
	var before, after any = nil, doc
	if sign == "-" {
		before, after = doc, nil
	}
	rows := []struct {
		ci    int64
		field string
	}{
		{r.SourceID, fmt.Sprintf("relation:%s%s:%d", sign, r.Type, r.TargetID)},
		{r.TargetID, fmt.Sprintf("relation:%s%d:%s", sign, r.SourceID, r.Type)},
	}
	for _, row := range rows {
		if _, err := tx.ExecContext(ctx, `INSERT INTO ci_history (ci_id, at, actor_type, actor_id, actor_name, field, before, after)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, row.ci, at, a.Type, a.ID, a.Name, row.field, before, after); err != nil {
			return err
		}
	}
	return nil
}

// ciName returns the name of a CI, or a not-found error naming field.
func ciName(ctx context.Context, q db.Querier, id int64, field string) (string, error) {
	var name string
	err := q.QueryRowContext(ctx, "SELECT name FROM cis WHERE id = $1", id).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errs.Invalid(field, fmt.Sprintf("names no CI (there is no CI %d)", id))
	}
	return name, err
}

// Relate adds the relation r (its SourceID, Type and TargetID) in tx: the
// type must be known, both CIs must exist and differ, the relation must not
// exist yet (a conflict), and a relation of an acyclic type must not close
// a cycle over the acyclic types (the error names the path). It writes the
// history of both CIs and bumps the graph revision; the caller audits.
func (s *Store) Relate(ctx context.Context, tx *sql.Tx, r Relation) (Relation, error) {
	r.Type = strings.TrimSpace(r.Type)
	var f errs.Fields
	rt, known := RelationTypes[r.Type]
	switch {
	case r.Type == "":
		f.Add("type", "is required: one of "+strings.Join(RelationTypeNames(), ", "))
	case !known:
		f.Add("type", fmt.Sprintf("must be one of %s, not %q", strings.Join(RelationTypeNames(), ", "), r.Type))
	}
	f.Check(r.SourceID < 1, "source_id", "is required: the id of a CI")
	f.Check(r.TargetID < 1, "target_id", "is required: the id of a CI")
	if r.SourceID > 0 && r.SourceID == r.TargetID {
		f.Add("target_id", "must be another CI: a CI cannot relate to itself")
	}
	if err := f.Err(); err != nil {
		return Relation{}, err
	}
	// Bumping first takes the revision row's lock on PostgreSQL: two
	// transactions that relate CIs run one after the other, so the cycle
	// check below always sees the other's committed edges.
	if err := bump(ctx, tx); err != nil {
		return Relation{}, err
	}
	var err error
	if r.SourceName, err = ciName(ctx, tx, r.SourceID, "source_id"); err != nil {
		return Relation{}, err
	}
	if r.TargetName, err = ciName(ctx, tx, r.TargetID, "target_id"); err != nil {
		return Relation{}, err
	}
	var existing int64
	err = tx.QueryRowContext(ctx, "SELECT id FROM ci_relations WHERE source_id = $1 AND type = $2 AND target_id = $3",
		r.SourceID, r.Type, r.TargetID).Scan(&existing)
	switch {
	case err == nil:
		return Relation{}, errs.Conflict("%s already %s %s (relation %d)", r.SourceName, r.Type, r.TargetName, existing)
	case !errors.Is(err, sql.ErrNoRows):
		return Relation{}, err
	}
	if rt.Acyclic {
		if err := s.checkCycle(ctx, tx, r); err != nil {
			return Relation{}, err
		}
	}
	now := s.Clock.Now().UTC()
	r.CreatedAt = clock.FromMillis(now.UnixMilli())
	if err := tx.QueryRowContext(ctx, `INSERT INTO ci_relations (source_id, type, target_id, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		r.SourceID, r.Type, r.TargetID, now.UnixMilli()).Scan(&r.ID); err != nil {
		if db.IsUniqueViolation(err) {
			return Relation{}, errs.Conflict("%s already %s %s", r.SourceName, r.Type, r.TargetName)
		}
		return Relation{}, err
	}
	if err := relationHistory(ctx, tx, now.UnixMilli(), r, "+"); err != nil {
		return Relation{}, err
	}
	s.graphChanged()
	return r, nil
}

// acyclicTypes lists the types whose cycles are refused, for SQL.
func acyclicTypes() []string {
	var out []string
	for _, t := range RelationTypeNames() {
		if RelationTypes[t].Acyclic {
			out = append(out, t)
		}
	}
	return out
}

// cycleLevelChunk bounds the ids of one IN list of the cycle search.
const cycleLevelChunk = 500

// dependency is a relation read as "from depends on to": the source
// depends on the target, except that a group (the target of member_of)
// depends on its member.
type dependency struct {
	from, to int64
	label    string // how the path reads: the type, or "has member"
}

func dependencyOf(r Relation) dependency {
	if r.Type == RelMemberOf {
		return dependency{r.TargetID, r.SourceID, "has member"}
	}
	return dependency{r.SourceID, r.TargetID, r.Type}
}

// checkCycle refuses r when it would close a cycle of dependencies over
// the acyclic types: when what r's dependent comes to depend on already
// depends on it. The search walks the relations in tx, level by level, so
// that relations added earlier in the same transaction (an import) count.
func (s *Store) checkCycle(ctx context.Context, tx *sql.Tx, r Relation) error {
	var others []string
	for _, t := range acyclicTypes() {
		if t != RelMemberOf {
			others = append(others, t)
		}
	}
	dep := dependencyOf(r)
	parent := map[int64]dependency{dep.to: {}}
	frontier := []int64{dep.to}
	found := dep.to == dep.from
	scan := func(q string, args []any) ([]dependency, error) {
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []dependency
		for rows.Next() {
			var rel Relation
			if err := rows.Scan(&rel.SourceID, &rel.Type, &rel.TargetID); err != nil {
				return nil, err
			}
			out = append(out, dependencyOf(rel))
		}
		return out, rows.Err()
	}
	for len(frontier) > 0 && !found {
		var next []int64
		for start := 0; start < len(frontier) && !found; start += cycleLevelChunk {
			chunk := frontier[start:min(start+cycleLevelChunk, len(frontier))]
			ids := make([]any, 0, len(chunk)+len(others))
			for _, id := range chunk {
				ids = append(ids, id)
			}
			in := s.DB.Dialect.Params(1, len(chunk))
			// What the CIs of the chunk depend on: their targets, and the
			// members of the groups among them.
			deps, err := scan("SELECT source_id, type, target_id FROM ci_relations WHERE source_id IN ("+in+
				") AND type IN ("+s.DB.Dialect.Params(len(chunk)+1, len(others))+") ORDER BY source_id, type, target_id",
				append(ids, func() []any {
					out := make([]any, len(others))
					for i, t := range others {
						out[i] = t
					}
					return out
				}()...))
			if err != nil {
				return err
			}
			members, err := scan("SELECT source_id, type, target_id FROM ci_relations WHERE target_id IN ("+in+
				") AND type = "+s.DB.Dialect.Params(len(chunk)+1, 1)+" ORDER BY target_id, source_id", append(ids[:len(chunk):len(chunk)], RelMemberOf))
			if err != nil {
				return err
			}
			for _, d := range append(deps, members...) {
				if _, seen := parent[d.to]; seen {
					continue
				}
				parent[d.to] = d
				if d.to == dep.from {
					found = true
					break
				}
				next = append(next, d.to)
			}
		}
		frontier = next
	}
	if !found {
		return nil
	}
	// The path: the new relation, then back from its dependency to its dependent.
	var path []dependency
	for at := dep.from; at != dep.to; at = parent[at].from {
		path = append(path, parent[at])
	}
	path = append(path, dep)
	names := map[int64]string{r.SourceID: r.SourceName, r.TargetID: r.TargetName}
	for _, d := range path {
		if _, ok := names[d.from]; !ok {
			n, err := ciName(ctx, tx, d.from, "target_id")
			if err != nil {
				return err
			}
			names[d.from] = n
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "would close a cycle of dependencies (%s): ", strings.Join(acyclicTypes(), ", "))
	for i := len(path) - 1; i >= 0; i-- {
		d := path[i]
		fmt.Fprintf(&b, "%s (%d) %s ", names[d.from], d.from, d.label)
	}
	fmt.Fprintf(&b, "%s (%d)", names[dep.from], dep.from)
	return errs.Invalid("target_id", b.String())
}

const relationCols = `r.id, r.source_id, r.type, r.target_id, s.name, t.name, r.created_at`
const relationFrom = ` FROM ci_relations r JOIN cis s ON s.id = r.source_id JOIN cis t ON t.id = r.target_id`

func scanRelation(row db.Scanner) (Relation, error) {
	var r Relation
	var at int64
	if err := row.Scan(&r.ID, &r.SourceID, &r.Type, &r.TargetID, &r.SourceName, &r.TargetName, &at); err != nil {
		return r, err
	}
	r.CreatedAt = clock.FromMillis(at)
	return r, nil
}

func (s *Store) relationByID(ctx context.Context, q db.Querier, id int64) (Relation, error) {
	r, err := scanRelation(q.QueryRowContext(ctx, "SELECT "+relationCols+relationFrom+" WHERE r.id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, errs.NotFound("relation %d not found", id)
	}
	return r, db.Classify(err)
}

// Unrelate removes relation id in tx, writing the history of both CIs and
// bumping the graph revision; the caller audits. It returns what it removed.
func (s *Store) Unrelate(ctx context.Context, tx *sql.Tx, id int64) (Relation, error) {
	r, err := s.relationByID(ctx, tx, id)
	if err != nil {
		return r, err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM ci_relations WHERE id = $1", id); err != nil {
		return r, err
	}
	if err := relationHistory(ctx, tx, s.Clock.Now().UnixMilli(), r, "-"); err != nil {
		return r, err
	}
	if err := bump(ctx, tx); err != nil {
		return r, err
	}
	s.graphChanged()
	return r, nil
}

// GetRelation returns one relation with the names of its CIs.
func (s *Store) GetRelation(ctx context.Context, id int64) (Relation, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return Relation{}, err
	}
	return s.relationByID(ctx, s.DB.R, id)
}

// Relations lists the relations of a CI in both directions, with the names
// of both ends: first those it is the source of, then those that point at
// it, each by type and name.
func (s *Store) Relations(ctx context.Context, ciID int64) ([]Relation, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return nil, err
	}
	var exists int64
	if err := s.DB.R.QueryRowContext(ctx, "SELECT id FROM cis WHERE id = $1", ciID).Scan(&exists); errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFound("CI %d not found", ciID)
	} else if err != nil {
		return nil, db.Classify(err)
	}
	out, err := db.All(ctx, s.DB.R, scanRelation, "SELECT "+relationCols+relationFrom+
		` WHERE r.source_id = $1 OR r.target_id = $1
		ORDER BY CASE WHEN r.source_id = $1 THEN 0 ELSE 1 END, r.type, CASE WHEN r.source_id = $1 THEN t.name_key ELSE s.name_key END, r.id`, ciID)
	if out == nil {
		out = []Relation{}
	}
	return out, err
}

// CreateRelation adds a relation for a manager, with an audit entry in the
// same transaction.
func (s *Store) CreateRelation(ctx context.Context, r Relation) (Relation, error) {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return Relation{}, err
	}
	var out Relation
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if out, err = s.Relate(ctx, tx, r); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "ci_relation.create", ObjectType: "ci_relation", ObjectID: out.ID,
			Summary: fmt.Sprintf("related %s %s %s", out.SourceName, out.Type, out.TargetName),
			Changes: map[string]any{"source_id": out.SourceID, "type": out.Type, "target_id": out.TargetID}})
	})
	s.graphChanged()
	if err != nil {
		return Relation{}, err
	}
	return out, nil
}

// DeleteRelation removes a relation for a manager, with an audit entry in
// the same transaction.
func (s *Store) DeleteRelation(ctx context.Context, id int64) (Relation, error) {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return Relation{}, err
	}
	var out Relation
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if out, err = s.Unrelate(ctx, tx, id); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "ci_relation.delete", ObjectType: "ci_relation", ObjectID: id,
			Summary: fmt.Sprintf("removed the relation %s %s %s", out.SourceName, out.Type, out.TargetName),
			Changes: map[string]any{"source_id": out.SourceID, "type": out.Type, "target_id": out.TargetID}})
	})
	s.graphChanged()
	if err != nil {
		return Relation{}, err
	}
	return out, nil
}

package cmdb

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// Import reads CIs and their relationships from a CSV, JSON or YAML file
// and upserts them in one transaction: a row with an external id updates
// the CI with that (source, external id), a row without one the CI of the
// same class and name, and any other row creates a CI. A row that updates
// a CI changes only the fields and attributes it holds (see merge).
// Relationships are made after every CI, so a row may name a CI that a
// later row creates.
//
// A dry run does all of it and rolls back: it answers what would happen,
// row by row, and every error, and changes nothing. It needs the write
// transaction (and holds it as long as the import would): forward
// references, cycles and unique values between rows are only checked
// exactly by writing. Otherwise an import with errors changes nothing
// either (the error lists every problem), unless ValidOnly asks to apply
// the valid rows and report the others.

// ImportOptions say how to import a file.
type ImportOptions struct {
	Format    string // csv, json or yaml; "" guesses from the content
	DryRun    bool
	ValidOnly bool
}

// ImportResult is what an import did (or, in a dry run, would do).
type ImportResult struct {
	Format    string           `json:"format"`
	DryRun    bool             `json:"dry_run"`
	Applied   bool             `json:"applied"` // the changes were committed
	Counts    ImportCounts     `json:"counts"`
	Rows      []ImportRow      `json:"rows"`
	Relations []ImportRelation `json:"relations"`
	Errors    []ImportError    `json:"errors"`
}

// ImportCounts sums up an import.
type ImportCounts struct {
	Rows               int `json:"rows"`
	Created            int `json:"created"`
	Updated            int `json:"updated"`
	Unchanged          int `json:"unchanged"`
	Failed             int `json:"failed"`
	RelationsCreated   int `json:"relations_created"`
	RelationsUnchanged int `json:"relations_unchanged"`
	RelationsFailed    int `json:"relations_failed"`
}

// ImportRow is the outcome of one row: create, update, unchanged or error.
// Changes lists what an update changes; a created CI is the row itself.
type ImportRow struct {
	Row        int      `json:"row"`
	Action     string   `json:"action"`
	CIID       int64    `json:"ci_id,omitempty"` // not in a dry run's creations
	Class      string   `json:"class"`
	Name       string   `json:"name"`
	ExternalID string   `json:"external_id,omitempty"`
	Changes    []Change `json:"changes,omitempty"`
}

// ImportRelation is the outcome of one relationship: create, unchanged or
// error. Row 0 is an entry of the file's "relations" list.
type ImportRelation struct {
	Row    int    `json:"row"`
	Source string `json:"source"`
	Type   string `json:"type"`
	Target string `json:"target"`
	Action string `json:"action"`
}

// ActionError marks a row or relationship that was not applied.
const ActionError = "error"

// errRollback ends a transaction that must leave nothing behind (a dry
// run, an import with errors) without being an error itself.
var errRollback = errors.New("roll back")

// Import reads a file from r and imports it; managers only.
func (s *Store) Import(ctx context.Context, r io.Reader, opts ImportOptions) (ImportResult, error) {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return ImportResult{}, err
	}
	format := opts.Format
	if format == "" {
		br := bufio.NewReaderSize(r, 4096)
		head, _ := br.Peek(4096)
		format, r = sniffFormat(head), br
	} else if format = ParseFormat(format); format == "" {
		return ImportResult{}, errs.Invalid("format", "must be one of csv, json, yaml")
	}
	classes, err := s.classMap(ctx, s.DB.R)
	if err != nil {
		return ImportResult{}, err
	}
	doc, err := parseFile(r, format, classes)
	if err != nil {
		return ImportResult{}, err
	}
	res, err := s.run(ctx, doc, runOptions{format: format, dryRun: opts.DryRun, validOnly: opts.ValidOnly, classes: classes})
	if err != nil {
		return res, err
	}
	if len(res.Errors) > 0 && !opts.DryRun && !opts.ValidOnly {
		return res, importErrors(res.Errors)
	}
	return res, nil
}

// maxProblemFields caps the fields of an import's validation error.
const maxProblemFields = 1000

// importErrors is the error of an import that was refused for its errors.
func importErrors(l []ImportError) error {
	e := &errs.Error{Kind: errs.KindInvalid,
		Message: fmt.Sprintf("the import has %d errors and changed nothing; fix them, or apply the valid rows only", len(l))}
	for i, ie := range l {
		if i == maxProblemFields {
			e.Fields = append(e.Fields, errs.FieldError{Field: "errors", Detail: fmt.Sprintf("and %d more", len(l)-i)})
			break
		}
		field := ie.Field
		if ie.Row > 0 {
			field = "row " + strconv.Itoa(ie.Row)
			if ie.Field != "" {
				field += ", " + ie.Field
			}
		}
		e.Fields = append(e.Fields, errs.FieldError{Field: field, Detail: ie.Detail})
	}
	return e
}

// classMap loads every class by key.
func (s *Store) classMap(ctx context.Context, q db.Querier) (map[string]Class, error) {
	l, err := db.All(ctx, q, scanClass, "SELECT "+classCols+" FROM ci_classes")
	if err != nil {
		return nil, err
	}
	m := make(map[string]Class, len(l))
	for _, c := range l {
		m[c.Key] = c
	}
	return m, nil
}

// runOptions say how run applies a parsed file.
type runOptions struct {
	format    string
	dryRun    bool
	validOnly bool
	classes   map[string]Class
	// discovery is the source of a discovery feed: every item belongs to
	// it and needs an external id, the valid items are applied, and the
	// source's CIs are marked seen or missing.
	discovery string
	// seen receives the discovery counts.
	seen *DiscoveryResult
}

// rowState is a row being applied.
type rowState struct {
	parsedRow
	ciID   int64
	failed bool
}

type extKey struct{ source, ext string }

// run applies a parsed file in one transaction.
func (s *Store) run(ctx context.Context, doc parsedDoc, o runOptions) (ImportResult, error) {
	res := ImportResult{Format: o.format, DryRun: o.dryRun, Rows: make([]ImportRow, 0, len(doc.rows)),
		Relations: []ImportRelation{}, Errors: []ImportError{}}
	res.Counts.Rows = len(doc.rows)
	rows := make([]rowState, len(doc.rows))
	for i, pr := range doc.rows {
		rows[i] = rowState{parsedRow: pr}
	}
	savepoints := s.DB.Dialect == db.Postgres || o.validOnly || o.discovery != ""
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res.Errors = res.Errors[:0]
		res.Rows = res.Rows[:0]
		res.Relations = res.Relations[:0]
		res.Counts = ImportCounts{Rows: len(doc.rows)}
		teams, err := teamMap(ctx, tx)
		if err != nil {
			return err
		}
		byExt := map[extKey]int{}
		byName := map[string][]int{}
		for i := range rows {
			rs := &rows[i]
			it := &rs.item
			if o.discovery != "" {
				if it.Source != "" && it.Source != o.discovery {
					rs.errs = append(rs.errs, ImportError{Row: rs.row, Field: "source", Detail: "must be " + o.discovery + " (the feed's source) or left out"})
				}
				it.Source = o.discovery
				if it.ExternalID == "" {
					rs.errs = append(rs.errs, ImportError{Row: rs.row, Field: "external_id", Detail: "is required: discovery reconciles by external id"})
				}
			}
			if it.ExternalID != "" {
				k := extKey{it.Source, it.ExternalID}
				if j, dup := byExt[k]; dup {
					rs.errs = append(rs.errs, ImportError{Row: rs.row, Field: "external_id", Detail: "repeats row " + strconv.Itoa(rows[j].row)})
				} else {
					byExt[k] = i
				}
			} else if it.Name != "" {
				for _, j := range byName[strings.ToLower(it.Name)] {
					if rows[j].item.ExternalID == "" && rows[j].item.Class == it.Class {
						rs.errs = append(rs.errs, ImportError{Row: rs.row, Field: "name",
							Detail: "repeats row " + strconv.Itoa(rows[j].row) + " (same class, no external id)"})
						break
					}
				}
			}
			if it.Name != "" {
				byName[strings.ToLower(it.Name)] = append(byName[strings.ToLower(it.Name)], i)
			}
		}

		// The CIs.
		for i := range rows {
			rs := &rows[i]
			out := ImportRow{Row: rs.row, Class: rs.item.Class, Name: rs.item.Name, ExternalID: rs.item.ExternalID}
			in, opts, problems, err := s.rowInput(ctx, tx, rs, teams, o.classes)
			if err != nil {
				return err
			}
			rs.errs = append(rs.errs, problems...)
			if len(rs.errs) == 0 {
				var ci CI
				var d Diff
				err := s.savepoint(ctx, tx, savepoints, func() error {
					var err error
					ci, d, err = s.UpsertTx(ctx, tx, in, opts)
					return err
				})
				if fields, ok := rowProblems(err, rs.row, ""); ok {
					rs.errs = append(rs.errs, fields...)
				} else if err != nil {
					return err
				} else {
					rs.ciID = ci.ID
					out.Action = d.Action
					if out.Class == "" || out.Name == "" {
						out.Class, out.Name = ci.Class, ci.Name // the row kept them
					}
					if !(o.dryRun && d.Action == ActionCreate) {
						out.CIID = ci.ID
					}
					if d.Action == ActionUpdate {
						out.Changes = d.Changes
					}
				}
			}
			if len(rs.errs) > 0 {
				rs.failed = true
				out.Action = ActionError
				res.Errors = append(res.Errors, rs.errs...)
				res.Counts.Failed++
			} else {
				switch out.Action {
				case ActionCreate:
					res.Counts.Created++
				case ActionUpdate:
					res.Counts.Updated++
				default:
					res.Counts.Unchanged++
				}
			}
			res.Rows = append(res.Rows, out)
		}

		// The relationships, now that every CI exists.
		rz := resolver{s: s, tx: tx, rows: rows, byExt: byExt, byName: byName}
		relate := func(rr relRef, from int64, fromName, fromSource string) error {
			out := ImportRelation{Row: rr.row, Source: fromName, Type: rr.typ, Target: rr.ref}
			fail := func(field, detail string) {
				out.Action = ActionError
				res.Errors = append(res.Errors, ImportError{Row: rr.row, Field: field, Detail: detail})
				res.Counts.RelationsFailed++
			}
			defer func() { res.Relations = append(res.Relations, out) }()
			srcField, dstField := rr.field, rr.field
			if rr.src != "" {
				srcField, dstField = rr.field+".source", rr.field+".target"
				id, problem, err := rz.resolve(ctx, rr.src, "")
				if err != nil {
					return err
				}
				if problem != "" {
					fail(srcField, problem)
					return nil
				}
				from, fromSource = id, rz.sourceOf(ctx, id)
			}
			to, problem, err := rz.resolve(ctx, rr.ref, fromSource)
			if err != nil {
				return err
			}
			if problem != "" {
				fail(dstField, problem)
				return nil
			}
			var x int64
			err = tx.QueryRowContext(ctx, "SELECT id FROM ci_relations WHERE source_id = $1 AND type = $2 AND target_id = $3", from, rr.typ, to).Scan(&x)
			if err == nil {
				out.Action = ActionUnchanged
				res.Counts.RelationsUnchanged++
				return nil
			} else if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			err = s.savepoint(ctx, tx, savepoints, func() error {
				_, err := s.Relate(ctx, tx, Relation{SourceID: from, Type: rr.typ, TargetID: to})
				return err
			})
			if e, ok := errs.As(err); ok && e.Kind != errs.KindInternal && e.Kind != errs.KindUnavailable {
				detail := e.Message
				for _, f := range e.Fields {
					detail = f.Detail
				}
				fail(dstField, detail)
				return nil
			} else if err != nil {
				return err
			}
			out.Action = ActionCreate
			res.Counts.RelationsCreated++
			return nil
		}
		for i := range rows {
			rs := &rows[i]
			if rs.failed {
				continue
			}
			for _, rr := range rs.rels {
				if err := relate(rr, rs.ciID, rs.item.Name, rs.item.Source); err != nil {
					return err
				}
			}
		}
		for _, rr := range doc.rels {
			if err := relate(rr, 0, rr.src, ""); err != nil {
				return err
			}
		}

		if o.discovery != "" {
			if err := s.reconcileSeen(ctx, tx, o.discovery, rows, o.seen); err != nil {
				return err
			}
		}
		if o.dryRun || (len(res.Errors) > 0 && !o.validOnly) {
			return errRollback
		}
		c := res.Counts
		if o.discovery != "" {
			d := o.seen
			return s.Audit.Record(ctx, tx, audit.Event{Action: "ci.discovery", ObjectType: "discovery_source", ObjectID: o.discovery,
				Summary: fmt.Sprintf("discovery feed from %s: %d items, %d created, %d updated, %d unchanged, %d missing, %d errors",
					o.discovery, c.Rows, c.Created, c.Updated, c.Unchanged, d.Missing, len(res.Errors)),
				Changes: map[string]any{"items": c.Rows, "created": c.Created, "updated": c.Updated, "unchanged": c.Unchanged,
					"missing": d.Missing, "returned": d.Returned, "errors": len(res.Errors)}})
		}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "ci.import", ObjectType: "ci_import", ObjectID: o.format,
			Summary: fmt.Sprintf("imported %d %s rows: %d created, %d updated, %d unchanged, %d failed; %d relationships added",
				c.Rows, strings.ToUpper(o.format), c.Created, c.Updated, c.Unchanged, c.Failed, c.RelationsCreated),
			Changes: map[string]any{"rows": c.Rows, "created": c.Created, "updated": c.Updated, "unchanged": c.Unchanged,
				"failed": c.Failed, "relations_created": c.RelationsCreated, "relations_unchanged": c.RelationsUnchanged,
				"relations_failed": c.RelationsFailed}})
	})
	if errors.Is(err, errRollback) {
		return res, nil
	}
	if err != nil {
		return ImportResult{}, err
	}
	res.Applied = true
	return res, nil
}

// savepoint runs fn so that, when it fails, what it wrote is undone and the
// transaction goes on (PostgreSQL aborts a transaction at its first failed
// statement otherwise). Without use, fn runs as it is.
func (s *Store) savepoint(ctx context.Context, tx *sql.Tx, use bool, fn func() error) error {
	if !use {
		return fn()
	}
	if _, err := tx.ExecContext(ctx, "SAVEPOINT cmdb_row"); err != nil {
		return err
	}
	if err := fn(); err != nil {
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT cmdb_row"); rerr != nil {
			return rerr
		}
		_, _ = tx.ExecContext(ctx, "RELEASE SAVEPOINT cmdb_row")
		return err
	}
	_, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT cmdb_row")
	return err
}

// rowProblems turns the error of one row into its import errors; ok is
// false for errors that are not the row's fault (they end the import).
func rowProblems(err error, row int, prefix string) ([]ImportError, bool) {
	e, ok := errs.As(err)
	if !ok {
		return nil, false
	}
	switch e.Kind {
	case errs.KindInvalid, errs.KindConflict, errs.KindNotFound, errs.KindPreconditionFailed:
	default:
		return nil, false
	}
	if len(e.Fields) == 0 {
		return []ImportError{{Row: row, Field: prefix, Detail: e.Message}}, true
	}
	out := make([]ImportError, 0, len(e.Fields))
	for _, f := range e.Fields {
		field := f.Field
		if field == "team_id" {
			field = "team"
		}
		out = append(out, ImportError{Row: row, Field: prefix + field, Detail: f.Detail})
	}
	return out, true
}

// rowInput turns a row into the input of UpsertTx and says which CI it
// updates: the CI with the row's (source, external id), or, for a row
// without an external id, the one CI of its class with its name (keeping
// that CI's source and external id). A row that updates a CI changes only
// the fields it holds: see merge.
func (s *Store) rowInput(ctx context.Context, tx *sql.Tx, rs *rowState, teams teamIndex, classes map[string]Class) (CIInput, UpsertOptions, []ImportError, error) {
	it := rs.item
	in := CIInput{Class: it.Class, Name: it.Name, Environment: it.Environment, Location: it.Location, Lifecycle: it.Lifecycle,
		Source: it.Source, Attributes: it.Attributes}
	var opts UpsertOptions
	var problems []ImportError
	if it.ExternalID != "" {
		ext := it.ExternalID
		in.ExternalID = &ext
	}
	if it.Team != "" {
		id, ok := teams.find(it.Team)
		if !ok {
			problems = append(problems, ImportError{Row: rs.row, Field: "team", Detail: "names no team: " + it.Team})
		} else {
			in.TeamID = &id
		}
	}
	var old CI
	switch {
	case in.ExternalID != nil:
		c, err := s.ciByExternal(ctx, tx, it.Source, it.ExternalID)
		if err != nil && !errs.Is(err, errs.KindNotFound) {
			return in, opts, nil, err
		}
		old = c
	case it.Name != "" && len(rs.errs) == 0:
		cls, ok := classes[it.Class]
		if !ok {
			break
		}
		ids, err := db.All(ctx, tx, func(r db.Scanner) (int64, error) {
			var id int64
			return id, r.Scan(&id)
		}, "SELECT id FROM cis WHERE class_id = $1 AND name_key = $2 ORDER BY id LIMIT 2", cls.ID, strings.ToLower(it.Name))
		if err != nil {
			return in, opts, nil, err
		}
		switch len(ids) {
		case 1:
			if old, err = s.ciByID(ctx, tx, ids[0]); err != nil {
				return in, opts, nil, err
			}
			opts.ID = old.ID
		case 2:
			problems = append(problems, ImportError{Row: rs.row, Field: "name",
				Detail: "names several CIs of class " + it.Class + "; give the external_id"})
		}
	}
	if old.ID != 0 {
		merge(&in, rs.parsedRow, old, classes)
	}
	return in, opts, problems, nil
}

// merge completes the input of a row that updates old: a field the row
// does not hold (a column missing from a CSV header, a key missing from a
// JSON or YAML item) keeps its stored value, while one it holds empty is
// cleared (name, class, environment and lifecycle cannot be: an empty class,
// environment or lifecycle keeps the value, an empty name is an error).
// Only the attributes the row holds change; the others stay (those that a
// new class of the CI does not define go). A row without an external id
// keeps the CI's source and external id when it has one.
func merge(in *CIInput, pr parsedRow, old CI, classes map[string]Class) {
	if !pr.has["name"] {
		in.Name = old.Name
	}
	if !pr.has["team"] {
		in.TeamID = old.TeamID
	}
	if !pr.has["location"] {
		in.Location = old.Location
	}
	if in.ExternalID == nil {
		if old.ExternalID != nil {
			in.Source, in.ExternalID = old.Source, old.ExternalID
		} else if !pr.has["source"] {
			in.Source = old.Source
		}
	}
	class := in.Class
	if class == "" {
		class = old.Class
	}
	cls := classes[class]
	attrs := make(map[string]any, len(old.Attributes)+len(in.Attributes))
	for k, v := range old.Attributes {
		if _, defined := cls.Attr(k); defined || class == old.Class {
			attrs[k] = v
		}
	}
	for _, k := range pr.clear {
		delete(attrs, k)
	}
	for k, v := range in.Attributes {
		attrs[k] = v
	}
	in.Attributes = attrs
}

// teamIndex finds teams by name (case-insensitive) or id.
type teamIndex struct {
	byName map[string]int64
	names  map[int64]string
}

func teamMap(ctx context.Context, q db.Querier) (teamIndex, error) {
	ti := teamIndex{byName: map[string]int64{}, names: map[int64]string{}}
	rows, err := q.QueryContext(ctx, "SELECT id, name FROM teams")
	if err != nil {
		return ti, db.Classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return ti, err
		}
		ti.byName[strings.ToLower(name)] = id
		ti.names[id] = name
	}
	return ti, rows.Err()
}

func (t teamIndex) find(ref string) (int64, bool) {
	if id, ok := t.byName[strings.ToLower(strings.TrimSpace(ref))]; ok {
		return id, true
	}
	if id, err := strconv.ParseInt(strings.TrimSpace(ref), 10, 64); err == nil {
		if _, ok := t.names[id]; ok {
			return id, true
		}
	}
	return 0, false
}

// resolver finds the CI a relationship names: first an external id of
// the same source (in the file, then in the CMDB), then a name in the file,
// then any reference FindCI knows (an id, "source:external_id", a name).
type resolver struct {
	s      *Store
	tx     *sql.Tx
	rows   []rowState
	byExt  map[extKey]int
	byName map[string][]int
	// sources caches the source of CIs that relationships start from.
	sources map[int64]string
}

func (rz *resolver) sourceOf(ctx context.Context, id int64) string {
	if src, ok := rz.sources[id]; ok {
		return src
	}
	var src string
	_ = rz.tx.QueryRowContext(ctx, "SELECT source FROM cis WHERE id = $1", id).Scan(&src)
	if rz.sources == nil {
		rz.sources = map[int64]string{}
	}
	rz.sources[id] = src
	return src
}

// resolve returns the CI ref names, or a problem to report.
func (rz *resolver) resolve(ctx context.Context, ref, source string) (int64, string, error) {
	fromRow := func(i int) (int64, string) {
		r := rz.rows[i]
		if r.failed {
			return 0, "names the CI of row " + strconv.Itoa(r.row) + ", which has errors"
		}
		return r.ciID, ""
	}
	if i, ok := rz.byExt[extKey{source, ref}]; ok {
		id, p := fromRow(i)
		return id, p, nil
	}
	var id int64
	err := rz.tx.QueryRowContext(ctx, "SELECT id FROM cis WHERE source = $1 AND external_id = $2", source, ref).Scan(&id)
	if err == nil {
		return id, "", nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return 0, "", err
	}
	if l := rz.byName[strings.ToLower(ref)]; len(l) == 1 {
		id, p := fromRow(l[0])
		return id, p, nil
	} else if len(l) > 1 {
		return 0, "names several CIs of the file: " + ref + "; use an external id", nil
	}
	ci, err := rz.s.findCI(ctx, rz.tx, ref)
	switch {
	case errs.Is(err, errs.KindNotFound):
		return 0, "names no CI: " + ref, nil
	case errs.Is(err, errs.KindConflict):
		return 0, "names several CIs: " + ref + "; use an id or source:external_id", nil
	case err != nil:
		return 0, "", err
	}
	return ci.ID, "", nil
}

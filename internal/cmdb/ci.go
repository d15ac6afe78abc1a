package cmdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/reqctx"
)

// ciCols reads a CI with its class key and the service it is, if any.
const ciCols = `c.id, k.key, c.class_id, c.name, c.team_id, c.environment, c.location, c.lifecycle, c.source, c.external_id,
	c.attributes, c.last_seen_at, c.missing_since, (SELECT sv.id FROM services sv WHERE sv.ci_id = c.id), c.version, c.created_at, c.updated_at`

const ciFrom = " FROM cis c JOIN ci_classes k ON k.id = c.class_id"

func scanCI(r db.Scanner) (CI, error) {
	var c CI
	var team, seen, missing, svc sql.NullInt64
	var ext sql.NullString
	var attrs string
	var created, updated int64
	if err := r.Scan(&c.ID, &c.Class, &c.ClassID, &c.Name, &team, &c.Environment, &c.Location, &c.Lifecycle, &c.Source, &ext,
		&attrs, &seen, &missing, &svc, &c.Version, &created, &updated); err != nil {
		return c, err
	}
	if team.Valid {
		c.TeamID = &team.Int64
	}
	if ext.Valid {
		c.ExternalID = &ext.String
	}
	if svc.Valid {
		c.ServiceID = &svc.Int64
	}
	c.LastSeenAt, c.MissingSince = db.NullMillis(seen), db.NullMillis(missing)
	if err := json.Unmarshal([]byte(attrs), &c.Attributes); err != nil {
		return c, fmt.Errorf("CI %d: attributes: %w", c.ID, err)
	}
	if c.Attributes == nil {
		c.Attributes = map[string]any{}
	}
	c.CreatedAt, c.UpdatedAt = clock.FromMillis(created), clock.FromMillis(updated)
	return c, nil
}

func (s *Store) ciByID(ctx context.Context, q db.Querier, id int64) (CI, error) {
	c, err := scanCI(q.QueryRowContext(ctx, "SELECT "+ciCols+ciFrom+" WHERE c.id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, errs.NotFound("CI %d not found", id)
	}
	return c, db.Classify(err)
}

func (s *Store) ciByExternal(ctx context.Context, q db.Querier, source, ext string) (CI, error) {
	c, err := scanCI(q.QueryRowContext(ctx, "SELECT "+ciCols+ciFrom+" WHERE c.source = $1 AND c.external_id = $2", source, ext))
	if errors.Is(err, sql.ErrNoRows) {
		return c, errs.NotFound("CI %s:%s not found", source, ext)
	}
	return c, db.Classify(err)
}

// GetCI returns one CI.
func (s *Store) GetCI(ctx context.Context, id int64) (CI, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return CI{}, err
	}
	return s.ciByID(ctx, s.DB.R, id)
}

// GetCITx returns one CI inside q, without an access check.
func (s *Store) GetCITx(ctx context.Context, q db.Querier, id int64) (CI, error) {
	return s.ciByID(ctx, q, id)
}

// FindCI finds a CI by a reference: its id, "source:external_id", or its
// exact name (case-insensitive). A name that several CIs share is a
// conflict; refer to one of them by id.
func (s *Store) FindCI(ctx context.Context, q db.Querier, ref string) (CI, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return CI{}, err
	}
	return s.findCI(ctx, q, ref)
}

func (s *Store) findCI(ctx context.Context, q db.Querier, ref string) (CI, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return CI{}, errs.NotFound("no CI named")
	}
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && id > 0 {
		c, err := s.ciByID(ctx, q, id)
		if !errs.Is(err, errs.KindNotFound) {
			return c, err
		}
	}
	if src, ext, ok := strings.Cut(ref, ":"); ok && ext != "" {
		c, err := s.ciByExternal(ctx, q, src, ext)
		if !errs.Is(err, errs.KindNotFound) {
			return c, err
		}
	}
	cs, err := db.All(ctx, q, scanCI, "SELECT "+ciCols+ciFrom+" WHERE c.name_key = $1 ORDER BY c.id LIMIT 2", strings.ToLower(ref))
	if err != nil {
		return CI{}, err
	}
	switch len(cs) {
	case 0:
		return CI{}, errs.NotFound("CI %q not found", ref)
	case 1:
		return cs[0], nil
	}
	return CI{}, errs.Conflict("several CIs are named %q; use an id", ref)
}

// UpsertOptions says how UpsertTx writes.
type UpsertOptions struct {
	// ID updates that CI (an API update) instead of matching by external id.
	ID int64
	// IfVersion, when not 0, must be the version of the CI being updated.
	IfVersion int64
	// DryRun validates and computes the diff but writes nothing.
	DryRun bool
}

// Diff is what an upsert did (or, in a dry run, would do).
type Diff struct {
	Action  string   `json:"action"` // create, update, unchanged
	Changes []Change `json:"changes"`
}

// Change is one changed field: "name", "class", "team_id", "environment",
// "location", "lifecycle", "source", "external_id", "attributes.<key>".
type Change struct {
	Field  string `json:"field"`
	Before any    `json:"before"`
	After  any    `json:"after"`
}

// Upsert actions.
const (
	ActionCreate    = "create"
	ActionUpdate    = "update"
	ActionUnchanged = "unchanged"
)

// prepared is a validated input: the class, the CI as it will be stored,
// and the CI it replaces (ID 0 when it is new).
type prepared struct {
	class Class
	ci    CI
	old   CI
	texts map[string]string // attribute key → indexed text
}

// Validate checks an input as UpsertTx would (matching an existing CI by
// source and external id), without writing, and names every invalid field.
func (s *Store) Validate(ctx context.Context, q db.Querier, in CIInput) error {
	_, err := s.prepare(ctx, q, in, UpsertOptions{})
	return err
}

// prepare validates in and resolves which CI it creates or updates.
func (s *Store) prepare(ctx context.Context, q db.Querier, in CIInput, opts UpsertOptions) (prepared, error) {
	var p prepared
	var fe errs.Fields
	in.Class = strings.TrimSpace(in.Class)
	in.Name = strings.TrimSpace(in.Name)
	in.Environment = strings.TrimSpace(in.Environment)
	in.Location = strings.TrimSpace(in.Location)
	in.Lifecycle = strings.TrimSpace(in.Lifecycle)
	in.Source = strings.TrimSpace(in.Source)
	if in.ExternalID != nil {
		e := strings.TrimSpace(*in.ExternalID)
		if e == "" {
			in.ExternalID = nil
		} else {
			in.ExternalID = &e
		}
	}

	// Which CI is this?
	switch {
	case opts.ID != 0:
		old, err := s.ciByID(ctx, q, opts.ID)
		if err != nil {
			return p, err
		}
		p.old = old
	case in.ExternalID != nil:
		old, err := s.ciByExternal(ctx, q, in.Source, *in.ExternalID)
		if err != nil && !errs.Is(err, errs.KindNotFound) {
			return p, err
		}
		p.old = old
	}
	if p.old.ID != 0 && opts.IfVersion != 0 && p.old.Version != opts.IfVersion {
		return p, errs.PreconditionFailed("CI %d has changed (version %d, not %d)", p.old.ID, p.old.Version, opts.IfVersion)
	}

	ci := CI{ID: p.old.ID, Name: in.Name, TeamID: in.TeamID, Environment: in.Environment, Location: in.Location,
		Lifecycle: in.Lifecycle, Source: in.Source, ExternalID: in.ExternalID, Attributes: map[string]any{},
		LastSeenAt: p.old.LastSeenAt, MissingSince: p.old.MissingSince, ServiceID: p.old.ServiceID, Version: p.old.Version,
		CreatedAt: p.old.CreatedAt, UpdatedAt: p.old.UpdatedAt}
	if in.Class == "" && p.old.ID != 0 {
		in.Class = p.old.Class
	}
	if ci.Environment == "" {
		ci.Environment = p.old.Environment
		if ci.Environment == "" {
			ci.Environment = Environments[0]
		}
	}
	if ci.Lifecycle == "" {
		ci.Lifecycle = p.old.Lifecycle
		if ci.Lifecycle == "" {
			ci.Lifecycle = LifecycleInUse
		}
	}

	// The plain fields.
	fe.Check(ci.Name == "", "name", "is required")
	fe.Check(utf8.RuneCountInString(ci.Name) > 200, "name", "must be at most 200 characters")
	fe.Check(!oneLine(ci.Name) || !utf8.ValidString(ci.Name), "name", "must be one line of valid text")
	fe.Check(!slices.Contains(Environments, ci.Environment), "environment", "must be one of "+strings.Join(Environments, ", "))
	fe.Check(utf8.RuneCountInString(ci.Location) > 200 || !oneLine(ci.Location) || !utf8.ValidString(ci.Location), "location",
		"must be one line of at most 200 characters")
	fe.Check(len(ci.Source) > 100 || !oneLine(ci.Source) || strings.Contains(ci.Source, ":"), "source",
		"must be at most 100 characters without control characters or ':'")
	if ci.ExternalID != nil {
		fe.Check(utf8.RuneCountInString(*ci.ExternalID) > 200 || !oneLine(*ci.ExternalID) || !utf8.ValidString(*ci.ExternalID),
			"external_id", "must be one line of at most 200 characters")
	}
	if _, ok := Lifecycles[ci.Lifecycle]; !ok {
		fe.Add("lifecycle", "must be one of planned, in_use, maintenance, retired, disposed")
	} else if p.old.ID == 0 {
		fe.Check(ci.Lifecycle == LifecycleDisposed, "lifecycle", "a new CI cannot be disposed")
	} else if ci.Lifecycle != p.old.Lifecycle && !slices.Contains(Lifecycles[p.old.Lifecycle], ci.Lifecycle) {
		allowed := strings.Join(Lifecycles[p.old.Lifecycle], ", ")
		if allowed == "" {
			allowed = "none"
		}
		fe.Add("lifecycle", fmt.Sprintf("cannot go from %s to %s (allowed: %s)", p.old.Lifecycle, ci.Lifecycle, allowed))
	}
	if ci.TeamID != nil {
		if *ci.TeamID == 0 {
			ci.TeamID = nil
		} else {
			var x int
			err := q.QueryRowContext(ctx, "SELECT 1 FROM teams WHERE id = $1", *ci.TeamID).Scan(&x)
			if errors.Is(err, sql.ErrNoRows) {
				fe.Add("team_id", "names no team")
			} else if err != nil {
				return p, db.Classify(err)
			}
		}
	}
	if ci.ExternalID != nil && (p.old.ID == 0 || p.old.ExternalID == nil || *p.old.ExternalID != *ci.ExternalID || p.old.Source != ci.Source) {
		var other int64
		err := q.QueryRowContext(ctx, "SELECT id FROM cis WHERE source = $1 AND external_id = $2", ci.Source, *ci.ExternalID).Scan(&other)
		if err == nil && other != p.old.ID {
			fe.Add("external_id", fmt.Sprintf("is taken by CI %d", other))
		} else if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return p, db.Classify(err)
		}
	}

	// The class and its attributes.
	if in.Class == "" {
		fe.Add("class", "is required")
		return p, fe.Err()
	}
	cls, err := s.ClassByKey(ctx, q, in.Class)
	if errs.Is(err, errs.KindNotFound) {
		fe.Add("class", "names no class: "+in.Class)
		return p, fe.Err()
	} else if err != nil {
		return p, err
	}
	if p.old.ServiceID != nil && cls.Key != ClassBusinessService {
		fe.Add("class", "is business_service for the CI of a service")
	}
	ci.Class, ci.ClassID = cls.Key, cls.ID
	p.texts = map[string]string{}
	for _, k := range sortedKeys(in.Attributes) {
		def, ok := cls.Attr(k)
		if !ok && p.old.ID != 0 && p.old.ClassID == cls.ID && attrsEqual(p.old.Attributes[k], in.Attributes[k]) {
			continue // the class no longer defines it: the value goes on this write
		}
		if !ok {
			fe.Add("attributes."+k, "is not an attribute of class "+cls.Key)
			continue
		}
		v := in.Attributes[k]
		if empty(v) {
			continue
		}
		nv, problem, err := s.normalizeAttr(ctx, q, def, v)
		if err != nil {
			return p, err
		}
		if problem != "" {
			fe.Add("attributes."+k, problem)
			continue
		}
		ci.Attributes[k] = nv
		p.texts[k] = attrText(nv)
	}
	for _, def := range cls.Attributes {
		_, has := ci.Attributes[def.Key]
		if def.Required && !has && !hasField(fe, "attributes."+def.Key) {
			fe.Add("attributes."+def.Key, "is required")
		}
		if def.Unique && has {
			var other int64
			err := q.QueryRowContext(ctx, `SELECT ci_id FROM ci_attribute_values WHERE key = $1 AND value = $2 AND class_id = $3 AND ci_id <> $4
				ORDER BY ci_id LIMIT 1`, def.Key, p.texts[def.Key], cls.ID, p.old.ID).Scan(&other)
			if err == nil {
				fe.Add("attributes."+def.Key, fmt.Sprintf("must be unique in class %s; CI %d has it", cls.Key, other))
			} else if !errors.Is(err, sql.ErrNoRows) {
				return p, db.Classify(err)
			}
		}
	}
	p.class, p.ci = cls, ci
	return p, fe.Err()
}

func hasField(fe errs.Fields, f string) bool {
	for _, x := range fe {
		if x.Field == f {
			return true
		}
	}
	return false
}

// diff lists what changes from old (ID 0: nothing) to ci.
func diff(old, ci CI) []Change {
	var out []Change
	add := func(field string, before, after any) {
		out = append(out, Change{Field: field, Before: before, After: after})
	}
	str := func(field, b, a string) {
		if b != a {
			var before any
			if old.ID != 0 {
				before = b
			}
			add(field, before, a)
		}
	}
	str("class", old.Class, ci.Class)
	str("name", old.Name, ci.Name)
	if !eqPtr(old.TeamID, ci.TeamID) {
		add("team_id", ptrVal(old.TeamID), ptrVal(ci.TeamID))
	}
	str("environment", old.Environment, ci.Environment)
	if old.Location != ci.Location {
		add("location", nilIfEmpty(old.Location), nilIfEmpty(ci.Location))
	}
	str("lifecycle", old.Lifecycle, ci.Lifecycle)
	if old.Source != ci.Source {
		add("source", nilIfEmpty(old.Source), nilIfEmpty(ci.Source))
	}
	if !eqPtr(old.ExternalID, ci.ExternalID) {
		add("external_id", ptrVal(old.ExternalID), ptrVal(ci.ExternalID))
	}
	keys := map[string]bool{}
	for k := range old.Attributes {
		keys[k] = true
	}
	for k := range ci.Attributes {
		keys[k] = true
	}
	for _, k := range sortedKeys(keys) {
		b, a := old.Attributes[k], ci.Attributes[k]
		if !attrsEqual(b, a) {
			add("attributes."+k, b, a)
		}
	}
	return out
}

func eqPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func ptrVal[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// graphFields are the fields the in-memory graph holds: a change to one of
// them bumps the CMDB revision.
var graphFields = map[string]bool{"class": true, "name": true, "team_id": true, "environment": true, "lifecycle": true, "external_id": true}

// UpsertTx validates in against its class and creates or updates the CI
// inside tx: it updates opts.ID when set, else the CI with the input's
// (source, external id) when there is one, else creates a CI. The input is
// the whole CI as it should be (attributes, team, location and external id
// are replaced), except that an empty class, environment or lifecycle keeps
// the current value. Every changed field gets a history row (the actor
// comes from ctx), the attribute index follows, and the CMDB revision is
// bumped when the graph changes. No audit entry is written: callers audit.
func (s *Store) UpsertTx(ctx context.Context, tx *sql.Tx, in CIInput, opts UpsertOptions) (CI, Diff, error) {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return CI{}, Diff{}, err
	}
	p, err := s.prepare(ctx, tx, in, opts)
	if err != nil {
		return CI{}, Diff{}, err
	}
	ci := p.ci
	d := Diff{Action: ActionUnchanged, Changes: diff(p.old, ci)}
	if d.Changes == nil {
		d.Changes = []Change{}
	}
	if p.old.ID == 0 {
		d.Action = ActionCreate
	} else if len(d.Changes) > 0 {
		d.Action = ActionUpdate
	}
	if opts.DryRun || d.Action == ActionUnchanged {
		if d.Action == ActionUnchanged {
			return p.old, d, nil
		}
		return ci, d, nil
	}
	t := s.Clock.Now().UnixMilli()
	var team, ext any
	if ci.TeamID != nil {
		team = *ci.TeamID
	}
	if ci.ExternalID != nil {
		ext = *ci.ExternalID
	}
	attrs := db.JSON(ci.Attributes)
	if d.Action == ActionCreate {
		if err := tx.QueryRowContext(ctx, `INSERT INTO cis (id, class_id, name, name_key, team_id, environment, location, lifecycle, source,
			external_id, attributes, created_at, updated_at) VALUES (`+s.newCIID()+`, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id`,
			ci.ClassID, ci.Name, strings.ToLower(ci.Name), team, ci.Environment, ci.Location, ci.Lifecycle, ci.Source, ext, attrs, t).Scan(&ci.ID); err != nil {
			return CI{}, Diff{}, externalConflict(err)
		}
		ci.Version, ci.CreatedAt = 1, clock.FromMillis(t)
	} else {
		if _, err := tx.ExecContext(ctx, `UPDATE cis SET class_id = $1, name = $2, name_key = $3, team_id = $4, environment = $5, location = $6,
			lifecycle = $7, source = $8, external_id = $9, attributes = $10, updated_at = $11, version = version + 1 WHERE id = $12`,
			ci.ClassID, ci.Name, strings.ToLower(ci.Name), team, ci.Environment, ci.Location, ci.Lifecycle, ci.Source, ext, attrs, t, ci.ID); err != nil {
			return CI{}, Diff{}, externalConflict(err)
		}
		ci.Version++
	}
	ci.UpdatedAt = clock.FromMillis(t)
	if err := s.writeHistory(ctx, tx, ci.ID, t, d.Changes); err != nil {
		return CI{}, Diff{}, err
	}
	if err := s.syncAttrValues(ctx, tx, p, ci.ID); err != nil {
		return CI{}, Diff{}, err
	}
	graph := d.Action == ActionCreate
	serviceChanged := false
	for _, c := range d.Changes {
		graph = graph || graphFields[c.Field]
		serviceChanged = serviceChanged || c.Field == "name" || c.Field == "team_id"
	}
	if serviceChanged && ci.ServiceID != nil {
		if err := s.syncService(ctx, tx, *ci.ServiceID, ci, t); err != nil {
			return CI{}, Diff{}, err
		}
	}
	if graph {
		if err := bump(ctx, tx); err != nil {
			return CI{}, Diff{}, err
		}
		s.graphChanged() // this process's searches see it at once
	}
	return ci, d, nil
}

// newCIID is the SQL of a new CI's id. SQLite gives a new row the largest
// id plus one, so a CI created after the newest one was deleted would take
// its id, and with it the deleted CI's history: the id is chosen past both.
// PostgreSQL's identity never hands out an id twice.
func (s *Store) newCIID() string {
	if s.DB.Dialect == db.SQLite {
		return "(SELECT max(coalesce((SELECT max(id) FROM cis), 0), coalesce((SELECT max(ci_id) FROM ci_history), 0)) + 1)"
	}
	return "DEFAULT"
}

func externalConflict(err error) error {
	if db.IsUniqueViolation(err) {
		return &errs.Error{Kind: errs.KindConflict, Message: "a CI with this source and external id exists",
			Fields: []errs.FieldError{{Field: "external_id", Detail: "is taken"}}}
	}
	if db.IsForeignKeyViolation(err) {
		return errs.Invalid("team_id", "names no team")
	}
	return err
}

// syncAttrValues makes the attribute index of a CI match p. The values of
// unique attributes are marked is_unique: a unique index backs the check of
// prepare against concurrent writers.
func (s *Store) syncAttrValues(ctx context.Context, tx *sql.Tx, p prepared, id int64) error {
	old := map[string]string{}
	if p.old.ID != 0 {
		for k, v := range p.old.Attributes {
			old[k] = attrText(v)
		}
	}
	classChanged := p.old.ID != 0 && p.old.ClassID != p.class.ID
	for k := range old {
		if _, ok := p.texts[k]; !ok {
			if _, err := tx.ExecContext(ctx, "DELETE FROM ci_attribute_values WHERE ci_id = $1 AND key = $2", id, k); err != nil {
				return err
			}
		}
	}
	for _, k := range sortedKeys(p.texts) {
		v := p.texts[k]
		if o, ok := old[k]; ok && o == v && !classChanged {
			continue
		}
		if _, ok := old[k]; ok {
			if _, err := tx.ExecContext(ctx, "DELETE FROM ci_attribute_values WHERE ci_id = $1 AND key = $2", id, k); err != nil {
				return err
			}
		}
		def, _ := p.class.Attr(k)
		if _, err := tx.ExecContext(ctx, "INSERT INTO ci_attribute_values (ci_id, class_id, key, value, name_key, is_unique) VALUES ($1, $2, $3, $4, $5, $6)",
			id, p.class.ID, k, v, strings.ToLower(p.ci.Name), def.Unique); err != nil {
			if db.IsUniqueViolation(err) {
				// Another transaction wrote the value since the check.
				return errs.Invalid("attributes."+k, fmt.Sprintf("must be unique in class %s; another CI has it", p.class.Key))
			}
			return err
		}
	}
	if p.old.ID != 0 && p.old.Name != p.ci.Name {
		if _, err := tx.ExecContext(ctx, "UPDATE ci_attribute_values SET name_key = $1 WHERE ci_id = $2", strings.ToLower(p.ci.Name), id); err != nil {
			return err
		}
	}
	return nil
}

// writeHistory records one history row per change, by the actor of ctx.
func (s *Store) writeHistory(ctx context.Context, tx *sql.Tx, ciID, at int64, changes []Change) error {
	a := reqctx.ActorFrom(ctx)
	for _, c := range changes {
		if err := insertHistory(ctx, tx, ciID, at, a, c); err != nil {
			return err
		}
	}
	return nil
}

func insertHistory(ctx context.Context, tx *sql.Tx, ciID, at int64, a reqctx.Actor, c Change) error {
	var before, after any
	if c.Before != nil {
		before = db.JSON(c.Before)
	}
	if c.After != nil {
		after = db.JSON(c.After)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO ci_history (ci_id, at, actor_type, actor_id, actor_name, field, before, after)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, ciID, at, a.Type, a.ID, a.Name, c.Field, before, after)
	return err
}

// syncService gives the service a CI is the CI's name and team: a service
// and its CI are one thing.
func (s *Store) syncService(ctx context.Context, tx *sql.Tx, serviceID int64, ci CI, t int64) error {
	var name string
	var team sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT name, team_id FROM services WHERE id = $1", serviceID).Scan(&name, &team); err != nil {
		return err
	}
	if name == ci.Name && eqPtr(db.IDPtr(team), ci.TeamID) {
		return nil
	}
	var tv any
	if ci.TeamID != nil {
		tv = *ci.TeamID
	}
	_, err := tx.ExecContext(ctx, "UPDATE services SET name = $1, team_id = $2, updated_at = $3, version = version + 1 WHERE id = $4",
		ci.Name, tv, t, serviceID)
	if db.IsUniqueViolation(err) {
		return &errs.Error{Kind: errs.KindConflict, Message: "a service with this name exists",
			Fields: []errs.FieldError{{Field: "name", Detail: "is already taken by a service"}}}
	}
	return err
}

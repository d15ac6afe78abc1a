package oncall

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/page"
)

// Policies stores escalation policies.
type Policies struct {
	DB    *db.DB
	Audit *audit.Log
	Clock clock.Clock
}

// NewPolicies returns the escalation policy store.
func NewPolicies(d *db.DB, a *audit.Log, c clock.Clock) *Policies {
	return &Policies{DB: d, Audit: a, Clock: c}
}

// Policy is an escalation policy: its levels are paged in order, each after
// the previous level's delay; the whole policy runs 1+Repeat times.
type Policy struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	TeamID      *int64    `json:"team_id"`
	Repeat      int       `json:"repeat"`
	Levels      []Level   `json:"levels"`
	Version     int64     `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// Services are the services that page through this policy, by name
	// (filled in by Get and List; Load leaves it empty).
	Services []ServiceRef `json:"services"`
}

// ServiceRef names a service that uses a policy.
type ServiceRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Level is one step of a policy: its targets are paged together, and the
// next level follows DelayMinutes later unless the incident is acknowledged.
type Level struct {
	DelayMinutes int      `json:"delay_minutes"`
	Targets      []Target `json:"targets"`
}

// Target kinds.
const (
	TargetUser     = "user"
	TargetSchedule = "schedule"
	TargetTeam     = "team"
)

// Target is who a level pages: a user, whoever is on call in a schedule, or
// every member of a team.
type Target struct {
	Kind string `json:"kind"`
	ID   int64  `json:"id"`
	Name string `json:"name,omitempty"` // filled in on reads
}

// DeletedName is the name Get and List give a target whose user, schedule
// or team no longer policyRefExists. Load leaves such targets out.
const DeletedName = "(deleted)"

// Limits of a policy.
const (
	MaxLevels          = 20
	MaxTargetsPerLevel = 10
	MaxRepeat          = 9
	MaxDelayMinutes    = 1440
)

// PolicyInput is an escalation policy as sent to create or replace one.
type PolicyInput struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// TeamID is the owning team; 0 for none.
	TeamID int64 `json:"team_id,omitempty"`
	// Repeat is how many extra times the whole policy runs after the first pass (0 to 9).
	Repeat int          `json:"repeat,omitempty"`
	Levels []LevelInput `json:"levels"`
}

// LevelInput is one level of a PolicyInput.
type LevelInput struct {
	DelayMinutes int           `json:"delay_minutes"`
	Targets      []TargetInput `json:"targets"`
}

// TargetInput names a target by id, or by name when the id is 0: a user by
// email (or name), a schedule or a team by name.
type TargetInput struct {
	Kind string `json:"kind"`
	ID   int64  `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// InputOf turns a policy back into the input that would make it.
func InputOf(p Policy) PolicyInput {
	in := PolicyInput{Name: p.Name, Description: p.Description, Repeat: p.Repeat, Levels: []LevelInput{}}
	if p.TeamID != nil {
		in.TeamID = *p.TeamID
	}
	for _, l := range p.Levels {
		li := LevelInput{DelayMinutes: l.DelayMinutes, Targets: []TargetInput{}}
		for _, t := range l.Targets {
			li.Targets = append(li.Targets, TargetInput{Kind: t.Kind, ID: t.ID})
		}
		in.Levels = append(in.Levels, li)
	}
	return in
}

// targetTable is the table each target kind points into.
var targetTable = map[string]string{TargetUser: "users", TargetSchedule: "schedules", TargetTeam: "teams"}

// validate checks what needs no database, naming every invalid field.
func (in *PolicyInput) validate(fe *errs.Fields) {
	in.Name, in.Description = strings.TrimSpace(in.Name), strings.TrimSpace(in.Description)
	fe.Check(in.Name == "", "name", "is required")
	fe.Check(len(in.Name) > 200, "name", "must be at most 200 characters")
	fe.Check(strings.ContainsFunc(in.Name, unicode.IsControl), "name", "must not contain control characters")
	fe.Text("name", in.Name)
	fe.Check(len(in.Description) > 4000, "description", "must be at most 4000 characters")
	fe.Text("description", in.Description)
	fe.Check(in.TeamID < 0, "team_id", "must be a team's id, or 0 for none")
	fe.Check(in.Repeat < 0 || in.Repeat > MaxRepeat, "repeat", fmt.Sprintf("must be from 0 to %d", MaxRepeat))
	switch {
	case len(in.Levels) == 0:
		fe.Add("levels", "at least one level is required")
	case len(in.Levels) > MaxLevels:
		fe.Add("levels", fmt.Sprintf("must have at most %d levels", MaxLevels))
	}
	for i := range in.Levels {
		l := &in.Levels[i]
		at := "levels[" + strconv.Itoa(i) + "]"
		fe.Check(l.DelayMinutes < 1 || l.DelayMinutes > MaxDelayMinutes, at+".delay_minutes",
			fmt.Sprintf("must be from 1 to %d minutes", MaxDelayMinutes))
		switch {
		case len(l.Targets) == 0:
			fe.Add(at+".targets", "at least one target is required")
		case len(l.Targets) > MaxTargetsPerLevel:
			fe.Add(at+".targets", fmt.Sprintf("must have at most %d targets", MaxTargetsPerLevel))
		}
		for j := range l.Targets {
			t := &l.Targets[j]
			tat := at + ".targets[" + strconv.Itoa(j) + "]"
			t.Kind, t.Name = strings.TrimSpace(t.Kind), strings.TrimSpace(t.Name)
			if _, ok := targetTable[t.Kind]; !ok {
				fe.Add(tat+".kind", "must be user, schedule or team")
			}
			switch {
			case t.ID < 0:
				fe.Add(tat+".id", "must be a positive id")
			case t.ID == 0 && t.Name == "":
				fe.Add(tat+".id", "is required (or a name)")
			case t.ID == 0:
				fe.Text(tat+".name", t.Name)
			}
		}
	}
}

// check validates the input and looks up its team and targets through q,
// turning target names into ids. Every problem is named by its field.
func (in *PolicyInput) check(ctx context.Context, q db.Querier) error {
	var fe errs.Fields
	in.validate(&fe)
	if in.TeamID > 0 {
		ok, err := policyRefExists(ctx, q, "teams", in.TeamID)
		if err != nil {
			return err
		}
		fe.Check(!ok, "team_id", "names no team")
	}
	for i := range in.Levels {
		seen := map[string]bool{}
		for j := range in.Levels[i].Targets {
			t := &in.Levels[i].Targets[j]
			table, ok := targetTable[t.Kind]
			if !ok || t.ID < 0 || (t.ID == 0 && t.Name == "") {
				continue
			}
			at := fmt.Sprintf("levels[%d].targets[%d]", i, j)
			if t.ID == 0 {
				id, problem, err := lookupTarget(ctx, q, t.Kind, t.Name)
				if err != nil {
					return err
				}
				if problem != "" {
					fe.Add(at+".name", problem)
					continue
				}
				t.ID = id
			} else {
				ok, err := policyRefExists(ctx, q, table, t.ID)
				if err != nil {
					return err
				}
				if !ok {
					fe.Add(at+".id", "names no "+t.Kind)
					continue
				}
			}
			key := t.Kind + ":" + strconv.FormatInt(t.ID, 10)
			fe.Check(seen[key], at+".id", "repeats a target of the same level")
			seen[key] = true
		}
	}
	return fe.Err()
}

func policyRefExists(ctx context.Context, q db.Querier, table string, id int64) (bool, error) {
	var x int
	err := q.QueryRowContext(ctx, "SELECT 1 FROM "+table+" WHERE id = $1", id).Scan(&x)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, db.Classify(err)
}

// lookupTarget finds a target by name: a user by email, else by name; a schedule
// or team by name, ignoring case. problem says why nothing (or too much)
// was found.
func lookupTarget(ctx context.Context, q db.Querier, kind, name string) (id int64, problem string, err error) {
	var queries []string
	switch kind {
	case TargetUser:
		queries = []string{"SELECT id FROM users WHERE LOWER(email) = LOWER($1) ORDER BY id LIMIT 2",
			"SELECT id FROM users WHERE name = $1 ORDER BY id LIMIT 2"}
	case TargetSchedule:
		queries = []string{"SELECT id FROM schedules WHERE name = $1 ORDER BY id LIMIT 2",
			"SELECT id FROM schedules WHERE LOWER(name) = LOWER($1) ORDER BY id LIMIT 2"}
	case TargetTeam:
		queries = []string{"SELECT id FROM teams WHERE name = $1 ORDER BY id LIMIT 2",
			"SELECT id FROM teams WHERE LOWER(name) = LOWER($1) ORDER BY id LIMIT 2"}
	}
	for _, qs := range queries {
		ids, err := db.All(ctx, q, func(r db.Scanner) (int64, error) {
			var id int64
			return id, r.Scan(&id)
		}, qs, name)
		if err != nil {
			return 0, "", err
		}
		switch len(ids) {
		case 1:
			return ids[0], "", nil
		case 2:
			return 0, fmt.Sprintf("%q names more than one %s; give its id", name, kind), nil
		}
	}
	return 0, fmt.Sprintf("names no %s: %q", kind, name), nil
}

const policyCols = "id, name, description, team_id, repeat_count, version, created_at, updated_at"

func scanPolicy(r db.Scanner) (Policy, error) {
	var p Policy
	var team sql.NullInt64
	var created, updated int64
	if err := r.Scan(&p.ID, &p.Name, &p.Description, &team, &p.Repeat, &p.Version, &created, &updated); err != nil {
		return p, err
	}
	if team.Valid {
		p.TeamID = &team.Int64
	}
	p.CreatedAt, p.UpdatedAt = clock.FromMillis(created), clock.FromMillis(updated)
	p.Levels = []Level{}
	return p, nil
}

// policyDetailsQuery reads the levels of the policies whose ids lie in [$1, $2],
// each with its targets and the names of what they point at (NULL for an
// object that is gone).
const policyDetailsQuery = `SELECT l.policy_id, l.level, l.delay_minutes, t.position, t.kind, t.target_id,
	CASE t.kind WHEN 'user' THEN u.name WHEN 'schedule' THEN s.name WHEN 'team' THEN tm.name END
	FROM escalation_levels l
	LEFT JOIN escalation_targets t ON t.policy_id = l.policy_id AND t.level = l.level
	LEFT JOIN users u ON t.kind = 'user' AND u.id = t.target_id
	LEFT JOIN schedules s ON t.kind = 'schedule' AND s.id = t.target_id
	LEFT JOIN teams tm ON t.kind = 'team' AND tm.id = t.target_id
	WHERE l.policy_id BETWEEN $1 AND $2
	ORDER BY l.policy_id, l.level, t.position`

// fillPolicies reads the levels, targets and (with services) the services of ps,
// in one query each over the range of their ids. keepDeleted keeps targets
// whose object is gone, named DeletedName; otherwise they are left out.
func fillPolicies(ctx context.Context, q db.Querier, ps []Policy, keepDeleted, services bool) error {
	if len(ps) == 0 {
		return nil
	}
	from, to := ps[0].ID, ps[0].ID
	index := map[int64]*Policy{}
	for i := range ps {
		from, to = min(from, ps[i].ID), max(to, ps[i].ID)
		index[ps[i].ID] = &ps[i]
		ps[i].Levels = []Level{}
		if services {
			ps[i].Services = []ServiceRef{}
		}
	}
	rows, err := q.QueryContext(ctx, policyDetailsQuery, from, to)
	if err != nil {
		return db.Classify(err)
	}
	defer rows.Close()
	lastLevel := map[int64]int{}
	for rows.Next() {
		var pid int64
		var level, delay int
		var pos sql.NullInt64
		var kind, name sql.NullString
		var tid sql.NullInt64
		if err := rows.Scan(&pid, &level, &delay, &pos, &kind, &tid, &name); err != nil {
			return db.Classify(err)
		}
		p := index[pid]
		if p == nil {
			continue
		}
		if n, ok := lastLevel[pid]; !ok || n != level {
			p.Levels = append(p.Levels, Level{DelayMinutes: delay, Targets: []Target{}})
			lastLevel[pid] = level
		}
		if !kind.Valid {
			continue
		}
		t := Target{Kind: kind.String, ID: tid.Int64, Name: name.String}
		if !name.Valid {
			if !keepDeleted {
				continue
			}
			t.Name = DeletedName
		}
		l := &p.Levels[len(p.Levels)-1]
		l.Targets = append(l.Targets, t)
	}
	if err := rows.Err(); err != nil {
		return db.Classify(err)
	}
	rows.Close()
	if !services {
		return nil
	}
	srows, err := q.QueryContext(ctx, `SELECT escalation_policy_id, id, name FROM services
		WHERE escalation_policy_id BETWEEN $1 AND $2 ORDER BY name, id`, from, to)
	if err != nil {
		return db.Classify(err)
	}
	defer srows.Close()
	for srows.Next() {
		var pid int64
		var s ServiceRef
		if err := srows.Scan(&pid, &s.ID, &s.Name); err != nil {
			return db.Classify(err)
		}
		if p := index[pid]; p != nil {
			p.Services = append(p.Services, s)
		}
	}
	return db.Classify(srows.Err())
}

func getPolicy(ctx context.Context, q db.Querier, id int64, keepDeleted, services bool) (Policy, error) {
	p, err := scanPolicy(q.QueryRowContext(ctx, "SELECT "+policyCols+" FROM escalation_policies WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, errs.NotFound("escalation policy %d not found", id)
	}
	if err != nil {
		return p, db.Classify(err)
	}
	ps := []Policy{p}
	if err := fillPolicies(ctx, q, ps, keepDeleted, services); err != nil {
		return Policy{}, err
	}
	return ps[0], nil
}

// Load reads a policy through q, without access checks (for the engine).
// Targets whose user, schedule or team has been deleted are left out, so
// a level may come back without targets: it pages nobody.
func (p *Policies) Load(ctx context.Context, q db.Querier, id int64) (Policy, error) {
	return getPolicy(ctx, q, id, false, false)
}

// OfService returns the escalation policy attached to a service, if any.
// A service that does not exist (any more) has none.
func (p *Policies) OfService(ctx context.Context, q db.Querier, serviceID int64) (int64, bool, error) {
	var id sql.NullInt64
	err := q.QueryRowContext(ctx, "SELECT escalation_policy_id FROM services WHERE id = $1", serviceID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, db.Classify(err)
	}
	return id.Int64, id.Valid, nil
}

// Get returns one policy; targets whose object is gone are named DeletedName.
func (p *Policies) Get(ctx context.Context, id int64) (Policy, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return Policy{}, err
	}
	return getPolicy(ctx, p.DB.R, id, true, true)
}

// PolicyFilter selects policies.
type PolicyFilter struct {
	TeamID int64
	Query  string // part of the name, ignoring case
}

// List lists policies by id, with their levels and the services using them.
func (p *Policies) List(ctx context.Context, f PolicyFilter, pr page.Request) (page.List[Policy], error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return page.List[Policy]{}, err
	}
	q := "SELECT " + policyCols + " FROM escalation_policies WHERE id > $1"
	args := []any{pr.After}
	if f.TeamID != 0 {
		args = append(args, f.TeamID)
		q += " AND team_id = $" + strconv.Itoa(len(args))
	}
	if f.Query != "" {
		args = append(args, "%"+db.LikeEscape(strings.ToLower(f.Query))+"%")
		q += " AND LOWER(name) LIKE $" + strconv.Itoa(len(args)) + ` ESCAPE '\'`
	}
	args = append(args, pr.Limit+1)
	q += " ORDER BY id LIMIT $" + strconv.Itoa(len(args))
	out, err := db.All(ctx, p.DB.R, scanPolicy, q, args...)
	if err != nil {
		return page.List[Policy]{}, err
	}
	l := page.Cut(out, pr, func(p Policy) int64 { return p.ID })
	return l, fillPolicies(ctx, p.DB.R, l.Items, true, true)
}

// Names lists every policy's id and name, by name: for choosing one.
func (p *Policies) Names(ctx context.Context) ([]ServiceRef, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return nil, err
	}
	return db.All(ctx, p.DB.R, scanPolicyRef, "SELECT id, name FROM escalation_policies ORDER BY name, id")
}

func scanPolicyRef(r db.Scanner) (ServiceRef, error) {
	var s ServiceRef
	return s, r.Scan(&s.ID, &s.Name)
}

// TargetOption is something a level may page, for the editor's selects.
type TargetOption struct {
	ID   int64
	Name string
}

// TargetOptions are every user, schedule and team, by name.
type TargetOptions struct {
	Users, Schedules, Teams []TargetOption
}

// TargetChoices lists what a level may page: users (by name, with their
// email; disabled ones marked), schedules and teams.
func (p *Policies) TargetChoices(ctx context.Context) (TargetOptions, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return TargetOptions{}, err
	}
	scan := func(r db.Scanner) (TargetOption, error) {
		var c TargetOption
		return c, r.Scan(&c.ID, &c.Name)
	}
	var c TargetOptions
	var err error
	if c.Users, err = db.All(ctx, p.DB.R, func(r db.Scanner) (TargetOption, error) {
		var c TargetOption
		var email string
		var disabled bool
		err := r.Scan(&c.ID, &c.Name, &email, &disabled)
		c.Name += " <" + email + ">"
		if disabled {
			c.Name += " (disabled)"
		}
		return c, err
	}, "SELECT id, name, email, disabled FROM users ORDER BY name, id"); err != nil {
		return c, err
	}
	if c.Schedules, err = db.All(ctx, p.DB.R, scan, "SELECT id, name FROM schedules ORDER BY name, id"); err != nil {
		return c, err
	}
	c.Teams, err = db.All(ctx, p.DB.R, scan, "SELECT id, name FROM teams ORDER BY name, id")
	return c, err
}

// policyLevelsText writes levels for the audit trail: "5m: user 3, schedule 1 → 10m: team 2".
func policyLevelsText(ls []LevelInput) string {
	var parts []string
	for _, l := range ls {
		var ts []string
		for _, t := range l.Targets {
			ts = append(ts, t.Kind+" "+strconv.FormatInt(t.ID, 10))
		}
		parts = append(parts, strconv.Itoa(l.DelayMinutes)+"m: "+strings.Join(ts, ", "))
	}
	return strings.Join(parts, " → ")
}

func policyNameTaken(err error) error {
	if db.IsUniqueViolation(err) {
		return &errs.Error{Kind: errs.KindConflict, Message: "an escalation policy with this name policyRefExists",
			Fields: []errs.FieldError{{Field: "name", Detail: "is already taken"}}}
	}
	if db.IsForeignKeyViolation(err) {
		return errs.Invalid("team_id", "names no team")
	}
	return err
}

func policyTeamArg(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// writePolicyLevels stores the levels of a policy, replacing any it had.
func writePolicyLevels(ctx context.Context, tx *sql.Tx, id int64, ls []LevelInput) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM escalation_targets WHERE policy_id = $1", id); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM escalation_levels WHERE policy_id = $1", id); err != nil {
		return err
	}
	for i, l := range ls {
		if _, err := tx.ExecContext(ctx, "INSERT INTO escalation_levels (policy_id, level, delay_minutes) VALUES ($1, $2, $3)",
			id, i, l.DelayMinutes); err != nil {
			return err
		}
		for j, t := range l.Targets {
			if _, err := tx.ExecContext(ctx, `INSERT INTO escalation_targets (policy_id, level, position, kind, target_id)
				VALUES ($1, $2, $3, $4, $5)`, id, i, j, t.Kind, t.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// Create adds a policy. Managers and admins may.
func (p *Policies) Create(ctx context.Context, in PolicyInput) (Policy, error) {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return Policy{}, err
	}
	var out Policy
	err := p.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := in.check(ctx, tx); err != nil {
			return err
		}
		now := p.Clock.Now().UnixMilli()
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO escalation_policies (name, description, team_id, repeat_count, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $5) RETURNING id`, in.Name, in.Description, policyTeamArg(in.TeamID), in.Repeat, now).Scan(&id)
		if err != nil {
			return policyNameTaken(err)
		}
		if err := writePolicyLevels(ctx, tx, id, in.Levels); err != nil {
			return err
		}
		if out, err = getPolicy(ctx, tx, id, true, true); err != nil {
			return err
		}
		return p.Audit.Record(ctx, tx, audit.Event{Action: "escalation_policy.create", ObjectType: "escalation_policy", ObjectID: id,
			Summary: "created escalation policy " + in.Name,
			Changes: map[string]any{"name": in.Name, "team_id": out.TeamID, "repeat": in.Repeat, "levels": policyLevelsText(in.Levels)}})
	})
	return out, err
}

// Replace changes a whole policy; ifVersion > 0 refuses a stale write.
func (p *Policies) Replace(ctx context.Context, id int64, in PolicyInput, ifVersion int64) (Policy, error) {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return Policy{}, err
	}
	var out Policy
	err := p.DB.Tx(ctx, func(tx *sql.Tx) error {
		old, err := getPolicy(ctx, tx, id, true, false)
		if err != nil {
			return err
		}
		if ifVersion > 0 && old.Version != ifVersion {
			return errs.PreconditionFailed("escalation policy %d has changed (version %d, not %d)", id, old.Version, ifVersion)
		}
		if err := in.check(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE escalation_policies SET name = $1, description = $2, team_id = $3, repeat_count = $4,
			updated_at = $5, version = version + 1 WHERE id = $6`, in.Name, in.Description, policyTeamArg(in.TeamID), in.Repeat,
			p.Clock.Now().UnixMilli(), id); err != nil {
			return policyNameTaken(err)
		}
		if err := writePolicyLevels(ctx, tx, id, in.Levels); err != nil {
			return err
		}
		if out, err = getPolicy(ctx, tx, id, true, true); err != nil {
			return err
		}
		was := InputOf(old)
		return p.Audit.Record(ctx, tx, audit.Event{Action: "escalation_policy.update", ObjectType: "escalation_policy", ObjectID: id,
			Summary: "changed escalation policy " + in.Name,
			Changes: audit.Diff("name", old.Name, in.Name, "description", old.Description, in.Description,
				"team_id", was.TeamID, in.TeamID, "repeat", old.Repeat, in.Repeat, "levels", policyLevelsText(was.Levels), policyLevelsText(in.Levels))})
	})
	return out, err
}

// Delete removes a policy. A policy that services page through is refused
// with a conflict that names them.
func (p *Policies) Delete(ctx context.Context, id int64) error {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return err
	}
	return p.DB.Tx(ctx, func(tx *sql.Tx) error {
		old, err := getPolicy(ctx, tx, id, true, true)
		if err != nil {
			return err
		}
		if len(old.Services) > 0 {
			names := make([]string, len(old.Services))
			for i, s := range old.Services {
				names[i] = s.Name
			}
			return errs.Conflict("escalation policy %s is used by the service(s) %s: give them another policy first",
				old.Name, strings.Join(names, ", "))
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM escalation_targets WHERE policy_id = $1", id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM escalation_levels WHERE policy_id = $1", id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM escalation_policies WHERE id = $1", id); err != nil {
			if db.IsForeignKeyViolation(err) {
				return errs.Conflict("escalation policy %s is used by a service: give it another policy first", old.Name)
			}
			return err
		}
		return p.Audit.Record(ctx, tx, audit.Event{Action: "escalation_policy.delete", ObjectType: "escalation_policy", ObjectID: id,
			Summary: "deleted escalation policy " + old.Name, Changes: map[string]any{"name": old.Name}})
	})
}

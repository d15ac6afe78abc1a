package oncall

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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

// Schedules stores on-call schedules and answers who is on call.
type Schedules struct {
	DB    *db.DB
	Audit *audit.Log
	Clock clock.Clock
}

// NewSchedules returns the schedule store.
func NewSchedules(d *db.DB, a *audit.Log, c clock.Clock) *Schedules {
	return &Schedules{DB: d, Audit: a, Clock: c}
}

// Schedule is an on-call schedule: layers of rotations in one time zone.
// Later layers are higher: wherever a higher layer has someone on call it
// wins, and lower layers show through its gaps. Overrides win over all
// layers.
type Schedule struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	TimeZone    string    `json:"time_zone"`
	TeamID      *int64    `json:"team_id"`
	Layers      []Layer   `json:"layers"`
	Version     int64     `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Layer is one rotation: its participants take turns, one shift each, from
// its start (a local date-time in the schedule's zone, also the hand-off
// time) until its end, if any.
type Layer struct {
	ID           int64         `json:"id"`
	Name         string        `json:"name"`
	Start        string        `json:"start"`
	End          *string       `json:"end"`
	ShiftUnit    string        `json:"shift_unit"`
	ShiftLength  int           `json:"shift_length"`
	Participants []int64       `json:"participants"`
	Restrictions []Restriction `json:"restrictions"`
}

// ScheduleInput is a schedule as sent to create or replace one; its layers
// replace all the schedule's layers.
type ScheduleInput struct {
	Name        string       `json:"name"`
	Description string       `json:"description,omitempty"`
	TimeZone    string       `json:"time_zone"`
	TeamID      *int64       `json:"team_id,omitempty"`
	Layers      []LayerInput `json:"layers"`
}

// LayerInput is a layer as sent; shift_length defaults to 1, name to "Layer N".
type LayerInput struct {
	Name         string        `json:"name,omitempty"`
	Start        string        `json:"start"`
	End          *string       `json:"end,omitempty"`
	ShiftUnit    string        `json:"shift_unit"`
	ShiftLength  int           `json:"shift_length,omitempty"`
	Participants []int64       `json:"participants"`
	Restrictions []Restriction `json:"restrictions,omitempty"`
}

// Override puts a user on call in a schedule for [start, end), over every
// layer. ReplacesUserID records whose turn it covers.
type Override struct {
	ID             int64     `json:"id"`
	ScheduleID     int64     `json:"schedule_id"`
	UserID         int64     `json:"user_id"`
	UserName       string    `json:"user_name"`
	ReplacesUserID *int64    `json:"replaces_user_id"`
	Start          time.Time `json:"start"`
	End            time.Time `json:"end"`
	Note           string    `json:"note"`
	CreatedBy      string    `json:"created_by"`
	CreatedAt      time.Time `json:"created_at"`
}

// OverrideInput is an override as sent to create one.
type OverrideInput struct {
	UserID         int64     `json:"user_id"`
	ReplacesUserID *int64    `json:"replaces_user_id,omitempty"`
	Start          time.Time `json:"start"`
	End            time.Time `json:"end"`
	Note           string    `json:"note,omitempty"`
}

// Shift is a stretch of time one user is on call: from a layer or from an
// override.
type Shift struct {
	UserID     int64     `json:"user_id"`
	UserName   string    `json:"user_name"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	LayerID    *int64    `json:"layer_id"`
	Layer      string    `json:"layer"`
	OverrideID *int64    `json:"override_id"`
}

// LayerShifts are one layer's own shifts, before stacking.
type LayerShifts struct {
	LayerID int64   `json:"layer_id"`
	Name    string  `json:"name"`
	Shifts  []Shift `json:"shifts"`
}

// Timeline is a schedule computed over [from, to): the final shifts (who is
// really on call), each layer's shifts, and the overrides in the range.
type Timeline struct {
	ScheduleID int64         `json:"schedule_id"`
	TimeZone   string        `json:"time_zone"`
	From       time.Time     `json:"from"`
	To         time.Time     `json:"to"`
	Final      []Shift       `json:"final"`
	Layers     []LayerShifts `json:"layers"`
	Overrides  []Override    `json:"overrides"`
}

// OnCall says who is on call in one schedule at a moment, and until when.
type OnCall struct {
	ScheduleID   int64        `json:"schedule_id"`
	ScheduleName string       `json:"schedule_name"`
	TimeZone     string       `json:"time_zone"`
	At           time.Time    `json:"at"`
	Users        []OnCallUser `json:"users"`
}

// OnCallUser is one user on call; Until is null when the shift lasts past
// the look-ahead (UntilHorizon).
type OnCallUser struct {
	UserID     int64      `json:"user_id"`
	Name       string     `json:"name"`
	Email      string     `json:"email"`
	Until      *time.Time `json:"until"`
	OverrideID *int64     `json:"override_id"`
}

// UserShift is one of a user's shifts in some schedule.
type UserShift struct {
	ScheduleID   int64     `json:"schedule_id"`
	ScheduleName string    `json:"schedule_name"`
	TimeZone     string    `json:"time_zone"`
	Start        time.Time `json:"start"`
	End          time.Time `json:"end"`
	Layer        string    `json:"layer"`
	OverrideID   *int64    `json:"override_id"`
}

// MaxRange caps the range of a computed timeline.
const MaxRange = 90 * 24 * time.Hour

// UntilHorizon is how far ahead "until when" looks.
const UntilHorizon = 35 * 24 * time.Hour

const scheduleCols = "id, name, description, time_zone, team_id, created_at, updated_at, version"

func scanSchedule(r db.Scanner) (Schedule, error) {
	var s Schedule
	var team sql.NullInt64
	var created, updated int64
	err := r.Scan(&s.ID, &s.Name, &s.Description, &s.TimeZone, &team, &created, &updated, &s.Version)
	if team.Valid {
		s.TeamID = &team.Int64
	}
	s.CreatedAt, s.UpdatedAt = clock.FromMillis(created), clock.FromMillis(updated)
	s.Layers = []Layer{}
	return s, err
}

// loadLayers fills in the layers of the given schedules (by id).
func loadLayers(ctx context.Context, q db.Querier, byID map[int64]*Schedule, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	in := idList(ids)
	rows, err := q.QueryContext(ctx, `SELECT id, schedule_id, name, start_local, end_local, shift_unit, shift_length, restrictions
		FROM schedule_layers WHERE schedule_id IN (`+in+`) ORDER BY schedule_id, position, id`)
	if err != nil {
		return db.Classify(err)
	}
	layerOf := map[int64]*Schedule{}
	for rows.Next() {
		var l Layer
		var sid int64
		var end sql.NullString
		var restr string
		if err := rows.Scan(&l.ID, &sid, &l.Name, &l.Start, &end, &l.ShiftUnit, &l.ShiftLength, &restr); err != nil {
			rows.Close()
			return db.Classify(err)
		}
		if end.Valid {
			l.End = &end.String
		}
		_ = json.Unmarshal([]byte(restr), &l.Restrictions)
		if l.Restrictions == nil {
			l.Restrictions = []Restriction{}
		}
		l.Participants = []int64{}
		s := byID[sid]
		s.Layers = append(s.Layers, l)
		layerOf[l.ID] = s
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return db.Classify(err)
	}
	if len(layerOf) == 0 {
		return nil
	}
	rows, err = q.QueryContext(ctx, `SELECT m.layer_id, m.user_id FROM schedule_layer_members m
		JOIN schedule_layers l ON l.id = m.layer_id WHERE l.schedule_id IN (`+in+`) ORDER BY m.layer_id, m.position`)
	if err != nil {
		return db.Classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var lid, uid int64
		if err := rows.Scan(&lid, &uid); err != nil {
			return db.Classify(err)
		}
		s := layerOf[lid]
		for i := range s.Layers {
			if s.Layers[i].ID == lid {
				s.Layers[i].Participants = append(s.Layers[i].Participants, uid)
			}
		}
	}
	return db.Classify(rows.Err())
}

// idList writes ids as a SQL list; they are numbers, never text.
func idList(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ",")
}

// Load reads a schedule with its layers through q, without access checks
// (for the escalation engine and the feeds).
func (s *Schedules) Load(ctx context.Context, q db.Querier, id int64) (Schedule, error) {
	sc, err := scanSchedule(q.QueryRowContext(ctx, "SELECT "+scheduleCols+" FROM schedules WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return sc, errs.NotFound("schedule %d not found", id)
	}
	if err != nil {
		return sc, db.Classify(err)
	}
	err = loadLayers(ctx, q, map[int64]*Schedule{id: &sc}, []int64{id})
	return sc, err
}

// loadMany reads schedules (all of them when ids is nil), by name.
func loadMany(ctx context.Context, q db.Querier, query string, args ...any) ([]Schedule, error) {
	list, err := db.All(ctx, q, scanSchedule, query, args...)
	if err != nil {
		return nil, err
	}
	byID := map[int64]*Schedule{}
	ids := make([]int64, 0, len(list))
	for i := range list {
		byID[list[i].ID] = &list[i]
		ids = append(ids, list[i].ID)
	}
	if err := loadLayers(ctx, q, byID, ids); err != nil {
		return nil, err
	}
	if list == nil {
		list = []Schedule{}
	}
	return list, nil
}

// Filter selects schedules.
type Filter struct {
	Query  string // part of the name, any case
	TeamID int64
}

// List lists schedules by id, with their layers.
func (s *Schedules) List(ctx context.Context, f Filter, p page.Request) (page.List[Schedule], error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return page.List[Schedule]{}, err
	}
	q := "SELECT " + scheduleCols + " FROM schedules WHERE id > $1"
	args := []any{p.After}
	if f.Query != "" {
		args = append(args, "%"+db.LikeEscape(strings.ToLower(f.Query))+"%")
		q += ` AND LOWER(name) LIKE $` + strconv.Itoa(len(args)) + ` ESCAPE '\'`
	}
	if f.TeamID != 0 {
		args = append(args, f.TeamID)
		q += " AND team_id = $" + strconv.Itoa(len(args))
	}
	args = append(args, p.Limit+1)
	q += " ORDER BY id LIMIT $" + strconv.Itoa(len(args))
	list, err := loadMany(ctx, s.DB.R, q, args...)
	if err != nil {
		return page.List[Schedule]{}, err
	}
	return page.Cut(list, p, func(sc Schedule) int64 { return sc.ID }), nil
}

// Get returns one schedule.
func (s *Schedules) Get(ctx context.Context, id int64) (Schedule, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return Schedule{}, err
	}
	return s.Load(ctx, s.DB.R, id)
}

// FindByName returns the schedule called name (any case when no exact match).
func (s *Schedules) FindByName(ctx context.Context, name string) (Schedule, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return Schedule{}, err
	}
	var id int64
	err := s.DB.R.QueryRowContext(ctx, "SELECT id FROM schedules WHERE name = $1", name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		err = s.DB.R.QueryRowContext(ctx, "SELECT id FROM schedules WHERE LOWER(name) = LOWER($1) ORDER BY id LIMIT 1", name).Scan(&id)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return Schedule{}, errs.NotFound("no schedule is called %q", name)
	}
	if err != nil {
		return Schedule{}, db.Classify(err)
	}
	return s.Load(ctx, s.DB.R, id)
}

// build turns an input into a schedule and validates it, naming each invalid
// field; user and team ids are checked against the database through q.
func build(ctx context.Context, q db.Querier, in ScheduleInput) (Schedule, error) {
	sc := Schedule{Name: strings.TrimSpace(in.Name), Description: strings.TrimSpace(in.Description),
		TimeZone: strings.TrimSpace(in.TimeZone), Layers: []Layer{}}
	if in.TeamID != nil && *in.TeamID != 0 {
		sc.TeamID = in.TeamID
	}
	var fe errs.Fields
	fe.Check(sc.Name == "", "name", "is required")
	fe.Check(len(sc.Name) > 200, "name", "must be at most 200 characters")
	fe.Check(strings.ContainsFunc(sc.Name, unicode.IsControl), "name", "must not contain control characters")
	fe.Text("name", sc.Name)
	fe.Check(len(sc.Description) > 4000, "description", "must be at most 4000 characters")
	fe.Text("description", sc.Description)
	if sc.TimeZone == "" {
		fe.Add("time_zone", "is required: an IANA time zone such as Europe/Berlin")
	} else if _, err := time.LoadLocation(sc.TimeZone); err != nil || sc.TimeZone == "Local" {
		fe.Add("time_zone", "is not a known IANA time zone such as Europe/Berlin or UTC")
	}
	fe.Check(len(in.Layers) > 20, "layers", "must be at most 20")
	var users []int64
	for i, li := range in.Layers {
		l := Layer{Name: strings.TrimSpace(li.Name), Start: strings.TrimSpace(li.Start), ShiftUnit: strings.ToLower(strings.TrimSpace(li.ShiftUnit)),
			ShiftLength: li.ShiftLength, Participants: li.Participants, Restrictions: li.Restrictions}
		if l.Name == "" {
			l.Name = "Layer " + strconv.Itoa(i+1)
		}
		if l.ShiftLength == 0 {
			l.ShiftLength = 1
		}
		if l.Participants == nil {
			l.Participants = []int64{}
		}
		if l.Restrictions == nil {
			l.Restrictions = []Restriction{}
		}
		for j := range l.Restrictions {
			for k, d := range l.Restrictions[j].Days {
				l.Restrictions[j].Days[k] = strings.ToLower(strings.TrimSpace(d))
			}
			if l.Restrictions[j].Days == nil {
				l.Restrictions[j].Days = []string{}
			}
		}
		if li.End != nil && strings.TrimSpace(*li.End) != "" {
			e := strings.TrimSpace(*li.End)
			l.End = &e
		}
		validateLayer(l, "layers["+strconv.Itoa(i)+"]", &fe)
		// Store start and end in one canonical form.
		if st, ok := parseLocal(l.Start); ok {
			l.Start = st.String()
		}
		if l.End != nil {
			if en, ok := parseLocal(*l.End); ok {
				e := en.String()
				l.End = &e
			}
		}
		users = append(users, l.Participants...)
		sc.Layers = append(sc.Layers, l)
	}
	if err := fe.Err(); err != nil {
		return sc, err
	}
	known, err := existingUsers(ctx, q, users)
	if err != nil {
		return sc, err
	}
	for i, l := range sc.Layers {
		for j, u := range l.Participants {
			fe.Check(!known[u], fmt.Sprintf("layers[%d].participants[%d]", i, j), "names no user: "+strconv.FormatInt(u, 10))
		}
	}
	if sc.TeamID != nil {
		var one int
		err := q.QueryRowContext(ctx, "SELECT 1 FROM teams WHERE id = $1", *sc.TeamID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			fe.Add("team_id", "names no team")
		} else if err != nil {
			return sc, db.Classify(err)
		}
	}
	return sc, fe.Err()
}

// existingUsers says which of ids are users.
func existingUsers(ctx context.Context, q db.Querier, ids []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	ids = uniq(ids)
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.QueryContext(ctx, "SELECT id FROM users WHERE id IN ("+idList(ids)+")")
	if err != nil {
		return nil, db.Classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, db.Classify(err)
		}
		out[id] = true
	}
	return out, db.Classify(rows.Err())
}

func uniq(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// Input returns the input that recreates s (for edit forms and exports).
func (s Schedule) Input() ScheduleInput {
	in := ScheduleInput{Name: s.Name, Description: s.Description, TimeZone: s.TimeZone, TeamID: s.TeamID, Layers: []LayerInput{}}
	for _, l := range s.Layers {
		in.Layers = append(in.Layers, LayerInput{Name: l.Name, Start: l.Start, End: l.End, ShiftUnit: l.ShiftUnit,
			ShiftLength: l.ShiftLength, Participants: slices.Clone(l.Participants), Restrictions: l.Restrictions})
	}
	return in
}

func nameTaken(err error) error {
	if db.IsUniqueViolation(err) {
		return &errs.Error{Kind: errs.KindConflict, Message: "a schedule with this name exists",
			Fields: []errs.FieldError{{Field: "name", Detail: "is already taken"}}}
	}
	return err
}

// writeLayers replaces the layers of schedule id with sc's.
func writeLayers(ctx context.Context, tx *sql.Tx, id int64, sc *Schedule) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM schedule_layers WHERE schedule_id = $1", id); err != nil {
		return err
	}
	for i := range sc.Layers {
		l := &sc.Layers[i]
		var end any
		if l.End != nil {
			end = *l.End
		}
		restr, _ := json.Marshal(l.Restrictions)
		err := tx.QueryRowContext(ctx, `INSERT INTO schedule_layers (schedule_id, position, name, start_local, end_local,
			shift_unit, shift_length, restrictions) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			id, i, l.Name, l.Start, end, l.ShiftUnit, l.ShiftLength, string(restr)).Scan(&l.ID)
		if err != nil {
			return err
		}
		for j, u := range l.Participants {
			if _, err := tx.ExecContext(ctx, "INSERT INTO schedule_layer_members (layer_id, position, user_id) VALUES ($1, $2, $3)",
				l.ID, j, u); err != nil {
				return err
			}
		}
	}
	return nil
}

func layersText(ls []Layer) string {
	var parts []string
	for _, l := range ls {
		p := fmt.Sprintf("%s: %d %s from %s, users %v", l.Name, l.ShiftLength, l.ShiftUnit, l.Start, l.Participants)
		if l.End != nil {
			p += " until " + *l.End
		}
		if len(l.Restrictions) > 0 {
			b, _ := json.Marshal(l.Restrictions)
			p += " only " + string(b)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

// Create adds a schedule. Managers and admins may.
func (s *Schedules) Create(ctx context.Context, in ScheduleInput) (Schedule, error) {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return Schedule{}, err
	}
	var out Schedule
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		sc, err := build(ctx, tx, in)
		if err != nil {
			return err
		}
		now := s.Clock.Now().UnixMilli()
		out, err = scanSchedule(tx.QueryRowContext(ctx, `INSERT INTO schedules (name, description, time_zone, team_id, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $5) RETURNING `+scheduleCols, sc.Name, sc.Description, sc.TimeZone, sc.TeamID, now))
		if err != nil {
			return nameTaken(err)
		}
		if err := writeLayers(ctx, tx, out.ID, &sc); err != nil {
			return err
		}
		out.Layers = sc.Layers
		return s.Audit.Record(ctx, tx, audit.Event{Action: "schedule.create", ObjectType: "schedule", ObjectID: out.ID,
			Summary: "created schedule " + out.Name, Changes: map[string]any{"name": out.Name, "time_zone": out.TimeZone,
				"team_id": out.TeamID, "layers": layersText(out.Layers)}})
	})
	return out, err
}

// Replace changes a schedule and replaces its layers; ifVersion > 0 refuses
// a stale write.
func (s *Schedules) Replace(ctx context.Context, id int64, in ScheduleInput, ifVersion int64) (Schedule, error) {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return Schedule{}, err
	}
	var out Schedule
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		old, err := s.Load(ctx, tx, id)
		if err != nil {
			return err
		}
		if ifVersion > 0 && old.Version != ifVersion {
			return errs.PreconditionFailed("schedule %d has changed (version %d, not %d)", id, old.Version, ifVersion)
		}
		sc, err := build(ctx, tx, in)
		if err != nil {
			return err
		}
		out, err = scanSchedule(tx.QueryRowContext(ctx, `UPDATE schedules SET name = $1, description = $2, time_zone = $3, team_id = $4,
			updated_at = $5, version = version + 1 WHERE id = $6 RETURNING `+scheduleCols,
			sc.Name, sc.Description, sc.TimeZone, sc.TeamID, s.Clock.Now().UnixMilli(), id))
		if err != nil {
			return nameTaken(err)
		}
		if err := writeLayers(ctx, tx, id, &sc); err != nil {
			return err
		}
		out.Layers = sc.Layers
		return s.Audit.Record(ctx, tx, audit.Event{Action: "schedule.update", ObjectType: "schedule", ObjectID: id,
			Summary: "updated schedule " + out.Name,
			Changes: audit.Diff("name", old.Name, out.Name, "description", old.Description, out.Description,
				"time_zone", old.TimeZone, out.TimeZone, "team_id", audit.IDText(old.TeamID), audit.IDText(out.TeamID),
				"layers", layersText(old.Layers), layersText(out.Layers))})
	})
	return out, err
}

// Delete removes a schedule with its layers, overrides and feed. A schedule
// that an escalation policy pages is kept: the answer names the policies.
func (s *Schedules) Delete(ctx context.Context, id int64) error {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		sc, err := s.Load(ctx, tx, id)
		if err != nil {
			return err
		}
		var names []string
		rows, err := tx.QueryContext(ctx, `SELECT DISTINCT p.name FROM escalation_targets t
			JOIN escalation_policies p ON p.id = t.policy_id WHERE t.kind = 'schedule' AND t.target_id = $1 ORDER BY p.name`, id)
		if err != nil {
			return err
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			names = append(names, strconv.Quote(n))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(names) > 0 {
			what := "escalation policy"
			if len(names) > 1 {
				what = "escalation policies"
			}
			return errs.Conflict("schedule %q is paged by the %s %s; remove it there first", sc.Name, what, strings.Join(names, ", "))
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM schedules WHERE id = $1", id); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "schedule.delete", ObjectType: "schedule", ObjectID: id,
			Summary: "deleted schedule " + sc.Name})
	})
}

// ---- overrides ----

const overrideCols = `o.id, o.schedule_id, o.user_id, COALESCE(u.name, ''), o.replaces_user_id, o.starts_at, o.ends_at,
	o.note, o.created_by, o.created_at`

const overrideFrom = " FROM schedule_overrides o LEFT JOIN users u ON u.id = o.user_id "

func scanOverride(r db.Scanner) (Override, error) {
	var o Override
	var rep sql.NullInt64
	var start, end, created int64
	err := r.Scan(&o.ID, &o.ScheduleID, &o.UserID, &o.UserName, &rep, &start, &end, &o.Note, &o.CreatedBy, &created)
	if rep.Valid {
		o.ReplacesUserID = &rep.Int64
	}
	o.Start, o.End, o.CreatedAt = clock.FromMillis(start), clock.FromMillis(end), clock.FromMillis(created)
	return o, err
}

// overridesIn lists the overrides of a schedule that overlap [from, to).
func overridesIn(ctx context.Context, q db.Querier, scheduleID int64, from, to int64) ([]Override, error) {
	out, err := db.All(ctx, q, scanOverride, "SELECT "+overrideCols+overrideFrom+
		"WHERE o.schedule_id = $1 AND o.ends_at > $2 AND o.starts_at < $3 ORDER BY o.starts_at, o.id", scheduleID, from, to)
	if out == nil {
		out = []Override{}
	}
	return out, err
}

// Overrides lists a schedule's overrides that overlap [from, to).
func (s *Schedules) Overrides(ctx context.Context, scheduleID int64, from, to time.Time) ([]Override, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return nil, err
	}
	if _, err := s.Load(ctx, s.DB.R, scheduleID); err != nil {
		return nil, err
	}
	return overridesIn(ctx, s.DB.R, scheduleID, from.UnixMilli(), to.UnixMilli())
}

// MaxOverride caps how long one override lasts.
const MaxOverride = 366 * 24 * time.Hour

// CreateOverride puts a user on call in a schedule for a while. Responders
// and above may.
func (s *Schedules) CreateOverride(ctx context.Context, scheduleID int64, in OverrideInput) (Override, error) {
	if err := iam.Require(ctx, iam.RoleResponder); err != nil {
		return Override{}, err
	}
	in.Note = strings.TrimSpace(in.Note)
	var fe errs.Fields
	fe.Check(in.UserID < 1, "user_id", "is required: the user who takes over")
	fe.Check(in.Start.IsZero(), "start", "is required")
	fe.Check(in.End.IsZero(), "end", "is required")
	if !in.Start.IsZero() && !in.End.IsZero() {
		switch {
		case !in.End.After(in.Start):
			fe.Add("end", "must be after the start")
		case in.End.Sub(in.Start) > MaxOverride:
			fe.Add("end", "must be at most 366 days after the start")
		case !in.End.After(s.Clock.Now()):
			fe.Add("end", "must be in the future")
		}
	}
	if in.ReplacesUserID != nil && *in.ReplacesUserID == 0 {
		in.ReplacesUserID = nil
	}
	fe.Check(in.ReplacesUserID != nil && *in.ReplacesUserID == in.UserID, "replaces_user_id", "must be someone other than the user who takes over")
	fe.Check(len(in.Note) > 1000, "note", "must be at most 1000 characters")
	fe.Text("note", in.Note)
	if err := fe.Err(); err != nil {
		return Override{}, err
	}
	var out Override
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		sc, err := s.Load(ctx, tx, scheduleID)
		if err != nil {
			return err
		}
		want := []int64{in.UserID}
		if in.ReplacesUserID != nil {
			want = append(want, *in.ReplacesUserID)
		}
		known, err := existingUsers(ctx, tx, want)
		if err != nil {
			return err
		}
		fe.Check(!known[in.UserID], "user_id", "names no user")
		fe.Check(in.ReplacesUserID != nil && !known[*in.ReplacesUserID], "replaces_user_id", "names no user")
		if err := fe.Err(); err != nil {
			return err
		}
		creator := "steady"
		if p, ok := iam.PrincipalFrom(ctx); ok {
			creator = p.Actor().Name
		}
		var id int64
		err = tx.QueryRowContext(ctx, `INSERT INTO schedule_overrides (schedule_id, user_id, replaces_user_id, starts_at, ends_at,
			note, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, scheduleID, in.UserID, in.ReplacesUserID,
			in.Start.UnixMilli(), in.End.UnixMilli(), in.Note, creator, s.Clock.Now().UnixMilli()).Scan(&id)
		if err != nil {
			return err
		}
		out, err = scanOverride(tx.QueryRowContext(ctx, "SELECT "+overrideCols+overrideFrom+"WHERE o.id = $1", id))
		if err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "schedule.override.create", ObjectType: "schedule", ObjectID: scheduleID,
			Summary: fmt.Sprintf("%s covers schedule %s from %s to %s", out.UserName, sc.Name,
				out.Start.Format(time.RFC3339), out.End.Format(time.RFC3339)),
			Changes: map[string]any{"override_id": out.ID, "user_id": out.UserID, "replaces_user_id": out.ReplacesUserID,
				"start": out.Start, "end": out.End}})
	})
	return out, err
}

// DeleteOverride removes an override. Responders and above may.
func (s *Schedules) DeleteOverride(ctx context.Context, scheduleID, overrideID int64) error {
	if err := iam.Require(ctx, iam.RoleResponder); err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		o, err := scanOverride(tx.QueryRowContext(ctx, "SELECT "+overrideCols+overrideFrom+"WHERE o.id = $1 AND o.schedule_id = $2",
			overrideID, scheduleID))
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFound("override %d of schedule %d not found", overrideID, scheduleID)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM schedule_overrides WHERE id = $1", overrideID); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "schedule.override.delete", ObjectType: "schedule", ObjectID: scheduleID,
			Summary: fmt.Sprintf("removed the override of %s from %s to %s", o.UserName, o.Start.Format(time.RFC3339), o.End.Format(time.RFC3339)),
			Changes: map[string]any{"override_id": o.ID, "user_id": o.UserID}})
	})
}

// ---- computation ----

// OnCallAt returns the users on call in a schedule at t (overrides applied),
// reading through q so that the escalation engine can ask inside its
// transaction.
func (s *Schedules) OnCallAt(ctx context.Context, q db.Querier, scheduleID int64, at time.Time) ([]int64, error) {
	sc, err := loadRotations(ctx, q, scheduleID)
	if err != nil {
		return nil, err
	}
	t := at.UnixMilli()
	ov, err := overridesIn(ctx, q, scheduleID, t, t+1)
	if err != nil {
		return nil, err
	}
	return compile(sc, ov).at(t), nil
}

// loadRotations reads what computing needs of a schedule (its zone, layers
// and participants) in one query.
func loadRotations(ctx context.Context, q db.Querier, id int64) (Schedule, error) {
	rows, err := q.QueryContext(ctx, `SELECT s.time_zone, l.id, l.name, l.start_local, l.end_local, l.shift_unit, l.shift_length,
		l.restrictions, m.user_id FROM schedules s
		LEFT JOIN schedule_layers l ON l.schedule_id = s.id
		LEFT JOIN schedule_layer_members m ON m.layer_id = l.id
		WHERE s.id = $1 ORDER BY l.position, l.id, m.position`, id)
	if err != nil {
		return Schedule{}, db.Classify(err)
	}
	defer rows.Close()
	sc := Schedule{ID: id}
	found := false
	for rows.Next() {
		found = true
		var lid, length, uid sql.NullInt64
		var name, start, unit, restr, end sql.NullString
		if err := rows.Scan(&sc.TimeZone, &lid, &name, &start, &end, &unit, &length, &restr, &uid); err != nil {
			return sc, db.Classify(err)
		}
		if !lid.Valid {
			continue
		}
		if n := len(sc.Layers); n == 0 || sc.Layers[n-1].ID != lid.Int64 {
			l := Layer{ID: lid.Int64, Name: name.String, Start: start.String, ShiftUnit: unit.String, ShiftLength: int(length.Int64)}
			if end.Valid {
				l.End = &end.String
			}
			_ = json.Unmarshal([]byte(restr.String), &l.Restrictions)
			sc.Layers = append(sc.Layers, l)
		}
		if uid.Valid {
			l := &sc.Layers[len(sc.Layers)-1]
			l.Participants = append(l.Participants, uid.Int64)
		}
	}
	if err := rows.Err(); err != nil {
		return sc, db.Classify(err)
	}
	if !found {
		return sc, errs.NotFound("schedule %d not found", id)
	}
	return sc, nil
}

// checkRange refuses an empty, reversed or too long range.
func checkRange(from, to time.Time) error {
	var fe errs.Fields
	fe.Check(from.IsZero(), "from", "is required")
	fe.Check(to.IsZero(), "to", "is required")
	if !from.IsZero() && !to.IsZero() {
		fe.Check(!to.After(from), "to", "must be after from")
		fe.Check(to.Sub(from) > MaxRange, "to", "must be at most 90 days after from")
	}
	return fe.Err()
}

// timeline computes sc over [from, to) without access checks.
func timeline(ctx context.Context, q db.Querier, sc Schedule, from, to time.Time) (Timeline, error) {
	a, b := from.UnixMilli(), to.UnixMilli()
	ov, err := overridesIn(ctx, q, sc.ID, a, b)
	if err != nil {
		return Timeline{}, err
	}
	c := compile(sc, ov)
	per := make([][]span, len(c.layers))
	for i, r := range c.layers {
		per[i] = r.shifts(a, b)
	}
	final := c.final(a, b, per)
	tl := Timeline{ScheduleID: sc.ID, TimeZone: sc.TimeZone, From: from.UTC(), To: to.UTC(), Final: []Shift{},
		Layers: []LayerShifts{}, Overrides: ov}
	var ids []int64
	for _, l := range sc.Layers {
		ids = append(ids, l.Participants...)
	}
	for _, o := range ov {
		ids = append(ids, o.UserID)
	}
	names, err := userNames(ctx, q, ids)
	if err != nil {
		return Timeline{}, err
	}
	for _, p := range final {
		sh := Shift{UserID: p.user, UserName: names[p.user].name, Start: clock.FromMillis(p.start), End: clock.FromMillis(p.end)}
		if p.layer >= 0 {
			lid := c.ids[p.layer]
			sh.LayerID, sh.Layer = &lid, c.names[p.layer]
		} else {
			oid := p.override
			sh.OverrideID, sh.Layer = &oid, "Override"
		}
		tl.Final = append(tl.Final, sh)
	}
	for i, l := range per {
		ls := LayerShifts{LayerID: c.ids[i], Name: c.names[i], Shifts: []Shift{}}
		for _, sp := range l {
			lid := c.ids[i]
			ls.Shifts = append(ls.Shifts, Shift{UserID: sp.user, UserName: names[sp.user].name, Start: clock.FromMillis(sp.start),
				End: clock.FromMillis(sp.end), LayerID: &lid, Layer: c.names[i]})
		}
		tl.Layers = append(tl.Layers, ls)
	}
	return tl, nil
}

type userName struct{ name, email string }

func userNames(ctx context.Context, q db.Querier, ids []int64) (map[int64]userName, error) {
	out := map[int64]userName{}
	ids = uniq(ids)
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.QueryContext(ctx, "SELECT id, name, email FROM users WHERE id IN ("+idList(ids)+")")
	if err != nil {
		return nil, db.Classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var n userName
		if err := rows.Scan(&id, &n.name, &n.email); err != nil {
			return nil, db.Classify(err)
		}
		out[id] = n
	}
	return out, db.Classify(rows.Err())
}

// Timeline computes a schedule over [from, to), at most MaxRange long.
func (s *Schedules) Timeline(ctx context.Context, id int64, from, to time.Time) (Timeline, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return Timeline{}, err
	}
	if err := checkRange(from, to); err != nil {
		return Timeline{}, err
	}
	sc, err := s.Load(ctx, s.DB.R, id)
	if err != nil {
		return Timeline{}, err
	}
	return timeline(ctx, s.DB.R, sc, from, to)
}

// onCall says who is on call in sc at t and until when.
func onCall(ctx context.Context, q db.Querier, sc Schedule, at time.Time) (OnCall, error) {
	// Shifts are stored to the millisecond: a finer instant would fall
	// between two shift boundaries and match none.
	at = at.Truncate(time.Millisecond)
	out := OnCall{ScheduleID: sc.ID, ScheduleName: sc.Name, TimeZone: sc.TimeZone, At: at.UTC(), Users: []OnCallUser{}}
	tl, err := timeline(ctx, q, sc, at, at.Add(UntilHorizon))
	if err != nil {
		return out, err
	}
	names := map[int64]userName{}
	var ids []int64
	for _, sh := range tl.Final {
		ids = append(ids, sh.UserID)
	}
	if names, err = userNames(ctx, q, ids); err != nil {
		return out, err
	}
	for _, sh := range tl.Final {
		if !sh.Start.Equal(tl.From) {
			continue
		}
		u := OnCallUser{UserID: sh.UserID, Name: names[sh.UserID].name, Email: names[sh.UserID].email, OverrideID: sh.OverrideID}
		// Follow the user through adjacent shifts (another layer, an override).
		end := sh.End
		for changed := true; changed; {
			changed = false
			for _, n := range tl.Final {
				if n.UserID == sh.UserID && !n.Start.After(end) && n.End.After(end) {
					end, changed = n.End, true
				}
			}
		}
		if end.Before(tl.To) {
			u.Until = &end
		}
		out.Users = append(out.Users, u)
	}
	return out, nil
}

// Now says who is on call in one schedule at t.
func (s *Schedules) Now(ctx context.Context, id int64, at time.Time) (OnCall, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return OnCall{}, err
	}
	sc, err := s.Load(ctx, s.DB.R, id)
	if err != nil {
		return OnCall{}, err
	}
	return onCall(ctx, s.DB.R, sc, at)
}

// AllNow says who is on call in every schedule at t, schedules by name.
func (s *Schedules) AllNow(ctx context.Context, at time.Time) ([]OnCall, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return nil, err
	}
	list, err := loadMany(ctx, s.DB.R, "SELECT "+scheduleCols+" FROM schedules ORDER BY name, id")
	if err != nil {
		return nil, err
	}
	out := make([]OnCall, 0, len(list))
	for _, sc := range list {
		oc, err := onCall(ctx, s.DB.R, sc, at)
		if err != nil {
			return nil, err
		}
		out = append(out, oc)
	}
	return out, nil
}

// UserShifts lists a user's final shifts in every schedule over [from, to),
// by start.
func (s *Schedules) UserShifts(ctx context.Context, userID int64, from, to time.Time) ([]UserShift, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return nil, err
	}
	if err := checkRange(from, to); err != nil {
		return nil, err
	}
	if known, err := existingUsers(ctx, s.DB.R, []int64{userID}); err != nil {
		return nil, err
	} else if !known[userID] {
		return nil, errs.NotFound("user %d not found", userID)
	}
	return userShifts(ctx, s.DB.R, userID, from, to)
}

func userShifts(ctx context.Context, q db.Querier, userID int64, from, to time.Time) ([]UserShift, error) {
	// Only schedules the user is in, or has an override in, can give them a shift.
	list, err := loadMany(ctx, q, "SELECT "+scheduleCols+` FROM schedules WHERE id IN (
		SELECT l.schedule_id FROM schedule_layer_members m JOIN schedule_layers l ON l.id = m.layer_id WHERE m.user_id = $1
		UNION SELECT schedule_id FROM schedule_overrides WHERE user_id = $1 AND ends_at > $2 AND starts_at < $3) ORDER BY name, id`,
		userID, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, err
	}
	out := []UserShift{}
	for _, sc := range list {
		tl, err := timeline(ctx, q, sc, from, to)
		if err != nil {
			return nil, err
		}
		for _, sh := range tl.Final {
			if sh.UserID != userID {
				continue
			}
			// Shifts of one schedule that meet are one stretch on call.
			if n := len(out); n > 0 && out[n-1].ScheduleID == sc.ID && out[n-1].End.Equal(sh.Start) && (sh.OverrideID == nil) == (out[n-1].OverrideID == nil) {
				out[n-1].End = sh.End
				continue
			}
			out = append(out, UserShift{ScheduleID: sc.ID, ScheduleName: sc.Name, TimeZone: sc.TimeZone, Start: sh.Start, End: sh.End,
				Layer: sh.Layer, OverrideID: sh.OverrideID})
		}
	}
	slices.SortStableFunc(out, func(a, b UserShift) int { return a.Start.Compare(b.Start) })
	return out, nil
}

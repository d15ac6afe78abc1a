// Package service is the service catalog: the services alerts are routed to,
// who owns them, how critical they are, how their alerts group into incidents,
// and the integration keys that senders use to reach them.
package service

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/cmdb"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/ids"
	"github.com/steadyhq/steady/internal/platform/page"
)

// Criticality says how much the business depends on a service.
type Criticality string

const (
	Critical Criticality = "critical"
	High     Criticality = "high"
	Medium   Criticality = "medium"
	Low      Criticality = "low"
)

func (c Criticality) valid() bool { return c == Critical || c == High || c == Medium || c == Low }

// Service is a unit that alerts are routed to.
type Service struct {
	ID          int64             `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	TeamID      *int64            `json:"team_id"`
	Criticality Criticality       `json:"criticality"`
	Labels      map[string]string `json:"labels"`
	// AutoResolve resolves an incident when all its alerts have resolved.
	AutoResolve bool `json:"auto_resolve"`
	// GroupBy lists the alert labels whose equal values put alerts into one
	// incident; empty means one open incident per service.
	GroupBy []string `json:"group_by"`
	// GroupWindow is how long (seconds) after an incident opens new alerts still join it.
	GroupWindow int `json:"group_window_seconds"`
	// EscalationPolicyID is the escalation policy that pages for the
	// service's incidents; nil for none.
	EscalationPolicyID *int64 `json:"escalation_policy_id"`
	// CIID is the service's configuration item (class business_service).
	CIID      *int64    `json:"ci_id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int64     `json:"version"`
}

// Fields is the writable part of a service, for create and update.
type Fields struct {
	Name        *string            `json:"name,omitempty"`
	Description *string            `json:"description,omitempty"`
	TeamID      *int64             `json:"team_id,omitempty"`
	Criticality *Criticality       `json:"criticality,omitempty"`
	Labels      *map[string]string `json:"labels,omitempty"`
	AutoResolve *bool              `json:"auto_resolve,omitempty"`
	GroupBy     *[]string          `json:"group_by,omitempty"`
	GroupWindow *int               `json:"group_window_seconds,omitempty"`
	// EscalationPolicyID attaches an escalation policy; 0 detaches it.
	EscalationPolicyID *int64 `json:"escalation_policy_id,omitempty"`
}

var labelName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.\-/]*$`)

// apply copies set fields onto s and validates the result.
func (f Fields) apply(s *Service) error {
	if f.Name != nil {
		s.Name = strings.TrimSpace(*f.Name)
	}
	if f.Description != nil {
		s.Description = strings.TrimSpace(*f.Description)
	}
	if f.TeamID != nil {
		if *f.TeamID == 0 {
			s.TeamID = nil
		} else {
			s.TeamID = f.TeamID
		}
	}
	if f.Criticality != nil {
		s.Criticality = *f.Criticality
	}
	if f.Labels != nil {
		s.Labels = *f.Labels
	}
	if f.AutoResolve != nil {
		s.AutoResolve = *f.AutoResolve
	}
	if f.GroupBy != nil {
		s.GroupBy = *f.GroupBy
	}
	if f.GroupWindow != nil {
		s.GroupWindow = *f.GroupWindow
	}
	if f.EscalationPolicyID != nil {
		if *f.EscalationPolicyID == 0 {
			s.EscalationPolicyID = nil
		} else {
			s.EscalationPolicyID = f.EscalationPolicyID
		}
	}
	return s.Validate()
}

// Validate checks a service and names every invalid field.
func (s Service) Validate() error {
	var fe errs.Fields
	fe.Check(s.Name == "", "name", "is required")
	fe.Check(len(s.Name) > 200, "name", "must be at most 200 characters")
	// A name is one line; PostgreSQL cannot store NUL at all.
	fe.Check(strings.ContainsFunc(s.Name, unicode.IsControl), "name", "must not contain control characters")
	fe.Check(len(s.Description) > 4000, "description", "must be at most 4000 characters")
	fe.Check(strings.ContainsRune(s.Description, 0), "description", "must not contain NUL characters")
	fe.Check(!s.Criticality.valid(), "criticality", "must be critical, high, medium or low")
	fe.Check(len(s.Labels) > 64, "labels", "must have at most 64 entries")
	for k, v := range s.Labels {
		if !labelName.MatchString(k) || len(k) > 128 {
			fe.Add("labels."+k, "is not a valid label name")
		} else if len(v) > 1024 {
			fe.Add("labels."+k, "must be at most 1024 characters")
		} else if strings.ContainsRune(v, 0) {
			fe.Add("labels."+k, "must not contain NUL characters")
		}
	}
	fe.Check(len(s.GroupBy) > 16, "group_by", "must name at most 16 labels")
	for _, l := range s.GroupBy {
		fe.Check(!labelName.MatchString(l), "group_by", "names an invalid label: "+l)
	}
	fe.Check(s.GroupWindow < 0 || s.GroupWindow > 7*24*3600, "group_window_seconds", "must be from 0 to 604800 (a week)")
	fe.Check(s.EscalationPolicyID != nil && *s.EscalationPolicyID < 0, "escalation_policy_id", "must be a policy's id, or 0 for none")
	return fe.Err()
}

// Catalog stores services and integration keys.
type Catalog struct {
	DB    *db.DB
	Audit *audit.Log
	Clock clock.Clock

	// CIs keeps each service's CI in step with it (the app's CMDB, so that
	// its graph hears of the change at once).
	CIs *cmdb.Store

	mu      sync.Mutex
	keys    map[string]cachedKey
	reading map[string]bool // keys one request is reading again
}

// New returns a catalog.
func New(d *db.DB, a *audit.Log, c clock.Clock) *Catalog {
	return &Catalog{DB: d, Audit: a, Clock: c, CIs: cmdb.New(d, a, c, nil), keys: map[string]cachedKey{}, reading: map[string]bool{}}
}

const cols = "id, name, description, team_id, criticality, labels, auto_resolve, group_by, group_window_s, escalation_policy_id, ci_id, created_at, updated_at, version"

func scan(r db.Scanner) (Service, error) {
	var s Service
	var team, policy, ci sql.NullInt64
	var labels, groupBy string
	var created, updated int64
	err := r.Scan(&s.ID, &s.Name, &s.Description, &team, &s.Criticality, &labels, &s.AutoResolve, &groupBy,
		&s.GroupWindow, &policy, &ci, &created, &updated, &s.Version)
	if err != nil {
		return s, err
	}
	if team.Valid {
		s.TeamID = &team.Int64
	}
	if policy.Valid {
		s.EscalationPolicyID = &policy.Int64
	}
	if ci.Valid {
		s.CIID = &ci.Int64
	}
	_ = json.Unmarshal([]byte(labels), &s.Labels)
	_ = json.Unmarshal([]byte(groupBy), &s.GroupBy)
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	if s.GroupBy == nil {
		s.GroupBy = []string{}
	}
	s.CreatedAt, s.UpdatedAt = clock.FromMillis(created), clock.FromMillis(updated)
	return s, nil
}

func conflictOrTeam(err error) error {
	switch {
	case db.IsUniqueViolation(err):
		return &errs.Error{Kind: errs.KindConflict, Message: "a service with this name exists",
			Fields: []errs.FieldError{{Field: "name", Detail: "is already taken"}}}
	case db.IsForeignKeyViolation(err):
		return errs.Invalid("team_id", "names no team")
	}
	return err
}

// checkPolicy refuses an escalation policy that does not exist. The foreign
// key would refuse it too, but could not say which field was wrong.
func checkPolicy(ctx context.Context, tx *sql.Tx, id *int64) error {
	if id == nil {
		return nil
	}
	var x int
	err := tx.QueryRowContext(ctx, "SELECT 1 FROM escalation_policies WHERE id = $1", *id).Scan(&x)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.Invalid("escalation_policy_id", "names no escalation policy")
	}
	return db.Classify(err)
}

// Create adds a service. Managers and admins may.
func (c *Catalog) Create(ctx context.Context, f Fields) (Service, error) {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return Service{}, err
	}
	s := Service{Criticality: Medium, AutoResolve: true, GroupWindow: 300, Labels: map[string]string{}, GroupBy: []string{}}
	if err := f.apply(&s); err != nil {
		return Service{}, err
	}
	var out Service
	err := c.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := checkPolicy(ctx, tx, s.EscalationPolicyID); err != nil {
			return err
		}
		now := c.Clock.Now().UnixMilli()
		var err error
		out, err = scan(tx.QueryRowContext(ctx, `INSERT INTO services (name, description, team_id, criticality, labels,
			auto_resolve, group_by, group_window_s, escalation_policy_id, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
			RETURNING `+cols, s.Name, s.Description, s.TeamID, string(s.Criticality), db.JSON(s.Labels), s.AutoResolve,
			db.JSON(s.GroupBy), s.GroupWindow, s.EscalationPolicyID, now))
		if err != nil {
			return conflictOrTeam(err)
		}
		if err := c.createCI(ctx, tx, &out); err != nil {
			return err
		}
		return c.Audit.Record(ctx, tx, audit.Event{Action: "service.create", ObjectType: "service", ObjectID: out.ID,
			Summary: "created service " + out.Name, Changes: map[string]any{"name": out.Name, "team_id": out.TeamID, "criticality": out.Criticality,
				"escalation_policy_id": out.EscalationPolicyID}})
	})
	return out, err
}

// Get returns one service.
func (c *Catalog) Get(ctx context.Context, id int64) (Service, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return Service{}, err
	}
	return get(ctx, c.DB.R, id)
}

func get(ctx context.Context, q db.Querier, id int64) (Service, error) {
	s, err := scan(q.QueryRowContext(ctx, "SELECT "+cols+" FROM services WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return s, errs.NotFound("service %d not found", id)
	}
	return s, db.Classify(err)
}

// Filter selects services.
type Filter struct {
	TeamID int64
	Query  string
}

// List lists services by id.
func (c *Catalog) List(ctx context.Context, f Filter, p page.Request) (page.List[Service], error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return page.List[Service]{}, err
	}
	q := "SELECT " + cols + " FROM services WHERE id > $1"
	args := []any{p.After}
	if f.TeamID != 0 {
		args = append(args, f.TeamID)
		q += " AND team_id = $" + strconv.Itoa(len(args))
	}
	if f.Query != "" {
		args = append(args, "%"+strings.ToLower(f.Query)+"%")
		q += " AND LOWER(name) LIKE $" + strconv.Itoa(len(args))
	}
	args = append(args, p.Limit+1)
	q += " ORDER BY id LIMIT $" + strconv.Itoa(len(args))
	out, err := db.All(ctx, c.DB.R, scan, q, args...)
	if err != nil {
		return page.List[Service]{}, err
	}
	return page.Cut(out, p, func(s Service) int64 { return s.ID }), nil
}

// Update changes a service; ifVersion > 0 refuses a stale write.
func (c *Catalog) Update(ctx context.Context, id int64, f Fields, ifVersion int64) (Service, error) {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return Service{}, err
	}
	var out Service
	err := c.DB.Tx(ctx, func(tx *sql.Tx) error {
		old, err := get(ctx, tx, id)
		if err != nil {
			return err
		}
		if ifVersion > 0 && old.Version != ifVersion {
			return errs.PreconditionFailed("service %d has changed (version %d, not %d)", id, old.Version, ifVersion)
		}
		s := old
		if err := f.apply(&s); err != nil {
			return err
		}
		if err := checkPolicy(ctx, tx, s.EscalationPolicyID); err != nil {
			return err
		}
		out, err = scan(tx.QueryRowContext(ctx, `UPDATE services SET name = $1, description = $2, team_id = $3,
			criticality = $4, labels = $5, auto_resolve = $6, group_by = $7, group_window_s = $8, escalation_policy_id = $9,
			updated_at = $10, version = version + 1 WHERE id = $11 RETURNING `+cols, s.Name, s.Description, s.TeamID,
			string(s.Criticality), db.JSON(s.Labels), s.AutoResolve, db.JSON(s.GroupBy), s.GroupWindow, s.EscalationPolicyID,
			c.Clock.Now().UnixMilli(), id))
		if err != nil {
			return conflictOrTeam(err)
		}
		if err := c.syncCI(ctx, tx, &out); err != nil {
			return err
		}
		return c.Audit.Record(ctx, tx, audit.Event{Action: "service.update", ObjectType: "service", ObjectID: id,
			Summary: "updated service " + out.Name,
			Changes: audit.Diff("name", old.Name, out.Name, "description", old.Description, out.Description,
				"team_id", audit.IDText(old.TeamID), audit.IDText(out.TeamID), "criticality", old.Criticality, out.Criticality,
				"labels", db.JSON(old.Labels), db.JSON(out.Labels), "auto_resolve", old.AutoResolve, out.AutoResolve,
				"group_by", db.JSON(old.GroupBy), db.JSON(out.GroupBy), "group_window_seconds", old.GroupWindow, out.GroupWindow,
				"escalation_policy_id", audit.IDText(old.EscalationPolicyID), audit.IDText(out.EscalationPolicyID))})
	})
	return out, err
}

// Delete removes a service with its keys and alerts.
func (c *Catalog) Delete(ctx context.Context, id int64) error {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return err
	}
	err := c.DB.Tx(ctx, func(tx *sql.Tx) error {
		s, err := get(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM services WHERE id = $1", id); err != nil {
			return err
		}
		if s.CIID != nil {
			if err := c.CIs.DeleteTx(ctx, tx, *s.CIID); err != nil && !errs.Is(err, errs.KindNotFound) {
				return err
			}
		}
		return c.Audit.Record(ctx, tx, audit.Event{Action: "service.delete", ObjectType: "service", ObjectID: id,
			Summary: "deleted service " + s.Name})
	})
	c.forgetKeys()
	return err
}

// IntegrationKey lets a sender route events to a service.
type IntegrationKey struct {
	ID         int64      `json:"id"`
	ServiceID  int64      `json:"service_id"`
	Name       string     `json:"name"`
	Key        string     `json:"key"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

const keyCols = "id, service_id, name, key, created_by, created_at, last_used_at, revoked_at"

func scanKey(r db.Scanner) (IntegrationKey, error) {
	var k IntegrationKey
	var created int64
	var used, revoked sql.NullInt64
	err := r.Scan(&k.ID, &k.ServiceID, &k.Name, &k.Key, &k.CreatedBy, &created, &used, &revoked)
	k.CreatedAt, k.LastUsedAt, k.RevokedAt = clock.FromMillis(created), db.NullMillis(used), db.NullMillis(revoked)
	return k, err
}

// CreateKey makes a new integration key for a service. The key is 32
// characters, like a PagerDuty routing key, so senders that check the length
// accept it.
func (c *Catalog) CreateKey(ctx context.Context, serviceID int64, name string) (IntegrationKey, error) {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return IntegrationKey{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		name = "default"
	}
	if len(name) > 200 {
		return IntegrationKey{}, errs.Invalid("name", "must be at most 200 characters")
	}
	if strings.ContainsFunc(name, unicode.IsControl) {
		return IntegrationKey{}, errs.Invalid("name", "must not contain control characters")
	}
	var out IntegrationKey
	err := c.DB.Tx(ctx, func(tx *sql.Tx) error {
		s, err := get(ctx, tx, serviceID)
		if err != nil {
			return err
		}
		creator := "steady"
		if p, ok := iam.PrincipalFrom(ctx); ok {
			creator = p.Actor().Type + ":" + p.Actor().Name
		}
		out, err = scanKey(tx.QueryRowContext(ctx, `INSERT INTO integration_keys (service_id, name, key, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING `+keyCols, serviceID, name, ids.Random(20), creator, c.Clock.Now().UnixMilli()))
		if err != nil {
			return err
		}
		return c.Audit.Record(ctx, tx, audit.Event{Action: "service.key.create", ObjectType: "service", ObjectID: serviceID,
			Summary: "created integration key " + name + " for service " + s.Name, Changes: map[string]any{"key_id": out.ID}})
	})
	return out, err
}

// Keys lists the integration keys of a service, revoked ones included.
func (c *Catalog) Keys(ctx context.Context, serviceID int64) ([]IntegrationKey, error) {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return nil, err
	}
	if _, err := get(ctx, c.DB.R, serviceID); err != nil {
		return nil, err
	}
	out, err := db.All(ctx, c.DB.R, scanKey, "SELECT "+keyCols+" FROM integration_keys WHERE service_id = $1 ORDER BY id", serviceID)
	if out == nil {
		out = []IntegrationKey{}
	}
	return out, err
}

// RevokeKey stops a key from routing events. It takes effect at once on this
// server and within keyCacheTTL on other replicas.
func (c *Catalog) RevokeKey(ctx context.Context, serviceID, keyID int64) (IntegrationKey, error) {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return IntegrationKey{}, err
	}
	var out IntegrationKey
	err := c.DB.Tx(ctx, func(tx *sql.Tx) error {
		k, err := scanKey(tx.QueryRowContext(ctx, "SELECT "+keyCols+" FROM integration_keys WHERE id = $1 AND service_id = $2", keyID, serviceID))
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFound("integration key %d of service %d not found", keyID, serviceID)
		}
		if err != nil || k.RevokedAt != nil {
			out = k
			return err
		}
		out, err = scanKey(tx.QueryRowContext(ctx, "UPDATE integration_keys SET revoked_at = $1 WHERE id = $2 RETURNING "+keyCols,
			c.Clock.Now().UnixMilli(), keyID))
		if err != nil {
			return err
		}
		return c.Audit.Record(ctx, tx, audit.Event{Action: "service.key.revoke", ObjectType: "service", ObjectID: serviceID,
			Summary: "revoked integration key " + k.Name, Changes: map[string]any{"key_id": keyID}})
	})
	c.forgetKeys()
	return out, err
}

// keyCacheTTL bounds how long a revoked key may still work on another replica.
const keyCacheTTL = 5 * time.Second

type cachedKey struct {
	serviceID, keyID int64
	ok               bool
	at               time.Time
}

// Route finds the service of an integration key. It is on the ingest hot
// path, so answers (found or not) are cached for keyCacheTTL. When an
// answer expires, one request reads it again while the others go on with
// the one they have: otherwise every sender in flight would read it at
// once. An unknown or revoked key is KindNotFound.
func (c *Catalog) Route(ctx context.Context, key string) (serviceID, keyID int64, err error) {
	now := c.Clock.Now()
	c.mu.Lock()
	ck, hit := c.keys[key]
	read := !hit || now.Sub(ck.at) > keyCacheTTL
	lead := read && !c.reading[key]
	if lead {
		c.reading[key] = true
	} else if hit {
		read = false // another request is reading it: this answer is at most that much older
	}
	c.mu.Unlock()
	if lead {
		defer func() {
			c.mu.Lock()
			delete(c.reading, key)
			c.mu.Unlock()
		}()
	}
	if read {
		ck = cachedKey{at: now}
		var revoked, used sql.NullInt64
		err := c.DB.R.QueryRowContext(ctx, "SELECT service_id, id, revoked_at, last_used_at FROM integration_keys WHERE key = $1", key).
			Scan(&ck.serviceID, &ck.keyID, &revoked, &used)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return 0, 0, db.Classify(err)
		default:
			ck.ok = !revoked.Valid
			if ck.ok && lead && iam.LastUsedDue(used, now) {
				// Best effort: a failure here must not fail the event.
				_, _ = c.DB.W.ExecContext(ctx, "UPDATE integration_keys SET last_used_at = $1 WHERE id = $2", now.UnixMilli(), ck.keyID)
			}
		}
		c.mu.Lock()
		if len(c.keys) > 100_000 {
			c.keys = map[string]cachedKey{}
		}
		c.keys[key] = ck
		c.mu.Unlock()
	}
	if !ck.ok {
		return 0, 0, errs.NotFound("the integration key is unknown or revoked")
	}
	return ck.serviceID, ck.keyID, nil
}

func (c *Catalog) forgetKeys() {
	c.mu.Lock()
	c.keys = map[string]cachedKey{}
	c.mu.Unlock()
}

// createCI makes the CI of a new service (class business_service) in its
// transaction and links them.
func (c *Catalog) createCI(ctx context.Context, tx *sql.Tx, s *Service) error {
	ci, _, err := c.CIs.UpsertTx(ctx, tx, cmdb.CIInput{Class: cmdb.ClassBusinessService, Name: s.Name, TeamID: s.TeamID}, cmdb.UpsertOptions{})
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE services SET ci_id = $1 WHERE id = $2", ci.ID, s.ID); err != nil {
		return err
	}
	s.CIID = &ci.ID
	return nil
}

// syncCI gives a service's CI the service's name and team (with history),
// or makes the CI if the service has none.
func (c *Catalog) syncCI(ctx context.Context, tx *sql.Tx, s *Service) error {
	if s.CIID == nil {
		return c.createCI(ctx, tx, s)
	}
	ci, err := c.CIs.GetCITx(ctx, tx, *s.CIID)
	if errs.Is(err, errs.KindNotFound) {
		return c.createCI(ctx, tx, s)
	}
	if err != nil {
		return err
	}
	in := ci.Input()
	in.Name, in.TeamID = s.Name, s.TeamID
	_, _, err = c.CIs.UpsertTx(ctx, tx, in, cmdb.UpsertOptions{ID: ci.ID})
	return err
}

package notify

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// Contacts stores users' contact methods and notification rules.
//
// A user manages their own; an admin manages anyone's. RulesFor and
// MethodByID are for Steady itself (the outbox, inside its transaction) and
// check nothing.
type Contacts struct {
	DB    *db.DB
	Audit *audit.Log
	Clock clock.Clock
}

// NewContacts returns the contact store.
func NewContacts(d *db.DB, a *audit.Log, c clock.Clock) *Contacts {
	return &Contacts{DB: d, Audit: a, Clock: c}
}

// Limits and defaults of contact methods and rules.
const (
	DefaultMethodRateLimit  = 10
	DefaultMethodRateWindow = 600
	MaxMethodsPerUser       = 50
	MaxRulesPerUser         = 100
)

// Method is one way to reach a user.
type Method struct {
	ID      int64             `json:"id"`
	UserID  int64             `json:"user_id"`
	Kind    string            `json:"kind"` // KindEmail …
	Label   string            `json:"label"`
	Address string            `json:"address"`
	Secret  string            `json:"-"` // webhook signing key
	Headers map[string]string `json:"headers"`
	// At most RateLimit messages per RateWindow reach this method; the rest
	// wait and go out as one summary.
	RateLimit  int           `json:"rate_limit"`
	RateWindow time.Duration `json:"-"`
	// RateWindowSeconds is RateWindow in whole seconds, as the API shows it.
	RateWindowSeconds int       `json:"rate_window_seconds"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
	Version           int64     `json:"version"`
}

// CreatedMethod is a method as its creation (or a secret rotation) answers:
// with the webhook signing secret, which no other answer shows.
type CreatedMethod struct {
	Method
	Secret string `json:"secret,omitempty"`
}

// NewMethod is a contact method to add. Absent rate fields take the
// defaults (10 messages per 600 seconds).
type NewMethod struct {
	Kind              string            `json:"kind"`
	Label             string            `json:"label,omitempty"`
	Address           string            `json:"address"`
	Headers           map[string]string `json:"headers,omitempty"`
	RateLimit         *int              `json:"rate_limit,omitempty"`
	RateWindowSeconds *int              `json:"rate_window_seconds,omitempty"`
}

// MethodPatch changes some fields of a method; nil fields stay as they are.
// Headers, when sent, replace all of the method's headers. The kind cannot
// change: add another method instead.
type MethodPatch struct {
	Label             *string            `json:"label,omitempty"`
	Address           *string            `json:"address,omitempty"`
	Headers           *map[string]string `json:"headers,omitempty"`
	RateLimit         *int               `json:"rate_limit,omitempty"`
	RateWindowSeconds *int               `json:"rate_window_seconds,omitempty"`
}

// Rule sends a page to a method DelayMinutes after the user is paged, unless
// the incident is acknowledged by then.
type Rule struct {
	ID           int64  `json:"id"`
	UserID       int64  `json:"user_id"`
	MethodID     int64  `json:"contact_method_id"`
	DelayMinutes int    `json:"delay_minutes"`
	Method       Method `json:"-"`
	// MethodKind and MethodLabel name the method, for lists.
	MethodKind  string    `json:"contact_method_kind"`
	MethodLabel string    `json:"contact_method_label"`
	CreatedAt   time.Time `json:"created_at"`
}

// NewRule is a notification rule to add; delay_minutes 0 means at once.
type NewRule struct {
	MethodID     int64 `json:"contact_method_id"`
	DelayMinutes int   `json:"delay_minutes,omitempty"`
}

// CheckAccess fails with KindForbidden unless the caller of ctx may manage
// the contact methods and rules of user userID: the user themselves, or an
// admin. A context without a principal (Steady itself) may.
func (c *Contacts) CheckAccess(ctx context.Context, userID int64) error {
	p, ok := iam.PrincipalFrom(ctx)
	if !ok || (p.UserID != 0 && p.UserID == userID) || p.Role.AtLeast(iam.RoleAdmin) {
		return nil
	}
	return errs.Forbidden("you may only manage your own contact methods and notification rules")
}

// contactUserEmail checks that the user exists and returns their email.
func contactUserEmail(ctx context.Context, q db.Querier, userID int64) (string, error) {
	var email string
	err := q.QueryRowContext(ctx, "SELECT email FROM users WHERE id = $1", userID).Scan(&email)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errs.NotFound("user %d not found", userID)
	}
	return email, db.Classify(err)
}

// allowed checks access to user userID, then that the user exists.
func (c *Contacts) allowed(ctx context.Context, userID int64) error {
	if err := c.CheckAccess(ctx, userID); err != nil {
		return err
	}
	_, err := contactUserEmail(ctx, c.DB.R, userID)
	return err
}

const contactMethodCols = "id, user_id, kind, label, address, secret, headers, rate_limit, rate_window_seconds, created_at, updated_at, version"

func scanContactMethod(r db.Scanner) (Method, error) {
	var m Method
	var headers string
	var created, updated int64
	if err := r.Scan(&m.ID, &m.UserID, &m.Kind, &m.Label, &m.Address, &m.Secret, &headers, &m.RateLimit,
		&m.RateWindowSeconds, &created, &updated, &m.Version); err != nil {
		return m, err
	}
	m.RateWindow = time.Duration(m.RateWindowSeconds) * time.Second
	m.CreatedAt, m.UpdatedAt = clock.FromMillis(created), clock.FromMillis(updated)
	if err := json.Unmarshal([]byte(headers), &m.Headers); err != nil {
		return m, fmt.Errorf("contact method %d: headers: %w", m.ID, err)
	}
	if m.Headers == nil {
		m.Headers = map[string]string{}
	}
	return m, nil
}

// MethodByID returns one contact method through q, without access checks.
func (c *Contacts) MethodByID(ctx context.Context, q db.Querier, id int64) (Method, error) {
	m, err := scanContactMethod(q.QueryRowContext(ctx, "SELECT "+contactMethodCols+" FROM contact_methods WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return m, errs.NotFound("contact method %d not found", id)
	}
	return m, db.Classify(err)
}

// contactMethodOf returns a method of user userID; another user's is not found.
func contactMethodOf(ctx context.Context, q db.Querier, userID, id int64) (Method, error) {
	m, err := scanContactMethod(q.QueryRowContext(ctx, "SELECT "+contactMethodCols+" FROM contact_methods WHERE id = $1 AND user_id = $2", id, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return m, errs.NotFound("user %d has no contact method %d", userID, id)
	}
	return m, db.Classify(err)
}

// Methods lists a user's contact methods by id.
func (c *Contacts) Methods(ctx context.Context, userID int64) ([]Method, error) {
	if err := c.allowed(ctx, userID); err != nil {
		return nil, err
	}
	out, err := db.All(ctx, c.DB.R, scanContactMethod, "SELECT "+contactMethodCols+" FROM contact_methods WHERE user_id = $1 ORDER BY id", userID)
	if out == nil {
		out = []Method{}
	}
	return out, err
}

// GetMethod returns one of a user's contact methods.
func (c *Contacts) GetMethod(ctx context.Context, userID, id int64) (Method, error) {
	if err := c.allowed(ctx, userID); err != nil {
		return Method{}, err
	}
	return contactMethodOf(ctx, c.DB.R, userID, id)
}

// newSigningSecret is a webhook signing key: 32 random bytes, base64url.
func newSigningSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

func contactJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// contactAuditAddress is a method's address as the audit trail keeps it: an email
// address whole, a URL only to its host, since chat and webhook URLs often
// carry a token in their path or query.
func contactAuditAddress(kind, address string) string {
	if kind == KindEmail {
		return address
	}
	return RedactURL(address)
}

// contactHeaderNames lists header names (never their values, which may be
// credentials), sorted.
func contactHeaderNames(h map[string]string) []string {
	out := make([]string, 0, len(h))
	for k := range h {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// CreateMethod adds a contact method to user userID. A webhook gets a new
// signing secret, returned in this answer only.
func (c *Contacts) CreateMethod(ctx context.Context, userID int64, in NewMethod) (CreatedMethod, error) {
	if err := c.CheckAccess(ctx, userID); err != nil {
		return CreatedMethod{}, err
	}
	m := Method{UserID: userID, Kind: strings.TrimSpace(in.Kind), Label: strings.TrimSpace(in.Label),
		Address: strings.TrimSpace(in.Address), Headers: copyContactHeaders(in.Headers),
		RateLimit: DefaultMethodRateLimit, RateWindowSeconds: DefaultMethodRateWindow}
	if in.RateLimit != nil {
		m.RateLimit = *in.RateLimit
	}
	if in.RateWindowSeconds != nil {
		m.RateWindowSeconds = *in.RateWindowSeconds
	}
	if err := validateContactMethod(&m); err != nil {
		return CreatedMethod{}, err
	}
	if m.Kind == KindWebhook {
		m.Secret = newSigningSecret()
	}
	m.RateWindow = time.Duration(m.RateWindowSeconds) * time.Second
	now := c.Clock.Now().UTC().Truncate(time.Millisecond)
	m.CreatedAt, m.UpdatedAt, m.Version = now, now, 1
	err := c.DB.Tx(ctx, func(tx *sql.Tx) error {
		email, err := contactUserEmail(ctx, tx, userID)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM contact_methods WHERE user_id = $1", userID).Scan(&n); err != nil {
			return err
		}
		if n >= MaxMethodsPerUser {
			return errs.Conflict("a user may have at most %d contact methods", MaxMethodsPerUser)
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO contact_methods
			(user_id, kind, label, address, secret, headers, rate_limit, rate_window_seconds, created_at, updated_at, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, 1) RETURNING id`,
			userID, m.Kind, m.Label, m.Address, m.Secret, contactJSON(m.Headers), m.RateLimit, m.RateWindowSeconds,
			now.UnixMilli()).Scan(&m.ID); err != nil {
			return err
		}
		return c.Audit.Record(ctx, tx, audit.Event{Action: "contact_method.create", ObjectType: "contact_method", ObjectID: m.ID,
			Summary: fmt.Sprintf("added a %s contact method for %s", m.Kind, email),
			Changes: map[string]any{"user_id": userID, "kind": m.Kind, "label": m.Label, "address": contactAuditAddress(m.Kind, m.Address),
				"headers": contactHeaderNames(m.Headers), "rate_limit": m.RateLimit, "rate_window_seconds": m.RateWindowSeconds}})
	})
	if err != nil {
		return CreatedMethod{}, err
	}
	return CreatedMethod{Method: m, Secret: m.Secret}, nil
}

// UpdateMethod changes a contact method. ifVersion > 0 makes the write fail
// with KindPreconditionFailed when the method changed meanwhile.
func (c *Contacts) UpdateMethod(ctx context.Context, userID, id int64, p MethodPatch, ifVersion int64) (Method, error) {
	if err := c.CheckAccess(ctx, userID); err != nil {
		return Method{}, err
	}
	var out Method
	err := c.DB.Tx(ctx, func(tx *sql.Tx) error {
		email, err := contactUserEmail(ctx, tx, userID)
		if err != nil {
			return err
		}
		old, err := contactMethodOf(ctx, tx, userID, id)
		if err != nil {
			return err
		}
		if ifVersion > 0 && old.Version != ifVersion {
			return errs.PreconditionFailed("contact method %d has changed (version %d, not %d)", id, old.Version, ifVersion)
		}
		m := old
		if p.Label != nil {
			m.Label = strings.TrimSpace(*p.Label)
		}
		if p.Address != nil {
			m.Address = strings.TrimSpace(*p.Address)
		}
		if p.Headers != nil {
			m.Headers = copyContactHeaders(*p.Headers)
		}
		if p.RateLimit != nil {
			m.RateLimit = *p.RateLimit
		}
		if p.RateWindowSeconds != nil {
			m.RateWindowSeconds = *p.RateWindowSeconds
		}
		if err := validateContactMethod(&m); err != nil {
			return err
		}
		if m.Label == old.Label && m.Address == old.Address && maps.Equal(m.Headers, old.Headers) &&
			m.RateLimit == old.RateLimit && m.RateWindowSeconds == old.RateWindowSeconds {
			out = old // nothing to change: no new version, no audit entry
			return nil
		}
		now := c.Clock.Now().UTC().Truncate(time.Millisecond)
		out, err = scanContactMethod(tx.QueryRowContext(ctx, `UPDATE contact_methods SET label = $1, address = $2, headers = $3,
			rate_limit = $4, rate_window_seconds = $5, updated_at = $6, version = version + 1 WHERE id = $7 RETURNING `+contactMethodCols,
			m.Label, m.Address, contactJSON(m.Headers), m.RateLimit, m.RateWindowSeconds, now.UnixMilli(), id))
		if err != nil {
			return err
		}
		ch := audit.Diff("label", old.Label, out.Label, "address", contactAuditAddress(old.Kind, old.Address), contactAuditAddress(out.Kind, out.Address),
			"rate_limit", old.RateLimit, out.RateLimit, "rate_window_seconds", old.RateWindowSeconds, out.RateWindowSeconds)
		if p.Headers != nil {
			ch["headers"] = contactHeaderNames(out.Headers)
		}
		if old.Address != out.Address && ch["address"] == nil {
			ch["address"] = "changed"
		}
		return c.Audit.Record(ctx, tx, audit.Event{Action: "contact_method.update", ObjectType: "contact_method", ObjectID: id,
			Summary: fmt.Sprintf("changed a %s contact method of %s", out.Kind, email), Changes: ch})
	})
	return out, err
}

// DeleteMethod removes a contact method, and with it the notification rules
// that use it.
func (c *Contacts) DeleteMethod(ctx context.Context, userID, id int64) error {
	if err := c.CheckAccess(ctx, userID); err != nil {
		return err
	}
	return c.DB.Tx(ctx, func(tx *sql.Tx) error {
		email, err := contactUserEmail(ctx, tx, userID)
		if err != nil {
			return err
		}
		m, err := contactMethodOf(ctx, tx, userID, id)
		if err != nil {
			return err
		}
		var rules int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM notification_rules WHERE contact_method_id = $1", id).Scan(&rules); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM contact_methods WHERE id = $1", id); err != nil {
			return err
		}
		return c.Audit.Record(ctx, tx, audit.Event{Action: "contact_method.delete", ObjectType: "contact_method", ObjectID: id,
			Summary: fmt.Sprintf("deleted a %s contact method of %s and its %s", m.Kind, email, delayUnit(rules, "notification rule")),
			Changes: map[string]any{"user_id": userID, "kind": m.Kind, "label": m.Label, "address": contactAuditAddress(m.Kind, m.Address),
				"rules_deleted": rules}})
	})
}

// RotateSecret gives a webhook method a new signing secret and returns it,
// once; the old one stops working at once.
func (c *Contacts) RotateSecret(ctx context.Context, userID, id int64) (CreatedMethod, error) {
	if err := c.CheckAccess(ctx, userID); err != nil {
		return CreatedMethod{}, err
	}
	var out Method
	secret := newSigningSecret()
	err := c.DB.Tx(ctx, func(tx *sql.Tx) error {
		email, err := contactUserEmail(ctx, tx, userID)
		if err != nil {
			return err
		}
		m, err := contactMethodOf(ctx, tx, userID, id)
		if err != nil {
			return err
		}
		if m.Kind != KindWebhook {
			return errs.Conflict("only webhook contact methods have a signing secret; this one is %s", m.Kind)
		}
		now := c.Clock.Now().UTC().Truncate(time.Millisecond)
		out, err = scanContactMethod(tx.QueryRowContext(ctx, `UPDATE contact_methods SET secret = $1, updated_at = $2, version = version + 1
			WHERE id = $3 RETURNING `+contactMethodCols, secret, now.UnixMilli(), id))
		if err != nil {
			return err
		}
		return c.Audit.Record(ctx, tx, audit.Event{Action: "contact_method.rotate_secret", ObjectType: "contact_method", ObjectID: id,
			Summary: "rotated the signing secret of a webhook contact method of " + email,
			Changes: map[string]any{"secret": "rotated"}})
	})
	if err != nil {
		return CreatedMethod{}, err
	}
	return CreatedMethod{Method: out, Secret: out.Secret}, nil
}

// ---- notification rules ----

const notifyRuleCols = `r.id, r.user_id, r.contact_method_id, r.delay_minutes, r.created_at,
	m.id, m.user_id, m.kind, m.label, m.address, m.secret, m.headers, m.rate_limit, m.rate_window_seconds, m.created_at, m.updated_at, m.version`

const notifyRuleFrom = " FROM notification_rules r JOIN contact_methods m ON m.id = r.contact_method_id"

func scanNotifyRule(r db.Scanner) (Rule, error) {
	var ru Rule
	var created, mCreated, mUpdated int64
	var headers string
	m := &ru.Method
	if err := r.Scan(&ru.ID, &ru.UserID, &ru.MethodID, &ru.DelayMinutes, &created,
		&m.ID, &m.UserID, &m.Kind, &m.Label, &m.Address, &m.Secret, &headers, &m.RateLimit, &m.RateWindowSeconds,
		&mCreated, &mUpdated, &m.Version); err != nil {
		return ru, err
	}
	ru.CreatedAt = clock.FromMillis(created)
	m.CreatedAt, m.UpdatedAt = clock.FromMillis(mCreated), clock.FromMillis(mUpdated)
	m.RateWindow = time.Duration(m.RateWindowSeconds) * time.Second
	if err := json.Unmarshal([]byte(headers), &m.Headers); err != nil {
		return ru, fmt.Errorf("contact method %d: headers: %w", m.ID, err)
	}
	if m.Headers == nil {
		m.Headers = map[string]string{}
	}
	ru.MethodKind, ru.MethodLabel = m.Kind, m.Label
	return ru, nil
}

// RulesFor returns a user's rules with their methods (secret and rate
// window included), through q, ordered by delay and then id. It checks no
// access: it is for Steady itself.
func (c *Contacts) RulesFor(ctx context.Context, q db.Querier, userID int64) ([]Rule, error) {
	out, err := db.All(ctx, q, scanNotifyRule, "SELECT "+notifyRuleCols+notifyRuleFrom+" WHERE r.user_id = $1 ORDER BY r.delay_minutes, r.id", userID)
	if out == nil {
		out = []Rule{}
	}
	return out, err
}

// Rules lists a user's notification rules by delay, then id.
func (c *Contacts) Rules(ctx context.Context, userID int64) ([]Rule, error) {
	if err := c.allowed(ctx, userID); err != nil {
		return nil, err
	}
	return c.RulesFor(ctx, c.DB.R, userID)
}

// CreateRule adds a notification rule for user userID; its method must be
// one of the user's, and no other rule of that method may have the same
// delay.
func (c *Contacts) CreateRule(ctx context.Context, userID int64, in NewRule) (Rule, error) {
	if err := c.CheckAccess(ctx, userID); err != nil {
		return Rule{}, err
	}
	var f errs.Fields
	f.Check(in.MethodID < 1, "contact_method_id", "is required")
	f.Check(in.DelayMinutes < 0 || in.DelayMinutes > MaxRuleDelayMinutes, "delay_minutes", fmt.Sprintf("must be from 0 to %d", MaxRuleDelayMinutes))
	if err := f.Err(); err != nil {
		return Rule{}, err
	}
	var out Rule
	err := c.DB.Tx(ctx, func(tx *sql.Tx) error {
		email, err := contactUserEmail(ctx, tx, userID)
		if err != nil {
			return err
		}
		m, err := contactMethodOf(ctx, tx, userID, in.MethodID)
		if errs.Is(err, errs.KindNotFound) {
			return errs.Invalid("contact_method_id", "names none of this user's contact methods")
		} else if err != nil {
			return err
		}
		var n, dup int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(CASE WHEN contact_method_id = $2 AND delay_minutes = $3 THEN 1 END)
			FROM notification_rules WHERE user_id = $1`, userID, in.MethodID, in.DelayMinutes).Scan(&n, &dup); err != nil {
			return err
		}
		if dup > 0 {
			return errs.Invalid("delay_minutes", "this contact method already has a rule with this delay")
		}
		if n >= MaxRulesPerUser {
			return errs.Conflict("a user may have at most %d notification rules", MaxRulesPerUser)
		}
		var id int64
		now := c.Clock.Now().UTC().Truncate(time.Millisecond)
		if err := tx.QueryRowContext(ctx, `INSERT INTO notification_rules (user_id, contact_method_id, delay_minutes, created_at)
			VALUES ($1, $2, $3, $4) RETURNING id`, userID, in.MethodID, in.DelayMinutes, now.UnixMilli()).Scan(&id); err != nil {
			if db.IsUniqueViolation(err) {
				return errs.Invalid("delay_minutes", "this contact method already has a rule with this delay")
			}
			return err
		}
		out = Rule{ID: id, UserID: userID, MethodID: m.ID, DelayMinutes: in.DelayMinutes, Method: m,
			MethodKind: m.Kind, MethodLabel: m.Label, CreatedAt: now}
		return c.Audit.Record(ctx, tx, audit.Event{Action: "notification_rule.create", ObjectType: "notification_rule", ObjectID: id,
			Summary: fmt.Sprintf("added a rule for %s: %s %s", email, m.Kind, RuleDelayText(in.DelayMinutes)),
			Changes: map[string]any{"user_id": userID, "contact_method_id": m.ID, "delay_minutes": in.DelayMinutes}})
	})
	return out, err
}

// DeleteRule removes one of a user's notification rules.
func (c *Contacts) DeleteRule(ctx context.Context, userID, id int64) error {
	if err := c.CheckAccess(ctx, userID); err != nil {
		return err
	}
	return c.DB.Tx(ctx, func(tx *sql.Tx) error {
		email, err := contactUserEmail(ctx, tx, userID)
		if err != nil {
			return err
		}
		ru, err := scanNotifyRule(tx.QueryRowContext(ctx, "SELECT "+notifyRuleCols+notifyRuleFrom+" WHERE r.id = $1 AND r.user_id = $2", id, userID))
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFound("user %d has no notification rule %d", userID, id)
		} else if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM notification_rules WHERE id = $1", id); err != nil {
			return err
		}
		return c.Audit.Record(ctx, tx, audit.Event{Action: "notification_rule.delete", ObjectType: "notification_rule", ObjectID: id,
			Summary: fmt.Sprintf("deleted a rule of %s: %s %s", email, ru.MethodKind, RuleDelayText(ru.DelayMinutes)),
			Changes: map[string]any{"user_id": userID, "contact_method_id": ru.MethodID, "delay_minutes": ru.DelayMinutes}})
	})
}

// RuleDelayText says when a rule sends: "at once", "after 5 minutes",
// "after 1 hour 30 minutes".
func RuleDelayText(minutes int) string {
	if minutes <= 0 {
		return "at once"
	}
	h, m := minutes/60, minutes%60
	var parts []string
	if h > 0 {
		parts = append(parts, delayUnit(h, "hour"))
	}
	if m > 0 {
		parts = append(parts, delayUnit(m, "minute"))
	}
	return "after " + strings.Join(parts, " ")
}

func delayUnit(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/ids"
	"github.com/steadyhq/steady/internal/platform/jobs"
	"github.com/steadyhq/steady/internal/platform/page"
)

// TimelineFunc appends an entry to an incident's timeline in tx.
type TimelineFunc func(ctx context.Context, tx *sql.Tx, incidentID int64, kind, body string, data map[string]any) error

// Outbox is the durable queue of messages: rows are written in the
// transaction of what caused them (an escalation step) and delivered by
// Deliver, at least once, each with its idempotency key so that the receiving
// side can drop a repeat.
type Outbox struct {
	DB        *db.DB
	Audit     *audit.Log
	Clock     clock.Clock
	Log       *slog.Logger
	Contacts  *Contacts
	Templates *Templates
	Channels  *Channels
	Signer    Signer
	// BaseURL is the server's public URL, for links in messages.
	BaseURL  string
	Timeline TimelineFunc
	// LinkTTL is how long one-click links work (DefaultLinkTTL when 0).
	LinkTTL time.Duration
	// Workers is how many messages are sent at once (DefaultWorkers when 0).
	Workers int
	// Wake is poked when a message is queued that is due now.
	Wake jobs.Signal
}

// Outbox item kinds and states.
const (
	ItemPage    = "page"
	ItemSummary = "summary"
	ItemTest    = "test"

	StatusPending    = "pending"
	StatusSending    = "sending"
	StatusDelivered  = "delivered"
	StatusFailed     = "failed" // a dead letter: no more attempts
	StatusCancelled  = "cancelled"
	StatusHeld       = "held" // over the contact method's rate limit: goes out in a summary
	StatusSummarized = "summarized"
)

// DefaultLinkTTL is how long one-click links work by default.
const DefaultLinkTTL = 24 * time.Hour

// Item is one outbox row.
type Item struct {
	ID             int64      `json:"id"`
	IdempotencyKey string     `json:"idempotency_key"`
	Kind           string     `json:"kind"`
	Status         string     `json:"status"`
	UserID         *int64     `json:"user_id"`
	MethodID       *int64     `json:"contact_method_id"`
	Channel        string     `json:"channel"`
	Address        string     `json:"address"`
	IncidentID     *int64     `json:"incident_id"`
	SummaryID      *int64     `json:"summary_id"`
	Subject        string     `json:"subject"`
	Attempts       int        `json:"attempts"`
	NextAttemptAt  time.Time  `json:"next_attempt_at"`
	LastError      string     `json:"last_error"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	DeliveredAt    *time.Time `json:"delivered_at"`
	// Attempts made, oldest first; filled in by Get.
	History []Attempt `json:"history,omitempty"`
}

// Attempt is one try to deliver an item.
type Attempt struct {
	At         time.Time `json:"at"`
	DurationMS int64     `json:"duration_ms"`
	OK         bool      `json:"ok"`
	Error      string    `json:"error"`
}

// stored is what an outbox row's body holds: the rendered message and the
// data it was made from (webhooks send the data as JSON).
type stored struct {
	Message Message     `json:"message"`
	Data    MessageData `json:"data"`
}

// Page is one user paged for an incident by one escalation step; the step's
// numbers make the idempotency keys of its messages.
type Page struct {
	IncidentID int64
	UserID     int64
	Epoch      int
	Pass       int
	Level      int
	Reason     string
}

const itemColumns = `id, idempotency_key, kind, status, user_id, contact_method_id, channel, address, incident_id, summary_id,
	subject, attempts, next_attempt_at, last_error, created_at, updated_at, delivered_at`

func scanItem(r db.Scanner) (Item, error) {
	var it Item
	var user, method, inc, summary, delivered sql.NullInt64
	var next, created, updated int64
	err := r.Scan(&it.ID, &it.IdempotencyKey, &it.Kind, &it.Status, &user, &method, &it.Channel, &it.Address, &inc, &summary,
		&it.Subject, &it.Attempts, &next, &it.LastError, &created, &updated, &delivered)
	it.UserID, it.MethodID, it.IncidentID, it.SummaryID = db.IDPtr(user), db.IDPtr(method), db.IDPtr(inc), db.IDPtr(summary)
	it.NextAttemptAt, it.CreatedAt, it.UpdatedAt = clock.FromMillis(next), clock.FromMillis(created), clock.FromMillis(updated)
	if delivered.Valid {
		t := clock.FromMillis(delivered.Int64)
		it.DeliveredAt = &t
	}
	return it, err
}

func (o *Outbox) base() string { return strings.TrimRight(o.BaseURL, "/") }

// incidentInfo reads what a message says about an incident.
func (o *Outbox) incidentInfo(ctx context.Context, q db.Querier, id int64) (IncidentInfo, error) {
	var in IncidentInfo
	var created int64
	var service sql.NullString
	err := q.QueryRowContext(ctx, `SELECT i.id, i.title, i.status, i.priority, i.severity, i.created_at, s.name
		FROM incidents i LEFT JOIN services s ON s.id = i.service_id WHERE i.id = $1`, id).
		Scan(&in.ID, &in.Title, &in.Status, &in.Priority, &in.Severity, &created, &service)
	if err != nil {
		return in, fmt.Errorf("incident %d: %w", id, err)
	}
	in.Number = "INC-" + strconv.FormatInt(id, 10)
	in.Service = service.String
	in.CreatedAt = clock.FromMillis(created)
	in.URL = o.base() + "/incidents/" + strconv.FormatInt(id, 10)
	return in, nil
}

// PageUser queues the messages that page one user, in tx: one per
// notification rule (delayed rules wait; acknowledging cancels them), or an
// email to the account's address at once when the user has no rules. It
// returns how the user is reached, for the timeline; none when the user
// cannot be reached (no rules, and no mail server).
func (o *Outbox) PageUser(ctx context.Context, tx *sql.Tx, p Page) ([]string, error) {
	var name, email string
	if err := tx.QueryRowContext(ctx, "SELECT name, email FROM users WHERE id = $1", p.UserID).Scan(&name, &email); err != nil {
		return nil, fmt.Errorf("user %d: %w", p.UserID, err)
	}
	in, err := o.incidentInfo(ctx, tx, p.IncidentID)
	if err != nil {
		return nil, err
	}
	rules, err := o.Contacts.RulesFor(ctx, tx, p.UserID)
	if err != nil {
		return nil, err
	}
	now := o.Clock.Now()
	ttl := o.LinkTTL
	if ttl == 0 {
		ttl = DefaultLinkTTL
	}
	link := func(action string) string {
		return o.base() + "/l/" + o.Signer.Sign(Link{Action: action, IncidentID: p.IncidentID, UserID: p.UserID, Expires: now.Add(ttl)})
	}
	data := MessageData{Kind: ItemPage, Recipient: name, Incident: in, Level: p.Level, Reason: p.Reason,
		AcknowledgeURL: link(ActionAcknowledge), ResolveURL: link(ActionResolve), BaseURL: o.base()}
	msg, err := o.Templates.Render(ctx, tx, data)
	if err != nil {
		return nil, fmt.Errorf("render the page: %w", err)
	}
	if len(rules) == 0 {
		if o.Channels == nil || o.Channels.SMTP.Host == "" {
			return nil, nil // not reachable: no contact methods, and no mail server
		}
		// The account's address, with the default rate limit of a method.
		rules = []Rule{{Method: Method{Kind: KindEmail, Address: email, UserID: p.UserID,
			RateLimit: DefaultMethodRateLimit, RateWindow: DefaultMethodRateWindow * time.Second}}}
	}
	var how []string
	for _, r := range rules {
		key := fmt.Sprintf("page-%d-%d-%d-%d-%d-%d", p.IncidentID, p.Epoch, p.Pass, p.Level, p.UserID, r.ID)
		at := now.Add(time.Duration(r.DelayMinutes) * time.Minute)
		status := StatusPending
		var summary any
		over, sid, err := o.overLimit(ctx, tx, r.Method, name, now)
		if err != nil {
			return nil, err
		}
		if over {
			status, summary = StatusHeld, sid
		}
		if err := o.insert(ctx, tx, key, ItemPage, status, &p.UserID, r.Method, &p.IncidentID, summary, msg, data, at); err != nil {
			return nil, err
		}
		h := r.Method.Kind
		if r.DelayMinutes > 0 {
			h += fmt.Sprintf(" after %dm", r.DelayMinutes)
		}
		if status == StatusHeld {
			h += " held by its rate limit"
		}
		how = append(how, h)
	}
	o.Wake.Poke()
	return how, nil
}

// overLimit reports whether a contact method has had its rate limit of
// messages in the current window; if so it makes sure one summary waits for
// the end of the window and returns its id.
func (o *Outbox) overLimit(ctx context.Context, tx *sql.Tx, m Method, recipient string, now time.Time) (bool, int64, error) {
	if m.RateLimit <= 0 || m.RateWindow <= 0 {
		return false, 0, nil
	}
	// A method counts its own messages; the account-address email (no
	// method) counts the user's.
	q, arg, key := `contact_method_id = $1`, m.ID, fmt.Sprintf("summary-%d", m.ID)
	if m.ID == 0 {
		q, arg, key = `user_id = $1 AND contact_method_id IS NULL AND channel = 'email'`, m.UserID, fmt.Sprintf("summary-u%d", m.UserID)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE `+q+` AND created_at > $2
		AND kind IN ('page', 'summary') AND status IN ('pending', 'sending', 'delivered', 'failed')`,
		arg, now.Add(-m.RateWindow).UnixMilli()).Scan(&n); err != nil {
		return false, 0, err
	}
	if n < m.RateLimit {
		return false, 0, nil
	}
	// One summary per method and window, sent when the window ends.
	w := m.RateWindow.Milliseconds()
	end := (now.UnixMilli()/w + 1) * w
	key = fmt.Sprintf("%s-%d", key, end)
	var id int64
	err := tx.QueryRowContext(ctx, "SELECT id FROM outbox WHERE idempotency_key = $1", key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		data := MessageData{Kind: ItemSummary, Recipient: recipient, BaseURL: o.base()}
		if err := o.insert(ctx, tx, key, ItemSummary, StatusPending, &m.UserID, m, nil, nil,
			Message{Subject: "Pages held back by a rate limit"}, data, time.UnixMilli(end)); err != nil {
			return false, 0, err
		}
		err = tx.QueryRowContext(ctx, "SELECT id FROM outbox WHERE idempotency_key = $1", key).Scan(&id)
	}
	return true, id, err
}

// insert writes an outbox row; a row with the same key already queued wins
// (a replayed step queues nothing twice).
func (o *Outbox) insert(ctx context.Context, tx *sql.Tx, key, kind, status string, user *int64, m Method, incident *int64,
	summary any, msg Message, data MessageData, at time.Time) error {
	body, err := json.Marshal(stored{Message: msg, Data: data})
	if err != nil {
		return err
	}
	var method any
	if m.ID != 0 {
		method = m.ID
	}
	var inc any
	if incident != nil {
		inc = *incident
	}
	var uid any
	if user != nil {
		uid = *user
	}
	now := o.Clock.Now().UnixMilli()
	_, err = tx.ExecContext(ctx, `INSERT INTO outbox (idempotency_key, kind, status, user_id, contact_method_id, channel, address,
			incident_id, summary_id, subject, body, next_attempt_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)
		ON CONFLICT (idempotency_key) DO NOTHING`,
		key, kind, status, uid, method, m.Kind, m.Address, inc, summary, oneLine(msg.Subject, 500), string(body), at.UnixMilli(), now)
	return err
}

// CancelIncident drops the incident's pages not yet delivered (the incident
// was acknowledged, resolved or handed to someone else), in tx. A page being
// sent right now is cancelled too: if this attempt fails, it is not retried.
func (o *Outbox) CancelIncident(ctx context.Context, tx *sql.Tx, incidentID int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'cancelled', lease_until = NULL, updated_at = $1
		WHERE incident_id = $2 AND kind = 'page' AND status IN ('pending', 'held', 'sending')`, o.Clock.Now().UnixMilli(), incidentID)
	return err
}

// EnqueueTest queues a test message to one of the caller's contact methods
// (an admin may test anyone's).
func (o *Outbox) EnqueueTest(ctx context.Context, methodID int64) (Item, error) {
	m, err := o.Contacts.MethodByID(ctx, o.DB.R, methodID)
	if err != nil {
		return Item{}, err
	}
	if p, ok := iam.PrincipalFrom(ctx); ok && p.UserID != m.UserID && !p.Role.AtLeast(iam.RoleAdmin) {
		return Item{}, errs.NotFound("no contact method %d", methodID)
	}
	var out Item
	err = o.DB.Tx(ctx, func(tx *sql.Tx) error {
		var name string
		if err := tx.QueryRowContext(ctx, "SELECT name FROM users WHERE id = $1", m.UserID).Scan(&name); err != nil {
			return err
		}
		data := MessageData{Kind: ItemTest, Recipient: name, BaseURL: o.base()}
		msg, err := o.Templates.Render(ctx, tx, data)
		if err != nil {
			return err
		}
		key := "test-" + strconv.FormatInt(m.ID, 10) + "-" + ids.Random(8)
		if err := o.insert(ctx, tx, key, ItemTest, StatusPending, &m.UserID, m, nil, nil, msg, data, o.Clock.Now()); err != nil {
			return err
		}
		if err := o.Audit.Record(ctx, tx, audit.Event{Action: "notification.test", ObjectType: "contact_method", ObjectID: m.ID,
			Summary: "sent a test notification by " + m.Kind + " to " + name}); err != nil {
			return err
		}
		out, err = getItem(ctx, tx, key)
		return err
	})
	o.Wake.Poke()
	return out, err
}

func getItem(ctx context.Context, q db.Querier, key string) (Item, error) {
	return scanItem(q.QueryRowContext(ctx, "SELECT "+itemColumns+" FROM outbox WHERE idempotency_key = $1", key))
}

// Filter narrows a list of outbox items.
type Filter struct {
	Status     string
	IncidentID int64
	UserID     int64
}

// Validate checks the filter.
func (f Filter) Validate() error {
	switch f.Status {
	case "", StatusPending, StatusSending, StatusDelivered, StatusFailed, StatusCancelled, StatusHeld, StatusSummarized:
		return nil
	}
	return errs.Invalid("status", "must be pending, sending, delivered, failed, cancelled, held or summarized")
}

// List returns outbox items, newest first (managers; others see their own).
func (o *Outbox) List(ctx context.Context, f Filter, p page.Request) (page.List[Item], error) {
	if err := f.Validate(); err != nil {
		return page.List[Item]{}, err
	}
	if pr, ok := iam.PrincipalFrom(ctx); ok && !pr.Role.AtLeast(iam.RoleManager) {
		if pr.UserID == 0 {
			return page.List[Item]{}, errs.Forbidden("the outbox needs the manager role")
		}
		f.UserID = pr.UserID
	}
	q := "SELECT " + itemColumns + " FROM outbox WHERE 1 = 1"
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		q += fmt.Sprintf(" AND %s $%d", cond, len(args))
	}
	if f.Status != "" {
		add("status =", f.Status)
	}
	if f.IncidentID != 0 {
		add("incident_id =", f.IncidentID)
	}
	if f.UserID != 0 {
		add("user_id =", f.UserID)
	}
	if p.After != 0 {
		add("id <", p.After)
	}
	args = append(args, p.Limit+1)
	q += fmt.Sprintf(" ORDER BY id DESC LIMIT $%d", len(args))
	items, err := db.All(ctx, o.DB.R, scanItem, q, args...)
	if err != nil {
		return page.List[Item]{}, err
	}
	for i := range items {
		redactFor(ctx, &items[i])
	}
	return page.Cut(items, p, func(it Item) int64 { return it.ID }), nil
}

// redactFor hides the secret part of a URL address from anyone but the
// item's recipient.
func redactFor(ctx context.Context, it *Item) {
	if it.Channel == KindEmail {
		return
	}
	if pr, ok := iam.PrincipalFrom(ctx); ok && it.UserID != nil && pr.UserID == *it.UserID {
		return
	}
	it.Address = RedactURL(it.Address)
}

// Get returns one item with its attempts (a manager's, or the caller's own).
func (o *Outbox) Get(ctx context.Context, id int64) (Item, error) {
	it, err := scanItem(o.DB.R.QueryRowContext(ctx, "SELECT "+itemColumns+" FROM outbox WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Item{}, errs.NotFound("no outbox item %d", id)
	}
	if err != nil {
		return Item{}, err
	}
	if pr, ok := iam.PrincipalFrom(ctx); ok && !pr.Role.AtLeast(iam.RoleManager) && (it.UserID == nil || *it.UserID != pr.UserID) {
		return Item{}, errs.NotFound("no outbox item %d", id)
	}
	redactFor(ctx, &it)
	it.History, err = db.All(ctx, o.DB.R, func(r db.Scanner) (Attempt, error) {
		var a Attempt
		var at int64
		err := r.Scan(&at, &a.DurationMS, &a.OK, &a.Error)
		a.At = clock.FromMillis(at)
		return a, err
	}, "SELECT at, duration_ms, ok, error FROM outbox_attempts WHERE outbox_id = $1 ORDER BY id", id)
	if it.History == nil {
		it.History = []Attempt{}
	}
	return it, err
}

// Retry puts a dead letter (or a cancelled item) back in the queue with a
// fresh set of attempts.
func (o *Outbox) Retry(ctx context.Context, id int64) (Item, error) {
	if err := iam.Require(ctx, iam.RoleManager); err != nil {
		return Item{}, err
	}
	var out Item
	err := o.DB.Tx(ctx, func(tx *sql.Tx) error {
		it, err := scanItem(tx.QueryRowContext(ctx, "SELECT "+itemColumns+" FROM outbox WHERE id = $1", id))
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFound("no outbox item %d", id)
		}
		if err != nil {
			return err
		}
		if it.Status != StatusFailed && it.Status != StatusCancelled {
			return errs.Conflict("outbox item %d is %s: only failed or cancelled items can be retried", id, it.Status)
		}
		now := o.Clock.Now().UnixMilli()
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $1, updated_at = $1,
			lease_until = NULL WHERE id = $2`, now, id); err != nil {
			return err
		}
		if err := o.Audit.Record(ctx, tx, audit.Event{Action: "outbox.retry", ObjectType: "outbox", ObjectID: id,
			Summary: fmt.Sprintf("queued %s %d again (%s to %s)", it.Kind, id, it.Channel, addressText(it)),
			Changes: audit.Diff("status", it.Status, StatusPending)}); err != nil {
			return err
		}
		out, err = getItem(ctx, tx, it.IdempotencyKey)
		redactFor(ctx, &out)
		return err
	})
	o.Wake.Poke()
	return out, err
}

// addressText is an item's address as the audit trail and the timeline
// show it: an email address, or a URL without its secret part.
func addressText(it Item) string {
	if it.Channel == KindEmail {
		return it.Address
	}
	return RedactURL(it.Address)
}

// PruneOutbox deletes settled messages (delivered, cancelled, summarized,
// dead letters) last changed before before, with their attempts, a batch at a
// time; it returns how many it deleted.
func PruneOutbox(ctx context.Context, d *db.DB, before time.Time) (int64, error) {
	var total int64
	for {
		res, err := d.W.ExecContext(ctx, `DELETE FROM outbox WHERE id IN (SELECT id FROM outbox
			WHERE status IN ('delivered', 'cancelled', 'summarized', 'failed') AND updated_at < $1 LIMIT 5000)`, before.UnixMilli())
		if err != nil {
			return total, err
		}
		n, _ := res.RowsAffected()
		total += n
		if n < 5000 {
			return total, nil
		}
	}
}

// Counts returns how many items are in each state (for the outbox page and
// metrics).
func (o *Outbox) Counts(ctx context.Context) (map[string]int, error) {
	rows, err := o.DB.R.QueryContext(ctx, "SELECT status, COUNT(*) FROM outbox GROUP BY status")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/steadyhq/steady/internal/platform/db"
)

// Delivery settings.
const (
	// DefaultWorkers is how many messages are sent at once.
	DefaultWorkers = 16
	// DeliverBatch is how many due items one claim takes: few enough that
	// the workers send them all well within the lease, even when every
	// receiver times out.
	DeliverBatch = 4 * DefaultWorkers
	// MaxAttempts is how many times an item is tried before it becomes a
	// dead letter (about 70 minutes of retries with the backoff below).
	MaxAttempts = 12
	// RetryBase and RetryMax bound the exponential backoff between attempts.
	RetryBase = 10 * time.Second
	RetryMax  = 10 * time.Minute
	// Lease is how long a claimed item is left to its sender before another
	// one may take it (a sender that died mid-send). A batch takes at most
	// DeliverBatch/DefaultWorkers × sendTimeout (2 minutes) to send.
	Lease = 5 * time.Minute
	// sendTimeout caps one attempt.
	sendTimeout = 30 * time.Second
	// maxHeld is how many held pages a summary lists by name.
	maxHeld = 50
)

type claimed struct {
	Item
	body string
	// lease is the lease_until the claim set: the settle changes the item
	// only if it still holds this lease (no other sender took it over).
	lease int64
}

type outcome struct {
	err        error
	duration   time.Duration
	retryAfter time.Duration
	skip       bool // nothing left to send (a summary whose pages were all cancelled)
}

// Deliver sends every item that is due, and returns how many it tried. Items
// are claimed in a transaction (a lease, so that two senders never hold the
// same item and a dead sender's items come back), sent concurrently, and
// settled in one transaction per batch: delivered, retried later with
// exponential backoff, or moved to the dead letters.
func (o *Outbox) Deliver(ctx context.Context) (int, error) {
	total := 0
	for {
		batch, err := o.claim(ctx)
		if err != nil || len(batch) == 0 {
			return total, err
		}
		results := o.sendAll(ctx, batch)
		if err := o.settle(context.WithoutCancel(ctx), batch, results); err != nil {
			return total, err
		}
		total += len(batch)
		if len(batch) < DeliverBatch {
			return total, nil
		}
	}
}

func (o *Outbox) claim(ctx context.Context) ([]claimed, error) {
	var out []claimed
	err := o.DB.Tx(ctx, func(tx *sql.Tx) error {
		now := o.Clock.Now().UnixMilli()
		lock := ""
		if o.DB.Dialect == db.Postgres {
			lock = " FOR UPDATE SKIP LOCKED"
		}
		scanID := func(r db.Scanner) (int64, error) {
			var id int64
			return id, r.Scan(&id)
		}
		due, err := db.All(ctx, tx, scanID, `SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1
			ORDER BY next_attempt_at LIMIT $2`+lock, now, DeliverBatch)
		if err != nil {
			return err
		}
		if len(due) < DeliverBatch {
			stale, err := db.All(ctx, tx, scanID, `SELECT id FROM outbox WHERE status = 'sending' AND lease_until <= $1
				LIMIT $2`+lock, now, DeliverBatch-len(due))
			if err != nil {
				return err
			}
			due = append(due, stale...)
		}
		if len(due) == 0 {
			return nil
		}
		p := o.DB.Dialect.Params
		lease := now + Lease.Milliseconds()
		args := []any{lease, now}
		for _, id := range due {
			args = append(args, id)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'sending', lease_until = `+p(1, 1)+`, attempts = attempts + 1,
			updated_at = `+p(2, 1)+` WHERE id IN (`+p(3, len(due))+`)`, args...); err != nil {
			return err
		}
		out, err = db.All(ctx, tx, func(r db.Scanner) (claimed, error) {
			c := claimed{lease: lease}
			var err error
			c.Item, err = scanItem(scanTail{r, &c.body})
			return c, err
		}, "SELECT "+itemColumns+", body FROM outbox WHERE id IN ("+p(1, len(due))+") ORDER BY id", args[2:]...)
		return err
	})
	return out, err
}

// scanTail scans an item's columns and then one more.
type scanTail struct {
	r    db.Scanner
	tail *string
}

func (s scanTail) Scan(dest ...any) error { return s.r.Scan(append(dest, s.tail)...) }

func (o *Outbox) sendAll(ctx context.Context, batch []claimed) []outcome {
	out := make([]outcome, len(batch))
	workers := o.Workers
	if workers <= 0 {
		workers = DefaultWorkers
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(batch)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				start := time.Now()
				out[i] = o.send(ctx, batch[i])
				out[i].duration = time.Since(start)
			}
		}()
	}
	for i := range batch {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// send makes one attempt at one item.
func (o *Outbox) send(ctx context.Context, c claimed) outcome {
	var st stored
	if err := json.Unmarshal([]byte(c.body), &st); err != nil {
		return outcome{err: Permanent(fmt.Errorf("stored message: %w", err))}
	}
	d := Delivery{Kind: c.Channel, Address: c.Address, IdempotencyKey: c.IdempotencyKey, Message: st.Message, Data: st.Data}
	if c.MethodID != nil {
		m, err := o.Contacts.MethodByID(ctx, o.DB.R, *c.MethodID)
		if err != nil {
			return outcome{err: fmt.Errorf("contact method %d: %w", *c.MethodID, err)}
		}
		d.Kind, d.Address, d.Secret, d.Headers = m.Kind, m.Address, m.Secret, m.Headers
	} else if c.Channel != KindEmail {
		return outcome{err: Permanent(errors.New("its contact method was deleted"))}
	}
	if c.Kind == ItemSummary {
		held, err := o.held(ctx, c.ID)
		if err != nil {
			return outcome{err: err}
		}
		if len(held) == 0 {
			return outcome{skip: true}
		}
		d.Data.Held = held
		if d.Message, err = o.Templates.Render(ctx, o.DB.R, d.Data); err != nil {
			return outcome{err: err}
		}
	}
	sctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	err := o.Channels.Send(sctx, d)
	var after time.Duration
	if err != nil {
		after, _ = RetryAfter(err)
	}
	return outcome{err: err, retryAfter: after}
}

// held lists the incidents of the pages a summary stands for.
func (o *Outbox) held(ctx context.Context, summaryID int64) ([]IncidentInfo, error) {
	incs, err := db.All(ctx, o.DB.R, func(r db.Scanner) (int64, error) {
		var id int64
		return id, r.Scan(&id)
	}, "SELECT DISTINCT incident_id FROM outbox WHERE summary_id = $1 AND status = 'held' AND incident_id IS NOT NULL ORDER BY incident_id",
		summaryID)
	if err != nil {
		return nil, err
	}
	out := make([]IncidentInfo, 0, min(len(incs), maxHeld))
	for _, id := range incs[:min(len(incs), maxHeld)] {
		in, err := o.incidentInfo(ctx, o.DB.R, id)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

// Backoff is the wait before attempt n+1 after n failed attempts: RetryBase
// doubled each time up to RetryMax, less up to a tenth at random so that
// a receiver coming back is not hit by every retry at once. A Retry-After
// the receiver asked for is honoured up to RetryMax.
func Backoff(attempts int, retryAfter time.Duration) time.Duration {
	d := RetryBase << min(max(attempts-1, 0), 16)
	if d > RetryMax || d <= 0 {
		d = RetryMax
	}
	d -= time.Duration(rand.Int64N(int64(d / 10)))
	if retryAfter > d {
		d = min(retryAfter, RetryMax)
	}
	return d
}

func (o *Outbox) settle(ctx context.Context, batch []claimed, results []outcome) error {
	return o.DB.Tx(ctx, func(tx *sql.Tx) error {
		now := o.Clock.Now()
		ms := now.UnixMilli()
		for i, c := range batch {
			r := results[i]
			if r.skip {
				if _, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'cancelled', lease_until = NULL, updated_at = $1
					WHERE id = $2 AND status = 'sending' AND lease_until = $3`, ms, c.ID, c.lease); err != nil {
					return err
				}
				continue
			}
			errText := ""
			if r.err != nil {
				errText = oneLine(r.err.Error(), 1000)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO outbox_attempts (outbox_id, at, duration_ms, ok, error) VALUES ($1, $2, $3, $4, $5)`,
				c.ID, ms, r.duration.Milliseconds(), r.err == nil, errText); err != nil {
				return err
			}
			switch {
			case r.err == nil:
				res, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'delivered', delivered_at = $1, lease_until = NULL,
					last_error = '', updated_at = $1 WHERE id = $2 AND status = 'sending' AND lease_until = $3`, ms, c.ID, c.lease)
				if err != nil {
					return err
				}
				if n, _ := res.RowsAffected(); n == 0 {
					continue // cancelled meanwhile, or taken over by another sender after the lease ran out
				}
				if c.Kind == ItemSummary {
					if _, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'summarized', updated_at = $1
						WHERE summary_id = $2 AND status = 'held'`, ms, c.ID); err != nil {
						return err
					}
				}
				if err := o.note(ctx, tx, c, "notified", fmt.Sprintf("%s %s (attempt %d)", verb(c.Kind), o.whom(ctx, tx, c), c.Attempts)); err != nil {
					return err
				}
			case IsPermanent(r.err) || c.Attempts >= MaxAttempts:
				res, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'failed', lease_until = NULL, last_error = $1,
					updated_at = $2 WHERE id = $3 AND status = 'sending' AND lease_until = $4`, errText, ms, c.ID, c.lease)
				if err != nil {
					return err
				}
				if n, _ := res.RowsAffected(); n == 0 {
					continue
				}
				if err := o.note(ctx, tx, c, "notification_failed", fmt.Sprintf("Could not notify %s after %d attempt(s): %s (moved to the dead letters)",
					o.whom(ctx, tx, c), c.Attempts, errText)); err != nil {
					return err
				}
			default:
				next := now.Add(Backoff(c.Attempts, r.retryAfter)).UnixMilli()
				if _, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'pending', lease_until = NULL, last_error = $1,
					next_attempt_at = $2, updated_at = $3 WHERE id = $4 AND status = 'sending' AND lease_until = $5`,
					errText, next, ms, c.ID, c.lease); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func verb(kind string) string {
	if kind == ItemSummary {
		return "Sent a rate-limit summary to"
	}
	return "Notified"
}

// whom describes an item's recipient for the timeline: the user and the
// channel, with an email address or only a URL's host (URLs often carry a
// secret).
func (o *Outbox) whom(ctx context.Context, tx *sql.Tx, c claimed) string {
	name := "a deleted user"
	if c.UserID != nil {
		_ = tx.QueryRowContext(ctx, "SELECT name FROM users WHERE id = $1", *c.UserID).Scan(&name)
	}
	where := c.Address
	if c.Channel != KindEmail {
		where = RedactURL(where)
	}
	return fmt.Sprintf("%s by %s (%s)", name, c.Channel, where)
}

// note writes a delivery outcome on the incident's timeline.
func (o *Outbox) note(ctx context.Context, tx *sql.Tx, c claimed, kind, body string) error {
	if c.IncidentID == nil || o.Timeline == nil {
		return nil
	}
	return o.Timeline(ctx, tx, *c.IncidentID, kind, body, map[string]any{"outbox_id": c.ID, "channel": c.Channel})
}

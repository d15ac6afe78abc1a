// Package audit keeps Steady's append-only, hash-chained audit trail. Every
// state-changing action records one entry in the same transaction as the
// change, so an action and its record commit or fail together. Each entry's
// hash covers its content and the previous entry's hash; the head (last seq
// and hash) is kept apart, so an edited, deleted, inserted or truncated row is
// found by Verify.
package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/page"
	"github.com/steadyhq/steady/internal/platform/reqctx"
)

// Entry is one recorded action.
type Entry struct {
	Seq        int64          `json:"seq"`
	At         time.Time      `json:"at"`
	ActorType  string         `json:"actor_type"`
	ActorID    string         `json:"actor_id"`
	ActorName  string         `json:"actor_name"`
	Action     string         `json:"action"`
	ObjectType string         `json:"object_type"`
	ObjectID   string         `json:"object_id"`
	Summary    string         `json:"summary"`
	Changes    map[string]any `json:"changes"`
	RequestID  string         `json:"request_id"`
	Source     string         `json:"source"`
	PrevHash   string         `json:"prev_hash"`
	Hash       string         `json:"hash"`
}

// Event is what a capability says about an action it performed.
type Event struct {
	Action     string // "user.create", "team.member.add", …
	ObjectType string
	ObjectID   any
	Summary    string
	Changes    map[string]any // field → new value, or {"from":…, "to":…}
}

// Log records and reads audit entries.
type Log struct {
	DB    *db.DB
	Clock clock.Clock
}

// Record appends an entry for ev inside tx. The actor, request id and source
// come from ctx.
func (l *Log) Record(ctx context.Context, tx *sql.Tx, ev Event) error {
	a := reqctx.ActorFrom(ctx)
	e := Entry{
		At:         l.Clock.Now().UTC().Truncate(time.Millisecond),
		ActorType:  a.Type,
		ActorID:    a.ID,
		ActorName:  a.Name,
		Action:     ev.Action,
		ObjectType: ev.ObjectType,
		ObjectID:   fmt.Sprint(ev.ObjectID),
		Summary:    ev.Summary,
		Changes:    ev.Changes,
		RequestID:  reqctx.RequestID(ctx),
		Source:     reqctx.Source(ctx),
	}
	if e.Changes == nil {
		e.Changes = map[string]any{}
	}
	changes, err := json.Marshal(e.Changes)
	if err != nil {
		return fmt.Errorf("audit: encode changes: %w", err)
	}
	// Taking the head row serializes appenders (a row lock on PostgreSQL, the
	// single writer on SQLite) and hands out the next seq with no gaps.
	if err := tx.QueryRowContext(ctx,
		"UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash").Scan(&e.Seq, &e.PrevHash); err != nil {
		return fmt.Errorf("audit: take head: %w", err)
	}
	e.Hash = hashOf(e, string(changes))
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log
		(seq, at, actor_type, actor_id, actor_name, action, object_type, object_id, summary, changes, request_id, source, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		e.Seq, e.At.UnixMilli(), e.ActorType, e.ActorID, e.ActorName, e.Action, e.ObjectType, e.ObjectID,
		e.Summary, string(changes), e.RequestID, e.Source, e.PrevHash, e.Hash); err != nil {
		return fmt.Errorf("audit: insert: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE audit_head SET hash = $1 WHERE id = 1", e.Hash); err != nil {
		return fmt.Errorf("audit: move head: %w", err)
	}
	return nil
}

// hashOf is the chain hash: SHA-256 over the previous hash and every stored
// field, each length-prefixed so that no two different rows encode alike.
func hashOf(e Entry, changes string) string {
	h := sha256.New()
	for _, f := range []string{
		e.PrevHash, strconv.FormatInt(e.Seq, 10), strconv.FormatInt(e.At.UnixMilli(), 10),
		e.ActorType, e.ActorID, e.ActorName, e.Action, e.ObjectType, e.ObjectID,
		e.Summary, changes, e.RequestID, e.Source,
	} {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Filter selects audit entries; zero fields match everything.
type Filter struct {
	ActorID    string
	Action     string // exact, or a prefix ending in "." ("user.")
	ObjectType string
	ObjectID   string
	Since      *time.Time
	Until      *time.Time
}

const cols = "seq, at, actor_type, actor_id, actor_name, action, object_type, object_id, summary, changes, request_id, source, prev_hash, hash"

// List returns entries newest first.
func (l *Log) List(ctx context.Context, f Filter, p page.Request) (page.List[Entry], error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.ActorID != "" {
		add("actor_id = ?", f.ActorID)
	}
	if f.Action != "" {
		if strings.HasSuffix(f.Action, ".") {
			add(`action LIKE ? ESCAPE '\'`, db.LikeEscape(f.Action)+"%")
		} else {
			add("action = ?", f.Action)
		}
	}
	if f.ObjectType != "" {
		add("object_type = ?", f.ObjectType)
	}
	if f.ObjectID != "" {
		add("object_id = ?", f.ObjectID)
	}
	if f.Since != nil {
		add("at >= ?", f.Since.UnixMilli())
	}
	if f.Until != nil {
		add("at < ?", f.Until.UnixMilli())
	}
	if p.After > 0 {
		add("seq < ?", p.After)
	}
	q := "SELECT " + cols + " FROM audit_log"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, p.Limit+1)
	q += " ORDER BY seq DESC LIMIT $" + strconv.Itoa(len(args))
	rows, err := l.DB.R.QueryContext(ctx, q, args...)
	if err != nil {
		return page.List[Entry]{}, db.Classify(err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, _, err := scan(rows)
		if err != nil {
			return page.List[Entry]{}, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return page.List[Entry]{}, db.Classify(err)
	}
	return page.Cut(out, p, func(e Entry) int64 { return e.Seq }), nil
}

func scan(rows *sql.Rows) (Entry, string, error) {
	var e Entry
	var at int64
	var changes string
	if err := rows.Scan(&e.Seq, &at, &e.ActorType, &e.ActorID, &e.ActorName, &e.Action, &e.ObjectType,
		&e.ObjectID, &e.Summary, &changes, &e.RequestID, &e.Source, &e.PrevHash, &e.Hash); err != nil {
		return e, "", err
	}
	e.At = clock.FromMillis(at)
	if err := json.Unmarshal([]byte(changes), &e.Changes); err != nil {
		e.Changes = map[string]any{"_unreadable": changes}
	}
	return e, changes, nil
}

// VerifyResult reports the outcome of a chain check.
type VerifyResult struct {
	Checked int64 // entries checked
	OK      bool
	// BrokenAt is the seq at which the chain first breaks (0 when OK), and
	// Problem says what is wrong there.
	BrokenAt int64
	Problem  string
}

// Verify walks the whole chain in order and reports the first broken link.
func Verify(ctx context.Context, d *db.DB) (VerifyResult, error) {
	var res VerifyResult
	var headSeq int64
	var headHash string
	// The head and the rows are read from one snapshot: an entry committed
	// between the two reads would otherwise look like a row added out of band.
	tx, err := d.R.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return res, db.Classify(err)
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&headSeq, &headHash); err != nil {
		if err == sql.ErrNoRows {
			return VerifyResult{BrokenAt: 1, Problem: "the audit head row is missing"}, nil
		}
		return res, db.Classify(err)
	}
	rows, err := tx.QueryContext(ctx, "SELECT "+cols+" FROM audit_log ORDER BY seq")
	if err != nil {
		return res, db.Classify(err)
	}
	defer rows.Close()
	prev := ""
	var want int64 = 1
	for rows.Next() {
		e, changes, err := scan(rows)
		if err != nil {
			return res, err
		}
		switch {
		case e.Seq != want:
			return broken(res, want, fmt.Sprintf("entry %d is missing (next entry found is %d)", want, e.Seq)), nil
		case e.PrevHash != prev:
			return broken(res, e.Seq, "its previous-hash does not match the entry before it"), nil
		case hashOf(e, changes) != e.Hash:
			return broken(res, e.Seq, "its content does not match its hash (the row was edited)"), nil
		}
		prev = e.Hash
		want++
		res.Checked++
	}
	if err := rows.Err(); err != nil {
		return res, db.Classify(err)
	}
	if headSeq != res.Checked {
		if headSeq > res.Checked {
			return broken(res, res.Checked+1, fmt.Sprintf("entries %d to %d are missing (the log was truncated)", res.Checked+1, headSeq)), nil
		}
		return broken(res, headSeq+1, "entries after the recorded head were added out of band"), nil
	}
	if headHash != prev {
		return broken(res, headSeq, "the last entry does not match the recorded head"), nil
	}
	res.OK = true
	return res, nil
}

func broken(r VerifyResult, seq int64, problem string) VerifyResult {
	r.OK, r.BrokenAt, r.Problem = false, seq, problem
	return r
}

// Diff lists the fields that differ between two values as {"from", "to"}
// pairs, for an entry's Changes.
func Diff(pairs ...any) map[string]any {
	out := map[string]any{}
	for i := 0; i+2 < len(pairs); i += 3 {
		name, _ := pairs[i].(string)
		from, to := pairs[i+1], pairs[i+2]
		if fmt.Sprint(from) != fmt.Sprint(to) {
			out[name] = map[string]any{"from": from, "to": to}
		}
	}
	return out
}

// IDText is an optional id as an entry shows it: the number, or "none".
func IDText(p *int64) string {
	if p == nil {
		return "none"
	}
	return strconv.FormatInt(*p, 10)
}

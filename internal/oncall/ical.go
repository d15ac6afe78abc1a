package oncall

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/ids"
)

// iCalendar feeds. Calendar apps subscribe to a URL and cannot send an
// Authorization header, so a feed is reached by an unguessable key in its
// URL: /feeds/<key>.ics. The key is stored hashed (SHA-256, like API
// tokens) and shown once, when it is made; making a new one ends the old URL.
// A schedule has at most one feed key, and so has a user (their shifts in
// every schedule).

// Feed kinds.
const (
	FeedSchedule = "schedule"
	FeedUser     = "user"
)

// FeedPrefix starts every feed key, so that a leaked one is recognisable.
const FeedPrefix = "stdyfeed"

// Feed says whether a schedule or user has a feed key. Key and Path are only
// set in the answer that made the key: it is not stored.
type Feed struct {
	Kind      string     `json:"kind"`
	TargetID  int64      `json:"target_id"`
	Active    bool       `json:"active"`
	Hint      string     `json:"hint"`
	CreatedBy string     `json:"created_by"`
	CreatedAt *time.Time `json:"created_at"`
	Key       string     `json:"key,omitempty"`
	Path      string     `json:"path,omitempty"`
	URL       string     `json:"url,omitempty"`
}

// FeedPath is the URL path of a feed key.
func FeedPath(key string) string { return "/feeds/" + key + ".ics" }

// feed window: what a calendar app receives.
const (
	feedPast   = 7 * 24 * time.Hour
	feedFuture = 60 * 24 * time.Hour
)

func feedColumn(kind string) (string, error) {
	switch kind {
	case FeedSchedule:
		return "schedule_id", nil
	case FeedUser:
		return "user_id", nil
	}
	return "", errs.Invalid("kind", "must be schedule or user")
}

// checkFeedTarget checks that the target exists and the caller may manage
// its feed: anyone who reads schedules for a schedule's feed (responders to
// change it), only the user themselves or an admin for a user's feed.
func (s *Schedules) checkFeedTarget(ctx context.Context, q db.Querier, kind string, id int64, change bool) (string, error) {
	switch kind {
	case FeedSchedule:
		min := iam.RoleViewer
		if change {
			min = iam.RoleResponder
		}
		if err := iam.Require(ctx, min); err != nil {
			return "", err
		}
		sc, err := s.Load(ctx, q, id)
		return "schedule " + sc.Name, err
	case FeedUser:
		if err := iam.Require(ctx, iam.RoleViewer); err != nil {
			return "", err
		}
		if p, ok := iam.PrincipalFrom(ctx); ok && p.UserID != id && !p.Role.AtLeast(iam.RoleAdmin) {
			return "", errs.Forbidden("only the user themselves or an admin may see or change a user's calendar feed")
		}
		names, err := userNames(ctx, q, []int64{id})
		if err != nil {
			return "", err
		}
		n, ok := names[id]
		if !ok {
			return "", errs.NotFound("user %d not found", id)
		}
		return "user " + n.email, nil
	}
	return "", errs.Invalid("kind", "must be schedule or user")
}

// FeedInfo says whether a schedule or user has a feed key (never the key).
func (s *Schedules) FeedInfo(ctx context.Context, kind string, id int64) (Feed, error) {
	col, err := feedColumn(kind)
	if err != nil {
		return Feed{}, err
	}
	if _, err := s.checkFeedTarget(ctx, s.DB.R, kind, id, false); err != nil {
		return Feed{}, err
	}
	f := Feed{Kind: kind, TargetID: id}
	var created int64
	err = s.DB.R.QueryRowContext(ctx, "SELECT hint, created_by, created_at FROM oncall_feed_keys WHERE "+col+" = $1", id).
		Scan(&f.Hint, &f.CreatedBy, &created)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return f, nil
	case err != nil:
		return f, db.Classify(err)
	}
	t := clock.FromMillis(created)
	f.Active, f.CreatedAt = true, &t
	return f, nil
}

// RotateFeed makes a new feed key for a schedule or user, ending the old
// one; the answer is the only place the key appears.
func (s *Schedules) RotateFeed(ctx context.Context, kind string, id int64) (Feed, error) {
	col, err := feedColumn(kind)
	if err != nil {
		return Feed{}, err
	}
	var out Feed
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		what, err := s.checkFeedTarget(ctx, tx, kind, id, true)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM oncall_feed_keys WHERE "+col+" = $1", id); err != nil {
			return err
		}
		key := ids.Secret(FeedPrefix)
		creator := "steady"
		if p, ok := iam.PrincipalFrom(ctx); ok {
			creator = p.Actor().Name
		}
		now := s.Clock.Now().UTC().Truncate(time.Millisecond)
		hint := "…" + key[len(key)-4:]
		if _, err := tx.ExecContext(ctx, "INSERT INTO oncall_feed_keys ("+col+", key_hash, hint, created_by, created_at) VALUES ($1, $2, $3, $4, $5)",
			id, ids.Hash(key), hint, creator, now.UnixMilli()); err != nil {
			return err
		}
		out = Feed{Kind: kind, TargetID: id, Active: true, Hint: hint, CreatedBy: creator, CreatedAt: &now, Key: key, Path: FeedPath(key)}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "oncall.feed.rotate", ObjectType: kind, ObjectID: id,
			Summary: "made a new calendar feed URL for " + what, Changes: map[string]any{"hint": hint}})
	})
	return out, err
}

// RevokeFeed ends the feed key of a schedule or user.
func (s *Schedules) RevokeFeed(ctx context.Context, kind string, id int64) error {
	col, err := feedColumn(kind)
	if err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		what, err := s.checkFeedTarget(ctx, tx, kind, id, true)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM oncall_feed_keys WHERE "+col+" = $1", id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.NotFound("%s has no calendar feed", what)
		}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "oncall.feed.revoke", ObjectType: kind, ObjectID: id,
			Summary: "ended the calendar feed of " + what})
	})
}

// FeedCalendar answers a feed URL: the iCalendar document of the key's
// schedule or user, from a week ago to 60 days ahead. An unknown key is
// KindNotFound. It needs no principal: the key is the credential.
func (s *Schedules) FeedCalendar(ctx context.Context, key string) ([]byte, error) {
	if !strings.HasPrefix(key, FeedPrefix+"_") || len(key) > 100 {
		return nil, errs.NotFound("no such calendar feed")
	}
	var sid, uid sql.NullInt64
	err := s.DB.R.QueryRowContext(ctx, "SELECT schedule_id, user_id FROM oncall_feed_keys WHERE key_hash = $1", ids.Hash(key)).Scan(&sid, &uid)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFound("no such calendar feed")
	}
	if err != nil {
		return nil, db.Classify(err)
	}
	now := s.Clock.Now().UTC()
	from, to := now.Add(-feedPast).Truncate(time.Hour), now.Add(feedFuture)
	cal := Calendar{ProdID: "-//Steady//On-call//EN", Now: now}
	if sid.Valid {
		sc, err := s.Load(ctx, s.DB.R, sid.Int64)
		if err != nil {
			return nil, err
		}
		tl, err := timeline(ctx, s.DB.R, sc, from, to)
		if err != nil {
			return nil, err
		}
		cal.Name = "On call: " + sc.Name
		for _, sh := range tl.Final {
			cal.Events = append(cal.Events, Event{
				UID:     fmt.Sprintf("schedule-%d-%d-%d@steady", sc.ID, sh.UserID, sh.Start.Unix()),
				Summary: sh.UserName + " on call (" + sc.Name + ")", Start: sh.Start, End: sh.End,
				Description: shiftSource(sh)})
		}
		return cal.Render(), nil
	}
	names, err := userNames(ctx, s.DB.R, []int64{uid.Int64})
	if err != nil {
		return nil, err
	}
	shifts, err := userShifts(ctx, s.DB.R, uid.Int64, from, to)
	if err != nil {
		return nil, err
	}
	cal.Name = "On call: " + names[uid.Int64].name
	for _, sh := range shifts {
		desc := "Layer: " + sh.Layer
		if sh.OverrideID != nil {
			desc = "An override"
		}
		cal.Events = append(cal.Events, Event{
			UID:     fmt.Sprintf("user-%d-schedule-%d-%d@steady", uid.Int64, sh.ScheduleID, sh.Start.Unix()),
			Summary: "On call: " + sh.ScheduleName, Start: sh.Start, End: sh.End, Description: desc})
	}
	return cal.Render(), nil
}

func shiftSource(sh Shift) string {
	if sh.OverrideID != nil {
		return "An override"
	}
	return "Layer: " + sh.Layer
}

// Calendar is an iCalendar (RFC 5545) document of events.
type Calendar struct {
	ProdID string
	Name   string
	Now    time.Time // DTSTAMP of every event
	Events []Event
}

// Event is one VEVENT.
type Event struct {
	UID         string
	Summary     string
	Description string
	Start, End  time.Time
}

// Render writes the calendar: CRLF line ends, lines folded at 75 octets,
// text escaped, times in UTC.
func (c Calendar) Render() []byte {
	var b bytes.Buffer
	line := func(name, value string) { writeFolded(&b, name+":"+value) }
	line("BEGIN", "VCALENDAR")
	line("VERSION", "2.0")
	line("PRODID", escapeText(c.ProdID))
	line("CALSCALE", "GREGORIAN")
	line("METHOD", "PUBLISH")
	if c.Name != "" {
		line("X-WR-CALNAME", escapeText(c.Name))
	}
	// Ask subscribers to look again every 15 minutes: overrides change often.
	line("REFRESH-INTERVAL;VALUE=DURATION", "PT15M")
	line("X-PUBLISHED-TTL", "PT15M")
	stamp := icalTime(c.Now)
	for _, e := range c.Events {
		line("BEGIN", "VEVENT")
		line("UID", escapeText(e.UID))
		line("DTSTAMP", stamp)
		line("DTSTART", icalTime(e.Start))
		line("DTEND", icalTime(e.End))
		line("SUMMARY", escapeText(e.Summary))
		if e.Description != "" {
			line("DESCRIPTION", escapeText(e.Description))
		}
		line("TRANSP", "OPAQUE")
		line("END", "VEVENT")
	}
	line("END", "VCALENDAR")
	return b.Bytes()
}

func icalTime(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// escapeText escapes a TEXT value (RFC 5545 3.3.11).
func escapeText(s string) string {
	r := strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`)
	return r.Replace(s)
}

// writeFolded writes one content line, folded so that no line is longer
// than 75 octets (continuation lines start with a space), never splitting a
// UTF-8 character, and ends it with CRLF.
func writeFolded(b *bytes.Buffer, s string) {
	limit := 75
	for len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		b.WriteString(s[:cut])
		b.WriteString("\r\n ")
		s = s[cut:]
		limit = 74 // the leading space counts
	}
	b.WriteString(s)
	b.WriteString("\r\n")
}

package incident

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// Full-text search is one of the few places where the dialects differ:
// SQLite uses an FTS5 table keyed by the incident id, PostgreSQL a tsvector
// with a GIN index. Both index the title apart from the rest (resolution,
// notes, tags, service name), so that a match in the title ranks higher.

// reindex rebuilds the search document of one incident inside tx.
func (m *Manager) reindex(ctx context.Context, tx *sql.Tx, id int64) error {
	var title, resolution, tags string
	var service sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT i.title, i.resolution, i.tags, s.name FROM incidents i
		LEFT JOIN services s ON s.id = i.service_id WHERE i.id = $1`, id).Scan(&title, &resolution, &tags, &service); err != nil {
		return err
	}
	body := []string{resolution, strings.NewReplacer(`"`, " ", "[", " ", "]", " ", ",", " ").Replace(tags), service.String}
	rows, err := tx.QueryContext(ctx, "SELECT body FROM incident_timeline WHERE incident_id = $1 AND kind IN ('note', 'resolved') ORDER BY id", id)
	if err != nil {
		return err
	}
	for rows.Next() {
		var b string
		if err := rows.Scan(&b); err != nil {
			rows.Close()
			return err
		}
		body = append(body, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	text := strings.Join(body, "\n")
	if len(text) > 200_000 {
		text = text[:200_000]
	}
	if m.DB.Dialect == db.SQLite {
		if _, err := tx.ExecContext(ctx, "DELETE FROM incident_search WHERE rowid = ?", id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO incident_search (rowid, title, body) VALUES (?, ?, ?)", id, title, text)
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO incident_search (incident_id, doc)
		VALUES ($1, setweight(to_tsvector('english', $2), 'A') || setweight(to_tsvector('english', $3), 'B'))
		ON CONFLICT (incident_id) DO UPDATE SET doc = excluded.doc`, id, title, text)
	return err
}

// terms splits a user's query into plain words: search syntax of either
// engine is never passed through, so no query can be malformed.
func terms(q string) []string {
	f := strings.FieldsFunc(strings.ToLower(q), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
	seen := map[string]bool{}
	var out []string
	for _, t := range f {
		if len(t) < 2 || seen[t] || stop[t] {
			continue
		}
		seen[t] = true
		out = append(out, t)
		if len(out) == 12 {
			break
		}
	}
	return out
}

var stop = map[string]bool{"the": true, "and": true, "on": true, "in": true, "of": true, "to": true, "is": true, "at": true,
	"for": true, "a": true, "an": true, "or": true, "by": true, "with": true, "from": true, "it": true, "be": true}

// How a search ranks, on both databases. Only a window of the newest
// matches is ranked, so that a common word costs about what a rare one does;
// within it, matches with every word in the title come first, then the
// newest. That needs nothing beyond the window: FTS5's bm25() reads each
// term's whole document list to count documents (3–26 ms a query at a
// million incidents), and ts_rank over every match of a common word ranked
// 140,000 rows on PostgreSQL (about 200 ms). Similar incidents, which match
// any word, still rank by bm25 or ts_rank within their window: there, how
// rare a shared word is tells most.
const (
	// rankWindow is how many of the newest matches are ranked.
	rankWindow = 500
	// recentWindow is how many of the newest incidents are looked through
	// first. When they hold fewer matches than a page needs, the window is
	// the newest rankWindow matches of all, found through the full-text
	// index: a rare word is found however old its incidents are.
	recentWindow = 10_000
)

// Ranks of a search hit: every word in the title, or not.
const (
	rankTitle = 2
	rankOther = 1
)

// Hit is a search result.
type Hit struct {
	Incident Incident `json:"incident"`
	Rank     float64  `json:"rank"`
}

// candidate is a match before its incident is loaded.
type candidate struct {
	id   int64
	rank float64
}

// match returns the ranked window of incidents matching the terms, best
// first. all=true needs every term and ranks title matches first (a search);
// false needs any term and ranks by relevance (similar incidents). need is
// how many matches a page needs, at least: fewer among the newest incidents
// widens the window to all of them.
func (m *Manager) match(ctx context.Context, ts []string, all bool, exclude int64, need int) ([]candidate, error) {
	if len(ts) == 0 {
		return nil, nil
	}
	var cs []candidate
	var err error
	if m.DB.Dialect == db.SQLite {
		cs, err = m.matchSQLite(ctx, ts, all, exclude, need)
	} else {
		cs, err = m.matchPostgres(ctx, ts, all, exclude, need)
	}
	if err != nil {
		return nil, err
	}
	// Newest first among equal ranks: the windows come newest first.
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].rank > cs[j].rank })
	return cs, nil
}

func (m *Manager) matchSQLite(ctx context.Context, ts []string, all bool, exclude int64, need int) ([]candidate, error) {
	quoted := make([]string, len(ts))
	for i, t := range ts {
		quoted[i] = `"` + t + `"`
	}
	if !all {
		// Similar incidents: relevance among the newest matches of any
		// word, where bm25's weighting of rare words is what tells.
		return candidates(ctx, m.DB.R, `SELECT s.rowid, -bm25(incident_search, 4.0, 1.0) FROM incident_search s
			WHERE incident_search MATCH ? AND s.rowid <> ? ORDER BY s.rowid DESC LIMIT `+strconv.Itoa(rankWindow),
			strings.Join(quoted, " OR "), exclude)
	}
	expr := strings.Join(quoted, " ")
	// FTS5 walks a document list backwards from the newest and stops: the
	// newest matches cost next to nothing, whatever the number of older ones.
	window := `SELECT s.rowid, ` + strconv.Itoa(rankOther) + ` FROM incident_search s
		WHERE incident_search MATCH ? AND s.rowid <> ?%s ORDER BY s.rowid DESC LIMIT ` + strconv.Itoa(rankWindow)
	cs, err := candidates(ctx, m.DB.R, fmt.Sprintf(window, ` AND s.rowid > (SELECT max(id) FROM incidents) - `+strconv.Itoa(recentWindow)), expr, exclude)
	if err == nil && len(cs) < need {
		cs, err = candidates(ctx, m.DB.R, fmt.Sprintf(window, ""), expr, exclude)
	}
	if err != nil || len(cs) == 0 {
		return cs, err
	}
	// Which of them have every word in the title: a second match, bounded
	// to the window's range of ids. It runs in ascending order: with a
	// column filter FTS5 does not stop at a lower bound when walking
	// backwards, and would read a common word's whole list.
	rows, err := m.DB.R.QueryContext(ctx, `SELECT rowid FROM incident_search WHERE incident_search MATCH ? AND rowid >= ?`,
		"title : ("+expr+")", cs[len(cs)-1].id)
	if err != nil {
		return nil, db.Classify(err)
	}
	defer rows.Close()
	inTitle := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, db.Classify(err)
		}
		inTitle[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, db.Classify(err)
	}
	for i := range cs {
		if inTitle[cs[i].id] {
			cs[i].rank = rankTitle
		}
	}
	return cs, nil
}

func (m *Manager) matchPostgres(ctx context.Context, ts []string, all bool, exclude int64, need int) ([]candidate, error) {
	sep := " & "
	if !all {
		sep = " | "
	}
	parts := make([]string, len(ts))
	title := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = "'" + t + "'"
		title[i] = "'" + t + "':A"
	}
	// The queries are scalar subqueries: PostgreSQL parses each once per
	// statement, also in the generic plan of a prepared statement.
	rank := `CASE WHEN doc @@ (SELECT to_tsquery('english', $3)) THEN ` + strconv.Itoa(rankTitle) + ` ELSE ` + strconv.Itoa(rankOther) + ` END`
	args := []any{strings.Join(parts, sep), exclude, strings.Join(title, " & ")}
	if !all {
		// Similar incidents: relevance (ts_rank needs no statistics over
		// all matches, so it costs what the window holds).
		rank = `ts_rank(doc, (SELECT to_tsquery('english', $1)))`
		args = args[:2]
	}
	// The newest incidents first, newest first: a walk back along the
	// primary key that stops after rankWindow matches or recentWindow rows.
	// The limited subquery keeps the planner from ordering the matches of
	// the GIN index instead (140,000 rows for a common word).
	cs, err := candidates(ctx, m.DB.R, `SELECT incident_id, `+rank+` FROM (SELECT incident_id, doc FROM incident_search
			ORDER BY incident_id DESC LIMIT `+strconv.Itoa(recentWindow)+`) recent
		WHERE doc @@ (SELECT to_tsquery('english', $1)) AND incident_id <> $2
		ORDER BY incident_id DESC LIMIT `+strconv.Itoa(rankWindow), args...)
	if err != nil || len(cs) >= need {
		return cs, err
	}
	// Few recent matches: all of them, through the GIN index. The CTE is
	// planned apart from the order, so the planner does not walk the
	// primary key past a million rows looking for them.
	return candidates(ctx, m.DB.R, `WITH matches AS MATERIALIZED (
			SELECT incident_id, `+rank+` AS rank FROM incident_search
			WHERE doc @@ (SELECT to_tsquery('english', $1)) AND incident_id <> $2)
		SELECT incident_id, rank FROM matches ORDER BY incident_id DESC LIMIT `+strconv.Itoa(rankWindow), args...)
}

// candidates runs a query of (id, rank) rows.
func candidates(ctx context.Context, q db.Querier, query string, args ...any) ([]candidate, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, db.Classify(err)
	}
	defer rows.Close()
	var out []candidate
	for rows.Next() {
		var c candidate
		if err := rows.Scan(&c.id, &c.rank); err != nil {
			return nil, db.Classify(err)
		}
		out = append(out, c)
	}
	return out, db.Classify(rows.Err())
}

// Search finds incidents whose title, resolution, notes, tags or service
// contain every word of q, best match first.
func (m *Manager) Search(ctx context.Context, q string, limit int) ([]Hit, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return nil, err
	}
	ts := terms(q)
	if len(ts) == 0 {
		return nil, errs.Invalid("q", "must contain at least one word of two or more letters")
	}
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	return m.hits(ctx, ts, true, false, 0, limit)
}

func (m *Manager) hits(ctx context.Context, ts []string, all, onlyClosed bool, exclude int64, limit int) ([]Hit, error) {
	// Twice the page: security incidents the caller may not read, and open
	// ones for similar incidents, are dropped after.
	cs, err := m.match(ctx, ts, all, exclude, limit*2)
	if err != nil {
		return nil, err
	}
	out := []Hit{}
	for len(cs) > 0 && len(out) < limit {
		batch := cs[:min(len(cs), limit*2)]
		cs = cs[len(batch):]
		found, err := m.load(ctx, batch)
		if err != nil {
			return nil, err
		}
		for _, c := range batch {
			in, ok := found[c.id]
			if !ok || onlyClosed && in.Status != Resolved && in.Status != Closed {
				continue
			}
			if ok, _ := mayRead(ctx, m.DB.R, in); !ok {
				continue
			}
			out = append(out, Hit{Incident: in, Rank: c.rank})
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// load reads the incidents of candidates in one query.
func (m *Manager) load(ctx context.Context, cs []candidate) (map[int64]Incident, error) {
	args := make([]any, len(cs))
	for i, c := range cs {
		args[i] = c.id
	}
	rows, err := m.DB.R.QueryContext(ctx, "SELECT "+cols+" FROM incidents WHERE id IN ("+m.DB.Dialect.Params(1, len(args))+")", args...)
	if err != nil {
		return nil, db.Classify(err)
	}
	defer rows.Close()
	out := make(map[int64]Incident, len(cs))
	for rows.Next() {
		in, err := scan(rows)
		if err != nil {
			return nil, db.Classify(err)
		}
		out[in.ID] = in
	}
	return out, db.Classify(rows.Err())
}

// Similar lists past resolved or closed incidents that share words with this
// one's title, best first, with their resolutions: what fixed it last time.
func (m *Manager) Similar(ctx context.Context, id int64, limit int) ([]Hit, error) {
	in, err := m.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 20 {
		limit = 5
	}
	return m.hits(ctx, terms(in.Title), false, true, id, limit)
}

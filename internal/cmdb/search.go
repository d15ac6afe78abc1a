package cmdb

import (
	"context"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/page"
)

// Filter selects CIs. Every set field must match.
type Filter struct {
	Class       string
	TeamID      int64
	Environment string
	Lifecycle   string
	// Q matches names that contain it (case-insensitive).
	Q string
	// Prefix matches names that start with it (case-insensitive); the
	// fastest search.
	Prefix string
	// Attrs match attribute values (case-insensitive); a value ending in *
	// matches values that start with the rest.
	Attrs []AttrMatch
	// Missing selects CIs their discovery source no longer sees.
	Missing bool
}

// AttrMatch is one attribute condition of a filter.
type AttrMatch struct {
	Key   string
	Value string
}

// ParseAttrMatch reads "key:value" (or "key=value").
func ParseAttrMatch(s string) (AttrMatch, error) {
	i := strings.IndexAny(s, ":=")
	if i <= 0 {
		return AttrMatch{}, errs.Invalid("attr", "must be key:value")
	}
	m := AttrMatch{Key: strings.TrimSpace(s[:i]), Value: strings.TrimSpace(s[i+1:])}
	if !attrKeyRe.MatchString(m.Key) {
		return AttrMatch{}, errs.Invalid("attr", "names an invalid attribute key: "+m.Key)
	}
	return m, nil
}

// Page is a page request over CIs, which are listed by name: the cursor
// holds the name and id of the last CI seen.
type Page struct {
	Limit     int
	AfterName string
	AfterID   int64
}

// ParsePage reads ?limit= and ?after= for CI lists.
func ParsePage(limit, after string) (Page, error) {
	p := Page{Limit: page.DefaultLimit}
	var fe errs.Fields
	if limit != "" {
		n, err := strconv.Atoi(limit)
		if err != nil || n < 1 || n > page.MaxLimit {
			fe.Add("limit", "must be a whole number from 1 to 1000")
		} else {
			p.Limit = n
		}
	}
	if after != "" {
		b, err := base64.RawURLEncoding.DecodeString(after)
		rest, ok := strings.CutPrefix(string(b), "n:")
		name, id, ok2 := strings.Cut(rest, "\x00")
		n, err2 := strconv.ParseInt(id, 10, 64)
		if err != nil || !ok || !ok2 || err2 != nil || n < 1 {
			fe.Add("after", "is not a cursor this server issued")
		} else {
			p.AfterName, p.AfterID = name, n
		}
	}
	return p, fe.Err()
}

func encodeCursor(c CI) string {
	return base64.RawURLEncoding.EncodeToString([]byte("n:" + strings.ToLower(c.Name) + "\x00" + strconv.FormatInt(c.ID, 10)))
}

func itoa(n int) string { return strconv.Itoa(n) }

// where builds the conditions of f; args continue from args.
func (s *Store) where(ctx context.Context, f Filter, withClass bool, args []any) (string, []any, error) {
	return s.whereFrom(ctx, f, withClass, args, 0)
}

// whereFrom is where without the attribute conditions before skip (which
// the caller joins itself).
func (s *Store) whereFrom(ctx context.Context, f Filter, withClass bool, args []any, skip int) (string, []any, error) {
	var b strings.Builder
	arg := func(v any) string {
		args = append(args, v)
		return "$" + itoa(len(args))
	}
	var fe errs.Fields
	if withClass && f.Class != "" {
		c, err := s.ClassByKey(ctx, s.DB.R, f.Class)
		if errs.Is(err, errs.KindNotFound) {
			fe.Add("class", "names no class")
		} else if err != nil {
			return "", nil, err
		} else {
			b.WriteString(" AND c.class_id = " + arg(c.ID))
		}
	}
	if f.TeamID != 0 {
		b.WriteString(" AND c.team_id = " + arg(f.TeamID))
	}
	if f.Environment != "" {
		fe.Check(!slices.Contains(Environments, f.Environment), "environment", "must be one of "+strings.Join(Environments, ", "))
		b.WriteString(" AND c.environment = " + arg(f.Environment))
	}
	if f.Lifecycle != "" {
		_, ok := Lifecycles[f.Lifecycle]
		fe.Check(!ok, "lifecycle", "must be one of planned, in_use, maintenance, retired, disposed")
		b.WriteString(" AND c.lifecycle = " + arg(f.Lifecycle))
	}
	if p := strings.ToLower(strings.TrimSpace(f.Prefix)); p != "" {
		b.WriteString(" AND c.name_key >= " + arg(p) + " AND c.name_key < " + arg(p+"\U0010FFFF") +
			" AND c.name_key LIKE " + arg(db.LikeEscape(p)+"%") + ` ESCAPE '\'`)
	}
	if q := strings.ToLower(strings.TrimSpace(f.Q)); q != "" {
		b.WriteString(" AND c.name_key LIKE " + arg("%"+db.LikeEscape(q)+"%") + ` ESCAPE '\'`)
	}
	fe.Check(len(f.Attrs) > 10, "attr", "must be at most 10 conditions")
	for _, m := range f.Attrs[skip:] {
		v := strings.ToLower(m.Value)
		if pre, ok := strings.CutSuffix(v, "*"); ok {
			b.WriteString(" AND c.id IN (SELECT ci_id FROM ci_attribute_values WHERE key = " + arg(m.Key) +
				" AND value >= " + arg(pre) + " AND value < " + arg(pre+"\U0010FFFF") + ")")
		} else {
			b.WriteString(" AND c.id IN (SELECT ci_id FROM ci_attribute_values WHERE key = " + arg(m.Key) + " AND value = " + arg(v) + ")")
		}
	}
	if f.Missing {
		b.WriteString(" AND c.missing_since IS NOT NULL")
	}
	return b.String(), args, fe.Err()
}

// List lists the CIs that match f, by name.
func (s *Store) List(ctx context.Context, f Filter, p Page) (page.List[CI], error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return page.List[CI]{}, err
	}
	if p.Limit <= 0 {
		p.Limit = page.DefaultLimit
	}
	// Part of a name is searched in the in-memory graph, which holds every
	// name: no index helps a LIKE '%…%', and scanning 100,000 rows would.
	if q := strings.ToLower(strings.TrimSpace(f.Q)); q != "" {
		if g, err := s.FreshGraph(ctx); err == nil {
			return s.listByNamePart(ctx, g, q, f, p)
		}
	}
	items, err := s.listBySQL(ctx, f, p)
	if err != nil {
		return page.List[CI]{}, err
	}
	return cutPage(items, p), nil
}

// listBySQL reads up to p.Limit+1 CIs that match f, after p's cursor, by
// name, from the database alone.
func (s *Store) listBySQL(ctx context.Context, f Filter, p Page) ([]CI, error) {
	// An exact attribute value is searched from its index, which holds
	// the CIs' names in order: the first page is read straight from it.
	var q string
	var args []any
	if len(f.Attrs) > 0 && !strings.HasSuffix(f.Attrs[0].Value, "*") && strings.TrimSpace(f.Prefix) == "" {
		args = []any{f.Attrs[0].Key, strings.ToLower(f.Attrs[0].Value)}
		cond, a, err := s.whereFrom(ctx, f, true, args, 1)
		if err != nil {
			return nil, err
		}
		args = a
		q = "SELECT " + ciCols + " FROM ci_attribute_values v JOIN cis c ON c.id = v.ci_id JOIN ci_classes k ON k.id = c.class_id" +
			" WHERE v.key = $1 AND v.value = $2" + cond
		if p.AfterID != 0 {
			args = append(args, p.AfterName, p.AfterID)
			q += " AND (v.name_key, v.ci_id) > ($" + itoa(len(args)-1) + ", $" + itoa(len(args)) + ")"
		}
		args = append(args, p.Limit+1)
		q += " ORDER BY v.name_key, v.ci_id LIMIT $" + itoa(len(args))
	} else {
		cond, a, err := s.where(ctx, f, true, nil)
		if err != nil {
			return nil, err
		}
		args = a
		q = "SELECT " + ciCols + ciFrom + " WHERE 1 = 1" + cond
		if p.AfterID != 0 {
			args = append(args, p.AfterName, p.AfterID)
			q += " AND (c.name_key, c.id) > ($" + itoa(len(args)-1) + ", $" + itoa(len(args)) + ")"
		}
		args = append(args, p.Limit+1)
		q += " ORDER BY c.name_key, c.id LIMIT $" + itoa(len(args))
	}
	return db.All(ctx, s.DB.R, scanCI, q, args...)
}

// nameCandidates caps the CIs one name search takes from the graph: past
// them, the database searches the rest of the names itself.
const nameCandidates = 5000

// nameChunks are the sizes of the successive reads of candidates: the first
// that holds two pages, then growing.
var nameChunks = []int{8, 32, 128, 512, 1000}

// listByNamePart lists the CIs whose name contains q: one scan of the graph
// finds up to nameCandidates of them in name order (with the filters it
// knows; two pages' worth when the database has no filter of its own to
// apply), and the database reads them, in growing chunks, and applies the
// rest (attributes, missing) — and the name again, in case the graph is a
// moment behind. When the candidates run out before the page is full and
// there may be more, the database's own LIKE search continues after the
// last one.
func (s *Store) listByNamePart(ctx context.Context, g *Graph, q string, f Filter, p Page) (page.List[CI], error) {
	cond, args, err := s.where(ctx, f, true, nil)
	if err != nil {
		return page.List[CI]{}, err
	}
	keep := func(n Node) bool {
		return (f.Class == "" || n.Class == f.Class) && (f.TeamID == 0 || n.TeamID == f.TeamID) &&
			(f.Environment == "" || n.Environment == f.Environment) && (f.Lifecycle == "" || n.Lifecycle == f.Lifecycle)
	}
	// Without filters only the database knows, the graph's candidates are
	// the answer (the database checks them again): two pages are plenty.
	want := nameCandidates
	if len(f.Attrs) == 0 && !f.Missing {
		want = min(want, 2*(p.Limit+1))
	}
	ids := g.NameMatches(q, keep, p.AfterName, p.AfterID, want)
	var items []CI
	k := 0
	for k < len(nameChunks)-1 && nameChunks[k] < 2*(p.Limit+1) {
		k++
	}
	for start := 0; start < len(ids) && len(items) <= p.Limit; {
		size := nameChunks[k]
		k = min(k+1, len(nameChunks)-1)
		part := ids[start:min(start+size, len(ids))]
		start += len(part)
		// A statement of a fixed size (padded with id 0, which no CI has),
		// so that SQLite keeps it prepared.
		a := append([]any(nil), args...)
		in := make([]string, size)
		for i := range size {
			var id int64
			if i < len(part) {
				id = part[i]
			}
			a = append(a, id)
			in[i] = "$" + itoa(len(a))
		}
		got, err := db.All(ctx, s.DB.R, scanCI, "SELECT "+ciCols+ciFrom+" WHERE c.id IN ("+strings.Join(in, ",")+")"+cond+
			" ORDER BY c.name_key, c.id", a...)
		if err != nil {
			return page.List[CI]{}, err
		}
		items = append(items, got...)
	}
	if len(items) > p.Limit || len(ids) < want {
		return cutPage(items, p), nil
	}
	// Every candidate read, the page not full: the rest of the names, past
	// the last candidate, from the database.
	last := ids[len(ids)-1]
	rest := p
	rest.AfterName, rest.AfterID, rest.Limit = g.nameKey(last), last, p.Limit-len(items)
	more, err := s.listBySQL(ctx, f, rest)
	if err != nil {
		return page.List[CI]{}, err
	}
	items = append(items, more...)
	return cutPage(items, p), nil
}

// cutPage ends a list at the page's limit, with the cursor of the next page.
func cutPage(items []CI, p Page) page.List[CI] {
	out := page.List[CI]{Items: items}
	if out.Items == nil {
		out.Items = []CI{}
	}
	if len(items) > p.Limit {
		out.Items = items[:p.Limit]
		out.Next = encodeCursor(out.Items[p.Limit-1])
	}
	return out
}

// CountByClass counts the CIs that match f (its class aside) per class key.
func (s *Store) CountByClass(ctx context.Context, f Filter) (map[string]int64, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return nil, err
	}
	cond, args, err := s.where(ctx, f, false, nil)
	if err != nil {
		return nil, err
	}
	rows, err := s.DB.R.QueryContext(ctx, "SELECT k.key, COUNT(*)"+ciFrom+" WHERE 1 = 1"+cond+" GROUP BY k.key", args...)
	if err != nil {
		return nil, db.Classify(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}

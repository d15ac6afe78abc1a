package cmdb

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/steadyhq/steady/internal/audit"
	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// How a mapping rule matches the value of its label.
const (
	MatchName       = "name"        // a CI's name, case-insensitive
	MatchExternalID = "external_id" // a CI's external id, in any source
)

// envProduction is the environment an event's CI is preferred in.
const envProduction = "production"

// MaxMappingRules caps the ordered list of mapping rules.
const MaxMappingRules = 50

// MappingRule says how events name CIs: the value of the event's label
// Label (or, for "host", "component", "group" and "class", the event field
// of that name when it has no such label), without its ":port" when
// StripPort is set, is matched against a CI's name or external id. Rules
// are tried in order; the first that finds a CI wins.
type MappingRule struct {
	ID        int64     `json:"id"`
	Position  int       `json:"position"`
	Label     string    `json:"label"`
	Match     string    `json:"match"`
	StripPort bool      `json:"strip_port"`
	CreatedAt time.Time `json:"created_at"`
}

// MappingRuleInput is one rule as written; its position is its place in
// the list.
type MappingRuleInput struct {
	Label     string `json:"label"`
	Match     string `json:"match"`
	StripPort bool   `json:"strip_port"`
}

// MappingRuleSet is the whole ordered list of rules, as written.
type MappingRuleSet struct {
	Rules []MappingRuleInput `json:"rules"`
}

var labelRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.\-]{0,99}$`)

// Validate checks a rule list; fields are named "rules[i].label" and so on.
func (set MappingRuleSet) Validate() error {
	var fe errs.Fields
	if set.Rules == nil {
		fe.Add("rules", "is required: the ordered list of rules (it may be empty)")
	}
	fe.Check(len(set.Rules) > MaxMappingRules, "rules", fmt.Sprintf("must hold at most %d rules", MaxMappingRules))
	seen := map[string]int{}
	for i, r := range set.Rules {
		f := fmt.Sprintf("rules[%d].", i)
		switch {
		case r.Label == "":
			fe.Add(f+"label", "is required")
		case !labelRE.MatchString(r.Label):
			fe.Add(f+"label", "must be a label name: a letter or _, then letters, digits, _, . or -, at most 100")
		}
		fe.Check(r.Match != MatchName && r.Match != MatchExternalID, f+"match", "must be name or external_id")
		k := r.Label + "\x00" + r.Match
		if j, ok := seen[k]; ok {
			fe.Add(f+"label", fmt.Sprintf("repeats rule %d (the same label and match)", j))
		} else {
			seen[k] = i
		}
	}
	return fe.Err()
}

const mappingCols = "id, position, label, match, strip_port, created_at"

func scanMappingRule(r db.Scanner) (MappingRule, error) {
	var m MappingRule
	var created int64
	err := r.Scan(&m.ID, &m.Position, &m.Label, &m.Match, &m.StripPort, &created)
	m.CreatedAt = clock.FromMillis(created)
	return m, err
}

func mappingRules(ctx context.Context, q db.Querier) ([]MappingRule, error) {
	return db.All(ctx, q, scanMappingRule, "SELECT "+mappingCols+" FROM ci_mapping_rules ORDER BY position, id")
}

// MappingRules lists the rules in the order they are tried.
func (s *Store) MappingRules(ctx context.Context) ([]MappingRule, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return nil, err
	}
	return mappingRules(ctx, s.DB.R)
}

// SetMappingRules replaces the ordered list of rules (admins only). It bumps
// the CMDB revision, so every replica's event mapping picks it up, and
// reloads this process's graph before it returns.
func (s *Store) SetMappingRules(ctx context.Context, set MappingRuleSet) ([]MappingRule, error) {
	if err := iam.Require(ctx, iam.RoleAdmin); err != nil {
		return nil, err
	}
	for i := range set.Rules {
		set.Rules[i].Label = strings.TrimSpace(set.Rules[i].Label)
		set.Rules[i].Match = strings.TrimSpace(set.Rules[i].Match)
	}
	if err := set.Validate(); err != nil {
		return nil, err
	}
	var out []MappingRule
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		before, err := mappingRules(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM ci_mapping_rules"); err != nil {
			return err
		}
		now := s.Clock.Now().UnixMilli()
		for i, r := range set.Rules {
			if _, err := tx.ExecContext(ctx, `INSERT INTO ci_mapping_rules (position, label, match, strip_port, created_at)
				VALUES ($1, $2, $3, $4, $5)`, i+1, r.Label, r.Match, r.StripPort, now); err != nil {
				return err
			}
		}
		if err := bump(ctx, tx); err != nil {
			return err
		}
		s.graphChanged()
		if out, err = mappingRules(ctx, tx); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, audit.Event{Action: "cmdb.mapping_rules.set", ObjectType: "ci_mapping_rules", ObjectID: "all",
			Summary: "set the CI mapping rules: " + describeRules(out),
			Changes: map[string]any{"from": describeRules(before), "to": describeRules(out)}})
	})
	if err != nil {
		return nil, err
	}
	// The writer waits for the reload, so that the next event uses the new
	// rules; the event path itself never waits for one.
	if _, err := s.FreshGraph(ctx); err != nil && s.Log != nil {
		s.Log.WarnContext(ctx, "cmdb graph: cannot reload after the mapping rules changed", "error", err)
	}
	return out, nil
}

// describeRules writes a rule list as "instance→name (strip port), ci→external_id".
func describeRules(rules []MappingRule) string {
	if len(rules) == 0 {
		return "none"
	}
	parts := make([]string, len(rules))
	for i, r := range rules {
		parts[i] = r.Label + "→" + r.Match
		if r.StripPort {
			parts[i] += " (strip port)"
		}
	}
	return strings.Join(parts, ", ")
}

// eventValue is the value an event gives a rule's label: the label, or
// else the event field of that name (a PagerDuty event has no labels, but
// names its host in payload.source).
func eventValue(ev *event.Event, label string) string {
	if v, ok := ev.Labels[label]; ok {
		return v
	}
	switch label {
	case "host":
		return ev.Host
	case "component":
		return ev.Component
	case "group":
		return ev.Group
	case "class":
		return ev.Class
	}
	return ""
}

// StripPort removes a trailing ":port" from a host: "db-1:9100" → "db-1",
// "[2001:db8::1]:9100" → "2001:db8::1". A value that is not host:port (an
// IPv6 address alone, a name without a port) is returned as it is.
func StripPort(v string) string {
	if strings.HasPrefix(v, "[") {
		if end := strings.Index(v, "]"); end > 0 && (end == len(v)-1 || isPort(v[end+1:])) {
			return v[1:end]
		}
		return v
	}
	i := strings.LastIndexByte(v, ':')
	if i <= 0 || strings.IndexByte(v[:i], ':') >= 0 || !isPort(v[i:]) {
		return v
	}
	return v[:i]
}

// isPort reports whether s is ":" followed by 1 to 5 digits.
func isPort(s string) bool {
	if len(s) < 2 || len(s) > 6 || s[0] != ':' {
		return false
	}
	_, err := strconv.ParseUint(s[1:], 10, 16)
	return err == nil
}

// MapEvent returns the CI an event names under rules, 0 if none: the first
// rule whose label the event has and whose value names one CI of g. When a
// value names several CIs (names are not unique), pick tells them apart; a
// value it cannot tell apart maps to none by that rule, and the next rule
// is tried.
func MapEvent(g *Graph, rules []MappingRule, ev *event.Event) int64 {
	id, _ := mapEvent(g, rules, ev)
	return id
}

// mapEvent is MapEvent, and whether a value named several CIs that pick
// could not tell apart.
func mapEvent(g *Graph, rules []MappingRule, ev *event.Event) (id int64, ambiguous bool) {
	if g == nil {
		return 0, false
	}
	for i := range rules {
		r := &rules[i]
		v := strings.TrimSpace(eventValue(ev, r.Label))
		if v == "" {
			continue
		}
		if r.StripPort {
			v = StripPort(v)
		}
		var ids []int64
		if r.Match == MatchExternalID {
			ids = g.ByExternalID(v)
		} else {
			ids = g.ByName(v)
		}
		id, amb := pick(g, ids)
		if id != 0 {
			return id, false
		}
		ambiguous = ambiguous || amb
	}
	return 0, ambiguous
}

// pick chooses among the CIs of the same name (or external id): one that is
// not a business service (an event names what runs, not the service),
// then one in use (in maintenance next, then the others), then one in
// production. When several are equally good, it picks none: an event
// joined to the wrong CI would group it with unrelated incidents.
func pick(g *Graph, ids []int64) (id int64, ambiguous bool) {
	switch len(ids) {
	case 0:
		return 0, false
	case 1:
		return ids[0], false
	}
	best, bestScore, ties := int64(0), -1, 0
	for _, id := range ids {
		n, ok := g.Node(id)
		if !ok {
			continue
		}
		score := 0
		if n.Class != ClassBusinessService {
			score += 8
		}
		switch n.Lifecycle {
		case LifecycleInUse:
			score += 4
		case LifecycleMaintenance:
			score += 2
		}
		if n.Environment == envProduction {
			score++
		}
		switch {
		case score > bestScore:
			best, bestScore, ties = id, score, 1
		case score == bestScore:
			ties++
		}
	}
	if ties > 1 {
		return 0, true
	}
	return best, false
}

// Topology is the CMDB as ingest and incidents use it: the graph and the
// mapping rules of the same revision (see Store.Graph: they are reloaded
// in the background, so that no call waits for the database once they are
// loaded). Its methods are safe for concurrent use.
//
// It implements incident.Topology.
type Topology struct {
	Store *Store

	cur atomic.Pointer[topoView]
}

// NewTopology returns the topology of s.
func NewTopology(s *Store) *Topology { return &Topology{Store: s} }

// topoView is the graph (and its rules) with what was computed from it.
type topoView struct {
	graph *Graph

	mu sync.Mutex
	up map[upKey]map[int64]int // Upstream, computed once per CI and depth
}

type upKey struct {
	ci    int64
	depth int
}

// view returns the current graph and its computed facts; nil when no graph
// could be read (an error is logged).
func (t *Topology) view() *topoView {
	g, err := t.Store.Graph(context.Background())
	if err != nil || g == nil {
		if err != nil && t.Store.Log != nil {
			t.Store.Log.Warn("cmdb topology: cannot read the graph", "error", err)
		}
		return t.cur.Load()
	}
	v := t.cur.Load()
	if v != nil && v.graph == g {
		return v
	}
	nv := &topoView{graph: g, up: map[upKey]map[int64]int{}}
	if t.cur.CompareAndSwap(v, nv) {
		return nv
	}
	if v = t.cur.Load(); v != nil && v.graph == g {
		return v
	}
	return nv
}

// CIOf returns the CI an event names, 0 if none (the event ingester's CIOf
// hook: it runs in the senders' goroutines and never reads the database
// once a graph is loaded). An event whose value names several CIs that
// nothing tells apart maps to none and is counted (Store.AmbiguousMappings).
func (t *Topology) CIOf(ev *event.Event) int64 {
	v := t.view()
	if v == nil || len(v.graph.rules) == 0 {
		return 0
	}
	id, ambiguous := mapEvent(v.graph, v.graph.rules, ev)
	if ambiguous {
		t.Store.graph.ambiguous.Add(1)
	}
	return id
}

// FanIn returns how many CIs depend directly on ci.
func (t *Topology) FanIn(ci int64) int {
	if v := t.view(); v != nil && v.graph != nil {
		return v.graph.FanIn(ci)
	}
	return 0
}

// Redundancy returns a group's redundancy rule (0: none) and its members.
func (t *Topology) Redundancy(ci int64) (minUp int, members []int64) {
	v := t.view()
	if v == nil || v.graph == nil {
		return 0, nil
	}
	if minUp, _ = v.graph.MinUp(ci); minUp == 0 {
		return 0, nil
	}
	return minUp, v.graph.Members(ci)
}

// Upstream returns what ci depends on (relations whose failure propagates),
// to depth, without business services, as CI → depth (1: a direct
// dependency). The map is shared: callers must not change it.
func (t *Topology) Upstream(ci int64, depth int) map[int64]int {
	v := t.view()
	if v == nil || v.graph == nil {
		return nil
	}
	k := upKey{ci, depth}
	v.mu.Lock()
	up, ok := v.up[k]
	v.mu.Unlock()
	if ok {
		return up
	}
	hops := v.graph.Upstream(ci, depth)
	up = make(map[int64]int, len(hops))
	for _, h := range hops {
		if h.ID == ci || h.Depth <= 0 {
			continue
		}
		if n, ok := v.graph.Node(h.ID); ok && n.Class == ClassBusinessService {
			continue
		}
		if d, seen := up[h.ID]; !seen || h.Depth < d {
			up[h.ID] = h.Depth
		}
	}
	v.mu.Lock()
	if len(v.up) > 100000 {
		clear(v.up) // bound the memory of a long-lived copy
	}
	v.up[k] = up
	v.mu.Unlock()
	return up
}

// impactDepth is how far downstream impacted business services are looked for.
const impactDepth = 10

// Impacted returns the business services affected if cis fail: downstream
// of them (honouring redundancy), and any of them that is one.
func (t *Topology) Impacted(cis []int64) []int64 {
	v := t.view()
	if v == nil || v.graph == nil || len(cis) == 0 {
		return nil
	}
	seen := map[int64]bool{}
	var out []int64
	add := func(id int64) {
		if seen[id] {
			return
		}
		seen[id] = true
		if n, ok := v.graph.Node(id); ok && n.Class == ClassBusinessService {
			out = append(out, id)
		}
	}
	for _, id := range cis {
		add(id)
	}
	for _, h := range v.graph.Downstream(cis, impactDepth) {
		add(h.ID)
	}
	return out
}

// Name returns a CI's name ("CI 12" for one the copy does not know).
func (t *Topology) Name(ci int64) string {
	if v := t.view(); v != nil && v.graph != nil {
		if n, ok := v.graph.Node(ci); ok {
			return n.Name
		}
	}
	return "CI " + strconv.FormatInt(ci, 10)
}

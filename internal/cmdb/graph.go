package cmdb

import (
	"container/heap"
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/steadyhq/steady/internal/platform/db"
)

// Graph is an in-memory, read-only copy of the CIs (their names, classes and
// states), relationships and event mapping rules at one revision, for
// impact analysis, the service map and topology-aware incidents.
// Store.Graph returns the current one without waiting (it is reloaded in
// the background when the revision in the database moves); Store.FreshGraph
// waits for this process's own changes.
//
// The CIs are numbered densely in id order; every per-CI fact is a slice
// indexed by that number, and the relations are two compressed adjacency
// lists (outgoing and incoming), so a graph of 100,000 CIs and 300,000
// relations is a few dozen flat slices.
//
// Impact runs along "source <type> target" against the arrow for the types
// that propagate (the app runs_on the VM: the VM's failure affects the app),
// except member_of, where it runs with the arrow: a member's failure affects
// its group, and the group fails only when fewer than its redundancy rule's
// min_up members are up (without a rule, when any member is down).
// connects_to and backed_up_by do not propagate.
type Graph struct {
	Revision int64

	ids   []int64 // dense index → CI id, ascending
	dense []int32 // CI id → dense index + 1, when ids are dense enough; else nil (binary search)

	class   []uint16 // index into classes
	classes []string
	name    []string
	env     []uint16 // index into strs
	life    []uint16 // index into strs
	strs    []string
	ext     []string
	team    []int64
	minUp   []int32 // the redundancy rule of a group; 0 for none
	members []int32 // how many member_of relations point at the CI

	outStart []int32 // edges of node i: outTo[outStart[i]:outStart[i+1]]
	outTo    []int32
	outType  []uint8
	inStart  []int32
	inFrom   []int32
	inType   []uint8

	keys     []string         // lower-cased names, for substring search
	nameHead map[string]int32 // lower-cased name → first node; nameNext chains the others
	nameNext []int32
	extHead  map[string]int32
	extNext  []int32

	types  []string // type code → name
	prop   []bool   // type code → propagates
	member uint8    // the code of member_of

	rules []MappingRule // the event mapping rules of the same revision

	walks sync.Pool
}

// Node is a CI as the graph knows it.
type Node struct {
	ID          int64
	Class       string
	Name        string
	Environment string
	Lifecycle   string
	ExternalID  string
	TeamID      int64
}

// Hop is a CI reached by a traversal: at Depth from the start, through
// relation Via from (or to) From.
type Hop struct {
	ID    int64  `json:"id"`
	Depth int    `json:"depth"`
	Via   string `json:"via"`
	From  int64  `json:"from"`
}

// Edge is one relation of a CI as the graph knows it: the CI at its other
// end and its type.
type Edge struct {
	ID   int64
	Type string
}

// graphCheckEvery is how often the revision in the database is checked
// for changes made by other replicas (on the store's clock).
const graphCheckEvery = time.Second

// graphDirtyFor is how long after a change made by this process the
// revision is watched closely: the change's transaction commits a little
// after it is made, and more changes often follow.
const graphDirtyFor = 2 * time.Second

// graphDirtyEvery is the longest wait between two checks of the revision
// while it is watched closely; the first checks come sooner.
const graphDirtyEvery = 100 * time.Millisecond

// graphCache holds the current graph. Readers only load a pointer: the
// revision is checked, and the graph reloaded, by one goroutine in the
// background (the loader), so that no caller waits while a graph exists —
// except FreshGraph's, which asks for this process's own changes.
type graphCache struct {
	mu         sync.Mutex // held by whoever checks the revision or loads: one at a time
	cur        atomic.Pointer[Graph]
	checked    atomic.Int64 // when the revision was last checked (unix ns, the store's clock)
	dirtyUntil atomic.Int64 // until then (unix ns, monotonic), watch the revision closely
	loader     atomic.Bool  // the background loader runs
	started    atomic.Int64 // checks started (under mu)
	lastOK     atomic.Int64 // the number of the last check that succeeded
	checks     atomic.Int64 // revision queries, for metrics and tests
	loads      atomic.Int64 // graph loads
	warned     atomic.Int64 // when the loader last logged a failure (unix ns, monotonic)

	// ambiguous counts events whose CI name (or external id) named several
	// CIs that nothing told apart: they were mapped to no CI.
	ambiguous atomic.Int64
}

// monoStart anchors the monotonic clock the dirty window is measured on.
var monoStart = time.Now()

func mono() int64 { return int64(time.Since(monoStart)) }

// graphChanged marks the graph as changed by this process: the loader
// watches the revision closely for a while and reloads the graph as soon as
// the change is committed; FreshGraph checks it on every call meanwhile.
func (s *Store) graphChanged() {
	c := &s.graph
	c.dirtyUntil.Store(mono() + int64(graphDirtyFor))
	if c.cur.Load() != nil {
		s.startLoader()
	}
}

func (c *graphCache) dirty() bool { return mono() < c.dirtyUntil.Load() }

// GraphStats counts the work of the graph cache: revision checks and graph
// loads since the start.
type GraphStats struct {
	Checks int64
	Loads  int64
}

// GraphStats returns the counts of revision checks and graph loads.
func (s *Store) GraphStats() GraphStats {
	return GraphStats{Checks: s.graph.checks.Load(), Loads: s.graph.loads.Load()}
}

// AmbiguousMappings counts the events that named several CIs (by name or
// external id) that nothing told apart, so that they were mapped to none.
func (s *Store) AmbiguousMappings() int64 { return s.graph.ambiguous.Load() }

func (s *Store) graphRevision(ctx context.Context) (int64, error) {
	s.graph.checks.Add(1)
	var rev int64
	err := s.DB.R.QueryRowContext(ctx, "SELECT revision FROM cmdb_revision WHERE id = 1").Scan(&rev)
	return rev, db.Classify(err)
}

// Graph returns the current graph without waiting: when a graph is loaded,
// it is returned at once, and the revision is checked (and the graph
// reloaded) in the background, at most once a second, and closely for a
// while after a change made by this process. Only the first call, before
// any graph is loaded, reads the database itself. It is what the event path
// uses; a caller that must see this process's own changes at once (a read
// right after a write) uses FreshGraph.
func (s *Store) Graph(ctx context.Context) (*Graph, error) {
	c := &s.graph
	g := c.cur.Load()
	if g == nil {
		return s.refreshGraph(ctx)
	}
	if s.Clock.Now().UnixNano()-c.checked.Load() >= int64(graphCheckEvery) && !c.loader.Load() {
		s.startLoader()
	}
	return g, nil
}

// FreshGraph returns the graph with every change this process committed:
// while this process changed the CMDB within the last two seconds, or once
// the check interval passed, it checks the revision itself and, when it
// moved, waits for the reload (one loader at a time). Otherwise it returns
// the loaded graph at once. For reads that follow the caller's own writes:
// impact analysis, the service map, name search — never the event path.
func (s *Store) FreshGraph(ctx context.Context) (*Graph, error) {
	c := &s.graph
	g := c.cur.Load()
	if g == nil || c.dirty() || s.Clock.Now().UnixNano()-c.checked.Load() >= int64(graphCheckEvery) {
		return s.refreshGraph(ctx)
	}
	return g, nil
}

// refreshGraph checks the revision and reloads the graph when it moved,
// waiting for a check or load under way; when a check that started after
// this call succeeded meanwhile, its graph is returned. A failure with a
// graph loaded before returns that graph (and logs).
func (s *Store) refreshGraph(ctx context.Context) (*Graph, error) {
	c := &s.graph
	since := c.started.Load()
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.cur.Load()
	if g != nil && c.lastOK.Load() > since {
		return g, nil
	}
	ng, _, err := s.checkGraph(ctx)
	if err != nil {
		if g != nil {
			if s.Log != nil {
				s.Log.WarnContext(ctx, "cmdb graph: cannot check or reload; using the graph loaded before", "error", err)
			}
			return g, nil
		}
		return nil, err
	}
	return ng, nil
}

// checkGraph checks the revision and loads the graph when it moved (or none
// is loaded); c.mu is held. It reports whether it loaded.
func (s *Store) checkGraph(ctx context.Context) (*Graph, bool, error) {
	c := &s.graph
	n := c.started.Add(1)
	checkedAt := s.Clock.Now().UnixNano()
	g := c.cur.Load()
	if g != nil {
		rev, err := s.graphRevision(ctx)
		if err != nil {
			return nil, false, err
		}
		if g.Revision == rev {
			c.checked.Store(checkedAt)
			c.lastOK.Store(n)
			return g, false, nil
		}
	}
	ng, err := s.loadGraph(ctx)
	if err != nil {
		return nil, false, err
	}
	c.loads.Add(1)
	c.cur.Store(ng)
	c.checked.Store(checkedAt)
	c.lastOK.Store(n)
	return ng, true, nil
}

// startLoader starts the background loader unless it runs.
func (s *Store) startLoader() {
	if s.graph.loader.CompareAndSwap(false, true) {
		go s.runLoader()
	}
}

// runLoader is the background loader: it checks the revision (and reloads)
// once, then, while the graph is watched closely after a change made here,
// again after 1 ms, 2 ms, 4 ms … up to every graphDirtyEvery — starting
// over at 1 ms after a reload, but never sooner than the last load took.
func (s *Store) runLoader() {
	c := &s.graph
	wait := time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		t0 := time.Now()
		c.mu.Lock()
		_, loaded, err := s.checkGraph(ctx)
		c.mu.Unlock()
		cancel()
		if err != nil {
			c.checked.Store(s.Clock.Now().UnixNano()) // try again after the interval
			s.loaderFailed(err)
		}
		if loaded {
			wait = max(time.Millisecond, time.Since(t0))
		}
		if c.dirty() {
			time.Sleep(wait)
			wait = min(2*wait, max(graphDirtyEvery, wait))
			continue
		}
		c.loader.Store(false)
		// A change made while stopping is watched: by this goroutine, unless
		// another loader took over.
		if !c.dirty() || !c.loader.CompareAndSwap(false, true) {
			return
		}
	}
}

// loaderFailed logs a failed background check, at most once a minute, and
// not at all once the database is closed (the process is stopping).
func (s *Store) loaderFailed(err error) {
	if s.Log == nil || strings.Contains(err.Error(), "database is closed") || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, sql.ErrTxDone) || errors.Is(err, context.Canceled) {
		return
	}
	now := mono()
	last := s.graph.warned.Load()
	if last != 0 && now-last < int64(time.Minute) || !s.graph.warned.CompareAndSwap(last, now) {
		return
	}
	s.Log.Warn("cmdb graph: cannot check or reload in the background; using the graph loaded before", "error", err)
}

// LoadGraph reads the whole graph from the database now, bypassing the
// cache (for measurements and tools).
func (s *Store) LoadGraph(ctx context.Context) (*Graph, error) { return s.loadGraph(ctx) }

// loadGraph reads the graph in one read transaction, so that the revision
// and the rows agree.
func (s *Store) loadGraph(ctx context.Context) (*Graph, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.DB.Dialect == db.Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.DB.R.BeginTx(ctx, opts)
	if err != nil {
		return nil, db.Classify(err)
	}
	defer tx.Rollback()
	g, err := readGraph(ctx, tx)
	return g, db.Classify(err)
}

func readGraph(ctx context.Context, tx *sql.Tx) (*Graph, error) {
	g := &Graph{}
	g.types = RelationTypeNames()
	g.prop = make([]bool, len(g.types))
	code := map[string]uint8{}
	for i, t := range g.types {
		g.prop[i] = RelationTypes[t].Propagates
		code[t] = uint8(i)
		if t == RelMemberOf {
			g.member = uint8(i)
		}
	}
	if err := tx.QueryRowContext(ctx, "SELECT revision FROM cmdb_revision WHERE id = 1").Scan(&g.Revision); err != nil {
		return nil, err
	}

	// Classes: a small table, mapped to dense numbers.
	classOf := map[int64]uint16{}
	rows, err := tx.QueryContext(ctx, "SELECT id, key FROM ci_classes ORDER BY id")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id int64
		var key string
		if err := rows.Scan(&id, &key); err != nil {
			rows.Close()
			return nil, err
		}
		classOf[id] = uint16(len(g.classes))
		g.classes = append(g.classes, key)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	// CIs, in id order.
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM cis").Scan(&n); err != nil {
		return nil, err
	}
	g.ids = make([]int64, 0, n)
	g.class = make([]uint16, 0, n)
	g.name = make([]string, 0, n)
	g.env = make([]uint16, 0, n)
	g.life = make([]uint16, 0, n)
	g.ext = make([]string, 0, n)
	g.team = make([]int64, 0, n)
	keys := make([]string, 0, n)
	strIdx := map[string]uint16{}
	intern := func(b []byte) uint16 {
		if i, ok := strIdx[string(b)]; ok {
			return i
		}
		s := string(b)
		i := uint16(len(g.strs))
		strIdx[s] = i
		g.strs = append(g.strs, s)
		return i
	}
	rows, err = tx.QueryContext(ctx, "SELECT id, class_id, name, name_key, environment, lifecycle, external_id, team_id FROM cis ORDER BY id")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id, classID int64
		var name, key string
		var env, life sql.RawBytes
		var ext sql.NullString
		var team sql.NullInt64
		if err := rows.Scan(&id, &classID, &name, &key, &env, &life, &ext, &team); err != nil {
			rows.Close()
			return nil, err
		}
		g.ids = append(g.ids, id)
		g.class = append(g.class, classOf[classID])
		g.name = append(g.name, name)
		g.env = append(g.env, intern(env))
		g.life = append(g.life, intern(life))
		g.ext = append(g.ext, ext.String)
		g.team = append(g.team, team.Int64)
		keys = append(keys, key)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	n = len(g.ids)
	if n > 0 && g.ids[n-1] <= int64(4*n+1024) {
		g.dense = make([]int32, g.ids[n-1]+1)
		for i, id := range g.ids {
			g.dense[id] = int32(i) + 1
		}
	}

	// Name and external id lookups: one map each, chained for duplicates.
	g.keys = keys
	g.nameHead = make(map[string]int32, n)
	g.nameNext = make([]int32, n)
	g.extHead = map[string]int32{}
	g.extNext = make([]int32, n)
	for i := n - 1; i >= 0; i-- {
		g.nameNext[i] = -1
		if h, ok := g.nameHead[keys[i]]; ok {
			g.nameNext[i] = h
		}
		g.nameHead[keys[i]] = int32(i)
		g.extNext[i] = -1
		if e := g.ext[i]; e != "" {
			if h, ok := g.extHead[e]; ok {
				g.extNext[i] = h
			}
			g.extHead[e] = int32(i)
		}
	}

	// Relations, into compressed adjacency lists.
	var m int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM ci_relations").Scan(&m); err != nil {
		return nil, err
	}
	src := make([]int32, 0, m)
	dst := make([]int32, 0, m)
	typ := make([]uint8, 0, m)
	rows, err = tx.QueryContext(ctx, "SELECT source_id, type, target_id FROM ci_relations ORDER BY id")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var s, d int64
		var t sql.RawBytes
		if err := rows.Scan(&s, &t, &d); err != nil {
			rows.Close()
			return nil, err
		}
		c, ok := code[string(t)]
		si, ok1 := g.index(s)
		di, ok2 := g.index(d)
		if !ok || !ok1 || !ok2 {
			continue
		}
		src, dst, typ = append(src, si), append(dst, di), append(typ, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	g.outStart, g.outTo, g.outType = compress(n, src, dst, typ)
	g.inStart, g.inFrom, g.inType = compress(n, dst, src, typ)
	g.members = make([]int32, n)
	for i, t := range typ {
		if t == g.member {
			g.members[dst[i]]++
		}
	}

	// Redundancy rules.
	g.minUp = make([]int32, n)
	rows, err = tx.QueryContext(ctx, "SELECT ci_id, min_up FROM ci_redundancy")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id, minUp int64
		if err := rows.Scan(&id, &minUp); err != nil {
			rows.Close()
			return nil, err
		}
		if i, ok := g.index(id); ok && minUp > 0 {
			g.minUp[i] = int32(min(minUp, 1<<30))
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	// The event mapping rules: they bump the revision too.
	g.rules, err = mappingRules(ctx, tx)
	return g, err
}

// compress builds an adjacency list: for each node, the far ends and types
// of its edges, sorted by node.
func compress(n int, from, to []int32, typ []uint8) (start, far []int32, types []uint8) {
	start = make([]int32, n+1)
	for _, f := range from {
		start[f+1]++
	}
	for i := 1; i <= n; i++ {
		start[i] += start[i-1]
	}
	far = make([]int32, len(from))
	types = make([]uint8, len(from))
	pos := make([]int32, n)
	copy(pos, start[:n])
	for i, f := range from {
		p := pos[f]
		far[p], types[p] = to[i], typ[i]
		pos[f]++
	}
	return start, far, types
}

// index returns the dense index of a CI id.
func (g *Graph) index(id int64) (int32, bool) {
	if g.dense != nil {
		if id < 0 || id >= int64(len(g.dense)) || g.dense[id] == 0 {
			return 0, false
		}
		return g.dense[id] - 1, true
	}
	i, ok := slices.BinarySearch(g.ids, id)
	return int32(i), ok
}

// Len is the number of CIs.
func (g *Graph) Len() int { return len(g.ids) }

// Relations is the number of relations.
func (g *Graph) Relations() int { return len(g.outTo) }

// Has reports whether the CI is in the graph.
func (g *Graph) Has(id int64) bool { _, ok := g.index(id); return ok }

// Node returns a CI of the graph.
func (g *Graph) Node(id int64) (Node, bool) {
	i, ok := g.index(id)
	if !ok {
		return Node{}, false
	}
	return g.node(i), true
}

func (g *Graph) node(i int32) Node {
	return Node{ID: g.ids[i], Class: g.classes[g.class[i]], Name: g.name[i], Environment: g.strs[g.env[i]],
		Lifecycle: g.strs[g.life[i]], ExternalID: g.ext[i], TeamID: g.team[i]}
}

// MinUp returns the redundancy rule of a group (0 for none) and how many
// members it has.
func (g *Graph) MinUp(id int64) (minUp, members int) {
	i, ok := g.index(id)
	if !ok {
		return 0, 0
	}
	return int(g.minUp[i]), int(g.members[i])
}

// FanIn returns how many CIs depend directly on the CI: the sources of its
// incoming relations whose failure propagates, and the groups it is a
// member of.
func (g *Graph) FanIn(id int64) int {
	i, ok := g.index(id)
	if !ok {
		return 0
	}
	n := 0
	for e := g.inStart[i]; e < g.inStart[i+1]; e++ {
		if t := g.inType[e]; g.prop[t] && t != g.member {
			n++
		}
	}
	for e := g.outStart[i]; e < g.outStart[i+1]; e++ {
		if g.outType[e] == g.member {
			n++
		}
	}
	return n
}

// Members returns the members of a group: the CIs that are member_of it.
func (g *Graph) Members(id int64) []int64 {
	i, ok := g.index(id)
	if !ok {
		return nil
	}
	var out []int64
	for e := g.inStart[i]; e < g.inStart[i+1]; e++ {
		if g.inType[e] == g.member {
			out = append(out, g.ids[g.inFrom[e]])
		}
	}
	return out
}

// NodesOfClass returns up to limit CIs of a class, by name.
func (g *Graph) NodesOfClass(class string, limit int) []Node {
	var out []Node
	for i := range g.ids {
		if g.classes[g.class[i]] == class {
			out = append(out, g.node(int32(i)))
		}
	}
	slices.SortFunc(out, func(a, b Node) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// ByName returns the CIs with this name (case-insensitive).
func (g *Graph) ByName(name string) []int64 {
	h, ok := g.nameHead[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return nil
	}
	var out []int64
	for i := h; i >= 0; i = g.nameNext[i] {
		out = append(out, g.ids[i])
	}
	return out
}

// NameMatches returns the CIs whose name contains q (lower-cased), that keep
// accepts, and that come after (afterName, afterID) in name order: the first
// limit of them, in that order. One pass over the names keeps the best limit
// in a heap, so a query that matches most CIs costs no sort of all of them.
func (g *Graph) NameMatches(q string, keep func(Node) bool, afterName string, afterID int64, limit int) []int64 {
	if limit <= 0 {
		return nil
	}
	less := func(a, b int32) bool { // (name, id) order
		if g.keys[a] != g.keys[b] {
			return g.keys[a] < g.keys[b]
		}
		return g.ids[a] < g.ids[b]
	}
	h := &nodeHeap{less: less}
	for i, k := range g.keys {
		if !strings.Contains(k, q) || k < afterName || (k == afterName && g.ids[i] <= afterID) {
			continue
		}
		if h.Len() == limit && !less(int32(i), h.idx[0]) {
			continue
		}
		if keep != nil && !keep(g.node(int32(i))) {
			continue
		}
		heap.Push(h, int32(i))
		if h.Len() > limit {
			heap.Pop(h)
		}
	}
	out := make([]int64, h.Len())
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = g.ids[heap.Pop(h).(int32)]
	}
	return out
}

// nameKey is a CI's lower-cased name as stored (name_key).
func (g *Graph) nameKey(id int64) string {
	if i, ok := g.index(id); ok {
		return g.keys[i]
	}
	return ""
}

// nodeHeap is a max-heap of node indexes (the greatest in (name, id) order
// on top), to keep the smallest few.
type nodeHeap struct {
	idx  []int32
	less func(a, b int32) bool
}

func (h *nodeHeap) Len() int           { return len(h.idx) }
func (h *nodeHeap) Less(i, j int) bool { return h.less(h.idx[j], h.idx[i]) }
func (h *nodeHeap) Swap(i, j int)      { h.idx[i], h.idx[j] = h.idx[j], h.idx[i] }
func (h *nodeHeap) Push(x any)         { h.idx = append(h.idx, x.(int32)) }
func (h *nodeHeap) Pop() any {
	x := h.idx[len(h.idx)-1]
	h.idx = h.idx[:len(h.idx)-1]
	return x
}

// ByExternalID returns the CIs with this external id (any source).
func (g *Graph) ByExternalID(ext string) []int64 {
	h, ok := g.extHead[ext]
	if !ok || ext == "" {
		return nil
	}
	var out []int64
	for i := h; i >= 0; i = g.extNext[i] {
		out = append(out, g.ids[i])
	}
	return out
}

// Out returns the relations the CI is the source of.
func (g *Graph) Out(id int64) []Edge {
	i, ok := g.index(id)
	if !ok {
		return nil
	}
	out := make([]Edge, 0, g.outStart[i+1]-g.outStart[i])
	for e := g.outStart[i]; e < g.outStart[i+1]; e++ {
		out = append(out, Edge{ID: g.ids[g.outTo[e]], Type: g.types[g.outType[e]]})
	}
	return out
}

// In returns the relations that point at the CI.
func (g *Graph) In(id int64) []Edge {
	i, ok := g.index(id)
	if !ok {
		return nil
	}
	out := make([]Edge, 0, g.inStart[i+1]-g.inStart[i])
	for e := g.inStart[i]; e < g.inStart[i+1]; e++ {
		out = append(out, Edge{ID: g.ids[g.inFrom[e]], Type: g.types[g.inType[e]]})
	}
	return out
}

// walk is the scratch space of one traversal: visited marks by epoch, so
// that a traversal never clears a slice as long as the graph.
type walk struct {
	seen  []uint32
	epoch uint32
}

func (g *Graph) walker() *walk {
	w, _ := g.walks.Get().(*walk)
	if w == nil {
		w = &walk{seen: make([]uint32, len(g.ids))}
	}
	w.epoch++
	if w.epoch == 0 { // wrapped: start over
		clear(w.seen)
		w.epoch = 1
	}
	return w
}

func (w *walk) visit(i int32) bool {
	if w.seen[i] == w.epoch {
		return false
	}
	w.seen[i] = w.epoch
	return true
}

// Upstream returns what id depends on (following relations whose failure
// propagates), breadth first, to depth (depth < 1: no limit). From is the
// CI that depends on the hop.
func (g *Graph) Upstream(id int64, depth int) []Hop { return g.UpstreamOf([]int64{id}, depth) }

// UpstreamOf is Upstream from several CIs at once.
func (g *Graph) UpstreamOf(ids []int64, depth int) []Hop {
	w := g.walker()
	defer g.walks.Put(w)
	var frontier []int32
	for _, id := range ids {
		if i, ok := g.index(id); ok && w.visit(i) {
			frontier = append(frontier, i)
		}
	}
	var hops []Hop
	for d := 1; len(frontier) > 0 && (depth < 1 || d <= depth); d++ {
		var next []int32
		for _, x := range frontier {
			for e := g.outStart[x]; e < g.outStart[x+1]; e++ {
				t := g.outType[e]
				if !g.prop[t] || t == g.member {
					continue
				}
				if y := g.outTo[e]; w.visit(y) {
					next = append(next, y)
					hops = append(hops, Hop{ID: g.ids[y], Depth: d, Via: g.types[t], From: g.ids[x]})
				}
			}
			// A group depends on its members.
			for e := g.inStart[x]; e < g.inStart[x+1]; e++ {
				if g.inType[e] != g.member {
					continue
				}
				if y := g.inFrom[e]; w.visit(y) {
					next = append(next, y)
					hops = append(hops, Hop{ID: g.ids[y], Depth: d, Via: RelMemberOf, From: g.ids[x]})
				}
			}
		}
		frontier = next
	}
	return hops
}

// Downstream returns what is affected if the failed CIs fail, breadth first,
// to depth (depth < 1: no limit), honouring redundancy (a group stays up
// while at least its min_up members are up; members failed or affected
// count as down, and so do members it lacks). From is the CI whose failure
// reached the hop. The failed CIs themselves are not hops.
func (g *Graph) Downstream(failed []int64, depth int) []Hop {
	w := g.walker()
	defer g.walks.Put(w)
	var frontier []int32
	for _, id := range failed {
		if i, ok := g.index(id); ok && w.visit(i) {
			frontier = append(frontier, i)
		}
	}
	var hops []Hop
	var down map[int32]int32 // members down, per group
	for d := 1; len(frontier) > 0 && (depth < 1 || d <= depth); d++ {
		var next []int32
		for _, x := range frontier {
			for e := g.inStart[x]; e < g.inStart[x+1]; e++ {
				t := g.inType[e]
				if !g.prop[t] || t == g.member {
					continue
				}
				if y := g.inFrom[e]; w.visit(y) {
					next = append(next, y)
					hops = append(hops, Hop{ID: g.ids[y], Depth: d, Via: g.types[t], From: g.ids[x]})
				}
			}
			for e := g.outStart[x]; e < g.outStart[x+1]; e++ {
				if g.outType[e] != g.member {
					continue
				}
				grp := g.outTo[e]
				if w.seen[grp] == w.epoch {
					continue
				}
				if down == nil {
					down = map[int32]int32{}
				}
				down[grp]++
				if mu := g.minUp[grp]; mu > 0 && g.members[grp]-down[grp] >= mu {
					continue // enough members are still up
				}
				w.visit(grp)
				next = append(next, grp)
				hops = append(hops, Hop{ID: g.ids[grp], Depth: d, Via: RelMemberOf, From: g.ids[x]})
			}
		}
		frontier = next
	}
	return hops
}

// BusinessServices returns the hops that are business services: among a
// Downstream result, the impacted services.
func (g *Graph) BusinessServices(hops []Hop) []Hop {
	var out []Hop
	for _, h := range hops {
		if i, ok := g.index(h.ID); ok && g.classes[g.class[i]] == ClassBusinessService {
			out = append(out, h)
		}
	}
	return out
}

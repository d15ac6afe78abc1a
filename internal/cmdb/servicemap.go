package cmdb

import (
	"context"
	"fmt"
	"sort"
	"unicode/utf8"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// The service map: the dependency graph around a CI, laid out in layers
// (Sugiyama style) for an SVG drawn by the page. Dependents are above what
// they depend on: a business service at the top, its applications, their
// instances, the VMs and servers below. A group sits above its members.
//
// Layout: the CIs within depth (breadth first, nearest first, at most
// MaxMapNodes); cycles (possible with connects_to) broken by reversing the
// back edges of a depth-first search; longest-path layering; a dummy point
// per layer on long edges; barycentric ordering sweeps that keep the order
// with the fewest crossings; then coordinates, each layer centred.

// Limits of the service map.
const (
	DefaultMapDepth = 3
	MaxMapDepth     = 10
	MaxMapNodes     = 200
)

// Geometry of the map, in SVG user units.
const (
	MapNodeWidth  = 180
	MapNodeHeight = 44
	mapGapX       = 28
	mapGapY       = 72
	mapDummyWidth = 16
	mapMargin     = 16
	mapNameRunes  = 24
)

// MapNode is a CI on the map, with its box.
type MapNode struct {
	ImpactCI
	// Label is the name, shortened to fit the box.
	Label   string
	Layer   int
	X, Y    int
	W, H    int
	Center  bool
	Service bool
}

// MapPoint is a point of an edge's line.
type MapPoint struct{ X, Y int }

// MapEdge is a relation on the map, drawn from its source to its target.
type MapEdge struct {
	SourceID, TargetID int64
	Type               string
	Title              string // "web-1 runs_on vm-7"
	Points             []MapPoint
	Propagates         bool
}

// ServiceMap is a laid-out map.
type ServiceMap struct {
	Center    ImpactCI
	Depth     int
	Revision  int64
	Nodes     []MapNode
	Edges     []MapEdge
	Layers    int
	Width     int
	Height    int
	Total     int  // the CIs within depth
	Truncated bool // only the nearest MaxMapNodes are drawn
}

// Map lays out the graph around a CI to depth (0: the default). Around a
// business service it follows only what the service depends on; around any
// other CI, relations of every type in both directions.
func (s *Store) Map(ctx context.Context, ciID int64, depth int) (ServiceMap, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return ServiceMap{}, err
	}
	if depth == 0 {
		depth = DefaultMapDepth
	}
	if depth < 1 || depth > MaxMapDepth {
		return ServiceMap{}, errs.Invalid("depth", fmt.Sprintf("must be a whole number from 1 to %d", MaxMapDepth))
	}
	g, err := s.graphWith(ctx, []int64{ciID})
	if err != nil {
		return ServiceMap{}, err
	}
	if !g.Has(ciID) {
		return ServiceMap{}, errs.NotFound("CI %d not found", ciID)
	}
	return g.Map(ciID, depth, MaxMapNodes), nil
}

// Map lays out the CIs within depth of center, at most limit of them.
func (g *Graph) Map(center int64, depth, limit int) ServiceMap {
	out := ServiceMap{Depth: depth, Revision: g.Revision}
	ci, ok := g.index(center)
	if !ok {
		return out
	}
	out.Center = g.impactCI(ci)
	onlyDeps := g.classes[g.class[ci]] == ClassBusinessService

	// The CIs, breadth first.
	w := g.walker()
	defer g.walks.Put(w)
	w.visit(ci)
	order := []int32{ci}
	frontier := []int32{ci}
	total := 1
	for d := 1; d <= depth && len(frontier) > 0; d++ {
		var next []int32
		add := func(y int32) {
			if w.visit(y) {
				total++
				next = append(next, y)
				if len(order) < limit {
					order = append(order, y)
				}
			}
		}
		for _, x := range frontier {
			for e := g.outStart[x]; e < g.outStart[x+1]; e++ {
				if onlyDeps && g.outType[e] == g.member {
					continue
				}
				add(g.outTo[e])
			}
			for e := g.inStart[x]; e < g.inStart[x+1]; e++ {
				if onlyDeps && g.inType[e] != g.member {
					continue
				}
				add(g.inFrom[e])
			}
		}
		frontier = next
	}
	out.Total, out.Truncated = total, total > len(order)

	local := make(map[int32]int, len(order))
	for k, i := range order {
		local[i] = k
	}
	n := len(order)

	// The relations among them; layout edges run from the upper CI (the
	// dependent, or the group) to the lower one.
	type rel struct {
		src, dst int
		typ      uint8
	}
	var rels []rel
	for k, i := range order {
		for e := g.outStart[i]; e < g.outStart[i+1]; e++ {
			if t, ok := local[g.outTo[e]]; ok {
				rels = append(rels, rel{k, t, g.outType[e]})
			}
		}
	}
	adj := make([][]int, n) // layout successors, as indexes into rels
	for r, e := range rels {
		u := e.src
		if e.typ == g.member {
			u = e.dst
		}
		adj[u] = append(adj[u], r)
	}
	upper := func(r int) (int, int) {
		if rels[r].typ == g.member {
			return rels[r].dst, rels[r].src
		}
		return rels[r].src, rels[r].dst
	}

	// Break cycles: a depth-first search reverses its back edges.
	reversed := make([]bool, len(rels))
	state := make([]uint8, n) // 0 new, 1 on the stack, 2 done
	var dfs func(u int)
	dfs = func(u int) {
		state[u] = 1
		for _, r := range adj[u] {
			_, v := upper(r)
			switch state[v] {
			case 0:
				dfs(v)
			case 1:
				reversed[r] = true
			}
		}
		state[u] = 2
	}
	for u := 0; u < n; u++ {
		if state[u] == 0 {
			dfs(u)
		}
	}
	dir := func(r int) (int, int) {
		u, v := upper(r)
		if reversed[r] || u == v {
			return v, u
		}
		return u, v
	}

	// Longest-path layering, in topological order.
	layer := make([]int, n)
	indeg := make([]int, n)
	succ := make([][]int, n)
	for r := range rels {
		u, v := dir(r)
		if u == v {
			continue
		}
		succ[u] = append(succ[u], v)
		indeg[v]++
	}
	queue := make([]int, 0, n)
	for u := 0; u < n; u++ {
		if indeg[u] == 0 {
			queue = append(queue, u)
		}
	}
	for q := 0; q < len(queue); q++ {
		u := queue[q]
		for _, v := range succ[u] {
			layer[v] = max(layer[v], layer[u]+1)
			if indeg[v]--; indeg[v] == 0 {
				queue = append(queue, v)
			}
		}
	}
	layers := 0
	for _, l := range layer {
		layers = max(layers, l+1)
	}

	// Dummy points on long edges: each edge becomes a chain of segments
	// between adjacent layers.
	nodeLayer := append([]int(nil), layer...)
	isDummy := make([]bool, n)
	chains := make([][]int, len(rels)) // per relation: its points from upper to lower
	var segs [][2]int
	for r := range rels {
		u, v := dir(r)
		if u == v {
			continue
		}
		chain := []int{u}
		for l := layer[u] + 1; l < layer[v]; l++ {
			nodeLayer = append(nodeLayer, l)
			isDummy = append(isDummy, true)
			chain = append(chain, len(nodeLayer)-1)
		}
		chain = append(chain, v)
		for k := 0; k+1 < len(chain); k++ {
			segs = append(segs, [2]int{chain[k], chain[k+1]})
		}
		chains[r] = chain
	}
	total2 := len(nodeLayer)
	up := make([][]int, total2)
	down := make([][]int, total2)
	for _, sg := range segs {
		down[sg[0]] = append(down[sg[0]], sg[1])
		up[sg[1]] = append(up[sg[1]], sg[0])
	}

	// Ordering: breadth-first order to start, then barycentric sweeps.
	rows := make([][]int, max(layers, 1))
	for x := 0; x < total2; x++ {
		rows[nodeLayer[x]] = append(rows[nodeLayer[x]], x)
	}
	pos := make([]float64, total2)
	setPos := func() {
		for _, row := range rows {
			for k, x := range row {
				pos[x] = float64(k)
			}
		}
	}
	setPos()
	crossings := func() int {
		c := 0
		for _, row := range rows {
			var ss [][2]float64
			for _, x := range row {
				for _, y := range down[x] {
					ss = append(ss, [2]float64{pos[x], pos[y]})
				}
			}
			for a := 0; a < len(ss); a++ {
				for b := a + 1; b < len(ss); b++ {
					if (ss[a][0]-ss[b][0])*(ss[a][1]-ss[b][1]) < 0 {
						c++
					}
				}
			}
		}
		return c
	}
	best := crossings()
	bestRows := cloneRows(rows)
	sweep := func(l int, nb [][]int) {
		row := rows[l]
		bary := make(map[int]float64, len(row))
		for _, x := range row {
			if len(nb[x]) == 0 {
				bary[x] = pos[x]
				continue
			}
			sum := 0.0
			for _, y := range nb[x] {
				sum += pos[y]
			}
			bary[x] = sum / float64(len(nb[x]))
		}
		sort.SliceStable(row, func(a, b int) bool { return bary[row[a]] < bary[row[b]] })
		for k, x := range row {
			pos[x] = float64(k)
		}
	}
	for it := 0; it < 8 && best > 0; it++ {
		if it%2 == 0 {
			for l := 1; l < len(rows); l++ {
				sweep(l, up)
			}
		} else {
			for l := len(rows) - 2; l >= 0; l-- {
				sweep(l, down)
			}
		}
		if c := crossings(); c < best {
			best, bestRows = c, cloneRows(rows)
		}
	}
	rows = bestRows

	// Coordinates: each layer centred on the widest.
	widthOf := func(x int) int {
		if isDummy[x] {
			return mapDummyWidth
		}
		return MapNodeWidth
	}
	rowWidth := make([]int, len(rows))
	maxW := 0
	for l, row := range rows {
		wsum := 0
		for k, x := range row {
			if k > 0 {
				wsum += mapGapX
			}
			wsum += widthOf(x)
		}
		rowWidth[l] = wsum
		maxW = max(maxW, wsum)
	}
	cx := make([]int, total2) // centre x
	ty := make([]int, total2) // top y
	for l, row := range rows {
		x := mapMargin + (maxW-rowWidth[l])/2
		for _, v := range row {
			cx[v] = x + widthOf(v)/2
			ty[v] = mapMargin + l*(MapNodeHeight+mapGapY)
			x += widthOf(v) + mapGapX
		}
	}
	out.Layers = len(rows)
	out.Width = maxW + 2*mapMargin
	out.Height = len(rows)*(MapNodeHeight+mapGapY) - mapGapY + 2*mapMargin

	out.Nodes = make([]MapNode, 0, n)
	for k, i := range order {
		c := g.impactCI(i)
		out.Nodes = append(out.Nodes, MapNode{ImpactCI: c, Label: shorten(c.Name, mapNameRunes), Layer: layer[k],
			X: cx[k] - MapNodeWidth/2, Y: ty[k], W: MapNodeWidth, H: MapNodeHeight, Center: i == ci,
			Service: c.Class == ClassBusinessService})
	}
	for r, e := range rels {
		me := MapEdge{SourceID: g.ids[order[e.src]], TargetID: g.ids[order[e.dst]], Type: g.types[e.typ], Propagates: g.prop[e.typ]}
		me.Title = g.name[order[e.src]] + " " + me.Type + " " + g.name[order[e.dst]]
		chain := chains[r]
		if chain == nil {
			continue
		}
		for k, x := range chain {
			switch {
			case k == 0:
				me.Points = append(me.Points, MapPoint{cx[x], ty[x] + MapNodeHeight})
			case k == len(chain)-1:
				me.Points = append(me.Points, MapPoint{cx[x], ty[x]})
			default:
				me.Points = append(me.Points, MapPoint{cx[x], ty[x]}, MapPoint{cx[x], ty[x] + MapNodeHeight})
			}
		}
		// Draw from the source to the target, so the arrow points at the target.
		u, _ := dir(r)
		if u != e.src {
			for a, b := 0, len(me.Points)-1; a < b; a, b = a+1, b-1 {
				me.Points[a], me.Points[b] = me.Points[b], me.Points[a]
			}
		}
		out.Edges = append(out.Edges, me)
	}
	return out
}

func cloneRows(rows [][]int) [][]int {
	out := make([][]int, len(rows))
	for i, r := range rows {
		out[i] = append([]int(nil), r...)
	}
	return out
}

// shorten cuts s to n characters, ending in "…" when it cut.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

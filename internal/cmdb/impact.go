package cmdb

import (
	"context"
	"fmt"

	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// Impact analysis: "if these CIs fail, what is affected, and which business
// services?" (downstream) and "what does this CI depend on?" (upstream),
// over the in-memory graph.

// Impact directions.
const (
	Downstream = "downstream"
	Upstream   = "upstream"
)

// Limits of an impact analysis.
const (
	DefaultImpactDepth = 5
	MaxImpactDepth     = 20
	// MaxImpactStart bounds the failed CIs of one analysis.
	MaxImpactStart = 1000
	// MaxImpactHops bounds the hops an answer lists; Total counts them all.
	MaxImpactHops = 5000
	// MaxImpactPaths bounds the paths an answer lists.
	MaxImpactPaths = 200
)

// ImpactCI names a CI in an impact analysis.
type ImpactCI struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Class       string `json:"class"`
	Environment string `json:"environment"`
	Lifecycle   string `json:"lifecycle"`
}

// ImpactHop is a CI an analysis reached: at Depth, through a relation of
// type Via from (downstream) or of (upstream) the CI From.
type ImpactHop struct {
	ImpactCI
	Depth int    `json:"depth"`
	Via   string `json:"via"`
	From  int64  `json:"from"`
}

// PathStep is one CI of a path, and the relation type that reached it from
// the step before ("" on the first step).
type PathStep struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Via  string `json:"via"`
}

// ImpactPath shows how an analysis reached a CI: from a start CI to To.
type ImpactPath struct {
	To    int64      `json:"to"`
	Steps []PathStep `json:"steps"`
}

// Impact is the result of an analysis.
type Impact struct {
	Direction string     `json:"direction"`
	Depth     int        `json:"depth"`
	Revision  int64      `json:"revision"`
	Start     []ImpactCI `json:"start"`
	// Hops are the CIs reached, by depth: at most MaxImpactHops of Total.
	Hops      []ImpactHop `json:"hops"`
	Total     int         `json:"total"`
	Truncated bool        `json:"truncated"`
	// Services are the business services among all the hops.
	Services []ImpactHop `json:"services"`
	// Paths lead downstream from a failed CI to each impacted business
	// service; upstream, from the CI to each of its deepest dependencies.
	Paths []ImpactPath `json:"paths"`
}

func (g *Graph) impactCI(i int32) ImpactCI {
	return ImpactCI{ID: g.ids[i], Name: g.name[i], Class: g.classes[g.class[i]], Environment: g.strs[g.env[i]], Lifecycle: g.strs[g.life[i]]}
}

// Impact runs an analysis from start (CIs of the graph; others are left
// out) in direction to depth.
func (g *Graph) Impact(start []int64, direction string, depth int) Impact {
	out := Impact{Direction: direction, Depth: depth, Revision: g.Revision, Start: []ImpactCI{}, Hops: []ImpactHop{},
		Services: []ImpactHop{}, Paths: []ImpactPath{}}
	for _, id := range start {
		if i, ok := g.index(id); ok {
			out.Start = append(out.Start, g.impactCI(i))
		}
	}
	var hops []Hop
	if direction == Upstream {
		hops = g.UpstreamOf(start, depth)
	} else {
		hops = g.Downstream(start, depth)
	}
	out.Total = len(hops)
	out.Truncated = len(hops) > MaxImpactHops
	byID := make(map[int64]int, len(hops))
	for k, h := range hops {
		byID[h.ID] = k
		i, _ := g.index(h.ID)
		ih := ImpactHop{ImpactCI: g.impactCI(i), Depth: h.Depth, Via: h.Via, From: h.From}
		if k < MaxImpactHops {
			out.Hops = append(out.Hops, ih)
		}
		if ih.Class == ClassBusinessService {
			out.Services = append(out.Services, ih)
		}
	}
	var ends []int64
	if direction == Upstream {
		// The deepest dependencies: hops no other hop was reached from.
		from := make(map[int64]bool, len(hops))
		for _, h := range hops {
			from[h.From] = true
		}
		for _, h := range hops {
			if !from[h.ID] {
				ends = append(ends, h.ID)
			}
		}
	} else {
		for _, sv := range out.Services {
			ends = append(ends, sv.ID)
		}
	}
	for _, end := range ends {
		if len(out.Paths) == MaxImpactPaths {
			break
		}
		var steps []PathStep
		for at, ok := byID[end]; ok; at, ok = byID[hops[at].From] {
			h := hops[at]
			i, _ := g.index(h.ID)
			steps = append(steps, PathStep{ID: h.ID, Name: g.name[i], Via: h.Via})
			if _, more := byID[h.From]; !more {
				j, _ := g.index(h.From)
				steps = append(steps, PathStep{ID: h.From, Name: g.name[j]})
			}
		}
		for a, b := 0, len(steps)-1; a < b; a, b = a+1, b-1 {
			steps[a], steps[b] = steps[b], steps[a]
		}
		out.Paths = append(out.Paths, ImpactPath{To: end, Steps: steps})
	}
	return out
}

// checkImpact validates the direction and depth of an analysis; depth 0 is
// the default.
func checkImpact(direction string, depth int) (string, int, error) {
	var f errs.Fields
	if direction == "" {
		direction = Downstream
	}
	f.Check(direction != Downstream && direction != Upstream, "direction", "must be downstream or upstream")
	if depth == 0 {
		depth = DefaultImpactDepth
	}
	f.Check(depth < 1 || depth > MaxImpactDepth, "depth", fmt.Sprintf("must be a whole number from 1 to %d", MaxImpactDepth))
	return direction, depth, f.Err()
}

// graphWith returns the graph with this process's own changes (FreshGraph),
// reloaded when it does not know one of ids yet (a CI just created by
// another replica).
func (s *Store) graphWith(ctx context.Context, ids []int64) (*Graph, error) {
	g, err := s.FreshGraph(ctx)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if !g.Has(id) {
			var one int
			if err := s.DB.R.QueryRowContext(ctx, "SELECT 1 FROM cis WHERE id = $1", id).Scan(&one); err == nil {
				s.graphChanged()
				return s.FreshGraph(ctx)
			}
			break
		}
	}
	return g, nil
}

// ImpactOf analyses one CI: what its failure affects (downstream) or what it
// depends on (upstream), to depth (0: the default).
func (s *Store) ImpactOf(ctx context.Context, ciID int64, direction string, depth int) (Impact, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return Impact{}, err
	}
	direction, depth, err := checkImpact(direction, depth)
	if err != nil {
		return Impact{}, err
	}
	g, err := s.graphWith(ctx, []int64{ciID})
	if err != nil {
		return Impact{}, err
	}
	if !g.Has(ciID) {
		return Impact{}, errs.NotFound("CI %d not found", ciID)
	}
	return g.Impact([]int64{ciID}, direction, depth), nil
}

// ImpactRequest asks what the failure of several CIs affects (or, upstream,
// what they depend on).
type ImpactRequest struct {
	// Failed are CI ids; CIs are references (an id, "source:external_id"
	// or a name). Together they must name at least one CI.
	Failed    []int64  `json:"failed,omitempty"`
	CIs       []string `json:"cis,omitempty"`
	Direction string   `json:"direction,omitempty"`
	Depth     int      `json:"depth,omitempty"`
}

// Analyse runs an impact analysis for several CIs.
func (s *Store) Analyse(ctx context.Context, req ImpactRequest) (Impact, error) {
	if err := iam.Require(ctx, iam.RoleViewer); err != nil {
		return Impact{}, err
	}
	direction, depth, err := checkImpact(req.Direction, req.Depth)
	if err != nil {
		return Impact{}, err
	}
	var f errs.Fields
	if len(req.Failed)+len(req.CIs) == 0 {
		f.Add("failed", "at least one CI is required")
	}
	if len(req.Failed)+len(req.CIs) > MaxImpactStart {
		f.Add("failed", fmt.Sprintf("at most %d CIs at once", MaxImpactStart))
	}
	if err := f.Err(); err != nil {
		return Impact{}, err
	}
	ids := append([]int64(nil), req.Failed...)
	for k, ref := range req.CIs {
		ci, err := s.FindCI(ctx, s.DB.R, ref)
		if err != nil {
			if errs.Is(err, errs.KindNotFound) || errs.Is(err, errs.KindConflict) {
				e, _ := errs.As(err)
				f.Add(fmt.Sprintf("cis[%d]", k), e.Message)
				continue
			}
			return Impact{}, err
		}
		ids = append(ids, ci.ID)
	}
	g, err := s.graphWith(ctx, ids)
	if err != nil {
		return Impact{}, err
	}
	for k, id := range req.Failed {
		if !g.Has(id) {
			f.Add(fmt.Sprintf("failed[%d]", k), fmt.Sprintf("names no CI (there is no CI %d)", id))
		}
	}
	if err := f.Err(); err != nil {
		return Impact{}, err
	}
	return g.Impact(ids, direction, depth), nil
}

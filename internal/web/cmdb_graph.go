package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/steadyhq/steady/internal/cmdb"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/errs"
)

// The impact view and the service map of the CMDB. Everyone signed in may
// look; managers add and remove relationships and set redundancy rules on
// the impact page. The cmdb store decides who may do what.

// hopRow is a CI an analysis reached, with the name of the CI it came from.
type hopRow struct {
	cmdb.ImpactHop
	FromName string
}

// impactLevel is the hops of one depth.
type impactLevel struct {
	Depth int
	Hops  []hopRow
}

type impactData struct {
	CI         cmdb.ImpactCI
	Depth      int
	Down, Up   cmdb.Impact
	Levels     []impactLevel // downstream, by depth
	UpRows     []hopRow
	Relations  []cmdb.Relation
	Redundancy *cmdb.Redundancy
	Members    int // CIs member_of this one
	Types      []option
	Depths     []option
}

// impactRows names where each hop came from.
func impactRows(im cmdb.Impact) []hopRow {
	names := map[int64]string{}
	for _, s := range im.Start {
		names[s.ID] = s.Name
	}
	for _, h := range im.Hops {
		names[h.ID] = h.Name
	}
	rows := make([]hopRow, 0, len(im.Hops))
	for _, h := range im.Hops {
		rows = append(rows, hopRow{ImpactHop: h, FromName: names[h.From]})
	}
	return rows
}

func relationTypeOptions() []option {
	var out []option
	for _, t := range cmdb.RelationTypeNames() {
		out = append(out, option{t, strings.ReplaceAll(t, "_", " ")})
	}
	return out
}

func depthOptions(maxDepth, def int) []option {
	var out []option
	for d := 1; d <= maxDepth; d++ {
		label := strconv.Itoa(d)
		if d == def {
			label += " (default)"
		}
		out = append(out, option{strconv.Itoa(d), label})
	}
	return out
}

// queryDepth reads ?depth=, def when absent.
func queryDepth(r *http.Request, def, maxDepth int) (int, error) {
	v := r.URL.Query().Get("depth")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxDepth {
		return 0, errs.Invalid("depth", fmt.Sprintf("must be a whole number from 1 to %d", maxDepth))
	}
	return n, nil
}

func (s *Server) impactPage(w http.ResponseWriter, r *http.Request) error {
	return s.showImpact(w, r, http.StatusOK, nil)
}

// showImpact renders the impact page of the CI in the path, with f as the
// relationship form (nil: empty).
func (s *Server) showImpact(w http.ResponseWriter, r *http.Request, status int, f *form) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	depth, err := queryDepth(r, cmdb.DefaultImpactDepth, cmdb.MaxImpactDepth)
	if err != nil {
		return err
	}
	ctx := r.Context()
	down, err := s.CMDB.ImpactOf(ctx, id, cmdb.Downstream, depth)
	if err != nil {
		return err
	}
	up, err := s.CMDB.ImpactOf(ctx, id, cmdb.Upstream, depth)
	if err != nil {
		return err
	}
	rels, err := s.CMDB.Relations(ctx, id)
	if err != nil {
		return err
	}
	d := impactData{CI: down.Start[0], Depth: depth, Down: down, Up: up, UpRows: impactRows(up), Relations: rels,
		Types: relationTypeOptions(), Depths: depthOptions(cmdb.MaxImpactDepth, cmdb.DefaultImpactDepth)}
	for _, h := range impactRows(down) {
		if len(d.Levels) == 0 || d.Levels[len(d.Levels)-1].Depth != h.Depth {
			d.Levels = append(d.Levels, impactLevel{Depth: h.Depth})
		}
		l := &d.Levels[len(d.Levels)-1]
		l.Hops = append(l.Hops, h)
	}
	for _, rel := range rels {
		if rel.Type == cmdb.RelMemberOf && rel.TargetID == id {
			d.Members++
		}
	}
	if red, err := s.CMDB.GetRedundancy(ctx, id); err == nil {
		d.Redundancy = &red
	} else if !errs.Is(err, errs.KindNotFound) {
		return err
	}
	if f == nil {
		f = newForm(nil).Set("source", d.CI.Name).Set("type", cmdb.RelDependsOn)
	}
	return s.render(w, r, status, s.v.cmdbImpact, view{Title: "Impact of " + d.CI.Name, Nav: "cmdb", Form: f, Data: d})
}

// impactURL is the impact page of a CI.
func impactURL(id int64) string { return "/cmdb/cis/" + itoa(id) + "/impact" }

// relationRename maps the store's field names to the form's.
var relationRename = map[string]string{"source_id": "source", "target_id": "target"}

func (s *Server) addRelation(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	f := newForm(r.PostForm)
	show := func(status int, f *form) error { return s.showImpact(w, r, status, f) }
	ctx := r.Context()
	refs := map[string]int64{}
	for _, name := range []string{"source", "target"} {
		ref := f.Get(name)
		if ref == "" {
			f.Fail(name, "is required: a CI's name, id or source:external_id")
			continue
		}
		ci, err := s.CMDB.FindCI(ctx, s.CMDB.DB.R, ref)
		if err != nil {
			e, ok := errs.As(err)
			if !ok || (e.Kind != errs.KindNotFound && e.Kind != errs.KindConflict) {
				return err
			}
			f.Fail(name, e.Message)
			continue
		}
		refs[name] = ci.ID
	}
	if f.Get("type") == "" {
		f.Fail("type", "is required")
	}
	if f.Invalid() {
		return invalid(f, show)
	}
	rel, err := s.CMDB.CreateRelation(ctx, cmdb.Relation{SourceID: refs["source"], Type: f.Get("type"), TargetID: refs["target"]})
	if err != nil {
		return s.retry(w, r, err, f, relationRename, show)
	}
	return s.done(w, r, impactURL(id)+"#relations", "Added: %s %s %s.", rel.SourceName, rel.Type, rel.TargetName)
}

func (s *Server) removeRelation(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	relID, err := pathID(r, "rel_id")
	if err != nil {
		return err
	}
	rel, err := s.CMDB.DeleteRelation(r.Context(), relID)
	if err != nil {
		return err
	}
	return s.done(w, r, impactURL(id)+"#relations", "Removed: %s %s %s.", rel.SourceName, rel.Type, rel.TargetName)
}

func (s *Server) setRedundancy(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	f := newForm(r.PostForm)
	show := func(status int, f *form) error { return s.showImpact(w, r, status, f) }
	n, err := strconv.Atoi(f.Get("min_up"))
	if err != nil || n < 1 {
		f.Fail("min_up", "must be a whole number of at least 1")
		return invalid(f, show)
	}
	red, err := s.CMDB.SetRedundancy(r.Context(), id, n)
	if err != nil {
		return s.retry(w, r, err, f, nil, show)
	}
	return s.done(w, r, impactURL(id)+"#redundancy", "It now stays up while at least %d of its %d members are up.", red.MinUp, red.Members)
}

func (s *Server) clearRedundancy(w http.ResponseWriter, r *http.Request) error {
	if err := requireRole(r, iam.RoleManager); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.CMDB.ClearRedundancy(r.Context(), id); err != nil {
		return err
	}
	return s.done(w, r, impactURL(id)+"#redundancy", "Removed the redundancy rule: any member down now takes it down.")
}

// The service map.

// mapEdgeView is an edge with its line as SVG points.
type mapEdgeView struct {
	cmdb.MapEdge
	Line string
}

type mapData struct {
	Map      *cmdb.ServiceMap
	Edges    []mapEdgeView
	Ref      string
	Depth    int
	Depths   []option
	Services []cmdb.Node // to start from, when no CI is chosen
}

func (s *Server) mapPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := checkQueryText(r); err != nil {
		return err
	}
	ref := strings.TrimSpace(r.URL.Query().Get("ci"))
	d := mapData{Ref: ref, Depths: depthOptions(cmdb.MaxMapDepth, cmdb.DefaultMapDepth)}
	depth, err := queryDepth(r, cmdb.DefaultMapDepth, cmdb.MaxMapDepth)
	if err != nil {
		return err
	}
	d.Depth = depth
	f := newForm(nil).Set("ci", ref).Set("depth", strconv.Itoa(depth))
	status := http.StatusOK
	title := "Service map"
	if ref != "" {
		ci, err := s.CMDB.FindCI(ctx, s.CMDB.DB.R, ref)
		switch {
		case err == nil:
			m, err := s.CMDB.Map(ctx, ci.ID, depth)
			if err != nil {
				return err
			}
			d.Map = &m
			title = "Service map of " + ci.Name
			for _, e := range m.Edges {
				pts := make([]string, len(e.Points))
				for i, p := range e.Points {
					pts[i] = itoa(int64(p.X)) + "," + itoa(int64(p.Y))
				}
				d.Edges = append(d.Edges, mapEdgeView{MapEdge: e, Line: strings.Join(pts, " ")})
			}
		case errs.Is(err, errs.KindNotFound) || errs.Is(err, errs.KindConflict):
			e, _ := errs.As(err)
			f.Fail("ci", e.Message)
			f.Message = "Please correct what is marked below."
			status = http.StatusNotFound
		default:
			return err
		}
	}
	if d.Map == nil {
		g, err := s.CMDB.FreshGraph(ctx)
		if err != nil {
			return err
		}
		d.Services = g.NodesOfClass(cmdb.ClassBusinessService, 100)
	}
	return s.render(w, r, status, s.v.cmdbMap, view{Title: title, Nav: "cmdb", Form: f, Data: d})
}

// checkQueryText refuses query values that are not text.
func checkQueryText(r *http.Request) error {
	for name, vs := range r.URL.Query() {
		for _, v := range vs {
			if strings.ContainsRune(v, 0) || !utf8.ValidString(v) {
				return errs.Invalid(name, "must be text")
			}
		}
	}
	return nil
}

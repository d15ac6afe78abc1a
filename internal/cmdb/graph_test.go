package cmdb_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/cmdb"
	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/platform/clock"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/testkit"
)

// chain builds Shop → shop-app → shop-1 → vm-1 → srv-1 (each depends on the
// next), with a SAN under the VM and a second service on the app.
type chain struct{ svc, svc2, app, inst, vm, srv, san, peer int64 }

func newChain(e *estate) chain {
	c := chain{
		svc: e.ci("business_service", "Shop"), svc2: e.ci("business_service", "Returns"),
		app: e.ci("application", "shop-app"), inst: e.ci("service_instance", "shop-1"),
		vm: e.ci("virtual_machine", "vm-1"), srv: e.ci("server", "srv-1"), san: e.ci("storage", "san-1"),
		peer: e.ci("application", "billing"),
	}
	e.relate(c.svc, cmdb.RelDependsOn, c.app)
	e.relate(c.svc2, cmdb.RelDependsOn, c.app)
	e.relate(c.inst, cmdb.RelMemberOf, c.app)
	e.relate(c.inst, cmdb.RelRunsOn, c.vm)
	e.relate(c.vm, cmdb.RelHostedOn, c.srv)
	e.relate(c.vm, cmdb.RelDependsOn, c.san)
	// Relations that do not propagate.
	e.relate(c.peer, cmdb.RelConnectsTo, c.app)
	e.relate(c.srv, cmdb.RelBackedUpBy, c.san)
	return c
}

func TestImpactTraversal(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		e := newEstate(t, d)
		ctx := context.Background()
		c := newChain(e)
		g, err := e.st.Graph(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if g.Len() != 8 || g.Relations() != 8 {
			t.Fatalf("graph of %d CIs, %d relations", g.Len(), g.Relations())
		}

		// Downstream: what the server's failure affects, to a depth.
		down := g.Downstream([]int64{c.srv}, 10)
		if got := hopNames(g, down); got != "vm-1@1 shop-1@2 shop-app@3 Shop@4 Returns@4" {
			t.Fatalf("downstream of the server: %s", got)
		}
		if down[0].Via != cmdb.RelHostedOn || down[0].From != c.srv || down[2].Via != cmdb.RelMemberOf || down[2].From != c.inst {
			t.Fatalf("hops %+v", down)
		}
		if got := hopNames(g, g.Downstream([]int64{c.srv}, 2)); got != "vm-1@1 shop-1@2" {
			t.Fatalf("downstream to depth 2: %s", got)
		}
		if got := hopNames(g, g.Downstream([]int64{c.srv}, 0)); got != "vm-1@1 shop-1@2 shop-app@3 Shop@4 Returns@4" {
			t.Fatalf("downstream without a limit: %s", got)
		}
		if got := hopNames(g, g.BusinessServices(down)); got != "Shop@4 Returns@4" {
			t.Fatalf("impacted services: %s", got)
		}
		// connects_to and backed_up_by do not propagate.
		if got := hopNames(g, g.Downstream([]int64{c.app}, 10)); got != "Shop@1 Returns@1" {
			t.Fatalf("downstream of the app: %s", got)
		}
		if got := hopNames(g, g.Downstream([]int64{c.san}, 10)); got != "vm-1@1 shop-1@2 shop-app@3 Shop@4 Returns@4" {
			t.Fatalf("downstream of the SAN: %s", got)
		}
		if got := hopNames(g, g.Downstream([]int64{c.san, c.srv, 424242}, 1)); got != "vm-1@1" {
			t.Fatalf("two failed CIs and an unknown one: %s", got)
		}

		// Upstream: what the service depends on.
		if got := hopNames(g, g.Upstream(c.svc, 10)); got != "shop-app@1 shop-1@2 vm-1@3 srv-1@4 san-1@4" {
			t.Fatalf("upstream of the service: %s", got)
		}
		if got := hopNames(g, g.Upstream(c.svc, 3)); got != "shop-app@1 shop-1@2 vm-1@3" {
			t.Fatalf("upstream to depth 3: %s", got)
		}
		if got := hopNames(g, g.Upstream(c.srv, 10)); got != "" {
			t.Fatalf("upstream of the server: %s", got)
		}

		// Lookups.
		if ids := g.ByName("SHOP-APP"); len(ids) != 1 || ids[0] != c.app {
			t.Fatalf("by name: %v", ids)
		}
		if n, ok := g.Node(c.vm); !ok || n.Name != "vm-1" || n.Class != "virtual_machine" || n.Environment != "production" || n.Lifecycle != "in_use" {
			t.Fatalf("node %+v", n)
		}
		if _, ok := g.Node(424242); ok {
			t.Fatal("a node that does not exist")
		}

		// The analysis: names, services and paths.
		im, err := e.st.ImpactOf(ctx, c.srv, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if im.Direction != cmdb.Downstream || im.Depth != cmdb.DefaultImpactDepth || im.Total != 5 || len(im.Services) != 2 ||
			im.Start[0].Name != "srv-1" || im.Hops[1].Name != "shop-1" || im.Hops[1].Class != "service_instance" {
			t.Fatalf("impact %+v", im)
		}
		if len(im.Paths) != 2 || pathText(im.Paths[0]) != "srv-1 >hosted_on> vm-1 >runs_on> shop-1 >member_of> shop-app >depends_on> Shop" {
			t.Fatalf("paths %+v", im.Paths)
		}
		up, err := e.st.ImpactOf(ctx, c.svc, cmdb.Upstream, 10)
		if err != nil {
			t.Fatal(err)
		}
		if up.Total != 5 || len(up.Paths) != 2 || pathText(up.Paths[0]) != "Shop >depends_on> shop-app >member_of> shop-1 >runs_on> vm-1 >hosted_on> srv-1" {
			t.Fatalf("upstream impact %+v", up)
		}
		if _, err := e.st.ImpactOf(ctx, c.svc, "sideways", 3); err == nil {
			t.Fatal("a bad direction")
		} else {
			wantInvalid(t, err, "direction", "downstream or upstream")
		}
		_, err = e.st.ImpactOf(ctx, c.svc, "", 21)
		wantInvalid(t, err, "depth", "1 to 20")
		if _, err := e.st.ImpactOf(ctx, 424242, "", 3); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("impact of a missing CI: %v", err)
		}
		many, err := e.st.Analyse(ctx, cmdb.ImpactRequest{Failed: []int64{c.vm}, CIs: []string{"san-1"}, Depth: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(many.Start) != 2 || many.Total != 2 {
			t.Fatalf("analysis of two: %+v", many)
		}
		_, err = e.st.Analyse(ctx, cmdb.ImpactRequest{Failed: []int64{c.vm, 424242}})
		wantInvalid(t, err, "failed[1]", "no CI")
		_, err = e.st.Analyse(ctx, cmdb.ImpactRequest{CIs: []string{"nothing-like-this"}})
		wantInvalid(t, err, "cis[0]")
		_, err = e.st.Analyse(ctx, cmdb.ImpactRequest{})
		wantInvalid(t, err, "failed", "at least one")
	})
}

func pathText(p cmdb.ImpactPath) string {
	var b strings.Builder
	for i, s := range p.Steps {
		if i > 0 {
			b.WriteString(" >" + s.Via + "> ")
		}
		b.WriteString(s.Name)
	}
	return b.String()
}

// TestGraphReload: this process's own change is seen at once by FreshGraph
// and within moments by Graph; one made by another replica within the
// check interval.
func TestGraphReload(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		e := newEstate(t, d)
		ctx := context.Background()
		app, vm := e.ci("application", "app"), e.ci("virtual_machine", "vm")
		g1, err := e.st.Graph(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if again, _ := e.st.Graph(ctx); again != g1 {
			t.Fatal("an unchanged graph was loaded again")
		}

		// Another replica: its own store and clock on the same database.
		otherClock := clock.NewFake(time.Now())
		other := cmdb.New(e.s.App.DB, e.s.App.Audit, otherClock, nil)
		o1, err := other.Graph(ctx)
		if err != nil || o1.Revision != g1.Revision || o1.Len() != 2 {
			t.Fatalf("the other replica's graph: %v %v", o1, err)
		}

		e.relate(app, cmdb.RelRunsOn, vm)
		g2, err := e.st.FreshGraph(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if g2.Revision <= g1.Revision || len(g2.Upstream(app, 1)) != 1 {
			t.Fatalf("this replica does not see its change: revision %d → %d", g1.Revision, g2.Revision)
		}
		if len(g1.Upstream(app, 1)) != 0 {
			t.Fatal("the old graph changed: graphs must be read-only")
		}

		// The other replica checks at most once a second, in the
		// background: Graph answers with what it has, FreshGraph checks.
		if o, _ := other.Graph(ctx); o != o1 {
			t.Fatal("the other replica reloaded before its interval")
		}
		if o, _ := other.FreshGraph(ctx); o != o1 {
			t.Fatal("the other replica's FreshGraph reloaded before its interval without a change of its own")
		}
		otherClock.Advance(1100 * time.Millisecond)
		o2 := eventually(t, other, func(g *cmdb.Graph) bool { return g.Revision == g2.Revision })
		if len(o2.Upstream(app, 1)) != 1 {
			t.Fatalf("the other replica after a second: %d upstream", len(o2.Upstream(app, 1)))
		}

		// Redundancy rules and relations deleted by the other replica.
		if _, err := other.SetRedundancy(ctx, vm, 1); err != nil {
			t.Fatal(err)
		}
		rels, err := other.Relations(ctx, app)
		if err != nil || len(rels) != 1 {
			t.Fatalf("relations: %v %v", rels, err)
		}
		if _, err := other.DeleteRelation(ctx, rels[0].ID); err != nil {
			t.Fatal(err)
		}
		e.s.Clock.Advance(3 * time.Second)
		g3, err := e.st.FreshGraph(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if mu, _ := g3.MinUp(vm); mu != 1 || len(g3.Upstream(app, 1)) != 0 {
			t.Fatalf("this replica after the other's changes: min_up %d, upstream %v", mu, g3.Upstream(app, 1))
		}

		// Concurrent readers while it reloads: FreshGraph's wait for the
		// change, Graph's get a graph at once and the change within moments.
		e.relate(app, cmdb.RelDependsOn, vm)
		done := make(chan error, 16)
		for i := range 16 {
			go func() {
				if i%2 == 0 {
					g, err := e.st.Graph(ctx)
					if err == nil && g == nil {
						err = errs.Conflict("Graph answered no graph")
					}
					done <- err
					return
				}
				g, err := e.st.FreshGraph(ctx)
				if err == nil && len(g.Upstream(app, 1)) != 1 {
					err = errs.Conflict("a FreshGraph reader got a stale graph after the change")
				}
				done <- err
			}()
		}
		for range 16 {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		eventually(t, e.st, func(g *cmdb.Graph) bool { return len(g.Upstream(app, 1)) == 1 })
	})
}

// eventually calls Graph until cond holds of its graph, for up to five
// seconds.
func eventually(t *testing.T, st *cmdb.Store, cond func(*cmdb.Graph) bool) *cmdb.Graph {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		g, err := st.Graph(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if cond(g) {
			return g
		}
		if time.Now().After(deadline) {
			t.Fatalf("the graph (revision %d) did not catch up", g.Revision)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestGraphNeverWaits: while this process's change is being watched (the
// graph is "dirty"), Graph — what event mapping calls for every trigger
// event — answers from memory without reading the database; the loader
// catches up in the background.
func TestGraphNeverWaits(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		e := newEstate(t, d)
		ctx := context.Background()
		app, vm := e.ci("application", "app"), e.ci("virtual_machine", "vm")
		if _, err := e.st.FreshGraph(ctx); err != nil {
			t.Fatal(err)
		}
		e.relate(app, cmdb.RelRunsOn, vm) // dirty for two seconds
		before := e.st.GraphStats()
		const calls = 200_000
		t0 := time.Now()
		for range calls {
			if g, err := e.st.Graph(ctx); err != nil || g == nil {
				t.Fatalf("Graph: %v", err)
			}
		}
		took := time.Since(t0)
		after := e.st.GraphStats()
		// The loader checks every 1 ms, 2 ms … up to every 100 ms while the
		// change is watched: a few dozen checks at most, whatever the calls.
		if n := after.Checks - before.Checks; n > 60 {
			t.Errorf("%d revision checks for %d Graph calls while dirty", n, calls)
		}
		if per := took / calls; per > 20*time.Microsecond {
			t.Errorf("Graph took %v a call while dirty", per)
		}
		g := eventually(t, e.st, func(g *cmdb.Graph) bool { return len(g.Upstream(app, 1)) == 1 })
		if g.Revision != e.revision() {
			t.Errorf("graph revision %d, database %d", g.Revision, e.revision())
		}
		if n := e.st.GraphStats().Loads - before.Loads; n < 1 || n > 3 {
			t.Errorf("%d loads for one change", n)
		}
	})
}

// BenchmarkGraphDirty measures event mapping (Topology.CIOf, which calls
// Store.Graph for every trigger event) while this process's change is being
// watched — the case that used to read the revision on every call, and to
// reload in the caller. It reports the revision checks per call: about
// zero, the loader checks in the background.
//
//	go test ./internal/cmdb/ -run '^$' -bench BenchmarkGraphDirty
func BenchmarkGraphDirty(b *testing.B) {
	for _, d := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			if d == db.Postgres && os.Getenv("STEADY_TEST_POSTGRES_URL") == "" {
				b.Skip("STEADY_TEST_POSTGRES_URL is not set")
			}
			s := testkit.Start(b, d)
			st := s.App.CMDB
			ctx := context.Background()
			v, err := st.CreateCI(ctx, cmdb.CIInput{Class: "load_balancer", Name: "pool"})
			if err != nil {
				b.Fatal(err)
			}
			topo := cmdb.NewTopology(st)
			ev := &event.Event{Labels: map[string]string{"instance": "pool:9100"}}
			if _, err := st.FreshGraph(ctx); err != nil {
				b.Fatal(err)
			}
			before := st.GraphStats()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i%1_000_000 == 0 { // keep it dirty: a change every million events
					b.StopTimer()
					if _, err := st.SetRedundancy(ctx, v.ID, 1+i/1_000_000%2); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				if topo.CIOf(ev) != v.ID {
					b.Fatal("the event names no CI")
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(st.GraphStats().Checks-before.Checks)/float64(b.N), "checks/op")
		})
	}
}

func TestServiceMap(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		e := newEstate(t, d)
		ctx := context.Background()
		c := newChain(e)
		m, err := e.st.Map(ctx, c.svc, 10)
		if err != nil {
			t.Fatal(err)
		}
		layer := map[string]int{}
		for _, n := range m.Nodes {
			layer[n.Name] = n.Layer
			if n.W != cmdb.MapNodeWidth || n.X < 0 || n.Y < 0 || n.X+n.W > m.Width || n.Y+n.H > m.Height {
				t.Fatalf("node %+v outside the map %dx%d", n, m.Width, m.Height)
			}
		}
		// A business service's map follows only its dependencies: not the
		// other service, not the app that only connects to it.
		if len(m.Nodes) != 6 || m.Truncated {
			t.Fatalf("nodes %+v", m.Nodes)
		}
		if !(layer["Shop"] < layer["shop-app"] && layer["shop-app"] < layer["shop-1"] && layer["shop-1"] < layer["vm-1"] &&
			layer["vm-1"] < layer["srv-1"] && layer["vm-1"] < layer["san-1"]) {
			t.Fatalf("layers %v", layer)
		}
		if !m.Nodes[0].Center || !m.Nodes[0].Service {
			t.Fatalf("the centre %+v", m.Nodes[0])
		}
		var member *cmdb.MapEdge
		for i, ed := range m.Edges {
			if len(ed.Points) < 2 {
				t.Fatalf("edge %+v has no line", ed)
			}
			if ed.Type == cmdb.RelMemberOf {
				member = &m.Edges[i]
			}
		}
		// member_of points up, from the member to its group.
		if member == nil || member.Title != "shop-1 member_of shop-app" || member.Points[0].Y < member.Points[len(member.Points)-1].Y {
			t.Fatalf("the member_of edge %+v", member)
		}

		// Around another CI: both directions, every type.
		m, err = e.st.Map(ctx, c.app, 1)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, n := range m.Nodes {
			names = append(names, n.Name)
		}
		if strings.Join(names, ",") != "shop-app,Shop,Returns,shop-1,billing" {
			t.Fatalf("map around the app: %v", names)
		}

		// At most 200 CIs, and it says so.
		hub := e.ci("network_device", "core-switch")
		for i := range 230 {
			h := e.ci("server", "host-"+itoa(int64(i)))
			e.relate(h, cmdb.RelConnectsTo, hub)
		}
		m, err = e.st.Map(ctx, hub, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Nodes) != cmdb.MaxMapNodes || !m.Truncated || m.Total != 231 {
			t.Fatalf("capped map: %d nodes of %d, truncated %v", len(m.Nodes), m.Total, m.Truncated)
		}
		_, err = e.st.Map(ctx, hub, 11)
		wantInvalid(t, err, "depth")
		if _, err := e.st.Map(ctx, 424242, 2); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("map of a missing CI: %v", err)
		}
	})
}

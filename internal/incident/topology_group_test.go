package incident_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/steadyhq/steady/internal/cmdb"
	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/incident"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// topoEstate is a CMDB and the app's own ingester and incident manager,
// which map events to CIs and group by topology.
type topoEstate struct {
	t    *testing.T
	s    *testkit.Server
	ci   map[string]int64
	svc  int
	keys int // alertVia's alerts
}

func (e *topoEstate) add(class, name string) int64 {
	e.t.Helper()
	c, err := e.s.App.CMDB.CreateCI(context.Background(), cmdb.CIInput{Class: class, Name: name})
	if err != nil {
		e.t.Fatalf("CI %s: %v", name, err)
	}
	e.ci[name] = c.ID
	return c.ID
}

func (e *topoEstate) relate(src, typ, dst string) {
	e.t.Helper()
	if _, err := e.s.App.CMDB.CreateRelation(context.Background(), cmdb.Relation{SourceID: e.ci[src], Type: typ, TargetID: e.ci[dst]}); err != nil {
		e.t.Fatalf("%s %s %s: %v", src, typ, dst, err)
	}
}

// alert sends a trigger event naming instance through a service of its own
// (so that grouping by service never joins them), or through svc when set,
// and returns the incident of its alert.
func (e *topoEstate) alert(instance string, svc int64) int64 {
	e.t.Helper()
	ctx := context.Background()
	// Event mapping never waits for a reload; the test does, once.
	if _, err := e.s.App.CMDB.FreshGraph(ctx); err != nil {
		e.t.Fatal(err)
	}
	if svc == 0 {
		e.svc++
		svc = e.s.NewService(fmt.Sprintf("svc-%d", e.svc)).ID
	}
	now := e.s.Clock.Now()
	key := "alert-" + instance
	_, err := e.s.App.Ingester.Submit(ctx, []event.Routed{{ServiceID: svc, Event: event.Event{Source: event.SourceGeneric,
		Action: event.Trigger, DedupKey: key, Summary: "down: " + instance, Severity: event.Critical,
		Labels: map[string]string{"instance": instance + ":9100"}, OccurredAt: now, ReceivedAt: now}}})
	if err != nil {
		e.t.Fatal(err)
	}
	var ci, inc sql.NullInt64
	if err := e.s.App.DB.R.QueryRow("SELECT ci_id, incident_id FROM alerts WHERE dedup_key = $1", key).Scan(&ci, &inc); err != nil {
		e.t.Fatalf("alert on %s: %v", instance, err)
	}
	if ci.Int64 != e.ci[instance] || !inc.Valid {
		e.t.Fatalf("alert on %s: CI %d (want %d), incident %v", instance, ci.Int64, e.ci[instance], inc)
	}
	return inc.Int64
}

// TestTopologyGroupingNeedsAFailingCI: alerts group by a shared upstream
// CI only when it is failing — it alerts, or two alerting CIs depend on
// it — never by a hub alone, honouring redundancy, and never into a
// security incident; with the incidents' CIs read from the in-memory copy,
// or from the database.
func TestTopologyGroupingNeedsAFailingCI(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		t.Run("copy", func(t *testing.T) { testGroupingNeedsAFailingCI(t, d, false) })
		t.Run("database", func(t *testing.T) { testGroupingNeedsAFailingCI(t, d, true) })
	})
}

func testGroupingNeedsAFailingCI(t *testing.T, d db.Dialect, query bool) {
	s := testkit.Start(t, d)
	if query {
		incident.QueryTopology(s.App.Incidents)
	}
	e := &topoEstate{t: t, s: s, ci: map[string]int64{}}
	// Sixty applications use one DNS server: a hub.
	e.add("server", "dns-1")
	for i := range 60 {
		name := fmt.Sprintf("app-%02d", i)
		e.add("application", name)
		e.relate(name, cmdb.RelDependsOn, "dns-1")
	}
	for _, h := range []string{"host-1", "host-2", "host-3"} {
		e.add("server", h)
	}
	e.relate("app-00", cmdb.RelRunsOn, "host-1")
	e.relate("app-01", cmdb.RelRunsOn, "host-1")
	e.relate("app-08", cmdb.RelRunsOn, "host-1")
	e.relate("app-02", cmdb.RelRunsOn, "host-2")
	e.relate("app-03", cmdb.RelRunsOn, "host-3")
	// A pool of three web servers, two of which must be up.
	e.add("load_balancer", "web-pool")
	for _, w := range []string{"web-1", "web-2", "web-3"} {
		e.add("server", w)
		e.relate(w, cmdb.RelMemberOf, "web-pool")
	}
	if _, err := s.App.CMDB.SetRedundancy(context.Background(), e.ci["web-pool"], 2); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"app-04", "app-05", "app-07"} {
		e.relate(a, cmdb.RelDependsOn, "web-pool")
	}

	t.Run("a hub shared by unrelated applications does not merge their alerts", func(t *testing.T) {
		if a, b := e.alert("app-02", 0), e.alert("app-03", 0); a == b {
			t.Fatalf("app-02 and app-03 share only dns-1 (60 dependants), yet both are in INC-%d", a)
		}
	})

	var hostInc int64
	t.Run("two applications on the same failing host merge", func(t *testing.T) {
		a, b := e.alert("app-00", 0), e.alert("app-01", 0)
		if a != b {
			t.Fatalf("app-00 in INC-%d, app-01 in INC-%d: both run on host-1", a, b)
		}
		hostInc = a
		tp, err := s.App.Incidents.TopologyOf(context.Background(), a)
		if err != nil || len(tp.RootCauses) == 0 || tp.RootCauses[0].Name != "host-1" {
			t.Fatalf("root causes %+v %v: want host-1 first", tp.RootCauses, err)
		}
	})

	t.Run("a redundant pool that is up groups nothing", func(t *testing.T) {
		a, b := e.alert("app-04", 0), e.alert("app-05", 0)
		if a == b {
			t.Fatalf("app-04 and app-05 share web-pool, up with its three members, yet both are in INC-%d", a)
		}
		// One member down: the pool is still up, so web-1's alert does
		// not explain app-04's.
		w := s.NewService("web-monitoring").ID
		web := e.alert("web-1", w)
		if web == a || web == b {
			t.Fatalf("web-1 joined an application's incident though web-pool is up")
		}
		// A second member down (grouped with the first by service):
		// the pool is down, and an application on it joins them.
		if got := e.alert("web-2", w); got != web {
			t.Fatalf("web-2 in INC-%d, web-1 in INC-%d", got, web)
		}
		if got := e.alert("app-07", 0); got != web {
			t.Fatalf("app-07 (on web-pool, two of three members down) in INC-%d, want INC-%d", got, web)
		}
	})

	t.Run("an ordinary alert never joins a security incident", func(t *testing.T) {
		admin := iam.WithPrincipal(context.Background(), iam.Principal{UserID: s.AdminID, Role: iam.RoleAdmin})
		if _, err := s.App.Incidents.Update(admin, hostInc, incident.Patch{Security: ptr(true)}, 0); err != nil {
			t.Fatal(err)
		}
		if got := e.alert("app-08", 0); got == hostInc {
			t.Fatalf("app-08 (on host-1) joined the security incident INC-%d", got)
		}
		// The CI page's open incidents: the security one for admins only.
		viewer := s.NewUser(iam.RoleResponder)
		as := iam.WithPrincipal(context.Background(), iam.Principal{UserID: viewer.ID, Role: iam.RoleResponder})
		has := func(ctx context.Context) bool {
			l, err := s.App.Incidents.OpenIncidentsOfCI(ctx, e.ci["app-00"])
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range l {
				if x.ID == hostInc {
					return true
				}
			}
			return false
		}
		if !has(admin) {
			t.Errorf("an admin does not see the security incident of app-00")
		}
		if has(as) {
			t.Errorf("a responder outside its team sees the security incident of app-00")
		}
	})

	t.Run("a hub that alerts itself groups what depends on it", func(t *testing.T) {
		dns := e.alert("dns-1", 0)
		if got := e.alert("app-06", 0); got != dns {
			t.Fatalf("app-06 in INC-%d, dns-1 (alerting) in INC-%d", got, dns)
		}
	})

	if _, served := incident.TopologyCopy(s.App.Incidents); !query && served < 2 {
		t.Errorf("the copy of incident_cis served %d batches", served)
	}
}

// TestTopologyStorm: a storm on one service past maxTopologyCIs affected
// CIs (a "big" incident, whose CIs later batches no longer read whole)
// keeps recording every CI and the business service they impact.
func TestTopologyStorm(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		e := &topoEstate{t: t, s: s, ci: map[string]int64{}}
		e.add("business_service", "shop")
		e.add("application", "shop-app")
		e.relate("shop", cmdb.RelDependsOn, "shop-app")
		const hosts, per = 300, 50
		for i := range hosts {
			h := fmt.Sprintf("node-%03d", i)
			e.add("server", h)
			e.relate("shop-app", cmdb.RelRunsOn, h)
		}
		ctx := context.Background()
		if _, err := s.App.CMDB.FreshGraph(ctx); err != nil {
			t.Fatal(err)
		}
		svc := s.NewService("storm").ID
		for b := 0; b < hosts/per; b++ {
			items := make([]event.Routed, per)
			now := s.Clock.Now()
			for i := range items {
				h := fmt.Sprintf("node-%03d", b*per+i)
				items[i] = event.Routed{ServiceID: svc, Event: event.Event{Source: event.SourceGeneric, Action: event.Trigger,
					DedupKey: h, Summary: "down: " + h, Severity: event.Critical,
					Labels: map[string]string{"instance": h + ":9100"}, OccurredAt: now, ReceivedAt: now}}
			}
			if _, err := s.App.Ingester.Submit(ctx, items); err != nil {
				t.Fatal(err)
			}
		}
		var incidents []int64
		rows, err := s.App.DB.R.Query("SELECT DISTINCT incident_id FROM alerts WHERE service_id = $1", svc)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id sql.NullInt64
			rows.Scan(&id)
			incidents = append(incidents, id.Int64)
		}
		rows.Close()
		if len(incidents) != 1 || incidents[0] == 0 {
			t.Fatalf("the storm's alerts are in incidents %v, want one", incidents)
		}
		tp, err := s.App.Incidents.TopologyOf(ctx, incidents[0])
		if err != nil {
			t.Fatal(err)
		}
		if len(tp.Affected) != hosts {
			t.Fatalf("%d affected CIs, want %d", len(tp.Affected), hosts)
		}
		if len(tp.Impacted) != 1 || tp.Impacted[0].Name != "shop" {
			t.Fatalf("impacted %+v, want shop", tp.Impacted)
		}
	})
}

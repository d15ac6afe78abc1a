package incident_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/steadyhq/steady/internal/cmdb"
	"github.com/steadyhq/steady/internal/event"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/incident"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// replica is a second incident manager and event ingester on the app's
// database, as another replica of the app has: its own copy of the open
// incidents' CIs.
type replica struct {
	in   *event.Ingester
	m    *incident.Manager
	fail atomic.Bool // fail the next commit after the incidents' hook ran
}

func newReplica(t *testing.T, s *testkit.Server) *replica {
	r := &replica{m: incident.New(s.App.DB, s.App.Audit, s.Clock, slog.New(slog.DiscardHandler))}
	topo := cmdb.NewTopology(s.App.CMDB)
	r.m.Topology = topo
	r.in = &event.Ingester{DB: s.App.DB, Clock: s.Clock, Log: slog.New(slog.DiscardHandler),
		CIOf: func(ev *event.Event) int64 { return r.m.PrepareCI(topo.CIOf(ev)) },
		Hook: func(ctx context.Context, tx *sql.Tx, changes []event.AlertChange) error {
			if err := r.m.OnAlerts(ctx, tx, changes); err != nil {
				return err
			}
			if r.fail.Swap(false) {
				return errors.New("the commit fails")
			}
			return nil
		}}
	r.in.Start()
	t.Cleanup(r.in.Stop)
	return r
}

// alertVia sends a trigger event naming instance through a service of its
// own, to in (the app's ingester when nil), and returns the incident of its
// alert.
func (e *topoEstate) alertVia(in *event.Ingester, instance string) (int64, error) {
	e.t.Helper()
	ctx := context.Background()
	if in == nil {
		in = e.s.App.Ingester
	}
	if _, err := e.s.App.CMDB.FreshGraph(ctx); err != nil {
		e.t.Fatal(err)
	}
	e.svc++
	svc := e.s.NewService(fmt.Sprintf("svc-%d", e.svc)).ID
	now := e.s.Clock.Now()
	e.keys++
	key := fmt.Sprintf("alert-%s-%d", instance, e.keys)
	_, err := in.Submit(ctx, []event.Routed{{ServiceID: svc, Event: event.Event{Source: event.SourceGeneric,
		Action: event.Trigger, DedupKey: key, Summary: "down: " + instance, Severity: event.Critical,
		Labels: map[string]string{"instance": instance + ":9100"}, OccurredAt: now, ReceivedAt: now}}})
	if err != nil {
		return 0, err
	}
	var inc sql.NullInt64
	if err := e.s.App.DB.R.QueryRow("SELECT incident_id FROM alerts WHERE dedup_key = $1", key).Scan(&inc); err != nil || !inc.Valid {
		e.t.Fatalf("alert on %s: incident %v, %v", instance, inc, err)
	}
	return inc.Int64, nil
}

func (e *topoEstate) mustAlertVia(in *event.Ingester, instance string) int64 {
	e.t.Helper()
	inc, err := e.alertVia(in, instance)
	if err != nil {
		e.t.Fatalf("alert on %s: %v", instance, err)
	}
	return inc
}

// TestTopologyCopy: each Manager keeps the open incidents' CIs in memory;
// what another Manager on the same database (another replica) writes,
// incidents resolved and reopened by other paths, and transactions that
// roll back never make it group alerts otherwise than the database says.
func TestTopologyCopy(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		ctx := context.Background()
		admin := iam.WithPrincipal(ctx, iam.Principal{UserID: s.AdminID, Role: iam.RoleAdmin})
		e := &topoEstate{t: t, s: s, ci: map[string]int64{}}
		// Two applications on host-2; app-x and, apart from host-2, a few
		// more applications use db-x.
		e.add("server", "host-2")
		e.add("database", "db-x")
		for _, a := range []string{"app-w", "app-x", "app-q", "app-r", "app-s", "app-u", "app-v"} {
			e.add("application", a)
		}
		e.relate("app-w", cmdb.RelRunsOn, "host-2")
		e.relate("app-x", cmdb.RelRunsOn, "host-2")
		for _, a := range []string{"app-x", "app-q", "app-r", "app-s"} {
			e.relate(a, cmdb.RelDependsOn, "db-x")
		}
		// Three applications on host-4, for a CI deleted.
		e.add("server", "host-4")
		for _, a := range []string{"app-h", "app-i", "app-k"} {
			e.add("application", a)
			e.relate(a, cmdb.RelRunsOn, "host-4")
		}
		// Two applications on host-3, one of which uses db-f with app-g,
		// for a commit that fails.
		e.add("server", "host-3")
		e.add("database", "db-f")
		for _, a := range []string{"app-e", "app-f", "app-g"} {
			e.add("application", a)
		}
		e.relate("app-e", cmdb.RelRunsOn, "host-3")
		e.relate("app-f", cmdb.RelRunsOn, "host-3")
		e.relate("app-f", cmdb.RelDependsOn, "db-f")
		e.relate("app-g", cmdb.RelDependsOn, "db-f")
		b := newReplica(t, s)

		var i2 int64
		t.Run("a replica's changes are seen by the other", func(t *testing.T) {
			i2 = e.mustAlertVia(nil, "app-w")
			if got := e.mustAlertVia(b.in, "app-x"); got != i2 {
				t.Fatalf("app-x (on host-2, with app-w) in INC-%d via the second replica, app-w in INC-%d", got, i2)
			}
			// app-q shares db-x only with app-x, which the other replica
			// added to the incident.
			if got := e.mustAlertVia(nil, "app-q"); got != i2 {
				t.Fatalf("app-q (on db-x, with app-x) in INC-%d, want INC-%d", got, i2)
			}
			rev, served := incident.TopologyCopy(s.App.Incidents)
			if rev == 0 || served == 0 {
				t.Errorf("the app's copy of the incidents' CIs: revision %d, %d batches served", rev, served)
			}
			// Another alert on app-w joins, and changes none of the
			// incident's CIs: nothing is written.
			if got := e.mustAlertVia(nil, "app-w"); got != i2 {
				t.Fatalf("a second alert on app-w in INC-%d, want INC-%d", got, i2)
			}
			if rev2, served2 := incident.TopologyCopy(s.App.Incidents); rev2 != rev || served2 != served+1 {
				t.Errorf("after an alert that changes nothing: revision %d, %d served; before %d, %d", rev2, served2, rev, served)
			}
			tp, err := s.App.Incidents.TopologyOf(admin, i2)
			if err != nil {
				t.Fatal(err)
			}
			if len(tp.Affected) != 3 || len(tp.RootCauses) < 3 {
				t.Fatalf("INC-%d: %+v", i2, tp)
			}
			for i, c := range tp.RootCauses {
				if c.Rank != i+1 {
					t.Fatalf("root causes of INC-%d: %+v, want ranks 1 to %d", i2, tp.RootCauses, len(tp.RootCauses))
				}
			}
		})

		t.Run("an incident resolved by another path is not joined", func(t *testing.T) {
			// The replica reads its copy again (an alert naming a CI of
			// its own), then the app resolves INC-i2, which leaves the
			// copies as they are.
			e.mustAlertVia(b.in, "app-u")
			if _, err := s.App.Incidents.SetStatus(admin, i2, incident.Resolved, "fixed", 0); err != nil {
				t.Fatal(err)
			}
			_, before := incident.TopologyCopy(b.m)
			got := e.mustAlertVia(b.in, "app-r")
			if got == i2 {
				t.Fatalf("app-r joined INC-%d, resolved", i2)
			}
			if rev, served := incident.TopologyCopy(b.m); rev == 0 || served <= before {
				t.Errorf("the replica did not use its copy (revision %d, %d batches served, %d before)", rev, served, before)
			}
			if _, err := s.App.Incidents.SetStatus(admin, got, incident.Resolved, "fixed", 0); err != nil {
				t.Fatal(err)
			}
		})

		t.Run("a reopened incident is joined again", func(t *testing.T) {
			if _, err := s.App.Incidents.SetStatus(admin, i2, incident.Triggered, "not fixed", 0); err != nil {
				t.Fatal(err)
			}
			if got := e.mustAlertVia(b.in, "app-s"); got != i2 {
				t.Fatalf("app-s (on db-x) in INC-%d, want INC-%d, reopened", got, i2)
			}
		})

		t.Run("a commit that fails leaves nothing behind", func(t *testing.T) {
			i3 := e.mustAlertVia(b.in, "app-e")
			b.fail.Store(true)
			if _, err := e.alertVia(b.in, "app-f"); err == nil {
				t.Fatal("the commit did not fail")
			}
			// The app commits a change of incident_cis meanwhile.
			e.mustAlertVia(nil, "app-v")
			// app-f's alert never was: app-g shares db-f with nothing.
			if got := e.mustAlertVia(b.in, "app-g"); got == i3 {
				t.Fatalf("app-g joined INC-%d through app-f, whose alert rolled back", i3)
			}
			tp, err := s.App.Incidents.TopologyOf(admin, i3)
			if err != nil {
				t.Fatal(err)
			}
			if len(tp.Affected) != 1 || tp.Affected[0].Name != "app-e" {
				t.Fatalf("INC-%d affects %+v, want app-e only", i3, tp.Affected)
			}
		})

		t.Run("a deleted CI leaves the incidents", func(t *testing.T) {
			i4 := e.mustAlertVia(nil, "app-h")
			if got := e.mustAlertVia(nil, "app-i"); got != i4 {
				t.Fatalf("app-i (on host-4, with app-h) in INC-%d, want INC-%d", got, i4)
			}
			if err := s.App.CMDB.DeleteCI(admin, e.ci["app-i"]); err != nil {
				t.Fatal(err)
			}
			if got := e.mustAlertVia(nil, "app-k"); got != i4 {
				t.Fatalf("app-k (on host-4, with app-h) in INC-%d, want INC-%d", got, i4)
			}
			// The candidates were ranked without app-i.
			tp, err := s.App.Incidents.TopologyOf(admin, i4)
			if err != nil {
				t.Fatal(err)
			}
			if len(tp.Affected) != 2 {
				t.Fatalf("INC-%d affects %+v, want app-h and app-k", i4, tp.Affected)
			}
			for i, c := range tp.RootCauses {
				if c.Rank != i+1 {
					t.Fatalf("root causes of INC-%d: %+v, want ranks 1 to %d", i4, tp.RootCauses, len(tp.RootCauses))
				}
			}
		})

		t.Run("a confirmed root cause is seen by the other replica", func(t *testing.T) {
			if _, err := s.App.Incidents.ConfirmRootCause(admin, i2, incident.RootCauseInput{CIID: e.ci["db-x"]}); err != nil {
				t.Fatal(err)
			}
			// Both replicas' copies are stale; the next batch reads the
			// candidates again, and keeps the confirmed one first.
			e.mustAlertVia(b.in, "host-2")
			tp, err := s.App.Incidents.TopologyOf(admin, i2)
			if err != nil {
				t.Fatal(err)
			}
			if len(tp.RootCauses) == 0 || tp.RootCauses[0].Name != "db-x" || !tp.RootCauses[0].Confirmed {
				t.Fatalf("root causes of INC-%d: %+v, want db-x confirmed first", i2, tp.RootCauses)
			}
		})
	})
}

// TestTopologyCopyReplicasAtOnce: two replicas ingesting alerts on the same
// hosts at once leave every incident's CIs as its alerts say, with its
// candidates ranked 1, 2, 3…
func TestTopologyCopyReplicasAtOnce(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d)
		e := &topoEstate{t: t, s: s, ci: map[string]int64{}}
		var apps []string
		for h := range 4 {
			host := fmt.Sprintf("host-%d", h)
			e.add("server", host)
			for a := range 10 {
				app := fmt.Sprintf("app-%d-%d", h, a)
				e.add("application", app)
				e.relate(app, cmdb.RelRunsOn, host)
				apps = append(apps, app)
			}
		}
		if _, err := s.App.CMDB.FreshGraph(context.Background()); err != nil {
			t.Fatal(err)
		}
		services := make([]int64, len(apps))
		for i := range apps {
			services[i] = s.NewService(fmt.Sprintf("svc-%d", i)).ID
		}
		b := newReplica(t, s)
		errc := make(chan error, 2)
		for r, in := range []*event.Ingester{s.App.Ingester, b.in} {
			go func() {
				for i := r; i < len(apps); i += 2 {
					now := s.Clock.Now()
					_, err := in.Submit(context.Background(), []event.Routed{{ServiceID: services[i], Event: event.Event{
						Source: event.SourceGeneric, Action: event.Trigger, DedupKey: apps[i], Summary: "down: " + apps[i],
						Severity: event.Critical, Labels: map[string]string{"instance": apps[i] + ":9100"}, OccurredAt: now, ReceivedAt: now}}})
					if err != nil {
						errc <- fmt.Errorf("%s: %w", apps[i], err)
						return
					}
				}
				errc <- nil
			}()
		}
		for range 2 {
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		}

		admin := iam.WithPrincipal(context.Background(), iam.Principal{UserID: s.AdminID, Role: iam.RoleAdmin})
		rows, err := s.App.DB.R.Query("SELECT incident_id, c.name FROM alerts a JOIN cis c ON c.id = a.ci_id WHERE a.incident_id IS NOT NULL")
		if err != nil {
			t.Fatal(err)
		}
		want := map[int64]map[string]bool{}
		for rows.Next() {
			var inc int64
			var name string
			if err := rows.Scan(&inc, &name); err != nil {
				t.Fatal(err)
			}
			if want[inc] == nil {
				want[inc] = map[string]bool{}
			}
			want[inc][name] = true
		}
		rows.Close()
		alerts := 0
		for inc, names := range want {
			alerts += len(names)
			tp, err := s.App.Incidents.TopologyOf(admin, inc)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, c := range tp.Affected {
				got[c.Name] = true
			}
			if fmt.Sprint(got) != fmt.Sprint(names) {
				t.Errorf("INC-%d affects %v, its alerts name %v", inc, got, names)
			}
			for i, c := range tp.RootCauses {
				if c.Rank != i+1 {
					t.Errorf("root causes of INC-%d: %+v, want ranks 1 to %d", inc, tp.RootCauses, len(tp.RootCauses))
					break
				}
			}
		}
		if alerts != len(apps) {
			t.Errorf("%d alerts in incidents, want %d", alerts, len(apps))
		}
	})
}

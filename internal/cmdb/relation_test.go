package cmdb_test

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/cmdb"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/testkit"
)

// estate makes CIs and relations for a test straight in the database.
type estate struct {
	t  *testing.T
	s  *testkit.Server
	st *cmdb.Store
}

func newEstate(t *testing.T, d db.Dialect) *estate {
	s := testkit.Start(t, d)
	return &estate{t: t, s: s, st: s.App.CMDB}
}

// ci inserts a CI of class and returns its id.
func (e *estate) ci(class, name string) int64 {
	e.t.Helper()
	var id int64
	ms := e.s.Clock.Now().UnixMilli()
	err := e.s.App.DB.W.QueryRow(`INSERT INTO cis (class_id, name, name_key, created_at, updated_at)
		VALUES ((SELECT id FROM ci_classes WHERE key = $1), $2, $3, $4, $4) RETURNING id`, class, name, strings.ToLower(name), ms).Scan(&id)
	if err != nil {
		e.t.Fatalf("insert CI %s: %v", name, err)
	}
	if _, err := e.s.App.DB.W.Exec("UPDATE cmdb_revision SET revision = revision + 1 WHERE id = 1"); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// relate adds a relation through the store and fails the test on an error.
func (e *estate) relate(src int64, typ string, dst int64) cmdb.Relation {
	e.t.Helper()
	r, err := e.st.CreateRelation(context.Background(), cmdb.Relation{SourceID: src, Type: typ, TargetID: dst})
	if err != nil {
		e.t.Fatalf("relate %d %s %d: %v", src, typ, dst, err)
	}
	return r
}

func (e *estate) count(q string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.s.App.DB.R.QueryRow(q, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return n
}

func (e *estate) revision() int64 {
	e.t.Helper()
	var r int64
	if err := e.s.App.DB.R.QueryRow("SELECT revision FROM cmdb_revision WHERE id = 1").Scan(&r); err != nil {
		e.t.Fatal(err)
	}
	return r
}

// wantInvalid checks that err is a validation error on field whose detail
// holds every text.
func wantInvalid(t *testing.T, err error, field string, texts ...string) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.KindInvalid {
		t.Fatalf("want a validation error on %s, got %v", field, err)
	}
	for _, f := range e.Fields {
		if f.Field == field {
			for _, s := range texts {
				if !strings.Contains(f.Detail, s) {
					t.Fatalf("%s: %q does not say %q", field, f.Detail, s)
				}
			}
			return
		}
	}
	t.Fatalf("want a validation error on %s, got %v", field, err)
}

func TestRelate(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		e := newEstate(t, d)
		ctx := context.Background()
		svc := e.ci("business_service", "Shop")
		app := e.ci("application", "shop-app")
		vm := e.ci("virtual_machine", "vm-1")
		srv := e.ci("server", "srv-1")

		rev := e.revision()
		r := e.relate(app, cmdb.RelRunsOn, vm)
		if r.ID == 0 || r.SourceName != "shop-app" || r.TargetName != "vm-1" || r.CreatedAt.IsZero() {
			t.Fatalf("relation %+v", r)
		}
		if e.revision() <= rev {
			t.Fatal("relating did not bump the revision")
		}
		e.relate(vm, cmdb.RelHostedOn, srv)
		e.relate(svc, cmdb.RelDependsOn, app)

		// History on both CIs, and an audit entry.
		if n := e.count("SELECT COUNT(*) FROM ci_history WHERE ci_id = $1 AND field = $2 AND after LIKE '%vm-1%'", app,
			"relation:+runs_on:"+itoa(vm)); n != 1 {
			t.Fatalf("source history rows: %d", n)
		}
		if n := e.count("SELECT COUNT(*) FROM ci_history WHERE ci_id = $1 AND field = $2", vm, "relation:+"+itoa(app)+":runs_on"); n != 1 {
			t.Fatalf("target history rows: %d", n)
		}
		if n := e.count("SELECT COUNT(*) FROM audit_log WHERE action = 'ci_relation.create'"); n != 3 {
			t.Fatalf("audit entries: %d", n)
		}

		// Refused: nothing is written.
		before := e.count("SELECT COUNT(*) FROM ci_relations") + e.count("SELECT COUNT(*) FROM ci_history") + e.count("SELECT COUNT(*) FROM audit_log")
		rev = e.revision()
		_, err := e.st.CreateRelation(ctx, cmdb.Relation{SourceID: app, Type: cmdb.RelRunsOn, TargetID: vm})
		if !errs.Is(err, errs.KindConflict) || !strings.Contains(err.Error(), "shop-app already runs_on vm-1") {
			t.Fatalf("duplicate: %v", err)
		}
		_, err = e.st.CreateRelation(ctx, cmdb.Relation{SourceID: app, Type: cmdb.RelRunsOn, TargetID: app})
		wantInvalid(t, err, "target_id", "cannot relate to itself")
		_, err = e.st.CreateRelation(ctx, cmdb.Relation{SourceID: app, Type: "lives_on", TargetID: vm})
		wantInvalid(t, err, "type", "depends_on", `"lives_on"`)
		_, err = e.st.CreateRelation(ctx, cmdb.Relation{SourceID: app, Type: cmdb.RelRunsOn, TargetID: 99999})
		wantInvalid(t, err, "target_id", "no CI")
		_, err = e.st.CreateRelation(ctx, cmdb.Relation{SourceID: 0, Type: cmdb.RelRunsOn, TargetID: vm})
		wantInvalid(t, err, "source_id", "required")
		// The cycle names its path: srv-1 depends_on Shop depends_on shop-app runs_on vm-1 hosted_on srv-1.
		_, err = e.st.CreateRelation(ctx, cmdb.Relation{SourceID: srv, Type: cmdb.RelDependsOn, TargetID: svc})
		wantInvalid(t, err, "target_id", "cycle", "srv-1 ("+itoa(srv)+") depends_on Shop ("+itoa(svc)+") depends_on shop-app ("+
			itoa(app)+") runs_on vm-1 ("+itoa(vm)+") hosted_on srv-1 ("+itoa(srv)+")")
		// Any acyclic type closes the cycle: member_of too, where the group
		// depends on its member.
		_, err = e.st.CreateRelation(ctx, cmdb.Relation{SourceID: app, Type: cmdb.RelMemberOf, TargetID: vm})
		wantInvalid(t, err, "target_id", "vm-1 ("+itoa(vm)+") has member shop-app ("+itoa(app)+") runs_on vm-1 ("+itoa(vm)+")")
		after := e.count("SELECT COUNT(*) FROM ci_relations") + e.count("SELECT COUNT(*) FROM ci_history") + e.count("SELECT COUNT(*) FROM audit_log")
		if after != before || e.revision() != rev {
			t.Fatalf("a refused relation wrote something: %d rows → %d, revision %d → %d", before, after, rev, e.revision())
		}

		// Types that allow cycles.
		e.relate(srv, cmdb.RelConnectsTo, app)
		e.relate(app, cmdb.RelConnectsTo, srv)
		e.relate(srv, cmdb.RelBackedUpBy, vm)

		// Relations lists both directions with names.
		l, err := e.st.Relations(ctx, app)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range l {
			got = append(got, r.SourceName+" "+r.Type+" "+r.TargetName)
		}
		want := "shop-app connects_to srv-1|shop-app runs_on vm-1|srv-1 connects_to shop-app|Shop depends_on shop-app"
		if strings.Join(got, "|") != want {
			t.Fatalf("relations of the app:\n%s\nwant\n%s", strings.Join(got, "|"), want)
		}
		if _, err := e.st.Relations(ctx, 99999); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("relations of a missing CI: %v", err)
		}

		// Unrelate, in a caller's transaction.
		err = e.s.App.DB.Tx(ctx, func(tx *sql.Tx) error {
			gone, err := e.st.Unrelate(ctx, tx, r.ID)
			if err == nil && (gone.SourceName != "shop-app" || gone.Type != cmdb.RelRunsOn) {
				t.Errorf("unrelated %+v", gone)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := e.count("SELECT COUNT(*) FROM ci_relations WHERE id = $1", r.ID); n != 0 {
			t.Fatal("the relation is still there")
		}
		if n := e.count("SELECT COUNT(*) FROM ci_history WHERE ci_id = $1 AND field = $2 AND after IS NULL", vm, "relation:-"+itoa(app)+":runs_on"); n != 1 {
			t.Fatalf("removal history rows: %d", n)
		}
		if _, err := e.st.DeleteRelation(ctx, r.ID); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("delete twice: %v", err)
		}
		// Now the cycle is open, and the relation that closed it passes.
		e.relate(srv, cmdb.RelDependsOn, svc)

		// Relate in a caller's transaction sees relations added earlier in it.
		a, b := e.ci("application", "a"), e.ci("application", "b")
		err = e.s.App.DB.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := e.st.Relate(ctx, tx, cmdb.Relation{SourceID: a, Type: cmdb.RelDependsOn, TargetID: b}); err != nil {
				return err
			}
			_, err := e.st.Relate(ctx, tx, cmdb.Relation{SourceID: b, Type: cmdb.RelDependsOn, TargetID: a})
			return err
		})
		wantInvalid(t, err, "target_id", "b ("+itoa(b)+") depends_on a ("+itoa(a)+") depends_on b")
		if n := e.count("SELECT COUNT(*) FROM ci_relations WHERE source_id IN ($1, $2)", a, b); n != 0 {
			t.Fatalf("the failed transaction left %d relations", n)
		}
	})
}

func TestRedundancyRules(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		e := newEstate(t, d)
		ctx := context.Background()
		svc := e.ci("business_service", "Payments")
		app := e.ci("application", "pay-api")
		pool := e.ci("load_balancer", "pay-pool")
		var web [3]int64
		var host [3]int64
		for i := range web {
			web[i] = e.ci("service_instance", "pay-web-"+itoa(int64(i+1)))
			host[i] = e.ci("virtual_machine", "pay-vm-"+itoa(int64(i+1)))
			e.relate(web[i], cmdb.RelMemberOf, pool)
			e.relate(web[i], cmdb.RelRunsOn, host[i])
		}
		e.relate(app, cmdb.RelDependsOn, pool)
		e.relate(svc, cmdb.RelDependsOn, app)

		affected := func(failed ...int64) string {
			t.Helper()
			g, err := e.st.FreshGraph(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return hopNames(g, g.Downstream(failed, 10))
		}

		// Without a rule, any member down takes the group down.
		if got := affected(web[0]); got != "pay-pool@1 pay-api@2 Payments@3" {
			t.Fatalf("no rule, one member: %s", got)
		}
		red, err := e.st.SetRedundancy(ctx, pool, 2)
		if err != nil || red.MinUp != 2 || red.Members != 3 {
			t.Fatalf("set redundancy: %+v %v", red, err)
		}
		if got := affected(web[0]); got != "" {
			t.Fatalf("min_up 2 of 3, one member down: %s", got)
		}
		if got := affected(web[0], web[2]); got != "pay-pool@1 pay-api@2 Payments@3" {
			t.Fatalf("min_up 2 of 3, two members down: %s", got)
		}
		// Members affected by their own dependencies count as down.
		if got := affected(host[1]); got != "pay-web-2@1" {
			t.Fatalf("one host down: %s", got)
		}
		if got := affected(host[0], host[1]); got != "pay-web-1@1 pay-web-2@1 pay-pool@2 pay-api@3 Payments@4" {
			t.Fatalf("two hosts down: %s", got)
		}
		// A rule that asks for more members than the group has: the missing
		// ones count as down.
		if _, err := e.st.SetRedundancy(ctx, pool, 3); err != nil {
			t.Fatal(err)
		}
		if got := affected(web[1]); got != "pay-pool@1 pay-api@2 Payments@3" {
			t.Fatalf("min_up 3 of 3, one down: %s", got)
		}
		if _, err := e.st.SetRedundancy(ctx, pool, 5); err != nil {
			t.Fatal(err)
		}
		if got := affected(app); got != "Payments@1" {
			t.Fatalf("a failure above the group: %s", got)
		}
		if got := affected(web[1]); got != "pay-pool@1 pay-api@2 Payments@3" {
			t.Fatalf("min_up 5 of 3: %s", got)
		}
		if n := e.count("SELECT COUNT(*) FROM ci_history WHERE ci_id = $1 AND field = 'redundancy.min_up'", pool); n != 3 {
			t.Fatalf("redundancy history rows: %d", n)
		}
		if n := e.count("SELECT COUNT(*) FROM audit_log WHERE action = 'ci_redundancy.set'"); n != 3 {
			t.Fatalf("redundancy audit entries: %d", n)
		}

		_, err = e.st.SetRedundancy(ctx, pool, 0)
		wantInvalid(t, err, "min_up", "from 1")
		if _, err := e.st.SetRedundancy(ctx, 99999, 2); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("a missing CI: %v", err)
		}
		if err := e.st.ClearRedundancy(ctx, pool); err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.GetRedundancy(ctx, pool); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("after clearing: %v", err)
		}
		if err := e.st.ClearRedundancy(ctx, pool); !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("clear twice: %v", err)
		}
		if got := affected(web[0]); got != "pay-pool@1 pay-api@2 Payments@3" {
			t.Fatalf("cleared rule, one member: %s", got)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// hopNames writes hops as "name@depth", in order.
func hopNames(g *cmdb.Graph, hops []cmdb.Hop) string {
	var out []string
	for _, h := range hops {
		n, _ := g.Node(h.ID)
		out = append(out, n.Name+"@"+itoa(int64(h.Depth)))
	}
	return strings.Join(out, " ")
}

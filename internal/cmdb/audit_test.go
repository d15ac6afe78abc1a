package cmdb_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/cmdb"
	"github.com/steadyhq/steady/internal/iam"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/platform/errs"
	"github.com/steadyhq/steady/internal/platform/page"
	"github.com/steadyhq/steady/internal/testkit"
)

var ioAdmin = iam.WithPrincipal(context.Background(), iam.Principal{UserID: 1, Email: "admin@example.com", Role: iam.RoleAdmin})

// findings runs the configuration audit and returns "rule name: message"
// lines, sorted, and the counts.
func (e *ioEnv) findings(o cmdb.AuditOptions) ([]string, map[string]int) {
	e.t.Helper()
	rep, err := e.st.ConfigurationAudit(ioManager, o, page.Request{Limit: page.MaxLimit})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, f := range rep.Items {
		out = append(out, f.Rule+" "+f.CIName+": "+f.Message)
	}
	sort.Strings(out)
	return out, rep.Counts
}

func TestConfigurationAudit(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		e := newIOEnv(t, d)
		if _, err := e.s.App.IAM.CreateTeam(ioAdmin, iam.NewTeam{Name: "Platform"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.CreateClass(ioAdmin, cmdb.Class{Key: "rack", Name: "Rack", Attributes: []cmdb.AttrDef{
			{Key: "units", Type: cmdb.TypeNumber}, {Key: "room", Type: cmdb.TypeString}}}); err != nil {
			t.Fatal(err)
		}
		e.mustImport(`[
			{"class": "business_service", "name": "Shop", "team": "Platform", "relations": {"depends_on": ["shop-app"]}},
			{"class": "business_service", "name": "Orphan"},
			{"class": "business_service", "name": "Old service", "lifecycle": "retired"},
			{"class": "application", "name": "shop-app", "team": "Platform", "environment": "staging", "relations": {"depends_on": ["old-db"], "runs_on": ["vm-1"]}},
			{"class": "application", "name": "future-app", "team": "Platform", "lifecycle": "planned", "relations": {"depends_on": ["old-db"]}},
			{"class": "virtual_machine", "name": "vm-1", "team": "Platform"},
			{"class": "database", "name": "old-db", "environment": "staging", "lifecycle": "retired"},
			{"class": "rack", "name": "rack-1", "team": "Platform", "attributes": {"units": 42, "room": "A"}},
			{"class": "rack", "name": "rack-2", "team": "Platform", "attributes": {"room": "B"}},
			{"class": "rack", "name": "rack-3", "team": "Platform"}
		]`, "json")
		// The class gains required attributes after its CIs were written.
		if _, err := e.st.UpdateClass(ioAdmin, "rack", cmdb.Class{Name: "Rack", Attributes: []cmdb.AttrDef{
			{Key: "units", Type: cmdb.TypeNumber, Required: true}, {Key: "room", Type: cmdb.TypeString, Required: true}}}, 0); err != nil {
			t.Fatal(err)
		}
		// A discovery source that saw two servers, then only one.
		t0 := e.s.Clock.Now()
		e.discover("scan", `[{"class": "server", "name": "s1", "external_id": "s1", "team": "Platform"},
			{"class": "server", "name": "s2", "external_id": "s2", "team": "Platform"}]`)
		e.s.Clock.Advance(time.Hour)
		e.discover("scan", `[{"class": "server", "name": "s1", "external_id": "s1", "team": "Platform"}]`)

		stamp := func(tm time.Time) string { return tm.UTC().Format("2006-01-02 15:04 UTC") }
		want := []string{
			"missing_required_attribute rack-2: has no value for the required attribute units",
			"missing_required_attribute rack-3: has no value for the required attributes units, room",
			"not_seen s2: is missing from scan since " + stamp(t0.Add(time.Hour)) + " (last seen " + stamp(t0) + ")",
			"production_without_owner Orphan: is in production and has no owner team",
			"relation_to_retired shop-app: is in use and depends_on old-db, which is retired",
			"service_without_dependencies Orphan: is a business service with no outgoing relation: nothing says what it depends on",
		}
		got, counts := e.findings(cmdb.AuditOptions{})
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		wantCounts := map[string]int{"production_without_owner": 1, "not_seen": 1, "relation_to_retired": 1,
			"missing_required_attribute": 2, "service_without_dependencies": 1}
		if fmt.Sprint(counts) != fmt.Sprint(wantCounts) {
			t.Fatalf("counts %v", counts)
		}
		if m, err := e.st.AuditCounts(context.Background()); err != nil || fmt.Sprint(m) != fmt.Sprint(wantCounts) {
			t.Fatalf("AuditCounts %v %v", m, err)
		}

		// Eight days later s1 is flagged too, unless N is larger.
		e.s.Clock.Advance(8 * 24 * time.Hour)
		got, _ = e.findings(cmdb.AuditOptions{Rule: cmdb.RuleNotSeen})
		if len(got) != 2 || got[0] != "not_seen s1: has not been seen by scan for more than 7 days (last seen "+stamp(t0.Add(time.Hour))+")" {
			t.Fatalf("not seen: %v", got)
		}
		got, counts = e.findings(cmdb.AuditOptions{Rule: cmdb.RuleNotSeen, NotSeenDays: 10})
		if len(got) != 1 || counts[cmdb.RuleNotSeen] != 1 {
			t.Fatalf("not seen for 10 days: %v %v", got, counts)
		}

		// Fixing the data clears the findings.
		e.mustImport(`[{"class": "business_service", "name": "Orphan", "team": "Platform", "relations": {"depends_on": ["shop-app"]}},
			{"class": "application", "name": "shop-app", "team": "Platform", "environment": "staging", "lifecycle": "maintenance"},
			{"class": "rack", "name": "rack-2", "team": "Platform", "attributes": {"room": "B", "units": 10}},
			{"class": "rack", "name": "rack-3", "team": "Platform", "lifecycle": "retired", "attributes": {"room": "B", "units": 10}}]`, "json")
		e.discover("scan", `[{"class": "server", "name": "s1", "external_id": "s1", "team": "Platform"},
			{"class": "server", "name": "s2", "external_id": "s2", "team": "Platform"}]`)
		got, _ = e.findings(cmdb.AuditOptions{})
		if len(got) != 1 || !strings.HasPrefix(got[0], "relation_to_retired shop-app") {
			t.Fatalf("after fixing: %v", got) // shop-app is still in maintenance, and still depends on old-db
		}

		// Paging walks every finding once, in rule order.
		e.mustImport(`[{"class": "server", "name": "p1", "environment": "production"}, {"class": "server", "name": "p2"},
			{"class": "business_service", "name": "lonely", "team": "Platform"}]`, "json")
		all, _ := e.findings(cmdb.AuditOptions{})
		var paged []string
		p := page.Request{Limit: 1}
		for range 20 {
			rep, err := e.st.ConfigurationAudit(viewerCtx(), cmdb.AuditOptions{}, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range rep.Items {
				paged = append(paged, f.Rule+" "+f.CIName+": "+f.Message)
			}
			if rep.Next == "" {
				break
			}
			k, _ := page.Decode(rep.Next)
			p.After = k
		}
		sort.Strings(paged)
		if len(all) != 4 || strings.Join(paged, "\n") != strings.Join(all, "\n") {
			t.Fatalf("paged:\n%s\nall:\n%s", strings.Join(paged, "\n"), strings.Join(all, "\n"))
		}
		if _, err := e.st.ConfigurationAudit(viewerCtx(), cmdb.AuditOptions{Rule: "nonsense"}, p); !errs.Is(err, errs.KindInvalid) {
			t.Fatalf("unknown rule: %v", err)
		}
	})
}

func viewerCtx() context.Context {
	return iam.WithPrincipal(context.Background(), iam.Principal{UserID: 7, Role: iam.RoleViewer})
}

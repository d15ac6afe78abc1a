package demo_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/steadyhq/steady/internal/app"
	"github.com/steadyhq/steady/internal/demo"
	"github.com/steadyhq/steady/internal/platform/db"
	"github.com/steadyhq/steady/internal/testkit"
)

// The demo gives a newcomer a living system: teams and people, services with
// keys, an alert storm grouped into one incident, work in progress, resolved
// history and a silence — once, not again on the next start.
func TestDemo(t *testing.T) {
	testkit.Dialects(t, func(t *testing.T, d db.Dialect) {
		s := testkit.Start(t, d, testkit.Options{Modify: func(o *app.Options) { o.Demo = true }})
		count := func(q string) int {
			var n int
			if err := s.App.DB.R.QueryRow(q).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := count("SELECT COUNT(*) FROM services"); n != 5 {
			t.Fatalf("%d services", n)
		}
		if n := count("SELECT MAX(alert_count) FROM incidents"); n != 24 {
			t.Fatalf("the storm is not one incident of 24 alerts: %d", n)
		}
		if n := count("SELECT COUNT(*) FROM incidents WHERE status = 'resolved'"); n != 3 {
			t.Fatalf("%d resolved incidents", n)
		}
		if n := count("SELECT COUNT(*) FROM incidents WHERE status = 'acknowledged' AND assignee_id IS NOT NULL"); n != 1 {
			t.Fatalf("%d incidents being worked", n)
		}
		if n := count("SELECT COUNT(*) FROM silences"); n != 1 {
			t.Fatalf("%d silences", n)
		}
		// On call: three schedules with someone on call now, and policies on
		// four services; the demo's own incidents run no policy (only the
		// one assigned by hand pages its assignee).
		var oc struct{ Items []map[string]any }
		s.Do("GET", "/api/v1/oncall", s.AdminToken, nil).Want(200).JSON(&oc)
		if len(oc.Items) != 3 {
			t.Fatalf("on call now: %v", oc.Items)
		}
		if n := count("SELECT COUNT(*) FROM services WHERE escalation_policy_id IS NOT NULL"); n != 4 {
			t.Fatalf("%d services with a policy", n)
		}
		if n := count("SELECT COUNT(*) FROM schedule_overrides"); n != 1 {
			t.Fatalf("%d overrides", n)
		}
		// The CMDB: the services are CIs, with what they run on.
		if n := count("SELECT COUNT(*) FROM cis"); n != 18 {
			t.Fatalf("%d CIs, want the 5 services and 13 more", n)
		}
		if n := count("SELECT COUNT(*) FROM ci_relations"); n < 15 {
			t.Fatalf("%d relations", n)
		}
		var db1 int64
		if err := s.App.DB.R.QueryRow("SELECT id FROM cis WHERE name = 'db-1.prod'").Scan(&db1); err != nil {
			t.Fatal(err)
		}
		var imp struct {
			Services []struct {
				Name string `json:"name"`
			} `json:"services"`
		}
		s.Do("GET", "/api/v1/cis/"+itoa(db1)+"/impact", s.AdminToken, nil).Want(200).JSON(&imp)
		var names []string
		for _, sv := range imp.Services {
			names = append(names, sv.Name)
		}
		slices.Sort(names)
		if strings.Join(names, ",") != "Checkout API,PostgreSQL Fleet" {
			t.Fatalf("db-1.prod failing impacts %+v, want Checkout API and PostgreSQL Fleet", imp.Services)
		}
		if n := count("SELECT COUNT(*) FROM escalations WHERE policy_id IS NOT NULL"); n != 0 {
			t.Fatalf("the demo incidents escalate: %d", n)
		}
		var l struct{ Items []map[string]any }
		s.Do("GET", "/api/v1/incidents?status=open", s.AdminToken, nil).Want(200).JSON(&l)
		var checkout float64
		for _, in := range l.Items {
			if in["title"] == "High 5xx rate on checkout (7.2%)" {
				checkout = in["id"].(float64)
			}
		}
		var sim struct{ Items []map[string]any }
		s.Do("GET", "/api/v1/incidents/"+itoa(int64(checkout))+"/similar", s.AdminToken, nil).Want(200).JSON(&sim)
		if len(sim.Items) == 0 {
			t.Fatal("the open checkout incident finds no similar past incident")
		}
		// A second seed (the next start with --demo) adds nothing.
		seeded, err := demo.Seed(context.Background(), s.App.DB, s.App.IAM, demo.Estate{})
		if err != nil || seeded {
			t.Fatalf("seeded twice: %v %v", seeded, err)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
